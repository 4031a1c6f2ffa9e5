#include "embstat/analysis/sampled_bf16.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "embstat/analysis/sample_engine.hpp"
#include "embstat/base/error.hpp"

// Only the functions marked with this attribute use AVX-512; they run only after
// bf16_kernel_available() said yes. GCC 12 warns wrongly about the intrinsics' internal
// _mm512_undefined_*() operands (GCC bug 105593), hence the pragmas around them.
#define EMBSTAT_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace embstat {

namespace {

const std::uint16_t* bf16_row(const MatrixView& view, std::int64_t i) {
  return reinterpret_cast<const std::uint16_t*>(view.row(i));
}

// Adds the squares of 16 bf16 values to two 8-lane double accumulators (bf16 -> f32 is a shift,
// f32 -> f64 exact).
EMBSTAT_AVX512_BF16 inline __attribute__((always_inline)) void add_squares(__m256i h, __m512d& acc0, __m512d& acc1) {
  const __m512 f = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(f));
  const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1)));
  acc0 = _mm512_fmadd_pd(lo, lo, acc0);
  acc1 = _mm512_fmadd_pd(hi, hi, acc1);
}

// Sum of squares of d bf16 values, in double.
EMBSTAT_AVX512_BF16 double squared_norm_bf16(const std::uint16_t* p, std::int64_t d) {
  __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
  std::int64_t k = 0;
  for (; k + 16 <= d; k += 16) add_squares(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + k)), acc0, acc1);
  if (k < d) add_squares(_mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << (d - k)) - 1), p + k), acc0, acc1);
  return _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
}

// Register tile of the dot kernel: 4 rows x 6 targets = 24 accumulators of 16 f32 lanes, plus
// 4 row registers and 1 target register: 29 of the 32 zmm registers.
constexpr int kTileRows = 4;
constexpr int kTileTargets = 6;

// One step of k: 32 bf16 of the 4 rows (masked to the tail when `masked`) against the same 32 of
// the 6 targets (tp: target rows of stride d32, zero-padded, so never read past the buffer).
template <bool masked>
EMBSTAT_AVX512_BF16 inline __attribute__((always_inline)) void dot_step(__m512 (&acc)[kTileRows][kTileTargets],
                                                                        const std::uint16_t* const (&rp)[kTileRows],
                                                                        const std::uint16_t* tp, std::int64_t d32,
                                                                        std::int64_t k, __mmask32 tail) {
  __m512i a[kTileRows];
  for (int i = 0; i < kTileRows; ++i)
    a[i] = masked ? _mm512_maskz_loadu_epi16(tail, rp[i] + k) : _mm512_loadu_si512(rp[i] + k);
  for (int j = 0; j < kTileTargets; ++j) {
    const __m512i b = _mm512_loadu_si512(tp + j * d32 + k);
    for (int i = 0; i < kTileRows; ++i) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], (__m512bh)a[i], (__m512bh)b);
  }
}

EMBSTAT_AVX512_BF16 void bf16_dots(const std::uint16_t* targets, std::int64_t t_pad, std::int64_t n_targets,
                                   std::int64_t d32, const float* inv_t, const std::uint8_t* rows,
                                   std::uint64_t row_bytes, const float* inv_r, std::int64_t n_rows, std::int64_t d,
                                   float* out, std::int64_t ldc) {
  const std::int64_t d_full = d / 32 * 32;
  const auto tail = static_cast<__mmask32>(d > d_full ? (std::uint64_t{1} << (d - d_full)) - 1 : 0);
  for (std::int64_t r = 0; r < n_rows; r += kTileRows) {
    const std::uint16_t* rp[kTileRows];
    for (int i = 0; i < kTileRows; ++i)  // a short last group repeats its last row; results dropped
      rp[i] = reinterpret_cast<const std::uint16_t*>(rows + static_cast<std::uint64_t>(std::min(r + i, n_rows - 1)) *
                                                                row_bytes);
    const int n_r = static_cast<int>(std::min<std::int64_t>(kTileRows, n_rows - r));
    for (std::int64_t t = 0; t < t_pad; t += kTileTargets) {
      __m512 acc[kTileRows][kTileTargets];
      for (int i = 0; i < kTileRows; ++i)
        for (int j = 0; j < kTileTargets; ++j) acc[i][j] = _mm512_setzero_ps();
      const std::uint16_t* tp = targets + t * d32;
      for (std::int64_t k = 0; k < d_full; k += 32) dot_step<false>(acc, rp, tp, d32, k, tail);
      if (tail) dot_step<true>(acc, rp, tp, d32, d_full, tail);
      for (int j = 0; j < kTileTargets && t + j < n_targets; ++j)
        for (int i = 0; i < n_r; ++i)
          out[(t + j) * ldc + r + i] = _mm512_reduce_add_ps(acc[i][j]) * inv_t[t + j] * inv_r[r + i];
    }
  }
}

}  // namespace
#pragma GCC diagnostic pop

