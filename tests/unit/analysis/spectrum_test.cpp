// randomized_spectrum and isoscore_from_moments against matrices whose covariance spectrum is
// known exactly by construction: rows +-a_k v_k (+ a common offset) for an orthonormal basis
// v_k, so the covariance is sum_k (2 a_k^2 / n) v_k v_k^T with no sampling noise. Nothing of
// the code under test is used to build the references.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include <lapacke.h>

#include "embstat/analysis/geometry.hpp"
#include "embstat/analysis/spectrum.hpp"
#include "embstat/base/dtype.hpp"
#include "embstat/base/error.hpp"

#include "bf16_matrix.hpp"

namespace embstat {
namespace {

struct KnownSpectrum {
  RowSet rows;
  std::vector<double> mu;
  std::vector<double> eigenvalues;  // descending
  std::vector<std::vector<double>> vectors;
};

// Orthonormal basis of R^d from a Gaussian matrix by modified Gram-Schmidt, twice.
std::vector<std::vector<double>> random_basis(std::int64_t d, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal;
  std::vector<std::vector<double>> v(static_cast<std::size_t>(d), std::vector<double>(static_cast<std::size_t>(d)));
  for (auto& r : v)
    for (auto& x : r) x = normal(engine);
  for (std::size_t a = 0; a < v.size(); ++a)
    for (int twice = 0; twice < 2; ++twice) {
      for (std::size_t b = 0; b < a; ++b) {
        const double c = std::inner_product(v[a].begin(), v[a].end(), v[b].begin(), 0.0);
        for (std::size_t k = 0; k < v[a].size(); ++k) v[a][k] -= c * v[b][k];
      }
      const double nrm = std::sqrt(std::inner_product(v[a].begin(), v[a].end(), v[a].begin(), 0.0));
      for (auto& x : v[a]) x /= nrm;
    }
  return v;
}

// Rows offset + a_k v_k and offset - a_k v_k for every k: n = 2d rows, mean = offset exactly,
// covariance eigenvalues 2 a_k^2 / n = a_k^2 / d. (The f32 rounding of the rows perturbs them by
// ~1e-7 relative, far below the tolerances used.)
KnownSpectrum known_spectrum(const std::vector<double>& a, double offset, std::uint64_t seed) {
  const auto d = static_cast<std::int64_t>(a.size());
  KnownSpectrum k;
  k.vectors = random_basis(d, seed);
  Matrix m(2 * d, d);
  for (std::int64_t j = 0; j < d; ++j)
    for (int sign = 0; sign < 2; ++sign) {
      float* r = m.row(2 * j + sign);
      for (std::int64_t c = 0; c < d; ++c)
        r[c] = static_cast<float>(offset + (sign ? -1.0 : 1.0) * a[static_cast<std::size_t>(j)] *
                                               k.vectors[static_cast<std::size_t>(j)][static_cast<std::size_t>(c)]);
    }
  k.rows = make_row_set(std::move(m), RowFilter{});
  // The mean the kernel is given: of the f32 rows, in double (as analyze_geometry computes it).
  k.mu.assign(static_cast<std::size_t>(d), 0.0);
  for (std::int64_t i = 0; i < k.rows.size(); ++i)
    for (std::int64_t c = 0; c < d; ++c)
      k.mu[static_cast<std::size_t>(c)] +=
          static_cast<double>(k.rows.norms[static_cast<std::size_t>(i)]) * k.rows.unit.row(i)[c];
  for (auto& x : k.mu) x /= static_cast<double>(k.rows.size());
  std::vector<std::size_t> order(a.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return a[x] > a[y]; });
  std::vector<std::vector<double>> sorted;
  for (const auto o : order) {
    k.eigenvalues.push_back(a[o] * a[o] / static_cast<double>(d));
    sorted.push_back(k.vectors[o]);
  }
  k.vectors = sorted;
  return k;
}

double frobenius_sq(const std::vector<double>& eigenvalues) {
  double s = 0;
  for (const double l : eigenvalues) s += l * l;
  return s;
}

// randomized_spectrum with OpenMP held at one thread (results must not depend on the count).
RandomizedSpectrum on_one_thread(const RowSet& rows, const std::vector<double>& mu, const SpectrumOptions& o) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  RandomizedSpectrum s = randomized_spectrum(rows, mu, o);
  omp_set_num_threads(threads);
  return s;
}

