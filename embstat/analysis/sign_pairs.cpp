// The int16 sign pass: scales, quantisation, int32 dot kernels, the bound test, the rechecks.
//
// Scale
// -----
// Row i is quantised as q_ik = rne(s_i (x) u_ik) (float product, round to nearest even), with s_i
// the largest float (within 1 %) such that
//   (a) max_k |q_ik| <= 32767, and
//   (b) N_i = sum_k q_ik^2 <= 2^31 - 1, checked exactly in int64 after quantising.
// For unit rows (b) binds: s_i ~ 46,000 (sqrt(2^31) = 46,341), so the largest |q_ik| is
// ~46,000 max_k |u_ik| (~5,000-9,000 at d = 1,024), not 2^15; a larger scale could overflow.
// No overflow: every value the kernels form — one vpmaddwd lane (2 products), a vpdpwssd or
// vpaddd lane accumulator, a horizontal sum, the scalar running sum — is a sum over a subset K of
// the coordinates, and by Cauchy-Schwarz
//   |sum_{k in K} q_ik q_jk| <= sum_k |q_ik| |q_jk| <= sqrt(N_i N_j) <= 2^31 - 1,
// so int32 arithmetic is exact everywhere (vpmaddwd's one saturating case, both pairs
// -32768 x -32768, cannot occur: |q| <= 32767). The dot products are therefore exact integers,
// identical for every kernel and summation order.
//
// Bound
// -----
// e_i = q_i - s_i u_i (computed exactly in double: s_i u_ik is exact, the difference too), and
//   q_i . q_j - s_i s_j u_i . u_j = s_i u_i . e_j + s_j e_i . u_j + e_i . e_j,
// so |q_i . q_j - s_i s_j u_i . u_j| <= r_i h_j + r_j h_i + h_i h_j with r_i >= ||s_i u_i||,
// h_i >= ||e_i|| (rounded up). The pass adds z_i z_j >= 1e-6 s_i s_j, so that every pair with
// |cos| < 1e-6 is rechecked (and counted as `uncertain`), and evaluates
//   T_ij = fl(fl(fl(r_i h_j) + fl(h_i w_j)) + fl(z_i z_j)) (x) (1 + 2^-20),   w_j >= r_j + h_j,
// in float: five roundings of relative size <= 2^-24 are covered by the factor 1 + 2^-20 (all
// terms are >= 0; an underflow loses < 1, covered by the +1 below). The integer threshold is
// t_ij = ceil(min(T_ij, 2^31 - 128)) + 1. If q_i . q_j > t_ij the cosine is positive, if
// q_i . q_j < -t_ij negative; otherwise the pair is rechecked. Typical bound at d = 1,024:
// h ~ sqrt(d / 12) ~ 9.2 against s ~ 46,000, so |cos| < ~4e-4 is rechecked (`rechecked`).
//
// Second level (rechecked pairs, from the int16 rows already in the tile buffers)
// -------------------------------------------------------------------------------
// The residual is quantised too: f_i = rne(t_i (x) e'_i), e'_i = q_i - fl(s_i u_i) (float, exact),
// t_i chosen by the same two limits (t_i ~ 46,000 / ||e'_i||). With g_i = e_i - f_i / t_i,
//   s_i s_j u_i . u_j = (q_i - e_i) . (q_j - e_j)
//                     = q_i . q_j - (q_i . f_j) / t_j - (f_i . q_j) / t_i - q_i . g_j - g_i . q_j + e_i . e_j,
// so the estimate E = q_i . q_j - (q_i . f_j) / t_j - (f_i . q_j) / t_i (two more exact int32 dots,
// then double) is within Q_i G_j + G_i Q_j + h_i h_j (Q_i >= ||q_i||, G_i >= ||g_i||) plus its
// own rounding (< 1e-6, kSecondLevelSlack) of s_i s_j u_i . u_j: ~1.5e-7 in cosine at d = 1,024.
// Where |E| exceeds that, the sign is settled, and so is |cos| < 1e-6 unless the interval
// straddles it.
//
// Recheck (exact_dot_sign; what the second level leaves: `double_checked`)
// -------------------------------------------------------------------------
// Products of two floats are exact in double. Their sum in any order is within
// gamma_{d-1} sum |p_k| <= (d + 2) 2^-52 sum|p_k| of the truth; where |sum| exceeds that the sign
// is settled. Else (|cos| below ~1e-13, e.g. exactly orthogonal rows) every product m_a m_b 2^(e_a
// + e_b) is added into a 640-bit fixed-point accumulator of 32-bit limbs: exact (`exact_fallback`).
//
// Layout and kernels
// ------------------
// Tiles (I, J), I <= J, of kSignBlockRows rows as in all_pairs, OpenMP over tiles. A thread
// quantises its row block once per run of tiles and the column block per tile (q and f, row-major,
// rows padded to a multiple of 32 int16). The column block is met in panels of kPanelCols rows by
// strips of kStripRows tile rows; the strip's int32 dots are classified at once (vector bound
// test), flagged pairs go through the second level. Kernels: AVX-512 VNNI (outer form on packed
// panels), AVX2 (vpmaddwd, dot form), scalar; all compute the same integers.
#include "embstat/analysis/sign_pairs.hpp"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "embstat/analysis/reducers/pair_stats.hpp"
#include "embstat/base/error.hpp"

namespace embstat {

namespace {

constexpr float kCosMax = 32767.0f;
constexpr double kNormTarget = 46000.0;         // first try for s_i ||u_i||
constexpr std::int64_t kMaxNorm2 = 2147483647;  // 2^31 - 1
constexpr float kSlack = 1.0f + 0x1p-20f;       // covers the float roundings of T_ij
constexpr float kThresholdCap = 2147483520.0f;  // 2^31 - 128: + 1 still fits int32
constexpr double kUncertainCos = 1e-6;
constexpr double kUncertainRoot = 1.0000001e-3;  // z_i = s_i kUncertainRoot, z_i z_j >= 1e-6 s_i s_j
// Absolute slack of the second level's bound: the double rounding of its estimate (|terms| < 2^32,
// a few roundings of relative 2^-53: < 1e-6) with a wide margin.
constexpr double kSecondLevelSlack = 1.0 / 64;
// Column panels: kPanelCols rows of the column block (int16 at d = 1,024: 128 KiB, in L2), each
// met by the tile rows in strips of kStripRows (a multiple of both kernels' row groups, 4 and 6).
constexpr std::int64_t kPanelCols = 64;
constexpr std::int64_t kStripRows = 24;

std::uint64_t pairs_of(std::int64_t n) {
  return n < 2 ? 0 : static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(n - 1) / 2;
}

// The float nearest x from above (x >= 0, finite).
float float_up(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) < x) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}
float float_down(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) > x) f = std::nextafter(f, 0.0f);
  return f;
}

// 64-byte aligned scratch of n T.
template <typename T>
struct Aligned {
  struct Free {
    void operator()(T* p) const { std::free(p); }
  };
  std::unique_ptr<T[], Free> p;
  explicit Aligned(std::int64_t n = 0) {
    if (n <= 0) return;
    const std::size_t bytes = (static_cast<std::size_t>(n) * sizeof(T) + 63) / 64 * 64;
    p.reset(static_cast<T*>(std::aligned_alloc(64, bytes)));
    if (!p) throw std::bad_alloc();
  }
  T* get() const { return p.get(); }
};

// --- Quantisation -----------------------------------------------------------------------------

// rne(x) for |x| <= 2^22: adding 1.5 * 2^23 leaves the integer (round to nearest even, the
// default mode, as cvtps_epi32) in the low bits.
inline float rne(float x) {
  return (x + 12582912.0f) - 12582912.0f;
}

