// all_pairs: the tiled engine against two independent references on small matrices —
//   * a double-precision brute force (the truth): counts, extremes and their pairs exact (the
//     engine certifies them, certified_cosine.hpp), values within the float error bound, and
//   * the float cosines themselves, from the same sgemm tiles on one BLAS thread, clamped and
//     certified as the engine does, sorted: the engine's exact quantiles and histogram must
//     equal them bit for bit;
// plus invariance to thread count, block size, kernel and quantile strategy.
//
// Block size: OpenBLAS rounds some tile shapes differently (its small-matrix and edge kernels
// sum in another order, and which kernel runs depends on the CPU: OPENBLAS_CORETYPE), so the
// float cosine of a pair can move by an ulp or so with the block size. The reducer itself is
// order-independent, which PairStats.InvariantToTilingAndOrder checks bit for bit on fixed
// cosines; across block sizes all_pairs guarantees equal counts and extremes, and float
// statistics within float_cosine_error(d).
#include <cblas.h>
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <thread>
#include <tuple>

#include "embstat/analysis/all_pairs.hpp"
#include "embstat/analysis/blas.hpp"
#include "embstat/analysis/certified_cosine.hpp"
#include "embstat/analysis/reducers/pair_stats.hpp"
#include "embstat/analysis/row_set.hpp"
#include "embstat/analysis/sign_pairs.hpp"
#include "embstat/base/error.hpp"

namespace embstat {
namespace {

// Portable N(0,1) (Box-Muller on mt19937_64): the same matrices on every standard library.
class Normal {
 public:
  explicit Normal(std::uint64_t seed) : rng_(seed) {}
  float operator()() {
    const double u1 = (static_cast<double>(rng_() >> 11) + 0.5) * 0x1p-53;
    const double u2 = static_cast<double>(rng_() >> 11) * 0x1p-53;
    return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
  }

 private:
  std::mt19937_64 rng_;
};

// n x d rows of N(0,1) plus `bias` times a shared direction (bias > 0: mostly positive cosines,
// as in trained embeddings).
Matrix random_matrix(std::int64_t n, std::int64_t d, std::uint64_t seed, float bias = 0.0f) {
  Normal normal(seed);
  std::vector<float> common(static_cast<std::size_t>(d));
  for (auto& x : common) x = normal();
  Matrix m(n, d);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < d; ++k) m.row(i)[k] = normal() + bias * common[static_cast<std::size_t>(k)];
  return m;
}

RowSet rows_of(Matrix m) {
  return make_row_set(std::move(m), RowFilter{});
}

constexpr std::array<double, 7> kAllLevels = {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99};

std::uint64_t rank_of(std::uint64_t n, double p) {
  // floor((n - 1) p) for the levels used (p * 100 is an integer).
  return (n - 1) * static_cast<std::uint64_t>(std::llround(p * 100)) / 100;
}

// The float cosines of every pair i < j, from the same BLAS calls as the engine (block x block
// tiles, one BLAS thread), clamped and certified as the engine does.
struct FloatReference {
  std::vector<float> values;  // pair order (i, j) lexicographic
  std::vector<float> sorted;
  std::uint64_t negative = 0, uncertain = 0;
  float min = INFINITY, max = -INFINITY;
  std::pair<std::int64_t, std::int64_t> min_pair, max_pair;  // RowSet positions
  std::vector<std::uint64_t> histogram;                      // 4096 bins
  std::vector<std::int64_t> row_negative;
};

std::vector<float> tiled_cosines(const RowSet& rows, std::int64_t block) {
  const std::int64_t n = rows.size(), d = rows.dim(), b = std::min(block, n);
  std::vector<float> c(static_cast<std::size_t>(n * n)), tile(static_cast<std::size_t>(b * b));
  blas::BlasThreads one(1);  // as the engine: a threaded sgemm splits the tile and may round otherwise
  for (std::int64_t I = 0; I < n; I += b)
    for (std::int64_t J = I; J < n; J += b) {
      const std::int64_t r = std::min(b, n - I), k = std::min(b, n - J);
      if (I == J)  // as the engine: the diagonal tile's upper triangle by ssyrk
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, static_cast<int>(r), static_cast<int>(d), 1.0f,
                    rows.unit.row(I), static_cast<int>(d), 0.0f, tile.data(), static_cast<int>(b));
      else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(r), static_cast<int>(k),
                    static_cast<int>(d), 1.0f, rows.unit.row(I), static_cast<int>(d), rows.unit.row(J),
                    static_cast<int>(d), 0.0f, tile.data(), static_cast<int>(b));
      for (std::int64_t i = 0; i < r; ++i)
        for (std::int64_t j = 0; j < k; ++j)
          c[static_cast<std::size_t>((I + i) * n + J + j)] = tile[static_cast<std::size_t>(i * b + j)];
    }
  const float band = certification_band(d);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) {
      float& v = c[static_cast<std::size_t>(i * n + j)];
      v = clamp_cosine(v);
      if (std::fabs(v) <= band) v = certify_cosine(rows.unit.row(i), rows.unit.row(j), d);
    }
  return c;
}

