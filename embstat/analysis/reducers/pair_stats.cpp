#include "embstat/analysis/reducers/pair_stats.hpp"

#include <immintrin.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <utility>

#include "embstat/analysis/certified_cosine.hpp"
#include "embstat/base/error.hpp"

namespace embstat {

// --- CosineBins ---------------------------------------------------------------------------

CosineBins::CosineBins(int n_bins)
    : n_bins_(n_bins), half_(static_cast<float>(n_bins) / 2.0f), top_(static_cast<float>(n_bins - 1)) {
  if (n_bins < 1 || n_bins > (1 << 24)) throw Error(ErrorKind::Internal, "", "CosineBins: bad bin count");
}

std::uint32_t CosineBins::first_key(int b) const {
  if (b <= 0) return kKeyMinusInf;
  // Smallest key in [-inf, +inf] whose float falls in bin >= b (bin() is monotone in the key).
  std::uint32_t lo = kKeyMinusInf, hi = kKeyPlusInf;  // bin(lo) < b <= bin(hi) holds for b in 1..n-1
  while (hi - lo > 1) {
    const std::uint32_t mid = lo + (hi - lo) / 2;
    if ((*this)(float_from_order_key(mid)) >= b)
      hi = mid;
    else
      lo = mid;
  }
  return hi;
}

std::uint32_t CosineBins::last_key(int b) const {
  if (b >= n_bins_ - 1) return kKeyPlusInf;
  return first_key(b + 1) - 1;
}

// --- HoldBudget ---------------------------------------------------------------------------

std::int64_t HoldBudget::reserve(std::int64_t want) {
  std::lock_guard<std::mutex> lock(mutex_);
  const std::int64_t granted = std::min(want, cap_ - reserved_);
  if (granted <= 0) {
    overflow_.store(true, std::memory_order_relaxed);
    return 0;
  }
  reserved_ += granted;
  return granted;
}

// --- Row kernels ----------------------------------------------------------------------------
//
// One tile row c[0..len): the bin of every value, the positions whose bin lies in a held range's
// bins ("flagged": a small share, handled in PairStats::reduce_row), and, with kStats, counts,
// fixed-point sums, extremes and (when col_negative != nullptr) the per-column tallies. The scalar,
// AVX2 and AVX-512 versions perform the same IEEE operations per element, so they agree bit for
// bit (tests force each).

namespace {

struct RowSums {
  std::int64_t negative = 0, uncertain = 0, sum = 0, sq = 0;
  float min = __builtin_inff(), max = -__builtin_inff();
};

constexpr float kUncertain = 1e-6f;

// round-to-nearest-even(exact * 2^40) for |exact| < 2^11, as std::nearbyint: adding 1.5 * 2^52
// leaves the integer in the low mantissa bits (the product is exact, so even a fused
// multiply-add would round the same).
inline std::int64_t fixed(double exact) {
  constexpr double kMagic = 0x1.8p52;
  const double shifted = exact * kFixedScale + kMagic;
  std::int64_t bits, magic_bits;
  __builtin_memcpy(&bits, &shifted, sizeof bits);
  __builtin_memcpy(&magic_bits, &kMagic, sizeof magic_bits);
  return bits - magic_bits;
}

template <bool kStats>
void row_kernel_scalar(const float* c, std::int64_t len, float shift, const CosineBins& grid,
                       const PairStats::BinIntervals& iv, std::int32_t* bins, std::int32_t* flagged,
                       std::int64_t& n_flagged, std::int64_t* col_negative, std::int64_t* col_sum, RowSums& out) {
  RowSums s;
  std::int64_t nf = 0;
  for (std::int64_t k = 0; k < len; ++k) {
    const float v = c[k];
    const int b = grid(v);
    bins[k] = b;
    bool flag = false;
    for (int r = 0; r < iv.n; ++r) flag |= static_cast<std::uint32_t>(b - iv.lo[r]) <= iv.width[r];
    if (flag) flagged[nf++] = static_cast<std::int32_t>(k);
    if constexpr (kStats) {
      const bool neg = v < 0.0f;
      s.negative += neg;
      s.uncertain += std::fabs(v) < kUncertain;
      const std::int64_t q = fixed(static_cast<double>(v));
      s.sum += q;
      const double dv = static_cast<double>(v - shift);
      s.sq += fixed(dv * dv);
      s.min = v < s.min ? v : s.min;
      s.max = v > s.max ? v : s.max;
      if (col_negative) {
        col_negative[k] += neg;
        col_sum[k] += q;
      }
    }
  }
  n_flagged = nf;
  out = s;
}

// GCC 12 reports its own _mm512_undefined_*() idiom (`__m512 __Y = __Y;`) as uninitialised
// wherever an intrinsic using it is inlined: a known false positive, silenced for this section.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#define EMBSTAT_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,popcnt,bmi")))

EMBSTAT_AVX512 inline __m512i fixed8(__m256 v) {
  return _mm512_cvtpd_epi64(_mm512_mul_pd(_mm512_cvtps_pd(v), _mm512_set1_pd(kFixedScale)));
}
EMBSTAT_AVX512 inline __m512i fixed8_sq(__m256 d) {
  const __m512d x = _mm512_cvtps_pd(d);
  return _mm512_cvtpd_epi64(_mm512_mul_pd(_mm512_mul_pd(x, x), _mm512_set1_pd(kFixedScale)));
}

template <bool kStats>
EMBSTAT_AVX512 void row_kernel_avx512(const float* c, std::int64_t len, float shift, const CosineBins& grid,
                                      const PairStats::BinIntervals& iv, std::int32_t* bins, std::int32_t* flagged,
                                      std::int64_t& n_flagged, std::int64_t* col_negative, std::int64_t* col_sum,
                                      RowSums& out) {
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(grid.half()),
               top = _mm512_set1_ps(grid.top()), eps = _mm512_set1_ps(kUncertain), sh = _mm512_set1_ps(shift);
  __m512i iv_lo[PairStats::kMaxIntervals], iv_width[PairStats::kMaxIntervals];
  for (int r = 0; r < iv.n; ++r) {
    iv_lo[r] = _mm512_set1_epi32(iv.lo[r]);
    iv_width[r] = _mm512_set1_epi32(static_cast<int>(iv.width[r]));
  }
  __m512 vmin = _mm512_set1_ps(__builtin_inff()), vmax = _mm512_set1_ps(-__builtin_inff());
  __m512i sum = _mm512_setzero_si512(), sq = _mm512_setzero_si512();
  const __m512i ones64 = _mm512_set1_epi64(1);
  std::int64_t negative = 0, uncertain = 0, nf = 0;
  for (std::int64_t k = 0; k < len; k += 16) {
    const std::int64_t left = len - k;
    const __mmask16 m = left >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << left) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(m, c + k);
    // Bins exactly as CosineBins: max(x, 0) is (x > 0) ? x : 0 (NaN -> 0), min(x, top) likewise.
    __m512 x = _mm512_mul_ps(_mm512_add_ps(v, one), half);
    x = _mm512_min_ps(_mm512_max_ps(x, zero), top);
    const __m512i b = _mm512_cvttps_epi32(x);
    _mm512_mask_storeu_epi32(bins + k, m, b);
    __mmask16 f = 0;
    for (int r = 0; r < iv.n; ++r) f |= _mm512_cmple_epu32_mask(_mm512_sub_epi32(b, iv_lo[r]), iv_width[r]);
    f &= m;
    while (f) {
      flagged[nf++] = static_cast<std::int32_t>(k + __builtin_ctz(f));
      f = static_cast<__mmask16>(f & (f - 1));
    }
    if constexpr (kStats) {
      const __mmask8 mlo = static_cast<__mmask8>(m & 0xff), mhi = static_cast<__mmask8>(m >> 8);
      const __mmask16 mneg = _mm512_mask_cmp_ps_mask(m, v, zero, _CMP_LT_OQ);
      negative += __builtin_popcount(mneg);
      uncertain += __builtin_popcount(_mm512_mask_cmp_ps_mask(m, _mm512_abs_ps(v), eps, _CMP_LT_OQ));
      const __m512i qlo = fixed8(_mm512_castps512_ps256(v)), qhi = fixed8(_mm512_extractf32x8_ps(v, 1));
      sum = _mm512_mask_add_epi64(sum, mlo, sum, qlo);
      sum = _mm512_mask_add_epi64(sum, mhi, sum, qhi);
      const __m512 d = _mm512_sub_ps(v, sh);
      sq = _mm512_mask_add_epi64(sq, mlo, sq, fixed8_sq(_mm512_castps512_ps256(d)));
      sq = _mm512_mask_add_epi64(sq, mhi, sq, fixed8_sq(_mm512_extractf32x8_ps(d, 1)));
      vmin = _mm512_mask_min_ps(vmin, m, vmin, v);
      vmax = _mm512_mask_max_ps(vmax, m, vmax, v);
      if (col_negative) {
        const __mmask8 nlo = static_cast<__mmask8>(mneg & 0xff), nhi = static_cast<__mmask8>(mneg >> 8);
        __m512i a = _mm512_maskz_loadu_epi64(mlo, col_negative + k);
        _mm512_mask_storeu_epi64(col_negative + k, mlo, _mm512_mask_add_epi64(a, nlo, a, ones64));
        __m512i a2 = _mm512_maskz_loadu_epi64(mhi, col_negative + k + 8);
        _mm512_mask_storeu_epi64(col_negative + k + 8, mhi, _mm512_mask_add_epi64(a2, nhi, a2, ones64));
        __m512i s0 = _mm512_maskz_loadu_epi64(mlo, col_sum + k);
        _mm512_mask_storeu_epi64(col_sum + k, mlo, _mm512_add_epi64(s0, qlo));
        __m512i s1 = _mm512_maskz_loadu_epi64(mhi, col_sum + k + 8);
        _mm512_mask_storeu_epi64(col_sum + k + 8, mhi, _mm512_add_epi64(s1, qhi));
      }
    }
  }
  n_flagged = nf;
  if constexpr (kStats) {
    out.negative = negative;
    out.uncertain = uncertain;
    out.sum = _mm512_reduce_add_epi64(sum);
    out.sq = _mm512_reduce_add_epi64(sq);
    out.min = _mm512_reduce_min_ps(vmin);
    out.max = _mm512_reduce_max_ps(vmax);
  }
}

#undef EMBSTAT_AVX512

// --- AVX2 (8 lanes; no FMA in the target, so no contraction can change a rounding) ---------

#define EMBSTAT_AVX2 __attribute__((target("avx2,popcnt,bmi")))

// round-to-nearest-even(x) as int64 for |x| < 2^51, exactly as nearbyint: adding 1.5 * 2^52
// leaves the integer in the low mantissa bits.
EMBSTAT_AVX2 inline __m256i round_to_i64(__m256d x) {
  const __m256d magic = _mm256_set1_pd(0x1.8p52);
  return _mm256_sub_epi64(_mm256_castpd_si256(_mm256_add_pd(x, magic)), _mm256_castpd_si256(magic));
}
EMBSTAT_AVX2 inline __m256i fixed4(__m128 v) {
  return round_to_i64(_mm256_mul_pd(_mm256_cvtps_pd(v), _mm256_set1_pd(kFixedScale)));
}
EMBSTAT_AVX2 inline __m256i fixed4_sq(__m128 d) {
  const __m256d x = _mm256_cvtps_pd(d);
  return round_to_i64(_mm256_mul_pd(_mm256_mul_pd(x, x), _mm256_set1_pd(kFixedScale)));
}
// The 8 lanes' 0 / -1 compare mask as two int64 vectors of 0 / -1.
EMBSTAT_AVX2 inline void widen_mask(__m256 mask, __m256i& lo, __m256i& hi) {
  const __m256i m = _mm256_castps_si256(mask);
  lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(m));
  hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(m, 1));
}

