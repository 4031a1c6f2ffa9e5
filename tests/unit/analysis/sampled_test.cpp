// sample_cosines against an independent brute force in double precision.
//
// The reference works on the raw (un-normalised) rows: cos = <a, b> / (|a| |b|), all in double,
// one target at a time, median by full sort (torch.median: the lower middle for an even count).
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>
#include <vector>

#include "embstat/analysis/certified_cosine.hpp"
#include "embstat/analysis/sampled.hpp"
#include "embstat/base/error.hpp"
#include "sample_reference.hpp"

namespace embstat {
namespace {

Matrix from_rows(const std::vector<std::vector<double>>& rows) {
  Matrix m(static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(rows.at(0).size()));
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t k = 0; k < rows[i].size(); ++k)
      m.row(static_cast<std::int64_t>(i))[k] = static_cast<float>(rows[i][k]);
  return m;
}

Matrix gaussian(std::int64_t n, std::int64_t d, std::uint64_t seed, double offset) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Matrix m(n, d);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < d; ++k) m.row(i)[k] = static_cast<float>(normal(engine) + offset);
  return m;
}

using testing_ref::expect_matches;
using testing_ref::Reference;

double norm_of(const float* r, std::int64_t d) {
  double s = 0;
  for (std::int64_t k = 0; k < d; ++k) s += static_cast<double>(r[k]) * r[k];
  return std::sqrt(s);
}

// Target = model row `id` of `raw`; compared with every other row of non-zero norm.
Reference brute_force(const Matrix& raw, std::int64_t id) {
  return testing_ref::brute_force(
      raw.n_rows(), raw.n_cols(), [&](std::int64_t i, std::int64_t k) { return raw.row(i)[k]; }, id);
}

RowSet rows_of(const Matrix& raw) {
  return make_row_set(raw.clone(), RowFilter{});
}

TEST(Sampled, MatchesDoubleBruteForceOnRandomData) {
  const std::uint64_t seed = 20260111;
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  const Matrix raw = gaussian(301, 17, seed, 0.3);
  const RowSet rows = rows_of(raw);
  const auto targets = draw_targets(rows, 25, seed);
  for (std::int64_t block : {0, 1, 7, 64, 1000}) {
    SampleOptions o;
    o.block_rows = block;
    const SampleSummary s = sample_cosines(rows, targets, o);
    ASSERT_EQ(s.per_target.size(), targets.size());
    for (std::size_t k = 0; k < targets.size(); ++k) {
      EXPECT_EQ(s.per_target[k].id, targets[k]);
      expect_matches(s.per_target[k], brute_force(raw, targets[k]));
    }
  }
}

TEST(Sampled, SeveralPassesGiveTheSameStatistics) {
  const Matrix raw = gaussian(200, 9, 7, 0.1);
  const RowSet rows = rows_of(raw);
  const auto targets = draw_targets(rows, 40, 3);
  const SampleSummary one = sample_cosines(rows, targets, SampleOptions{});
  SampleOptions o;
  o.cosine_bytes = 3 * 200 * sizeof(float);  // three targets per pass
  o.block_rows = 16;
  const SampleSummary many = sample_cosines(rows, targets, o);
  // Other sgemm shapes may round otherwise: counts certified, floats within the error bound.
  const double bound = float_cosine_error(rows.dim());
  for (std::size_t k = 0; k < targets.size(); ++k) {
    EXPECT_EQ(one.per_target[k].non_negative, many.per_target[k].non_negative);
    EXPECT_EQ(one.per_target[k].negative, many.per_target[k].negative);
    EXPECT_NEAR(one.per_target[k].min, many.per_target[k].min, bound);
    EXPECT_NEAR(one.per_target[k].max, many.per_target[k].max, bound);
    EXPECT_NEAR(one.per_target[k].median, many.per_target[k].median, bound);
    EXPECT_NEAR(one.per_target[k].mean, many.per_target[k].mean, bound);
  }
}