FloatReference float_reference(const RowSet& rows, std::int64_t block) {
  const std::int64_t n = rows.size();
  const std::vector<float> c = tiled_cosines(rows, block);
  FloatReference ref;
  ref.histogram.assign(4096, 0);
  ref.row_negative.assign(static_cast<std::size_t>(n), 0);
  const CosineBins bins(4096);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) {
      const float v = c[static_cast<std::size_t>(i * n + j)];
      ref.values.push_back(v);
      if (v < 0) {
        ++ref.negative;
        ++ref.row_negative[static_cast<std::size_t>(i)];
        ++ref.row_negative[static_cast<std::size_t>(j)];
      }
      ref.uncertain += std::fabs(v) < 1e-6f;
      if (v < ref.min) {
        ref.min = v;
        ref.min_pair = {i, j};
      }
      if (v > ref.max) {
        ref.max = v;
        ref.max_pair = {i, j};
      }
      ++ref.histogram[static_cast<std::size_t>(bins(v))];
    }
  ref.sorted = ref.values;
  std::sort(ref.sorted.begin(), ref.sorted.end());
  return ref;
}

// The truth: exact signs (cos = 0 is non-negative), values in double, clamped to [-1, 1];
// extremes with their lexicographically first pair.
struct DoubleReference {
  std::vector<double> sorted;
  std::uint64_t negative = 0;
  std::uint64_t uncertain = 0;  // |cos| < 1e-6
  double min = INFINITY, max = -INFINITY, mean = 0, std = 0;
  std::pair<std::int64_t, std::int64_t> min_pair, max_pair;
  std::vector<double> row_mean;
  std::vector<std::int64_t> row_negative;
};

DoubleReference double_reference(const RowSet& rows) {
  const std::int64_t n = rows.size(), d = rows.dim();
  DoubleReference ref;
  ref.row_mean.assign(static_cast<std::size_t>(n), 0);
  ref.row_negative.assign(static_cast<std::size_t>(n), 0);
  long double sum = 0, sq = 0;
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) {
      double c = 0;
      for (std::int64_t k = 0; k < d; ++k) c += static_cast<double>(rows.unit.row(i)[k]) * rows.unit.row(j)[k];
      c = std::clamp(c, -1.0, 1.0);
      ref.sorted.push_back(c);
      if (exact_dot_sign(rows.unit.row(i), rows.unit.row(j), d) < 0) {
        ++ref.negative;
        ++ref.row_negative[static_cast<std::size_t>(i)];
        ++ref.row_negative[static_cast<std::size_t>(j)];
      }
      ref.uncertain += std::fabs(c) < 1e-6;
      if (c < ref.min) {
        ref.min = c;
        ref.min_pair = {i, j};
      }
      if (c > ref.max) {
        ref.max = c;
        ref.max_pair = {i, j};
      }
      sum += c;
      sq += static_cast<long double>(c) * c;
      ref.row_mean[static_cast<std::size_t>(i)] += c;
      ref.row_mean[static_cast<std::size_t>(j)] += c;
    }
  const double N = static_cast<double>(ref.sorted.size());
  ref.mean = static_cast<double>(sum / N);
  ref.std = std::sqrt(std::max(0.0, static_cast<double>(sq / N) - ref.mean * ref.mean));
  for (auto& m : ref.row_mean) m /= static_cast<double>(n - 1);
  std::sort(ref.sorted.begin(), ref.sorted.end());
  return ref;
}

