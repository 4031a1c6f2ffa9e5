#include "embstat/analysis/spectrum.hpp"

#include <lapacke.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "embstat/analysis/bf16_kernels.hpp"
#include "embstat/analysis/blas.hpp"
#include "embstat/analysis/row_tasks.hpp"
#include "embstat/analysis/sampled.hpp"
#include "embstat/base/dtype.hpp"
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

// The sums both covariance products collect over row tasks (for_each_row_task): per task slot,
// sum_i y_ij x_i (w x d, f32) and the column sums sum_i y_ij (w) of the centred products y, added
// in task order after each group; C q_j = (sum_i y_ij x_i - mu sum_i y_ij) / n at the end.
class CovarianceSums {
 public:
  CovarianceSums(std::int64_t w, std::int64_t d, std::int64_t group)
      : w_(w),
        d_(d),
        wd_(static_cast<std::size_t>(w * d)),
        acc_(wd_, 0.0),
        col_sum_(static_cast<std::size_t>(w), 0.0),
        part_(static_cast<std::size_t>(kRowTaskBanks * group) * wd_),
        part_sum_(static_cast<std::size_t>(kRowTaskBanks * group * w)) {}

  float* part(std::int64_t slot) { return part_.data() + static_cast<std::size_t>(slot) * wd_; }
  double* column_sums(std::int64_t slot) {  // zeroed
    double* s = part_sum_.data() + slot * w_;
    std::fill(s, s + w_, 0.0);
    return s;
  }

  // Adds slots [first, first + n_tasks) in task order for every element.
  void merge(std::int64_t first, std::int64_t n_tasks) {
    for (std::int64_t t = first; t < first + n_tasks; ++t) {
      const float* src = part_.data() + static_cast<std::size_t>(t) * wd_;
      for (std::size_t e = 0; e < wd_; ++e) acc_[e] += src[e];
    }
    for (std::int64_t t = first; t < first + n_tasks; ++t)
      for (std::int64_t j = 0; j < w_; ++j)
        col_sum_[static_cast<std::size_t>(j)] += part_sum_[static_cast<std::size_t>(t * w_ + j)];
  }

  std::vector<double> finish(const std::vector<double>& mu, std::int64_t n) {
    const double inv_n = 1.0 / static_cast<double>(n);
    for (std::int64_t j = 0; j < w_; ++j)
      for (std::int64_t k = 0; k < d_; ++k) {
        double& a = acc_[static_cast<std::size_t>(j * d_ + k)];
        a = (a - mu[static_cast<std::size_t>(k)] * col_sum_[static_cast<std::size_t>(j)]) * inv_n;
      }
    return std::move(acc_);
  }

 private:
  std::int64_t w_, d_;
  std::size_t wd_;
  std::vector<double> acc_, col_sum_;
  std::vector<float> part_;
  std::vector<double> part_sum_;
};