template <bool kStats>
EMBSTAT_AVX2 void row_kernel_avx2(const float* c, std::int64_t len, float shift, const CosineBins& grid,
                                  const PairStats::BinIntervals& iv, std::int32_t* bins, std::int32_t* flagged,
                                  std::int64_t& n_flagged, std::int64_t* col_negative, std::int64_t* col_sum,
                                  RowSums& out) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f), half = _mm256_set1_ps(grid.half()),
               top = _mm256_set1_ps(grid.top()), eps = _mm256_set1_ps(kUncertain), sh = _mm256_set1_ps(shift),
               abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256i iv_lo[PairStats::kMaxIntervals], iv_width[PairStats::kMaxIntervals];
  for (int r = 0; r < iv.n; ++r) {
    iv_lo[r] = _mm256_set1_epi32(iv.lo[r]);
    iv_width[r] = _mm256_set1_epi32(static_cast<int>(iv.width[r]));
  }
  __m256 vmin = _mm256_set1_ps(__builtin_inff()), vmax = _mm256_set1_ps(-__builtin_inff());
  __m256i sum = _mm256_setzero_si256(), sq = _mm256_setzero_si256();
  std::int64_t negative = 0, uncertain = 0, nf = 0;
  const std::int64_t full = len & ~std::int64_t{7};
  for (std::int64_t k = 0; k < full; k += 8) {
    const __m256 v = _mm256_loadu_ps(c + k);
    __m256 x = _mm256_mul_ps(_mm256_add_ps(v, one), half);
    x = _mm256_min_ps(_mm256_max_ps(x, zero), top);  // as CosineBins: (x > 0) ? x : 0, then (x < top) ? x : top
    const __m256i b = _mm256_cvttps_epi32(x);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(bins + k), b);
    __m256i in = _mm256_setzero_si256();
    for (int r = 0; r < iv.n; ++r) {
      const __m256i t = _mm256_sub_epi32(b, iv_lo[r]);
      in = _mm256_or_si256(in, _mm256_cmpeq_epi32(_mm256_max_epu32(t, iv_width[r]), iv_width[r]));  // t <= width
    }
    unsigned f = static_cast<unsigned>(_mm256_movemask_ps(_mm256_castsi256_ps(in)));
    while (f) {
      flagged[nf++] = static_cast<std::int32_t>(k + __builtin_ctz(f));
      f &= f - 1;
    }
    if constexpr (kStats) {
      const __m256 neg = _mm256_cmp_ps(v, zero, _CMP_LT_OQ);
      negative += __builtin_popcount(static_cast<unsigned>(_mm256_movemask_ps(neg)));
      uncertain += __builtin_popcount(
          static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(v, abs_mask), eps, _CMP_LT_OQ))));
      const __m256i qlo = fixed4(_mm256_castps256_ps128(v)), qhi = fixed4(_mm256_extractf128_ps(v, 1));
      sum = _mm256_add_epi64(sum, _mm256_add_epi64(qlo, qhi));
      const __m256 d = _mm256_sub_ps(v, sh);
      sq = _mm256_add_epi64(
          sq, _mm256_add_epi64(fixed4_sq(_mm256_castps256_ps128(d)), fixed4_sq(_mm256_extractf128_ps(d, 1))));
      vmin = _mm256_min_ps(vmin, v);
      vmax = _mm256_max_ps(vmax, v);
      if (col_negative) {
        __m256i nlo, nhi;
        widen_mask(neg, nlo, nhi);
        auto* cn = reinterpret_cast<__m256i*>(col_negative + k);
        auto* cs = reinterpret_cast<__m256i*>(col_sum + k);
        _mm256_storeu_si256(cn, _mm256_sub_epi64(_mm256_loadu_si256(cn), nlo));  // - (-1)
        _mm256_storeu_si256(cn + 1, _mm256_sub_epi64(_mm256_loadu_si256(cn + 1), nhi));
        _mm256_storeu_si256(cs, _mm256_add_epi64(_mm256_loadu_si256(cs), qlo));
        _mm256_storeu_si256(cs + 1, _mm256_add_epi64(_mm256_loadu_si256(cs + 1), qhi));
      }
    }
  }
  // The last len % 8 values: the scalar kernel (same per-value operations), merged.
  RowSums tail;
  std::int64_t tail_flagged = 0;
  row_kernel_scalar<kStats>(c + full, len - full, shift, grid, iv, bins + full, flagged + nf, tail_flagged,
                            col_negative ? col_negative + full : nullptr, col_sum ? col_sum + full : nullptr, tail);
  for (std::int64_t f = nf; f < nf + tail_flagged; ++f) flagged[f] += static_cast<std::int32_t>(full);
  n_flagged = nf + tail_flagged;
  if constexpr (kStats) {
    alignas(32) std::int64_t s4[4], q4[4];
    alignas(32) float mn8[8], mx8[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(s4), sum);
    _mm256_store_si256(reinterpret_cast<__m256i*>(q4), sq);
    _mm256_store_ps(mn8, vmin);
    _mm256_store_ps(mx8, vmax);
    out.negative = negative + tail.negative;
    out.uncertain = uncertain + tail.uncertain;
    out.sum = s4[0] + s4[1] + s4[2] + s4[3] + tail.sum;
    out.sq = q4[0] + q4[1] + q4[2] + q4[3] + tail.sq;
    out.min = tail.min;
    out.max = tail.max;
    for (int l = 0; l < 8; ++l) {
      out.min = mn8[l] < out.min ? mn8[l] : out.min;
      out.max = mx8[l] > out.max ? mx8[l] : out.max;
    }
  }
}

