// PairStats — the per-thread reducer of the all-pairs engine (all_pairs.hpp): it takes each cosine
// tile while it is hot in cache and folds it into tallies that do not depend on the order tiles
// arrive in, so results are bit-identical for any thread count and block size.
//
//   counts      cos < 0, |cos| < 1e-6, pairs                       (int64)
//   sums        cos and (cos - shift)^2 as 2^-40 fixed point         (int64 per row, __int128 total)
//   extremes    min / max with the lexicographically first pair holding them; with `unit` set,
//               of the checked (double) cosines of every pair whose float cosine is within
//               `extreme_window` of the running extreme, so the extremes and their pairs do not
//               depend on how BLAS rounded the floats (certified_cosine.hpp)
//   histogram   equal bins over [-1, 1] (CosineBins), 32-bit counters flushed into 64-bit ones
//   per row     cos < 0 count and fixed-point cosine sum of every row (both ends of each pair)
//   held ranges values whose order key falls in up to 8 closed key ranges are kept (or counted in
//               sub-bins): the exact-quantile machinery of all_pairs.cpp
//
// Fixed point: round-to-nearest-even(x * 2^40) of a double x computed exactly (a float times a
// power of two, or the exact square of a float), so each term is a deterministic integer and
// integer sums are associative. Per-term error <= 2^-41, so a mean is off by at most 2^-41.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

#include "embstat/analysis/all_pairs.hpp"

