#include "embstat/analysis/geometry.hpp"

#include <fmt/format.h>
#include <lapacke.h>
#include <omp.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

#include "embstat/analysis/all_pairs.hpp"
#include "embstat/analysis/bf16_kernels.hpp"
#include "embstat/analysis/blas.hpp"
#include "embstat/analysis/row_tasks.hpp"
#include "embstat/analysis/sampled.hpp"
#include "embstat/analysis/sampled_bf16.hpp"
#include "embstat/analysis/spectrum.hpp"
#include "embstat/base/error.hpp"
#include "embstat/base/vector_clones.hpp"

namespace embstat {

namespace {

// Rows per BLAS-3 chunk (ssyrk for the covariance, sgemm for I(W); one chunk per thread at a
// time): about kChunkFloats floats (32 MB) of rows, so a chunk of centred rows stays far below the
// matrix while the k dimension of each call (>= 256) keeps the BLAS kernels at full speed. At
// most kMaxChunkRows rows: ssyrk sums a chunk in f32 before it is added to the double accumulator.
constexpr std::int64_t kChunkFloats = std::int64_t{8} << 20;
constexpr std::int64_t kMinChunkRows = 256;
constexpr std::int64_t kMaxChunkRows = 8192;

constexpr std::int64_t kClassRows = kGeometryClassRows;
constexpr std::int64_t kClassPartners = kGeometryClassPartners;

std::int64_t chunk_rows(std::int64_t d) {
  return std::clamp(kChunkFloats / std::max<std::int64_t>(d, 1), kMinChunkRows, kMaxChunkRows);
}

// Rows per task of the sampled fractions: about 4 MB of rows (L2/L3-sized), at least 64.
std::int64_t task_rows(std::int64_t d) {
  return std::clamp((std::int64_t{1} << 20) / std::max<std::int64_t>(d, 1), std::int64_t{64}, std::int64_t{4096});
}

// Uniform in [0, range) from the engine's raw output by rejection (portable across libraries).
std::uint64_t uniform_below(std::mt19937_64& engine, std::uint64_t range) {
  const std::uint64_t threshold = (0 - range) % range;
  for (;;) {
    const std::uint64_t x = engine();
    if (x >= threshold) return x % range;
  }
}

// `k` distinct values of [0, n) by partial Fisher-Yates (all of them, in order, when k >= n).
std::vector<std::int64_t> choose(std::int64_t n, std::int64_t k, std::mt19937_64& engine) {
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), std::int64_t{0});
  if (k >= n) return idx;
  for (std::int64_t i = 0; i < k; ++i) {
    const auto j = i + static_cast<std::int64_t>(uniform_below(engine, static_cast<std::uint64_t>(n - i)));
    std::swap(idx[static_cast<std::size_t>(i)], idx[static_cast<std::size_t>(j)]);
  }
  idx.resize(static_cast<std::size_t>(k));
  return idx;
}

// Per-coordinate sums over the rows of a set, in double: sum of raw rows (norm * unit), sum of
// unit rows, sum of squared unit entries. Each thread owns a range of coordinates and walks
// every row in order, so each sum is accumulated in the same order for any thread count.
struct ColumnSums {
  std::vector<double> raw, unit, unit_sq;
};

// Adds the raw rows r_j u_j, the unit rows u_j and their squares, for a group of kSumRows rows
// (a short group pads with r = 0 rows that add nothing: u points at a real row, v * 0), to the
// sums over coordinates [k0, k1). Grouping rows reads and writes the three sums once per group
// instead of once per row: the pass is bound by that traffic, not by the multiplies.
constexpr int kSumRows = 4;

// u[j][k - k0] is coordinate k of row j (the rows' slices [k0, k1)).
EMBSTAT_VECTOR_CLONES void add_to_column_sums(const float* const* u, const double* r, const double* w, std::int64_t k0,
                                              std::int64_t k1, double* raw, double* unit, double* sq) {
#pragma omp simd
  for (std::int64_t k = k0; k < k1; ++k) {
    double a = 0, b = 0, c = 0;
    for (int j = 0; j < kSumRows; ++j) {
      const double v = u[j][k - k0];
      a += r[j] * v;
      b += w[j] * v;
      c += w[j] * v * v;
    }
    raw[k] += a;
    unit[k] += b;
    sq[k] += c;
  }
}

// One buffer of `rows_each` unit rows per thread for a streamed set's decoded rows (empty for a
// held set, whose rows are read in place), allocated before a parallel region so that nothing
// throws inside it.
std::vector<std::vector<float>> decode_buffers(const RowSet& rows, std::int64_t rows_each) {
  return std::vector<std::vector<float>>(
      static_cast<std::size_t>(std::max(1, omp_get_max_threads())),
      std::vector<float>(rows.streamed ? static_cast<std::size_t>(rows_each * rows.dim()) : 0));
}

// The raw sums are those of the rows times `scale` (analysis_scale).
ColumnSums column_sums(const RowSet& rows, double scale) {
  const std::int64_t n = rows.size(), d = rows.dim();
  ColumnSums s;
  s.raw.assign(static_cast<std::size_t>(d), 0.0);
  s.unit.assign(static_cast<std::size_t>(d), 0.0);
  s.unit_sq.assign(static_cast<std::size_t>(d), 0.0);
  // A streamed set's rows: each thread's slice of each row of a group, decoded.
  std::vector<std::vector<float>> slice_buffers = decode_buffers(rows, kSumRows);
#pragma omp parallel num_threads(static_cast <int>(slice_buffers.size()))
  {
    const std::int64_t t = omp_get_thread_num(), nt = omp_get_num_threads();
    const std::int64_t k0 = d * t / nt, k1 = d * (t + 1) / nt;
    const float* u[kSumRows];
    double r[kSumRows], w[kSumRows];
    std::vector<float>& slices = slice_buffers[static_cast<std::size_t>(t)];
    for (std::int64_t i0 = 0; i0 < n; i0 += kSumRows) {
      for (int j = 0; j < kSumRows; ++j) {
        const bool real = i0 + j < n;
        if (rows.streamed) {
          u[j] = slices.data() + j * (k1 - k0);
          rows.unit_columns(real ? i0 + j : i0, k0, k1, slices.data() + j * (k1 - k0));
        } else {
          u[j] = rows.unit.row(real ? i0 + j : i0) + k0;
        }
        r[j] = real ? rows.norms[static_cast<std::size_t>(i0 + j)] * scale : 0.0;
        w[j] = real ? 1.0 : 0.0;
      }
      add_to_column_sums(u, r, w, k0, k1, s.raw.data(), s.unit.data(), s.unit_sq.data());
    }
  }
  return s;
}

// What the common-direction pass needs of one row, raw row x = r u: u . mu, u . s (s the sum of
// the unit rows), |u|^2 and |x - mu|^2, in double.
struct RowMoments {
  double dot_mu = 0, dot_unit_sum = 0, unit_sq = 0, centred_sq = 0;
};

EMBSTAT_VECTOR_CLONES RowMoments row_moments(const float* u, double r, const double* mu, const double* unit_sum,
                                             std::int64_t d) {
  double a = 0, b = 0, uu = 0, dd = 0;
#pragma omp simd reduction(+ : a, b, uu, dd)
  for (std::int64_t k = 0; k < d; ++k) {
    const double v = u[k];
    a += v * mu[k];
    b += v * unit_sum[k];
    uu += v * v;
    const double x = r * v - mu[k];
    dd += x * x;
  }
  return {a, b, uu, dd};
}

// Copies the unit rows at the given positions into a new matrix (rows in that order).
Matrix gather_rows(const RowSet& rows, const std::vector<std::int64_t>& positions) {
  Matrix out(static_cast<std::int64_t>(positions.size()), rows.dim());
  for (std::size_t j = 0; j < positions.size(); ++j)
    rows.unit_columns(positions[j], 0, rows.dim(), out.row(static_cast<std::int64_t>(j)));
  return out;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.size(); ++k) s += a[k] * b[k];
  return s;
}

// Exact mean of cos(u_i, u_j) over pairs i != j: (|sum u|^2 - sum |u_i|^2) / (n (n - 1)).
double identity_mean_cosine(const ColumnSums& s, std::int64_t n) {
  if (n < 2) return 0;
  const double total_sq = std::accumulate(s.unit_sq.begin(), s.unit_sq.end(), 0.0);
  return (dot(s.unit, s.unit) - total_sq) / (static_cast<double>(n) * static_cast<double>(n - 1));
}

// ---- Eigen-decompositions (LAPACK, double) ----------------------------------------------
//
// A d x d symmetric matrix is kept in a row-major vector with its UPPER triangle filled; the
// same memory read column-major is the LOWER triangle, so LAPACK is called with
// LAPACK_COL_MAJOR, 'L' and no transposed copy.

// What a LAPACK failure was given, for its message: "the 64 x 64 covariance of 300 rows (rows
// scaled by 2^-63; largest |entry| 3.1, 2 entries not finite)". Reads the upper triangle.
std::string matrix_description(const std::vector<double>& a, const char* name, std::int64_t n, std::int64_t d,
                               double scale) {
  double largest = 0;
  std::int64_t non_finite = 0;
  for (std::int64_t r = 0; r < d; ++r)
    for (std::int64_t c = r; c < d; ++c) {
      const double x = a[static_cast<std::size_t>(r * d + c)];
      if (!std::isfinite(x))
        ++non_finite;
      else
        largest = std::max(largest, std::abs(x));
    }
  return fmt::format("the {} x {} {} of {} rows ({}largest |entry| {:.3g}{})", d, d, name, n,
                     scale == 1.0 ? "" : fmt::format("rows scaled by 2^{}; ", std::ilogb(scale)), largest,
                     non_finite > 0 ? fmt::format(", {} entries not finite", non_finite) : "");
}

struct TopEigen {
  std::vector<double> values;   // all d eigenvalues, descending
  std::vector<double> vectors;  // n_vectors x d row-major: the top eigenvectors, descending
};