#undef EMBSTAT_AVX2
#pragma GCC diagnostic pop

}  // namespace

const char* pair_kernel_name(PairKernel kernel) {
  switch (kernel) {
    case PairKernel::Scalar:
      return "scalar";
    case PairKernel::Avx2:
      return "avx2";
    case PairKernel::Avx512:
      return "avx512";
    case PairKernel::Auto:
      break;
  }
  return "auto";
}

PairKernel resolve_pair_kernel(PairKernel wanted) {
  static const bool avx512 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
  }();
  static const bool avx2 = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  if (wanted == PairKernel::Auto) {
    wanted = PairKernel::Avx512;
    if (const char* env = std::getenv("EMBSTAT_KERNEL")) {
      if (std::strcmp(env, "scalar") == 0) wanted = PairKernel::Scalar;
      if (std::strcmp(env, "avx2") == 0) wanted = PairKernel::Avx2;
    }
  }
  if (wanted == PairKernel::Avx512 && !avx512) wanted = PairKernel::Avx2;
  if (wanted == PairKernel::Avx2 && !avx2) wanted = PairKernel::Scalar;
  return wanted;
}

// --- PairStats ------------------------------------------------------------------------------

PairStats::PairStats(const PairStatsConfig& config, const std::vector<std::uint8_t>& flags, HoldBudget& budget)
    : config_(config), flags_(flags), budget_(budget), kernel_(resolve_pair_kernel(config.kernel)) {
  if (config.ranges.size() > static_cast<std::size_t>(kMaxHeldRanges))
    throw Error(ErrorKind::Internal, "", "PairStats: too many held ranges");
  if (config.max_row_len > kMaxBlockRows)
    throw Error(ErrorKind::Internal, "", "PairStats: tile rows wider than kMaxBlockRows");
  if (config.histogram) {
    hist32_.assign(static_cast<std::size_t>(config.grid.n_bins()), 0);
    histogram.assign(static_cast<std::size_t>(config.grid.n_bins()), 0);
  }
  if (config.per_row) {
    row_negative.assign(static_cast<std::size_t>(config.n_rows), 0);
    row_sum_fixed.assign(static_cast<std::size_t>(config.n_rows), 0);
  }
  const std::size_t n_ranges = config.ranges.size();
  edge_below.assign(n_ranges, 0);
  held.resize(n_ranges);
  sub_histogram.resize(n_ranges);
  for (std::size_t r = 0; r < n_ranges; ++r) {
    ranges_[r] = config.ranges[r];
    if (config.ranges[r].sub_bins) sub_histogram[r].assign(config.ranges[r].sub_bins, 0);
  }
  bins_.assign(static_cast<std::size_t>(std::max<std::int64_t>(config.max_row_len, 1)), 0);
  flagged_.assign(bins_.size(), 0);
  // The held ranges' bins as disjoint intervals, for the kernels' vector test.
  std::vector<std::pair<int, int>> spans;
  for (const HeldRange& r : config.ranges) spans.emplace_back(r.bin_lo, r.bin_hi);
  std::sort(spans.begin(), spans.end());
  for (const auto& [lo, hi] : spans) {
    if (intervals_.n > 0 &&
        lo <= intervals_.lo[intervals_.n - 1] + static_cast<int>(intervals_.width[intervals_.n - 1]) + 1) {
      const int end =
          std::max(hi, intervals_.lo[intervals_.n - 1] + static_cast<int>(intervals_.width[intervals_.n - 1]));
      intervals_.width[intervals_.n - 1] = static_cast<std::uint32_t>(end - intervals_.lo[intervals_.n - 1]);
    } else {
      intervals_.lo[intervals_.n] = lo;
      intervals_.width[intervals_.n] = static_cast<std::uint32_t>(hi - lo);
      ++intervals_.n;
    }
  }
}

