// analyze_geometry against independent double-precision computations on small matrices with
// known answers: an isotropic Gaussian, a Gaussian plus a constant offset, a planted rogue
// coordinate, a nearly rank-one matrix.
//
// The references work on the raw f32 rows in double: brute-force pair loops for cosines and
// fractions, a naive covariance, and a cyclic Jacobi eigen-solver (no LAPACK), so nothing is
// shared with the code under test but the input. Seeds are fixed and printed on failure.
#include <gtest/gtest.h>
#include <omp.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>
#include <random>
#include <tuple>
#include <vector>

#include "embstat/analysis/geometry.hpp"
#include "embstat/analysis/sampled_bf16.hpp"
#include "embstat/base/error.hpp"

#include "bf16_matrix.hpp"

namespace embstat {
namespace {

using Rows = std::vector<std::vector<double>>;

// N(0, 1) entries plus a per-coordinate offset, rounded to f32 (what the RowSet sees).
Rows gaussian(std::int64_t n, std::int64_t d, std::uint64_t seed, const std::vector<double>& offset = {}) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Rows x(static_cast<std::size_t>(n), std::vector<double>(static_cast<std::size_t>(d)));
  for (auto& r : x)
    for (std::size_t k = 0; k < r.size(); ++k)
      r[k] = static_cast<float>(normal(engine) + (offset.empty() ? 0.0 : offset[k]));
  return x;
}

RowSet row_set(const Rows& x) {
  Matrix m(static_cast<std::int64_t>(x.size()), static_cast<std::int64_t>(x.at(0).size()));
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::size_t k = 0; k < x[i].size(); ++k) m.row(static_cast<std::int64_t>(i))[k] = static_cast<float>(x[i][k]);
  return make_row_set(std::move(m), RowFilter{});
}

double dotd(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.size(); ++k) s += a[k] * b[k];
  return s;
}

double cosd(const std::vector<double>& a, const std::vector<double>& b) {
  return dotd(a, b) / std::sqrt(dotd(a, a) * dotd(b, b));
}

std::vector<double> mean_row(const Rows& x) {
  std::vector<double> mu(x[0].size(), 0.0);
  for (const auto& r : x)
    for (std::size_t k = 0; k < r.size(); ++k) mu[k] += r[k];
  for (auto& v : mu) v /= static_cast<double>(x.size());
  return mu;
}

Rows centred(const Rows& x) {
  const auto mu = mean_row(x);
  Rows y = x;
  for (auto& r : y)
    for (std::size_t k = 0; k < r.size(); ++k) r[k] -= mu[k];
  return y;
}

struct PairRef {
  double mean = 0, fraction_non_negative = 0;
};

// Every pair i < j, in double.
PairRef all_pairs_ref(const Rows& x) {
  PairRef r;
  std::int64_t nn = 0, pairs = 0;
  double sum = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::size_t j = i + 1; j < x.size(); ++j) {
      const double c = cosd(x[i], x[j]);
      sum += c;
      nn += c >= 0;
      ++pairs;
    }
  r.mean = sum / static_cast<double>(pairs);
  r.fraction_non_negative = static_cast<double>(nn) / static_cast<double>(pairs);
  return r;
}

// The study's estimate: per target, the fraction of the other rows with cos >= 0; averaged.
double sampled_ref(const Rows& x, const std::vector<std::int64_t>& targets) {
  double s = 0;
  for (const auto t : targets) {
    std::int64_t nn = 0;
    for (std::size_t j = 0; j < x.size(); ++j)
      if (static_cast<std::int64_t>(j) != t) nn += cosd(x[static_cast<std::size_t>(t)], x[j]) >= 0;
    s += static_cast<double>(nn) / static_cast<double>(x.size() - 1);
  }
  return s / static_cast<double>(targets.size());
}

// Cyclic Jacobi on a symmetric d x d matrix: eigenvalues descending, eigenvectors as rows.
void jacobi(std::vector<std::vector<double>> a, std::vector<double>& values,
            std::vector<std::vector<double>>& vectors) {
  const std::size_t d = a.size();
  std::vector<std::vector<double>> v(d, std::vector<double>(d, 0.0));
  for (std::size_t i = 0; i < d; ++i) v[i][i] = 1;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (std::size_t p = 0; p < d; ++p)
      for (std::size_t q = p + 1; q < d; ++q) off += a[p][q] * a[p][q];
    if (off < 1e-30) break;
    for (std::size_t p = 0; p < d; ++p)
      for (std::size_t q = p + 1; q < d; ++q) {
        if (a[p][q] == 0) continue;
        const double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const double t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t k = 0; k < d; ++k) {  // columns p, q of A
          const double akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (std::size_t k = 0; k < d; ++k) {  // rows p, q
          const double apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (std::size_t k = 0; k < d; ++k) {
          const double vkp = v[k][p], vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
  }
  std::vector<std::size_t> order(d);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return a[i][i] > a[j][j]; });
  values.clear();
  vectors.clear();
  for (const auto i : order) {
    values.push_back(a[i][i]);
    std::vector<double> col(d);
    for (std::size_t k = 0; k < d; ++k) col[k] = v[k][i];
    vectors.push_back(col);
  }
}

std::vector<std::vector<double>> covariance(const Rows& x) {
  const Rows y = centred(x);
  const std::size_t d = x[0].size();
  std::vector<std::vector<double>> c(d, std::vector<double>(d, 0.0));
  for (const auto& r : y)
    for (std::size_t a = 0; a < d; ++a)
      for (std::size_t b = 0; b < d; ++b) c[a][b] += r[a] * r[b];
  for (auto& row : c)
    for (auto& v : row) v /= static_cast<double>(x.size());
  return c;
}

// a / a[0][0]: jacobi stops at an absolute off-diagonal size, so it takes matrices of order 1.
std::vector<std::vector<double>> normalised(std::vector<std::vector<double>> a) {
  const double unit = a[0][0];
  for (auto& row : a)
    for (auto& v : row) v /= unit;
  return a;
}

GeometryOptions fast_options() {
  GeometryOptions o;
  o.samples = 50;
  o.seed = 7;
  return o;
}

TEST(Geometry, IsotropicGaussianIsBalancedAndIsotropic) {
  const std::uint64_t seed = 11;
  SCOPED_TRACE("seed " + std::to_string(seed));
  const Rows x = gaussian(20000, 32, seed);
  const RowSet rows = row_set(x);
  const GeometryReport r = analyze_geometry(rows, Vocabulary{}, fast_options());
  EXPECT_NEAR(r.original.sampled, 0.5, 0.03);
  EXPECT_NEAR(r.centered.sampled, 0.5, 0.03);
  EXPECT_NEAR(r.mean_cosine, 0.0, 1e-3);
  EXPECT_LT(r.mean_norm_ratio, 0.05);
  EXPECT_GT(r.isoscore, 0.95);
  ASSERT_TRUE(r.isotropy_iw.has_value());
  EXPECT_GT(*r.isotropy_iw, 0.85);
  EXPECT_LE(*r.isotropy_iw, 1.0);
  // 32 equal variances: each component explains ~1/32.
  EXPECT_NEAR(r.explained_variance.at(0), 1.0 / 32, 0.01);
  EXPECT_EQ(r.removed, 1);  // max(1, round(32 / 100))
}

