#include "embstat/analysis/bf16_kernels.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

// Only the functions marked with this attribute use AVX-512; they run only after
// bf16_kernel_available() said yes. GCC 12 warns wrongly about the intrinsics' internal
// _mm512_undefined_*() operands (GCC bug 105593), hence the pragmas around them.
#define EMBSTAT_AVX512_BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

namespace embstat {

namespace {

// Adds the squares of 16 bf16 values to two 8-lane double accumulators (bf16 -> f32 is a shift,
// f32 -> f64 exact).
EMBSTAT_AVX512_BF16 inline __attribute__((always_inline)) void add_squares(__m256i h, __m512d& acc0, __m512d& acc1) {
  const __m512 f = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(f));
  const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(f), 1)));
  acc0 = _mm512_fmadd_pd(lo, lo, acc0);
  acc1 = _mm512_fmadd_pd(hi, hi, acc1);
}

EMBSTAT_AVX512_BF16 double squared_norm_avx512(const std::uint16_t* p, std::int64_t d) {
  __m512d acc0 = _mm512_setzero_pd(), acc1 = _mm512_setzero_pd();
  std::int64_t k = 0;
  for (; k + 16 <= d; k += 16) add_squares(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + k)), acc0, acc1);
  if (k < d) add_squares(_mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << (d - k)) - 1), p + k), acc0, acc1);
  return _mm512_reduce_add_pd(_mm512_add_pd(acc0, acc1));
}

// Register tile of the dot kernel: 4 rows x 6 vectors = 24 accumulators of 16 f32 lanes, plus
// 4 row registers and 1 vector register: 29 of the 32 zmm registers.
constexpr int kTileRows = 4;
constexpr int kTileVectors = static_cast<int>(kBf16DotVectors);

// One step of k: 32 bf16 of the 4 rows (masked to the tail when `masked`) against the same 32 of
// the 6 vectors (vp: rows of stride d32, zero-padded, so never read past the buffer).
template <bool masked>
EMBSTAT_AVX512_BF16 inline __attribute__((always_inline)) void dot_step(__m512 (&acc)[kTileRows][kTileVectors],
                                                                        const std::uint16_t* const (&rp)[kTileRows],
                                                                        const std::uint16_t* vp, std::int64_t d32,
                                                                        std::int64_t k, __mmask32 tail) {
  __m512i a[kTileRows];
  for (int i = 0; i < kTileRows; ++i)
    a[i] = masked ? _mm512_maskz_loadu_epi16(tail, rp[i] + k) : _mm512_loadu_si512(rp[i] + k);
  for (int j = 0; j < kTileVectors; ++j) {
    const __m512i b = _mm512_loadu_si512(vp + j * d32 + k);
    for (int i = 0; i < kTileRows; ++i) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], (__m512bh)a[i], (__m512bh)b);
  }
}

EMBSTAT_AVX512_BF16 void dots_avx512(const Bf16Vectors& v, const float* vec_scale, const std::uint8_t* rows,
                                     std::uint64_t row_bytes, const float* row_scale, std::int64_t n_rows,
                                     std::int64_t d, float* out, std::int64_t ld_vec, std::int64_t ld_row) {
  const std::int64_t d_full = d / 32 * 32, d32 = v.d32;
  const auto tail = static_cast<__mmask32>(d > d_full ? (std::uint64_t{1} << (d - d_full)) - 1 : 0);
  for (std::int64_t r = 0; r < n_rows; r += kTileRows) {
    const std::uint16_t* rp[kTileRows];
    for (int i = 0; i < kTileRows; ++i)  // a short last group repeats its last row; results dropped
      rp[i] = reinterpret_cast<const std::uint16_t*>(rows + static_cast<std::uint64_t>(std::min(r + i, n_rows - 1)) *
                                                                row_bytes);
    const int n_r = static_cast<int>(std::min<std::int64_t>(kTileRows, n_rows - r));
    for (std::int64_t t = 0; t < v.padded; t += kTileVectors) {
      __m512 acc[kTileRows][kTileVectors];
      for (int i = 0; i < kTileRows; ++i)
        for (int j = 0; j < kTileVectors; ++j) acc[i][j] = _mm512_setzero_ps();
      const std::uint16_t* vp = v.bits.data() + t * d32;
      for (std::int64_t k = 0; k < d_full; k += 32) dot_step<false>(acc, rp, vp, d32, k, tail);
      if (tail) dot_step<true>(acc, rp, vp, d32, d_full, tail);
      for (int j = 0; j < kTileVectors && t + j < v.n; ++j)
        for (int i = 0; i < n_r; ++i) {
          float x = _mm512_reduce_add_ps(acc[i][j]);
          if (vec_scale != nullptr) x *= vec_scale[t + j];
          if (row_scale != nullptr) x *= row_scale[r + i];
          out[(t + j) * ld_vec + (r + i) * ld_row] = x;
        }
    }
  }
}