// Row u (d floats) with scale s: q_k = rne(s (x) u_k). With f != nullptr also the residual
// f_k = rne(t (x) e'_k), e'_k = q_k - fl(s u_k) (exact: q_k and fl(s u_k) are within 0.5, so the
// subtraction is exact by Sterbenz's lemma or because q_k = 0). Pads to stride with zeros.
void quantise_row_scalar(const float* u, float s, float t, std::int16_t* q, std::int16_t* f, std::int64_t d,
                         std::int64_t stride) {
  for (std::int64_t k = 0; k < d; ++k) {
    const float p = s * u[k];
    const float r = rne(p);
    q[k] = static_cast<std::int16_t>(static_cast<int>(r));
    if (f) f[k] = static_cast<std::int16_t>(static_cast<int>(rne(t * (r - p))));
  }
  for (std::int64_t k = d; k < stride; ++k) {
    q[k] = 0;
    if (f) f[k] = 0;
  }
}

__attribute__((target("avx2"))) void quantise_row_avx2(const float* u, float s, float t, std::int16_t* q,
                                                       std::int16_t* f, std::int64_t d, std::int64_t stride) {
  const __m256 vs = _mm256_set1_ps(s), vt = _mm256_set1_ps(t);
  const std::int64_t full = d & ~std::int64_t{15};
  for (std::int64_t k = 0; k < full; k += 16) {
    const __m256 p0 = _mm256_mul_ps(_mm256_loadu_ps(u + k), vs), p1 = _mm256_mul_ps(_mm256_loadu_ps(u + k + 8), vs);
    const __m256i q0 = _mm256_cvtps_epi32(p0), q1 = _mm256_cvtps_epi32(p1);
    // packs works per 128-bit lane: [lo0-3 hi0-3 lo4-7 hi4-7] -> qword order 0 2 1 3.
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + k), _mm256_permute4x64_epi64(_mm256_packs_epi32(q0, q1), 0xD8));
    if (f) {
      const __m256 e0 = _mm256_sub_ps(_mm256_cvtepi32_ps(q0), p0), e1 = _mm256_sub_ps(_mm256_cvtepi32_ps(q1), p1);
      const __m256i f0 = _mm256_cvtps_epi32(_mm256_mul_ps(e0, vt)), f1 = _mm256_cvtps_epi32(_mm256_mul_ps(e1, vt));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(f + k),
                          _mm256_permute4x64_epi64(_mm256_packs_epi32(f0, f1), 0xD8));
    }
  }
  quantise_row_scalar(u + full, s, t, q + full, f ? f + full : nullptr, d - full, stride - full);
}

void quantise_row(PairKernel kernel, const float* u, float s, float t, std::int16_t* q, std::int16_t* f, std::int64_t d,
                  std::int64_t stride) {
  if (kernel == PairKernel::Scalar)
    quantise_row_scalar(u, s, t, q, f, d, stride);
  else
    quantise_row_avx2(u, s, t, q, f, d, stride);
}

// --- Dot kernels ------------------------------------------------------------------------------
//
// "Dot form": an accumulator per (row of a, row of b) pair holds per-lane partial sums along k,
// summed horizontally at the end (8 at once). Rows need no packing; the block's stride is a
// multiple of 32 int16, zero padded.

void dots_scalar(const std::int16_t* a, std::int64_t m, const std::int16_t* b, std::int64_t n, std::int64_t stride,
                 std::int32_t* out, std::int64_t ld) {
  for (std::int64_t r = 0; r < m; ++r)
    for (std::int64_t c = 0; c < n; ++c) {
      const std::int16_t* x = a + r * stride;
      const std::int16_t* y = b + c * stride;
      std::int32_t s = 0;  // every partial sum is within int32 (see "Scale")
      for (std::int64_t k = 0; k < stride; ++k) s += static_cast<std::int32_t>(x[k]) * static_cast<std::int32_t>(y[k]);
      out[r * ld + c] = s;
    }
}

#define EMBSTAT_AVX2 __attribute__((target("avx2")))

// Lane k of the result: the sum of the 8 lanes of v[k].
EMBSTAT_AVX2 inline __m256i hsum8(const __m256i* v) {
  const __m256i h01 = _mm256_hadd_epi32(v[0], v[1]), h23 = _mm256_hadd_epi32(v[2], v[3]);
  const __m256i h45 = _mm256_hadd_epi32(v[4], v[5]), h67 = _mm256_hadd_epi32(v[6], v[7]);
  const __m256i h0123 = _mm256_hadd_epi32(h01, h23), h4567 = _mm256_hadd_epi32(h45, h67);
  return _mm256_add_epi32(_mm256_permute2x128_si256(h0123, h4567, 0x20), _mm256_permute2x128_si256(h0123, h4567, 0x31));
}

// Writes MR x NR sums (accumulators in row-major order) to out.
template <int MR, int NR>
EMBSTAT_AVX2 inline void store_sums(const __m256i (&acc)[MR][NR], std::int32_t* out, std::int64_t ld) {
  constexpr int kCount = MR * NR;
  alignas(32) std::int32_t sums[(kCount + 7) / 8 * 8];
  for (int g = 0; g < kCount; g += 8) {
    __m256i v[8];
    for (int t = 0; t < 8; ++t) v[t] = g + t < kCount ? acc[(g + t) / NR][(g + t) % NR] : _mm256_setzero_si256();
    _mm256_store_si256(reinterpret_cast<__m256i*>(sums + g), hsum8(v));
  }
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < NR; ++c) out[r * ld + c] = sums[r * NR + c];
}

// AVX2: acc += vpmaddwd(a, b), 4 x 2 pairs: 8 accumulators + 4 rows of a + b + the product = 14
// of the 16 ymm registers.
template <int MR, int NR>
EMBSTAT_AVX2 void micro_avx2(const std::int16_t* a, const std::int16_t* b, std::int64_t stride, std::int32_t* out,
                             std::int64_t ld) {
  __m256i acc[MR][NR];
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < NR; ++c) acc[r][c] = _mm256_setzero_si256();
  for (std::int64_t k = 0; k < stride; k += 16) {
    __m256i va[MR];
    for (int r = 0; r < MR; ++r) va[r] = _mm256_load_si256(reinterpret_cast<const __m256i*>(a + r * stride + k));
    for (int c = 0; c < NR; ++c) {
      const __m256i vb = _mm256_load_si256(reinterpret_cast<const __m256i*>(b + c * stride + k));
      for (int r = 0; r < MR; ++r) acc[r][c] = _mm256_add_epi32(acc[r][c], _mm256_madd_epi16(va[r], vb));
    }
  }
  store_sums<MR, NR>(acc, out, ld);
}

// GCC 12 reports its own _mm512_undefined_*() idiom inside _mm512_extracti64x4_epi64 as
// uninitialised (as in reducers/pair_stats.cpp): a false positive, silenced for this kernel.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define EMBSTAT_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2")))