// One tridiagonal reduction (dsytrd), then all eigenvalues (dsterf) and only the top
// n_vectors eigenvectors (dstemr on the tridiagonal, dormtr back): about a third of the cost
// of a full dsyevd. `a` is destroyed.
TopEigen top_eigen(std::vector<double>& a, std::int64_t d64, std::int64_t n_vectors, const std::string& what) {
  const lapack_int d = blas::blas_int(d64, "dimension");
  std::vector<double> diag(static_cast<std::size_t>(d)), off(static_cast<std::size_t>(d), 0.0),
      tau(static_cast<std::size_t>(d), 0.0);
  blas::lapack_check(LAPACKE_dsytrd(LAPACK_COL_MAJOR, 'L', d, a.data(), d, diag.data(), off.data(), tau.data()),
                     "dsytrd", what);
  TopEigen out;
  out.values = diag;
  {
    std::vector<double> e(off.begin(), off.end() - 1);
    if (d > 1) blas::lapack_check(LAPACKE_dsterf(d, out.values.data(), e.data()), "dsterf", what);
  }
  std::reverse(out.values.begin(), out.values.end());
  if (n_vectors <= 0) return out;

  const lapack_int nv = static_cast<lapack_int>(std::min<std::int64_t>(n_vectors, d));
  std::vector<double> dd = diag, ee = off;
  ee[static_cast<std::size_t>(d - 1)] = 0;
  std::vector<double> w(static_cast<std::size_t>(d));
  std::vector<double> z(static_cast<std::size_t>(d) * static_cast<std::size_t>(nv));
  std::vector<lapack_int> isuppz(2 * static_cast<std::size_t>(nv));
  lapack_int m = 0;
  lapack_logical tryrac = 1;
  const lapack_int info = LAPACKE_dstemr(LAPACK_COL_MAJOR, 'V', 'I', d, dd.data(), ee.data(), 0.0, 0.0, d - nv + 1, d,
                                         &m, w.data(), z.data(), d, nv, isuppz.data(), &tryrac);
  // EMBSTAT_GEOMETRY_DSTEDC=1 forces the fallback (tests compare both paths).
  const bool force_fallback = std::getenv("EMBSTAT_GEOMETRY_DSTEDC") != nullptr;
  if (info != 0 || m != nv || force_fallback) {
    // MRRR can fail to converge on pathological spectra: fall back to every eigenvector of the
    // tridiagonal by divide and conquer (d x d extra memory, rarely needed), keep the top nv.
    std::vector<double> d2 = diag, e2(off.begin(), off.end() - 1);
    std::vector<double> all(static_cast<std::size_t>(d) * static_cast<std::size_t>(d));
    blas::lapack_check(LAPACKE_dstedc(LAPACK_COL_MAJOR, 'I', d, d2.data(), e2.data(), all.data(), d), "dstedc", what);
    std::copy(all.end() - static_cast<std::ptrdiff_t>(z.size()), all.end(), z.begin());  // ascending: last nv
  }
  blas::lapack_check(LAPACKE_dormtr(LAPACK_COL_MAJOR, 'L', 'L', 'N', d, nv, a.data(), d, tau.data(), z.data(), d),
                     "dormtr", what);
  // Column j of z (contiguous) is the eigenvector of w[j], ascending: reverse to descending.
  out.vectors.resize(z.size());
  for (lapack_int j = 0; j < nv; ++j)
    std::copy_n(z.begin() + static_cast<std::ptrdiff_t>(j) * d, d,
                out.vectors.begin() + static_cast<std::ptrdiff_t>(nv - 1 - j) * d);
  return out;
}

// All eigenvectors (dsyevd), as rows of a d x d row-major f32 matrix. `a` is destroyed.
std::vector<float> all_eigenvectors(std::vector<double>& a, std::int64_t d64, const std::string& what) {
  const lapack_int d = blas::blas_int(d64, "dimension");
  std::vector<double> w(static_cast<std::size_t>(d));
  blas::lapack_check(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', d, a.data(), d, w.data()), "dsyevd", what);
  // Column-major columns are eigenvectors: read row-major, row j is eigenvector j.
  return std::vector<float>(a.begin(), a.end());
}

// ---- Covariance ---------------------------------------------------------------------------

// Centres rows [c0, c0 + m) of the set, times `scale`, into x (m x d): scale x_i - mu for mu the
// mean of the scaled rows. On the calling thread (a row task, or one thread's share of a parallel
// loop: no parallel region is opened inside a task).
void centre_rows(const RowSet& rows, double scale, const std::vector<double>& mu, std::int64_t c0, std::int64_t m,
                 float* x) {
  const std::int64_t d = rows.dim();
  for (std::int64_t i = 0; i < m; ++i) {
    const double r = rows.norms[static_cast<std::size_t>(c0 + i)] * scale;
    float* o = x + i * d;
    rows.unit_columns(c0 + i, 0, d, o);  // then centred in place
    for (std::int64_t k = 0; k < d; ++k) o[k] = static_cast<float>(r * o[k] - mu[static_cast<std::size_t>(k)]);
  }
}

// sum_i (x_i - mu)(x_i - mu)^T over the set, x_i = norm_i * unit_i: the upper triangle of a
// d x d row-major double matrix. Per chunk of rows: centre in f32, ssyrk, add the f32 result to
// the double accumulator, chunks in order (same result for any thread count). The chunks are row
// tasks (for_each_row_task), one per thread at a time with single-threaded BLAS: threaded ssyrk
// between OpenMP regions left each thread pool spinning while the other worked.
std::vector<double> centred_scatter(const RowSet& rows, double scale, const std::vector<double>& mu, std::int64_t step,
                                    const ProgressFn& progress, double p0, double p1) {
  const std::int64_t n = rows.size(), d = rows.dim();
  const auto dd = static_cast<std::size_t>(d) * static_cast<std::size_t>(d);
  const int n_threads = std::max(1, omp_get_max_threads());
  const std::int64_t group = n_threads;
  std::vector<double> acc(dd, 0.0);
  std::vector<float> parts(static_cast<std::size_t>(kRowTaskBanks * group) * dd);
  std::vector<std::vector<float>> chunks(static_cast<std::size_t>(n_threads),
                                         std::vector<float>(static_cast<std::size_t>(std::min(step, n) * d)));
  const int bd = blas::blas_int(d, "dimension");
  auto task = [&](std::int64_t slot, int thread, std::int64_t c0, std::int64_t m) {
    float* x = chunks[static_cast<std::size_t>(thread)].data();
    centre_rows(rows, scale, mu, c0, m, x);
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, bd, blas::blas_int(m, "chunk rows"), 1.0f, x, bd, 0.0f,
                parts.data() + static_cast<std::size_t>(slot) * dd, bd);
  };
  auto merge = [&](std::int64_t first, std::int64_t n_tasks) {
    for (std::int64_t a = 0; a < d; ++a) {
      double* dst = acc.data() + a * d;
      for (std::int64_t t = first; t < first + n_tasks; ++t) {
        const float* src = parts.data() + static_cast<std::size_t>(t) * dd + static_cast<std::size_t>(a * d);
        for (std::int64_t b = a; b < d; ++b) dst[b] += src[b];
      }
    }
  };
  blas::BlasThreads one(1);
  for_each_row_task(n, step, group, n_threads, task, merge, progress_between(progress, p0, p1));
  return acc;
}

// ---- I(W) ---------------------------------------------------------------------------------

// exp(x) for x <= 0 in f32 (0 below about -87), relative error < 3e-7: x log2(e) = n + f with
// |f| <= 1/2, 2^f by its degree-7 Taylor series, 2^n by building the exponent bits. Written on
// 4-float vectors (GCC vector extensions: SSE2 on x86-64, NEON elsewhere) because the plain
// loop does not vectorise under -ftrapping-math (the clamp is a float compare).
using Float4 = float __attribute__((vector_size(16)));
using Int4 = std::int32_t __attribute__((vector_size(16)));

