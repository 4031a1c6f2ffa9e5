// Test fixtures for the bf16 paths: a bf16 matrix in memory (a checkpoint's tensor as the bf16
// kernels read it, with an optional row stride wider than a row), and a gtest fixture that skips
// where the CPU has no AVX512-BF16. Shared by sampled_bf16_test, bf16_kernels_test,
// spectrum_test and geometry_test.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "embstat/analysis/bf16_kernels.hpp"
#include "embstat/base/dtype.hpp"
#include "embstat/matrix/matrix.hpp"  // MatrixView; decode_to_f32(view()) decodes it

namespace embstat::testing_ref {

// n rows of d bf16 values with a row stride of `stride` elements (>= d); the elements between
// rows hold `gap` (e.g. a NaN pattern that must never be read).
struct Bf16Matrix {
  std::int64_t n = 0, d = 0, stride = 0;
  std::vector<std::uint16_t> bits;

  Bf16Matrix() = default;
  Bf16Matrix(std::int64_t rows, std::int64_t cols, std::int64_t pad = 0, std::uint16_t gap = 0)
      : n(rows), d(cols), stride(cols + pad), bits(static_cast<std::size_t>(rows * (cols + pad)), gap) {}

  float value(std::int64_t i, std::int64_t k) const {
    return bf16_to_f32(bits[static_cast<std::size_t>(i * stride + k)]);
  }
  void set(std::int64_t i, std::int64_t k, float v) { bits[static_cast<std::size_t>(i * stride + k)] = f32_to_bf16(v); }
  const std::uint8_t* data() const { return reinterpret_cast<const std::uint8_t*>(bits.data()); }
  std::uint64_t row_bytes() const { return static_cast<std::uint64_t>(stride) * 2; }
  MatrixView view() const {
    MatrixView v;
    v.dtype = DType::BF16;
    v.n_rows = n;
    v.n_cols = d;
    v.data = data();
    v.row_bytes = row_bytes();
    return v;
  }
};

// Skips the test where the bf16 kernels do not run.
class Bf16Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!bf16_kernel_available()) GTEST_SKIP() << "no AVX512-BF16 on this CPU: the bf16 path is not used here";
  }
};

}  // namespace embstat::testing_ref