void PairStats::consume(const PairTile& t) {
  for (std::int64_t i = t.row_begin; i < t.row_end; ++i) {
    const std::int64_t j0 = t.diagonal() ? std::max(i + 1, t.col_begin) : t.col_begin;
    if (j0 >= t.col_end) continue;
    const std::int64_t len = t.col_end - j0;
    reduce_row(t.cos + (i - t.row_begin) * t.ld + (j0 - t.col_begin), len, i, j0);
  }
}

void PairStats::reduce_row(const float* c, std::int64_t len, std::int64_t i, std::int64_t j0) {
  std::int32_t* bins = bins_.data();
  std::int32_t* flagged = flagged_.data();
  std::int64_t n_flagged = 0;
  if (config_.stats) {
    RowSums s;
    std::int64_t* col_neg = config_.per_row ? row_negative.data() + j0 : nullptr;
    std::int64_t* col_sum = config_.per_row ? row_sum_fixed.data() + j0 : nullptr;
    switch (kernel_) {
      case PairKernel::Avx512:
        row_kernel_avx512<true>(c, len, config_.shift, config_.grid, intervals_, bins, flagged, n_flagged, col_neg,
                                col_sum, s);
        break;
      case PairKernel::Avx2:
        row_kernel_avx2<true>(c, len, config_.shift, config_.grid, intervals_, bins, flagged, n_flagged, col_neg,
                              col_sum, s);
        break;
      default:
        row_kernel_scalar<true>(c, len, config_.shift, config_.grid, intervals_, bins, flagged, n_flagged, col_neg,
                                col_sum, s);
    }
    negative += static_cast<std::uint64_t>(s.negative);
    uncertain += static_cast<std::uint64_t>(s.uncertain);
    sum_fixed += s.sum;
    sq_fixed += s.sq;
    if (config_.per_row) {
      row_negative[static_cast<std::size_t>(i)] += s.negative;
      row_sum_fixed[static_cast<std::size_t>(i)] += s.sum;
    }
    update_extremes(c, len, i, j0, s.min, s.max);
  } else {
    RowSums unused;
    switch (kernel_) {
      case PairKernel::Avx512:
        row_kernel_avx512<false>(c, len, 0.0f, config_.grid, intervals_, bins, flagged, n_flagged, nullptr, nullptr,
                                 unused);
        break;
      case PairKernel::Avx2:
        row_kernel_avx2<false>(c, len, 0.0f, config_.grid, intervals_, bins, flagged, n_flagged, nullptr, nullptr,
                               unused);
        break;
      default:
        row_kernel_scalar<false>(c, len, 0.0f, config_.grid, intervals_, bins, flagged, n_flagged, nullptr, nullptr,
                                 unused);
    }
  }
  pairs += static_cast<std::uint64_t>(len);

  if (config_.histogram) {
    if (since_flush_ + static_cast<std::uint64_t>(len) > std::numeric_limits<std::uint32_t>::max()) flush_histogram();
    since_flush_ += static_cast<std::uint64_t>(len);
    std::uint32_t* h = hist32_.data();
    for (std::int64_t k = 0; k < len; ++k) ++h[bins[k]];
  }
  // Values in a bin some held range overlaps (a small share: the ranges are narrow).
  const std::uint8_t* flags = flags_.data();
  for (std::int64_t f = 0; f < n_flagged; ++f) {
    const float v = c[flagged[f]];
    const std::uint32_t key = float_order_key(v);
    unsigned bits = flags[bins[flagged[f]]];
    while (bits) {
      const int r = __builtin_ctz(bits);
      bits &= bits - 1;
      const HeldRange& range = ranges_[r];
      if (key < range.key_lo) {
        // Monotone bins: a value below key_lo in a flagged bin is in bin_lo.
        ++edge_below[static_cast<std::size_t>(r)];
      } else if (key <= range.key_hi) {
        if (range.sub_bins) {
          const std::uint64_t span = static_cast<std::uint64_t>(range.key_hi - range.key_lo) + 1;
          ++sub_histogram[static_cast<std::size_t>(r)]
                         [static_cast<std::uint64_t>(key - range.key_lo) * range.sub_bins / span];
        } else if (hold_next_[r] != hold_end_[r] || next_chunk(r)) {
          *hold_next_[r]++ = key;
        }
      }
    }
  }
}

