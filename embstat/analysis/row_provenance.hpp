// RowProvenance — where each row of a matrix came from.
//
// An embedding row is a vocabulary token (row r is token r, when r is below the vocabulary's
// size; rows past it are padding with no token). A hidden state is a position of a sequence,
// and carries the token id found at that position. RowSet::ids are model row ids; the
// provenance maps such an id to its token, sequence and position, so that token texts and
// classes can be looked up through it and a caller can say when a row has no token.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace embstat {

struct RowOrigin {
  std::optional<std::int64_t> token;     // vocabulary id, when the row has one
  std::optional<std::int64_t> sequence;  // hidden states: which sequence
  std::optional<std::int64_t> position;  // hidden states: position in it (0 = first)
};

class RowProvenance {
 public:
  // Rows of an embedding matrix: row r is token r for r < n_tokens; n_tokens < 0 means no
  // vocabulary is known (no row has a token).
  static RowProvenance embedding_rows(std::int64_t n_rows, std::int64_t n_tokens);
  // Hidden states of sequences laid end to end: row i holds the state at token_ids[i];
  // sequence_starts[s] is the first row of sequence s (ascending, starting at 0; every sequence
  // non-empty). A token id < 0 means the position has no known token. Error(Usage) otherwise.
  static RowProvenance hidden_states(std::span<const std::int64_t> token_ids,
                                     std::span<const std::int64_t> sequence_starts);

  std::int64_t size() const { return n_rows_; }
  bool is_hidden_states() const { return !sequence_starts_.empty(); }
  std::int64_t n_sequences() const { return static_cast<std::int64_t>(sequence_starts_.size()); }
  std::span<const std::int64_t> sequence_starts() const { return sequence_starts_; }

  RowOrigin origin(std::int64_t row) const;  // row in [0, size())
  std::optional<std::int64_t> token_of(std::int64_t row) const { return origin(row).token; }

 private:
  std::int64_t n_rows_ = 0;
  std::int64_t n_tokens_ = -1;                 // embedding rows
  std::vector<std::int64_t> token_ids_;        // hidden states
  std::vector<std::int64_t> sequence_starts_;  // hidden states
};

}  // namespace embstat