// SampleOptions::cosines: every cosine the statistic computed, target x column (own column
// included), over several passes, without changing the statistic.
TEST(Sampled, KeepsEveryCosineItComputed) {
  const Matrix raw = gaussian(200, 13, 17, 0.2);
  const RowSet rows = rows_of(raw);
  const std::vector<std::int64_t> targets = {3, 50, 199, 0, 77};
  std::vector<float> kept;
  SampleOptions o;
  o.cosine_bytes = 2 * 200 * sizeof(float);  // two targets per pass: three passes
  o.block_rows = 32;
  o.cosines = &kept;
  const SampleSummary with = sample_cosines(rows, targets, o);
  const SampleSummary without = sample_cosines(rows, targets, SampleOptions{});
  ASSERT_EQ(kept.size(), targets.size() * 200);
  const double bound = float_cosine_error(rows.dim());
  for (std::size_t k = 0; k < targets.size(); ++k) {
    // Other pass and block sizes: other sgemm shapes (counts certified, floats within the bound).
    EXPECT_NEAR(with.per_target[k].median, without.per_target[k].median, bound);
    EXPECT_EQ(with.per_target[k].non_negative, without.per_target[k].non_negative);
    const float* t = raw.row(targets[k]);
    for (std::int64_t j = 0; j < 200; ++j) {
      double dot = 0;
      for (std::int64_t c = 0; c < 13; ++c) dot += static_cast<double>(t[c]) * raw.row(j)[c];
      EXPECT_NEAR(kept[k * 200 + static_cast<std::size_t>(j)], dot / (norm_of(t, 13) * norm_of(raw.row(j), 13)), 1e-6)
          << k << ' ' << j;
    }
  }
}

TEST(Sampled, SameResultForAnyThreadCount) {
  const Matrix raw = gaussian(5000, 32, 11, 0.2);
  const RowSet rows = rows_of(raw);
  const auto targets = draw_targets(rows, 20, 5);
  SampleOptions o;
  o.block_rows = 128;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const SampleSummary a = sample_cosines(rows, targets, o);
  omp_set_num_threads(2);
  const SampleSummary b = sample_cosines(rows, targets, o);
  omp_set_num_threads(saved);
  EXPECT_EQ(a.mean, b.mean);  // bitwise: partial sums merged in block order
  EXPECT_EQ(a.median, b.median);
  EXPECT_EQ(a.fraction_non_negative, b.fraction_non_negative);
  for (std::size_t k = 0; k < targets.size(); ++k) EXPECT_EQ(a.per_target[k].mean, b.per_target[k].mean);
}

TEST(Sampled, TiesAndExactZeros) {
  // Axis and Hadamard rows: unit rows and every cosine (0, +-0.5, +-1) are exact in float, whatever
  // the summation order or FMA, so exact zeros reach the count; each value occurs many times.
  // (Rows like (1,1)/sqrt(2) and (1,-1)/sqrt(2) would not do: with FMA their float dot product
  // is the rounding error of a*a, a tiny number of either sign, as in any f32 BLAS or torch.)
  std::vector<std::vector<double>> base = {{1, 0, 0, 0},   {0, 1, 0, 0},   {-1, 0, 0, 0},    {1, 1, 1, 1},
                                           {1, -1, 1, -1}, {1, 1, -1, -1}, {-1, -1, -1, -1}, {0, 0, 0, 3}};
  std::vector<std::vector<double>> all;
  for (int rep = 0; rep < 5; ++rep)
    for (const auto& r : base) all.push_back(r);
  const Matrix raw = from_rows(all);
  const RowSet rows = rows_of(raw);
  std::vector<std::int64_t> targets;
  for (std::int64_t i = 0; i < rows.size(); ++i) targets.push_back(i);
  const SampleSummary s =
      sample_cosines(rows, targets, SampleOptions{.block_rows = 4, .cosine_bytes = 0, .progress = {}});
  for (std::size_t k = 0; k < targets.size(); ++k) {
    const Reference r = brute_force(raw, targets[k]);
    expect_matches(s.per_target[k], r);
    EXPECT_EQ(s.per_target[k].non_negative, r.non_negative) << "exact zeros must count as non-negative";
  }
  // Target (0,1,0,0): 0 to the other axis rows and to (0,0,0,3); +-0.5 to the Hadamard rows.
  const Reference r1 = brute_force(raw, 1);
  // Of the 39 others: -0.5 x 10 ((1,-1,1,-1), (-1,-1,-1,-1)), 0 x 15, 0.5 x 10, 1 x 4 (its copies).
  EXPECT_EQ(s.per_target[1].negative, 10);
  EXPECT_EQ(s.per_target[1].non_negative, 29);
  EXPECT_EQ(s.per_target[1].max, 1.0f);
  EXPECT_EQ(s.per_target[1].min, -0.5f);
  EXPECT_EQ(r1.negative, s.per_target[1].negative);
  EXPECT_EQ(s.per_target[1].median, 0.0f);
}

