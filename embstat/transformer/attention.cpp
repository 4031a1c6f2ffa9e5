#include "embstat/transformer/attention.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "embstat/analysis/blas.hpp"
#include "embstat/transformer/parallel.hpp"

namespace embstat::transformer {

void causal_attention(const Matrix& q, const Matrix& k, const Matrix& v, std::span<const std::int64_t> sequence_starts,
                      const AttentionShape& shape, Matrix& out) {
  const std::int64_t n_rows = q.n_rows();
  const std::int64_t hd = shape.head_dim;
  const std::int64_t group = shape.n_heads / shape.n_kv_heads;
  const auto n_seq = static_cast<std::int64_t>(sequence_starts.size());
  auto seq_end = [&](std::int64_t s) {
    return s + 1 < n_seq ? sequence_starts[static_cast<std::size_t>(s + 1)] : n_rows;
  };
  std::int64_t longest = 0;
  for (std::int64_t s = 0; s < n_seq; ++s)
    longest = std::max(longest, seq_end(s) - sequence_starts[static_cast<std::size_t>(s)]);
  // Checked here, where throwing is allowed, rather than inside the parallel region.
  blas::blas_int(longest * std::max(hd, longest), "attention scores");
  blas::blas_int(q.n_cols(), "query width");

  // One task per (sequence, head); each thread keeps one score buffer. BLAS single-threaded
  // inside the region.
  const int n_threads = omp_get_max_threads();
  std::vector<std::vector<float>> scores(static_cast<std::size_t>(n_threads),
                                         std::vector<float>(static_cast<std::size_t>(longest * longest)));
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const std::int64_t window = shape.window.value_or(std::numeric_limits<std::int64_t>::max());
  const std::int64_t n_tasks = n_seq * shape.n_heads;
  blas::BlasThreads one(1);
#pragma omp parallel for schedule(dynamic, 1) if (n_tasks * longest * longest * hd >= kParallelMinElements)
  for (std::int64_t task = 0; task < n_tasks; ++task) {
    const std::int64_t s = task / shape.n_heads;
    const std::int64_t h = task % shape.n_heads;
    const std::int64_t g = h / group;
    const std::int64_t r0 = sequence_starts[static_cast<std::size_t>(s)];
    const std::int64_t len = seq_end(s) - r0;
    float* p = scores[static_cast<std::size_t>(omp_get_thread_num())].data();
    const float* qh = q.row(r0) + h * hd;
    const float* kg = k.row(r0) + g * hd;
    const float* vg = v.row(r0) + g * hd;
    blas::gemm_abt(len, len, hd, qh, q.n_cols(), kg, k.n_cols(), p, len);
    for (std::int64_t i = 0; i < len; ++i) {
      float* row = p + i * len;
      const std::int64_t j0 = i - window + 1 > 0 ? i - window + 1 : 0;
      float top = -std::numeric_limits<float>::infinity();
      for (std::int64_t j = j0; j <= i; ++j) top = std::max(top, row[j] * scale);
      double sum = 0;
      for (std::int64_t j = 0; j < len; ++j) {
        const float e = (j >= j0 && j <= i) ? std::exp(row[j] * scale - top) : 0.0f;
        row[j] = e;
        sum += e;
      }
      const auto inv = static_cast<float>(1.0 / sum);
      for (std::int64_t j = j0; j <= i; ++j) row[j] *= inv;
    }
    blas::gemm_ab(len, hd, len, p, len, vg, v.n_cols(), out.row(r0) + h * hd, out.n_cols());
  }
}

}  // namespace embstat::transformer