double quantile_of(const AllPairsResult& r, std::size_t level) {
  if (level == 3) return r.median;
  return r.quantiles[level < 3 ? level : level - 1];
}

// Every field equal, bit for bit.
void expect_identical(const AllPairsResult& a, const AllPairsResult& b, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(a.pairs, b.pairs);
  EXPECT_EQ(a.non_negative, b.non_negative);
  EXPECT_EQ(a.negative, b.negative);
  EXPECT_EQ(a.uncertain, b.uncertain);
  EXPECT_EQ(a.min, b.min);
  EXPECT_EQ(a.max, b.max);
  EXPECT_EQ(a.min_pair, b.min_pair);
  EXPECT_EQ(a.max_pair, b.max_pair);
  EXPECT_EQ(a.mean, b.mean);
  EXPECT_EQ(a.std, b.std);
  EXPECT_EQ(a.median, b.median);
  EXPECT_EQ(a.quantiles, b.quantiles);
  EXPECT_EQ(a.histogram, b.histogram);
  EXPECT_EQ(a.row_negative, b.row_negative);
  EXPECT_EQ(a.row_mean, b.row_mean);
  EXPECT_EQ(a.mean_identity, b.mean_identity);
}

// The engine against both references.
void check_against_references(const RowSet& rows, const AllPairsResult& r, bool per_row, std::int64_t block) {
  const FloatReference f = float_reference(rows, block);
  const DoubleReference dr = double_reference(rows);
  const std::uint64_t N = f.values.size();
  const double bound = float_cosine_error(rows.dim());
  auto id = [&](std::int64_t pos) { return rows.ids[static_cast<std::size_t>(pos)]; };

  ASSERT_EQ(r.pairs, N);
  // Certified: counts, extremes and their pairs are the truth's, on any machine.
  EXPECT_EQ(r.negative, dr.negative);
  EXPECT_EQ(r.non_negative, N - dr.negative);
  EXPECT_EQ(r.uncertain, dr.uncertain);
  EXPECT_EQ(r.min, static_cast<float>(dr.min) + 0.0f);
  EXPECT_EQ(r.max, static_cast<float>(dr.max) + 0.0f);
  EXPECT_EQ(r.min_pair, std::make_pair(id(dr.min_pair.first), id(dr.min_pair.second)));
  EXPECT_EQ(r.max_pair, std::make_pair(id(dr.max_pair.first), id(dr.max_pair.second)));
  EXPECT_GE(r.min, -1.0f);
  EXPECT_LE(r.max, 1.0f);
  // The float cosines of this tiling: the exact order statistics and histogram of them.
  EXPECT_EQ(r.negative, f.negative);
  EXPECT_EQ(r.histogram, f.histogram);
  for (std::size_t l = 0; l < kAllLevels.size(); ++l)
    EXPECT_EQ(quantile_of(r, l), static_cast<double>(f.sorted[rank_of(N, kAllLevels[l])] + 0.0f))
        << "level " << kAllLevels[l];

  // Float statistics: within the float error bound of the truth.
  EXPECT_NEAR(r.mean, dr.mean, bound);
  EXPECT_NEAR(r.std, dr.std, bound);
  EXPECT_NEAR(r.mean_identity, dr.mean, 1e-9);
  EXPECT_NEAR(r.mean, r.mean_identity, bound);
  for (std::size_t l = 0; l < kAllLevels.size(); ++l)
    EXPECT_NEAR(quantile_of(r, l), dr.sorted[rank_of(N, kAllLevels[l])], bound) << "level " << kAllLevels[l];
  if (per_row) {
    ASSERT_EQ(r.row_negative.size(), static_cast<std::size_t>(rows.size()));
    EXPECT_EQ(r.row_negative, dr.row_negative);
    EXPECT_EQ(r.row_negative, f.row_negative);
    for (std::size_t i = 0; i < r.row_mean.size(); ++i)
      EXPECT_NEAR(r.row_mean[i], dr.row_mean[i], bound) << "row " << i;
  }
}