// AVX-512 VNNI, "outer form": the 64 columns of a packed panel (pack_panel) sit across 4 zmm
// registers as (b_c[2p], b_c[2p + 1]) pairs; each row's pair (a[2p], a[2p + 1]) is broadcast and
// vpdpwssd adds a[2p] b_c[2p] + a[2p + 1] b_c[2p + 1] to column c's lane. MR x 4 accumulators
// (6 x 4 = 24, + 4 panel vectors + 1 broadcast = 29 of the 32 zmm registers) hold MR x 64 dot
// products to the end: no horizontal sums. The panel (stride x 128 bytes: 128 KiB at d = 1,024)
// stays in L2 while the rows of a stream past it.
//
// The 6-row kernel names its 24 accumulators: GCC 12 does not keep an array of 24 zmm values in
// registers (it spills the whole array every step, at half the speed).
template <int MR>
EMBSTAT_VNNI void outer_vnni(const std::int16_t* a, std::int64_t stride, const std::int32_t* panel, std::int32_t* out,
                             std::int64_t ld) {
  __m512i acc[MR][4];
  for (int r = 0; r < MR; ++r)
    for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_setzero_si512();
  const std::int64_t words = stride / 2;
  for (std::int64_t p = 0; p < words; ++p) {
    const std::int32_t* bp = panel + p * kPanelCols;
    const __m512i b0 = _mm512_load_si512(bp), b1 = _mm512_load_si512(bp + 16), b2 = _mm512_load_si512(bp + 32),
                  b3 = _mm512_load_si512(bp + 48);
    for (int r = 0; r < MR; ++r) {
      std::int32_t pair;
      std::memcpy(&pair, a + r * stride + 2 * p, sizeof pair);
      const __m512i va = _mm512_set1_epi32(pair);
      acc[r][0] = _mm512_dpwssd_epi32(acc[r][0], va, b0);
      acc[r][1] = _mm512_dpwssd_epi32(acc[r][1], va, b1);
      acc[r][2] = _mm512_dpwssd_epi32(acc[r][2], va, b2);
      acc[r][3] = _mm512_dpwssd_epi32(acc[r][3], va, b3);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (std::int64_t c = 0; c < 4; ++c) _mm512_storeu_si512(out + r * ld + 16 * c, acc[r][c]);
}

EMBSTAT_VNNI void outer_vnni6(const std::int16_t* a, std::int64_t stride, const std::int32_t* panel, std::int32_t* out,
                              std::int64_t ld) {
#define EMBSTAT_ROW_ACC(r) \
  __m512i c##r##0 = _mm512_setzero_si512(), c##r##1 = c##r##0, c##r##2 = c##r##0, c##r##3 = c##r##0
  EMBSTAT_ROW_ACC(0);
  EMBSTAT_ROW_ACC(1);
  EMBSTAT_ROW_ACC(2);
  EMBSTAT_ROW_ACC(3);
  EMBSTAT_ROW_ACC(4);
  EMBSTAT_ROW_ACC(5);
#undef EMBSTAT_ROW_ACC
  const std::int16_t* a0 = a;
  const std::int64_t words = stride / 2;
  for (std::int64_t p = 0; p < words; ++p) {
    const std::int32_t* bp = panel + p * kPanelCols;
    const __m512i b0 = _mm512_load_si512(bp), b1 = _mm512_load_si512(bp + 16), b2 = _mm512_load_si512(bp + 32),
                  b3 = _mm512_load_si512(bp + 48);
#define EMBSTAT_ROW_STEP(r)                                   \
  {                                                           \
    std::int32_t pair;                                        \
    std::memcpy(&pair, a0 + (r)*stride + 2 * p, sizeof pair); \
    const __m512i va = _mm512_set1_epi32(pair);               \
    c##r##0 = _mm512_dpwssd_epi32(c##r##0, va, b0);           \
    c##r##1 = _mm512_dpwssd_epi32(c##r##1, va, b1);           \
    c##r##2 = _mm512_dpwssd_epi32(c##r##2, va, b2);           \
    c##r##3 = _mm512_dpwssd_epi32(c##r##3, va, b3);           \
  }
    EMBSTAT_ROW_STEP(0)
    EMBSTAT_ROW_STEP(1)
    EMBSTAT_ROW_STEP(2)
    EMBSTAT_ROW_STEP(3)
    EMBSTAT_ROW_STEP(4)
    EMBSTAT_ROW_STEP(5)
#undef EMBSTAT_ROW_STEP
  }
#define EMBSTAT_ROW_STORE(r)                       \
  _mm512_storeu_si512(out + (r)*ld, c##r##0);      \
  _mm512_storeu_si512(out + (r)*ld + 16, c##r##1); \
  _mm512_storeu_si512(out + (r)*ld + 32, c##r##2); \
  _mm512_storeu_si512(out + (r)*ld + 48, c##r##3);
  EMBSTAT_ROW_STORE(0)
  EMBSTAT_ROW_STORE(1)
  EMBSTAT_ROW_STORE(2)
  EMBSTAT_ROW_STORE(3)
  EMBSTAT_ROW_STORE(4)
  EMBSTAT_ROW_STORE(5)
#undef EMBSTAT_ROW_STORE
}

// Columns [0, n_cols) of b (rows of stride int16, n_cols <= kPanelCols) as one packed panel:
// panel[p * kPanelCols + c] = the int16 pair (b_c[2p], b_c[2p + 1]) as one int32 word, p < stride / 2;
// columns past n_cols are zero. 16 x 16 blocks of words are transposed in registers (a scalar
// gather of 64 rows 2 KiB apart thrashes L1 sets and cost more than 10 % of the pass).
EMBSTAT_VNNI void pack_panel(const std::int16_t* b, std::int64_t n_cols, std::int64_t stride, std::int32_t* panel) {
  const std::int64_t words = stride / 2;
  for (std::int64_t c0 = 0; c0 < kPanelCols; c0 += 16)
    for (std::int64_t p0 = 0; p0 < words; p0 += 16) {
      __m512i r[16], a[16], t[16];
      for (int j = 0; j < 16; ++j)
        r[j] = c0 + j < n_cols ? _mm512_load_si512(b + (c0 + j) * stride + 2 * p0) : _mm512_setzero_si512();
      for (int j = 0; j < 16; j += 2) {
        a[j] = _mm512_unpacklo_epi32(r[j], r[j + 1]);
        a[j + 1] = _mm512_unpackhi_epi32(r[j], r[j + 1]);
      }
      // Per 128-bit lane L, rows 4g..4g+3: r[4g + m'] = lane L of word 4L + m of those rows.
      for (std::int64_t g = 0; g < 4; ++g) {
        r[4 * g + 0] = _mm512_unpacklo_epi64(a[4 * g], a[4 * g + 2]);
        r[4 * g + 1] = _mm512_unpackhi_epi64(a[4 * g], a[4 * g + 2]);
        r[4 * g + 2] = _mm512_unpacklo_epi64(a[4 * g + 1], a[4 * g + 3]);
        r[4 * g + 3] = _mm512_unpackhi_epi64(a[4 * g + 1], a[4 * g + 3]);
      }
      for (int m = 0; m < 4; ++m) {
        const __m512i c = _mm512_shuffle_i32x4(r[m], r[4 + m], 0x88), d = _mm512_shuffle_i32x4(r[m], r[4 + m], 0xDD);
        const __m512i e = _mm512_shuffle_i32x4(r[8 + m], r[12 + m], 0x88),
                      f = _mm512_shuffle_i32x4(r[8 + m], r[12 + m], 0xDD);
        t[m] = _mm512_shuffle_i32x4(c, e, 0x88);
        t[8 + m] = _mm512_shuffle_i32x4(c, e, 0xDD);
        t[4 + m] = _mm512_shuffle_i32x4(d, f, 0x88);
        t[12 + m] = _mm512_shuffle_i32x4(d, f, 0xDD);
      }
      for (int k = 0; k < 16; ++k) _mm512_store_si512(panel + (p0 + k) * kPanelCols + c0, t[k]);
    }
}

// out (m x kPanelCols, row stride ld) = rows of a (m x stride) . the panel's columns.
void vnni_rows(const std::int16_t* a, std::int64_t m, std::int64_t stride, const std::int32_t* panel, std::int32_t* out,
               std::int64_t ld) {
  std::int64_t r = 0;
  for (; r + 6 <= m; r += 6) outer_vnni6(a + r * stride, stride, panel, out + r * ld, ld);
  const std::int16_t* ar = a + r * stride;
  std::int32_t* o = out + r * ld;
  switch (m - r) {
    case 5:
      return outer_vnni<5>(ar, stride, panel, o, ld);
    case 4:
      return outer_vnni<4>(ar, stride, panel, o, ld);
    case 3:
      return outer_vnni<3>(ar, stride, panel, o, ld);
    case 2:
      return outer_vnni<2>(ar, stride, panel, o, ld);
    case 1:
      return outer_vnni<1>(ar, stride, panel, o, ld);
    default:
      return;
  }
}

#pragma GCC diagnostic pop

// Rows of a in groups of MR, columns in groups of NR, the remainders with smaller kernels.
template <int MR, int NR, template <int, int> class Micro>
struct Blocked {
  template <int R>
  static void row_group(const std::int16_t* a, const std::int16_t* b, std::int64_t n, std::int64_t stride,
                        std::int32_t* out, std::int64_t ld) {
    std::int64_t c = 0;
    for (; c + NR <= n; c += NR) Micro<R, NR>::run(a, b + c * stride, stride, out + c, ld);
    const std::int64_t left = n - c;
    if constexpr (NR > 1)
      if (left > 0) tail<R, NR - 1>(left, a, b + c * stride, stride, out + c, ld);
  }
  template <int R, int C>
  static void tail(std::int64_t left, const std::int16_t* a, const std::int16_t* b, std::int64_t stride,
                   std::int32_t* out, std::int64_t ld) {
    if (left == C) return Micro<R, C>::run(a, b, stride, out, ld);
    if constexpr (C > 1) tail<R, C - 1>(left, a, b, stride, out, ld);
  }
  template <int R>
  static void rows_tail(std::int64_t left, const std::int16_t* a, const std::int16_t* b, std::int64_t n,
                        std::int64_t stride, std::int32_t* out, std::int64_t ld) {
    if (left == R) return row_group<R>(a, b, n, stride, out, ld);
    if constexpr (R > 1) rows_tail<R - 1>(left, a, b, n, stride, out, ld);
  }
  static void run(const std::int16_t* a, std::int64_t m, const std::int16_t* b, std::int64_t n, std::int64_t stride,
                  std::int32_t* out, std::int64_t ld) {
    std::int64_t r = 0;
    for (; r + MR <= m; r += MR) row_group<MR>(a + r * stride, b, n, stride, out + r * ld, ld);
    if constexpr (MR > 1)
      if (m - r > 0) rows_tail<MR - 1>(m - r, a + r * stride, b, n, stride, out + r * ld, ld);
  }
};

template <int R, int C>
struct Avx2Micro {
  static void run(const std::int16_t* a, const std::int16_t* b, std::int64_t stride, std::int32_t* out,
                  std::int64_t ld) {
    micro_avx2<R, C>(a, b, stride, out, ld);
  }
};
// --- Pair dots (the second level: a few pairs, rows in the tile buffers) ---------------------

// qf = qa . fb and fq = fa . qb (rows of stride int16, 64-byte aligned; exact: see "Scale").
struct PairDots {
  std::int32_t qf, fq;
};

PairDots pair_dots_scalar(const std::int16_t* qa, const std::int16_t* fa, const std::int16_t* qb,
                          const std::int16_t* fb, std::int64_t stride) {
  std::int32_t qf = 0, fq = 0;
  for (std::int64_t k = 0; k < stride; ++k) {
    qf += static_cast<std::int32_t>(qa[k]) * fb[k];
    fq += static_cast<std::int32_t>(fa[k]) * qb[k];
  }
  return {qf, fq};
}

__attribute__((target("avx2"))) PairDots pair_dots_avx2(const std::int16_t* qa, const std::int16_t* fa,
                                                        const std::int16_t* qb, const std::int16_t* fb,
                                                        std::int64_t stride) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, b0 = a0, b1 = a0;
  auto* vqa = reinterpret_cast<const __m256i*>(qa);
  auto* vfa = reinterpret_cast<const __m256i*>(fa);
  auto* vqb = reinterpret_cast<const __m256i*>(qb);
  auto* vfb = reinterpret_cast<const __m256i*>(fb);
  for (std::int64_t v = 0; v < stride / 16; v += 2) {  // stride is a multiple of 32
    a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_load_si256(vqa + v), _mm256_load_si256(vfb + v)));
    a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_load_si256(vqa + v + 1), _mm256_load_si256(vfb + v + 1)));
    b0 = _mm256_add_epi32(b0, _mm256_madd_epi16(_mm256_load_si256(vfa + v), _mm256_load_si256(vqb + v)));
    b1 = _mm256_add_epi32(b1, _mm256_madd_epi16(_mm256_load_si256(vfa + v + 1), _mm256_load_si256(vqb + v + 1)));
  }
  __m256i v[8] = {_mm256_add_epi32(a0, a1), _mm256_add_epi32(b0, b1)};
  for (int t = 2; t < 8; ++t) v[t] = _mm256_setzero_si256();
  alignas(32) std::int32_t out[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(out), hsum8(v));
  return {out[0], out[1]};
}

// _mm512_reduce_add_epi32 inlines the extract that GCC 12 reports as uninitialised (see above).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2"))) PairDots pair_dots_vnni(const std::int16_t* qa,
                                                                                             const std::int16_t* fa,
                                                                                             const std::int16_t* qb,
                                                                                             const std::int16_t* fb,
                                                                                             std::int64_t stride) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, b0 = a0, b1 = a0;
  std::int64_t k = 0;
  for (; k + 64 <= stride; k += 64) {
    a0 = _mm512_dpwssd_epi32(a0, _mm512_load_si512(qa + k), _mm512_load_si512(fb + k));
    b0 = _mm512_dpwssd_epi32(b0, _mm512_load_si512(fa + k), _mm512_load_si512(qb + k));
    a1 = _mm512_dpwssd_epi32(a1, _mm512_load_si512(qa + k + 32), _mm512_load_si512(fb + k + 32));
    b1 = _mm512_dpwssd_epi32(b1, _mm512_load_si512(fa + k + 32), _mm512_load_si512(qb + k + 32));
  }
  if (k < stride) {  // stride is a multiple of 32
    a0 = _mm512_dpwssd_epi32(a0, _mm512_load_si512(qa + k), _mm512_load_si512(fb + k));
    b0 = _mm512_dpwssd_epi32(b0, _mm512_load_si512(fa + k), _mm512_load_si512(qb + k));
  }
  return {_mm512_reduce_add_epi32(_mm512_add_epi32(a0, a1)), _mm512_reduce_add_epi32(_mm512_add_epi32(b0, b1))};
}
#pragma GCC diagnostic pop