inline Float4 exp_nonpositive(Float4 x) {
  const Float4 floor_x = Float4{} - 87.0f;
  x = x < floor_x ? floor_x : x;
  const Float4 t = x * 1.44269504088896341f;
  const Int4 n = __builtin_convertvector(t - 0.5f, Int4);  // t <= 0: truncation rounds to nearest
  const Float4 f = (t - __builtin_convertvector(n, Float4)) * 0.693147180559945309f;  // |f| <= ln2 / 2
  Float4 p = Float4{} + 1.0f / 5040.0f;
  p = p * f + 1.0f / 720.0f;
  p = p * f + 1.0f / 120.0f;
  p = p * f + 1.0f / 24.0f;
  p = p * f + 1.0f / 6.0f;
  p = p * f + 0.5f;
  p = p * f + 1.0f;
  p = p * f + 1.0f;
  const Int4 bits = (n + 127) << 23;
  Float4 scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// out[j] = exp(k (a[j] - b[j])), every a[j] <= b[j], k > 0.
void exp_of_difference(const float* a, const float* b, float k, float* out, std::int64_t w) {
  std::int64_t j = 0;
  for (; j + 4 <= w; j += 4) {
    Float4 x, y;
    std::memcpy(&x, a + j, sizeof x);
    std::memcpy(&y, b + j, sizeof y);
    const Float4 e = exp_nonpositive((x - y) * k);
    std::memcpy(out + j, &e, sizeof e);
  }
  for (; j < w; ++j) {
    const Float4 e = exp_nonpositive(Float4{} + (a[j] - b[j]) * k);
    out[j] = e[0];
  }
}

// One chunk's part of the log-sum-exp of log_isotropy_iw, per direction: the tile's max and min
// projection and sum_i exp(p_i - max), sum_i exp(min - p_i).
struct ExpTileSums {
  std::vector<float> hi, lo;
  std::vector<double> pos, neg;
};

// log Z(c) and log Z(-c) for every eigenvector c, Z(c) = sum_i exp(c . x_i): running
// log-sum-exp per direction (max and scaled sum in double). Per chunk of unit rows, as a row task
// (for_each_row_task, single-threaded BLAS: threaded sgemm between OpenMP regions left each
// thread pool spinning while the other worked): one sgemm, then the tile reduced by columns, rows
// in order; the chunks' sums merged in chunk order (thread-count independent). Returns log I =
// min log Z - max log Z over the 2d directions. I(W) depends on the scale of the rows: the tiles
// hold c . (scale x_i), in range for f32, and the exponents are divided by `scale` again.
double log_isotropy_iw(const RowSet& rows, double scale, const std::vector<float>& vectors, std::int64_t step,
                       const ProgressFn& progress, double p0, double p1) {
  const std::int64_t n = rows.size(), d = rows.dim();
  const auto dz = static_cast<std::size_t>(d);
  const int n_threads = std::max(1, omp_get_max_threads());
  const std::int64_t group = n_threads;
  const double ninf = -std::numeric_limits<double>::infinity();
  // 1 / scale, capped where f32 ends: differences of scaled projections that small are rounding.
  const auto exp_factor = static_cast<float>(std::min(1.0 / scale, 0x1p100));
  std::vector<double> max_pos(dz, ninf), sum_pos(dz, 0.0);
  std::vector<double> max_neg(dz, ninf), sum_neg(dz, 0.0);
  // Per thread: the tile, a streamed set's decoded rows, one row's exponentials; per slot: the
  // chunk's sums (all allocated here: nothing throws inside the tasks).
  const auto tile_floats = static_cast<std::size_t>(std::min(step, n) * d);
  std::vector<std::vector<float>> tiles(static_cast<std::size_t>(n_threads), std::vector<float>(tile_floats));
  std::vector<std::vector<float>> decoded = decode_buffers(rows, std::min(step, n));
  std::vector<std::vector<float>> exps(static_cast<std::size_t>(n_threads), std::vector<float>(2 * dz));
  std::vector<ExpTileSums> slots(
      static_cast<std::size_t>(kRowTaskBanks * group),
      ExpTileSums{std::vector<float>(dz), std::vector<float>(dz), std::vector<double>(dz), std::vector<double>(dz)});
  auto task = [&](std::int64_t slot, int thread, std::int64_t c0, std::int64_t m) {
    float* tile = tiles[static_cast<std::size_t>(thread)].data();
    // tile (m x d) = unit rows (m x d) * vectors^T: tile[i][j] = u_i . c_j
    blas::gemm_abt(m, d, d, rows.unit_rows(c0, m, decoded[static_cast<std::size_t>(thread)]), d, vectors.data(), d,
                   tile, d);
    ExpTileSums& s = slots[static_cast<std::size_t>(slot)];
    float* ep = exps[static_cast<std::size_t>(thread)].data();
    float* en = ep + d;
    std::fill(s.hi.begin(), s.hi.end(), -std::numeric_limits<float>::infinity());
    std::fill(s.lo.begin(), s.lo.end(), std::numeric_limits<float>::infinity());
    std::fill(s.pos.begin(), s.pos.end(), 0.0);
    std::fill(s.neg.begin(), s.neg.end(), 0.0);
    // Scale rows to raw projections in place (x_i . c = norm_i u_i . c), and find each column's
    // range in this tile.
    const double* norms = rows.norms.data() + c0;
    for (std::int64_t i = 0; i < m; ++i) {
      float* p = tile + i * d;
      const double r = norms[i] * scale;
      for (std::int64_t j = 0; j < d; ++j) {
        p[j] = static_cast<float>(p[j] * r);
        s.hi[static_cast<std::size_t>(j)] = std::max(s.hi[static_cast<std::size_t>(j)], p[j]);
        s.lo[static_cast<std::size_t>(j)] = std::min(s.lo[static_cast<std::size_t>(j)], p[j]);
      }
    }
    for (std::int64_t i = 0; i < m; ++i) {
      const float* p = tile + i * d;
      exp_of_difference(p, s.hi.data(), exp_factor, ep, d);
      exp_of_difference(s.lo.data(), p, exp_factor, en, d);
      for (std::int64_t j = 0; j < d; ++j) {
        s.pos[static_cast<std::size_t>(j)] += ep[j];
        s.neg[static_cast<std::size_t>(j)] += en[j];
      }
    }
  };
  // Merges (max, sum) of each chunk into the running ones, in chunk order: log-sum-exp in two parts.
  auto merge = [&](std::int64_t first, std::int64_t n_tasks) {
    auto add = [](double& run_max, double& run_sum, double tile_max, double tile_sum) {
      if (tile_max > run_max) {
        run_sum = run_sum * std::exp(run_max - tile_max) + tile_sum;
        run_max = tile_max;
      } else {
        run_sum += tile_sum * std::exp(tile_max - run_max);
      }
    };
    for (std::int64_t t = first; t < first + n_tasks; ++t) {
      const ExpTileSums& s = slots[static_cast<std::size_t>(t)];
      for (std::size_t j = 0; j < dz; ++j) {
        add(max_pos[j], sum_pos[j], s.hi[j] / scale, s.pos[j]);
        add(max_neg[j], sum_neg[j], -static_cast<double>(s.lo[j]) / scale, s.neg[j]);
      }
    }
  };
  {
    blas::BlasThreads one(1);
    for_each_row_task(n, step, group, n_threads, task, merge, progress_between(progress, p0, p1));
  }
  double lo_z = std::numeric_limits<double>::infinity(), hi_z = -lo_z;
  for (std::size_t j = 0; j < static_cast<std::size_t>(d); ++j) {
    for (const double log_z : {max_pos[j] + std::log(sum_pos[j]), max_neg[j] + std::log(sum_neg[j])}) {
      lo_z = std::min(lo_z, log_z);
      hi_z = std::max(hi_z, log_z);
    }
  }
  return lo_z - hi_z;
}

// ---- Transformed sets (--exact: each version built whole for the all-pairs engine) -------

// x'_i = (x_i - mu) - V^T (V (x_i - mu)) - offset for every row, where V (n_v x d, row-major)
// holds the components to remove (n_v may be 0: plain centring) and offset is 0 or a constant
// vector. Rows come out raw (not normalised); transformed_set does that.
// `out` is reused when it already has the shape (no new pages to fault in), else reallocated.
void transformed_rows(const RowSet& rows, double scale, const std::vector<double>& mu, const std::vector<float>& v,
                      std::int64_t n_v, const std::vector<double>* offset, Matrix& out) {
  const std::int64_t n = rows.size(), d = rows.dim();
  if (out.n_rows() != n || out.n_cols() != d) {
    out = Matrix();
    out = Matrix(n, d);
  }
  float* x = out.row(0);
  constexpr std::int64_t kRowsEach = 256;
#pragma omp parallel for schedule(static)
  for (std::int64_t c0 = 0; c0 < n; c0 += kRowsEach)
    centre_rows(rows, scale, mu, c0, std::min(kRowsEach, n - c0), x + c0 * d);
  if (n_v > 0) {
    blas::BlasThreads all(omp_get_max_threads());
    std::vector<float> coef(static_cast<std::size_t>(n * n_v));  // (V x_i)_k
    blas::gemm_abt(n, n_v, d, x, d, v.data(), d, coef.data(), n_v);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blas::blas_int(n, "rows"), blas::blas_int(d, "dimension"),
                blas::blas_int(n_v, "components"), -1.0f, coef.data(), blas::blas_int(n_v, "components"), v.data(),
                blas::blas_int(d, "dimension"), 1.0f, x, blas::blas_int(d, "dimension"));
  }
  if (offset) {
    const std::vector<double>& o = *offset;
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      float* r = x + i * d;
      for (std::int64_t k = 0; k < d; ++k) r[k] = static_cast<float>(r[k] - o[static_cast<std::size_t>(k)]);
    }
  }
}

// A transformed row shorter than this fraction of its stored row has no direction left (it was
// the mean, or lay in the removed components, up to rounding): a zero row of that version.
constexpr double kZeroVersionNorm = 1e-5;

bool usable_version_norm(double version_norm, double stored_norm) {
  return std::isfinite(version_norm) && version_norm > kZeroVersionNorm * stored_norm;
}

// A RowSet of transformed rows (row i of `raw` belongs to model row rows.ids[i]), normalised in
// place in parallel, as make_row_set does (norm in double, x * (1 / norm) rounded to f32). Rows
// with no direction left (usable_version_norm) are dropped and listed in zero_rows.
RowSet transformed_set(const RowSet& rows, double scale, Matrix raw) {
  const std::int64_t n = raw.n_rows(), d = raw.n_cols();
  std::vector<double> norm(static_cast<std::size_t>(n));
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    float* x = raw.row(i);
    const double nr = std::sqrt(squared_norm(x, d));
    norm[static_cast<std::size_t>(i)] = nr;
    if (usable_version_norm(nr, rows.norms[static_cast<std::size_t>(i)] * scale)) {
      const double inv = 1.0 / nr;
      for (std::int64_t k = 0; k < d; ++k) x[k] = static_cast<float>(x[k] * inv);
    }
  }
  RowSet set;
  set.n_total = rows.n_total;
  std::int64_t kept = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double nr = norm[static_cast<std::size_t>(i)];
    const std::int64_t id = rows.ids[static_cast<std::size_t>(i)];
    if (!usable_version_norm(nr, rows.norms[static_cast<std::size_t>(i)] * scale)) {
      set.zero_rows.push_back(id);
      continue;
    }
    if (kept != i) std::copy_n(raw.row(i), d, raw.row(kept));  // compaction, only after a dropped row
    set.ids.push_back(id);
    set.norms.push_back(nr / scale);
    ++kept;
  }
  raw.truncate_rows(kept);
  set.unit = std::move(raw);
  return set;
}

// True when `source` is the bf16 tensor the set was decoded from (its rows by model id, same
// width), the bf16 kernels run on this CPU and the rows' norms are in their range.
bool bf16_source_of(const RowSet& set, const MatrixView& source) {
  if (source.dtype != DType::BF16 || source.data == nullptr || source.n_rows != set.n_total ||
      source.n_cols != set.dim() || !bf16_kernel_available() || set.norms.empty())
    return false;
  const auto [lo, hi] = std::minmax_element(set.norms.begin(), set.norms.end());
  return bf16_norms_in_range(*lo, *hi);
}

// The set's rows as the bf16 sample kernel reads them, when `source` is its bf16 tensor and the
// kernel applies (no --dedup): what `sample` uses on that model, so the as-stored fraction is
// `sample`'s number (its norms recomputed as `sample` does). Empty otherwise.
std::optional<Bf16Rows> bf16_rows_of(const RowSet& set, const MatrixView& source) {
  if (!bf16_source_of(set, source) || !set.merged_rows.empty()) return std::nullopt;
  RowFilter filter;  // padding rows are the ids from the vocabulary's size on
  if (!set.padding_rows.empty()) filter.n_tokens = set.padding_rows.front();
  Bf16Rows b = make_bf16_rows(source, filter);
  if (b.ids != set.ids) return std::nullopt;  // the same rows, or not this path
  return b;
}

