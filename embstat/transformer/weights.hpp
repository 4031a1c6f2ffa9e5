// WeightReader — a checkpoint's weights for the forward pass, decoded to f32 one layer at a time
// from the mapped tensor store (so a model larger than memory runs: only one layer's f32 copy is
// held), with every tensor's shape checked against the config.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "embstat/matrix/matrix.hpp"
#include "embstat/transformer/config.hpp"

namespace embstat {
class TensorStore;
struct StoredTensor;
}  // namespace embstat

namespace embstat::transformer {

// One block of the llama family. Matrices are [out, in].
struct LayerWeights {
  std::vector<float> attn_norm, ffn_norm;
  Matrix wq, wk, wv, wo;
  Matrix gate, up, down;
};

class WeightReader {
 public:
  WeightReader(std::shared_ptr<const TensorStore> store, TransformerConfig config);

  const TransformerConfig& config() const { return config_; }
  const TensorStore& store() const { return *store_; }

  // Error(Format) naming a missing tensor or one whose shape contradicts the config.
  LayerWeights layer(std::int64_t index) const;
  // The token embedding rows of `ids` (Error(Usage) for an id outside the vocabulary).
  Matrix embed(std::span<const std::int64_t> ids) const;
  std::vector<float> final_norm() const;
  // The unembedding [vocab, hidden]: the token embedding when tied.
  Matrix output() const;

 private:
  std::string layer_name(std::int64_t index, std::string_view role) const;
  Matrix matrix(const std::string& name, std::int64_t rows, std::int64_t cols) const;
  std::vector<float> vector(const std::string& name, std::int64_t n) const;
  Matrix decode(const StoredTensor& tensor) const;

  std::shared_ptr<const TensorStore> store_;
  TransformerConfig config_;
};

}  // namespace embstat::transformer