PairDots pair_dots(PairKernel kernel, const std::int16_t* qa, const std::int16_t* fa, const std::int16_t* qb,
                   const std::int16_t* fb, std::int64_t stride) {
  switch (kernel) {
    case PairKernel::Avx512:
      return pair_dots_vnni(qa, fa, qb, fb, stride);
    case PairKernel::Avx2:
      return pair_dots_avx2(qa, fa, qb, fb, stride);
    default:
      return pair_dots_scalar(qa, fa, qb, fb, stride);
  }
}

// --- Bound test -------------------------------------------------------------------------------

// Per-row float data of the bound test (see "Bound"): r = scaled_norm, h = error_norm,
// w >= r + h, z >= kUncertainRoot s.
struct BoundRows {
  std::vector<float> r, h, w, z;
};

inline std::int32_t threshold_of(float T) {
  T = std::ceil(T);
  T = T < kThresholdCap ? T : kThresholdCap;
  return static_cast<std::int32_t>(T) + 1;
}

// One tile row: pairs (i, j0 + c), c < len, with dots[c] = q_i . q_j. Counts settled negatives
// into `negative` (and col_negative[c] when not null) and writes the positions to recheck.
// Returns how many were flagged.
std::int64_t classify_scalar(const std::int32_t* dots, std::int64_t len, const BoundRows& b, std::int64_t i,
                             std::int64_t j0, std::int64_t& negative, std::int64_t* col_negative,
                             std::int32_t* flagged) {
  const float ri = b.r[static_cast<std::size_t>(i)], hi = b.h[static_cast<std::size_t>(i)],
              zi = b.z[static_cast<std::size_t>(i)];
  const float* h = b.h.data() + j0;
  const float* w = b.w.data() + j0;
  const float* z = b.z.data() + j0;
  std::int64_t nf = 0, neg = 0;
  for (std::int64_t c = 0; c < len; ++c) {
    const float prod1 = ri * h[c];
    const float prod2 = hi * w[c];
    const float prod3 = zi * z[c];
    const float sum = (prod1 + prod2) + prod3;
    const std::int32_t t = threshold_of(sum * kSlack);
    const bool is_neg = dots[c] < -t;
    if (!is_neg && dots[c] <= t) flagged[nf++] = static_cast<std::int32_t>(c);
    neg += is_neg;
    if (col_negative) col_negative[c] += is_neg;
  }
  negative += neg;
  return nf;
}

