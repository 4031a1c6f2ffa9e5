// The bf16 kernels against double sums of the same bf16 values, over shapes that hit every edge:
// d below, at and past multiples of 16 and 32 (masked tails), odd row counts (a row paired with
// itself), vector and weight counts around the register tiles, row strides wider than a row
// (padding filled with NaN, which must never be read). Skipped where the CPU has no AVX512-BF16.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "embstat/analysis/bf16_kernels.hpp"
#include "embstat/base/dtype.hpp"

#include "bf16_matrix.hpp"

namespace embstat {
namespace {

using testing_ref::Bf16Matrix;

double at(const Bf16Matrix& m, std::int64_t i, std::int64_t k) {
  return m.value(i, k);
}

Bf16Matrix random_rows(std::int64_t n, std::int64_t d, std::int64_t pad, std::mt19937_64& engine) {
  Bf16Matrix r(n, d, pad, 0x7fc0);  // NaN between rows
  std::normal_distribution<float> normal;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < d; ++k) r.set(i, k, normal(engine));
  return r;
}

class Bf16Kernels : public testing_ref::Bf16Test {};

TEST_F(Bf16Kernels, DotsMatchDoubleSumsInBothLayoutsWithAndWithoutScales) {
  std::mt19937_64 engine(7);
  for (const std::int64_t d : {1, 15, 16, 17, 31, 32, 33, 64, 100}) {
    for (const std::int64_t n_vec : {1, 5, 6, 7, 13}) {
      const std::int64_t n = 9;  // two full tiles of 4 rows and a short one
      const Bf16Matrix rows = random_rows(n, d, 3, engine);
      const Bf16Matrix vecs = random_rows(n_vec, d, 0, engine);
      Bf16Vectors v = pack_bf16_vectors(n_vec, d);
      for (std::int64_t j = 0; j < n_vec; ++j)
        for (std::int64_t k = 0; k < d; ++k)
          v.bits[static_cast<std::size_t>(j * v.d32 + k)] = vecs.bits[static_cast<std::size_t>(j * d + k)];
      std::vector<float> vec_scale(static_cast<std::size_t>(n_vec)), row_scale(static_cast<std::size_t>(n));
      for (auto& s : vec_scale) s = 0.5f + static_cast<float>(engine() % 100) / 50.0f;
      for (auto& s : row_scale) s = 0.5f + static_cast<float>(engine() % 100) / 50.0f;
      std::vector<float> by_vec(static_cast<std::size_t>(n_vec * n)), by_row(static_cast<std::size_t>(n * n_vec));
      bf16_dots(v, vec_scale.data(), rows.data(), rows.row_bytes(), row_scale.data(), n, d, by_vec.data(), n, 1);
      bf16_dots(v, nullptr, rows.data(), rows.row_bytes(), nullptr, n, d, by_row.data(), 1, n_vec);
      for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < n_vec; ++j) {
          double dot = 0, mag = 0;
          for (std::int64_t k = 0; k < d; ++k) {
            dot += at(rows, i, k) * at(vecs, j, k);
            mag += std::abs(at(rows, i, k) * at(vecs, j, k));
          }
          const double tol = 1e-6 * mag + 1e-30;
          EXPECT_NEAR(by_row[static_cast<std::size_t>(i * n_vec + j)], dot, tol) << d << " " << n_vec << " " << i;
          const double scaled = dot * vec_scale[static_cast<std::size_t>(j)] * row_scale[static_cast<std::size_t>(i)];
          EXPECT_NEAR(by_vec[static_cast<std::size_t>(j * n + i)], scaled, 4 * tol) << d << " " << n_vec << " " << i;
        }
    }
  }
}

TEST_F(Bf16Kernels, WeightedRowSumsMatchDoubleSums) {
  std::mt19937_64 engine(11);
  std::normal_distribution<float> normal;
  for (const std::int64_t d : {1, 15, 16, 17, 31, 32, 33, 100}) {
    for (const std::int64_t n : {1, 2, 7, 8, 33}) {
      for (const std::int64_t n_w : {1, 11, 12, 13, 25}) {
        const Bf16Matrix rows = random_rows(n, d, 5, engine);
        Bf16WeightPairs w;
        w.assign(n, n_w);
        std::vector<double> weight(static_cast<std::size_t>(n * n_w));
        for (std::int64_t i = 0; i < n; ++i)
          for (std::int64_t j = 0; j < n_w; ++j) {
            const std::uint16_t h = f32_to_bf16(normal(engine));
            weight[static_cast<std::size_t>(i * n_w + j)] = bf16_to_f32(h);
            w.set(i, j, h);
          }
        std::vector<float> out(static_cast<std::size_t>(n_w * d), std::nanf(""));
        bf16_weighted_row_sums(rows.data(), rows.row_bytes(), d, w, out.data());
        for (std::int64_t j = 0; j < n_w; ++j)
          for (std::int64_t k = 0; k < d; ++k) {
            double sum = 0, mag = 0;
            for (std::int64_t i = 0; i < n; ++i) {
              const double t = weight[static_cast<std::size_t>(i * n_w + j)] * at(rows, i, k);
              sum += t;
              mag += std::abs(t);
            }
            EXPECT_NEAR(out[static_cast<std::size_t>(j * d + k)], sum, 1e-6 * mag + 1e-30)
                << "d " << d << " n " << n << " weights " << n_w << " j " << j << " k " << k;
          }
      }
    }
  }
}

TEST_F(Bf16Kernels, WeightPairsKeepBothHalves) {
  Bf16WeightPairs w;
  w.assign(3, 2);
  EXPECT_EQ(w.padded, kBf16SumColumns);
  EXPECT_EQ(w.pairs.size(), static_cast<std::size_t>(2 * kBf16SumColumns));
  w.set(0, 1, 0x3f80);
  w.set(1, 1, 0x4000);
  w.set(2, 0, 0xbf80);
  w.set(0, 1, 0x3f81);  // overwrite the low half only
  EXPECT_EQ(w.pairs[1], 0x40003f81u);
  EXPECT_EQ(w.pairs[static_cast<std::size_t>(kBf16SumColumns)], 0x0000bf80u);
}

TEST_F(Bf16Kernels, SquaredNormIsExactForSmallIntegers) {
  std::vector<std::uint16_t> v;
  double expected = 0;
  for (int k = 0; k < 37; ++k) {  // a masked tail after two full steps of 16
    v.push_back(f32_to_bf16(static_cast<float>(k - 18)));
    expected += (k - 18.0) * (k - 18.0);
  }
  EXPECT_EQ(squared_norm_bf16(v.data(), 37), expected);
}

}  // namespace
}  // namespace embstat