// mu . q_j for the w rows of q: the centring of the products.
std::vector<double> dots_with_mean(const std::vector<double>& q, std::int64_t w, const std::vector<double>& mu) {
  const auto d = static_cast<std::int64_t>(mu.size());
  std::vector<double> q_mu(static_cast<std::size_t>(w));
  for (std::int64_t j = 0; j < w; ++j) q_mu[static_cast<std::size_t>(j)] = dot(q.data() + j * d, mu.data(), d);
  return q_mu;
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
// `centred`, when given, receives the centred products X_c q^T (n x w, by row position).
std::vector<double> covariance_times(const RowSet& rows, double scale, const std::vector<double>& mu,
                                     const std::vector<double>& q, std::int64_t w, std::vector<float>* centred,
                                     const ProgressFn& progress) {
  constexpr std::int64_t kTaskRows = 512, kGroup = 8;
  const std::int64_t n = rows.size(), d = rows.dim();
  const std::vector<float> qf(q.begin(), q.end());
  const std::vector<double> q_mu = dots_with_mean(q, w, mu);
  CovarianceSums sums(w, d, kGroup);
  const int n_threads = std::max(1, omp_get_max_threads());
  std::vector<std::vector<float>> y(static_cast<std::size_t>(n_threads),
                                    std::vector<float>(static_cast<std::size_t>(kTaskRows * w)));
  if (centred != nullptr) centred->assign(static_cast<std::size_t>(n * w), 0.0f);
  auto task = [&](std::int64_t t, int thread, std::int64_t c0, std::int64_t m) {
    float* yt = y[static_cast<std::size_t>(thread)].data();
    double* col = sums.column_sums(t);
    blas::gemm_abt(m, w, d, rows.unit.row(c0), d, qf.data(), d, yt, w);  // y[i][j] = u_i . q_j
    for (std::int64_t i = 0; i < m; ++i) {
      const double r = rows.norms[static_cast<std::size_t>(c0 + i)] * scale;
      float* yi = yt + i * w;
      float* kept = centred != nullptr ? centred->data() + (c0 + i) * w : nullptr;
      for (std::int64_t j = 0; j < w; ++j) {
        const double c = r * static_cast<double>(yi[j]) - q_mu[static_cast<std::size_t>(j)];  // (x_i - mu) . q_j
        col[j] += c;
        if (kept != nullptr) kept[j] = static_cast<float>(c);
        yi[j] = static_cast<float>(r * c);
      }
    }
    blas::gemm_atb(w, d, m, yt, w, rows.unit.row(c0), d, sums.part(t), d);
  };
  blas::BlasThreads one(1);
  for_each_row_task(
      n, kTaskRows, kGroup, n_threads, task,
      [&](std::int64_t first, std::int64_t n_tasks) { sums.merge(first, n_tasks); }, progress);
  return sums.finish(mu, n);
}

// The same product from the raw rows stored in bf16 (SpectrumOptions::bf16_rows; q's values must
// be bf16 numbers, round_to_bf16): per task of model rows, y = X q^T by bf16_dots (exact
// products, f32 sums, as sgemm), centred (y_ij - mu . q_j) and written to `centred` (n_total x w,
// 0 for rows outside the set: the exact X_c q^T, from which randomized_spectrum builds its
// Rayleigh-Ritz matrix), then sum_i y_ij x_i by bf16_weighted_row_sums with each y_ij rounded to
// bf16. That rounding (2^-9) makes the returned C q approximate: good enough to grow the Krylov
// space and for the residuals and |C|_F, never used for the Ritz values. mu (sum_i y_ij) comes
// off at the end as in covariance_times.
std::vector<double> covariance_times_bf16(const RowSet& rows, const MatrixView& raw,
                                          const std::vector<std::uint8_t>& in_set, const std::vector<double>& mu,
                                          const std::vector<double>& q, std::int64_t w, std::vector<float>& centred,
                                          const ProgressFn& progress) {
  constexpr std::int64_t kTaskRows = 512, kGroup = 8;
  const std::int64_t n_total = raw.n_rows, d = raw.n_cols;
  Bf16Vectors qb = pack_bf16_vectors(w, d);
  for (std::int64_t j = 0; j < w; ++j)
    for (std::int64_t k = 0; k < d; ++k)
      qb.bits[static_cast<std::size_t>(j * qb.d32 + k)] =
          f32_to_bf16(static_cast<float>(q[static_cast<std::size_t>(j * d + k)]));
  const std::vector<double> q_mu = dots_with_mean(q, w, mu);
  centred.assign(static_cast<std::size_t>(n_total * w), 0.0f);
  CovarianceSums sums(w, d, kGroup);
  const int n_threads = std::max(1, omp_get_max_threads());
  std::vector<Bf16WeightPairs> weights(static_cast<std::size_t>(n_threads));
  auto task = [&](std::int64_t t, int thread, std::int64_t c0, std::int64_t m) {
    float* yt = centred.data() + c0 * w;
    Bf16WeightPairs& wp = weights[static_cast<std::size_t>(thread)];
    double* col = sums.column_sums(t);
    bf16_dots(qb, nullptr, raw.row(c0), raw.row_bytes, nullptr, m, d, yt, 1, w);  // yt[i w + j] = x_i . q_j
    wp.assign(m, w);
    for (std::int64_t i = 0; i < m; ++i) {
      float* yi = yt + i * w;
      if (in_set[static_cast<std::size_t>(c0 + i)] == 0) {
        std::fill(yi, yi + w, 0.0f);
        continue;
      }
      for (std::int64_t j = 0; j < w; ++j) {
        yi[j] = static_cast<float>(static_cast<double>(yi[j]) - q_mu[static_cast<std::size_t>(j)]);
        const std::uint16_t h = f32_to_bf16(yi[j]);
        col[j] += bf16_to_f32(h);
        wp.set(i, j, h);
      }
    }
    bf16_weighted_row_sums(raw.row(c0), raw.row_bytes, d, wp, sums.part(t));
  };
  for_each_row_task(
      n_total, kTaskRows, kGroup, n_threads, task,
      [&](std::int64_t first, std::int64_t n_tasks) { sums.merge(first, n_tasks); }, progress);
  return sums.finish(mu, rows.size());
}

// K C K^T for the basis K whose centred products X_c K^T the bf16 passes stored (one n_total x
// w_p matrix per pass, of which the first b_p columns belong to the basis): (1/n) sum_i z_i z_i^T
// with z_i the concatenated rows, by ssyrk per task of rows (for_each_row_task: the f32 task sums
// are added in task order into double, whatever the thread count).
std::vector<double> rayleigh_matrix(const std::vector<std::vector<float>>& centred,
                                    const std::vector<std::int64_t>& stride, const std::vector<std::int64_t>& used,
                                    std::int64_t n_total, std::int64_t n) {
  constexpr std::int64_t kTaskRows = 2048, kGroup = 8;
  std::int64_t m = 0;
  for (const auto u : used) m += u;
  const auto mz = static_cast<std::size_t>(m);
  std::vector<double> b(mz * mz, 0.0);
  const int n_threads = std::max(1, omp_get_max_threads());
  std::vector<std::vector<float>> z(static_cast<std::size_t>(n_threads),
                                    std::vector<float>(static_cast<std::size_t>(kTaskRows * m)));
  std::vector<float> part(static_cast<std::size_t>(kRowTaskBanks * kGroup) * mz * mz);
  const int bm = blas::blas_int(m, "basis");
  auto task = [&](std::int64_t t, int thread, std::int64_t c0, std::int64_t rows) {
    float* zt = z[static_cast<std::size_t>(thread)].data();
    for (std::int64_t i = 0; i < rows; ++i) {
      float* zi = zt + i * m;
      for (std::size_t p = 0; p < centred.size(); ++p) {
        const float* src = centred[p].data() + (c0 + i) * stride[p];
        zi = std::copy(src, src + used[p], zi);
      }
    }
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, bm, blas::blas_int(rows, "rows"), 1.0f, zt, bm, 0.0f,
                part.data() + static_cast<std::size_t>(t) * mz * mz, bm);
  };
  auto merge = [&](std::int64_t first, std::int64_t n_tasks) {
    for (std::int64_t a = 0; a < m; ++a)
      for (std::int64_t t = first; t < first + n_tasks; ++t) {
        const float* src = part.data() + static_cast<std::size_t>(t) * mz * mz + static_cast<std::size_t>(a) * mz;
        double* dst = b.data() + static_cast<std::size_t>(a) * mz;
        for (std::int64_t c = a; c < m; ++c) dst[c] += src[c];
      }
  };
  {
    blas::BlasThreads one(1);
    for_each_row_task(n_total, kTaskRows, kGroup, n_threads, task, merge);
  }
  const double inv_n = 1.0 / static_cast<double>(n);
  for (std::size_t a = 0; a < mz; ++a)
    for (std::size_t c = a; c < mz; ++c) b[a * mz + c] = b[c * mz + a] = b[a * mz + c] * inv_n;
  return b;
}

