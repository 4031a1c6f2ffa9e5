#include "embstat/transformer/forward.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "embstat/base/error.hpp"
#include "embstat/formats/tensor_store.hpp"
#include "embstat/transformer/attention.hpp"
#include "embstat/transformer/linear.hpp"
#include "embstat/transformer/mlp.hpp"
#include "embstat/transformer/parallel.hpp"
#include "embstat/transformer/rms_norm.hpp"
#include "embstat/transformer/rope.hpp"

namespace embstat::transformer {

Transformer Transformer::open(const std::string& path) {
  return Transformer(TensorStore::open(path));
}

Transformer::Transformer(const std::shared_ptr<const TensorStore>& store) : weights_(store, resolve_config(*store)) {}

Matrix Transformer::forward(std::span<const std::int64_t> ids, std::span<const std::int64_t> sequence_starts,
                            const LayerCallback& on_layer) const {
  const TransformerConfig& c = config();
  const auto n = static_cast<std::int64_t>(ids.size());
  if (n == 0) throw_usage("no tokens to run the model on");
  if (sequence_starts.empty() || sequence_starts.front() != 0) throw_usage("the first sequence must start at row 0");
  for (std::size_t s = 1; s < sequence_starts.size(); ++s)
    if (sequence_starts[s] <= sequence_starts[s - 1] || sequence_starts[s] >= n)
      throw_usage(fmt::format("sequence {} is empty or out of order", s));

  // Position of each row within its sequence, and the RoPE table up to the longest sequence.
  std::vector<std::int64_t> position(static_cast<std::size_t>(n));
  std::int64_t longest = 0;
  for (std::size_t s = 0; s < sequence_starts.size(); ++s) {
    const std::int64_t end = s + 1 < sequence_starts.size() ? sequence_starts[s + 1] : n;
    for (std::int64_t r = sequence_starts[s]; r < end; ++r)
      position[static_cast<std::size_t>(r)] = r - sequence_starts[s];
    longest = std::max(longest, end - sequence_starts[s]);
  }
  const std::vector<double> inv_freq = rope_inverse_frequencies(c);
  const std::vector<float> table = rope_table(inv_freq, longest);
  const std::int64_t half = c.head_dim / 2;
  const AttentionShape shape{c.n_heads, c.n_kv_heads, c.head_dim, c.window};

  Matrix x = weights_.embed(ids);
  if (on_layer) on_layer(0, x);
  Matrix normed(n, c.hidden);
  Matrix q(n, c.n_heads * c.head_dim);
  Matrix k(n, c.n_kv_heads * c.head_dim);
  Matrix v(n, c.n_kv_heads * c.head_dim);
  Matrix attended(n, c.n_heads * c.head_dim);
  for (std::int64_t layer = 0; layer < c.n_layers; ++layer) {
    const LayerWeights w = weights_.layer(layer);
    rms_norm(x, w.attn_norm, c.rms_eps, normed);
    linear(normed, w.wq, q);
    linear(normed, w.wk, k);
    linear(normed, w.wv, v);
#pragma omp parallel for schedule(static) if (n * (q.n_cols() + k.n_cols()) >= kParallelMinElements)
    for (std::int64_t r = 0; r < n; ++r) {
      const float* cos_sin = table.data() + position[static_cast<std::size_t>(r)] * 2 * half;
      apply_rope(q.row(r), c.n_heads, c.head_dim, cos_sin, c.rope_pairs);
      apply_rope(k.row(r), c.n_kv_heads, c.head_dim, cos_sin, c.rope_pairs);
    }
    causal_attention(q, k, v, sequence_starts, shape, attended);
    linear(attended, w.wo, x, /*accumulate=*/true);
    rms_norm(x, w.ffn_norm, c.rms_eps, normed);
    swiglu_mlp(normed, w.gate, w.up, w.down, x);
    if (on_layer) on_layer(layer + 1, x);
  }
  rms_norm(x, weights_.final_norm(), c.rms_eps, x);
  return x;
}

Matrix Transformer::logits(const Matrix& final_states) const {
  const Matrix out = weights_.output();
  Matrix scores(final_states.n_rows(), out.n_rows());
  linear(final_states, out, scores);
  return scores;
}

}  // namespace embstat::transformer
