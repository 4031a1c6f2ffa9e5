#include "embstat/analysis/spectrum.hpp"

#include <lapacke.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "embstat/analysis/blas.hpp"
#include "embstat/analysis/row_tasks.hpp"
#include "embstat/analysis/sampled.hpp"
#include "embstat/base/error.hpp"

namespace embstat {

namespace {

// rows x d standard normal entries (random_normal_matrix: the project's one portable, thread-count
// independent generator), in double.
std::vector<double> gaussian_rows(std::int64_t rows, std::int64_t d, std::uint64_t seed) {
  const Matrix m = random_normal_matrix(rows, d, seed);
  return {m.data(), m.data() + rows * d};
}

double dot(const double* a, const double* b, std::int64_t d) {
  double s = 0;
  for (std::int64_t k = 0; k < d; ++k) s += a[k] * b[k];
  return s;
}

// Removes from each of the r rows of x (r x d) its components along the m orthonormal rows of
// `span` (m x d): x <- x - (x span^T) span, by two dgemm.
void project_off(std::vector<double>& x, std::int64_t r, const std::vector<double>& span, std::int64_t m,
                 std::int64_t d) {
  if (r == 0 || m == 0) return;
  std::vector<double> c(static_cast<std::size_t>(r * m));
  const int br = blas::blas_int(r, "rows"), bm = blas::blas_int(m, "basis"), bd = blas::blas_int(d, "dimension");
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, br, bm, bd, 1.0, x.data(), bd, span.data(), bd, 0.0, c.data(),
              bm);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, br, bd, bm, -1.0, c.data(), bm, span.data(), bd, 1.0, x.data(),
              bd);
}

// Orthonormal basis of the span of the w rows of q (w x d row-major, w <= d), in place, by
// Householder QR (dgeqrf + dorgqr): read column-major, the rows are the columns of a d x w matrix.
void orthonormalise_rows(std::vector<double>& q, std::int64_t w, std::int64_t d) {
  const lapack_int ld = blas::blas_int(d, "dimension"), lw = blas::blas_int(w, "block");
  std::vector<double> tau(static_cast<std::size_t>(w));
  blas::lapack_check(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, ld, lw, q.data(), ld, tau.data()), "dgeqrf");
  blas::lapack_check(LAPACKE_dorgqr(LAPACK_COL_MAJOR, ld, lw, lw, q.data(), ld, tau.data()), "dorgqr");
}

// Row j of the result is C q_j for row j of q (w x d), C = (1/n) X_c^T X_c the covariance of the
// raw rows about mu. Per chunk of rows: y = X_c q^T (the centring applied to the products:
// x_i . q_j - mu . q_j, with x_i = norm_i u_i), then X_c^T y = U^T diag(norm) y - mu (1^T y),
// the first term by a second sgemm on the same rows, the second once at the end. So the rows are
// never copied or centred in memory; 4 n d w FLOP in BLAS-3.
//
// The products are skinny (w ~ 100), so the pass is bound by reading the rows: it runs as small
// tasks (for_each_row_task; the second sgemm finds the task's rows in cache), about 30 % faster
// than threaded BLAS on long chunks, and independent of the thread count.
std::vector<double> covariance_times(const RowSet& rows, const std::vector<double>& mu, const std::vector<double>& q,
                                     std::int64_t w, const ProgressFn& progress) {
  constexpr std::int64_t kTaskRows = 512, kGroup = 8;
  const std::int64_t n = rows.size(), d = rows.dim();
  const auto wd = static_cast<std::size_t>(w * d);
  const std::vector<float> qf(q.begin(), q.end());
  std::vector<double> q_mu(static_cast<std::size_t>(w));
  for (std::int64_t j = 0; j < w; ++j) q_mu[static_cast<std::size_t>(j)] = dot(q.data() + j * d, mu.data(), d);
  std::vector<double> acc(wd, 0.0), col_sum(static_cast<std::size_t>(w), 0.0);
  // Per slot: sum_i y[i][j] u_i (w x d, f32) and the column sums of the centred products (w).
  std::vector<float> part(static_cast<std::size_t>(kGroup) * wd);
  std::vector<double> part_sum(static_cast<std::size_t>(kGroup * w));
  const int n_threads = std::max(1, omp_get_max_threads());
  std::vector<std::vector<float>> y(static_cast<std::size_t>(n_threads),
                                    std::vector<float>(static_cast<std::size_t>(kTaskRows * w)));
  auto task = [&](std::int64_t t, int thread, std::int64_t c0, std::int64_t m) {
    float* yt = y[static_cast<std::size_t>(thread)].data();
    double* sums = part_sum.data() + t * w;
    std::fill(sums, sums + w, 0.0);
    blas::gemm_abt(m, w, d, rows.unit.row(c0), d, qf.data(), d, yt, w);  // y[i][j] = u_i . q_j
    for (std::int64_t i = 0; i < m; ++i) {
      const double r = rows.norms[static_cast<std::size_t>(c0 + i)];
      float* yi = yt + i * w;
      for (std::int64_t j = 0; j < w; ++j) {
        const double centred = r * static_cast<double>(yi[j]) - q_mu[static_cast<std::size_t>(j)];  // (x_i - mu) . q_j
        sums[j] += centred;
        yi[j] = static_cast<float>(r * centred);
      }
    }
    blas::gemm_atb(w, d, m, yt, w, rows.unit.row(c0), d, part.data() + static_cast<std::size_t>(t) * wd, d);
  };
  auto merge = [&](std::int64_t n_tasks) {
  // Slots added in task order for every element (threads split the elements, not the order).
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (std::int64_t e = 0; e < static_cast<std::int64_t>(wd); ++e)
      for (std::int64_t t = 0; t < n_tasks; ++t)
        acc[static_cast<std::size_t>(e)] += part[static_cast<std::size_t>(t) * wd + static_cast<std::size_t>(e)];
    for (std::int64_t t = 0; t < n_tasks; ++t)
      for (std::int64_t j = 0; j < w; ++j)
        col_sum[static_cast<std::size_t>(j)] += part_sum[static_cast<std::size_t>(t * w + j)];
  };
  blas::BlasThreads one(1);
  for_each_row_task(n, kTaskRows, kGroup, n_threads, task, merge, progress);
  const double inv_n = 1.0 / static_cast<double>(n);
  for (std::int64_t j = 0; j < w; ++j)
    for (std::int64_t k = 0; k < d; ++k) {
      double& a = acc[static_cast<std::size_t>(j * d + k)];
      a = (a - mu[static_cast<std::size_t>(k)] * col_sum[static_cast<std::size_t>(j)]) * inv_n;
    }
  return acc;
}

}  // namespace