namespace embstat {

// Monotone map of floats to unsigned keys: a < b (as floats, -0 before +0) <=> key(a) < key(b).
inline std::uint32_t float_order_key(float v) {
  std::uint32_t u;
  __builtin_memcpy(&u, &v, sizeof u);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
inline float float_from_order_key(std::uint32_t key) {
  const std::uint32_t u = (key & 0x80000000u) ? (key & 0x7fffffffu) : ~key;
  float v;
  __builtin_memcpy(&v, &u, sizeof v);
  return v;
}
inline constexpr std::uint32_t kKeyMinusInf = 0x007fffffu;  // float_order_key(-inf)
inline constexpr std::uint32_t kKeyPlusInf = 0xff800000u;   // float_order_key(+inf)

// n equal bins over [-1, 1]: bin(v) = int(clamp((v + 1) * (n / 2), 0, n - 1)) in float arithmetic.
// Monotone non-decreasing in v; values a rounding past +-1 land in the end bins. The vector kernels
// compute exactly these float operations, so every path bins a value the same way.
class CosineBins {
 public:
  explicit CosineBins(int n_bins);
  int n_bins() const { return n_bins_; }
  float half() const { return half_; }
  float top() const { return top_; }
  int operator()(float v) const {
    float x = (v + 1.0f) * half_;
    x = x > 0.0f ? x : 0.0f;  // also maps NaN to 0
    x = x < top_ ? x : top_;
    return static_cast<int>(x);
  }
  // The order keys of the floats (from -inf to +inf) that fall in bin b: [first_key(b), last_key(b)].
  std::uint32_t first_key(int b) const;
  std::uint32_t last_key(int b) const;

 private:
  int n_bins_;
  float half_;
  float top_;  // n_bins - 1
};

inline constexpr double kFixedScale = 0x1p40;  // fixed-point unit of sums: 2^-40

// A closed range of order keys whose values a pass keeps (sub_bins == 0) or counts in sub_bins
// equal key bins. bin_lo / bin_hi: the fine bins (of the pass's grid) holding key_lo / key_hi.
struct HeldRange {
  std::uint32_t key_lo = 0, key_hi = 0;
  int bin_lo = 0, bin_hi = 0;
  std::uint32_t sub_bins = 0;
};
inline constexpr int kMaxHeldRanges = 8;
// Held values are allocated kHoldChunkValues at a time (256 KiB).
inline constexpr std::int64_t kHoldChunkValues = std::int64_t{1} << 16;

// The cap on values held by all threads of one pass together.
struct HoldBudget {
  explicit HoldBudget(std::int64_t cap) : cap_(cap) {}
  // Reserves up to `want` values; returns how many were granted (0: the cap is reached, and
  // overflowed() becomes true).
  std::int64_t reserve(std::int64_t want);
  bool overflowed() const { return overflow_.load(std::memory_order_relaxed); }
  std::int64_t reserved() const { return reserved_; }

 private:
  std::mutex mutex_;
  std::int64_t cap_;
  std::int64_t reserved_ = 0;
  std::atomic<bool> overflow_{false};
};

struct PairStatsConfig {
  bool stats = true;              // counts, sums, extremes
  bool histogram = true;          // count every value in `grid`'s bins
  CosineBins grid{65536};         // the bins of the histogram and of the held-range flags
  bool per_row = false;           // per-row negatives and sums (stats must be on)
  std::int64_t n_rows = 0;        // rows of the RowSet (per-row array size)
  std::int64_t max_row_len = 0;   // widest tile row a tile can hand over
  float shift = 0.0f;             // squares are of (cos - shift): a mean estimate avoids cancellation
  std::vector<HeldRange> ranges;  // at most kMaxHeldRanges, disjoint
  PairKernel kernel = PairKernel::Auto;
  // The unit rows the tiles come from (their RowSet positions): when set, extremes are checked
  // cosines of candidates within extreme_window (twice the float error bound) of the running
  // float extreme, which always includes the pairs holding the exact extremes.
  const Matrix* unit = nullptr;
  double extreme_window = 0;
};

class PairStats final : public TileHandler {
 public:
  // `flags` (grid.n_bins() entries, bit r set where bin overlaps ranges[r]) and `budget` are
  // shared by all threads' reducers and must outlive this one.
  PairStats(const PairStatsConfig& config, const std::vector<std::uint8_t>& flags, HoldBudget& budget);

  void consume(const PairTile& tile) override;
  void finish();  // flushes the 32-bit histogram, trims the held chunks; call once after the pass

  // The bins of the held ranges as at most kMaxIntervals disjoint intervals [lo, lo + width].
  static constexpr int kMaxIntervals = kMaxHeldRanges;
  struct BinIntervals {
    int n = 0;
    std::int32_t lo[kMaxIntervals] = {};
    std::uint32_t width[kMaxIntervals] = {};
  };

  struct Extreme {
    double value;                 // the float cosine, or with `unit` the checked cosine
    std::int64_t i = -1, j = -1;  // RowSet positions, i < j
  };
  // Whether (v, i, j) replaces e as the minimum (want_min) or maximum: a better value, or the
  // same value at a lexicographically smaller pair.
  static bool takes(const Extreme& e, double v, std::int64_t i, std::int64_t j, bool want_min);

  std::uint64_t pairs = 0, negative = 0, uncertain = 0;
  __int128 sum_fixed = 0, sq_fixed = 0;
  Extreme min{__builtin_inf()}, max{-__builtin_inf()};
  std::vector<std::uint64_t> histogram;     // grid bins (histogram on)
  std::vector<std::int64_t> row_negative;   // per_row
  std::vector<std::int64_t> row_sum_fixed;  // per_row
  // Per held range: values below key_lo in bin_lo, the kept keys (chunks), or the sub-bin counts.
  std::vector<std::uint64_t> edge_below;
  std::vector<std::vector<std::vector<std::uint32_t>>> held;
  std::vector<std::vector<std::uint64_t>> sub_histogram;

 private:
  void reduce_row(const float* c, std::int64_t len, std::int64_t i, std::int64_t j0);
  void update_extremes(const float* c, std::int64_t len, std::int64_t i, std::int64_t j0, float row_min, float row_max);
  bool next_chunk(int r);
  void close_chunk(int r);
  void flush_histogram();

  const PairStatsConfig& config_;
  const std::vector<std::uint8_t>& flags_;
  HoldBudget& budget_;
  PairKernel kernel_;  // the one that runs
  std::vector<std::uint32_t> hist32_;
  std::uint64_t since_flush_ = 0;
  BinIntervals intervals_;
  HeldRange ranges_[kMaxHeldRanges];
  std::uint32_t* hold_next_[kMaxHeldRanges] = {};  // where range r's next held key goes
  std::uint32_t* hold_end_[kMaxHeldRanges] = {};   // end of its open chunk
  std::vector<std::int32_t> bins_;                 // scratch: the bins of one tile row
  std::vector<std::int32_t> flagged_;              // scratch: positions in the row whose bin a held range overlaps
  float seen_min_ = __builtin_inff(), seen_max_ = -__builtin_inff();  // float extremes so far (with `unit`)
};

// Exact k-th smallest (0-based) of the keys held in `parts`, by 8-bit radix selection (4 scans,
// no copy). k must be < the total count.
std::uint32_t select_held_key(const std::vector<const std::vector<std::uint32_t>*>& parts, std::uint64_t k);

// The kernel that runs when `wanted` is asked for: Auto -> EMBSTAT_KERNEL if set, else the best
// this CPU supports; a kernel the CPU lacks -> the next simpler one.
PairKernel resolve_pair_kernel(PairKernel wanted);
const char* pair_kernel_name(PairKernel kernel);

}  // namespace embstat
