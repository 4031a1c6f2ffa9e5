// The sampled statistic straight from a bf16 matrix (most Hugging Face checkpoints), on CPUs with
// AVX512-BF16.
//
// No f32 copy of the matrix is made: norms are computed once (in double) from the encoded rows,
// and the dot products of every target with every row come from VDPBF16PS on the mapped bf16
// data (bf16 x bf16 products are exact in f32, sums in f32, as sgemm on the decoded rows), then
// scaled by the inverse norms. Memory: the mapped tensor plus the cosines kept for the medians;
// time: half the multiply work of f32 and no decode. Rows taking part follow make_row_set's
// rules (padding and zero-norm rows excluded and listed), except --dedup, which this path does
// not do: callers use the RowSet path for it, as for rows outside bf16_norms_in_range (scale-free
// statistics must not depend on the scale). Results agree with make_row_set + sample_cosines
// up to f32 rounding (|difference| ~ 1e-7; a cosine that close to 0 may change sides).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "embstat/analysis/bf16_kernels.hpp"  // bf16_kernel_available
#include "embstat/analysis/row_set.hpp"
#include "embstat/analysis/sampled.hpp"
#include "embstat/matrix/matrix.hpp"

namespace embstat {

// The usable rows of a bf16 matrix, as the kernel indexes them (by model row id).
struct Bf16Rows {
  MatrixView view;                            // BF16 rows; must outlive this object's use
  std::vector<std::int64_t> ids;              // model row ids that take part, ascending
  std::vector<std::int64_t> zero_rows;        // excluded: norm 0
  std::vector<std::int64_t> non_finite_rows;  // excluded: holds NaN or Inf
  std::vector<std::int64_t> padding_rows;     // excluded: no token
  std::vector<std::int64_t> excluded;         // all three kinds, sorted
  std::vector<float> inv_norms;               // per model row: 1 / norm (0 when excluded)
  double min_norm = 0, max_norm = 0;          // over the rows that take part
  std::int64_t n_total = 0;

  // Whether the kernel's products are accurate for these rows (bf16_norms_in_range); when not,
  // callers take the f32 RowSet path, and sample_cosines refuses them (Error(Internal)).
  bool in_kernel_range() const { return bf16_norms_in_range(min_norm, max_norm); }

  std::int64_t size() const { return static_cast<std::int64_t>(ids.size()); }
  std::int64_t dim() const { return view.n_cols; }
  bool contains(std::int64_t id) const;
  std::string why_not_in(std::int64_t id) const;  // "" when the row takes part
};

// Norms (double, in parallel) and exclusions; filter.dedup must be false (Error(Internal)).
// view.dtype must be BF16 and bf16_kernel_available() true.
Bf16Rows make_bf16_rows(const MatrixView& view, const RowFilter& filter);

// The statistic of sample_cosines(RowSet, ...) on these rows; rows.in_kernel_range() must hold.
SampleSummary sample_cosines(const Bf16Rows& rows, const std::vector<std::int64_t>& target_ids,
                             const SampleOptions& options = {});

}  // namespace embstat