// The row projections the spectrum returned against (x_i - mu) . v_j in double, from the rows
// and the returned Ritz vectors: to 1e-5 of |x_i - mu| (the vectors have unit length).
void expect_projections_match(const RowSet& rows, const std::vector<double>& mu, const RandomizedSpectrum& s,
                              std::int64_t count) {
  const std::int64_t n = rows.size(), d = rows.dim();
  ASSERT_EQ(s.projections.size(), static_cast<std::size_t>(n * count));
  for (std::int64_t i = 0; i < n; ++i) {
    std::vector<double> x(static_cast<std::size_t>(d));
    double len = 0;
    for (std::int64_t c = 0; c < d; ++c) {
      x[static_cast<std::size_t>(c)] =
          static_cast<double>(rows.norms[static_cast<std::size_t>(i)]) * rows.unit.row(i)[c] -
          mu[static_cast<std::size_t>(c)];
      len += x[static_cast<std::size_t>(c)] * x[static_cast<std::size_t>(c)];
    }
    for (std::int64_t j = 0; j < count; ++j) {
      double p = 0;
      for (std::int64_t c = 0; c < d; ++c)
        p += x[static_cast<std::size_t>(c)] * s.vectors[static_cast<std::size_t>(j * d + c)];
      ASSERT_NEAR(s.projections[static_cast<std::size_t>(i * count + j)], p, 1e-5 * std::sqrt(len)) << i << ' ' << j;
    }
  }
}

// A spiked spectrum: 6 well-separated large eigenvalues over a decaying bulk. d >= 39.
std::vector<double> spiked(std::int64_t d) {
  std::vector<double> a(static_cast<std::size_t>(d));
  for (std::int64_t k = 0; k < d; ++k) a[static_cast<std::size_t>(k)] = 1.0 + 0.5 * std::exp(-0.02 * k);
  const double spikes[] = {40, 25, 16, 10, 7, 5};
  for (std::size_t k = 0; k < 6; ++k) a[k * 7 + 3] = spikes[k];  // scattered, not in order
  return a;
}

TEST(RandomizedSpectrum, ExactWhenTheBasisSpansEveryDimension) {
  // d = 48, block 8 + 16 = 24: the second pass completes R^d, so Rayleigh-Ritz is exact.
  const KnownSpectrum k = known_spectrum(spiked(48), 0.7, 11);
  SpectrumOptions o;
  o.wanted = 8;
  o.passes = 4;
  const RandomizedSpectrum s = randomized_spectrum(k.rows, k.mu, o);
  EXPECT_EQ(s.basis, 48);
  EXPECT_EQ(s.passes, 2);  // stopped: nothing left to add
  EXPECT_EQ(s.probes, 0);
  ASSERT_EQ(s.values.size(), 48u);
  for (std::size_t j = 0; j < 48; ++j) EXPECT_NEAR(s.values[j], k.eigenvalues[j], 1e-5 * k.eigenvalues[0]) << j;
  EXPECT_NEAR(s.frobenius_sq, frobenius_sq(k.eigenvalues), 1e-5 * frobenius_sq(k.eigenvalues));
  EXPECT_EQ(s.frobenius_sq_se, 0.0);
  double trace = 0;
  for (const double l : k.eigenvalues) trace += l;
  EXPECT_NEAR(s.trace, trace, 1e-6 * trace);
}