// Each value to the nearest bf16 number (what the bf16 kernels multiply), kept in double.
void round_to_bf16(double* x, std::size_t count) {
  for (std::size_t e = 0; e < count; ++e) x[e] = bf16_to_f32(f32_to_bf16(static_cast<float>(x[e])));
}

// The Cholesky factor L (lower, row-major m x m) of the Gram matrix of the m rows (m x d,
// linearly independent): L^-1 rows is orthonormal. Used on a basis rounded to bf16, whose rows
// are orthonormal only to about 2^-9.
std::vector<double> gram_cholesky(const std::vector<double>& rows, std::int64_t m, std::int64_t d) {
  const int bm = blas::blas_int(m, "basis"), bd = blas::blas_int(d, "dimension");
  std::vector<double> g(static_cast<std::size_t>(m * m));
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bm, bm, bd, 1.0, rows.data(), bd, rows.data(), bd, 0.0, g.data(),
              bm);
  blas::lapack_check(LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', bm, g.data(), bm), "dpotrf");
  return g;  // the upper triangle still holds G; the trsm calls read only the lower one
}

// x <- L^-1 x for x with m rows of `cols` values.
void solve_lower(const std::vector<double>& l, std::int64_t m, std::vector<double>& x, std::int64_t cols) {
  cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, blas::blas_int(m, "basis"),
              blas::blas_int(cols, "columns"), 1.0, l.data(), blas::blas_int(m, "basis"), x.data(),
              blas::blas_int(cols, "columns"));
}