// The same float operations 8 lanes at a time (no FMA in the target: no contraction), so the
// flagged positions are those of the scalar version.
EMBSTAT_AVX2 std::int64_t classify_avx2(const std::int32_t* dots, std::int64_t len, const BoundRows& b, std::int64_t i,
                                        std::int64_t j0, std::int64_t& negative, std::int64_t* col_negative,
                                        std::int32_t* flagged) {
  const __m256 ri = _mm256_set1_ps(b.r[static_cast<std::size_t>(i)]),
               hi = _mm256_set1_ps(b.h[static_cast<std::size_t>(i)]),
               zi = _mm256_set1_ps(b.z[static_cast<std::size_t>(i)]), slack = _mm256_set1_ps(kSlack),
               cap = _mm256_set1_ps(kThresholdCap);
  const __m256i one = _mm256_set1_epi32(1), zero = _mm256_setzero_si256();
  const float* h = b.h.data() + j0;
  const float* w = b.w.data() + j0;
  const float* z = b.z.data() + j0;
  std::int64_t nf = 0, neg = 0;
  const std::int64_t full = len & ~std::int64_t{7};
  for (std::int64_t c = 0; c < full; c += 8) {
    const __m256 prod1 = _mm256_mul_ps(ri, _mm256_loadu_ps(h + c));
    const __m256 prod2 = _mm256_mul_ps(hi, _mm256_loadu_ps(w + c));
    const __m256 prod3 = _mm256_mul_ps(zi, _mm256_loadu_ps(z + c));
    __m256 T = _mm256_mul_ps(_mm256_add_ps(_mm256_add_ps(prod1, prod2), prod3), slack);
    T = _mm256_min_ps(_mm256_ceil_ps(T), cap);  // min(x, cap) as the scalar ternary: x < cap ? x : cap
    const __m256i t = _mm256_add_epi32(_mm256_cvttps_epi32(T), one);
    const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(dots + c));
    const __m256i is_neg = _mm256_cmpgt_epi32(_mm256_sub_epi32(zero, t), d);
    const __m256i is_pos = _mm256_cmpgt_epi32(d, t);
    const unsigned nmask = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(is_neg)));
    unsigned f =
        ~static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_or_si256(is_neg, is_pos)))) & 0xffu;
    neg += __builtin_popcount(nmask);
    while (f) {
      flagged[nf++] = static_cast<std::int32_t>(c + __builtin_ctz(f));
      f &= f - 1;
    }
    if (col_negative) {
      auto* cn = reinterpret_cast<__m256i*>(col_negative + c);
      const __m256i lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(is_neg));
      const __m256i hi64 = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(is_neg, 1));
      _mm256_storeu_si256(cn, _mm256_sub_epi64(_mm256_loadu_si256(cn), lo));  // - (-1)
      _mm256_storeu_si256(cn + 1, _mm256_sub_epi64(_mm256_loadu_si256(cn + 1), hi64));
    }
  }
  std::int64_t tail_neg = 0;
  const std::int64_t tail = classify_scalar(dots + full, len - full, b, i, j0 + full, tail_neg,
                                            col_negative ? col_negative + full : nullptr, flagged + nf);
  for (std::int64_t f = nf; f < nf + tail; ++f) flagged[f] += static_cast<std::int32_t>(full);
  negative += neg + tail_neg;
  return nf + tail;
}

#undef EMBSTAT_AVX2
#undef EMBSTAT_VNNI

// --- Recheck ----------------------------------------------------------------------------------

struct Recheck {
  int sign;
  double value;  // the double-precision dot
  bool exact;    // the fixed-point sum was needed
};

// Exact sign of sum_k a[k] b[k] by a fixed-point sum: bit p of the accumulator weighs
// 2^(p - 298) (the smallest product of two floats is 2^-149 * 2^-149), 20 limbs of 32 bits (640
// bits: products reach 2^(2 * 127 + 2), plus 31 bits of carry headroom for d < 2^31 terms).
int fixed_point_dot_sign(const float* a, const float* b, std::int64_t d) {
  constexpr int kLimbs = 20, kBase = 298;
  std::int64_t acc[kLimbs] = {};
  auto split = [](float x, std::int64_t& m, int& e) {
    std::uint32_t u;
    std::memcpy(&u, &x, sizeof u);
    const int field = static_cast<int>((u >> 23) & 0xffu);
    const std::int64_t mant = u & 0x7fffffu;
    if (field == 0xff) throw Error(ErrorKind::Internal, "", "sign_pairs: a non-finite value in the unit rows");
    m = field ? (mant | 0x800000) : mant;
    e = field ? field - 150 : -149;
    if (u >> 31) m = -m;
  };
  for (std::int64_t k = 0; k < d; ++k) {
    std::int64_t ma, mb;
    int ea, eb;
    split(a[k], ma, ea);
    split(b[k], mb, eb);
    const std::int64_t p = ma * mb;  // |p| < 2^48
    if (p == 0) continue;
    const int pos = ea + eb + kBase;                                                           // 0 .. 506
    const unsigned __int128 v = static_cast<unsigned __int128>(p < 0 ? -p : p) << (pos % 32);  // < 2^79
    const int limb = pos / 32;
    for (int t = 0; t < 3; ++t) {
      const auto part = static_cast<std::int64_t>(static_cast<std::uint64_t>(v >> (32 * t)) & 0xffffffffu);
      acc[limb + t] += p < 0 ? -part : part;
    }
  }
  // Carry: each limb into [0, 2^32), the rest (floor) into the next; the sign is the final carry's,
  // or positive if any limb is left.
  std::int64_t carry = 0;
  bool any = false;
  for (int l = 0; l < kLimbs; ++l) {
    const std::int64_t t = acc[l] + carry;
    const std::int64_t low = t & 0xffffffff;
    carry = (t - low) / (std::int64_t{1} << 32);
    any |= low != 0;
  }
  if (carry != 0) return carry < 0 ? -1 : 1;
  return any ? 1 : 0;
}

// The double dot and the sum of |products| in kRecheckLanes lanes (lane l takes k = l mod 16),
// reduced in a fixed tree: the scalar and AVX2 versions add the same exact products in the same
// order, so they return the same bits.
constexpr int kRecheckLanes = 16;

struct DotSums {
  double sum, abs_sum;
};

DotSums reduce_lanes(const double* s, const double* t, const float* a, const float* b, std::int64_t k, std::int64_t d) {
  double lane_s[4], lane_t[4];
  for (int l = 0; l < 4; ++l) {
    lane_s[l] = (s[l] + s[l + 4]) + (s[l + 8] + s[l + 12]);
    lane_t[l] = (t[l] + t[l + 4]) + (t[l + 8] + t[l + 12]);
  }
  double sum = (lane_s[0] + lane_s[1]) + (lane_s[2] + lane_s[3]);
  double abs_sum = (lane_t[0] + lane_t[1]) + (lane_t[2] + lane_t[3]);
  for (; k < d; ++k) {
    const double p = static_cast<double>(a[k]) * static_cast<double>(b[k]);
    sum += p;
    abs_sum += std::fabs(p);
  }
  return {sum, abs_sum};
}