// Sampled (and exact) fraction of non-negative pairs of a set, with the given targets.
// `mean_cosine`: the set's exact mean pairwise cosine when the caller has it (else a pass of
// column sums computes it); `bf16`: the same rows for the bf16 sample kernel (bf16_rows_of);
// `cosines`: receives the sampled cosines, n x targets by row position (every target present).
PairFraction pair_fraction(const RowSet& set, const std::vector<std::int64_t>& targets, bool exact,
                           AllPairsResult* exact_out, const char* what, std::vector<std::string>& notes,
                           const ProgressFn& progress, double p0, double p1,
                           std::optional<double> mean_cosine = std::nullopt, const Bf16Rows* bf16 = nullptr,
                           std::vector<float>* cosines = nullptr) {
  PairFraction f;
  f.rows = set.size();
  f.mean_cosine = mean_cosine ? *mean_cosine : identity_mean_cosine(column_sums(set, 1.0), set.size());
  std::vector<std::int64_t> present;
  for (const auto id : targets)
    if (set.index_of(id)) present.push_back(id);
  if (present.size() < targets.size())
    notes.push_back(std::to_string(targets.size() - present.size()) + " target(s) have zero norm " + what +
                    " and were skipped there");
  if (set.size() >= 2 && !present.empty()) {
    std::vector<float> kept;  // targets x the kernel's columns (positions, or model ids for bf16)
    SampleOptions so;
    if (cosines != nullptr && present.size() == targets.size()) so.cosines = &kept;
    const SampleSummary s = bf16 != nullptr ? sample_cosines(*bf16, present, so) : sample_cosines(set, present, so);
    if (so.cosines != nullptr) {
      const std::int64_t n = set.size(), n_t = static_cast<std::int64_t>(present.size());
      const std::int64_t columns = bf16 != nullptr ? bf16->n_total : n;
      cosines->resize(static_cast<std::size_t>(n * n_t));
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < n; ++i) {
        const std::int64_t c = bf16 != nullptr ? set.ids[static_cast<std::size_t>(i)] : i;
        for (std::int64_t t = 0; t < n_t; ++t)
          (*cosines)[static_cast<std::size_t>(i * n_t + t)] = kept[static_cast<std::size_t>(t * columns + c)];
      }
    }
    f.targets = static_cast<std::int64_t>(present.size());
    f.sampled = s.fraction_non_negative;
    f.sampled_std = s.fraction_non_negative_std;
  }
  if (exact && set.size() >= 2) {
    AllPairsOptions o;
    o.per_row = exact_out != nullptr;
    o.progress = progress_between(progress, p0, p1);
    AllPairsResult r = all_pairs(set, o);
    f.exact = r.fraction_non_negative;
    f.exact_pairs = r.pairs;
    if (exact_out) *exact_out = std::move(r);
  }
  return f;
}

// ---- Sampled fractions of the transformed versions, by algebra ----------------------------
//
// Without --exact the centred and all-but-the-top versions are only sampled (targets x all
// rows), and their dot products follow from the stored rows without building any version. With
// c_i = x_i - mu, V the removed components (rows), p_i = V c_i and m = V mu:
//   centred:                      c_i . c_t
//   all-but-the-top:              (c_i - V^T p_i) . (c_t - V^T p_t) = c_i . c_t - p_i . p_t
//   all-but-the-top, raw:         the same rows minus V^T m, which is orthogonal to them: + |m|^2
// and the squared norms alike: |c_i|^2 (from the common-direction pass, in double), minus
// |p_i|^2, plus |m|^2. Every c_i . c_t = norm_i norm_t cos(x_i, x_t) - x_i . mu - mu . c_t comes
// from the cosines the as-stored fraction computed for the same targets (`target_cosines`, n x T
// by row position) and x_i . mu from the common-direction pass (`dot_mu`); every p_i from the
// randomized spectrum's stored products (RandomizedSpectrum::projections, `projections`, n x D),
// or, after the exact spectrum (small shapes), from one sgemm per chunk of the unit rows against
// V; every p_i . p_t from a small sgemm. The mean cosine of each version (identity, section 1)
// needs the sum of its unit rows, sum_i w_i y_i with w_i = 1 / |y_i|, which is
// sum_i (w_i norm_i) u_i - mu sum_i w_i - V^T (sum_i w_i p_i) (- V^T m sum_i w_i): a skinny sgemm
// per chunk, the one read of the rows. Transforming each chunk of rows and dotting every version
// with the targets took 3 T + 2 D vectors per row and a copy of every row.
constexpr int kVersions = 3;  // centred, all-but-the-top, all-but-the-top (raw projection)

