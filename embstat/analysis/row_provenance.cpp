#include "embstat/analysis/row_provenance.hpp"

#include <algorithm>
#include <string>

#include "embstat/base/error.hpp"

namespace embstat {

RowProvenance RowProvenance::embedding_rows(std::int64_t n_rows, std::int64_t n_tokens) {
  if (n_rows < 0) throw_usage("a matrix cannot have " + std::to_string(n_rows) + " rows");
  RowProvenance p;
  p.n_rows_ = n_rows;
  p.n_tokens_ = n_tokens;
  return p;
}

RowProvenance RowProvenance::hidden_states(std::span<const std::int64_t> token_ids,
                                           std::span<const std::int64_t> sequence_starts) {
  const auto n = static_cast<std::int64_t>(token_ids.size());
  if (n == 0) throw_usage("hidden states need at least one position");
  if (sequence_starts.empty() || sequence_starts.front() != 0) throw_usage("the first sequence must start at row 0");
  for (std::size_t s = 1; s < sequence_starts.size(); ++s)
    if (sequence_starts[s] <= sequence_starts[s - 1])
      throw_usage("sequence " + std::to_string(s) + " is empty or starts before the one ahead of it");
  if (sequence_starts.back() >= n)
    throw_usage("sequence " + std::to_string(sequence_starts.size() - 1) + " starts past the last row");
  RowProvenance p;
  p.n_rows_ = n;
  p.token_ids_.assign(token_ids.begin(), token_ids.end());
  p.sequence_starts_.assign(sequence_starts.begin(), sequence_starts.end());
  return p;
}

RowOrigin RowProvenance::origin(std::int64_t row) const {
  if (row < 0 || row >= n_rows_)
    throw Error(ErrorKind::Internal, "", "row " + std::to_string(row) + " is outside the provenance map");
  RowOrigin o;
  if (!is_hidden_states()) {
    if (row < n_tokens_) o.token = row;
    return o;
  }
  if (token_ids_[static_cast<std::size_t>(row)] >= 0) o.token = token_ids_[static_cast<std::size_t>(row)];
  const auto it = std::upper_bound(sequence_starts_.begin(), sequence_starts_.end(), row) - 1;
  o.sequence = it - sequence_starts_.begin();
  o.position = row - *it;
  return o;
}

}  // namespace embstat
