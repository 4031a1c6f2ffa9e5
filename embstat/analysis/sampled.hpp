// The study's measurement: for each target row, cosine with every other row.
//
// One pass for all targets together: a GEMM of (targets x d) by (rows x d)^T on unit rows, in
// row blocks so memory stays small, each block reduced while hot (sorted copies only for the
// median). Works on any RowSet.
#pragma once

#include <cstdint>
#include <vector>

#include "embstat/analysis/row_set.hpp"
#include "embstat/base/progress.hpp"

namespace embstat {

struct TargetStats {
  std::int64_t id = 0;         // model row id of the target
  float min = 0, max = 0;      // over the other rows
  double mean = 0;
  float median = 0;            // lower median (torch.median) of the n-1 cosines
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
std::vector<std::int64_t> draw_targets(const RowSet& rows, std::int64_t n, std::uint64_t seed);

// Statistics for each target id (must be rows of `rows`; throws Error(Usage) otherwise).
SampleSummary sample_cosines(const RowSet& rows, const std::vector<std::int64_t>& target_ids,
                             const ProgressFn& progress = {});

// A matrix of N(0,1) entries (seeded), the study's random-initialisation control.
Matrix random_normal_matrix(std::int64_t n_rows, std::int64_t n_cols, std::uint64_t seed);

}  // namespace embstat