TEST(Geometry, OffsetGaussianIsPositiveUntilCentred) {
  const std::uint64_t seed = 12;
  SCOPED_TRACE("seed " + std::to_string(seed));
  const Rows x = gaussian(1500, 24, seed, std::vector<double>(24, 1.5));
  const RowSet rows = row_set(x);
  GeometryOptions o = fast_options();
  const GeometryReport r = analyze_geometry(rows, Vocabulary{}, o);

  // Common direction against double references.
  const auto mu = mean_row(x);
  double mean_norm = 0;
  for (const auto& row : x) mean_norm += std::sqrt(dotd(row, row));
  mean_norm /= static_cast<double>(x.size());
  EXPECT_NEAR(r.mean_norm, mean_norm, 1e-5 * mean_norm);
  EXPECT_NEAR(r.mean_vector_norm, std::sqrt(dotd(mu, mu)), 1e-5);
  EXPECT_NEAR(r.mean_norm_ratio, std::sqrt(dotd(mu, mu)) / mean_norm, 1e-6);
  // E|x|^2 = |mu|^2 + trace(C): the offset's share of the squared norm, and the variance's.
  double mean_sq = 0;
  for (const auto& row : x) mean_sq += dotd(row, row);
  mean_sq /= static_cast<double>(x.size());
  EXPECT_NEAR(r.offset_share, dotd(mu, mu) / mean_sq, 1e-6);
  EXPECT_NEAR(r.total_variance, mean_sq - dotd(mu, mu), 1e-4 * mean_sq);
  const PairRef all = all_pairs_ref(x);
  EXPECT_NEAR(r.mean_cosine, all.mean, 1e-6);
  std::vector<double> cos_mu;
  for (const auto& row : x) cos_mu.push_back(cosd(row, mu));
  std::sort(cos_mu.begin(), cos_mu.end());
  EXPECT_NEAR(r.cos_to_mean.min, cos_mu.front(), 1e-6);
  EXPECT_NEAR(r.cos_to_mean.max, cos_mu.back(), 1e-6);
  EXPECT_NEAR(r.cos_to_mean.median, 0.5 * (cos_mu[749] + cos_mu[750]), 1e-6);  // 1,500 rows
  std::vector<double> unit_sum(mu.size(), 0.0), cos_um, dist;
  for (const auto& row : x)
    for (std::size_t k = 0; k < row.size(); ++k) unit_sum[k] += row[k] / std::sqrt(dotd(row, row));
  for (const auto& row : x) {
    cos_um.push_back(cosd(row, unit_sum));
    double dd = 0;
    for (std::size_t k = 0; k < row.size(); ++k) dd += (row[k] - mu[k]) * (row[k] - mu[k]);
    dist.push_back(std::sqrt(dd));
  }
  std::sort(cos_um.begin(), cos_um.end());
  std::sort(dist.begin(), dist.end());
  EXPECT_NEAR(r.unit_mean_norm, std::sqrt(dotd(unit_sum, unit_sum)) / static_cast<double>(x.size()), 1e-7);
  EXPECT_NEAR(r.cos_to_unit_mean.min, cos_um.front(), 1e-6);
  EXPECT_NEAR(r.cos_to_unit_mean.p75, cos_um[1124] + 0.25 * (cos_um[1125] - cos_um[1124]), 1e-6);  // pos 1124.25
  EXPECT_NEAR(r.centroid_distances.min, dist.front(), 1e-5);
  EXPECT_NEAR(r.centroid_distances.max, dist.back(), 1e-5);
  EXPECT_NEAR(r.norms.mean, mean_norm, 1e-5 * mean_norm);

  // Sampled fractions: the same targets as `sample`, same estimate as the reference.
  ASSERT_EQ(r.targets.size(), 50u);
  EXPECT_NEAR(r.original.sampled, sampled_ref(x, r.targets), 1e-9);
  EXPECT_GT(r.original.sampled, 0.95);
  const Rows xc = centred(x);
  EXPECT_NEAR(r.centered.sampled, sampled_ref(xc, r.targets), 1e-3);
  EXPECT_NEAR(r.centered.sampled, 0.5, 0.03);
  EXPECT_NEAR(r.centered.mean_cosine, all_pairs_ref(xc).mean, 1e-5);
}

TEST(Geometry, ExactFractionsMatchBruteForce) {
  const Rows x = gaussian(400, 16, 13, std::vector<double>(16, 0.7));
  const RowSet rows = row_set(x);
  GeometryOptions o = fast_options();
  o.exact = true;
  const GeometryReport r = analyze_geometry(rows, Vocabulary{}, o);
  ASSERT_TRUE(r.original.exact && r.centered.exact && r.all_but_top.exact && r.all_but_top_raw.exact);
  EXPECT_NEAR(*r.original.exact, all_pairs_ref(x).fraction_non_negative, 1e-9);
  EXPECT_NEAR(*r.centered.exact, all_pairs_ref(centred(x)).fraction_non_negative, 2e-5);
  EXPECT_EQ(*r.original.exact_pairs, 400u * 399u / 2u);
  const auto j = geometry_json(r, Vocabulary{});
  EXPECT_EQ(j["fraction_method"], "exact");
  EXPECT_DOUBLE_EQ(j["fraction_non_negative"].get<double>(), *r.original.exact);
}

TEST(Geometry, RogueCoordinateComesOutOnTopAndSharesSumToTheMean) {
  const std::int64_t d = 20;
  std::vector<double> offset(static_cast<std::size_t>(d), 0.0);
  offset[7] = 6.0;  // one coordinate with a large common value
  const Rows x = gaussian(800, d, 14, offset);
  const RowSet rows = row_set(x);
  GeometryOptions o = fast_options();
  o.rogue = static_cast<int>(d);  // list every coordinate
  const GeometryReport r = analyze_geometry(rows, Vocabulary{}, o);
  ASSERT_EQ(r.rogue_dimensions.size(), static_cast<std::size_t>(d));
  EXPECT_EQ(r.rogue_dimensions[0].dim, 7);
  EXPECT_GT(r.rogue_dimensions[0].share, 0.9);
  double sum = 0;
  for (const auto& c : r.rogue_dimensions) sum += c.contribution;
  EXPECT_NEAR(sum, r.mean_cosine, 1e-12);
  EXPECT_NEAR(r.rogue_share, 1.0, 1e-9);
  // Each C_k against the pair loop: mean over i != j of u_ik u_jk.
  const double n = static_cast<double>(x.size());
  for (const auto& c : r.rogue_dimensions) {
    double s = 0, sq = 0;
    for (const auto& row : x) {
      const double u = row[static_cast<std::size_t>(c.dim)] / std::sqrt(dotd(row, row));
      s += u;
      sq += u * u;
    }
    EXPECT_NEAR(c.contribution, (s * s - sq) / (n * (n - 1)), 1e-7) << "dim " << c.dim;
  }
}

TEST(Geometry, RankOneIsNotIsotropic) {
  std::mt19937_64 engine(15);
  std::normal_distribution<double> normal(0.0, 1.0);
  const std::size_t d = 16;
  std::vector<double> v(d);
  for (auto& e : v) e = normal(engine);
  Rows x(600, std::vector<double>(d));
  for (auto& row : x) {
    const double a = normal(engine);
    for (std::size_t k = 0; k < d; ++k) row[k] = static_cast<float>(a * v[k] + 1e-3 * normal(engine));
  }
  const GeometryReport r = analyze_geometry(row_set(x), Vocabulary{}, fast_options());
  EXPECT_LT(r.isoscore, 0.01);
  EXPECT_GT(r.explained_variance.at(0), 0.999);
  ASSERT_TRUE(r.log_isotropy_iw.has_value());
  EXPECT_LT(*r.log_isotropy_iw, -1.0);
}

TEST(Geometry, SpectrumIsoScoreAndExplainedVarianceMatchJacobi) {
  // Anisotropic: coordinate k scaled by (k + 1) / 4, plus an offset.
  const std::size_t d = 12;
  Rows x = gaussian(700, static_cast<std::int64_t>(d), 16, std::vector<double>(d, 0.3));
  for (auto& row : x)
    for (std::size_t k = 0; k < d; ++k) row[k] = static_cast<float>(row[k] * (k + 1) / 4.0);
  GeometryOptions o = fast_options();
  o.components = static_cast<int>(d);
  const GeometryReport r = analyze_geometry(row_set(x), Vocabulary{}, o);
  std::vector<double> values;
  std::vector<std::vector<double>> vectors;
  jacobi(covariance(x), values, vectors);
  const double total = std::accumulate(values.begin(), values.end(), 0.0);
  EXPECT_NEAR(r.total_variance, total, 1e-5 * total);
  ASSERT_EQ(r.eigenvalues.size(), d);
  for (std::size_t k = 0; k < d; ++k) {
    EXPECT_NEAR(r.eigenvalues[k], values[k], 1e-5 * values[0]) << k;
    EXPECT_NEAR(r.explained_variance[k], values[k] / total, 1e-6) << k;
  }
  EXPECT_NEAR(r.isoscore, isoscore(values), 1e-6);
}