bool PairStats::takes(const Extreme& e, double v, std::int64_t i, std::int64_t j, bool want_min) {
  if (want_min ? v < e.value : v > e.value) return true;
  return v == e.value && (e.i < 0 || i < e.i || (i == e.i && j < e.j));
}

// Extremes: ties go to the lexicographically smallest pair, whatever order tiles come in.
void PairStats::update_extremes(const float* c, std::int64_t len, std::int64_t i, std::int64_t j0, float row_min,
                                float row_max) {
  if (!config_.unit) {  // the float cosines themselves
    if (row_min <= min.value) {
      const std::int64_t k = std::find(c, c + len, row_min) - c;
      if (takes(min, c[k], i, j0 + k, true)) min = {c[k], i, j0 + k};
    }
    if (row_max >= max.value) {
      const std::int64_t k = std::find(c, c + len, row_max) - c;
      if (takes(max, c[k], i, j0 + k, false)) max = {c[k], i, j0 + k};
    }
    return;
  }
  // The pair holding the exact maximum has a float cosine within the window (twice the error
  // bound) of every float cosine, so of the running float maximum: every pair there is checked.
  const Matrix& unit = *config_.unit;
  const std::int64_t d = unit.n_cols();
  const double window = config_.extreme_window;
  if (static_cast<double>(row_min) <= static_cast<double>(seen_min_) + window) {
    seen_min_ = std::min(seen_min_, row_min);
    const double limit = static_cast<double>(seen_min_) + window;
    for (std::int64_t k = 0; k < len; ++k)
      if (static_cast<double>(c[k]) <= limit) {
        const double v = checked_cosine(unit.row(i), unit.row(j0 + k), d);
        if (takes(min, v, i, j0 + k, true)) min = {v, i, j0 + k};
      }
  }
  if (static_cast<double>(row_max) >= static_cast<double>(seen_max_) - window) {
    seen_max_ = std::max(seen_max_, row_max);
    const double limit = static_cast<double>(seen_max_) - window;
    for (std::int64_t k = 0; k < len; ++k)
      if (static_cast<double>(c[k]) >= limit) {
        const double v = checked_cosine(unit.row(i), unit.row(j0 + k), d);
        if (takes(max, v, i, j0 + k, false)) max = {v, i, j0 + k};
      }
  }
}