std::vector<PairFraction> sampled_versions(const RowSet& rows, double scale, const std::vector<double>& mu,
                                           const std::vector<double>& centred_norm, const std::vector<float>& v,
                                           std::int64_t n_v, const std::vector<float>* projections,
                                           const std::vector<std::int64_t>& targets,
                                           const std::vector<float>& target_cosines, const std::vector<double>& dot_mu,
                                           std::int64_t step, std::vector<std::string>& notes,
                                           const ProgressFn& progress, double p0, double p1) {
  static constexpr const char* kWhat[kVersions] = {"after centring", "after all-but-the-top",
                                                   "after all-but-the-top (raw projection)"};
  const std::int64_t n = rows.size(), d = rows.dim();
  const auto n_t = static_cast<std::int64_t>(targets.size());
  if (static_cast<std::int64_t>(target_cosines.size()) != n * n_t)
    throw Error(ErrorKind::Internal, "", "sampled versions: the target cosines do not match the rows");
  const std::int64_t width = projections != nullptr ? 0 : n_v;  // columns of the per-chunk product: V
  const auto nvz = static_cast<std::size_t>(n_v), dz = static_cast<std::size_t>(d);

  // m = V mu and |m|^2; per target: c_t, mu . c_t, p_t, and its norm in each version.
  std::vector<double> vm(nvz, 0.0);
  for (std::int64_t k = 0; k < n_v; ++k)
    for (std::int64_t c = 0; c < d; ++c) vm[static_cast<std::size_t>(k)] += v[k * dz + c] * mu[c];
  double vm_sq = 0;
  for (const double x : vm) vm_sq += x * x;
  std::vector<double> mu_ct(static_cast<std::size_t>(n_t));
  std::vector<float> pt(static_cast<std::size_t>(n_t) * nvz);
  std::vector<std::int64_t> target_pos(static_cast<std::size_t>(n_t));
  std::vector<std::vector<char>> target_ok(kVersions, std::vector<char>(static_cast<std::size_t>(n_t), 0));
  for (std::int64_t t = 0; t < n_t; ++t) {
    const std::int64_t pos = *rows.index_of(targets[static_cast<std::size_t>(t)]);
    target_pos[static_cast<std::size_t>(t)] = pos;
    std::vector<float> u(dz);
    rows.unit_columns(pos, 0, d, u.data());
    const double r = rows.norms[static_cast<std::size_t>(pos)] * scale;
    std::vector<double> ct(dz);
    for (std::int64_t c = 0; c < d; ++c) ct[static_cast<std::size_t>(c)] = r * u[c] - mu[static_cast<std::size_t>(c)];
    mu_ct[static_cast<std::size_t>(t)] = dot(mu, ct);
    double pp = 0;
    for (std::int64_t k = 0; k < n_v; ++k) {
      double x = 0;
      for (std::int64_t c = 0; c < d; ++c) x += v[k * dz + c] * ct[static_cast<std::size_t>(c)];
      pt[static_cast<std::size_t>(t * n_v + k)] = static_cast<float>(x);
      pp += x * x;
    }
    const double c_sq = centred_norm[static_cast<std::size_t>(pos)] * centred_norm[static_cast<std::size_t>(pos)];
    const double norms[kVersions] = {c_sq, c_sq - pp, c_sq - pp + vm_sq};
    for (int s = 0; s < kVersions; ++s)
      target_ok[s][static_cast<std::size_t>(t)] = usable_version_norm(std::sqrt(std::max(norms[s], 0.0)), r) ? 1 : 0;
  }

  // Tasks of `step` rows (for_each_row_task): each task's sums go to its slot, added in order
  // after each group; counts are integers, kept per thread.
  const int n_threads = std::max(1, omp_get_max_threads());
  const std::int64_t cap = std::min(step, n);
  struct Scratch {
    std::vector<float> a, p, pp, w;                          // rows x width, rows x n_v, rows x n_t, rows x kVersions
    std::vector<float> decoded;                              // a streamed set's unit rows of the task
    std::vector<char> ok;                                    // rows x kVersions: usable in that version
    std::vector<std::int64_t> non_negative, negative, rows;  // [version][target], [version]
  };
  std::vector<Scratch> scratch(static_cast<std::size_t>(n_threads));
  for (Scratch& sc : scratch) {
    sc.a.resize(static_cast<std::size_t>(cap * width));
    if (rows.streamed) sc.decoded.resize(static_cast<std::size_t>(cap * d));
    sc.p.resize(static_cast<std::size_t>(cap) * nvz);
    sc.pp.resize(static_cast<std::size_t>(cap * n_t));
    sc.w.resize(static_cast<std::size_t>(cap * kVersions));
    sc.ok.resize(static_cast<std::size_t>(cap * kVersions));
    sc.non_negative.assign(kVersions * static_cast<std::size_t>(n_t), 0);
    sc.negative.assign(kVersions * static_cast<std::size_t>(n_t), 0);
    sc.rows.assign(kVersions, 0);
  }
  constexpr std::int64_t kTaskGroup = 32;
  // Per slot: sum_i (w_i norm_i) u_i (kVersions x d), sum_i w_i (kVersions), sum_i w_i p_i (2 x n_v).
  const std::size_t slot_size = kVersions * dz + kVersions + 2 * nvz;
  std::vector<double> slots(static_cast<std::size_t>(kRowTaskBanks * kTaskGroup) * slot_size);
  std::vector<double> total(slot_size, 0.0);
  std::vector<float> part_buffer(static_cast<std::size_t>(n_threads) * kVersions * dz);
  auto task = [&](std::int64_t q, int thread, std::int64_t c0, std::int64_t m) {
    Scratch& sc = scratch[static_cast<std::size_t>(thread)];
    double* slot = slots.data() + static_cast<std::size_t>(q) * slot_size;
    std::fill(slot, slot + slot_size, 0.0);
    const float* unit = rows.unit_rows(c0, m, sc.decoded);
    if (width > 0) blas::gemm_abt(m, width, d, unit, d, v.data(), d, sc.a.data(), width);
    for (std::int64_t i = 0; i < m; ++i) {
      const auto ii = static_cast<std::size_t>(i);
      const double r = rows.norms[static_cast<std::size_t>(c0 + i)] * scale;
      const float* ai = sc.a.data() + i * width;
      double pp = 0;
      const float* given = projections != nullptr ? projections->data() + (c0 + i) * n_v : nullptr;
      for (std::int64_t k = 0; k < n_v; ++k) {
        const double x = given != nullptr ? static_cast<double>(given[k])
                                          : r * static_cast<double>(ai[k]) - vm[static_cast<std::size_t>(k)];
        sc.p[ii * nvz + static_cast<std::size_t>(k)] = static_cast<float>(x);
        pp += x * x;
      }
      const double c = centred_norm[static_cast<std::size_t>(c0 + i)];
      const double sq[kVersions] = {c * c, c * c - pp, c * c - pp + vm_sq};
      for (int s = 0; s < kVersions; ++s) {
        const double nr = std::sqrt(std::max(sq[s], 0.0));
        const bool ok = usable_version_norm(nr, r);
        sc.ok[ii * kVersions + static_cast<std::size_t>(s)] = ok ? 1 : 0;
        const double w = ok ? 1.0 / nr : 0.0;
        sc.w[ii * kVersions + static_cast<std::size_t>(s)] = static_cast<float>(w * r);
        slot[kVersions * dz + static_cast<std::size_t>(s)] += w;
        if (s > 0)
          for (std::int64_t k = 0; k < n_v; ++k)
            slot[kVersions * dz + kVersions + static_cast<std::size_t>(s - 1) * nvz + static_cast<std::size_t>(k)] +=
                w * sc.p[ii * nvz + static_cast<std::size_t>(k)];
        sc.rows[static_cast<std::size_t>(s)] += ok;
      }
    }
    // sum_i (w_i norm_i) u_i per version.
    float* part = part_buffer.data() + static_cast<std::size_t>(thread) * kVersions * dz;
    blas::gemm_atb(kVersions, d, m, sc.w.data(), kVersions, unit, d, part, d);
    for (std::size_t e = 0; e < kVersions * dz; ++e) slot[e] += part[e];
    if (n_v > 0) blas::gemm_abt(m, n_t, n_v, sc.p.data(), n_v, pt.data(), n_v, sc.pp.data(), n_t);
    // Signs against every usable target: cos >= 0 exactly when the dot product is >= 0.
    for (std::int64_t i = 0; i < m; ++i) {
      const auto ii = static_cast<std::size_t>(i);
      const float* ppi = sc.pp.data() + i * n_t;
      const std::int64_t pos = c0 + i;
      const double r = rows.norms[static_cast<std::size_t>(pos)] * scale;
      const float* cos_i = target_cosines.data() + pos * n_t;
      const double xi_mu = dot_mu[static_cast<std::size_t>(pos)];
      for (std::int64_t t = 0; t < n_t; ++t) {
        if (target_pos[static_cast<std::size_t>(t)] == pos) continue;
        // c_i . c_t = x_i . x_t - x_i . mu - mu . c_t
        const double r_t = rows.norms[static_cast<std::size_t>(target_pos[static_cast<std::size_t>(t)])] * scale;
        const double centred = r * r_t * static_cast<double>(cos_i[t]) - xi_mu - mu_ct[static_cast<std::size_t>(t)];
        const double projected = centred - (n_v > 0 ? static_cast<double>(ppi[t]) : 0.0);
        const double value[kVersions] = {centred, projected, projected + vm_sq};
        for (int s = 0; s < kVersions; ++s) {
          if (!target_ok[s][static_cast<std::size_t>(t)] || !sc.ok[ii * kVersions + static_cast<std::size_t>(s)])
            continue;
          const std::size_t at =
              static_cast<std::size_t>(s) * static_cast<std::size_t>(n_t) + static_cast<std::size_t>(t);
          ++(value[s] >= 0 ? sc.non_negative : sc.negative)[at];
        }
      }
    }
  };
  auto merge = [&](std::int64_t first, std::int64_t n_tasks) {
    for (std::int64_t q = first; q < first + n_tasks; ++q) {
      const double* slot = slots.data() + static_cast<std::size_t>(q) * slot_size;
      for (std::size_t e = 0; e < slot_size; ++e) total[e] += slot[e];
    }
  };
  blas::BlasThreads one(1);
  for_each_row_task(n, step, kTaskGroup, n_threads, task, merge, progress_between(progress, p0, p1));

  std::vector<PairFraction> out(kVersions);
  for (int s = 0; s < kVersions; ++s) {
    PairFraction& f = out[static_cast<std::size_t>(s)];
    for (const Scratch& sc : scratch) f.rows += sc.rows[static_cast<std::size_t>(s)];
    // Sum of the version's unit rows: sum (w norm) u - mu sum w - V^T (sum w p) (- V^T m sum w).
    const double* su = total.data() + static_cast<std::size_t>(s) * dz;
    const double sw = total[kVersions * dz + static_cast<std::size_t>(s)];
    std::vector<double> sum(su, su + d);
    for (std::int64_t c = 0; c < d; ++c) sum[static_cast<std::size_t>(c)] -= mu[static_cast<std::size_t>(c)] * sw;
    if (s > 0)
      for (std::int64_t k = 0; k < n_v; ++k) {
        double coef =
            total[kVersions * dz + kVersions + static_cast<std::size_t>(s - 1) * nvz + static_cast<std::size_t>(k)];
        if (s == 2) coef += vm[static_cast<std::size_t>(k)] * sw;
        for (std::int64_t c = 0; c < d; ++c)
          sum[static_cast<std::size_t>(c)] -= coef * v[static_cast<std::size_t>(k) * dz + static_cast<std::size_t>(c)];
      }
    if (f.rows >= 2)
      // The unit rows are exact in double here: sum |u_i|^2 = rows.
      f.mean_cosine = (dot(sum, sum) - static_cast<double>(f.rows)) /
                      (static_cast<double>(f.rows) * static_cast<double>(f.rows - 1));
    std::int64_t n_p = 0;
    for (const char ok : target_ok[static_cast<std::size_t>(s)]) n_p += ok;
    if (n_p < n_t)
      notes.push_back(std::to_string(n_t - n_p) + " target(s) have zero norm " + kWhat[s] + " and were skipped there");
    if (f.rows < 2 || n_p == 0) continue;
    // Per target: the fraction of the other rows with cos >= 0; mean and population std over targets.
    std::vector<double> frac;
    double mean = 0;
    for (std::int64_t t = 0; t < n_t; ++t) {
      if (!target_ok[static_cast<std::size_t>(s)][static_cast<std::size_t>(t)]) continue;
      const std::size_t at = static_cast<std::size_t>(s) * static_cast<std::size_t>(n_t) + static_cast<std::size_t>(t);
      std::int64_t nn = 0, all_j = 0;
      for (const Scratch& sc : scratch) {
        nn += sc.non_negative[at];
        all_j += sc.non_negative[at] + sc.negative[at];
      }
      frac.push_back(all_j ? static_cast<double>(nn) / static_cast<double>(all_j) : 0.0);
      mean += frac.back();
    }
    mean /= static_cast<double>(n_p);
    double var = 0;
    for (const double q : frac) var += (q - mean) * (q - mean);
    f.targets = n_p;
    f.sampled = mean;
    f.sampled_std = std::sqrt(var / static_cast<double>(n_p));
  }
  return out;
}

// ---- Odd rows -----------------------------------------------------------------------------

// 64-bit hash of a byte string: four independent multiply-xorshift lanes over 8-byte words.
std::uint64_t hash_bytes(const std::uint8_t* p, std::size_t n) {
  constexpr std::uint64_t kMul = 0x9e3779b97f4a7c15ULL;
  std::uint64_t h[4] = {0x243f6a8885a308d3ULL, 0x13198a2e03707344ULL, 0xa4093822299f31d0ULL, 0x082efa98ec4e6c89ULL};
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (std::size_t l = 0; l < 4; ++l) {
      std::uint64_t w;
      std::memcpy(&w, p + i + 8 * l, 8);
      h[l] = (h[l] ^ w) * kMul;
      h[l] ^= h[l] >> 29;
    }
  std::uint64_t tail = n;
  for (; i < n; ++i) tail = (tail ^ p[i]) * kMul;
  std::uint64_t out = tail;
  for (const auto x : h) out = (out ^ x) * kMul, out ^= out >> 32;
  return out;
}

Duplicates find_duplicates(const RowSet& rows, const MatrixView& source, int n_listed) {
  Duplicates dup;
  const std::int64_t n = rows.size();
  dup.by_source_bytes = source.n_rows > 0 && source.n_rows == rows.n_total && source.data != nullptr;
  const std::size_t unit_bytes = sizeof(float) * static_cast<std::size_t>(rows.dim());
  // The bytes compared for row position i: its encoded row, or its unit row + norm.
  auto row_hash = [&](std::int64_t i) -> std::uint64_t {
    if (dup.by_source_bytes)
      return hash_bytes(source.row(rows.ids[static_cast<std::size_t>(i)]), static_cast<std::size_t>(source.row_bytes));
    const std::uint64_t h = hash_bytes(reinterpret_cast<const std::uint8_t*>(rows.unit.row(i)), unit_bytes);
    return h ^ (std::bit_cast<std::uint64_t>(rows.norms[static_cast<std::size_t>(i)]) * 0x9e3779b97f4a7c15ULL);
  };
  auto same = [&](std::int64_t a, std::int64_t b) {
    if (dup.by_source_bytes)
      return std::memcmp(source.row(rows.ids[static_cast<std::size_t>(a)]),
                         source.row(rows.ids[static_cast<std::size_t>(b)]),
                         static_cast<std::size_t>(source.row_bytes)) == 0;
    return rows.norms[static_cast<std::size_t>(a)] == rows.norms[static_cast<std::size_t>(b)] &&
           std::memcmp(rows.unit.row(a), rows.unit.row(b), unit_bytes) == 0;
  };
  std::vector<std::pair<std::uint64_t, std::int64_t>> keyed(static_cast<std::size_t>(n));
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) keyed[static_cast<std::size_t>(i)] = {row_hash(i), i};
  std::sort(keyed.begin(), keyed.end());

  std::vector<DuplicateGroup> groups;
  for (std::size_t a = 0; a < keyed.size();) {
    std::size_t b = a + 1;
    while (b < keyed.size() && keyed[b].first == keyed[a].first) ++b;
    if (b - a > 1) {
      // Split the equal-hash run into classes of identical rows (collisions are vanishingly rare).
      std::vector<bool> used(b - a, false);
      for (std::size_t x = a; x < b; ++x) {
        if (used[x - a]) continue;
        DuplicateGroup g;
        g.ids.push_back(rows.ids[static_cast<std::size_t>(keyed[x].second)]);
        for (std::size_t y = x + 1; y < b; ++y)
          if (!used[y - a] && same(keyed[x].second, keyed[y].second)) {
            used[y - a] = true;
            g.ids.push_back(rows.ids[static_cast<std::size_t>(keyed[y].second)]);
          }
        if (g.ids.size() > 1) {
          std::sort(g.ids.begin(), g.ids.end());
          groups.push_back(std::move(g));
        }
      }
    }
    a = b;
  }
  double pairs = 0;
  for (const auto& g : groups) {
    const auto s = static_cast<std::int64_t>(g.ids.size());
    dup.rows += s;
    pairs += 0.5 * static_cast<double>(s) * static_cast<double>(s - 1);
  }
  dup.groups = static_cast<std::int64_t>(groups.size());
  dup.redundant = dup.rows - dup.groups;
  dup.pair_fraction = n > 1 ? pairs / (0.5 * static_cast<double>(n) * static_cast<double>(n - 1)) : 0.0;
  std::sort(groups.begin(), groups.end(), [](const DuplicateGroup& x, const DuplicateGroup& y) {
    return x.ids.size() != y.ids.size() ? x.ids.size() > y.ids.size() : x.ids.front() < y.ids.front();
  });
  if (groups.size() > static_cast<std::size_t>(std::max(n_listed, 0)))
    groups.resize(static_cast<std::size_t>(n_listed));
  dup.largest = std::move(groups);
  return dup;
}