// An orthonormal copy of the m rows (bf16-rounded basis), for projections.
std::vector<double> orthonormal_copy(const std::vector<double>& rows, std::int64_t m, std::int64_t d) {
  std::vector<double> out(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(m * d));
  solve_lower(gram_cholesky(out, m, d), m, out, d);
  return out;
}

// (x_i - mu) . v_j for the top `count` Ritz vectors v_j = sum_a y_aj k_a (y: the eigenvectors of
// the Rayleigh-Ritz matrix, column-major m x m ascending, as dsyevd left them), from the stored
// products X_c K~^T of the basis as multiplied: K~ itself on the f32 path (up to rounding q to
// f32), K = L^-1 K~ on the bf16 path, so there v_j = sum_b (L^-T y_j)_b k~_b. One skinny sgemm per
// pass; the result is n x count by row position.
std::vector<float> row_projections(const RowSet& rows, bool by_model_id, const std::vector<std::vector<float>>& centred,
                                   const std::vector<std::int64_t>& stride, const std::vector<std::int64_t>& used,
                                   const std::vector<double>& y, const std::vector<double>& l, std::int64_t count) {
  std::int64_t m = 0;
  for (const auto u : used) m += u;
  std::vector<double> coef(static_cast<std::size_t>(m * count));  // m x count, row-major
  for (std::int64_t a = 0; a < m; ++a)
    for (std::int64_t j = 0; j < count; ++j)
      coef[static_cast<std::size_t>(a * count + j)] = y[static_cast<std::size_t>((m - 1 - j) * m + a)];
  if (!l.empty())  // L^T c = y
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, blas::blas_int(m, "basis"),
                blas::blas_int(count, "vectors"), 1.0, l.data(), blas::blas_int(m, "basis"), coef.data(),
                blas::blas_int(count, "vectors"));
  const std::vector<float> coef_f(coef.begin(), coef.end());
  // Chunks of stored rows in parallel, each by single-threaded sgemm into a scratch tile, then to
  // the positions of the set's rows in it (model ids ascend with position). One threaded sgemm
  // over all rows with 54 columns runs mostly in packing, and an n_total x count buffer would be
  // fresh memory to fault in.
  constexpr std::int64_t kChunk = 2048;
  const std::int64_t stored = by_model_id ? rows.n_total : rows.size();
  std::vector<float> out(static_cast<std::size_t>(rows.size() * count));
  const int n_threads = std::max(1, omp_get_max_threads());
  std::vector<std::vector<float>> tile(static_cast<std::size_t>(n_threads),
                                       std::vector<float>(static_cast<std::size_t>(kChunk * count)));
  blas::BlasThreads one(1);
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
  for (std::int64_t c0 = 0; c0 < stored; c0 += kChunk) {
    const std::int64_t r = std::min(kChunk, stored - c0);
    float* t = tile[static_cast<std::size_t>(omp_get_thread_num())].data();
    std::int64_t offset = 0;
    for (std::size_t p = 0; p < centred.size(); ++p) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blas::blas_int(r, "rows"),
                  blas::blas_int(count, "vectors"), blas::blas_int(used[p], "block"), 1.0f,
                  centred[p].data() + c0 * stride[p], blas::blas_int(stride[p], "block"),
                  coef_f.data() + offset * count, blas::blas_int(count, "vectors"), p == 0 ? 0.0f : 1.0f, t,
                  blas::blas_int(count, "vectors"));
      offset += used[p];
    }
    if (!by_model_id) {
      std::copy(t, t + r * count, out.data() + c0 * count);
      continue;
    }
    const auto lo = std::lower_bound(rows.ids.begin(), rows.ids.end(), c0);
    const auto hi = std::lower_bound(lo, rows.ids.end(), c0 + r);
    for (auto it = lo; it != hi; ++it)
      std::copy_n(t + (*it - c0) * count, count, out.data() + (it - rows.ids.begin()) * count);
  }
  return out;
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

  const MatrixView* raw = options.bf16_rows;
  const bool use_bf16 = raw != nullptr && bf16_kernel_available();
  std::vector<std::uint8_t> in_set;  // per model row: 1 when it is a row of the set (bf16 path)
  if (use_bf16) {
    if (raw->dtype != DType::BF16 || raw->n_rows != rows.n_total || raw->n_cols != d || raw->data == nullptr)
      throw Error(ErrorKind::Internal, "", "randomized spectrum: bf16 rows do not match the row set");
    if (options.scale != 1.0)
      throw Error(ErrorKind::Internal, "", "randomized spectrum: the bf16 kernels read the stored rows, unscaled");
    in_set.assign(static_cast<std::size_t>(raw->n_rows), 0);
    for (const std::int64_t id : rows.ids) in_set[static_cast<std::size_t>(id)] = 1;
  }
  const std::int64_t n_projected = std::clamp<std::int64_t>(options.row_projections, 0, wanted);
  // Per pass, X_c Q^T for the block and probes multiplied (bf16 path: n_total rows by model id,
  // whose block columns give the exact Rayleigh-Ritz matrix; f32 path: n rows by position, kept
  // only for the row projections), of which the first `used` columns belong to the basis.
  std::vector<std::vector<float>> centred;
  std::vector<std::int64_t> centred_stride, centred_used;
  const bool keep_products = use_bf16 || n_projected > 0;
  auto times_c = [&](std::vector<double>& in, std::int64_t count, std::int64_t block_rows, const ProgressFn& progress) {
    if (keep_products) {
      centred.emplace_back();
      centred_stride.push_back(count);
      centred_used.push_back(block_rows);
    }
    if (!use_bf16) {
      rows.require_held("the f32 randomized spectrum");
      return covariance_times(rows, options.scale, mu, in, count, keep_products ? &centred.back() : nullptr, progress);
    }
    round_to_bf16(in.data(), in.size());
    return covariance_times_bf16(rows, *raw, in_set, mu, in, count, centred.back(), progress);
  };

  RandomizedSpectrum out;
  out.block = w;
  out.bf16 = use_bf16;
  if (options.trace) {
    out.trace = *options.trace;
  } else {
    // Exact trace: the mean squared distance to the mean, per row then summed in order.
    rows.require_held("the randomized spectrum's own trace");
    std::vector<double> dist_sq(static_cast<std::size_t>(n));
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      const float* u = rows.unit.row(i);
      const double r = rows.norms[static_cast<std::size_t>(i)] * options.scale;
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
  std::vector<double> basis;     // K: orthonormal rows (bf16: rounded, nearly so), the blocks Q_1, Q_2, ...
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
      if (use_bf16) round_to_bf16(block.data(), block.size());  // as the product will see it
      span.insert(span.end(), block.begin(), block.end());
      if (use_bf16) span = orthonormal_copy(span, m + rows_block, d);  // rounded: only nearly orthonormal
      project_off(g, s, span, m + rows_block, d);
      project_off(g, s, span, m + rows_block, d);
      in.insert(in.end(), g.begin(), g.end());
      probes = s;
    }
    ProgressFn pass_progress;
    if (options.progress) pass_progress = [&, pass](double f) { options.progress((pass - 1 + f) / options.passes); };
    std::vector<double> out_rows = times_c(in, static_cast<std::int64_t>(in.size()) / d, rows_block, pass_progress);
    const auto split = static_cast<std::ptrdiff_t>(rows_block * d);
    basis.insert(basis.end(), in.begin(), in.begin() + split);  // the block as multiplied (bf16: rounded)
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
    std::vector<double> ortho;  // bf16: the rounded basis is only nearly orthonormal; project on a copy made so
    const std::vector<double>& span = use_bf16 ? (ortho = orthonormal_copy(basis, m_now, d)) : basis;
    for (int round = 0; round < 2; ++round) {
      project_off(block, next, span, m_now, d);
      project_off(block, next, span, m_now, d);
      orthonormalise_rows(block, next, d);
    }
  }
  // Rayleigh-Ritz on the Krylov space: B = K C K^T (m x m), B = Y diag(theta) Y^T; Ritz
  // vectors Y^T K, with C (Y^T K) = Y^T (C K) for the residuals.
  const std::int64_t m = static_cast<std::int64_t>(basis.size()) / d;
  out.basis = m;
  const auto mz = static_cast<std::size_t>(m);
  std::vector<double> b, l;
  if (use_bf16) {
    // From the exact centred products (B~ = K~ C K~^T for the rounded basis K~); then K~, which
    // is orthonormal only to about 2^-9, is made exactly so: K = L^-1 K~, B = L^-1 B~ L^-T, and
    // C K = L^-1 (C K~) (C is linear).
    b = rayleigh_matrix(centred, centred_stride, centred_used, raw->n_rows, n);
    l = gram_cholesky(basis, m, d);
    solve_lower(l, m, basis, d);
    solve_lower(l, m, products, d);
    solve_lower(l, m, b, m);  // L^-1 B~, then (L^-1 (L^-1 B~)^T) = L^-1 B~ L^-T as B~ is symmetric
    for (std::size_t a = 0; a < mz; ++a)
      for (std::size_t c = 0; c < a; ++c) std::swap(b[a * mz + c], b[c * mz + a]);
    solve_lower(l, m, b, m);
  } else {
    b.resize(mz * mz);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas::blas_int(m, "basis"), blas::blas_int(m, "basis"),
                blas::blas_int(d, "dimension"), 1.0, basis.data(), blas::blas_int(d, "d"), products.data(),
                blas::blas_int(d, "d"), 0.0, b.data(), blas::blas_int(m, "basis"));
  }
  for (std::size_t a = 0; a < mz; ++a)
    for (std::size_t c = 0; c < a; ++c) b[a * mz + c] = b[c * mz + a] = 0.5 * (b[a * mz + c] + b[c * mz + a]);
  std::vector<double> theta(mz);
  const lapack_int lm = blas::blas_int(m, "basis");
  blas::lapack_check(LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'L', lm, b.data(), lm, theta.data()), "dsyevd",
                     "the " + std::to_string(m) + " x " + std::to_string(m) + " Rayleigh-Ritz matrix of " +
                         std::to_string(n) + " rows x " + std::to_string(d));
  // Column j of b (contiguous, ascending theta) is eigenvector j: walk from the top.
  out.values.assign(theta.rbegin(), theta.rend());
  const std::int64_t kept = std::min(wanted, m);
  out.residuals.assign(static_cast<std::size_t>(kept), 0.0);
  // Ritz vectors U = Y^T K and C U = Y^T (C K) for the top `kept` columns y_j of Y, by dgemm.
  std::vector<double> y(static_cast<std::size_t>(m * kept));  // m x kept, row-major
  for (std::int64_t a = 0; a < m; ++a)
    for (std::int64_t j = 0; j < kept; ++j)
      y[static_cast<std::size_t>(a * kept + j)] = b[static_cast<std::size_t>((m - 1 - j) * m + a)];
  out.vectors.assign(static_cast<std::size_t>(kept) * dz, 0.0);
  std::vector<double> cu(static_cast<std::size_t>(kept) * dz);
  const int bk = blas::blas_int(kept, "vectors"), bm = blas::blas_int(m, "basis"), bd = blas::blas_int(d, "dimension");
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, bk, bd, bm, 1.0, y.data(), bk, basis.data(), bd, 0.0,
              out.vectors.data(), bd);
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, bk, bd, bm, 1.0, y.data(), bk, products.data(), bd, 0.0,
              cu.data(), bd);
  for (std::int64_t j = 0; j < kept; ++j) {
    const double* u = out.vectors.data() + j * d;
    const double* cv = cu.data() + j * d;
    const double t = out.values[static_cast<std::size_t>(j)];
    double r = 0;
    for (std::int64_t k = 0; k < d; ++k) {
      const double e = cv[k] - t * u[k];
      r += e * e;
    }
    out.residuals[static_cast<std::size_t>(j)] = std::sqrt(r);
  }
  if (n_projected > 0)
    out.projections = row_projections(rows, use_bf16, centred, centred_stride, centred_used, b, l, n_projected);
  centred = {};

  // Frobenius norm: |C K^T|_F^2 exactly, plus the probes' mean |C g_j|^2 for the rest.
  if (use_bf16) {
    // |C K^T|_F^2 = |K C K^T|_F^2 + |(I - K^T K) C K^T|_F^2: the first exact (the Ritz values'
    // squares), the rounded products entering only through the second, a small remainder when
    // the basis is nearly invariant.
    for (const double t : theta) out.captured_frobenius_sq += t * t;
    std::vector<double> outside = products;
    project_off(outside, m, basis, m, d);
    for (const double v : outside) out.captured_frobenius_sq += v * v;
  } else {
    for (const double v : products) out.captured_frobenius_sq += v * v;
  }
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