// Starts a new chunk for range r; false when the pass's hold cap is reached.
bool PairStats::next_chunk(int r) {
  close_chunk(r);
  if (budget_.overflowed()) return false;  // this pass's held values are void anyway
  const std::int64_t granted = budget_.reserve(kHoldChunkValues);
  if (granted == 0) return false;
  auto& chunks = held[static_cast<std::size_t>(r)];
  chunks.emplace_back(static_cast<std::size_t>(granted));
  hold_next_[r] = chunks.back().data();
  hold_end_[r] = hold_next_[r] + granted;
  return true;
}

// Trims the open chunk of range r to the values written.
void PairStats::close_chunk(int r) {
  auto& chunks = held[static_cast<std::size_t>(r)];
  if (!chunks.empty() && hold_next_[r])
    chunks.back().resize(static_cast<std::size_t>(hold_next_[r] - chunks.back().data()));
  hold_next_[r] = hold_end_[r] = nullptr;
}

void PairStats::flush_histogram() {
  for (std::size_t b = 0; b < hist32_.size(); ++b) {
    histogram[b] += hist32_[b];
    hist32_[b] = 0;
  }
  since_flush_ = 0;
}

void PairStats::finish() {
  if (config_.histogram) flush_histogram();
  for (int r = 0; r < static_cast<int>(held.size()); ++r) close_chunk(r);
}

// --- Selection ------------------------------------------------------------------------------

std::uint32_t select_held_key(const std::vector<const std::vector<std::uint32_t>*>& parts, std::uint64_t k) {
  std::uint32_t prefix = 0, mask = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    std::uint64_t count[256] = {};
    for (const auto* part : parts)
      for (std::uint32_t key : *part)
        if ((key & mask) == prefix) ++count[(key >> shift) & 0xffu];
    unsigned digit = 0;
    while (digit < 256 && k >= count[digit]) k -= count[digit++];
    if (digit == 256) throw Error(ErrorKind::Internal, "", "select_held_key: rank past the held values");
    prefix |= digit << shift;
    mask |= 0xffu << shift;
  }
  return prefix;
}

}  // namespace embstat