// Percent of values strictly below v in a sorted list.
double percent_below(const std::vector<double>& sorted, double v) {
  const auto k = std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin();
  return 100.0 * static_cast<double>(k) / static_cast<double>(sorted.size());
}

// Value at the p-th percentile (linear interpolation) of a sorted list.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double pos = std::clamp(p / 100.0, 0.0, 1.0) * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

}  // namespace

Distribution describe(std::vector<double> values) {
  Distribution d;
  d.count = static_cast<std::int64_t>(values.size());
  if (values.empty()) return d;
  std::sort(values.begin(), values.end());
  d.min = values.front();
  d.max = values.back();
  d.p25 = percentile(values, 25);
  d.median = percentile(values, 50);
  d.p75 = percentile(values, 75);
  double sum = 0;
  std::int64_t positive = 0;
  for (const double v : values) {
    sum += v;
    positive += v > 0;
  }
  d.mean = sum / static_cast<double>(values.size());
  d.fraction_positive = static_cast<double>(positive) / static_cast<double>(values.size());
  return d;
}

double isoscore(const std::vector<double>& eigenvalues) {
  const double d = static_cast<double>(eigenvalues.size());
  if (eigenvalues.size() < 2) throw Error(ErrorKind::Usage, "", "IsoScore needs at least 2 dimensions");
  double norm_sq = 0;
  for (const double l : eigenvalues) norm_sq += std::max(l, 0.0) * std::max(l, 0.0);
  if (!(norm_sq > 0)) return 0;
  const double scale = std::sqrt(d) / std::sqrt(norm_sq);
  double dev_sq = 0;  // |lambda^ - 1|^2
  for (const double l : eigenvalues) {
    const double x = std::max(l, 0.0) * scale - 1.0;
    dev_sq += x * x;
  }
  const double sd = std::sqrt(d);
  const double delta_sq = dev_sq / (2.0 * (d - sd));
  const double k = d - delta_sq * (d - sd);  // = d - delta^2 (d - sqrt d), in [sqrt d, d]
  return std::clamp((k * k - d) / (d * (d - 1.0)), 0.0, 1.0);
}

double analysis_scale(const std::vector<double>& norms) {
  const double top = norms.empty() ? 1.0 : *std::max_element(norms.begin(), norms.end());
  // Unscaled in the bf16 kernels' range: those read the stored rows and cannot scale them.
  if (!(top > 0) || !std::isfinite(top) || (top >= kBf16MinNorm && top <= kBf16MaxNorm)) return 1.0;
  return std::ldexp(1.0, -std::ilogb(top));
}