TEST(AllPairs, RandomMatrixMatchesReferences) {
  const std::uint64_t seed = 11;
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  RowSet rows = rows_of(random_matrix(300, 48, seed, 0.4f));
  AllPairsOptions o;
  o.per_row = true;
  o.block_rows = 64;  // 300 is not a multiple
  const AllPairsResult r = all_pairs(rows, o);
  check_against_references(rows, r, true, 64);
  EXPECT_EQ(r.passes, 1);
  EXPECT_GT(r.negative, 0u);
  EXPECT_GT(r.non_negative, r.negative);
}

TEST(AllPairs, FewerRowsThanOneBlock) {
  RowSet rows = rows_of(random_matrix(37, 20, 5));
  check_against_references(rows, all_pairs(rows, {}), false, kAllPairsBlockRows);
}

TEST(AllPairs, TwoRows) {
  Matrix m = Matrix::zeros(2, 3);
  m.row(0)[0] = 1;
  m.row(1)[0] = -2;
  m.row(1)[1] = 0.5f;
  RowSet rows = rows_of(std::move(m));
  const AllPairsResult r = all_pairs(rows, {});
  EXPECT_EQ(r.pairs, 1u);
  EXPECT_EQ(r.negative, 1u);
  EXPECT_EQ(r.min, r.max);
  EXPECT_EQ(r.median, r.min);
  EXPECT_EQ(r.min_pair, std::make_pair(std::int64_t{0}, std::int64_t{1}));
  EXPECT_NEAR(r.mean, -2 / std::sqrt(4.25), 1e-7);
  EXPECT_EQ(r.std, 0.0);
}

TEST(AllPairs, OneRowIsAUsageError) {
  RowSet rows = rows_of(random_matrix(1, 4, 1));
  EXPECT_THROW(all_pairs(rows, {}), Error);
}

// Zero rows are excluded; ids stay the model's. Duplicates tie at the max (first pair wins),
// a negated row gives the min.
TEST(AllPairs, ZeroDuplicateAndNegatedRows) {
  Matrix m = random_matrix(200, 32, 23, 0.3f);
  for (std::int64_t k = 0; k < 32; ++k) {
    m.row(7)[k] = 0.0f;             // zero row
    m.row(150)[k] = 0.0f;           // zero row
    m.row(40)[k] = m.row(3)[k];     // duplicate of 3
    m.row(90)[k] = m.row(3)[k];     // another duplicate of 3
    m.row(120)[k] = -m.row(10)[k];  // negated 10
  }
  RowSet rows = rows_of(std::move(m));
  ASSERT_EQ(rows.size(), 198);
  AllPairsOptions o;
  o.per_row = true;
  o.block_rows = 32;
  const AllPairsResult r = all_pairs(rows, o);
  check_against_references(rows, r, true, 32);
  EXPECT_EQ(r.max_pair, std::make_pair(std::int64_t{3}, std::int64_t{40}));  // ties: lexicographically first
  EXPECT_EQ(r.min_pair, std::make_pair(std::int64_t{10}, std::int64_t{120}));
  EXPECT_NEAR(r.max, 1.0, 1e-6);
  EXPECT_NEAR(r.min, -1.0, 1e-6);
}

