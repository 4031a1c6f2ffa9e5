// The study's measurement: for each target row, cosine with every other row.
//
// One pass for all targets together: a GEMM of (targets x d) by (rows x d)^T on unit rows, in
// row blocks so memory stays small, each block reduced while hot (sorted copies only for the
// median). Works on any RowSet. Cosines are clamped to [-1, 1] and those near 0 certified
// (certified_cosine.hpp): counts are the same on every machine, float statistics within
// float_cosine_error(d), bit-identical for any thread count at a given block size and pass size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "embstat/analysis/row_set.hpp"
#include "embstat/base/progress.hpp"

namespace embstat {

struct TargetStats {
  std::int64_t id = 0;     // model row id of the target
  float min = 0, max = 0;  // over the other rows
  double mean = 0;
  float median = 0;               // lower median (torch.median) of the n-1 cosines
  std::int64_t non_negative = 0;  // cos >= 0
  std::int64_t negative = 0;      // cos < 0
  double fraction_non_negative() const {
    const auto n = non_negative + negative;
    return n ? static_cast<double>(non_negative) / static_cast<double>(n) : 0.0;
  }
};

struct SampleSummary {
  std::vector<TargetStats> per_target;
  // Means over targets, and their standard deviations across targets (population, ddof=0).
  double min = 0, max = 0, mean = 0, median = 0, non_negative = 0, negative = 0, fraction_non_negative = 0;
  double min_std = 0, max_std = 0, mean_std = 0, median_std = 0, non_negative_std = 0, negative_std = 0,
         fraction_non_negative_std = 0;
};

// Draws `n` distinct target positions in [0, rows.size()) with a seeded PRNG (std::mt19937_64,
// partial Fisher-Yates), returned as model row ids in draw order. n is capped at rows.size().
// Step i swaps position i with i + r, r uniform in [0, size - i) by rejection on the engine's
// 64-bit output (r = x % range, x below 2^64 mod range redrawn), so the draw is the same on
// every platform and standard library.
std::vector<std::int64_t> draw_targets(const RowSet& rows, std::int64_t n, std::uint64_t seed);
// The same draw over a list of usable row ids (ascending): draw_targets(rows, ...) is
// draw_targets(rows.ids, ...).
std::vector<std::int64_t> draw_targets(const std::vector<std::int64_t>& ids, std::int64_t n, std::uint64_t seed);

// Statistics for each target id (must be rows of `rows`; throws Error(Usage) otherwise, naming
// why the row is missing: zero norm, padding, merged duplicate, out of range). Each target is
// compared with every other row of the set, by position: a bit-identical copy of the target is
// another row and counts (cos 1). Needs at least two rows. per_target follows target_ids' order.
SampleSummary sample_cosines(const RowSet& rows, const std::vector<std::int64_t>& target_ids,
                             const ProgressFn& progress = {});

struct SampleOptions {
  std::int64_t block_rows = 0;    // rows per sgemm tile; 0 = kSampleBlockRows (tests force small)
  std::int64_t cosine_bytes = 0;  // cap on kept cosines per pass; 0 = kSampleCosineBytes
  ProgressFn progress;
  // When set, receives every cosine computed: targets x columns, row k the cosines of target k
  // with every column, its own and excluded ones included (columns: RowSet positions, or model row
  // ids for Bf16Rows). For callers that go on from the same cosines (geometry's sampled versions).
  std::vector<float>* cosines = nullptr;
};
// Rows per sgemm tile: (targets x d) * (4,096 x d)^T. The tile (50 x 4,096 floats = 800 KB)
// is reduced while still in L2/L3, and ~37 tiles on a 152k-row matrix balance over the cores.
inline constexpr std::int64_t kSampleBlockRows = 4096;
// Cap on the cosines kept for the medians (targets x rows floats). Targets beyond it are done
// in further passes over the matrix; 50 targets x 262,208 rows need 52 MB, one pass.
inline constexpr std::int64_t kSampleCosineBytes = std::int64_t{512} << 20;

SampleSummary sample_cosines(const RowSet& rows, const std::vector<std::int64_t>& target_ids,
                             const SampleOptions& options);

// Cosine of row `id` with every row of the set (indexed like rows.ids; its own entry is ~1).
// One threaded sgemv over the unit rows; values clamped to [-1, 1], those near 0 certified
// (certified_cosine.hpp), so which rows are negative to it is the same on every machine.
std::vector<float> cosines_to(const RowSet& rows, std::int64_t id);

// Why model row `id` is not in `rows`: "a zero-norm row", "a padding row (no token)", "a
// duplicate merged by --dedup", "out of range (N rows)"; "" when it is there.
std::string why_not_in(const RowSet& rows, std::int64_t id);

// A matrix of N(0,1) entries, the study's random-initialisation control. Deterministic in
// (seed, shape) whatever the thread count: rows come in blocks of kRandomBlockRows, block b drawn
// from the SplitMix64 sequence that starts at splitmix64(seed) + b * 2^32 * golden (disjoint
// streams), normals by Doornik's ziggurat (ZIGNOR, 128 layers) on 32-bit draws. No
// std::normal_distribution, whose output differs between standard libraries.
inline constexpr std::int64_t kRandomBlockRows = 256;
Matrix random_normal_matrix(std::int64_t n_rows, std::int64_t n_cols, std::uint64_t seed);

}  // namespace embstat