bool bf16_kernel_available() {
  const char* off = std::getenv("EMBSTAT_NO_BF16_KERNEL");
  if (off != nullptr && *off != '\0' && std::strcmp(off, "0") != 0) return false;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
}

bool Bf16Rows::contains(std::int64_t id) const {
  return std::binary_search(ids.begin(), ids.end(), id);
}

std::string Bf16Rows::why_not_in(std::int64_t id) const {
  if (contains(id)) return "";
  return detail::why_excluded(id, n_total, zero_rows, padding_rows, {});
}

Bf16Rows make_bf16_rows(const MatrixView& view, const RowFilter& filter) {
  if (view.dtype != DType::BF16) throw Error(ErrorKind::Internal, "", "make_bf16_rows: the matrix is not BF16");
  if (filter.dedup) throw Error(ErrorKind::Internal, "", "make_bf16_rows: --dedup needs the RowSet path");
  if (!bf16_kernel_available()) throw Error(ErrorKind::Internal, "", "make_bf16_rows: no AVX512-BF16 on this CPU");
  Bf16Rows rows;
  rows.view = view;
  rows.n_total = view.n_rows;
  const std::int64_t n = view.n_rows;
  std::vector<double> norm(static_cast<std::size_t>(n));
#pragma omp parallel for schedule(dynamic, 1024)
  for (std::int64_t i = 0; i < n; ++i)
    norm[static_cast<std::size_t>(i)] = std::sqrt(squared_norm_bf16(bf16_row(view, i), view.n_cols));
  rows.inv_norms.assign(static_cast<std::size_t>(n), 0.0f);
  for (std::int64_t i = 0; i < n; ++i) {  // the rules of make_row_set, in the same order
    const double nr = norm[static_cast<std::size_t>(i)];
    if (filter.n_tokens >= 0 && i >= filter.n_tokens && !filter.include_padding) {
      rows.padding_rows.push_back(i);
      rows.excluded.push_back(i);
    } else if (!(nr > 0) || !std::isfinite(nr)) {
      rows.zero_rows.push_back(i);
      rows.excluded.push_back(i);
    } else {
      rows.ids.push_back(i);
      rows.inv_norms[static_cast<std::size_t>(i)] = static_cast<float>(1.0 / nr);
    }
  }
  return rows;
}

SampleSummary sample_cosines(const Bf16Rows& rows, const std::vector<std::int64_t>& target_ids,
                             const SampleOptions& options) {
  detail::check_sample_size(rows.size(), rows.n_total, target_ids.size());
  for (std::int64_t id : target_ids)
    if (!rows.contains(id)) throw_usage("target row " + std::to_string(id) + " is " + rows.why_not_in(id));

  detail::SampleProblem problem;
  problem.n_cols = rows.n_total;  // columns = model rows; excluded ones skipped
  problem.skip = &rows.excluded;
  problem.self = target_ids;
  problem.ids = target_ids;
  const std::int64_t d = rows.dim();
  const std::int64_t d32 = (d + 31) / 32 * 32;
  problem.make_fill = [&rows, &target_ids, d, d32](std::int64_t k0, std::int64_t k1) -> detail::FillTile {
    // The pass's targets, zero-padded to a multiple of 6 rows and 32 columns.
    struct Targets {
      std::vector<std::uint16_t> bits;
      std::vector<float> inv;
      std::int64_t n = 0, padded = 0;
    };
    auto t = std::make_shared<Targets>();
    t->n = k1 - k0;
    t->padded = (t->n + kTileTargets - 1) / kTileTargets * kTileTargets;
    t->bits.assign(static_cast<std::size_t>(t->padded * d32), 0);
    t->inv.assign(static_cast<std::size_t>(t->padded), 0.0f);
    for (std::int64_t k = 0; k < t->n; ++k) {
      const std::int64_t id = target_ids[static_cast<std::size_t>(k0 + k)];
      std::memcpy(t->bits.data() + k * d32, bf16_row(rows.view, id),
                  sizeof(std::uint16_t) * static_cast<std::size_t>(d));
      t->inv[static_cast<std::size_t>(k)] = rows.inv_norms[static_cast<std::size_t>(id)];
    }
    return [t, &rows, d, d32](std::int64_t c0, std::int64_t c1, float* out, std::int64_t ldc) {
      bf16_dots(t->bits.data(), t->padded, t->n, d32, t->inv.data(), rows.view.row(c0), rows.view.row_bytes,
                rows.inv_norms.data() + c0, c1 - c0, d, out, ldc);
    };
  };
  return detail::run_sample(problem, options);
}

}  // namespace embstat