// Orthogonal one-hot rows: every cosine is exactly 0 (non-negative, and uncertain).
TEST(AllPairs, OrthogonalRowsAreNonNegativeAndUncertain) {
  Matrix m = Matrix::zeros(40, 40);
  for (std::int64_t i = 0; i < 40; ++i) m.row(i)[i] = 1.0f + static_cast<float>(i);
  RowSet rows = rows_of(std::move(m));
  AllPairsOptions o;
  o.block_rows = 16;
  const AllPairsResult r = all_pairs(rows, o);
  EXPECT_EQ(r.negative, 0u);
  EXPECT_EQ(r.uncertain, r.pairs);
  EXPECT_EQ(r.min, 0.0f);
  EXPECT_EQ(r.max, 0.0f);
  EXPECT_EQ(r.min_pair, std::make_pair(std::int64_t{0}, std::int64_t{1}));
  EXPECT_EQ(r.max_pair, std::make_pair(std::int64_t{0}, std::int64_t{1}));
  EXPECT_EQ(r.median, 0.0);
  EXPECT_EQ(r.std, 0.0);
}

// Identical results, bit for bit, for any thread count and reduction kernel at a given block
// size (the same BLAS calls); across block sizes (other BLAS shapes) equal counts and extremes,
// float statistics within the float error bound.
TEST(AllPairs, InvariantToThreadsBlockSizeAndKernel) {
  RowSet rows = rows_of(random_matrix(333, 40, 31, 0.2f));
  AllPairsOptions base;
  base.per_row = true;
  base.n_threads = 1;
  base.block_rows = 512;
  const AllPairsResult first = all_pairs(rows, base);
  for (std::int64_t block : {1, 7, 64, 100, 333, 2048}) {
    AllPairsOptions o = base;
    o.block_rows = block;
    const AllPairsResult ref = all_pairs(rows, o);
    check_against_references(rows, ref, true, block);
    for (int threads : {1, 3})
      for (PairKernel kernel : {PairKernel::Scalar, PairKernel::Avx2, PairKernel::Avx512}) {
        o.n_threads = threads;
        o.kernel = kernel;
        expect_identical(ref, all_pairs(rows, o),
                         "threads " + std::to_string(threads) + " block " + std::to_string(block) + " kernel " +
                             pair_kernel_name(resolve_pair_kernel(kernel)));
      }
    const double bound = float_cosine_error(rows.dim());
    EXPECT_EQ(ref.negative, first.negative);
    EXPECT_EQ(ref.uncertain, first.uncertain);
    EXPECT_EQ(ref.row_negative, first.row_negative);
    EXPECT_EQ(ref.min, first.min);
    EXPECT_EQ(ref.max, first.max);
    EXPECT_EQ(ref.min_pair, first.min_pair);
    EXPECT_EQ(ref.max_pair, first.max_pair);
    EXPECT_NEAR(ref.median, first.median, bound);
    EXPECT_NEAR(ref.mean, first.mean, bound);
    EXPECT_NEAR(ref.std, first.std, bound);
    for (std::size_t q = 0; q < ref.quantiles.size(); ++q) EXPECT_NEAR(ref.quantiles[q], first.quantiles[q], bound);
  }
}

// The default thread count follows OpenMP (omp_set_num_threads), with the same results.
TEST(AllPairs, OmpThreadCountDoesNotChangeResults) {
  RowSet rows = rows_of(random_matrix(700, 24, 13, 0.2f));
  AllPairsOptions o;
  o.per_row = true;
  o.block_rows = 128;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const AllPairsResult one = all_pairs(rows, o);
  omp_set_num_threads(2);
  const AllPairsResult two = all_pairs(rows, o);
  omp_set_num_threads(saved);
  expect_identical(one, two, "omp_set_num_threads 1 vs 2");
}