TEST(RandomizedSpectrum, TopEigenpairsOfASpikedSpectrumConverge) {
  const std::int64_t d = 200;
  const KnownSpectrum k = known_spectrum(spiked(d), 2.0, 5);  // a large offset: centring must be exact
  SpectrumOptions o;
  o.wanted = 6;
  o.oversample = 10;
  o.passes = 4;
  o.seed = 3;
  const RandomizedSpectrum s = randomized_spectrum(k.rows, k.mu, o);
  EXPECT_EQ(s.block, 16);
  EXPECT_EQ(s.basis, 64);
  EXPECT_EQ(s.passes, 4);
  EXPECT_EQ(s.probes, 32);
  ASSERT_EQ(s.vectors.size(), static_cast<std::size_t>(6 * d));
  for (std::size_t j = 0; j < 6; ++j) {
    EXPECT_NEAR(s.values[j], k.eigenvalues[j], 1e-4 * k.eigenvalues[j]) << j;
    EXPECT_LE(s.values[j], k.eigenvalues[j] * (1 + 1e-6)) << "Ritz values are lower bounds";
    double c = 0;  // |cos| between the Ritz vector and the true eigenvector
    for (std::int64_t x = 0; x < d; ++x)
      c += s.vectors[j * static_cast<std::size_t>(d) + static_cast<std::size_t>(x)] *
           k.vectors[j][static_cast<std::size_t>(x)];
    EXPECT_GT(std::abs(c), 1 - 1e-4) << j;
    EXPECT_LT(s.residuals[j], 1e-2 * k.eigenvalues[0]) << j;
  }
  EXPECT_TRUE(s.projections.empty());  // not asked for
  // The row projections of the top vectors come from the stored products; asking for them
  // changes nothing else.
  o.row_projections = 4;
  const RandomizedSpectrum p = randomized_spectrum(k.rows, k.mu, o);
  EXPECT_EQ(p.values, s.values);
  EXPECT_EQ(p.vectors, s.vectors);
  EXPECT_EQ(p.frobenius_sq, s.frobenius_sq);
  expect_projections_match(k.rows, k.mu, p, 4);
  o.row_projections = 100;  // at most `wanted`
  expect_projections_match(k.rows, k.mu, randomized_spectrum(k.rows, k.mu, o), 6);
}

TEST(RandomizedSpectrum, FrobeniusEstimateIsUnbiasedWithAnHonestStandardError) {
  // A flat bulk is the hard case for the tail estimate. Over 40 seeds: the errors in units of
  // the reported standard error have a root mean square near 1 (the error bar is honest, neither
  // too small nor padded), no single one is wild, and their mean is within 4 standard errors of
  // the truth (no bias).
  const std::int64_t d = 160;
  std::vector<double> a(static_cast<std::size_t>(d), 1.0);
  a[0] = 6;
  a[1] = 4;
  const KnownSpectrum k = known_spectrum(a, 0.3, 8);
  const double truth = frobenius_sq(k.eigenvalues);
  double sum = 0, se_sum = 0, z_sq = 0;
  const int seeds = 40;
  for (int seed = 0; seed < seeds; ++seed) {
    SpectrumOptions o;
    o.wanted = 2;
    o.oversample = 6;
    o.passes = 2;
    o.seed = static_cast<std::uint64_t>(seed);
    const RandomizedSpectrum s = randomized_spectrum(k.rows, k.mu, o);
    ASSERT_GT(s.frobenius_sq_se, 0.0);
    const double z = (s.frobenius_sq - truth) / s.frobenius_sq_se;
    EXPECT_LT(std::abs(z), 6.0) << "seed " << seed;
    z_sq += z * z;
    EXPECT_LT(s.captured_frobenius_sq, truth);
    sum += s.frobenius_sq;
    se_sum += s.frobenius_sq_se;
  }
  const double mean = sum / seeds, se_of_mean = se_sum / seeds / std::sqrt(static_cast<double>(seeds));
  EXPECT_LT(std::abs(mean - truth), 4 * se_of_mean);
  const double z_rms = std::sqrt(z_sq / seeds);
  EXPECT_GT(z_rms, 0.6);
  EXPECT_LT(z_rms, 1.6);
}

TEST(RandomizedSpectrum, SameSeedSameResultAndThreadCountDoesNotMatter) {
  const KnownSpectrum k = known_spectrum(spiked(120), 1.0, 2);
  SpectrumOptions o;
  o.wanted = 4;
  o.seed = 9;
  o.row_projections = 4;
  const RandomizedSpectrum a = randomized_spectrum(k.rows, k.mu, o);
  const RandomizedSpectrum b = on_one_thread(k.rows, k.mu, o);
  EXPECT_EQ(a.values, b.values);
  EXPECT_EQ(a.vectors, b.vectors);
  EXPECT_EQ(a.frobenius_sq, b.frobenius_sq);
  EXPECT_EQ(a.projections, b.projections);
  o.seed = 10;
  const RandomizedSpectrum c = randomized_spectrum(k.rows, k.mu, o);
  EXPECT_NE(a.frobenius_sq, c.frobenius_sq);
}

