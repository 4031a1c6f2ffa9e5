// Exact counts where cosines are exactly 0: a 256 x 32 matrix of +-1 has thousands of exactly
// orthogonal pairs (an even number of sign agreements), on which a float kernel with fused
// multiply-adds leaves residues of either sign. Every engine must count cos = 0 as non-negative
// and give the exact integer counts (certified_cosine.hpp; the int16 pass by its own bounds),
// whatever the BLAS kernel (OPENBLAS_CORETYPE), block size or thread count.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "bf16_matrix.hpp"
#include "embstat/analysis/all_pairs.hpp"
#include "embstat/analysis/row_set.hpp"
#include "embstat/analysis/sampled.hpp"
#include "embstat/analysis/sampled_bf16.hpp"
#include "embstat/analysis/sign_pairs.hpp"
#include "fixtures/plus_minus_one.hpp"

namespace embstat {
namespace {

constexpr std::int64_t kRows = fixtures::kPlusMinusOneRows, kDim = fixtures::kPlusMinusOneDim;

// The truth in integers: dot products of +-1 rows are exact.
struct IntegerTruth {
  std::vector<std::int64_t> dot;  // kRows x kRows
  std::uint64_t negative = 0, zero = 0;
  std::vector<std::int64_t> row_negative;
};

IntegerTruth truth(const std::vector<int>& v) {
  IntegerTruth t;
  t.dot.assign(static_cast<std::size_t>(kRows * kRows), 0);
  t.row_negative.assign(static_cast<std::size_t>(kRows), 0);
  for (std::int64_t i = 0; i < kRows; ++i)
    for (std::int64_t j = 0; j < kRows; ++j) {
      std::int64_t s = 0;
      for (std::int64_t k = 0; k < kDim; ++k)
        s += v[static_cast<std::size_t>(i * kDim + k)] * v[static_cast<std::size_t>(j * kDim + k)];
      t.dot[static_cast<std::size_t>(i * kRows + j)] = s;
      if (i != j && s < 0) ++t.row_negative[static_cast<std::size_t>(i)];
      if (i < j) {
        t.negative += s < 0;
        t.zero += s == 0;
      }
    }
  return t;
}

RowSet rows_of(const std::vector<int>& v) {
  Matrix m(kRows, kDim);
  for (std::int64_t i = 0; i < kRows; ++i)
    for (std::int64_t k = 0; k < kDim; ++k) m.row(i)[k] = static_cast<float>(v[static_cast<std::size_t>(i * kDim + k)]);
  return make_row_set(std::move(m), RowFilter{});
}

class ExactCounts : public ::testing::Test {
 protected:
  std::vector<int> v = fixtures::plus_minus_one_matrix();
  IntegerTruth t = truth(v);
  RowSet rows = rows_of(v);
  const std::uint64_t pairs = static_cast<std::uint64_t>(kRows * (kRows - 1) / 2);
};

// The e2e tests (tests/e2e/pairs.cmake) expect these counts from the CLI.
TEST_F(ExactCounts, TheFixtureHasManyExactZeros) {
  EXPECT_EQ(t.zero, 4603u);
  EXPECT_EQ(t.negative, 13902u);
}

TEST_F(ExactCounts, AllPairsFp32) {
  for (std::int64_t block : {0, 1, 7, 100, 256})
    for (int threads : {1, 2}) {
      AllPairsOptions o;
      o.per_row = true;
      o.block_rows = block;
      o.n_threads = threads;
      const AllPairsResult r = all_pairs(rows, o);
      SCOPED_TRACE("block " + std::to_string(block) + " threads " + std::to_string(threads));
      EXPECT_EQ(r.negative, t.negative);
      EXPECT_EQ(r.non_negative, pairs - t.negative);
      EXPECT_EQ(r.uncertain, t.zero);  // |cos| < 1e-6 only where the dot is exactly 0
      EXPECT_EQ(r.row_negative, t.row_negative);
      EXPECT_LE(r.max, 1.0f);
      EXPECT_GE(r.min, -1.0f);
    }
}

TEST_F(ExactCounts, SignPassInt16) {
  for (std::int64_t block : {0, 7, 100}) {
    SignPairsOptions o;
    o.per_row = true;
    o.block_rows = block;
    const SignPairsResult r = sign_pairs(rows, o);
    EXPECT_EQ(r.negative, t.negative) << block;
    EXPECT_EQ(r.non_negative, pairs - t.negative) << block;
    EXPECT_EQ(r.uncertain, t.zero) << block;
    EXPECT_EQ(r.row_negative, t.row_negative) << block;
  }
}

TEST_F(ExactCounts, SampledFp32AndCosinesTo) {
  std::vector<std::int64_t> targets(static_cast<std::size_t>(kRows));
  for (std::int64_t i = 0; i < kRows; ++i) targets[static_cast<std::size_t>(i)] = i;
  for (std::int64_t block : {0, 5, 64}) {
    SampleOptions o;
    o.block_rows = block;
    o.cosine_bytes = 40 * kRows * 4;  // several passes
    const SampleSummary s = sample_cosines(rows, targets, o);
    for (std::int64_t i = 0; i < kRows; ++i) {
      EXPECT_EQ(s.per_target[static_cast<std::size_t>(i)].negative, t.row_negative[static_cast<std::size_t>(i)])
          << "block " << block << " target " << i;
      EXPECT_EQ(s.per_target[static_cast<std::size_t>(i)].non_negative,
                kRows - 1 - t.row_negative[static_cast<std::size_t>(i)]);
    }
  }
  // The rows negative to a row (`neighbors --negative`): exactly those of negative dot.
  for (std::int64_t i : {0, 17, 255}) {
    const std::vector<float> cos = cosines_to(rows, i);
    for (std::int64_t j = 0; j < kRows; ++j) {
      const std::int64_t dot = t.dot[static_cast<std::size_t>(i * kRows + j)];
      EXPECT_EQ(cos[static_cast<std::size_t>(j)] < 0.0f, dot < 0) << i << ' ' << j;
      if (dot == 0) {
        EXPECT_EQ(cos[static_cast<std::size_t>(j)], 0.0f) << i << ' ' << j;
      }
    }
    EXPECT_LE(cos[static_cast<std::size_t>(i)], 1.0f);  // clamped: never 1.0000001
    EXPECT_NEAR(cos[static_cast<std::size_t>(i)], 1.0f, 1e-6);
  }
}

TEST_F(ExactCounts, SampledBf16) {
  if (!bf16_kernel_available()) GTEST_SKIP() << "no AVX512-BF16 on this CPU: the bf16 path is not used here";
  testing_ref::Bf16Matrix m(kRows, kDim);
  for (std::int64_t i = 0; i < kRows; ++i)
    for (std::int64_t k = 0; k < kDim; ++k) m.set(i, k, static_cast<float>(v[static_cast<std::size_t>(i * kDim + k)]));
  const Bf16Rows b = make_bf16_rows(m.view(), RowFilter{});
  std::vector<std::int64_t> targets = {0, 3, 100, 255};
  const SampleSummary s = sample_cosines(b, targets, SampleOptions{});
  for (std::size_t k = 0; k < targets.size(); ++k)
    EXPECT_EQ(s.per_target[k].negative, t.row_negative[static_cast<std::size_t>(targets[k])]) << targets[k];
}

}  // namespace
}  // namespace embstat