// Large shapes take the randomized spectrum (block Krylov + Hutch++); it must agree with the
// exact covariance where that is cheap. d = 200 > the Krylov basis (4 passes x 26 vectors), so
// the randomized path really is approximate here: a decaying spectrum with an offset and a
// rogue coordinate, like trained embeddings.
TEST(Geometry, RandomizedSpectrumAgreesWithTheExactOne) {
  const std::size_t d = 200;
  Rows x = gaussian(3000, static_cast<std::int64_t>(d), 31, std::vector<double>(d, 0.4));
  for (auto& row : x) {
    for (std::size_t k = 0; k < d; ++k) row[k] = static_cast<float>(row[k] * (0.3 + 3.0 * std::exp(-0.05 * k)));
    row[77] = static_cast<float>(row[77] + 3.0);
  }
  const RowSet rows = row_set(x);
  GeometryOptions o = fast_options();
  o.spectrum = SpectrumMethod::Exact;
  const GeometryReport e = analyze_geometry(rows, Vocabulary{}, o);
  o.spectrum = SpectrumMethod::Randomized;
  const GeometryReport r = analyze_geometry(rows, Vocabulary{}, o);
  EXPECT_EQ(e.spectrum.method, "exact");
  EXPECT_EQ(r.spectrum.method, "randomized");
  EXPECT_EQ(r.spectrum.passes, 4);
  EXPECT_EQ(r.spectrum.block, 26);  // max(K = 10, D = 2) + 16
  EXPECT_EQ(r.spectrum.basis, 104);
  EXPECT_EQ(r.spectrum.probes, 32);
  EXPECT_NEAR(r.total_variance, e.total_variance, 1e-6 * e.total_variance);  // exact in both (f32 ssyrk: 1e-8)
  ASSERT_EQ(r.explained_variance.size(), 10u);
  for (std::size_t k = 0; k < 10; ++k) {
    EXPECT_NEAR(r.eigenvalues[k], e.eigenvalues[k], 2e-3 * e.eigenvalues[k]) << k;
    EXPECT_LE(r.eigenvalues[k], e.eigenvalues[k] * (1 + 1e-5)) << "Ritz values are lower bounds, " << k;
  }
  EXPECT_NEAR(r.removed_variance, e.removed_variance, 1e-4);
  EXPECT_NEAR(r.spectrum.frobenius_norm, e.spectrum.frobenius_norm, 5e-3 * e.spectrum.frobenius_norm);
  EXPECT_GT(r.spectrum.isoscore_se, 0.0);
  EXPECT_LT(std::abs(r.isoscore - e.isoscore), 4 * r.spectrum.isoscore_se + 1e-6);
  EXPECT_LT(r.spectrum.isoscore_se, 0.01);
  // Same removed components up to sign: same all-but-the-top rows, so the same sampled fractions.
  EXPECT_NEAR(r.all_but_top.sampled, e.all_but_top.sampled, 2e-3);
  EXPECT_NEAR(r.all_but_top_raw.sampled, e.all_but_top_raw.sampled, 2e-3);
  EXPECT_NEAR(r.all_but_top.mean_cosine, e.all_but_top.mean_cosine, 1e-4);
  EXPECT_EQ(r.centered.sampled, e.centered.sampled);  // not touched by the spectrum
  // I(W) needs the exact covariance: skipped, with a note saying how to get it.
  EXPECT_TRUE(e.isotropy_iw.has_value());
  EXPECT_EQ(e.spectrum.isotropy_iw, "computed");
  EXPECT_FALSE(r.isotropy_iw.has_value());
  EXPECT_EQ(r.spectrum.isotropy_iw, "skipped");
  EXPECT_TRUE(std::any_of(r.notes.begin(), r.notes.end(),
                          [](const std::string& n) { return n.find("--spectrum exact") != std::string::npos; }));
  const auto j = geometry_json(r, Vocabulary{});
  for (const char* key : {"method", "passes", "block", "basis", "probes", "max_residual", "frobenius_norm",
                          "frobenius_rel_se", "isoscore_se", "isotropy_iw"})
    EXPECT_TRUE(j["spectrum"].contains(key)) << key;
  EXPECT_TRUE(j["isotropy_iw"].is_null());
  // More passes: closer (the Krylov basis grows), never above the exact eigenvalues; "closer"
  // up to the float rounding of the f32 covariance both start from (a few ulps, which the BLAS
  // kernel decides: OPENBLAS_CORETYPE=Sandybridge lands 2.5e-7 off where 3 passes gave 5e-8).
  o.spectrum_passes = 7;
  const GeometryReport r7 = analyze_geometry(rows, Vocabulary{}, o);
  EXPECT_LE(std::abs(r7.eigenvalues[9] - e.eigenvalues[9]),
            std::abs(r.eigenvalues[9] - e.eigenvalues[9]) + 8 * 0x1p-24 * e.eigenvalues[9]);
}

// A bf16 checkpoint: the tensor as stored (`source`) plus the RowSet decoded from it, with a zero
// row and padding rows (a vocabulary shorter than the matrix). The randomized spectrum then reads
// the stored rows with the bf16 kernels and the as-stored fraction is `sample`'s bf16 number;
// everything else is unchanged, and every number agrees with the f32 path.
TEST(Geometry, Bf16SourceUsesTheBf16KernelsAndAgreesWithTheF32Path) {
  if (!bf16_kernel_available()) GTEST_SKIP() << "no AVX512-BF16 on this CPU: the bf16 path is not used here";
  const std::int64_t n = 1203, d = 150, n_tokens = 1200;
  Rows x = gaussian(n, d, 41, std::vector<double>(static_cast<std::size_t>(d), 0.3));
  for (auto& row : x)
    for (std::size_t k = 0; k < row.size(); ++k) row[k] *= 0.2 + 2.0 * std::exp(-0.1 * static_cast<double>(k));
  x[17].assign(static_cast<std::size_t>(d), 0.0);
  testing_ref::Bf16Matrix stored(n, d);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < d; ++k)
      stored.set(i, k, static_cast<float>(x[static_cast<std::size_t>(i)][static_cast<std::size_t>(k)]));
  const MatrixView source = stored.view();
  RowFilter filter;
  filter.n_tokens = n_tokens;
  const RowSet rows = make_row_set(decode_to_f32(source), filter);
  ASSERT_EQ(rows.size(), n_tokens - 1);

  GeometryOptions o = fast_options();
  o.spectrum = SpectrumMethod::Randomized;
  const GeometryReport f = analyze_geometry(rows, Vocabulary{}, o);  // no source: the f32 path
  const GeometryReport b = analyze_geometry(rows, Vocabulary{}, o, source);
  EXPECT_EQ(f.spectrum.kernel, "f32");
  EXPECT_EQ(b.spectrum.kernel, "bf16");
  EXPECT_EQ(geometry_json(b, Vocabulary{})["spectrum"]["kernel"], "bf16");
  ASSERT_EQ(b.eigenvalues.size(), f.eigenvalues.size());
  for (std::size_t k = 0; k < b.eigenvalues.size(); ++k)
    EXPECT_NEAR(b.eigenvalues[k], f.eigenvalues[k], 1e-5 * f.eigenvalues[0]) << k;
  EXPECT_NEAR(b.removed_variance, f.removed_variance, 1e-5);
  EXPECT_EQ(b.total_variance, f.total_variance);
  EXPECT_NEAR(b.spectrum.frobenius_norm, f.spectrum.frobenius_norm, 1e-3 * f.spectrum.frobenius_norm);
  EXPECT_NEAR(b.all_but_top.sampled, f.all_but_top.sampled, 1e-3);
  EXPECT_NEAR(b.all_but_top_raw.sampled, f.all_but_top_raw.sampled, 1e-3);
  EXPECT_EQ(b.centered.sampled, f.centered.sampled);
  EXPECT_NEAR(b.original.sampled, f.original.sampled, 1e-4);
  // The as-stored fraction is exactly what `sample` reports for this bf16 tensor.
  RowFilter bf16_filter;
  bf16_filter.n_tokens = n_tokens;
  const SampleSummary s = sample_cosines(make_bf16_rows(source, bf16_filter), b.targets);
  EXPECT_EQ(b.original.sampled, s.fraction_non_negative);
  // A tensor of another dtype keeps the f32 path.
  MatrixView f16 = source;
  f16.dtype = DType::F16;
  EXPECT_EQ(analyze_geometry(rows, Vocabulary{}, o, f16).spectrum.kernel, "f32");
}

