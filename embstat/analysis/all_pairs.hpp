// Exact statistics over all pairs i < j of a RowSet, never materialising the n x n matrix.
//
// Unit rows are walked in cache-sized blocks of the upper triangle; each block is one sgemm
// whose tile is reduced while hot (counts, sums, min/max, histogram, per-row tallies).
//
// Layers (faiss's exhaustive_inner_product_blas + ResultHandler split): for_each_pair_tile() is
// the producer — it knows tiles and BLAS, nothing of what is reduced; a TileHandler per thread
// consumes tiles (reducers/pair_stats.hpp is the one all_pairs() uses). all_pairs() runs the
// passes: an optional pilot on a random sample, the main pass, and, only when the pilot's guess
// missed, refinement passes that settle the exact quantiles (see all_pairs.cpp, "Quantiles").
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "embstat/analysis/row_set.hpp"
#include "embstat/base/progress.hpp"

namespace embstat {

// Rows per square tile. 512 x 512 f32 = 1 MiB of cosines: the tile stays in the 2 MiB L2 while it
// is reduced, and one sgemm of 512 x 512 x d runs at OpenBLAS's full speed (bench/README.md "all
// pairs"). Capped at kMaxBlockRows so a tile row's fixed-point sum fits int64.
inline constexpr std::int64_t kAllPairsBlockRows = 512;
inline constexpr std::int64_t kMaxBlockRows = 2048;
// Bins of the main pass's histogram (quantile search grid): 2^16 over [-1, 1], width 3.05e-5.
inline constexpr int kFineHistogramBins = 65536;
// Values held for the exact quantiles at most (4 bytes each: 256 MiB).
inline constexpr std::int64_t kMaxHeldValues = std::int64_t{1} << 26;

// The reduction kernel. Auto: the best this CPU runs (AVX-512, else AVX2, else scalar), unless
// the environment variable EMBSTAT_KERNEL says scalar, avx2 or avx512. All give identical results.
enum class PairKernel { Auto, Scalar, Avx2, Avx512 };

struct AllPairsOptions {
  bool per_row = false;         // also tally, per row, negatives and the sum of cosines
  int histogram_bins = 4096;    // over [-1, 1]; 1 .. 2^20
  std::int64_t block_rows = 0;  // 0 = the tuned default (kAllPairsBlockRows); at most kMaxBlockRows
  ProgressFn progress;
  bool quantiles = true;                          // exact median and quantiles (false: left NaN, no pilot, one pass)
  bool pilot = true;                              // guess the quantiles' neighbourhoods from a sample first, so the
                                                  // exact values need no second pass (false: always refine)
  std::int64_t max_held_values = kMaxHeldValues;  // memory cap of the quantile search
  int n_threads = 0;                              // 0 = omp_get_max_threads()
  PairKernel kernel = PairKernel::Auto;           // a specific reduction kernel (tests compare them); one
                                                  // this CPU lacks falls back to the next simpler one
};

// Quantile levels reported (p1 p5 p25 p75 p95 p99); the median is reported separately. The
// quantile at p is the exact order statistic of rank floor((N - 1) p) among the N pair cosines
// (numpy's method="lower"; p = 0.5 gives the lower median).
inline constexpr std::array<double, 6> kQuantileLevels = {0.01, 0.05, 0.25, 0.75, 0.95, 0.99};

struct AllPairsResult {
  std::int64_t n_rows = 0;
  std::uint64_t pairs = 0, non_negative = 0, negative = 0;
  std::uint64_t uncertain = 0;  // |cos| < 1e-6 (certified cosines: the same on every machine)
  double fraction_non_negative = 0;
  // The double-precision cosines of the extreme pairs, clamped to [-1, 1] (the same on every
  // machine; ties: the lexicographically smallest pair).
  float min = 0, max = 0;
  std::pair<std::int64_t, std::int64_t> min_pair{-1, -1}, max_pair{-1, -1};  // model row ids
  double mean = 0, std = 0;                                                  // std: population (over all N pairs)
  double median = 0;                                                         // lower median of all pair cosines (exact)
  std::array<double, 6> quantiles{};                                         // at kQuantileLevels (exact)
  // histogram_bins equal bins over [-1, 1]: bin k counts -1 + 2k/B <= cos < -1 + 2(k+1)/B (up to
  // float rounding at the edges; the last bin also holds 1 and values a rounding past +-1).
  std::vector<std::uint64_t> histogram;
  // per_row only, indexed like the RowSet: how many other rows each is negative to, and the
  // mean of its cosines to all other rows.
  std::vector<std::int64_t> row_negative;
  std::vector<double> row_mean;

  // The mean again, from the identity mean = (||sum u_i||^2 - sum ||u_i||^2) / (n (n - 1)) in
  // O(n d) double arithmetic: a check of the all-pairs pass (they agree to ~1e-7).
  double mean_identity = 0;
  int passes = 0;                 // passes over all pairs (1 unless the quantiles needed more)
  std::uint64_t pilot_pairs = 0;  // pairs of the pilot sample (0: no pilot)
  std::uint64_t held_values = 0;  // most values held at once for the exact quantiles
};

// Throws Error(Usage) when rows has fewer than 2 rows.
AllPairsResult all_pairs(const RowSet& rows, const AllPairsOptions& options = {});

// (||sum u_i||^2 - sum ||u_i||^2) / (n (n - 1)) over the rows of `unit` (n x d, row-major), in
// double: the mean of u_i . u_j over i != j. Deterministic (fixed summation order). n >= 2.
double mean_pair_dot(const Matrix& unit);

// --- The tile producer --------------------------------------------------------------------

// One tile of the upper triangle of unit * unit^T: cos[(i - row_begin) * ld + (j - col_begin)]
// for i in [row_begin, row_end), j in [col_begin, col_end). On a diagonal tile (row_begin ==
// col_begin) only j > i are pairs; the rest of the tile is garbage to skip. Pairs are clamped to
// [-1, 1], and those within certification_band(d) of 0 certified (certified_cosine.hpp).
struct PairTile {
  std::int64_t row_begin = 0, row_end = 0;
  std::int64_t col_begin = 0, col_end = 0;
  const float* cos = nullptr;
  std::int64_t ld = 0;
  bool diagonal() const { return row_begin == col_begin; }
};

// Consumes tiles; one per thread, so no locking. Must not throw across consume() for a reason
// other than running out of memory (the producer rethrows after the parallel region).
class TileHandler {
 public:
  virtual ~TileHandler() = default;
  virtual void consume(const PairTile& tile) = 0;
};

// Computes every tile (I, J), I <= J, of unit * unit^T in blocks of block_rows (the last block
// smaller) with one single-threaded sgemm each, in an OpenMP loop of handlers.size() threads;
// thread t hands its tiles to handlers[t]. Tiles arrive in no fixed order. OpenBLAS runs one
// thread per call during the loop (restored after). progress(fraction of pairs done) is called
// from the calling thread only.
void for_each_pair_tile(const Matrix& unit, std::int64_t block_rows, std::span<TileHandler* const> handlers,
                        const ProgressFn& progress);

}  // namespace embstat
