// RowSet — the unit-normalised rows that take part in a statistic, and the rows left out.
//
// Cosine needs a non-zero finite norm, and rows past the tokenizer (padding) are not tokens:
// zero rows, rows holding NaN or Inf, and padding are excluded and counted, each kind apart,
// never mixed in silently. Every analysis kernel takes a RowSet, so it
// works the same for embedding tables, unembeddings and hidden states.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "embstat/matrix/matrix.hpp"

namespace embstat {

struct RowFilter {
  std::int64_t n_tokens = -1;    // rows with id >= n_tokens are padding; -1 = no vocabulary
  bool include_padding = false;  // keep padding rows (the study did: it used all rows)
  bool dedup = false;            // keep one row per bit-identical vector
};

struct RowSet {
  Matrix unit;                                // n_used x d, each row of norm 1 (empty when streamed)
  std::vector<std::int64_t> ids;              // model row id of each used row, ascending
  std::vector<double> norms;                  // original norm of each used row (double: |x| may pass FLT_MAX)
  std::vector<std::int64_t> zero_rows;        // excluded: norm 0
  std::vector<std::int64_t> non_finite_rows;  // excluded: holds NaN or Inf (its norm is not finite)
  std::vector<std::int64_t> padding_rows;     // excluded: no token
  std::vector<std::int64_t> merged_rows;      // excluded by dedup: a copy of an earlier row
  std::int64_t n_total = 0;                   // rows before filtering
  // A streamed set (make_streamed_row_set) keeps its rows encoded in `source`, by model id, and
  // decodes unit rows where a pass needs them (unit_rows): no n x d f32 copy. Only the passes
  // that read rows through unit_rows / unit_columns accept one.
  MatrixView source;
  bool streamed = false;
  std::vector<double> inverse_norms;  // streamed: 1 / norm in double, the scale make_row_set uses

  std::int64_t size() const { return streamed ? static_cast<std::int64_t>(ids.size()) : unit.n_rows(); }
  std::int64_t dim() const { return streamed ? source.n_cols : unit.n_cols(); }
  // Every excluded model row id (padding, zero, non-finite, merged), ascending.
  std::vector<std::int64_t> excluded_ids() const;
  // Position of model row `id` in this set, if it was kept.
  std::optional<std::int64_t> index_of(std::int64_t id) const;
  // Unit rows [i0, i0 + m), row-major: a pointer into `unit`, or for a streamed set the rows
  // decoded into `scratch` with the very values make_row_set stores (scratch grows when shorter
  // than m x d: callers in a parallel region size it beforehand, for nothing to throw there).
  const float* unit_rows(std::int64_t i0, std::int64_t m, std::vector<float>& scratch) const;
  // Elements [k0, k1) of unit row i, into out[0, k1 - k0).
  void unit_columns(std::int64_t i, std::int64_t k0, std::int64_t k1, float* out) const;
  // Throws an internal error when the set is streamed: for passes that read `unit` directly.
  void require_held(const char* what) const;
};

// Filters and normalises `raw` (consumed: its storage becomes `unit`, rows compacted in place,
// so peak memory stays one matrix). Norms are computed in double.
RowSet make_row_set(Matrix raw, const RowFilter& filter);

// The same set (the same ids, norms and exclusions) with its rows left in `view`, decoded on
// demand: for analyses of large checkpoints that read the rows a few times, where the f32 copy
// would cost n x d x 4 bytes of fresh memory. `view` must stay alive with the set. Element-wise
// float types only (f32, f16, bf16, ...: a row's slice decodes alone), no dedup.
RowSet make_streamed_row_set(const MatrixView& view, const RowFilter& filter);

// sum_k r_k^2 of one f32 row, in double: the squared norm make_row_set divides by. The last
// bits may differ between CPU levels (EMBSTAT_VECTOR_CLONES), never between runs on one machine.
double squared_norm(const float* r, std::int64_t d);

}  // namespace embstat