// A bf16 checkpoint analysed from a streamed row set (rows left encoded, decoded where a pass
// reads them) gives the very report of the held set decoded from it: every number, bit for bit,
// on both spectrum paths, with a zero row, padding rows, a duplicate pair and token classes; and
// so does the per-token comparison of two matrices.
TEST(Geometry, StreamedBf16RowsGiveTheHeldRowsReportBitForBit) {
  if (!bf16_kernel_available()) GTEST_SKIP() << "no AVX512-BF16 on this CPU: geometry does not stream rows here";
  const std::int64_t n = 2205, d = 72, n_tokens = 2200;
  Rows x = gaussian(n, d, 43, std::vector<double>(static_cast<std::size_t>(d), 0.25));
  x[9].assign(static_cast<std::size_t>(d), 0.0);
  x[700] = x[300];
  testing_ref::Bf16Matrix stored(n, d, 3), other(n, d);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < d; ++k) {
      const double v = x[static_cast<std::size_t>(i)][static_cast<std::size_t>(k)];
      stored.set(i, k, static_cast<float>(v));
      other.set(i, k, static_cast<float>(v + 0.3 * std::sin(static_cast<double>(i * d + k))));
    }
  Vocabulary vocab;
  vocab.kind = "byte-bpe";
  for (std::int64_t i = 0; i < n_tokens; ++i)
    vocab.push_back(i < 40  ? Token{"<c>", "", TokenType::Control}
                    : i % 3 ? Token{"w", " word", TokenType::Normal}
                            : Token{"d", std::to_string(i), TokenType::Normal});
  RowFilter filter;
  filter.n_tokens = n_tokens;
  const MatrixView source = stored.view();
  const RowSet held = make_row_set(decode_to_f32(source), filter);
  const RowSet streamed = make_streamed_row_set(source, filter);
  ASSERT_TRUE(streamed.streamed);
  EXPECT_TRUE(streamed.unit.empty());
  for (const SpectrumMethod method : {SpectrumMethod::Exact, SpectrumMethod::Randomized}) {
    SCOPED_TRACE(method == SpectrumMethod::Exact ? "exact spectrum" : "randomized spectrum");
    GeometryOptions o = fast_options();
    o.spectrum = method;
    const GeometryReport h = analyze_geometry(held, vocab, o, source);
    const GeometryReport s = analyze_geometry(streamed, vocab, o, source);
    EXPECT_EQ(geometry_json(s, vocab).dump(), geometry_json(h, vocab).dump());
    EXPECT_EQ(s.duplicates.groups, 1);
  }
  const RowSet held_other = make_row_set(decode_to_f32(other.view()), filter);
  const RowSet streamed_other = make_streamed_row_set(other.view(), filter);
  const PairedCosines ph = paired_row_cosines(held, held_other);
  const PairedCosines ps = paired_row_cosines(streamed, streamed_other);
  EXPECT_EQ(distribution_json(ps.cosines).dump(), distribution_json(ph.cosines).dump());
  EXPECT_EQ(ps.lowest, ph.lowest);
  // What needs every unit row in memory refuses a streamed set instead of reading nothing.
  GeometryOptions exact = fast_options();
  exact.exact = true;
  EXPECT_THROW(analyze_geometry(streamed, vocab, exact, source), Error);
}

// Rows +-a_k e_k: covariance eigenvalues a_k^2 / d exactly. With a_3 = a_4 the 3 removed
// components are not determined (any rotation of e_3, e_4 will do): removal_gap 0 and a note;
// with D = 2 the gap is (16 - 9) / 16 and no note.
TEST(Geometry, RemovalGapSaysWhenTheRemovedComponentsAreBarelyDetermined) {
  const std::vector<double> a = {5, 4, 3, 3, 1, 1, 1, 1};
  const auto d = static_cast<std::int64_t>(a.size());
  Rows x;
  for (std::int64_t k = 0; k < d; ++k)
    for (const double sign : {1.0, -1.0}) {
      std::vector<double> r(static_cast<std::size_t>(d), 0.5);  // an offset, so no row is zero
      r[static_cast<std::size_t>(k)] += sign * a[static_cast<std::size_t>(k)];
      x.push_back(r);
    }
  const RowSet rows = row_set(x);
  auto has_note = [](const GeometryReport& r) {
    return std::any_of(r.notes.begin(), r.notes.end(),
                       [](const std::string& n) { return n.find("barely determined") != std::string::npos; });
  };
  GeometryOptions o = fast_options();
  o.remove = 3;
  const GeometryReport flat = analyze_geometry(rows, Vocabulary{}, o);
  ASSERT_TRUE(flat.removal_gap.has_value());
  EXPECT_NEAR(*flat.removal_gap, 0.0, 1e-6);
  EXPECT_TRUE(has_note(flat));
  o.remove = 2;
  const GeometryReport clear = analyze_geometry(rows, Vocabulary{}, o);
  ASSERT_TRUE(clear.removal_gap.has_value());
  EXPECT_NEAR(*clear.removal_gap, 7.0 / 16.0, 1e-6);
  EXPECT_FALSE(has_note(clear));
  EXPECT_NEAR(geometry_json(clear, Vocabulary{})["removal_gap"].get<double>(), 7.0 / 16.0, 1e-6);
}

TEST(Geometry, AutoSpectrumIsExactOnSmallShapesAndWithExact) {
  const RowSet rows = row_set(gaussian(300, 16, 32));
  GeometryOptions o = fast_options();
  EXPECT_EQ(analyze_geometry(rows, Vocabulary{}, o).spectrum.method, "exact");  // n d^2 far below the budget
  o.isotropy_iw = false;
  const GeometryReport off = analyze_geometry(rows, Vocabulary{}, o);
  EXPECT_EQ(off.spectrum.isotropy_iw, "off");
  EXPECT_FALSE(off.isotropy_iw.has_value());
  o.spectrum = SpectrumMethod::Randomized;
  o.spectrum_passes = 0;
  EXPECT_THROW(analyze_geometry(rows, Vocabulary{}, o), Error);
  // Few rows of a wide dimension (hidden states): the d^3 eigen-decompositions would dominate, so
  // auto takes the randomized spectrum; with 12 rows the covariance has rank 11 and the Krylov
  // space runs out, which must stay finite and exact where it is defined.
  EXPECT_GT(exact_spectrum_work(12, 3000, true), kExactSpectrumMaxWork);
  EXPECT_LE(exact_spectrum_work(151936, 1024, true), kExactSpectrumMaxWork);  // Qwen3-0.6B stays exact
  const Rows wide = gaussian(12, 3000, 33, std::vector<double>(3000, 0.2));
  GeometryOptions w = fast_options();
  const GeometryReport r = analyze_geometry(row_set(wide), Vocabulary{}, w);
  EXPECT_EQ(r.spectrum.method, "randomized");
  double total = 0;
  for (const auto& row : centred(wide)) total += dotd(row, row);
  total /= 12;
  EXPECT_NEAR(r.total_variance, total, 1e-6 * total);
  double captured = 0;
  for (const double e : r.explained_variance) {
    EXPECT_TRUE(std::isfinite(e));
    captured += e;
  }
  EXPECT_NEAR(captured, 10.0 / 11.0, 0.02);  // 11 comparable directions, the top 10 reported
  EXPECT_TRUE(std::isfinite(r.isoscore));
}

