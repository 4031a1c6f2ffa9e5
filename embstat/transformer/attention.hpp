// Causal self-attention with grouped-query heads over sequences laid end to end.
//
// Query head h reads key-value head h / (n_heads / n_kv_heads). Position i of a sequence attends
// to positions j <= i of the same sequence only (and, with a window W, to j > i - W); sequences
// never see each other. Scores are q.k / sqrt(head_dim), softmax in f32 with the sum in double.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "embstat/matrix/matrix.hpp"

namespace embstat::transformer {

struct AttentionShape {
  std::int64_t n_heads = 0, n_kv_heads = 0, head_dim = 0;
  std::optional<std::int64_t> window;  // sliding window, if any
};

// q: T x (n_heads * head_dim), k and v: T x (n_kv_heads * head_dim), RoPE already applied;
// sequence_starts: the first row of each sequence (ascending, from 0). out: T x (n_heads * head_dim).
void causal_attention(const Matrix& q, const Matrix& k, const Matrix& v, std::span<const std::int64_t> sequence_starts,
                      const AttentionShape& shape, Matrix& out);

}  // namespace embstat::transformer
