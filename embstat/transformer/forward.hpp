// The forward pass: token ids in, the residual stream after every block out.
//
// Sequences are laid end to end (sequence_starts gives each one's first row) and computed
// together one layer at a time: a layer's weights are decoded from the mapping once, applied to
// every position of every sequence, then dropped. Compute is f32 throughout (sgemm for the
// projections and the attention products).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "embstat/matrix/matrix.hpp"
#include "embstat/transformer/config.hpp"
#include "embstat/transformer/weights.hpp"

namespace embstat::transformer {

// Called with layer 0 (the embedding output as the model uses it), then layer i after block i
// (i = 1 .. n_layers); `states` is T x hidden and is only valid during the call.
using LayerCallback = std::function<void(std::int64_t layer, const Matrix& states)>;

class Transformer {
 public:
  // Opens a checkpoint (TensorStore::open) and resolves its config: see resolve_config().
  static Transformer open(const std::string& path);
  explicit Transformer(const std::shared_ptr<const TensorStore>& store);

  const TransformerConfig& config() const { return weights_.config(); }
  const WeightReader& weights() const { return weights_; }

  // Runs every sequence; returns the final norm of the last block's output (T x hidden).
  // Error(Usage) for an empty input, an id outside the vocabulary or bad sequence_starts.
  Matrix forward(std::span<const std::int64_t> ids, std::span<const std::int64_t> sequence_starts,
                 const LayerCallback& on_layer = {}) const;

  // Next-token scores of each row of `final_states`: final_states x output^T (T x vocab).
  Matrix logits(const Matrix& final_states) const;

 private:
  WeightReader weights_;
};

}  // namespace embstat::transformer