// 16 columns of rows a and b, interleaved into bf16 pairs (a_k, b_k) per 32-bit lane, the layout
// VDPBF16PS pairs up; `count` < 16 loads only that many columns (the rest 0).
EMBSTAT_AVX512_BF16 inline __attribute__((always_inline)) __m512i interleave_rows(const std::uint16_t* a,
                                                                                  const std::uint16_t* b,
                                                                                  __mmask16 mask) {
  const __m512i lo = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, a));
  const __m512i hi = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, b));
  return _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
}

// Register tile of the weighted sums: 12 weight columns x 32 row columns = 24 accumulators, plus
// 2 interleaved row registers and 1 broadcast weight pair.
constexpr int kSumTile = static_cast<int>(kBf16SumColumns);

EMBSTAT_AVX512_BF16 void weighted_row_sums_avx512(const std::uint8_t* rows, std::uint64_t row_bytes, std::int64_t d,
                                                  const Bf16WeightPairs& w, float* out) {
  const std::int64_t n_pairs = (w.n_rows + 1) / 2;
  auto row = [&](std::int64_t i) {
    return reinterpret_cast<const std::uint16_t*>(rows + static_cast<std::uint64_t>(i) * row_bytes);
  };
  for (std::int64_t k = 0; k < d; k += 32) {
    const std::int64_t left = d - k;
    const auto m0 = static_cast<__mmask16>(left >= 16 ? 0xffff : (1u << left) - 1);
    const auto m1 = static_cast<__mmask16>(left >= 32 ? 0xffff : left > 16 ? (1u << (left - 16)) - 1 : 0);
    for (std::int64_t j0 = 0; j0 < w.n; j0 += kSumTile) {
      __m512 acc[kSumTile][2];
      for (int j = 0; j < kSumTile; ++j) acc[j][0] = acc[j][1] = _mm512_setzero_ps();
      for (std::int64_t p = 0; p < n_pairs; ++p) {
        // An odd last row pairs with itself; its partner's weights are 0.
        const std::uint16_t* a = row(2 * p) + k;
        const std::uint16_t* b = (2 * p + 1 < w.n_rows ? row(2 * p + 1) : row(2 * p)) + k;
        const __m512i x0 = interleave_rows(a, b, m0);
        const __m512i x1 = interleave_rows(a + 16, b + 16, m1);
        const std::uint32_t* wp = w.pairs.data() + p * w.padded + j0;
        for (int j = 0; j < kSumTile; ++j) {
          const __m512i s = _mm512_set1_epi32(static_cast<int>(wp[j]));
          acc[j][0] = _mm512_dpbf16_ps(acc[j][0], (__m512bh)x0, (__m512bh)s);
          acc[j][1] = _mm512_dpbf16_ps(acc[j][1], (__m512bh)x1, (__m512bh)s);
        }
      }
      for (int j = 0; j < kSumTile && j0 + j < w.n; ++j) {
        float* o = out + (j0 + j) * d + k;
        _mm512_mask_storeu_ps(o, m0, acc[j][0]);
        if (m1) _mm512_mask_storeu_ps(o + 16, m1, acc[j][1]);
      }
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

double squared_norm_bf16(const std::uint16_t* p, std::int64_t d) {
  return squared_norm_avx512(p, d);
}

Bf16Vectors pack_bf16_vectors(std::int64_t n, std::int64_t d) {
  Bf16Vectors v;
  v.n = n;
  v.padded = (n + kBf16DotVectors - 1) / kBf16DotVectors * kBf16DotVectors;
  v.d32 = (d + 31) / 32 * 32;
  v.bits.assign(static_cast<std::size_t>(v.padded * v.d32), 0);
  return v;
}

void bf16_dots(const Bf16Vectors& vectors, const float* vec_scale, const std::uint8_t* rows, std::uint64_t row_bytes,
               const float* row_scale, std::int64_t n_rows, std::int64_t d, float* out, std::int64_t ld_vec,
               std::int64_t ld_row) {
  dots_avx512(vectors, vec_scale, rows, row_bytes, row_scale, n_rows, d, out, ld_vec, ld_row);
}

void Bf16WeightPairs::assign(std::int64_t rows, std::int64_t columns) {
  n_rows = rows;
  n = columns;
  padded = (columns + kBf16SumColumns - 1) / kBf16SumColumns * kBf16SumColumns;
  pairs.assign(static_cast<std::size_t>((rows + 1) / 2 * padded), 0u);
}

void bf16_weighted_row_sums(const std::uint8_t* rows, std::uint64_t row_bytes, std::int64_t d,
                            const Bf16WeightPairs& weights, float* out) {
  weighted_row_sums_avx512(rows, row_bytes, d, weights, out);
}

}  // namespace embstat