// The reducer alone, on fixed cosines: any tiling, any tile order, any split over reducers
// gives the same tallies bit for bit.
TEST(PairStats, InvariantToTilingAndOrder) {
  RowSet rows = rows_of(random_matrix(157, 16, 61, 0.3f));
  const std::int64_t n = rows.size();
  const std::vector<float> c = tiled_cosines(rows, n);
  PairStatsConfig config;
  config.per_row = true;
  config.n_rows = n;
  config.max_row_len = n;
  config.shift = 0.1f;
  config.ranges.push_back(
      HeldRange{float_order_key(0.0f), float_order_key(0.2f), config.grid(0.0f), config.grid(0.2f), 0});
  config.ranges.push_back(
      HeldRange{float_order_key(0.3f), float_order_key(0.5f), config.grid(0.3f), config.grid(0.5f), 64});
  std::vector<std::uint8_t> flags(static_cast<std::size_t>(config.grid.n_bins()), 0);
  for (std::size_t r = 0; r < config.ranges.size(); ++r)
    for (int b = config.ranges[r].bin_lo; b <= config.ranges[r].bin_hi; ++b)
      flags[static_cast<std::size_t>(b)] |= 1u << r;

  auto run = [&](std::int64_t block, bool reverse, int n_reducers, PairKernel kernel) {
    PairStatsConfig cfg = config;
    cfg.kernel = kernel;
    HoldBudget budget(1 << 20);
    std::vector<std::unique_ptr<PairStats>> parts;
    for (int k = 0; k < n_reducers; ++k) parts.push_back(std::make_unique<PairStats>(cfg, flags, budget));
    std::vector<PairTile> tiles;
    for (std::int64_t I = 0; I < n; I += block)
      for (std::int64_t J = I; J < n; J += block) {
        PairTile t;
        t.row_begin = I;
        t.row_end = std::min(n, I + block);
        t.col_begin = J;
        t.col_end = std::min(n, J + block);
        t.cos = c.data() + I * n + J;
        t.ld = n;
        tiles.push_back(t);
      }
    if (reverse) std::reverse(tiles.begin(), tiles.end());
    for (std::size_t k = 0; k < tiles.size(); ++k) parts[k % parts.size()]->consume(tiles[k]);
    // Merge in reducer order, as all_pairs does.
    PairStats& out = *parts[0];
    out.finish();
    std::vector<std::uint32_t> held;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      PairStats& p = *parts[k];
      if (k) {
        p.finish();
        out.pairs += p.pairs;
        out.negative += p.negative;
        out.uncertain += p.uncertain;
        out.sum_fixed += p.sum_fixed;
        out.sq_fixed += p.sq_fixed;
        auto take = [](PairStats::Extreme& a, const PairStats::Extreme& b, bool is_min) {
          const bool better = is_min ? b.value < a.value : b.value > a.value;
          if (better || (b.value == a.value && std::make_pair(b.i, b.j) < std::make_pair(a.i, a.j))) a = b;
        };
        take(out.min, p.min, true);
        take(out.max, p.max, false);
        for (std::size_t b = 0; b < out.histogram.size(); ++b) out.histogram[b] += p.histogram[b];
        for (std::size_t i = 0; i < out.row_negative.size(); ++i) {
          out.row_negative[i] += p.row_negative[i];
          out.row_sum_fixed[i] += p.row_sum_fixed[i];
        }
        for (std::size_t r = 0; r < 2; ++r) {
          out.edge_below[r] += p.edge_below[r];
          for (std::size_t s = 0; s < out.sub_histogram[r].size(); ++s)
            out.sub_histogram[r][s] += p.sub_histogram[r][s];
        }
      }
      for (const auto& chunk : p.held[0]) held.insert(held.end(), chunk.begin(), chunk.end());
    }
    std::sort(held.begin(), held.end());
    return std::make_tuple(out.pairs, out.negative, out.uncertain, out.sum_fixed, out.sq_fixed, out.min.value,
                           out.min.i, out.min.j, out.max.value, out.max.i, out.max.j, out.histogram, out.row_negative,
                           out.row_sum_fixed, out.edge_below, out.sub_histogram, held);
  };
  const auto ref = run(n, false, 1, PairKernel::Scalar);
  EXPECT_EQ(std::get<0>(ref), static_cast<std::uint64_t>(n * (n - 1) / 2));
  EXPECT_FALSE(std::get<16>(ref).empty());
  for (std::int64_t block : {1, 5, 16, 64, 100})
    for (bool reverse : {false, true})
      for (int reducers : {1, 3})
        for (PairKernel kernel : {PairKernel::Scalar, PairKernel::Avx2, PairKernel::Avx512})
          EXPECT_TRUE(run(block, reverse, reducers, kernel) == ref)
              << "block " << block << " reverse " << reverse << " reducers " << reducers << " kernel "
              << pair_kernel_name(resolve_pair_kernel(kernel));
}

