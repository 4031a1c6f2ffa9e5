// The bf16 kernel path of the sampled statistic, against a double brute force on the decoded
// values and against the f32 RowSet path. Skipped where the CPU has no AVX512-BF16.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <vector>

#include "bf16_matrix.hpp"
#include "embstat/analysis/sampled.hpp"
#include "embstat/analysis/sampled_bf16.hpp"
#include "embstat/base/dtype.hpp"
#include "embstat/base/error.hpp"
#include "sample_reference.hpp"

namespace embstat {
namespace {

using testing_ref::Bf16Matrix;

Bf16Matrix gaussian_bf16(std::int64_t n, std::int64_t d, std::uint64_t seed, double offset, std::int64_t pad = 0) {
  Bf16Matrix m(n, d, pad, 0xffff);  // padding bytes: NaN, must never be read
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < d; ++k) m.set(i, k, static_cast<float>(0.02 * (normal(engine) + offset)));
  return m;
}

using testing_ref::expect_matches;
using testing_ref::Reference;

// Target row `id` against every other usable row with id < n_used, in double.
Reference brute_force(const Bf16Matrix& m, std::int64_t id, std::int64_t n_used) {
  return testing_ref::brute_force(
      n_used, m.d, [&](std::int64_t i, std::int64_t k) { return m.value(i, k); }, id);
}

class SampledBf16 : public testing_ref::Bf16Test {};

TEST_F(SampledBf16, MatchesDoubleBruteForceForManyShapes) {
  // d not a multiple of 32 (masked tail), rows not a multiple of 4, targets not of 6, padded strides.
  struct Shape {
    std::int64_t n, d, pad, targets, block;
  };
  for (const Shape& s : {Shape{203, 64, 0, 13, 0}, Shape{157, 17, 3, 7, 16}, Shape{301, 100, 28, 25, 64},
                         Shape{64, 45, 0, 6, 5}, Shape{90, 1, 0, 4, 0}}) {
    const std::uint64_t seed = 1000 + static_cast<std::uint64_t>(s.d);
    SCOPED_TRACE("shape " + std::to_string(s.n) + " x " + std::to_string(s.d) + " seed " + std::to_string(seed));
    const Bf16Matrix m = gaussian_bf16(s.n, s.d, seed, 0.3, s.pad);
    const Bf16Rows rows = make_bf16_rows(m.view(), RowFilter{});
    ASSERT_EQ(rows.size(), s.n);
    SampleOptions o;
    o.block_rows = s.block;
    const auto targets = draw_targets(rows.ids, s.targets, seed);
    const SampleSummary got = sample_cosines(rows, targets, o);
    for (std::size_t k = 0; k < targets.size(); ++k) expect_matches(got.per_target[k], brute_force(m, targets[k], s.n));
  }
}

// SampleOptions::cosines on the bf16 path: columns are model row ids, excluded rows included
// (as 0: their inverse norm is 0).
TEST_F(SampledBf16, KeepsEveryCosineByModelRowId) {
  Bf16Matrix m = gaussian_bf16(150, 40, 5, 0.3, 4);
  for (std::int64_t k = 0; k < 40; ++k) m.set(9, k, 0.0f);  // a zero row, excluded
  const Bf16Rows rows = make_bf16_rows(m.view(), RowFilter{});
  ASSERT_EQ(rows.size(), 149);
  const std::vector<std::int64_t> targets = {0, 8, 149};
  std::vector<float> kept;
  SampleOptions o;
  o.block_rows = 16;
  o.cosines = &kept;
  const SampleSummary s = sample_cosines(rows, targets, o);
  EXPECT_EQ(s.per_target[1].non_negative, sample_cosines(rows, targets).per_target[1].non_negative);
  ASSERT_EQ(kept.size(), targets.size() * 150);
  for (std::size_t k = 0; k < targets.size(); ++k)
    for (std::int64_t j = 0; j < 150; ++j) {
      double dot = 0, a = 0, b = 0;
      for (std::int64_t c = 0; c < 40; ++c) {
        dot += static_cast<double>(m.value(targets[k], c)) * m.value(j, c);
        a += static_cast<double>(m.value(targets[k], c)) * m.value(targets[k], c);
        b += static_cast<double>(m.value(j, c)) * m.value(j, c);
      }
      EXPECT_NEAR(kept[k * 150 + static_cast<std::size_t>(j)], j == 9 ? 0.0 : dot / std::sqrt(a * b), 1e-6)
          << k << ' ' << j;
    }
}

TEST_F(SampledBf16, AgreesWithTheRowSetPath) {
  const Bf16Matrix m = gaussian_bf16(3000, 96, 5, 0.2);
  const Bf16Rows fast = make_bf16_rows(m.view(), RowFilter{});
  const RowSet slow = make_row_set(decode_to_f32(m.view()), RowFilter{});
  EXPECT_EQ(fast.ids, slow.ids);
  const auto targets = draw_targets(fast.ids, 50, 0);
  EXPECT_EQ(targets, draw_targets(slow, 50, 0));
  const SampleSummary a = sample_cosines(fast, targets);
  const SampleSummary b = sample_cosines(slow, targets, SampleOptions{});
  EXPECT_NEAR(a.mean, b.mean, 1e-7);
  EXPECT_NEAR(a.median, b.median, 1e-6);
  EXPECT_NEAR(a.min, b.min, 1e-6);
  EXPECT_NEAR(a.max, b.max, 1e-6);
  EXPECT_NEAR(a.fraction_non_negative, b.fraction_non_negative, 1e-4);
}

TEST_F(SampledBf16, ExcludesZeroNonFiniteAndPaddingRows) {
  Bf16Matrix m = gaussian_bf16(120, 40, 9, 0.1);
  for (std::int64_t k = 0; k < m.d; ++k) {
    m.set(3, k, 0.0f);  // zero row
    m.set(50, k, 0.0f);
  }
  m.set(50, 7, std::numeric_limits<float>::quiet_NaN());  // NaN row
  m.set(77, 2, std::numeric_limits<float>::infinity());   // Inf row
  RowFilter filter;
  filter.n_tokens = 110;  // rows 110..119 are padding
  const Bf16Rows rows = make_bf16_rows(m.view(), filter);
  EXPECT_EQ(rows.zero_rows, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(rows.non_finite_rows, (std::vector<std::int64_t>{50, 77}));
  ASSERT_EQ(rows.padding_rows.size(), 10u);
  EXPECT_EQ(rows.padding_rows.front(), 110);
  EXPECT_EQ(rows.size(), 107);
  // The same rows as make_row_set with the same filter.
  const RowSet slow = make_row_set(decode_to_f32(m.view()), filter);
  EXPECT_EQ(rows.ids, slow.ids);
  EXPECT_EQ(rows.zero_rows, slow.zero_rows);
  EXPECT_EQ(rows.non_finite_rows, slow.non_finite_rows);
  EXPECT_EQ(rows.padding_rows, slow.padding_rows);

  const std::vector<std::int64_t> targets = {0, 2, 4, 49, 51, 76, 78, 109};
  const SampleSummary s =
      sample_cosines(rows, targets, SampleOptions{.block_rows = 8, .cosine_bytes = 0, .progress = {}});
  for (std::size_t k = 0; k < targets.size(); ++k) {
    expect_matches(s.per_target[k], brute_force(m, targets[k], 110));
    EXPECT_EQ(s.per_target[k].non_negative + s.per_target[k].negative, 106);
    EXPECT_TRUE(std::isfinite(s.per_target[k].mean));
  }
  for (std::int64_t bad : {3, 50, 77, 110, 120}) {
    try {
      sample_cosines(rows, {bad});
      ADD_FAILURE() << "row " << bad << " must be refused as a target";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Usage);
    }
  }
  filter.include_padding = true;
  EXPECT_EQ(make_bf16_rows(m.view(), filter).size(), 117);
}

TEST_F(SampledBf16, DuplicateAndNegatedRows) {
  Bf16Matrix m = gaussian_bf16(70, 33, 4, 0.0);
  for (std::int64_t k = 0; k < m.d; ++k) {
    m.bits[static_cast<std::size_t>(60 * m.stride + k)] = m.bits[static_cast<std::size_t>(10 * m.stride + k)];
    m.set(61, k, -m.value(10, k));  // exact: bf16 negation
  }
  const Bf16Rows rows = make_bf16_rows(m.view(), RowFilter{});
  const SampleSummary s = sample_cosines(rows, {10});
  EXPECT_NEAR(s.per_target[0].max, 1.0, 1e-6);
  EXPECT_NEAR(s.per_target[0].min, -1.0, 1e-6);
  expect_matches(s.per_target[0], brute_force(m, 10, 70));
}

TEST_F(SampledBf16, SeveralPassesGiveTheSameResult) {
  const Bf16Matrix m = gaussian_bf16(700, 64, 12, 0.2);
  const Bf16Rows rows = make_bf16_rows(m.view(), RowFilter{});
  const auto targets = draw_targets(rows.ids, 20, 3);
  const SampleSummary one =
      sample_cosines(rows, targets, SampleOptions{.block_rows = 100, .cosine_bytes = 0, .progress = {}});
  const SampleSummary many =
      sample_cosines(rows, targets, SampleOptions{.block_rows = 100, .cosine_bytes = 3 * 700 * 4, .progress = {}});
  for (std::size_t k = 0; k < targets.size(); ++k) {
    EXPECT_EQ(one.per_target[k].mean, many.per_target[k].mean);
    EXPECT_EQ(one.per_target[k].median, many.per_target[k].median);
    EXPECT_EQ(one.per_target[k].non_negative, many.per_target[k].non_negative);
  }
}

TEST(SampledBf16Switch, EnvironmentVariableForcesTheF32Path) {
  const char* saved = std::getenv("EMBSTAT_NO_BF16_KERNEL");
  const std::string old = saved ? saved : "";
  setenv("EMBSTAT_NO_BF16_KERNEL", "1", 1);
  EXPECT_FALSE(bf16_kernel_available());
  if (saved)
    setenv("EMBSTAT_NO_BF16_KERNEL", old.c_str(), 1);
  else
    unsetenv("EMBSTAT_NO_BF16_KERNEL");
}

}  // namespace
}  // namespace embstat