RandomizedSpectrum randomized_spectrum(const RowSet& rows, const std::vector<double>& mu,
                                       const SpectrumOptions& options) {
  const std::int64_t n = rows.size(), d = rows.dim();
  if (options.wanted < 1) throw Error(ErrorKind::Usage, "", "randomized spectrum: at least 1 eigenpair is needed");
  if (options.passes < 1) throw Error(ErrorKind::Usage, "", "randomized spectrum: at least 1 pass is needed");
  if (n < 1 || d < 1 || static_cast<std::int64_t>(mu.size()) != d)
    throw Error(ErrorKind::Usage, "", "randomized spectrum: needs rows and a mean of their dimension");
  const std::int64_t wanted = std::min(options.wanted, d);
  const std::int64_t w = std::min(d, wanted + std::max<std::int64_t>(options.oversample, 0));
  const std::int64_t s = w < d ? std::max<std::int64_t>(options.probes, 0) : 0;  // w == d: no tail
  const auto dz = static_cast<std::size_t>(d);

  RandomizedSpectrum out;
  out.block = w;
  if (options.trace) {
    out.trace = *options.trace;
  } else {
    // Exact trace: the mean squared distance to the mean, per row then summed in order.
    std::vector<double> dist_sq(static_cast<std::size_t>(n));
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const float* u = rows.unit.row(i);
      const double r = rows.norms[static_cast<std::size_t>(i)];
      double acc = 0;
      for (std::int64_t k = 0; k < d; ++k) {
        const double x = r * u[k] - mu[static_cast<std::size_t>(k)];
        acc += x * x;
      }
      dist_sq[static_cast<std::size_t>(i)] = acc;
    }
    double total = 0;
    for (const double v : dist_sq) total += v;
    out.trace = total / static_cast<double>(n);
  }

  const std::uint64_t seed = options.seed ^ 0x737065637472756dULL;  // "spectrum"; probes: seed + 1
  std::vector<double> basis;     // K: orthonormal rows, the blocks Q_1, Q_2, ... of the Krylov space
  std::vector<double> products;  // C K: row a is C k_a
  std::vector<double> block = gaussian_rows(w, d, seed);
  orthonormalise_rows(block, w, d);
  std::vector<double> probe_products;  // C g_j for the probes, from the last pass
  for (int pass = 1; pass <= options.passes; ++pass) {
    const std::int64_t m = static_cast<std::int64_t>(basis.size()) / d;
    const std::int64_t rows_block = static_cast<std::int64_t>(block.size()) / d;
    const bool full = m + rows_block >= d;  // the basis spans everything: C is known exactly
    const bool last = pass == options.passes || full;
    std::vector<double> in = block;
    std::int64_t probes = 0;
    if (last && !full && s > 0) {
      // Probes projected off the final basis (K and this block): their products with C
      // measure the part of |C|_F^2 that the basis does not capture.
      std::vector<double> g = gaussian_rows(s, d, seed + 1);
      std::vector<double> span = basis;
      span.insert(span.end(), block.begin(), block.end());
      project_off(g, s, span, m + rows_block, d);
      project_off(g, s, span, m + rows_block, d);
      in.insert(in.end(), g.begin(), g.end());
      probes = s;
    }
    ProgressFn pass_progress;
    if (options.progress) pass_progress = [&, pass](double f) { options.progress((pass - 1 + f) / options.passes); };
    std::vector<double> out_rows =
        covariance_times(rows, mu, in, static_cast<std::int64_t>(in.size()) / d, pass_progress);
    const auto split = static_cast<std::ptrdiff_t>(rows_block * d);
    basis.insert(basis.end(), block.begin(), block.end());
    products.insert(products.end(), out_rows.begin(), out_rows.begin() + split);
    probe_products.assign(out_rows.begin() + split, out_rows.end());
    out.passes = pass;
    out.probes = probes;
    if (last) break;
    // Next block: C Q_j made orthogonal to the whole basis (block Gram-Schmidt twice, QR, and
    // once more after the QR, which can complete a rank-deficient block with directions
    // outside span(C Q_j)), at most d - m' rows.
    const std::int64_t m_now = m + rows_block;
    const std::int64_t next = std::min(w, d - m_now);
    block.assign(out_rows.begin(), out_rows.begin() + split);
    block.resize(static_cast<std::size_t>(next) * dz);
    for (int round = 0; round < 2; ++round) {
      project_off(block, next, basis, m_now, d);
      project_off(block, next, basis, m_now, d);
      orthonormalise_rows(block, next, d);
    }
  }

  // Rayleigh-Ritz on the Krylov space: B = K C K^T (m x m), B = Y diag(theta) Y^T; Ritz
  // vectors Y^T K, with C (Y^T K) = Y^T (C K) for the residuals.
  const std::int64_t m = static_cast<std::int64_t>(basis.size()) / d;
  out.basis = m;
  const auto mz = static_cast<std::size_t>(m);
  std::vector<double> b(mz * mz);
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas::blas_int(m, "basis"), blas::blas_int(m, "basis"),
              blas::blas_int(d, "dimension"), 1.0, basis.data(), blas::blas_int(d, "d"), products.data(),
              blas::blas_int(d, "d"), 0.0, b.data(), blas::blas_int(m, "basis"));
  for (std::size_t a = 0; a < mz; ++a)
    for (std::size_t c = 0; c < a; ++c) b[a * mz + c] = b[c * mz + a] = 0.5 * (b[a * mz + c] + b[c * mz + a]);
  std::vector<double> theta(mz);
  const lapack_int lm = blas::blas_int(m, "basis");
  blas::lapack_check(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', lm, b.data(), lm, theta.data()), "dsyevd");
  // Column j of b (contiguous, ascending theta) is eigenvector j: walk from the top.
  out.values.assign(theta.rbegin(), theta.rend());
  const std::int64_t kept = std::min(wanted, m);
  out.vectors.assign(static_cast<std::size_t>(kept) * dz, 0.0);
  out.residuals.assign(static_cast<std::size_t>(kept), 0.0);
  std::vector<double> cv(dz);
  for (std::int64_t j = 0; j < kept; ++j) {
    const double* y = b.data() + (m - 1 - j) * m;
    double* u = out.vectors.data() + j * d;
    std::fill(cv.begin(), cv.end(), 0.0);
    for (std::int64_t a = 0; a < m; ++a) {
      const double* ka = basis.data() + a * d;
      const double* ca = products.data() + a * d;
      for (std::int64_t k = 0; k < d; ++k) {
        u[k] += y[a] * ka[k];
        cv[static_cast<std::size_t>(k)] += y[a] * ca[k];
      }
    }
    const double t = out.values[static_cast<std::size_t>(j)];
    double r = 0;
    for (std::int64_t k = 0; k < d; ++k) {
      const double e = cv[static_cast<std::size_t>(k)] - t * u[k];
      r += e * e;
    }
    out.residuals[static_cast<std::size_t>(j)] = std::sqrt(r);
  }

  // Frobenius norm: |C K^T|_F^2 exactly, plus the probes' mean |C g_j|^2 for the rest.
  for (const double v : products) out.captured_frobenius_sq += v * v;
  out.frobenius_sq = out.captured_frobenius_sq;
  const std::int64_t np = out.probes;
  if (np > 0) {
    std::vector<double> tail(static_cast<std::size_t>(np));
    for (std::int64_t j = 0; j < np; ++j) {
      const double* c = probe_products.data() + j * d;
      tail[static_cast<std::size_t>(j)] = dot(c, c, d);
    }
    double mean = 0;
    for (const double v : tail) mean += v;
    mean /= static_cast<double>(np);
    double var = 0;
    for (const double v : tail) var += (v - mean) * (v - mean);
    var = np > 1 ? var / static_cast<double>(np - 1) : 0.0;
    out.frobenius_sq += mean;
    out.frobenius_sq_se = std::sqrt(var / static_cast<double>(np));
  }
  return out;
}

double isoscore_from_moments(std::int64_t d64, double trace, double frobenius) {
  if (d64 < 2) throw Error(ErrorKind::Usage, "", "IsoScore needs at least 2 dimensions");
  if (!(frobenius > 0)) return 0;
  const double d = static_cast<double>(d64), sd = std::sqrt(d);
  const double dev_sq = std::max(0.0, 2.0 * d - 2.0 * sd * trace / frobenius);  // |lambda^ - 1|^2
  const double delta_sq = dev_sq / (2.0 * (d - sd));
  const double k = d - delta_sq * (d - sd);
  return std::clamp((k * k - d) / (d * (d - 1.0)), 0.0, 1.0);
}

}  // namespace embstat
