// A thin, checked wrapper over the few CBLAS calls the kernels make.
//
// BLAS takes `int` dimensions: every size goes through blas_int(), which throws instead of
// wrapping. OpenBLAS here is the pthread build with its own thread pool; a kernel chooses ONE
// parallel level (STYLE.md section 6) and says so with a BlasThreads guard:
//   - OpenMP over tiles  -> BlasThreads one(1) around the parallel region;
//   - one big BLAS call  -> BlasThreads all(n_threads) and no OpenMP around it.
// The guard is set and restored by the thread that starts the kernel, never inside a parallel
// region (openblas_set_num_threads is not reentrant).
#pragma once

#include <cblas.h>

#include <cstdint>
#include <limits>
#include <string>

#include "embstat/base/error.hpp"

namespace embstat::blas {

// `value` as a BLAS int; Error(Unsupported) when it does not fit (a dimension past 2^31 - 1).
inline int blas_int(std::int64_t value, const char* what) {
  if (value < 0 || value > std::numeric_limits<int>::max())
    throw Error(ErrorKind::Unsupported, "",
                std::string(what) + " = " + std::to_string(value) + " does not fit a BLAS int (2^31 - 1)");
  return static_cast<int>(value);
}

// Sets OpenBLAS's thread count for the guard's lifetime; restores the previous count after.
class BlasThreads {
 public:
  explicit BlasThreads(int n_threads) : previous_(openblas_get_num_threads()) {
    openblas_set_num_threads(n_threads < 1 ? 1 : n_threads);
  }
  ~BlasThreads() { openblas_set_num_threads(previous_); }
  BlasThreads(const BlasThreads&) = delete;
  BlasThreads& operator=(const BlasThreads&) = delete;

 private:
  int previous_;
};

// c = a * b^T (+ beta * c), all row-major f32:
//   a: m x k (row stride lda), b: n x k (row stride ldb), c: m x n (row stride ldc).
// Rows are vectors, so this is "every row of a dotted with every row of b".
inline void gemm_abt(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda, const float* b,
                     std::int64_t ldb, float* c, std::int64_t ldc, float beta = 0.0f) {
  if (m == 0 || n == 0) return;
  if (lda < k || ldb < k || ldc < n) throw Error(ErrorKind::Internal, "", "gemm_abt: a leading dimension is too small");
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blas_int(m, "rows of a"), blas_int(n, "rows of b"),
              blas_int(k, "vector dimension"), 1.0f, a, blas_int(lda, "lda"), b, blas_int(ldb, "ldb"), beta, c,
              blas_int(ldc, "ldc"));
}

// c = a^T * b (+ beta * c), all row-major f32:
//   a: k x m (row stride lda), b: k x n (row stride ldb), c: m x n (row stride ldc).
// Sums over the k rows the two share: "each column of a against each column of b".
inline void gemm_atb(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda, const float* b,
                     std::int64_t ldb, float* c, std::int64_t ldc, float beta = 0.0f) {
  if (m == 0 || n == 0) return;
  if (lda < m || ldb < n || ldc < n) throw Error(ErrorKind::Internal, "", "gemm_atb: a leading dimension is too small");
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blas_int(m, "columns of a"), blas_int(n, "columns of b"),
              blas_int(k, "shared rows"), 1.0f, a, blas_int(lda, "lda"), b, blas_int(ldb, "ldb"), beta, c,
              blas_int(ldc, "ldc"));
}

// c = a * b (+ beta * c), all row-major f32:
//   a: m x k (row stride lda), b: k x n (row stride ldb), c: m x n (row stride ldc).
inline void gemm_ab(std::int64_t m, std::int64_t n, std::int64_t k, const float* a, std::int64_t lda, const float* b,
                    std::int64_t ldb, float* c, std::int64_t ldc, float beta = 0.0f) {
  if (m == 0 || n == 0) return;
  if (lda < k || ldb < n || ldc < n) throw Error(ErrorKind::Internal, "", "gemm_ab: a leading dimension is too small");
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blas_int(m, "rows of a"), blas_int(n, "columns of b"),
              blas_int(k, "shared dimension"), 1.0f, a, blas_int(lda, "lda"), b, blas_int(ldb, "ldb"), beta, c,
              blas_int(ldc, "ldc"));
}

// Throws Error(Internal) when a LAPACK(E) routine reports failure (info != 0; lapack_int is int
// or int64_t depending on the build, hence the template).
// `input` says what the routine was given (shape, origin, range of entries), for the message.
template <class Info>
void lapack_check(Info info, const char* routine, const std::string& input = "") {
  if (info != 0)
    throw Error(ErrorKind::Internal, "",
                std::string(routine) + " failed (info " + std::to_string(info) + ")" +
                    (input.empty() ? std::string() : " on " + input));
}

// y = a * x: a: m x k row-major (row stride lda), x: k, y: m. One dot product per row of a.
inline void gemv_ax(std::int64_t m, std::int64_t k, const float* a, std::int64_t lda, const float* x, float* y) {
  if (m == 0) return;
  if (lda < k) throw Error(ErrorKind::Internal, "", "gemv_ax: lda is too small");
  cblas_sgemv(CblasRowMajor, CblasNoTrans, blas_int(m, "rows of a"), blas_int(k, "vector dimension"), 1.0f, a,
              blas_int(lda, "lda"), x, 1, 0.0f, y, 1);
}

}  // namespace embstat::blas
