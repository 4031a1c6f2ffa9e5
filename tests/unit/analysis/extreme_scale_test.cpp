// Scale-free statistics at extreme scales: rows whose values are all near 1e-30, 1e-20, 1e19 or
// 1e30, and one row of 3e38 among ordinary ones, give the cosine statistics of a double-precision
// reference on the same stored values. The bf16 kernel (f32 sums, subnormals flushed) cannot
// take such rows: it says so, and the f32 paths compute them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "bf16_matrix.hpp"
#include "embstat/analysis/all_pairs.hpp"
#include "embstat/analysis/blas.hpp"
#include "embstat/analysis/row_set.hpp"
#include "embstat/analysis/sampled.hpp"
#include "embstat/analysis/sampled_bf16.hpp"
#include "embstat/base/error.hpp"
#include "sample_reference.hpp"

namespace embstat {
namespace {

using testing_ref::Bf16Matrix;

constexpr std::int64_t kRows = 120, kDim = 48;

// kRows x kDim Gaussian values with a common offset (cosines mostly positive, some negative),
// times `scale`; with `huge_row`, row 7 is +-3e38 (its squares overflow f32).
std::vector<float> scaled_values(double scale, bool huge_row, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<float> v(static_cast<std::size_t>(kRows * kDim));
  for (std::int64_t i = 0; i < kRows; ++i)
    for (std::int64_t k = 0; k < kDim; ++k) {
      const double x = huge_row && i == 7 ? (k % 3 == 0 ? -3e38 : 3e38) : (normal(engine) + 0.3) * scale;
      v[static_cast<std::size_t>(i * kDim + k)] = static_cast<float>(x);
    }
  return v;
}

struct Case {
  double scale;
  bool huge_row;
  std::string name() const { return huge_row ? "one row of 3e38" : "scale " + std::to_string(scale); }
};
const Case kCases[] = {{1e-30, false}, {1e-20, false}, {1e19, false}, {1e30, false}, {1.0, true}};

Bf16Matrix to_bf16(const std::vector<float>& v) {
  Bf16Matrix m(kRows, kDim);
  for (std::int64_t i = 0; i < kRows; ++i)
    for (std::int64_t k = 0; k < kDim; ++k) m.set(i, k, v[static_cast<std::size_t>(i * kDim + k)]);
  return m;
}

Matrix to_matrix(const std::vector<float>& v) {
  Matrix m(kRows, kDim);
  std::copy(v.begin(), v.end(), m.data());
  return m;
}

// Every cosine of the f32 sample path against the double reference on the same values.
template <class Value>
void expect_sample_matches_reference(const RowSet& rows, const Value& value) {
  ASSERT_EQ(rows.size(), kRows);
  const std::vector<std::int64_t> targets = draw_targets(rows, 15, 3);
  const SampleSummary s = sample_cosines(rows, targets);
  for (std::size_t t = 0; t < targets.size(); ++t)
    testing_ref::expect_matches(s.per_target[t], testing_ref::brute_force(kRows, kDim, value, targets[t]));
}

class ExtremeScaleBf16 : public testing_ref::Bf16Test {};

TEST_F(ExtremeScaleBf16, KernelRefusesRowsOutsideItsRangeAndTheF32PathMatchesDouble) {
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name());
    const Bf16Matrix m = to_bf16(scaled_values(c.scale, c.huge_row, 11));
    const Bf16Rows rows = make_bf16_rows(m.view(), RowFilter{});
    ASSERT_EQ(rows.size(), kRows);
    EXPECT_FALSE(rows.in_kernel_range());
    try {
      (void)sample_cosines(rows, std::vector<std::int64_t>{0, 1});
      ADD_FAILURE() << "the bf16 kernel took rows of norm " << rows.min_norm << " to " << rows.max_norm;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Internal);
    }
    expect_sample_matches_reference(make_row_set(decode_to_f32(m.view()), RowFilter{}),
                                    [&](std::int64_t i, std::int64_t k) { return m.value(i, k); });
  }
}

TEST_F(ExtremeScaleBf16, KernelTakesRowsOfOrdinaryNorm) {
  // Norms from about 1e-9 to 1e9 (the kernel's range is [2^-32, 2^32]): bf16 kernel against double.
  for (const double scale : {1e-9, 1.0, 1e8}) {
    SCOPED_TRACE("scale " + std::to_string(scale));
    const Bf16Matrix m = to_bf16(scaled_values(scale, false, 12));
    const Bf16Rows rows = make_bf16_rows(m.view(), RowFilter{});
    ASSERT_TRUE(rows.in_kernel_range()) << rows.min_norm << " to " << rows.max_norm;
    const std::vector<std::int64_t> targets = draw_targets(rows.ids, 15, 3);
    const SampleSummary s = sample_cosines(rows, targets);
    for (std::size_t t = 0; t < targets.size(); ++t)
      testing_ref::expect_matches(
          s.per_target[t], testing_ref::brute_force(
                               kRows, kDim, [&](std::int64_t i, std::int64_t k) { return m.value(i, k); }, targets[t]));
  }
}

// The f32 paths (sample, all pairs) on f32 rows at the same scales, and at 1e-41 (subnormal
// values) and 1e37 (squares past FLT_MAX).
TEST(ExtremeScale, F32SampleAndAllPairsMatchDouble) {
  std::vector<Case> cases(std::begin(kCases), std::end(kCases));
  cases.push_back({1e-41, false});
  cases.push_back({1e37, false});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name());
    const std::vector<float> v = scaled_values(c.scale, c.huge_row, 13);
    auto value = [&](std::int64_t i, std::int64_t k) { return v[static_cast<std::size_t>(i * kDim + k)]; };
    const RowSet rows = make_row_set(to_matrix(v), RowFilter{});
    expect_sample_matches_reference(rows, value);

    // All pairs: exact counts and the mean, against double.
    std::int64_t non_negative = 0, near_zero = 0;
    double sum = 0;
    for (std::int64_t i = 0; i < kRows; ++i)
      for (std::int64_t j = i + 1; j < kRows; ++j) {
        double dot = 0, ni = 0, nj = 0;
        for (std::int64_t k = 0; k < kDim; ++k) {
          dot += static_cast<double>(value(i, k)) * value(j, k);
          ni += static_cast<double>(value(i, k)) * value(i, k);
          nj += static_cast<double>(value(j, k)) * value(j, k);
        }
        const double cos = dot / std::sqrt(ni * nj);
        sum += cos;
        non_negative += cos >= 0;
        near_zero += std::abs(cos) < 1e-5;
      }
    const AllPairsResult r = all_pairs(rows);
    const auto n_pairs = static_cast<double>(kRows * (kRows - 1) / 2);
    EXPECT_LE(std::abs(static_cast<std::int64_t>(r.non_negative) - non_negative), near_zero);
    EXPECT_NEAR(r.mean, sum / n_pairs, 1e-6);
  }
}

// A LAPACK failure says which routine, its info and what it was given.
TEST(ExtremeScale, LapackFailureNamesItsInput) {
  try {
    blas::lapack_check(-4, "dsytrd", "the 64 x 64 covariance of 300 rows (largest |entry| inf)");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Internal);
    EXPECT_NE(std::string(e.what()).find("dsytrd failed (info -4) on the 64 x 64 covariance of 300 rows"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(blas::lapack_check(0, "dsytrd", "anything"));
}

}  // namespace
}  // namespace embstat