DotSums dot_sums_scalar(const float* a, const float* b, std::int64_t d) {
  double s[kRecheckLanes] = {}, t[kRecheckLanes] = {};
  std::int64_t k = 0;
  for (; k + kRecheckLanes <= d; k += kRecheckLanes)
    for (int l = 0; l < kRecheckLanes; ++l) {
      const double p = static_cast<double>(a[k + l]) * static_cast<double>(b[k + l]);  // exact
      s[l] += p;
      t[l] += std::fabs(p);
    }
  return reduce_lanes(s, t, a, b, k, d);
}

__attribute__((target("avx2"))) DotSums dot_sums_avx2(const float* a, const float* b, std::int64_t d) {
  __m256d s[4], t[4];
  for (int v = 0; v < 4; ++v) s[v] = t[v] = _mm256_setzero_pd();
  const __m256d abs_mask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffff));
  std::int64_t k = 0;
  for (; k + kRecheckLanes <= d; k += kRecheckLanes)
    for (std::int64_t v = 0; v < 4; ++v) {
      const __m256d p = _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(a + k + 4 * v)),
                                      _mm256_cvtps_pd(_mm_loadu_ps(b + k + 4 * v)));  // exact
      s[v] = _mm256_add_pd(s[v], p);
      t[v] = _mm256_add_pd(t[v], _mm256_and_pd(p, abs_mask));
    }
  alignas(32) double ls[kRecheckLanes], lt[kRecheckLanes];
  for (std::int64_t v = 0; v < 4; ++v) {
    _mm256_store_pd(ls + 4 * v, s[v]);
    _mm256_store_pd(lt + 4 * v, t[v]);
  }
  return reduce_lanes(ls, lt, a, b, k, d);
}

Recheck recheck(PairKernel kernel, const float* a, const float* b, std::int64_t d) {
  const DotSums r = kernel == PairKernel::Scalar ? dot_sums_scalar(a, b, d) : dot_sums_avx2(a, b, d);
  // |sum - exact| <= gamma_{d-1} sum|p| <= (d + 2) 2^-52 abs_sum (abs_sum itself is at most a
  // factor (1 + gamma_d) low, which the doubled constant covers).
  const double bound = static_cast<double>(d + 2) * 0x1p-52 * r.abs_sum;
  if (std::fabs(r.sum) > bound) return {r.sum < 0 ? -1 : 1, r.sum, false};
  return {fixed_point_dot_sign(a, b, d), r.sum, true};
}

// --- The pass ---------------------------------------------------------------------------------

struct ThreadState {
  Aligned<std::int16_t> qi, fi, qj, fj;  // the row block and the column block: q and residual f
  Aligned<std::int32_t> packed;          // VNNI: the column block's q as packed panels
  std::int64_t cached_i = -1;
  std::vector<std::int32_t> dots, flagged;
  std::uint64_t pairs = 0, rechecked = 0, double_checked = 0, exact = 0, uncertain = 0;
  std::int64_t negative = 0;
  std::vector<std::int64_t> row_negative;
};

// What a flagged pair turned out to be.
struct Settled {
  bool negative, uncertain, double_checked, exact;
};

// Panels of a column block of n_cols rows (VNNI): panel q holds rows [q kPanelCols, (q + 1)
// kPanelCols), each panel stride / 2 * kPanelCols words.
void pack_block(const std::int16_t* b, std::int64_t n_cols, std::int64_t stride, std::int32_t* packed) {
  for (std::int64_t c0 = 0; c0 < n_cols; c0 += kPanelCols)
    pack_panel(b + c0 * stride, std::min(kPanelCols, n_cols - c0), stride, packed + c0 * (stride / 2));
}

// The dot products of a strip of rows (m x stride) with the column panel starting at row c0 of
// the column block (row-major b, or packed for VNNI): out (m x kPanelCols).
void strip_dots(PairKernel kernel, const std::int16_t* a, std::int64_t m, const std::int16_t* b,
                const std::int32_t* packed, std::int64_t c0, std::int64_t n_cols, std::int64_t stride,
                std::int32_t* out) {
  switch (kernel) {
    case PairKernel::Avx512:
      return vnni_rows(a, m, stride, packed + c0 * (stride / 2), out, kPanelCols);
    case PairKernel::Avx2:
      return Blocked<4, 2, Avx2Micro>::run(a, m, b + c0 * stride, n_cols, stride, out, kPanelCols);
    default:
      return dots_scalar(a, m, b + c0 * stride, n_cols, stride, out, kPanelCols);
  }
}

}  // namespace

// --- Public pieces ----------------------------------------------------------------------------

std::int64_t int16_stride(std::int64_t d) {
  return (d + 31) / 32 * 32;
}

const char* sign_kernel_name(PairKernel kernel) {
  return kernel == PairKernel::Avx512 ? "avx512-vnni" : pair_kernel_name(kernel);
}

PairKernel resolve_sign_kernel(PairKernel wanted) {
  static const bool vnni = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512vnni") != 0;
  }();
  // EMBSTAT_KERNEL and the AVX-512 / AVX2 checks as for the fp32 reducer; VNNI on top.
  const PairKernel k = resolve_pair_kernel(wanted);
  return k == PairKernel::Avx512 && !vnni ? PairKernel::Avx2 : k;
}

Int16Scales int16_scales(const Matrix& unit) {
  const std::int64_t n = unit.n_rows(), d = unit.n_cols(), stride = int16_stride(d);
  const PairKernel kernel =
      resolve_sign_kernel(PairKernel::Auto) == PairKernel::Scalar ? PairKernel::Scalar : PairKernel::Avx2;
  Int16Scales out;
  for (auto* v :
       {&out.scale, &out.residual_scale, &out.scaled_norm, &out.error_norm, &out.quantised_norm, &out.residual_error})
    v->assign(static_cast<std::size_t>(n), 0.0f);
  const int n_threads = omp_get_max_threads();
  std::vector<Aligned<std::int16_t>> scratch;
  for (int t = 0; t < 2 * n_threads; ++t) scratch.emplace_back(stride);
  // Relative rounding of a d-term double sum of squares, and of a square root, rounded up.
  const double sum_up = 1.0 + static_cast<double>(d + 2) * 0x1p-52, root_up = 1.0 + 0x1p-50;
#pragma omp parallel for schedule(dynamic, 256) num_threads(n_threads)
  for (std::int64_t i = 0; i < n; ++i) {
    const auto thread = static_cast<std::size_t>(omp_get_thread_num());
    std::int16_t* q = scratch[2 * thread].get();
    std::int16_t* f = scratch[2 * thread + 1].get();
    const float* u = unit.row(i);
    float m = 0.0f;
    double norm2 = 0;
    for (std::int64_t k = 0; k < d; ++k) {
      m = std::max(m, std::fabs(u[k]));
      norm2 += static_cast<double>(u[k]) * static_cast<double>(u[k]);
    }
    const double norm = std::sqrt(norm2 * sum_up) * root_up;  // >= ||u_i||
    // s: both limits of "Scale"; (b) is checked exactly, shrinking s by 1 % until it holds.
    float s = m > 0.0f ? float_down(std::min(static_cast<double>(kCosMax) / m, kNormTarget / norm)) : 1.0f;
    std::int64_t n2 = 0;
    for (;;) {
      quantise_row(kernel, u, s, 1.0f, q, nullptr, d, stride);
      n2 = 0;
      for (std::int64_t k = 0; k < d; ++k) n2 += static_cast<std::int64_t>(q[k]) * q[k];
      if (n2 <= kMaxNorm2) break;
      s = float_down(static_cast<double>(s) * 0.99);  // only for d beyond ~460,000
    }
    // The residual e'_k = q_k - fl(s u_k) (float, exact) and its scale t, by the same two limits.
    float em = 0.0f;
    double e2 = 0;
    for (std::int64_t k = 0; k < d; ++k) {
      const float p = s * u[k];
      const float e = static_cast<float>(q[k]) - p;
      em = std::max(em, std::fabs(e));
      e2 += static_cast<double>(e) * e;
    }
    float t =
        em > 0.0f
            ? float_down(std::min(static_cast<double>(kCosMax) / em, kNormTarget / (std::sqrt(e2 * sum_up) * root_up)))
            : 1.0f;
    for (;;) {
      quantise_row(kernel, u, s, t, q, f, d, stride);
      std::int64_t f2 = 0;
      for (std::int64_t k = 0; k < d; ++k) f2 += static_cast<std::int64_t>(f[k]) * f[k];
      if (f2 <= kMaxNorm2) break;
      t = float_down(static_cast<double>(t) * 0.99);
    }
    // e_k = q_k - s u_k exactly (s u_k is exact in double), g_k = e_k - f_k / t (rounding ~2^-52
    // of terms below 1, covered by the d 2^-50 added below).
    double err2 = 0, g2 = 0;
    for (std::int64_t k = 0; k < d; ++k) {
      const double e = static_cast<double>(q[k]) - static_cast<double>(s) * static_cast<double>(u[k]);
      const double g = e - static_cast<double>(f[k]) / static_cast<double>(t);
      err2 += e * e;
      g2 += g * g;
    }
    const auto at = static_cast<std::size_t>(i);
    out.scale[at] = s;
    out.residual_scale[at] = t;
    out.scaled_norm[at] = float_up(static_cast<double>(s) * norm * root_up);
    out.error_norm[at] = float_up(std::sqrt(err2 * sum_up) * root_up);
    out.quantised_norm[at] = float_up(std::sqrt(static_cast<double>(n2)) * root_up);
    out.residual_error[at] = float_up(std::sqrt(g2 * sum_up) * root_up + static_cast<double>(d) * 0x1p-50);
  }
  return out;
}

