// Statistics of one layer's hidden states, every position a row: how positive the pairwise
// cosines are (exactly, over all pairs), and what makes them so (a shared mean direction, a few
// rogue dimensions, massive activations).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "embstat/analysis/all_pairs.hpp"
#include "embstat/analysis/row_provenance.hpp"
#include "embstat/matrix/matrix.hpp"

namespace embstat {

struct RogueDimension {
  std::int64_t dim = 0;
  double share = 0;  // this dimension's part of the mean pairwise cosine (shares of all dims sum to 1)
};

struct LayerStatistics {
  std::int64_t rows = 0;  // rows used (zero or non-finite rows are left out)
  double fraction_non_negative = 0;
  double mean_cosine = 0, min = 0, max = 0, median = 0;  // over all pairs of rows (median: the lower one)
  double mean_norm_ratio = 0;                            // |mean row| / mean |row|
  double fraction_non_negative_centered = 0;             // after subtracting the mean row
  struct MaxAbs {
    double value = 0;  // the activation, signed
    std::int64_t dim = 0;
    std::int64_t row = 0;  // row of the matrix it was found in
  } max_abs_activation;
  std::vector<RogueDimension> rogue_dimensions;  // largest shares first
  double mean_direction_vs_embedding = 0;        // cosine of this layer's mean row and the embedding layer's
};

struct LayerStatisticsOptions {
  int n_rogue = 3;
  int n_threads = 0;  // all_pairs threads (0 = all)
};

// The mean row of `states`, in double.
std::vector<double> mean_row(const Matrix& states);

// Statistics of `states` (n x d, n >= 2 rows of non-zero norm); `embedding_mean` is the mean row
// of the embedding layer over the same positions. Error(Usage) when fewer than two rows are usable.
LayerStatistics layer_statistics(const Matrix& states, std::span<const double> embedding_mean,
                                 const LayerStatisticsOptions& options = {});

// The rows that are not the first position of their sequence (the attention-sink token), in order.
std::vector<std::int64_t> rows_after_first_positions(const RowProvenance& provenance);
// Those rows of `states`, in the order given.
Matrix select_rows(const Matrix& states, std::span<const std::int64_t> rows);

// JSON of the statistics with the keys `embstat hidden` documents; `rows` maps the matrix's row
// numbers to rows of `provenance` (empty: the identity), for the position of the largest
// activation.
nlohmann::ordered_json layer_statistics_json(const LayerStatistics& stats, const RowProvenance& provenance,
                                             std::span<const std::int64_t> rows = {});

}  // namespace embstat