TEST(Geometry, IsoScoreOfKnownSpectra) {
  EXPECT_NEAR(isoscore(std::vector<double>(8, 2.5)), 1.0, 1e-12);
  std::vector<double> one_hot(8, 0.0);
  one_hot[3] = 4;
  EXPECT_NEAR(isoscore(one_hot), 0.0, 1e-12);
  // k of d dimensions used equally: (k - 1) / (d - 1) (Rudman et al. 2022).
  std::vector<double> four_of_ten(10, 0.0);
  for (int k = 0; k < 4; ++k) four_of_ten[static_cast<std::size_t>(k)] = 1.0;
  EXPECT_NEAR(isoscore(four_of_ten), 3.0 / 9.0, 1e-12);
  EXPECT_THROW(isoscore({1.0}), Error);
}

// log I(W) against the definition: Z(c) = sum_i exp(c . x_i) over the eigenvectors c of W^T W
// and their negatives, in double by log-sum-exp.
double log_iw_ref(const Rows& x) {
  const std::size_t d = x[0].size();
  std::vector<std::vector<double>> wtw(d, std::vector<double>(d, 0.0));
  for (const auto& r : x)
    for (std::size_t a = 0; a < d; ++a)
      for (std::size_t b = 0; b < d; ++b) wtw[a][b] += r[a] * r[b];
  std::vector<double> values;
  std::vector<std::vector<double>> vectors;
  jacobi(normalised(wtw), values, vectors);
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& c : vectors)
    for (const double sign : {1.0, -1.0}) {
      double m = -INFINITY;
      std::vector<double> p;
      for (const auto& r : x) p.push_back(sign * dotd(c, r)), m = std::max(m, p.back());
      double s = 0;
      for (const double v : p) s += std::exp(v - m);
      const double log_z = m + std::log(s);
      lo = std::min(lo, log_z);
      hi = std::max(hi, log_z);
    }
  return lo - hi;
}

TEST(Geometry, IsotropyIwMatchesTheDefinitionInLogSpace) {
  const std::size_t d = 10;
  std::vector<double> offset(d, 0.0);
  offset[2] = 1.0;
  const Rows x = gaussian(900, static_cast<std::int64_t>(d), 17, offset);
  const GeometryReport r = analyze_geometry(row_set(x), Vocabulary{}, fast_options());
  ASSERT_TRUE(r.log_isotropy_iw.has_value());
  EXPECT_NEAR(*r.log_isotropy_iw, log_iw_ref(x), 1e-4);
  EXPECT_NEAR(*r.isotropy_iw, std::exp(log_iw_ref(x)), 1e-4);

  // Norms in the hundreds: exp overflows f32 and nearly double, log space does not.
  Rows big = x;
  for (auto& row : big)
    for (auto& v : row) v = static_cast<float>(v * 300.0);
  const GeometryReport rb = analyze_geometry(row_set(big), Vocabulary{}, fast_options());
  ASSERT_TRUE(rb.log_isotropy_iw.has_value());
  EXPECT_TRUE(std::isfinite(*rb.log_isotropy_iw));
  const double ref = log_iw_ref(big);
  EXPECT_NEAR(*rb.log_isotropy_iw, ref, 1e-5 * std::fabs(ref));
}

// Rows of any scale within float range: every scale-free number equals the double reference on
// the same stored values (IsoScore, explained variance, fractions, mean cosine), the numbers with
// units are those of the rows (norms, eigenvalues, I(W)), on every spectrum path. Scales whose
// squares underflow (1e-25, 1e-30) or overflow (1e19, 1e30) single precision, subnormal values
// (1e-41), values whose squares pass FLT_MAX (1e37), and one row of 3e38 among ordinary ones.
TEST(Geometry, ScaleFreeResultsAtExtremeScales) {
  const std::size_t d = 12;
  const Rows base = gaussian(300, static_cast<std::int64_t>(d), 23, std::vector<double>(d, 0.4));
  struct Case {
    double scale;
    bool huge_row;
  };
  for (const Case c : {Case{1e-41, false}, Case{1e-30, false}, Case{1e-25, false}, Case{1e-20, false},
                       Case{1e19, false}, Case{1e30, false}, Case{1e37, false}, Case{1.0, true}}) {
    Rows x = base;
    for (std::size_t i = 0; i < x.size(); ++i)
      for (std::size_t k = 0; k < d; ++k)
        x[i][k] = static_cast<float>(c.huge_row && i == 5 ? (k % 2 ? 3e38 : -3e38) : x[i][k] * (k + 1) / 4.0 * c.scale);
    // Reference: eigenvalues of the double covariance, IsoScore, fractions, norms, I(W).
    const auto cov = covariance(x);
    std::vector<double> values;
    std::vector<std::vector<double>> vectors;
    jacobi(normalised(cov), values, vectors);
    for (double& v : values) v *= cov[0][0];
    const double total = std::accumulate(values.begin(), values.end(), 0.0);
    double norm_sum = 0;
    for (const auto& r : x) norm_sum += std::sqrt(dotd(r, r));
    const RowSet rows = row_set(x);
    ASSERT_EQ(rows.size(), static_cast<std::int64_t>(x.size()));
    for (const int path : {0, 1, 2}) {  // exact spectrum + I(W), randomized, exact + all pairs
      SCOPED_TRACE("scale " + std::to_string(c.scale) + (c.huge_row ? " one row of 3e38" : "") + " path " +
                   std::to_string(path));
      GeometryOptions o = fast_options();
      o.components = static_cast<int>(d);
      o.spectrum = path == 1 ? SpectrumMethod::Randomized : SpectrumMethod::Exact;
      o.exact = path == 2;
      const GeometryReport r = analyze_geometry(rows, Vocabulary{}, o);
      EXPECT_NEAR(r.isoscore, isoscore(values), 1e-5);
      ASSERT_EQ(r.explained_variance.size(), d);
      for (std::size_t k = 0; k < d; ++k) {
        EXPECT_NEAR(r.explained_variance[k], values[k] / total, 1e-5) << k;
        EXPECT_NEAR(r.eigenvalues[k] / values[0], values[k] / values[0], 1e-5) << k;
      }
      EXPECT_NEAR(r.total_variance / total, 1.0, 1e-5);
      EXPECT_NEAR(r.norms.mean / (norm_sum / static_cast<double>(x.size())), 1.0, 1e-6);
      EXPECT_NEAR(r.mean_cosine, all_pairs_ref(x).mean, 1e-6);
      EXPECT_NEAR(r.original.sampled, sampled_ref(x, r.targets), 0.002);
      EXPECT_NEAR(r.centered.sampled, sampled_ref(centred(x), r.targets), 0.002);
      if (path == 2) {
        EXPECT_NEAR(*r.original.exact, all_pairs_ref(x).fraction_non_negative, 1e-4);
        EXPECT_NEAR(*r.centered.exact, all_pairs_ref(centred(x)).fraction_non_negative, 1e-4);
      }
      if (path == 0) {
        ASSERT_TRUE(r.log_isotropy_iw.has_value());
        const double ref = log_iw_ref(x);
        EXPECT_NEAR(*r.log_isotropy_iw, ref, 1e-4 + 1e-4 * std::fabs(ref));
      }
    }
  }
}