void quantise_int16(PairKernel kernel, const Matrix& unit, const Int16Scales& scales, std::int64_t row_begin,
                    std::int64_t row_end, std::int16_t* q, std::int16_t* f, std::int64_t stride) {
  kernel = resolve_sign_kernel(kernel);
  for (std::int64_t i = row_begin; i < row_end; ++i) {
    const auto at = static_cast<std::size_t>(i);
    const std::int64_t offset = (i - row_begin) * stride;
    quantise_row(kernel, unit.row(i), scales.scale[at], scales.residual_scale[at], q + offset, f ? f + offset : nullptr,
                 unit.n_cols(), stride);
  }
}

void int16_dots(PairKernel kernel, const std::int16_t* a, std::int64_t m, const std::int16_t* b, std::int64_t n,
                std::int64_t stride, std::int32_t* out, std::int64_t ld) {
  kernel = resolve_sign_kernel(kernel);
  Aligned<std::int32_t> packed(
      kernel == PairKernel::Avx512 ? (n + kPanelCols - 1) / kPanelCols * kPanelCols * stride / 2 : 0);
  if (packed.get()) pack_block(b, n, stride, packed.get());
  std::vector<std::int32_t> strip(static_cast<std::size_t>(m * kPanelCols));
  for (std::int64_t c0 = 0; c0 < n; c0 += kPanelCols) {
    const std::int64_t cols = std::min(kPanelCols, n - c0);
    strip_dots(kernel, a, m, b, packed.get(), c0, cols, stride, strip.data());
    for (std::int64_t r = 0; r < m; ++r) std::copy_n(strip.data() + r * kPanelCols, cols, out + r * ld + c0);
  }
}

int exact_dot_sign(const float* a, const float* b, std::int64_t d, bool* exact, double* value) {
  const Recheck r = recheck(resolve_sign_kernel(PairKernel::Auto), a, b, d);
  if (exact) *exact = r.exact;
  if (value) *value = r.value;
  return r.sign;
}

// --- sign_pairs -------------------------------------------------------------------------------

SignPairsResult sign_pairs(const RowSet& rows, const SignPairsOptions& options) {
  rows.require_held("the sign-only all-pairs engine");
  const std::int64_t n = rows.size(), d = rows.dim();
  if (n < 2) throw_usage("all pairs need at least 2 rows (have " + std::to_string(n) + ")");
  if (options.block_rows < 0 || options.block_rows > kMaxSignBlockRows)
    throw_usage("block rows must be in 1 .. " + std::to_string(kMaxSignBlockRows));
  if (options.per_row && n >= (std::int64_t{1} << 31)) throw_usage("per-row tallies support fewer than 2^31 rows");
  if (d >= (std::int64_t{1} << 30)) throw_usage("the int16 sign pass supports dimensions below 2^30");
  const PairKernel kernel = resolve_sign_kernel(options.kernel);
  const std::int64_t b = std::min(n, options.block_rows > 0 ? options.block_rows : kSignBlockRows);
  const std::int64_t nb = (n + b - 1) / b;
  const std::int64_t n_tiles = nb * (nb + 1) / 2;
  const int n_threads = static_cast<int>(
      std::min<std::int64_t>(n_tiles, options.n_threads > 0 ? options.n_threads : omp_get_max_threads()));
  const std::int64_t stride = int16_stride(d);

  SignPairsResult res;
  res.n_rows = n;
  res.kernel = sign_kernel_name(kernel);
  res.mean = mean_pair_dot(rows.unit);

  const Int16Scales sc = int16_scales(rows.unit);
  BoundRows bound;
  bound.r = sc.scaled_norm;
  bound.h = sc.error_norm;
  bound.w.resize(static_cast<std::size_t>(n));
  bound.z.resize(static_cast<std::size_t>(n));
  double max_eps = 0, max_nu = 0, max_eps2 = 0, max_q = 0;
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
    bound.w[i] = float_up(static_cast<double>(bound.r[i]) + static_cast<double>(bound.h[i]));
    bound.z[i] = float_up(static_cast<double>(sc.scale[i]) * kUncertainRoot);
    const double si = sc.scale[i];
    max_eps = std::max(max_eps, static_cast<double>(bound.h[i]) / si);
    max_nu = std::max(max_nu, static_cast<double>(bound.r[i]) / si);
    max_eps2 = std::max(max_eps2, static_cast<double>(sc.residual_error[i]) / si);
    max_q = std::max(max_q, static_cast<double>(sc.quantised_norm[i]) / si);
  }
  res.max_bound = 2 * max_nu * max_eps + max_eps * max_eps;
  res.max_bound_second = 2 * max_q * max_eps2 + max_eps * max_eps;

  // Second level for a flagged pair (i, j), dot = q_i . q_j (see "Second level").
  auto second_level = [&](const std::int16_t* qi, const std::int16_t* fi, const std::int16_t* qj,
                          const std::int16_t* fj, std::int64_t i, std::int64_t j, std::int32_t dot) {
    const auto a = static_cast<std::size_t>(i), c = static_cast<std::size_t>(j);
    const PairDots pd = pair_dots(kernel, qi, fi, qj, fj, stride);
    const double estimate = static_cast<double>(dot) - static_cast<double>(pd.qf) / sc.residual_scale[c] -
                            static_cast<double>(pd.fq) / sc.residual_scale[a];
    const double err = (static_cast<double>(sc.quantised_norm[a]) * sc.residual_error[c] +
                        static_cast<double>(sc.residual_error[a]) * sc.quantised_norm[c] +
                        static_cast<double>(sc.error_norm[a]) * sc.error_norm[c]) *
                           (1.0 + 0x1p-40) +
                       kSecondLevelSlack;
    const double uncertain_at = kUncertainCos * static_cast<double>(sc.scale[a]) * static_cast<double>(sc.scale[c]);
    const double mag = std::fabs(estimate);
    Settled out{estimate < 0, false, false, false};
    if (mag > err) {
      // Sign settled; |cos| < 1e-6 settled too unless the estimate's interval straddles it.
      if (mag - err > uncertain_at * (1 + 1e-9)) return out;
      if (mag + err < uncertain_at * (1 - 1e-9)) {
        out.uncertain = true;
        return out;
      }
    }
    const Recheck r = recheck(kernel, rows.unit.row(i), rows.unit.row(j), d);
    return Settled{r.sign < 0, std::fabs(r.value) < kUncertainCos, true, r.exact};
  };

  // Tile t -> (I, J), I <= J, row-panel order: consecutive tiles share the row block I, whose
  // quantised rows a thread keeps.
  std::vector<std::int64_t> panel_start(static_cast<std::size_t>(nb) + 1, 0);
  for (std::int64_t I = 0; I < nb; ++I)
    panel_start[static_cast<std::size_t>(I) + 1] = panel_start[static_cast<std::size_t>(I)] + (nb - I);

  // Everything a thread needs is allocated here: nothing inside the parallel region throws.
  std::vector<ThreadState> threads(static_cast<std::size_t>(n_threads));
  for (ThreadState& t : threads) {
    for (auto* buf : {&t.qi, &t.fi, &t.qj, &t.fj}) *buf = Aligned<std::int16_t>(b * stride);
    if (kernel == PairKernel::Avx512)
      t.packed = Aligned<std::int32_t>((b + kPanelCols - 1) / kPanelCols * kPanelCols * stride / 2);
    t.dots.assign(static_cast<std::size_t>(kStripRows * kPanelCols), 0);
    t.flagged.assign(static_cast<std::size_t>(kPanelCols), 0);
    if (options.per_row) t.row_negative.assign(static_cast<std::size_t>(n), 0);
  }
  const auto classify = kernel == PairKernel::Scalar ? &classify_scalar : &classify_avx2;
  const std::uint64_t total = pairs_of(n);
  std::atomic<std::uint64_t> done{0};