GeometryReport analyze_geometry(const RowSet& rows, const Vocabulary& vocab, const GeometryOptions& options,
                                const MatrixView& given_source) {
  // A streamed set's rows are its source: every use of the encoded rows reads that one.
  const MatrixView& source = rows.streamed ? rows.source : given_source;
  const std::int64_t n = rows.size(), d = rows.dim();
  if (n < 2) throw_usage("geometry needs at least 2 rows with a non-zero norm (have " + std::to_string(n) + ")");
  if (d < 2) throw_usage("geometry needs vectors of at least 2 dimensions");
  if (options.components < 1) throw_usage("--components must be at least 1");
  if (options.remove < -1) throw_usage("--remove must be >= 0");
  if (!(options.outlier_percentile > 0 && options.outlier_percentile < 100))
    throw_usage("--outlier-percentile must be in (0, 100)");
  const ProgressFn& progress = options.progress;
  auto report_progress = [&](double f) {
    if (progress) progress(f);
  };
  GeometryReport rep;
  Stopwatch stopwatch;
  auto lap = [&](const char* stage) { rep.timings.push_back({stopwatch.lap(), stage}); };

  rep.rows = n;
  rep.dim = d;
  rep.total_rows = rows.n_total;
  rep.zero_rows = rows.zero_rows;
  rep.non_finite_rows = rows.non_finite_rows;
  rep.padding_rows = static_cast<std::int64_t>(rows.padding_rows.size());
  rep.merged_rows = static_cast<std::int64_t>(rows.merged_rows.size());
  rep.seed = options.seed;
  const double nd = static_cast<double>(n);

  // Every product below is taken on the rows times `scale` (analysis_scale: a power of two, 1 for
  // ordinary norms), so that rows of any norm within float range neither overflow nor underflow
  // f32; mu, the centroid distances and the spectrum are those of the scaled rows, and the
  // numbers that carry units are divided by the scale again when reported.
  const double scale = analysis_scale(rows.norms);

  // ---- 1. Common direction: O(n d) ----
  const ColumnSums sums = column_sums(rows, scale);
  std::vector<double> mu(static_cast<std::size_t>(d));
  for (std::size_t k = 0; k < mu.size(); ++k) mu[k] = sums.raw[k] / nd;
  const double mu_norm = std::sqrt(dot(mu, mu));
  const double su_norm = std::sqrt(dot(sums.unit, sums.unit));
  double norm_sum = 0, norm_sq_sum = 0;  // of the scaled norms
  for (const double r : rows.norms) {
    norm_sum += r * scale;
    norm_sq_sum += (r * scale) * (r * scale);
  }
  rep.mean_norm = norm_sum / nd / scale;
  rep.mean_vector_norm = mu_norm / scale;
  rep.mean_norm_ratio = norm_sum > 0 ? mu_norm / (norm_sum / nd) : 0;
  rep.unit_mean_norm = su_norm / nd;
  rep.offset_share = norm_sq_sum > 0 ? mu_norm * mu_norm / (norm_sq_sum / nd) : 0;
  rep.mean_cosine = identity_mean_cosine(sums, n);

  // Per row: cos to mu, cos to the unit mean, mean cosine to all other rows, distance to mu.
  std::vector<double> cos_mu(static_cast<std::size_t>(n)), cos_um(static_cast<std::size_t>(n)),
      row_mean_cos(static_cast<std::size_t>(n)), dist(static_cast<std::size_t>(n)),
      dot_mu(static_cast<std::size_t>(n));  // x_i . mu, for the sampled versions
  std::vector<std::vector<float>> decoded = decode_buffers(rows, 1);
#pragma omp parallel num_threads(static_cast <int>(decoded.size()))
  {
    std::vector<float>& row = decoded[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const auto [a, b, uu, dd] = row_moments(
          rows.unit_rows(i, 1, row), rows.norms[static_cast<std::size_t>(i)] * scale, mu.data(), sums.unit.data(), d);
      const auto ii = static_cast<std::size_t>(i);
      cos_mu[ii] = mu_norm > 0 ? a / (std::sqrt(uu) * mu_norm) : 0.0;
      dot_mu[ii] = rows.norms[ii] * scale * a;
      cos_um[ii] = su_norm > 0 ? b / (std::sqrt(uu) * su_norm) : 0.0;
      row_mean_cos[ii] = (b - uu) / (nd - 1.0);
      dist[ii] = std::sqrt(dd);
    }
  }
  rep.cos_to_mean = describe(cos_mu);
  rep.cos_to_unit_mean = describe(cos_um);
  const std::vector<double>& norms = rows.norms;
  std::vector<double> distances(dist);  // |x_i - mu| unscaled, for the report
  for (double& x : distances) x /= scale;
  rep.norms = describe(norms);
  rep.centroid_distances = describe(distances);
  lap("common direction");
  report_progress(0.03);

  // ---- 4. Rogue dimensions: C_k = ((sum u_k)^2 - sum u_k^2) / (n (n-1)) ----
  {
    std::vector<RogueDimension> dims(static_cast<std::size_t>(d));
    const double pairs = nd * (nd - 1.0);
    for (std::int64_t k = 0; k < d; ++k) {
      const auto kk = static_cast<std::size_t>(k);
      dims[kk].dim = k;
      dims[kk].contribution = (sums.unit[kk] * sums.unit[kk] - sums.unit_sq[kk]) / pairs;
      dims[kk].share = rep.mean_cosine != 0 ? dims[kk].contribution / rep.mean_cosine : 0.0;
    }
    std::stable_sort(dims.begin(), dims.end(),
                     [](const RogueDimension& x, const RogueDimension& y) { return x.contribution > y.contribution; });
    dims.resize(static_cast<std::size_t>(std::clamp<std::int64_t>(options.rogue, 0, d)));
    for (const auto& r : dims) rep.rogue_share += r.share;
    rep.rogue_dimensions = std::move(dims);
  }

  lap("rogue dimensions");

  // ---- 6. Odd rows ----
  rep.duplicates = find_duplicates(rows, source, options.duplicate_groups);
  {
    rep.outlier_percentile = options.outlier_percentile;
    std::vector<double> sorted_norms = norms, sorted_dist = distances;
    std::sort(sorted_norms.begin(), sorted_norms.end());
    std::sort(sorted_dist.begin(), sorted_dist.end());
    rep.norm_threshold = percentile(sorted_norms, options.outlier_percentile);
    rep.distance_threshold = percentile(sorted_dist, options.outlier_percentile);
    for (std::int64_t i = 0; i < n; ++i) {
      rep.low_norm_rows += norms[static_cast<std::size_t>(i)] < rep.norm_threshold;
      rep.low_distance_rows += distances[static_cast<std::size_t>(i)] < rep.distance_threshold;
    }
    std::vector<std::int64_t> order(static_cast<std::size_t>(n));
    const auto k = static_cast<std::size_t>(std::clamp<std::int64_t>(options.outliers, 0, n));
    auto add = [&](const std::vector<double>& key, bool ascending, const char* reason) {
      std::iota(order.begin(), order.end(), std::int64_t{0});
      std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                        [&](std::int64_t a, std::int64_t b) {
                          const double ka = key[static_cast<std::size_t>(a)], kb = key[static_cast<std::size_t>(b)];
                          if (ka != kb) return ascending ? ka < kb : ka > kb;
                          return a < b;
                        });
      for (std::size_t j = 0; j < k; ++j) {
        const auto i = static_cast<std::size_t>(order[j]);
        const std::int64_t id = rows.ids[i];
        auto it = std::find_if(rep.outliers.begin(), rep.outliers.end(), [&](const OddRow& o) { return o.id == id; });
        if (it != rep.outliers.end()) {
          it->reason += std::string(",") + reason;
          continue;
        }
        OddRow o;
        o.id = id;
        o.norm = norms[i];
        o.centroid_distance = distances[i];
        o.norm_percentile = percent_below(sorted_norms, norms[i]);
        o.distance_percentile = percent_below(sorted_dist, distances[i]);
        o.reason = reason;
        rep.outliers.push_back(std::move(o));
      }
    };
    add(norms, true, "low_norm");
    add(distances, true, "low_centroid_distance");
    add(norms, false, "high_norm");
  }
  lap("odd rows");
  report_progress(0.05);

  // ---- 3. Principal components ----
  const std::int64_t n_remove = std::min<std::int64_t>(
      d - 1,
      options.remove >= 0 ? options.remove : std::max<std::int64_t>(1, std::llround(static_cast<double>(d) / 100.0)));
  rep.removed = static_cast<int>(n_remove);
  std::vector<float> top_vectors;          // n_remove x d, row-major
  std::vector<float> removed_projections;  // randomized spectrum: (x_i - mu) . v_k, n x n_remove
  std::vector<double> raw_offset(static_cast<std::size_t>(d), 0.0);  // V^T V mu: the raw-projection variant
  const double covariance_work = nd * static_cast<double>(d) * static_cast<double>(d);
  const bool exact_spectrum =
      options.spectrum == SpectrumMethod::Exact ||
      (options.spectrum == SpectrumMethod::Auto &&
       (options.exact || exact_spectrum_work(n, d, options.isotropy_iw) <= kExactSpectrumMaxWork));
  // Sets total_variance, eigenvalues, explained and removed variance from the (descending)
  // eigenvalues or Ritz values, and the removed components with the raw-projection offset.
  // Values and total are those of the scaled rows: reported divided by scale^2.
  const double unscale_sq = 1.0 / (scale * scale);
  auto take_spectrum = [&](std::vector<double>& values, double total, const std::vector<double>& vectors) {
    for (auto& l : values) l = std::max(l, 0.0);  // round-off can leave tiny negatives
    rep.total_variance = total * unscale_sq;
    const auto k = static_cast<std::size_t>(std::min<std::int64_t>(options.components, d));
    rep.eigenvalues.assign(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(std::min(k, values.size())));
    for (const double l : rep.eigenvalues) rep.explained_variance.push_back(total > 0 ? l / total : 0.0);
    for (double& l : rep.eigenvalues) l *= unscale_sq;
    for (std::int64_t j = 0; j < n_remove; ++j)
      rep.removed_variance += total > 0 ? values[static_cast<std::size_t>(j)] / total : 0.0;
    // Which D components are removed is well defined only when eigenvalue D stands clear of D + 1.
    if (n_remove >= 1 && static_cast<std::int64_t>(values.size()) > n_remove) {
      const double at = values[static_cast<std::size_t>(n_remove - 1)],
                   next = values[static_cast<std::size_t>(n_remove)];
      rep.removal_gap = at > 0 ? (at - next) / at : 0.0;
      if (*rep.removal_gap < kRemovalGapNote)
        rep.notes.push_back(fmt::format(
            "eigenvalues {} and {} differ by only {:.2g} %: which {} components all-but-the-top removes is barely "
            "determined, and its raw-projection fraction depends on that choice (the centred one hardly does)",
            n_remove, n_remove + 1, 100.0 * *rep.removal_gap, n_remove));
    }
    top_vectors.assign(vectors.begin(), vectors.begin() + static_cast<std::ptrdiff_t>(n_remove * d));
    for (std::int64_t j = 0; j < n_remove; ++j) {
      const double* v = vectors.data() + j * d;
      double c = 0;
      for (std::int64_t k2 = 0; k2 < d; ++k2) c += v[k2] * mu[static_cast<std::size_t>(k2)];
      for (std::int64_t k2 = 0; k2 < d; ++k2) raw_offset[static_cast<std::size_t>(k2)] += c * v[k2];
    }
  };
  // Progress: the spectrum runs from 0.05 to spectrum_end; `within(f)` is fraction f of it. Without
  // --exact it is most of the work (about three quarters at the largest shapes, the sampled
  // fractions and the classes a few per cent each); with it the four all-pairs passes dominate.
  const double spectrum_end = options.exact ? 0.6 : 0.85;
  auto within = [&](double f) { return 0.05 + (spectrum_end - 0.05) * f; };
  if (exact_spectrum) {
    const bool want_iw = options.isotropy_iw;
    const std::int64_t blas_step = options.blas_chunk_rows > 0 ? options.blas_chunk_rows : chunk_rows(d);
    std::vector<double> scatter =
        centred_scatter(rows, scale, mu, blas_step, progress, within(0), within(want_iw ? 0.35 : 0.9));
    lap("covariance (ssyrk)");
    std::vector<double> second;  // X^T X = scatter + n mu mu^T (upper triangle), for I(W)
    if (want_iw) {
      second = scatter;
      for (std::int64_t a = 0; a < d; ++a)
        for (std::int64_t b = a; b < d; ++b)
          second[static_cast<std::size_t>(a * d + b)] +=
              nd * mu[static_cast<std::size_t>(a)] * mu[static_cast<std::size_t>(b)];
    }
    for (auto& v : scatter) v /= nd;  // covariance, 1/n
    TopEigen eig = top_eigen(scatter, d, n_remove, matrix_description(scatter, "covariance", n, d, scale));
    scatter = {};
    double total = 0, frobenius_sq = 0;
    for (const double l : eig.values) {
      total += std::max(l, 0.0);
      frobenius_sq += std::max(l, 0.0) * std::max(l, 0.0);
    }
    rep.isoscore = isoscore(eig.values);
    take_spectrum(eig.values, total, eig.vectors);
    rep.spectrum.method = "exact";
    rep.spectrum.frobenius_norm = std::sqrt(frobenius_sq) * unscale_sq;
    lap("eigenvalues + top D vectors");
    report_progress(within(want_iw ? 0.42 : 1.0));
    rep.spectrum.isotropy_iw = want_iw ? "computed" : "off";
    if (want_iw) {
      const std::vector<float> vectors =
          all_eigenvectors(second, d, matrix_description(second, "second-moment matrix X^T X", n, d, scale));
      second = {};
      lap("eigenvectors of W^T W (dsyevd)");
      report_progress(within(0.45));
      const double log_i = log_isotropy_iw(rows, scale, vectors, blas_step, progress, within(0.45), within(1.0));
      rep.log_isotropy_iw = log_i;
      rep.isotropy_iw = std::exp(log_i);
      lap("I(W) projections (sgemm)");
    }
  } else {
    SpectrumOptions so;
    so.wanted = std::max<std::int64_t>({options.components, n_remove, 1});
    so.passes = options.spectrum_passes;
    so.seed = options.seed;
    double trace = 0;  // (1/n) sum |x_i - mu|^2, from the centroid distances (in order)
    for (const double x : dist) trace += x * x;
    so.trace = trace / nd;
    so.progress = progress_between(progress, within(0), within(1));
    so.scale = scale;
    // A bf16 checkpoint's stored rows: the products read them with the bf16 kernels.
    if (bf16_source_of(rows, source)) so.bf16_rows = &source;
    // The removed components' row projections for the sampled versions (not needed with --exact).
    if (!options.exact) so.row_projections = n_remove;
    RandomizedSpectrum rs = randomized_spectrum(rows, mu, so);
    removed_projections = std::move(rs.projections);
    take_spectrum(rs.values, rs.trace, rs.vectors);
    SpectrumInfo& info = rep.spectrum;
    info.method = "randomized";
    info.kernel = rs.bf16 ? "bf16" : "f32";
    info.passes = rs.passes;
    info.block = rs.block;
    info.basis = rs.basis;
    info.probes = rs.probes;
    const double top = rs.values.empty() ? 0.0 : rs.values.front();
    for (const double r : rs.residuals) info.max_residual = std::max(info.max_residual, top > 0 ? r / top : 0.0);
    info.frobenius_norm = std::sqrt(std::max(rs.frobenius_sq, 0.0));
    info.frobenius_rel_se = rs.frobenius_sq > 0 ? rs.frobenius_sq_se / rs.frobenius_sq : 0.0;
    rep.isoscore = isoscore_from_moments(d, rs.trace, info.frobenius_norm);
    info.frobenius_norm *= unscale_sq;
    // IsoScore at |C|_F^2 -/+ one standard error: half the spread is its own standard error.
    const double lo = std::sqrt(std::max(rs.frobenius_sq - rs.frobenius_sq_se, 0.0));
    const double hi = std::sqrt(rs.frobenius_sq + rs.frobenius_sq_se);
    info.isoscore_se = 0.5 * std::abs(isoscore_from_moments(d, rs.trace, lo) - isoscore_from_moments(d, rs.trace, hi));
    info.isotropy_iw = options.isotropy_iw ? "skipped" : "off";
    if (options.isotropy_iw)
      rep.notes.push_back("I(W) not computed: it needs the exact covariance and an n x d x d pass (n d^2 = " +
                          fmt::format("{:.2g}", covariance_work) + "); --spectrum exact computes it");
    lap("covariance spectrum (randomized)");
  }
  report_progress(spectrum_end);

  // ---- 2. Centring test, and all-but-the-top, on the same targets ----
  for (const auto id : options.targets)
    if (!rows.index_of(id)) throw_usage("target " + std::to_string(id) + " is " + why_not_in(rows, id));
  rep.targets = options.targets.empty() ? draw_targets(rows, options.samples, options.seed) : options.targets;
  AllPairsResult exact_original;
  std::vector<float> target_cosines;  // the as-stored fraction's cosines, n x T, for the sampled versions
  // Progress: without --exact the four versions are quick (0.85 to 0.95); with it each is a full
  // pass (0.6 to 0.95).
  const double q0 = spectrum_end, step = (0.95 - q0) / (options.exact ? 4 : 2);
  {
    const std::optional<Bf16Rows> bf16 = bf16_rows_of(rows, source);
    rep.original = pair_fraction(rows, rep.targets, options.exact, options.exact ? &exact_original : nullptr, "",
                                 rep.notes, progress, q0, q0 + step, rep.mean_cosine, bf16 ? &*bf16 : nullptr,
                                 options.exact ? nullptr : &target_cosines);
  }
  lap("fraction: as stored");
  report_progress(q0 + step);
  if (!options.exact) {
    // By algebra from the stored rows and the products known so far: no version built (sampled_versions).
    std::vector<PairFraction> f = sampled_versions(
        rows, scale, mu, dist, top_vectors, n_remove, removed_projections.empty() ? nullptr : &removed_projections,
        rep.targets, target_cosines, dot_mu, options.chunk_rows > 0 ? options.chunk_rows : task_rows(d), rep.notes,
        progress, q0 + step, 0.95);
    rep.centered = f[0];
    rep.all_but_top = f[1];
    rep.all_but_top_raw = f[2];
    lap("fractions: centred, all-but-the-top (by algebra)");
  } else {
    // With --exact each version is a full all-pairs pass over its own normalised rows. The three
    // share one working matrix: built, normalised, counted, and handed back for the next one.
    Matrix work;
    auto version = [&](const std::vector<float>& v, std::int64_t n_v, const std::vector<double>* offset,
                       const char* what, double p0, double p1) {
      transformed_rows(rows, scale, mu, v, n_v, offset, work);
      RowSet set = transformed_set(rows, scale, std::move(work));
      PairFraction f = pair_fraction(set, rep.targets, true, nullptr, what, rep.notes, progress, p0, p1);
      work = std::move(set.unit);
      return f;
    };
    rep.centered = version({}, 0, nullptr, "after centring", q0 + step, q0 + 2 * step);
    lap("fraction: centred");
    report_progress(q0 + 2 * step);
    rep.all_but_top = version(top_vectors, n_remove, nullptr, "after all-but-the-top", q0 + 2 * step, q0 + 3 * step);
    lap("fraction: all-but-the-top");
    report_progress(q0 + 3 * step);
    rep.all_but_top_raw = version(top_vectors, n_remove, &raw_offset, "after all-but-the-top (raw projection)",
                                  q0 + 3 * step, q0 + 4 * step);
    lap("fraction: all-but-the-top, raw projection");
  }
  report_progress(0.95);

  // ---- 5. Token classes ----
  if (!vocab.empty()) {
    const std::vector<TokenClass> cls = classify_rows(vocab, rows.ids);
    std::vector<ClassStats> stats(kTokenClassCount);
    std::vector<std::vector<std::int64_t>> members(kTokenClassCount);  // positions
    for (int c = 0; c < kTokenClassCount; ++c)
      stats[static_cast<std::size_t>(c)].cls = kAllTokenClasses[static_cast<std::size_t>(c)];
    for (std::int64_t i = 0; i < n; ++i)
      members[static_cast<std::size_t>(cls[static_cast<std::size_t>(i)])].push_back(i);
    for (const auto id : rows.padding_rows) ++stats[static_cast<std::size_t>(classify_row(vocab, id))].excluded;
    for (const auto id : rows.zero_rows) ++stats[static_cast<std::size_t>(classify_row(vocab, id))].excluded;
    for (const auto id : rows.non_finite_rows) ++stats[static_cast<std::size_t>(classify_row(vocab, id))].excluded;

    std::mt19937_64 engine(options.seed ^ 0x636c617373ULL);  // "class"
    const std::vector<std::int64_t> partners = choose(n, kClassPartners, engine);
    const auto n_partners = static_cast<std::int64_t>(partners.size());
    Matrix partner_rows = gather_rows(rows, partners);
    std::vector<float> tile;
    for (int c = 0; c < kTokenClassCount; ++c) {
      ClassStats& s = stats[static_cast<std::size_t>(c)];
      const auto& mem = members[static_cast<std::size_t>(c)];
      s.count = static_cast<std::int64_t>(mem.size());
      if (mem.empty()) continue;
      double sn = 0, sc = 0, sm = 0;
      for (const auto i : mem) {
        const auto ii = static_cast<std::size_t>(i);
        sn += rows.norms[ii];
        sc += row_mean_cos[ii];
        sm += cos_mu[ii];
      }
      const double cnt = static_cast<double>(mem.size());
      s.mean_norm = sn / cnt;
      s.mean_cosine = sc / cnt;
      s.mean_cos_to_mean = sm / cnt;
      for (std::size_t e = 0; e < mem.size() && e < static_cast<std::size_t>(std::max(options.class_examples, 0)); ++e)
        s.examples.push_back(rows.ids[static_cast<std::size_t>(mem[e])]);
      if (options.exact) {
        double neg = 0;
        for (const auto i : mem) neg += static_cast<double>(exact_original.row_negative[static_cast<std::size_t>(i)]);
        s.fraction_negative = neg / (cnt * (nd - 1.0));
        s.fraction_negative_exact = true;
        continue;
      }
      // Sampled: up to kClassRows rows of the class against the common partner rows.
      std::vector<std::int64_t> picked = choose(s.count, kClassRows, engine);
      for (auto& p : picked) p = mem[static_cast<std::size_t>(p)];
      const auto m = static_cast<std::int64_t>(picked.size());
      Matrix mine = gather_rows(rows, picked);
      tile.resize(static_cast<std::size_t>(m * n_partners));
      {
        blas::BlasThreads all(omp_get_max_threads());
        blas::gemm_abt(m, n_partners, d, mine.data(), d, partner_rows.data(), d, tile.data(), n_partners);
      }
      std::vector<double> frac(static_cast<std::size_t>(m));
      for (std::int64_t a = 0; a < m; ++a) {
        std::int64_t neg = 0, total = 0;
        const float* t = tile.data() + a * n_partners;
        for (std::int64_t b = 0; b < n_partners; ++b) {
          if (partners[static_cast<std::size_t>(b)] == picked[static_cast<std::size_t>(a)]) continue;
          neg += t[b] < 0.0f;
          ++total;
        }
        frac[static_cast<std::size_t>(a)] = total ? static_cast<double>(neg) / static_cast<double>(total) : 0.0;
      }
      const double mean = std::accumulate(frac.begin(), frac.end(), 0.0) / static_cast<double>(m);
      double var = 0;
      for (const double f : frac) var += (f - mean) * (f - mean);
      var = m > 1 ? var / static_cast<double>(m - 1) : 0.0;
      const double fpc = 1.0 - static_cast<double>(m) / cnt;  // finite population: 0 when all rows were used
      const double partner_var = n_partners < n ? mean * (1.0 - mean) / static_cast<double>(n_partners) : 0.0;
      s.fraction_negative = mean;
      s.fraction_negative_se = std::sqrt(var / static_cast<double>(m) * fpc + partner_var);
      // Every row of the class against every other row: the "sample" is the whole population.
      s.fraction_negative_exact = m == s.count && n_partners == n;
      s.sampled_rows = m;
      s.sampled_partners = n_partners;
    }
    for (auto& s : stats)
      if (s.count > 0 || s.excluded > 0) rep.classes.push_back(std::move(s));
  }
  lap("token classes");
  report_progress(1.0);
  return rep;
}