TEST(Geometry, AllButTheTopBothVariantsMatchReference) {
  const std::size_t d = 12;
  std::vector<double> offset(d, 0.8);
  Rows x = gaussian(500, static_cast<std::int64_t>(d), 18, offset);
  for (auto& row : x) row[0] = static_cast<float>(row[0] * 5), row[1] = static_cast<float>(row[1] * 3);
  GeometryOptions o = fast_options();
  o.remove = 2;
  const GeometryReport r = analyze_geometry(row_set(x), Vocabulary{}, o);
  ASSERT_EQ(r.removed, 2);
  std::vector<double> values;
  std::vector<std::vector<double>> vectors;
  jacobi(covariance(x), values, vectors);
  EXPECT_NEAR(r.removed_variance, (values[0] + values[1]) / std::accumulate(values.begin(), values.end(), 0.0), 1e-6);
  const auto mu = mean_row(x);
  // Centred projection: x~ - sum (u . x~) u. Raw projection (the paper's text): x~ - sum (u . x) u.
  Rows centred_variant = centred(x), raw_variant = centred(x);
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::size_t c = 0; c < 2; ++c) {
      const double a = dotd(vectors[c], centred_variant[i]);
      const double b = dotd(vectors[c], x[i]);
      for (std::size_t k = 0; k < d; ++k) {
        centred_variant[i][k] -= a * vectors[c][k];
        raw_variant[i][k] -= b * vectors[c][k];
      }
    }
  EXPECT_NEAR(r.all_but_top.mean_cosine, all_pairs_ref(centred_variant).mean, 1e-5);
  EXPECT_NEAR(r.all_but_top_raw.mean_cosine, all_pairs_ref(raw_variant).mean, 1e-5);
  EXPECT_NEAR(r.all_but_top.sampled, sampled_ref(centred_variant, r.targets), 2e-3);
  EXPECT_NEAR(r.all_but_top_raw.sampled, sampled_ref(raw_variant, r.targets), 2e-3);
}

// The top eigenvectors come from MRRR (dstemr); EMBSTAT_GEOMETRY_DSTEDC forces the divide-and-
// conquer fallback used when MRRR fails. Both must give the same all-but-the-top rows.
TEST(Geometry, EigenvectorFallbackAgrees) {
  const std::size_t d = 24;
  Rows x = gaussian(900, static_cast<std::int64_t>(d), 26, std::vector<double>(d, 0.5));
  for (auto& row : x) row[3] = static_cast<float>(row[3] * 4), row[9] = static_cast<float>(row[9] * 2);
  const RowSet rows = row_set(x);
  GeometryOptions o = fast_options();
  o.remove = 3;
  o.isotropy_iw = false;
  const GeometryReport a = analyze_geometry(rows, Vocabulary{}, o);
  setenv("EMBSTAT_GEOMETRY_DSTEDC", "1", 1);
  const GeometryReport b = analyze_geometry(rows, Vocabulary{}, o);
  unsetenv("EMBSTAT_GEOMETRY_DSTEDC");
  EXPECT_NEAR(a.all_but_top.mean_cosine, b.all_but_top.mean_cosine, 1e-6);
  EXPECT_NEAR(a.all_but_top_raw.mean_cosine, b.all_but_top_raw.mean_cosine, 1e-6);
  EXPECT_NEAR(a.all_but_top.sampled, b.all_but_top.sampled, 1e-3);
  EXPECT_EQ(a.explained_variance, b.explained_variance);  // eigenvalues come from dsterf either way
  EXPECT_FALSE(a.isotropy_iw.has_value());
}

// A vocabulary whose rows fall in known classes; n <= partners and class sizes <= rows sampled
// per class, so the "sampled" class fractions use every pair and must equal the brute force.
TEST(Geometry, ClassStatisticsMatchBruteForce) {
  const std::int64_t n = 300, d = 16;
  Rows x = gaussian(n, d, 19, std::vector<double>(static_cast<std::size_t>(d), 0.4));
  Vocabulary vocab;
  vocab.kind = "byte-bpe";
  for (std::int64_t i = 0; i < n; ++i) {
    Token t;
    if (i < 10)
      t = {"<s" + std::to_string(i) + ">", "", TokenType::Control};
    else if (i < 60)
      t = {std::string(1, static_cast<char>('a' + i % 26)), std::string(1, static_cast<char>('a' + i % 26)),
           TokenType::Normal};
    else if (i < 150)
      t = {"Ġword" + std::to_string(i), " word" + std::to_string(i), TokenType::Normal};
    else if (i < 200)
      t = {"ing" + std::to_string(i), "ing" + std::to_string(i), TokenType::Normal};
    else if (i < 250)
      t = {"", "\xe4\xb8\xad" + std::to_string(i), TokenType::Normal};
    else
      t = {"", std::to_string(i * 7), TokenType::Normal};
    vocab.push_back(t);
  }
  // Rows past the vocabulary are padding: give the matrix 5 more rows.
  for (int i = 0; i < 5; ++i) x.push_back(x[static_cast<std::size_t>(i)]);
  Matrix m(static_cast<std::int64_t>(x.size()), d);
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::int64_t k = 0; k < d; ++k)
      m.row(static_cast<std::int64_t>(i))[k] = static_cast<float>(x[i][static_cast<std::size_t>(k)]);
  RowFilter filter;
  filter.n_tokens = n;
  const RowSet rows = make_row_set(std::move(m), filter);
  x.resize(static_cast<std::size_t>(n));

  for (const bool exact : {false, true}) {
    SCOPED_TRACE(exact ? "exact" : "sampled");
    GeometryOptions o = fast_options();
    o.exact = exact;
    const GeometryReport r = analyze_geometry(rows, vocab, o);
    auto find = [&](TokenClass c) -> const ClassStats& {
      for (const auto& s : r.classes)
        if (s.cls == c) return s;
      ADD_FAILURE() << "no class " << token_class_name(c);
      return r.classes.front();
    };
    struct Expect {
      TokenClass cls;
      std::int64_t first, last;
    };
    for (const Expect e : {Expect{TokenClass::Special, 0, 10}, Expect{TokenClass::Byte, 10, 60},
                           Expect{TokenClass::LatinWordStart, 60, 150}, Expect{TokenClass::LatinContinuation, 150, 200},
                           Expect{TokenClass::Cjk, 200, 250}, Expect{TokenClass::Digits, 250, 300}}) {
      const ClassStats& s = find(e.cls);
      SCOPED_TRACE(token_class_name(e.cls));
      EXPECT_EQ(s.count, e.last - e.first);
      double norm = 0, mean_cos = 0;
      std::int64_t neg = 0;
      for (std::int64_t i = e.first; i < e.last; ++i) {
        const auto& xi = x[static_cast<std::size_t>(i)];
        norm += std::sqrt(dotd(xi, xi));
        double s_cos = 0;
        for (std::int64_t j = 0; j < n; ++j) {
          if (j == i) continue;
          const double c = cosd(xi, x[static_cast<std::size_t>(j)]);
          s_cos += c;
          neg += c < 0;
        }
        mean_cos += s_cos / static_cast<double>(n - 1);
      }
      const double cnt = static_cast<double>(e.last - e.first);
      EXPECT_NEAR(s.mean_norm, norm / cnt, 1e-4);
      EXPECT_NEAR(s.mean_cosine, mean_cos / cnt, 1e-6);
      EXPECT_NEAR(s.fraction_negative, static_cast<double>(neg) / (cnt * static_cast<double>(n - 1)), 1e-9);
      EXPECT_NEAR(s.fraction_negative_se, 0.0, 1e-12);
      EXPECT_TRUE(s.fraction_negative_exact);  // small enough that the sample is every pair
    }
    const ClassStats& pad = find(TokenClass::Padding);
    EXPECT_EQ(pad.count, 0);
    EXPECT_EQ(pad.excluded, 5);
  }
}