#pragma omp parallel num_threads(n_threads)
  {
    const int thread = omp_get_thread_num();
    ThreadState& ts = threads[static_cast<std::size_t>(thread)];
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t tile = 0; tile < n_tiles; ++tile) {
      const std::int64_t I = std::upper_bound(panel_start.begin(), panel_start.end(), tile) - panel_start.begin() - 1;
      const std::int64_t J = I + (tile - panel_start[static_cast<std::size_t>(I)]);
      const std::int64_t i_begin = I * b, i_end = std::min(n, i_begin + b);
      const std::int64_t j_begin = J * b, j_end = std::min(n, j_begin + b);
      if (ts.cached_i != I) {
        quantise_int16(kernel, rows.unit, sc, i_begin, i_end, ts.qi.get(), ts.fi.get(), stride);
        ts.cached_i = I;
      }
      const std::int16_t *qj = ts.qi.get(), *fj = ts.fi.get();
      if (J != I) {
        quantise_int16(kernel, rows.unit, sc, j_begin, j_end, ts.qj.get(), ts.fj.get(), stride);
        qj = ts.qj.get();
        fj = ts.fj.get();
      }
      if (kernel == PairKernel::Avx512) pack_block(qj, j_end - j_begin, stride, ts.packed.get());
      std::uint64_t tile_pairs = 0;
      // Column panels of kPanelCols rows stay in L2 while every strip of tile rows passes.
      for (std::int64_t p0 = j_begin; p0 < j_end; p0 += kPanelCols) {
        const std::int64_t p1 = std::min(j_end, p0 + kPanelCols);
        for (std::int64_t s0 = i_begin; s0 < i_end; s0 += kStripRows) {
          const std::int64_t s1 = std::min(i_end, s0 + kStripRows);
          if (I == J && p1 <= s0 + 1) continue;  // no pair j > i here
          strip_dots(kernel, ts.qi.get() + (s0 - i_begin) * stride, s1 - s0, qj, ts.packed.get(), p0 - j_begin, p1 - p0,
                     stride, ts.dots.data());
          for (std::int64_t i = s0; i < s1; ++i) {
            const std::int64_t j0 = std::max(p0, I == J ? i + 1 : p0);
            if (j0 >= p1) continue;
            const std::int64_t len = p1 - j0;
            const std::int32_t* row = ts.dots.data() + (i - s0) * kPanelCols + (j0 - p0);
            std::int64_t neg = 0;
            std::int64_t* col = options.per_row ? ts.row_negative.data() + j0 : nullptr;
            const std::int64_t nf = classify(row, len, bound, i, j0, neg, col, ts.flagged.data());
            const std::int16_t* qi_row = ts.qi.get() + (i - i_begin) * stride;
            const std::int16_t* fi_row = ts.fi.get() + (i - i_begin) * stride;
            for (std::int64_t f = 0; f < nf; ++f) {
              const std::int64_t c = ts.flagged[static_cast<std::size_t>(f)];
              const std::int64_t j = j0 + c;
              const Settled st =
                  second_level(qi_row, fi_row, qj + (j - j_begin) * stride, fj + (j - j_begin) * stride, i, j, row[c]);
              ts.double_checked += st.double_checked;
              ts.exact += st.exact;
              ts.uncertain += st.uncertain;
              if (st.negative) {
                ++neg;
                if (col) ++col[c];
              }
            }
            ts.rechecked += static_cast<std::uint64_t>(nf);
            ts.negative += neg;
            if (options.per_row) ts.row_negative[static_cast<std::size_t>(i)] += neg;
            tile_pairs += static_cast<std::uint64_t>(len);
          }
        }
      }
      ts.pairs += tile_pairs;
      const std::uint64_t now = done.fetch_add(tile_pairs, std::memory_order_relaxed) + tile_pairs;
      if (thread == 0 && options.progress) options.progress(static_cast<double>(now) / static_cast<double>(total));
    }
  }
  if (options.progress) options.progress(1.0);

  std::uint64_t negative = 0;
  if (options.per_row) res.row_negative.assign(static_cast<std::size_t>(n), 0);
  for (const ThreadState& t : threads) {
    res.pairs += t.pairs;
    negative += static_cast<std::uint64_t>(t.negative);
    res.rechecked += t.rechecked;
    res.double_checked += t.double_checked;
    res.exact_fallback += t.exact;
    res.uncertain += t.uncertain;
    if (options.per_row)
      for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) res.row_negative[i] += t.row_negative[i];
  }
  if (res.pairs != total) throw Error(ErrorKind::Internal, "", "sign_pairs: tiles did not cover every pair once");
  res.negative = negative;
  res.non_negative = res.pairs - negative;
  res.fraction_non_negative = static_cast<double>(res.non_negative) / static_cast<double>(res.pairs);

  if (options.per_row) {
    // Mean cosine of row i to the others: (u_i . S - ||u_i||^2) / (n - 1), S = sum of all rows,
    // summed in fixed chunks (the same bits for any thread count).
    constexpr std::int64_t kChunk = 1024;
    const std::int64_t n_chunks = (n + kChunk - 1) / kChunk;
    std::vector<double> partial(static_cast<std::size_t>(n_chunks * d), 0.0);
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (std::int64_t c = 0; c < n_chunks; ++c) {
      double* acc = partial.data() + c * d;
      for (std::int64_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); ++i)
        for (std::int64_t k = 0; k < d; ++k) acc[k] += static_cast<double>(rows.unit.row(i)[k]);
    }
    std::vector<double> column_sum(static_cast<std::size_t>(d), 0.0);
    for (std::int64_t c = 0; c < n_chunks; ++c)
      for (std::int64_t k = 0; k < d; ++k)
        column_sum[static_cast<std::size_t>(k)] += partial[static_cast<std::size_t>(c * d + k)];
    res.row_mean.assign(static_cast<std::size_t>(n), 0.0);
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (std::int64_t i = 0; i < n; ++i) {
      const float* u = rows.unit.row(i);
      double dot = 0, norm2 = 0;
      for (std::int64_t k = 0; k < d; ++k) {
        const double x = u[k];
        dot += x * column_sum[static_cast<std::size_t>(k)];
        norm2 += x * x;
      }
      res.row_mean[static_cast<std::size_t>(i)] = (dot - norm2) / static_cast<double>(n - 1);
    }
  }
  return res;
}

}  // namespace embstat