// A rank-one covariance exhausts the Krylov space after one product: later blocks are rounding
// noise made orthonormal, whose products with C are ~0. The top pair must still be exact and the
// rest ~0, with nothing non-finite.
TEST(RandomizedSpectrum, RankDeficientCovarianceAndTinyShapes) {
  const std::int64_t d = 150;
  std::vector<double> a(static_cast<std::size_t>(d), 0.0);
  a[7] = 5.0;
  const KnownSpectrum k = known_spectrum(a, 0.5, 4);
  SpectrumOptions o;
  o.wanted = 3;
  const RandomizedSpectrum s = randomized_spectrum(k.rows, k.mu, o);
  EXPECT_NEAR(s.values[0], k.eigenvalues[0], 1e-5 * k.eigenvalues[0]);
  for (std::size_t j = 1; j < s.values.size(); ++j) EXPECT_LT(std::abs(s.values[j]), 1e-5 * k.eigenvalues[0]) << j;
  EXPECT_NEAR(s.frobenius_sq, k.eigenvalues[0] * k.eigenvalues[0], 1e-4 * k.eigenvalues[0] * k.eigenvalues[0]);
  for (const double r : s.residuals) EXPECT_TRUE(std::isfinite(r));
  // Two rows in two dimensions: the block is the whole space at once.
  Matrix m(2, 2);
  m.row(0)[0] = 1, m.row(0)[1] = 2, m.row(1)[0] = 3, m.row(1)[1] = -1;
  const RowSet two = make_row_set(std::move(m), RowFilter{});
  const RandomizedSpectrum t = randomized_spectrum(two, {2.0, 0.5}, o);
  EXPECT_EQ(t.basis, 2);
  EXPECT_EQ(t.probes, 0);
  // Centred rows (-1, 1.5) and (1, -1.5): C = [[1, -1.5], [-1.5, 2.25]], eigenvalues 3.25 and 0.
  EXPECT_NEAR(t.values[0], 3.25, 1e-5);
  EXPECT_NEAR(t.values[1], 0.0, 1e-5);
  EXPECT_NEAR(t.trace, 3.25, 1e-5);
}

TEST(RandomizedSpectrum, RejectsBadOptions) {
  const KnownSpectrum k = known_spectrum(spiked(48), 0.0, 1);
  SpectrumOptions o;
  o.wanted = 0;
  EXPECT_THROW(randomized_spectrum(k.rows, k.mu, o), Error);
  o.wanted = 2;
  o.passes = 0;
  EXPECT_THROW(randomized_spectrum(k.rows, k.mu, o), Error);
  o.passes = 2;
  EXPECT_THROW(randomized_spectrum(k.rows, std::vector<double>(3, 0.0), o), Error);
}

TEST(IsoScoreFromMoments, EqualsIsoScoreOfTheEigenvalues) {
  for (const auto& lambda : std::vector<std::vector<double>>{
           {1, 1, 1, 1}, {1, 0, 0, 0}, {3, 2, 1, 0.5, 0.1}, {5, 5, 0, 0, 0, 0}, {2, 1e-9, 7, 7, 3}}) {
    double trace = 0, f = 0;
    for (const double l : lambda) trace += l, f += l * l;
    EXPECT_NEAR(isoscore_from_moments(static_cast<std::int64_t>(lambda.size()), trace, std::sqrt(f)), isoscore(lambda),
                1e-12);
  }
  // It is the participation ratio PR = trace^2 / |C|_F^2, rescaled: (PR - 1) / (d - 1).
  EXPECT_NEAR(isoscore_from_moments(10, 6.0, std::sqrt(14.0)), (36.0 / 14.0 - 1) / 9, 1e-12);
  EXPECT_EQ(isoscore_from_moments(4, 0, 0), 0.0);
  EXPECT_THROW(isoscore_from_moments(1, 1, 1), Error);
}