// More rows than partners and a class larger than the rows sampled per class: an estimate,
// within a few standard errors of the brute force.
TEST(Geometry, SampledClassFractionIsWithinItsStandardError) {
  const std::int64_t n = 6000, d = 8;
  const Rows x = gaussian(n, d, 25, std::vector<double>(static_cast<std::size_t>(d), 0.3));
  Vocabulary vocab;
  vocab.kind = "byte-bpe";
  for (std::int64_t i = 0; i < n; ++i)
    vocab.push_back(i < 300 ? Token{"x", "\xe4", TokenType::Normal}
                            : Token{"w", " w" + std::to_string(i), TokenType::Normal});
  const GeometryReport r = analyze_geometry(row_set(x), vocab, fast_options());
  ASSERT_EQ(r.classes.size(), 2u);
  for (const auto& s : r.classes) {
    SCOPED_TRACE(token_class_name(s.cls));
    const std::int64_t first = s.cls == TokenClass::Byte ? 0 : 300, last = s.cls == TokenClass::Byte ? 300 : n;
    ASSERT_EQ(s.count, last - first);
    std::int64_t neg = 0;
    for (std::int64_t i = first; i < last; ++i)
      for (std::int64_t j = 0; j < n; ++j)
        if (j != i) neg += cosd(x[static_cast<std::size_t>(i)], x[static_cast<std::size_t>(j)]) < 0;
    const double exact = static_cast<double>(neg) / (static_cast<double>(last - first) * static_cast<double>(n - 1));
    EXPECT_FALSE(s.fraction_negative_exact);
    EXPECT_EQ(s.sampled_partners, kGeometryClassPartners);
    EXPECT_EQ(s.sampled_rows, std::min(s.count, kGeometryClassRows));
    EXPECT_GT(s.fraction_negative_se, 0.0);
    EXPECT_LT(s.fraction_negative_se, 0.03);
    EXPECT_NEAR(s.fraction_negative, exact, 4 * s.fraction_negative_se);
  }
}

TEST(Geometry, DuplicatesZeroRowsAndOutliers) {
  const std::int64_t d = 8;
  Rows x = gaussian(120, d, 20, std::vector<double>(static_cast<std::size_t>(d), 0.5));
  x[30] = x[5];
  x[31] = x[5];
  x[77] = x[9];
  x[40] = std::vector<double>(static_cast<std::size_t>(d), 0.0);  // zero row
  for (auto& v : x[50]) v = static_cast<float>(v * 1e-3);         // under-trained: tiny norm
  Matrix m(static_cast<std::int64_t>(x.size()), d);
  for (std::size_t i = 0; i < x.size(); ++i)
    for (std::int64_t k = 0; k < d; ++k)
      m.row(static_cast<std::int64_t>(i))[k] = static_cast<float>(x[i][static_cast<std::size_t>(k)]);
  Matrix source = m.clone();
  const RowSet rows = make_row_set(std::move(m), RowFilter{});
  GeometryOptions o = fast_options();
  o.outliers = 3;
  for (const bool by_bytes : {true, false}) {
    SCOPED_TRACE(by_bytes ? "stored bytes" : "f32 rows");
    const GeometryReport r = analyze_geometry(rows, Vocabulary{}, o, by_bytes ? source.view() : MatrixView{});
    EXPECT_EQ(r.duplicates.by_source_bytes, by_bytes);
    EXPECT_EQ(r.duplicates.groups, 2);
    EXPECT_EQ(r.duplicates.rows, 5);
    EXPECT_EQ(r.duplicates.redundant, 3);
    ASSERT_EQ(r.duplicates.largest.size(), 2u);
    EXPECT_EQ(r.duplicates.largest[0].ids, (std::vector<std::int64_t>{5, 30, 31}));
    EXPECT_EQ(r.duplicates.largest[1].ids, (std::vector<std::int64_t>{9, 77}));
    const double n = static_cast<double>(rows.size());
    EXPECT_NEAR(r.duplicates.pair_fraction, 4.0 / (n * (n - 1) / 2), 1e-15);
    EXPECT_EQ(r.zero_rows, (std::vector<std::int64_t>{40}));
    ASSERT_FALSE(r.outliers.empty());
    EXPECT_EQ(r.outliers[0].id, 50);
    EXPECT_NE(r.outliers[0].reason.find("low_norm"), std::string::npos);
    EXPECT_EQ(r.outliers[0].norm_percentile, 0.0);
  }
}

TEST(Geometry, SameResultForAnyThreadCount) {
  const Rows x = gaussian(3000, 40, 21, std::vector<double>(40, 0.2));
  const RowSet rows = row_set(x);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const GeometryReport a = analyze_geometry(rows, Vocabulary{}, fast_options());
  omp_set_num_threads(std::max(saved, 2));
  const GeometryReport b = analyze_geometry(rows, Vocabulary{}, fast_options());
  omp_set_num_threads(saved);
  EXPECT_EQ(a.mean_cosine, b.mean_cosine);
  EXPECT_EQ(a.mean_norm_ratio, b.mean_norm_ratio);
  EXPECT_EQ(a.isoscore, b.isoscore);
  EXPECT_EQ(a.log_isotropy_iw, b.log_isotropy_iw);
  EXPECT_EQ(a.explained_variance, b.explained_variance);
  EXPECT_EQ(a.centered.sampled, b.centered.sampled);
  EXPECT_EQ(a.all_but_top.mean_cosine, b.all_but_top.mean_cosine);
  EXPECT_EQ(geometry_json(a, Vocabulary{}).dump(), geometry_json(b, Vocabulary{}).dump());
}

// The exact covariance and I(W) run their chunks of rows as row tasks, one per thread at a time:
// 3,000 rows in chunks of 256 (12 chunks, the last one short). The chunks' sums are merged in chunk
// order, so the thread count changes no bit; the chunking changes only the rounding of the f32
// sums against one whole chunk.
TEST(Geometry, ChunkedCovarianceAndIwSameForAnyThreadCount) {
  Rows x = gaussian(3000, 40, 22, std::vector<double>(40, 0.3));
  for (auto& row : x) row[5] = static_cast<float>(row[5] * 3);  // a clear top direction
  const RowSet rows = row_set(x);
  GeometryOptions o = fast_options();
  o.spectrum = SpectrumMethod::Exact;
  o.blas_chunk_rows = 256;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const GeometryReport one = analyze_geometry(rows, Vocabulary{}, o);
  omp_set_num_threads(std::max(saved, 2));
  const GeometryReport two = analyze_geometry(rows, Vocabulary{}, o);
  o.blas_chunk_rows = 0;
  const GeometryReport whole = analyze_geometry(rows, Vocabulary{}, o);
  omp_set_num_threads(saved);
  ASSERT_TRUE(one.log_isotropy_iw.has_value());
  EXPECT_EQ(geometry_json(one, Vocabulary{}).dump(), geometry_json(two, Vocabulary{}).dump());
  EXPECT_NEAR(*one.log_isotropy_iw, *whole.log_isotropy_iw, 1e-5 * std::abs(*whole.log_isotropy_iw));
  ASSERT_EQ(one.eigenvalues.size(), whole.eigenvalues.size());
  for (std::size_t k = 0; k < one.eigenvalues.size(); ++k)
    EXPECT_NEAR(one.eigenvalues[k], whole.eigenvalues[k], 1e-5 * whole.eigenvalues[0]) << "eigenvalue " << k;
  EXPECT_NEAR(one.isoscore, whole.isoscore, 1e-6);
}

// Without --exact the transformed versions are streamed in sub-chunks of rows, never built whole;
// with it they are built whole and sampled by `sample`'s engine. Both must count the same signs:
// here 1,000 rows in sub-chunks of 24 (two groups of 32 sub-chunks, the last one short), targets
// at sub-chunk and group edges; and the streamed sums must not depend on the thread count.
// Without --exact the transformed versions' fractions come by algebra from the stored rows
// (sampled_versions); with it each version is built whole. Same targets, same rows dropped; a
// sign can differ only for a pair within f32 rounding of cos = 0 (none here), and the mean
// cosines agree to rounding of f32 products.
// The sampled versions by algebra against the same versions built row by row (--exact), with
// the exact spectrum and with the randomized one, whose removed components' row projections come
// from the spectrum's stored products instead of the versions' own sgemm.
class SampledVersions : public ::testing::TestWithParam<SpectrumMethod> {};