PairedCosines paired_row_cosines(const RowSet& a, const RowSet& b, int list) {
  if (a.dim() != b.dim())
    throw_usage("input and output matrices differ in dimension (" + std::to_string(a.dim()) + " vs " +
                std::to_string(b.dim()) + ")");
  std::vector<std::pair<std::int64_t, std::int64_t>> both;  // positions in a, b
  for (std::int64_t i = 0, j = 0; i < a.size() && j < b.size();) {
    const auto ia = a.ids[static_cast<std::size_t>(i)], jb = b.ids[static_cast<std::size_t>(j)];
    if (ia == jb)
      both.emplace_back(i++, j++);
    else if (ia < jb)
      ++i;
    else
      ++j;
  }
  std::vector<double> cos(both.size());
  const std::int64_t d = a.dim();
  std::vector<std::vector<float>> rows_a = decode_buffers(a, 1), rows_b = decode_buffers(b, 1);
#pragma omp parallel num_threads(static_cast <int>(rows_a.size()))
  {
    std::vector<float>& xs = rows_a[static_cast<std::size_t>(omp_get_thread_num())];
    std::vector<float>& ys = rows_b[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (std::size_t p = 0; p < both.size(); ++p) {
      const float* x = a.unit_rows(both[p].first, 1, xs);
      const float* y = b.unit_rows(both[p].second, 1, ys);
      double s = 0, xx = 0, yy = 0;
      for (std::int64_t k = 0; k < d; ++k) {
        s += static_cast<double>(x[k]) * y[k];
        xx += static_cast<double>(x[k]) * x[k];
        yy += static_cast<double>(y[k]) * y[k];
      }
      cos[p] = s / std::sqrt(xx * yy);
    }
  }
  PairedCosines out;
  std::vector<std::size_t> order(both.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  const std::size_t k = std::min(order.size(), static_cast<std::size_t>(std::max(list, 0)));
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&](std::size_t x, std::size_t y) { return cos[x] != cos[y] ? cos[x] < cos[y] : x < y; });
  for (std::size_t j = 0; j < k; ++j) {
    out.lowest.push_back(a.ids[static_cast<std::size_t>(both[order[j]].first)]);
    out.lowest_cosines.push_back(cos[order[j]]);
  }
  out.cosines = describe(std::move(cos));
  return out;
}

}  // namespace embstat