// ---- The bf16 path: products from the stored bf16 rows (SpectrumOptions::bf16_rows) ----------

// A known spectrum's rows rounded to bf16 and stored encoded, as a bf16 checkpoint's tensor,
// with a zero row inserted at id 5 and a padding row at the end (both outside the set, so the
// kernel's tasks meet rows it must skip); the RowSet holds the same values. The reference is the
// spectrum of exactly those values: their covariance in double, by LAPACK's dsyevd here.
struct StoredBf16 {
  testing_ref::Bf16Matrix stored;
  RowSet rows;
  std::vector<double> mu;
  std::vector<double> eigenvalues;  // descending, all d
  std::vector<std::vector<double>> vectors;
};

StoredBf16 stored_bf16(const KnownSpectrum& k) {
  const std::int64_t n = k.rows.size(), d = k.rows.dim(), total = n + 2;
  StoredBf16 s;
  s.stored = testing_ref::Bf16Matrix(total, d);
  for (std::int64_t id = 0, i = 0; id < total; ++id) {
    const bool real = id != 5 && id != total - 1;
    for (std::int64_t c = 0; c < d; ++c)
      s.stored.set(id, c,
                   real ? k.rows.norms[static_cast<std::size_t>(i)] * k.rows.unit.row(i)[c] : (id == 5 ? 0.0f : 1.0f));
    i += real;
  }
  RowFilter filter;
  filter.n_tokens = total - 1;
  s.rows = make_row_set(decode_to_f32(s.stored.view()), filter);
  EXPECT_EQ(s.rows.size(), n);
  // The mean as analyze_geometry computes it (from the RowSet), and the exact covariance.
  s.mu.assign(static_cast<std::size_t>(d), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t c = 0; c < d; ++c)
      s.mu[static_cast<std::size_t>(c)] +=
          static_cast<double>(s.rows.norms[static_cast<std::size_t>(i)]) * s.rows.unit.row(i)[c];
  for (auto& x : s.mu) x /= static_cast<double>(n);
  std::vector<double> cov(static_cast<std::size_t>(d * d), 0.0), x(static_cast<std::size_t>(d));
  for (const std::int64_t id : s.rows.ids) {
    for (std::int64_t c = 0; c < d; ++c)
      x[static_cast<std::size_t>(c)] = s.stored.value(id, c) - s.mu[static_cast<std::size_t>(c)];
    for (std::int64_t a = 0; a < d; ++a)
      for (std::int64_t b = 0; b < d; ++b)
        cov[static_cast<std::size_t>(a * d + b)] += x[static_cast<std::size_t>(a)] * x[static_cast<std::size_t>(b)];
  }
  for (auto& v : cov) v /= static_cast<double>(n);
  std::vector<double> w(static_cast<std::size_t>(d));
  const auto ld = static_cast<lapack_int>(d);
  EXPECT_EQ(LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', ld, cov.data(), ld, w.data()), 0);
  for (std::int64_t j = d - 1; j >= 0; --j) {  // ascending from LAPACK: walk from the top
    s.eigenvalues.push_back(w[static_cast<std::size_t>(j)]);
    std::vector<double> v(static_cast<std::size_t>(d));
    for (std::int64_t c = 0; c < d; ++c) v[static_cast<std::size_t>(c)] = cov[static_cast<std::size_t>(c * d + j)];
    s.vectors.push_back(v);
  }
  return s;
}

class RandomizedSpectrumBf16 : public testing_ref::Bf16Test {};

TEST_F(RandomizedSpectrumBf16, TopEigenpairsMatchTheStoredRowsExactSpectrum) {
  // The Ritz values come from the exact centred products; the bf16-rounded second product only
  // grows the Krylov space and enters |C|_F through a small remainder. These rows are the hard
  // case for that rounding: each eigen-direction lives in two rows, so its 2^-9 does not average
  // out (Ritz values taken from the rounded products were off by 1e-3 of the top eigenvalue
  // here, and |C|_F^2 by 2e-3; now 2e-6 and 1e-6).
  const std::int64_t d = 200;
  const KnownSpectrum k = known_spectrum(spiked(d), 2.0, 5);
  const StoredBf16 b = stored_bf16(k);
  SpectrumOptions o;
  o.wanted = 6;
  o.oversample = 10;
  o.seed = 3;
  const MatrixView view = b.stored.view();
  o.bf16_rows = &view;
  const RandomizedSpectrum s = randomized_spectrum(b.rows, b.mu, o);
  EXPECT_TRUE(s.bf16);
  o.bf16_rows = nullptr;
  const RandomizedSpectrum f = randomized_spectrum(b.rows, b.mu, o);
  EXPECT_FALSE(f.bf16);
  const double top = b.eigenvalues[0];
  for (std::size_t j = 0; j < 6; ++j) {
    EXPECT_NEAR(s.values[j], b.eigenvalues[j], 1e-5 * top) << j;
    EXPECT_NEAR(f.values[j], b.eigenvalues[j], 1e-4 * b.eigenvalues[j]) << j;
    double c = 0;
    for (std::int64_t x = 0; x < d; ++x)
      c += s.vectors[j * static_cast<std::size_t>(d) + static_cast<std::size_t>(x)] *
           b.vectors[j][static_cast<std::size_t>(x)];
    EXPECT_GT(std::abs(c), 1 - 1e-4) << j;
    EXPECT_LT(s.residuals[j], 1e-2 * top) << j;
  }
  double truth = 0;
  for (const double l : b.eigenvalues) truth += l * l;
  EXPECT_LT(std::abs(s.frobenius_sq - truth), 3 * s.frobenius_sq_se + 1e-5 * truth);
  EXPECT_NEAR(s.trace, f.trace, 1e-12 * f.trace);

  // Row projections from the stored exact products (rows by model id, the zero and padding rows
  // outside the set) through the Cholesky factor of the rounded basis.
  o.bf16_rows = &view;
  o.row_projections = 6;
  const RandomizedSpectrum p = randomized_spectrum(b.rows, b.mu, o);
  EXPECT_EQ(p.values, s.values);
  expect_projections_match(b.rows, b.mu, p, 6);
}

TEST_F(RandomizedSpectrumBf16, ExactWhenTheBasisSpansEveryDimensionAndThreadCountDoesNotMatter) {
  const KnownSpectrum k = known_spectrum(spiked(48), 0.7, 11);
  const StoredBf16 b = stored_bf16(k);
  SpectrumOptions o;
  o.wanted = 8;
  const MatrixView view = b.stored.view();
  o.bf16_rows = &view;
  o.row_projections = 8;
  const RandomizedSpectrum s = randomized_spectrum(b.rows, b.mu, o);
  EXPECT_TRUE(s.bf16);
  EXPECT_EQ(s.basis, 48);
  expect_projections_match(b.rows, b.mu, s, 8);
  for (std::size_t j = 0; j < 48; ++j) EXPECT_NEAR(s.values[j], b.eigenvalues[j], 1e-5 * b.eigenvalues[0]) << j;
  const RandomizedSpectrum one = on_one_thread(b.rows, b.mu, o);
  EXPECT_EQ(s.values, one.values);
  EXPECT_EQ(s.vectors, one.vectors);
  EXPECT_EQ(s.frobenius_sq, one.frobenius_sq);
  EXPECT_EQ(s.projections, one.projections);
}

TEST_F(RandomizedSpectrumBf16, RowsThatDoNotMatchTheSetAreAnInternalError) {
  const KnownSpectrum k = known_spectrum(spiked(48), 0.7, 11);
  const StoredBf16 b = stored_bf16(k);
  MatrixView wrong = b.stored.view();
  wrong.n_rows -= 1;
  SpectrumOptions o;
  o.bf16_rows = &wrong;
  EXPECT_THROW(randomized_spectrum(b.rows, b.mu, o), Error);
  wrong = b.stored.view();
  wrong.dtype = DType::F16;
  EXPECT_THROW(randomized_spectrum(b.rows, b.mu, o), Error);
}

}  // namespace
}  // namespace embstat
