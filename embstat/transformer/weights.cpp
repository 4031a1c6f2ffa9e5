#include "embstat/transformer/weights.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <string_view>

#include "embstat/base/error.hpp"
#include "embstat/formats/tensor_names.hpp"
#include "embstat/formats/tensor_store.hpp"
#include "embstat/transformer/parallel.hpp"

namespace embstat::transformer {

namespace {

// Per-layer roles and their names in each naming (HuggingFace, Gguf, Meta).
struct RoleNames {
  std::string_view role, hf, gguf, meta;
};
constexpr std::array<RoleNames, 9> kRoles = {{
    {"attn_norm", "input_layernorm", "attn_norm", "attention_norm"},
    {"ffn_norm", "post_attention_layernorm", "ffn_norm", "ffn_norm"},
    {"q", "self_attn.q_proj", "attn_q", "attention.wq"},
    {"k", "self_attn.k_proj", "attn_k", "attention.wk"},
    {"v", "self_attn.v_proj", "attn_v", "attention.wv"},
    {"o", "self_attn.o_proj", "attn_output", "attention.wo"},
    {"gate", "mlp.gate_proj", "ffn_gate", "feed_forward.w1"},
    {"up", "mlp.up_proj", "ffn_up", "feed_forward.w3"},
    {"down", "mlp.down_proj", "ffn_down", "feed_forward.w2"},
}};

}  // namespace

WeightReader::WeightReader(std::shared_ptr<const TensorStore> store, TransformerConfig config)
    : store_(std::move(store)), config_(std::move(config)) {}

std::string WeightReader::layer_name(std::int64_t index, std::string_view role) const {
  for (const auto& r : kRoles) {
    if (r.role != role) continue;
    switch (config_.naming) {
      case WeightNaming::HuggingFace:
        return fmt::format("{}layers.{}.{}.weight", config_.prefix, index, r.hf);
      case WeightNaming::Gguf:
        return fmt::format("blk.{}.{}.weight", index, r.gguf);
      case WeightNaming::Meta:
        return fmt::format("layers.{}.{}.weight", index, r.meta);
    }
  }
  throw Error(ErrorKind::Internal, "", fmt::format("no tensor name for role '{}'", role));
}

Matrix WeightReader::decode(const StoredTensor& t) const {
  if (t.dtype != DType::I8) {
    const MatrixView view = store_->matrix(t);
    if (t.n_elements() >= kParallelMinElements) return decode_to_f32(view);
    Matrix out(view.n_rows, view.n_cols);  // small: a parallel region would cost more than the work
    for (std::int64_t r = 0; r < view.n_rows; ++r) decode_row(view.dtype, view.row(r), out.row(r), view.n_cols);
    return out;
  }
  // llama2.c version 2: int8 values with one f32 scale per group, in a tensor of their own.
  const std::int64_t group = store_->llama2c_group_size();
  const StoredTensor* scales = store_->find(t.name + ".scales");
  if (group <= 0 || !scales || t.n_elements() % group != 0)
    throw Error(ErrorKind::Unsupported, store_->path(), fmt::format("tensor '{}': int8 without group scales", t.name));
  Matrix out(t.n_elements() / t.row_length(), t.row_length());
  const auto q = store_->bytes(t);
  const auto s = store_->bytes(*scales);
  for (std::int64_t i = 0; i < t.n_elements(); ++i) {
    float scale;
    std::memcpy(&scale, s.data() + 4 * (i / group), sizeof scale);
    out.data()[i] = static_cast<float>(static_cast<std::int8_t>(q[static_cast<std::size_t>(i)])) * scale;
  }
  return out;
}

Matrix WeightReader::matrix(const std::string& name, std::int64_t rows, std::int64_t cols) const {
  const StoredTensor& t = store_->require(name);
  if (t.shape != std::vector<std::int64_t>{rows, cols})
    throw_format(
        store_->path(), 0,
        fmt::format("tensor '{}' has shape {}, the config implies [{}, {}]", name, shape_string(t.shape), rows, cols));
  return decode(t);
}

std::vector<float> WeightReader::vector(const std::string& name, std::int64_t n) const {
  const StoredTensor& t = store_->require(name);
  if (t.n_elements() != n || t.shape.size() != 1)
    throw_format(store_->path(), 0,
                 fmt::format("tensor '{}' has shape {}, the config implies [{}]", name, shape_string(t.shape), n));
  const Matrix m = decode(t);
  return {m.data(), m.data() + n};
}

LayerWeights WeightReader::layer(std::int64_t index) const {
  const TransformerConfig& c = config_;
  const std::int64_t q_dim = c.n_heads * c.head_dim;
  const std::int64_t kv_dim = c.n_kv_heads * c.head_dim;
  LayerWeights w;
  w.attn_norm = vector(layer_name(index, "attn_norm"), c.hidden);
  w.ffn_norm = vector(layer_name(index, "ffn_norm"), c.hidden);
  w.wq = matrix(layer_name(index, "q"), q_dim, c.hidden);
  w.wk = matrix(layer_name(index, "k"), kv_dim, c.hidden);
  w.wv = matrix(layer_name(index, "v"), kv_dim, c.hidden);
  w.wo = matrix(layer_name(index, "o"), c.hidden, q_dim);
  w.gate = matrix(layer_name(index, "gate"), c.intermediate, c.hidden);
  w.up = matrix(layer_name(index, "up"), c.intermediate, c.hidden);
  w.down = matrix(layer_name(index, "down"), c.hidden, c.intermediate);
  return w;
}

namespace {
std::string embedding_name(const TransformerConfig& c) {
  switch (c.naming) {
    case WeightNaming::Gguf:
      return "token_embd.weight";
    case WeightNaming::Meta:
      return "tok_embeddings.weight";
    case WeightNaming::HuggingFace:
      break;
  }
  return c.prefix + "embed_tokens.weight";
}
}  // namespace

Matrix WeightReader::embed(std::span<const std::int64_t> ids) const {
  for (auto id : ids)
    if (id < 0 || id >= config_.vocab)
      throw_usage(fmt::format("token id {} is outside the vocabulary (0 to {})", id, config_.vocab - 1));
  const StoredTensor& t = store_->require(embedding_name(config_));
  if (t.dtype == DType::I8) {
    const Matrix all = decode(t);
    Matrix out(static_cast<std::int64_t>(ids.size()), all.n_cols());
    for (std::size_t i = 0; i < ids.size(); ++i)
      std::memcpy(out.row(static_cast<std::int64_t>(i)), all.row(ids[i]), sizeof(float) * all.n_cols());
    return out;
  }
  const MatrixView view = store_->matrix(t);
  if (static_cast<std::int64_t>(ids.size()) * view.n_cols >= kParallelMinElements) return decode_rows(view, ids);
  Matrix out(static_cast<std::int64_t>(ids.size()), view.n_cols);
  for (std::size_t i = 0; i < ids.size(); ++i)
    decode_row(view.dtype, view.row(ids[i]), out.row(static_cast<std::int64_t>(i)), view.n_cols);
  return out;
}

std::vector<float> WeightReader::final_norm() const {
  switch (config_.naming) {
    case WeightNaming::Gguf:
      return vector("output_norm.weight", config_.hidden);
    case WeightNaming::Meta:
      return vector("norm.weight", config_.hidden);
    case WeightNaming::HuggingFace:
      break;
  }
  return vector(config_.prefix + "norm.weight", config_.hidden);
}

Matrix WeightReader::output() const {
  if (config_.tied) return matrix(embedding_name(config_), config_.vocab, config_.hidden);
  return matrix(output_name(*store_, config_), config_.vocab, config_.hidden);
}

}  // namespace embstat::transformer