// The three ways to the exact quantiles agree: hold everything, pilot windows, refinement
// passes (whole bins, and sub-bins when the cap is tiny).
TEST(AllPairs, QuantileStrategiesAgree) {
  RowSet rows = rows_of(random_matrix(2000, 24, 47, 0.5f));
  AllPairsOptions o;
  o.histogram_bins = 256;
  const AllPairsResult all = all_pairs(rows, o);  // N ~ 2M <= 2^22: everything held
  EXPECT_EQ(all.passes, 1);
  EXPECT_EQ(all.pilot_pairs, 0u);

  AllPairsOptions pilot = o;
  pilot.max_held_values = 200'000;
  const AllPairsResult p = all_pairs(rows, pilot);
  expect_identical(all, p, "pilot");
  EXPECT_GT(p.pilot_pairs, 0u);
  EXPECT_EQ(p.passes, 1);
  EXPECT_LE(p.held_values, 200'000u + 2 * 8 * static_cast<std::uint64_t>(kHoldChunkValues));

  AllPairsOptions refine = pilot;
  refine.pilot = false;
  const AllPairsResult q = all_pairs(rows, refine);
  expect_identical(all, q, "refinement");
  EXPECT_EQ(q.passes, 2);

  AllPairsOptions tiny = refine;
  tiny.max_held_values = 3;
  const AllPairsResult t = all_pairs(rows, tiny);
  expect_identical(all, t, "sub-bins");
  EXPECT_GE(t.passes, 2);

  const FloatReference f = float_reference(rows, kAllPairsBlockRows);
  for (std::size_t l = 0; l < kAllLevels.size(); ++l)
    EXPECT_EQ(quantile_of(all, l), static_cast<double>(f.sorted[rank_of(all.pairs, kAllLevels[l])] + 0.0f));
}

// Every row the same vector: one value repeated (the float-key search ends on a single key).
TEST(AllPairs, AllRowsIdentical) {
  Matrix m(120, 16);
  for (std::int64_t i = 0; i < 120; ++i)
    for (std::int64_t k = 0; k < 16; ++k) m.row(i)[k] = static_cast<float>(k % 5) - 1.5f;
  RowSet rows = rows_of(std::move(m));
  AllPairsOptions o;
  o.block_rows = 50;
  const AllPairsResult r = all_pairs(rows, o);
  check_against_references(rows, r, false, 50);
  AllPairsOptions tiny = o;
  tiny.max_held_values = 0;
  tiny.pilot = false;
  const AllPairsResult t = all_pairs(rows, tiny);
  expect_identical(r, t, "no values held");
  EXPECT_EQ(r.max_pair, std::make_pair(std::int64_t{0}, std::int64_t{1}));
}

TEST(AllPairs, SanityIdentityOnLargerMatrix) {
  RowSet rows = rows_of(random_matrix(3000, 64, 3, 0.3f));
  AllPairsOptions o;
  o.quantiles = false;
  const AllPairsResult r = all_pairs(rows, o);
  EXPECT_NEAR(r.mean, r.mean_identity, 1e-6);
  EXPECT_TRUE(std::isnan(r.median));
  EXPECT_EQ(r.non_negative + r.negative, r.pairs);
}

TEST(AllPairs, ProgressFromCallingThreadAndMonotone) {
  RowSet rows = rows_of(random_matrix(700, 16, 9));
  AllPairsOptions o;
  o.block_rows = 64;
  o.n_threads = 2;
  const auto caller = std::this_thread::get_id();
  std::vector<double> seen;
  bool other_thread = false;
  o.progress = [&](double f) {
    if (std::this_thread::get_id() != caller) other_thread = true;
    seen.push_back(f);
  };
  all_pairs(rows, o);
  EXPECT_FALSE(other_thread);
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_LE(seen.back(), 1.0);
}

TEST(AllPairs, HistogramBinsOption) {
  RowSet rows = rows_of(random_matrix(150, 12, 77));
  AllPairsOptions o;
  o.histogram_bins = 10;
  const AllPairsResult r = all_pairs(rows, o);
  ASSERT_EQ(r.histogram.size(), 10u);
  std::uint64_t total = 0;
  for (auto c : r.histogram) total += c;
  EXPECT_EQ(total, r.pairs);
  const FloatReference f = float_reference(rows, kAllPairsBlockRows);
  std::vector<std::uint64_t> expect(10, 0);
  const CosineBins bins(10);
  for (float v : f.values) ++expect[static_cast<std::size_t>(bins(v))];
  EXPECT_EQ(r.histogram, expect);
  o.histogram_bins = 0;
  EXPECT_THROW(all_pairs(rows, o), Error);
}

TEST(PairStats, FloatOrderKeyIsMonotone) {
  const float vals[] = {-INFINITY, -1.5f, -1.0f, -1e-30f, -0.0f, 0.0f, 1e-30f, 0.25f, 1.0f, INFINITY};
  for (std::size_t i = 0; i + 1 < std::size(vals); ++i) {
    EXPECT_LT(float_order_key(vals[i]), float_order_key(vals[i + 1]));
    EXPECT_EQ(std::memcmp(&vals[i], &(const float&)float_from_order_key(float_order_key(vals[i])), 4), 0);
  }
  EXPECT_EQ(float_order_key(-INFINITY), kKeyMinusInf);
  EXPECT_EQ(float_order_key(INFINITY), kKeyPlusInf);
}

TEST(PairStats, BinKeyRangesPartitionTheFloats) {
  const CosineBins bins(1000);
  EXPECT_EQ(bins.first_key(0), kKeyMinusInf);
  EXPECT_EQ(bins.last_key(999), kKeyPlusInf);
  for (int b : {0, 1, 499, 500, 998}) {
    EXPECT_EQ(bins.last_key(b) + 1, bins.first_key(b + 1));
    EXPECT_EQ(bins(float_from_order_key(bins.last_key(b))), b);
    EXPECT_EQ(bins(float_from_order_key(bins.first_key(b + 1))), b + 1);
  }
  EXPECT_EQ(bins(1.0f), 999);
  EXPECT_EQ(bins(-1.0f), 0);
  EXPECT_EQ(bins(1.0000001f), 999);
  EXPECT_EQ(bins(-1.0000001f), 0);
  EXPECT_EQ(bins(NAN), 0);
}

TEST(PairStats, RadixSelectMatchesSort) {
  std::mt19937 rng(5);
  std::vector<std::uint32_t> a(1000), b(517);
  for (auto& x : a) x = rng() % 5000;
  for (auto& x : b) x = rng();
  std::vector<std::uint32_t> all = a;
  all.insert(all.end(), b.begin(), b.end());
  std::sort(all.begin(), all.end());
  for (std::uint64_t k : {0ull, 1ull, 500ull, 999ull, 1000ull, 1516ull})
    EXPECT_EQ(select_held_key({&a, &b}, k), all[k]) << k;
}

// stories260K: a real trained embedding (512 x 64) where ~239 rows sit on almost the same
// vector, so the top of the distribution is a pile of near-1 ties.
TEST(AllPairs, RealStories260K) {
  const std::filesystem::path file = std::filesystem::path(EMBSTAT_SHARED_DATA) / "stories260K" / "stories260K.bin";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "real data absent: " << file;
  std::ifstream in(file, std::ios::binary);
  in.seekg(28);  // legacy llama2.c header: 7 int32; the token embedding [512 x 64] f32 follows
  Matrix m(512, 64);
  in.read(reinterpret_cast<char*>(m.data()), 512 * 64 * 4);
  ASSERT_TRUE(in.good());
  RowSet rows = rows_of(std::move(m));
  AllPairsOptions o;
  o.per_row = true;
  o.block_rows = 100;
  const AllPairsResult r = all_pairs(rows, o);
  check_against_references(rows, r, true, 100);
  AllPairsOptions tiny = o;
  tiny.pilot = false;
  tiny.max_held_values = 10;
  tiny.n_threads = 2;
  expect_identical(r, all_pairs(rows, tiny), "refined");
}

}  // namespace
}  // namespace embstat