INSTANTIATE_TEST_SUITE_P(Geometry, SampledVersions,
                         ::testing::Values(SpectrumMethod::Exact, SpectrumMethod::Randomized),
                         [](const ::testing::TestParamInfo<SpectrumMethod>& p) {
                           return p.param == SpectrumMethod::Exact ? "ExactSpectrum" : "RandomizedSpectrum";
                         });

TEST_P(SampledVersions, MatchMaterialisedVersions) {
  Rows x = gaussian(1000, 24, 23, std::vector<double>(24, 0.4));
  for (auto& row : x) row[3] = static_cast<float>(row[3] * 4);
  x[500] = mean_row(x);  // zero after centring: dropped from those versions
  GeometryOptions o = fast_options();
  o.spectrum = GetParam();
  o.targets = {0, 23, 24, 767, 768, 999, 17, 500};
  o.remove = 2;
  o.chunk_rows = 24;
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const GeometryReport one_thread = analyze_geometry(row_set(x), Vocabulary{}, o);
  omp_set_num_threads(std::max(saved, 2));
  const GeometryReport streamed = analyze_geometry(row_set(x), Vocabulary{}, o);
  omp_set_num_threads(saved);
  o.exact = true;
  const GeometryReport whole = analyze_geometry(row_set(x), Vocabulary{}, o);
  for (const auto& [a, b, c] :
       {std::tuple{&streamed.centered, &whole.centered, &one_thread.centered},
        std::tuple{&streamed.all_but_top, &whole.all_but_top, &one_thread.all_but_top},
        std::tuple{&streamed.all_but_top_raw, &whole.all_but_top_raw, &one_thread.all_but_top_raw}}) {
    EXPECT_EQ(a->rows, b->rows);
    EXPECT_EQ(a->targets, b->targets);
    EXPECT_EQ(a->sampled, b->sampled);
    EXPECT_EQ(a->sampled_std, b->sampled_std);
    EXPECT_NEAR(a->mean_cosine, b->mean_cosine, 1e-6);
    EXPECT_FALSE(a->exact.has_value());
    EXPECT_EQ(a->mean_cosine, c->mean_cosine);
    EXPECT_EQ(a->sampled, c->sampled);
  }
  EXPECT_EQ(streamed.notes, whole.notes);
  EXPECT_GT(streamed.original.sampled, 0.65);  // the offset shows before centring, not after
  EXPECT_NEAR(streamed.centered.sampled, 0.5, 0.05);
}

// The progress bar's fractions: within [0, 1], never going back, ending at 1, for each spectrum
// path and with --exact; without --exact the spectrum (most of the work) gets most of the bar.
TEST(Geometry, ProgressIsMonotoneAndEndsAtOne) {
  const Rows x = gaussian(600, 16, 31, std::vector<double>(16, 0.2));
  struct Case {
    SpectrumMethod spectrum;
    bool iw, exact;
  };
  for (const Case c : {Case{SpectrumMethod::Exact, true, false}, Case{SpectrumMethod::Exact, false, false},
                       Case{SpectrumMethod::Randomized, true, false}, Case{SpectrumMethod::Exact, true, true}}) {
    SCOPED_TRACE(std::to_string(static_cast<int>(c.spectrum)) + (c.iw ? " iw" : "") + (c.exact ? " exact" : ""));
    std::vector<double> seen;
    GeometryOptions o = fast_options();
    o.spectrum = c.spectrum;
    o.isotropy_iw = c.iw;
    o.exact = c.exact;
    o.progress = [&](double f) { seen.push_back(f); };
    analyze_geometry(row_set(x), Vocabulary{}, o);
    ASSERT_FALSE(seen.empty());
    for (std::size_t k = 0; k < seen.size(); ++k) {
      EXPECT_GE(seen[k], 0.0);
      EXPECT_LE(seen[k], 1.0);
      if (k > 0) {
        EXPECT_GE(seen[k], seen[k - 1]) << k;
      }
    }
    EXPECT_EQ(seen.back(), 1.0);
    // Where the sampled fractions start: after the spectrum's share of the bar.
    EXPECT_NE(std::find(seen.begin(), seen.end(), c.exact ? 0.6 : 0.85), seen.end());
  }
}

TEST(Geometry, ExplicitTargetsAndBadOptions) {
  const Rows x = gaussian(100, 8, 22);
  const RowSet rows = row_set(x);
  GeometryOptions o = fast_options();
  o.targets = {3, 4, 99};
  const GeometryReport r = analyze_geometry(rows, Vocabulary{}, o);
  EXPECT_EQ(r.targets, o.targets);
  EXPECT_NEAR(r.original.sampled, sampled_ref(x, o.targets), 1e-9);
  o.targets = {100};
  EXPECT_THROW(analyze_geometry(rows, Vocabulary{}, o), Error);
  o.targets = {};
  o.components = 0;
  EXPECT_THROW(analyze_geometry(rows, Vocabulary{}, o), Error);
  const RowSet one = row_set(Rows{{1.0, 2.0}});
  EXPECT_THROW(analyze_geometry(one, Vocabulary{}, fast_options()), Error);
}

TEST(Geometry, DescribeUsesLinearInterpolation) {
  const Distribution d = describe({4, 1, 3, 2});
  EXPECT_EQ(d.count, 4);
  EXPECT_DOUBLE_EQ(d.min, 1);
  EXPECT_DOUBLE_EQ(d.p25, 1.75);
  EXPECT_DOUBLE_EQ(d.median, 2.5);
  EXPECT_DOUBLE_EQ(d.p75, 3.25);
  EXPECT_DOUBLE_EQ(d.max, 4);
  EXPECT_DOUBLE_EQ(d.mean, 2.5);
  EXPECT_DOUBLE_EQ(d.fraction_positive, 1.0);
}

TEST(Geometry, PairedRowCosines) {
  Rows a = gaussian(50, 6, 23);
  Rows b = a;
  for (auto& v : b[7]) v = -v;  // output row opposite to its input row
  for (std::size_t k = 0; k < 6; ++k) b[9][k] = a[9][k] + (k == 0 ? 0.5 : 0.0);
  const PairedCosines p = paired_row_cosines(row_set(a), row_set(b), 2);
  EXPECT_EQ(p.cosines.count, 50);
  EXPECT_NEAR(p.cosines.min, -1.0, 1e-6);
  EXPECT_NEAR(p.cosines.max, 1.0, 1e-6);
  ASSERT_EQ(p.lowest.size(), 2u);
  EXPECT_EQ(p.lowest[0], 7);
  EXPECT_EQ(p.lowest[1], 9);
  EXPECT_NEAR(p.lowest_cosines[1], cosd(a[9], b[9]), 1e-6);
  EXPECT_THROW(paired_row_cosines(row_set(a), row_set(gaussian(50, 5, 1)), 2), Error);
}

TEST(Geometry, JsonHasTheDocumentedKeys) {
  const GeometryReport r = analyze_geometry(row_set(gaussian(200, 8, 24)), Vocabulary{}, fast_options());
  const auto j = geometry_json(r, Vocabulary{});
  for (const char* key :
       {"mean_norm_ratio", "mean_cosine", "cos_to_mean", "fraction_non_negative", "fraction_non_negative_centered",
        "explained_variance", "fraction_non_negative_all_but_top", "fraction_non_negative_all_but_top_raw",
        "isotropy_iw", "log_isotropy_iw", "isoscore", "rogue_dimensions", "classes", "duplicates", "outliers",
        "zero_rows", "pairs", "spectrum", "removal_gap"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["fraction_method"], "sampled");
  EXPECT_EQ(j["spectrum"]["method"], "exact");
  EXPECT_EQ(j["spectrum"]["isotropy_iw"], "computed");
  EXPECT_EQ(j["explained_variance"].size(), 8u);
  EXPECT_TRUE(j["rogue_dimensions"][0].contains("dim"));
  EXPECT_TRUE(j["rogue_dimensions"][0].contains("share"));
  for (const char* key : {"min", "p25", "median", "p75", "max", "mean", "fraction_positive"})
    EXPECT_TRUE(j["cos_to_mean"].contains(key)) << key;
}

}  // namespace
}  // namespace embstat
