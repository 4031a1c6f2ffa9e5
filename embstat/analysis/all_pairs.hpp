// Exact statistics over all pairs i < j of a RowSet, never materialising the n x n matrix.
//
// Unit rows are walked in cache-sized blocks of the upper triangle; each block is one sgemm
// whose tile is reduced while hot (counts, sums, min/max, histogram, per-row tallies).
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "embstat/analysis/row_set.hpp"
#include "embstat/base/progress.hpp"

namespace embstat {

struct AllPairsOptions {
  bool per_row = false;          // also tally, per row, negatives and the sum of cosines
  int histogram_bins = 4096;     // over [-1, 1]
  std::int64_t block_rows = 0;   // 0 = the tuned default
  ProgressFn progress;
};

// Quantile levels reported (p1 p5 p25 p75 p95 p99); the median is reported separately.
inline constexpr std::array<double, 6> kQuantileLevels = {0.01, 0.05, 0.25, 0.75, 0.95, 0.99};

struct AllPairsResult {
  std::int64_t n_rows = 0;
  std::uint64_t pairs = 0, non_negative = 0, negative = 0;
  std::uint64_t uncertain = 0;  // |cos| < 1e-6: single precision cannot settle the sign
  double fraction_non_negative = 0;
  float min = 0, max = 0;
  std::pair<std::int64_t, std::int64_t> min_pair{-1, -1}, max_pair{-1, -1};  // model row ids
  double mean = 0, std = 0;
  double median = 0;                    // lower median of all pair cosines
  std::array<double, 6> quantiles{};    // at kQuantileLevels
  std::vector<std::uint64_t> histogram; // histogram_bins counts over [-1, 1]
  // per_row only, indexed like the RowSet: how many other rows each is negative to, and the
  // mean of its cosines to all other rows.
  std::vector<std::int64_t> row_negative;
  std::vector<double> row_mean;
};

AllPairsResult all_pairs(const RowSet& rows, const AllPairsOptions& options = {});

}  // namespace embstat