TEST(Sampled, ZeroRowsAreExcludedAndCounted) {
  Matrix raw = gaussian(50, 8, 2, 0.0);
  for (std::int64_t z : {0, 17, 49}) std::memset(raw.row(z), 0, 8 * sizeof(float));
  const RowSet rows = rows_of(raw);
  EXPECT_EQ(rows.size(), 47);
  EXPECT_EQ(rows.zero_rows, (std::vector<std::int64_t>{0, 17, 49}));
  const std::vector<std::int64_t> targets = {1, 16, 18, 48};
  const SampleSummary s = sample_cosines(rows, targets, SampleOptions{});
  for (std::size_t k = 0; k < targets.size(); ++k) {
    expect_matches(s.per_target[k], brute_force(raw, targets[k]));
    EXPECT_EQ(s.per_target[k].non_negative + s.per_target[k].negative, 46);
  }
  try {
    sample_cosines(rows, {17}, SampleOptions{});
    FAIL() << "a zero row as target must be refused";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Usage);
    EXPECT_NE(std::string(e.what()).find("zero-norm"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sample_cosines(rows, {50}, SampleOptions{}), Error);
  for (std::int64_t id : draw_targets(rows, 47, 9)) EXPECT_TRUE(rows.index_of(id).has_value());
}

TEST(Sampled, DuplicateOfTheTargetCounts) {
  Matrix raw = gaussian(40, 6, 4, 0.0);
  std::memcpy(raw.row(30), raw.row(10), 6 * sizeof(float));  // row 30 is a copy of row 10
  const RowSet rows = rows_of(raw);
  const SampleSummary s = sample_cosines(rows, {10, 30}, SampleOptions{});
  for (const auto& t : s.per_target) {
    EXPECT_NEAR(t.max, 1.0, 1e-6) << "the copy is another row: cos 1";
    EXPECT_EQ(t.non_negative + t.negative, 39);
    expect_matches(t, brute_force(raw, t.id));
  }
}

TEST(Sampled, NegatedRowGivesMinusOne) {
  Matrix raw = gaussian(40, 6, 5, 0.0);
  for (int k = 0; k < 6; ++k) raw.row(25)[k] = -raw.row(3)[k];
  const RowSet rows = rows_of(raw);
  const SampleSummary s = sample_cosines(rows, {3}, SampleOptions{});
  EXPECT_NEAR(s.per_target[0].min, -1.0, 1e-6);
  expect_matches(s.per_target[0], brute_force(raw, 3));
}

TEST(Sampled, AllPositiveMatrixHasNoNegativePairs) {
  Matrix raw = gaussian(120, 10, 6, 0.0);
  for (std::int64_t i = 0; i < raw.n_rows(); ++i)
    for (int k = 0; k < 10; ++k) raw.row(i)[k] = std::abs(raw.row(i)[k]) + 1e-3f;
  const RowSet rows = rows_of(raw);
  const SampleSummary s = sample_cosines(rows, draw_targets(rows, 30, 1),
                                         SampleOptions{.block_rows = 50, .cosine_bytes = 0, .progress = {}});
  EXPECT_EQ(s.negative, 0.0);
  EXPECT_EQ(s.fraction_non_negative, 1.0);
  EXPECT_EQ(s.fraction_non_negative_std, 0.0);
  for (const auto& t : s.per_target) expect_matches(t, brute_force(raw, t.id));
}

TEST(Sampled, MedianIsTheLowerMiddleLikeTorch) {
  // Target (1, 0); other rows at known cosines. 4 others (even): sorted -0.2, 0.1, 0.5, 0.9 ->
  // torch.median gives 0.1, not the mean of the middle pair (0.3).
  auto at = [](double c) { return std::vector<double>{c, std::sqrt(1 - c * c)}; };
  const Matrix even = from_rows({{1, 0}, at(0.9), at(-0.2), at(0.5), at(0.1)});
  const SampleSummary s = sample_cosines(rows_of(even), {0}, SampleOptions{});
  EXPECT_NEAR(s.per_target[0].median, 0.1, 1e-6);
  // 5 others (odd): the middle one.
  const Matrix odd = from_rows({{1, 0}, at(0.9), at(-0.2), at(0.5), at(0.1), at(0.7)});
  EXPECT_NEAR(sample_cosines(rows_of(odd), {0}, SampleOptions{}).per_target[0].median, 0.5, 1e-6);
  // Target in the middle of the matrix: its own cosine (1) must not shift the median.
  const Matrix mid = from_rows({at(0.9), at(-0.2), {1, 0}, at(0.5), at(0.1)});
  EXPECT_NEAR(sample_cosines(rows_of(mid), {2}, SampleOptions{}).per_target[0].median, 0.1, 1e-6);
}

TEST(Sampled, MedianOfIdenticalAndOfNegativeCosines) {
  // Every row the same: all cosines ~1, one value repeated (the selection's single-bucket case).
  Matrix same(300, 7);
  for (std::int64_t i = 0; i < 300; ++i)
    for (int k = 0; k < 7; ++k) same.row(i)[k] = static_cast<float>(k + 1);
  const SampleSummary s = sample_cosines(rows_of(same), {0, 150}, SampleOptions{});
  for (const auto& t : s.per_target) {
    EXPECT_EQ(t.median, t.max);
    EXPECT_EQ(t.median, t.min);
    EXPECT_NEAR(t.median, 1.0, 1e-6);
  }
  // Row 0 is t; the others are -t plus noise: every cosine negative, the median too.
  Matrix neg = gaussian(401, 12, 21, 0.0);
  for (std::int64_t i = 1; i < 401; ++i)
    for (int k = 0; k < 12; ++k) neg.row(i)[k] = -3.0f * neg.row(0)[k] + 0.5f * neg.row(i)[k];
  const SampleSummary n =
      sample_cosines(rows_of(neg), {0, 7, 400}, SampleOptions{.block_rows = 32, .cosine_bytes = 0, .progress = {}});
  EXPECT_LT(n.per_target[0].median, 0.0f);
  EXPECT_EQ(n.per_target[0].non_negative, 0);
  for (const auto& t : n.per_target) expect_matches(t, brute_force(neg, t.id));
}

TEST(Sampled, SummaryIsMeanAndPopulationStdOverTargets) {
  const Matrix raw = gaussian(100, 5, 8, 0.5);
  const RowSet rows = rows_of(raw);
  const SampleSummary s = sample_cosines(rows, {1, 2, 3, 4}, SampleOptions{});
  double sum = 0, sq = 0;
  for (const auto& t : s.per_target) sum += t.mean;
  const double mean = sum / 4;
  for (const auto& t : s.per_target) sq += (t.mean - mean) * (t.mean - mean);
  EXPECT_DOUBLE_EQ(s.mean, mean);
  EXPECT_NEAR(s.mean_std, std::sqrt(sq / 4), 1e-15);
  double frac = 0;
  for (const auto& t : s.per_target) frac += t.fraction_non_negative();
  EXPECT_DOUBLE_EQ(s.fraction_non_negative, frac / 4);
  EXPECT_DOUBLE_EQ(s.non_negative + s.negative, 99.0);
}

TEST(Sampled, RefusesTooFewRowsAndNoTargets) {
  const RowSet one = rows_of(from_rows({{1, 2, 3}}));
  EXPECT_THROW(sample_cosines(one, {0}, SampleOptions{}), Error);
  const RowSet two = rows_of(from_rows({{1, 2, 3}, {3, 2, 1}}));
  EXPECT_THROW(sample_cosines(two, {}, SampleOptions{}), Error);
  const SampleSummary s = sample_cosines(two, {1}, SampleOptions{});
  EXPECT_EQ(s.per_target[0].non_negative, 1);
  EXPECT_EQ(s.per_target[0].min, s.per_target[0].max);
}

TEST(Sampled, DrawTargetsIsSeededDistinctAndCapped) {
  const RowSet rows = rows_of(gaussian(1000, 4, 1, 0.0));
  const auto a = draw_targets(rows, 50, 0);
  const auto b = draw_targets(rows, 50, 0);
  const auto c = draw_targets(rows, 50, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(std::set<std::int64_t>(a.begin(), a.end()).size(), 50u);
  for (auto id : a) EXPECT_TRUE(id >= 0 && id < 1000);
  // The first n draws do not depend on how many are drawn.
  const auto longer = draw_targets(rows, 60, 0);
  EXPECT_TRUE(std::equal(a.begin(), a.end(), longer.begin()));
  const auto all = draw_targets(rows, 5000, 0);
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(std::set<std::int64_t>(all.begin(), all.end()).size(), 1000u);
}

TEST(Sampled, CosinesToMatchesBruteForce) {
  Matrix raw = gaussian(77, 12, 13, 0.2);
  std::memset(raw.row(5), 0, 12 * sizeof(float));
  const RowSet rows = rows_of(raw);
  const auto cos = cosines_to(rows, 40);
  ASSERT_EQ(static_cast<std::int64_t>(cos.size()), rows.size());
  const double n40 = norm_of(raw.row(40), 12);
  for (std::int64_t p = 0; p < rows.size(); ++p) {
    const std::int64_t j = rows.ids[static_cast<std::size_t>(p)];
    double dot = 0;
    for (int k = 0; k < 12; ++k) dot += static_cast<double>(raw.row(40)[k]) * raw.row(j)[k];
    EXPECT_NEAR(cos[static_cast<std::size_t>(p)], dot / (n40 * norm_of(raw.row(j), 12)), 2e-6);
  }
  EXPECT_THROW(cosines_to(rows, 5), Error);
}

TEST(Sampled, RandomBaselineIsHalfNonNegative) {
  // The study's control: a randomly initialised 10,000 x 256 matrix, ~50 % non-negative.
  const std::uint64_t seed = 0;
  const RowSet rows = make_row_set(random_normal_matrix(10000, 256, seed), RowFilter{});
  ASSERT_EQ(rows.size(), 10000);
  const SampleSummary s = sample_cosines(rows, draw_targets(rows, 50, seed), SampleOptions{});
  EXPECT_NEAR(s.fraction_non_negative, 0.5, 0.005);
  EXPECT_NEAR(s.mean, 0.0, 0.005);
  EXPECT_NEAR(s.non_negative + s.negative, 9999.0, 1e-9);
}

TEST(Sampled, RandomNormalMatrixIsStandardNormalAndThreadIndependent) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const Matrix a = random_normal_matrix(1000, 333, 42);
  omp_set_num_threads(2);
  const Matrix b = random_normal_matrix(1000, 333, 42);
  omp_set_num_threads(saved);
  const std::size_t n = 1000 * 333;
  EXPECT_EQ(std::memcmp(a.data(), b.data(), n * sizeof(float)), 0);
  double sum = 0, sq = 0, below = 0, beyond3 = 0, beyond35 = 0, quart = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double v = a.data()[i];
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
    sq += v * v;
    quart += v * v * v * v;
    below += v < -1.0;
    beyond3 += std::abs(v) > 3.0;
    beyond35 += std::abs(v) > 3.5;  // the ziggurat's tail (past R = 3.44) is drawn separately
  }
  EXPECT_NEAR(quart / static_cast<double>(n), 3.0, 0.05);               // kurtosis of N(0,1)
  EXPECT_NEAR(beyond3 / static_cast<double>(n), 0.0026998, 0.0004);     // 2 Phi(-3)
  EXPECT_NEAR(beyond35 / static_cast<double>(n), 0.00046526, 0.00012);  // 2 Phi(-3.5)
  const double mean = sum / static_cast<double>(n);
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(sq / static_cast<double>(n) - mean * mean, 1.0, 0.01);
  EXPECT_NEAR(below / static_cast<double>(n), 0.158655, 0.003);  // Phi(-1)
  const Matrix c = random_normal_matrix(1000, 333, 43);
  EXPECT_NE(std::memcmp(a.data(), c.data(), n * sizeof(float)), 0);
  // A shorter matrix with the same seed is a prefix in whole blocks.
  const Matrix d = random_normal_matrix(kRandomBlockRows, 333, 42);
  EXPECT_EQ(std::memcmp(a.data(), d.data(), static_cast<std::size_t>(kRandomBlockRows) * 333 * sizeof(float)), 0);
}

}  // namespace
}  // namespace embstat
