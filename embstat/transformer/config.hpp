// TransformerConfig — what the forward pass needs to know about a checkpoint, resolved once from
// the tensor store: the family, its dimensions with the family's published defaults applied
// where the source is silent, and how its tensors are named and laid out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "embstat/formats/arch_config.hpp"

namespace embstat {

class TensorStore;

namespace transformer {

// How a checkpoint names its weights.
enum class WeightNaming {
  HuggingFace,  // model.layers.<i>.self_attn.q_proj.weight, ...
  Gguf,         // blk.<i>.attn_q.weight, ... (llama.cpp)
  Meta,         // layers.<i>.attention.wq.weight, ... (Meta's checkpoints, llama2.c)
};

// Which dimensions of a head RoPE rotates together. Both give the same attention: a checkpoint's
// Wq and Wk rows are ordered for one of them, and the pass must use that one.
enum class RopePairs {
  Adjacent,  // (2i, 2i+1): Meta's original layout, llama2.c, and GGUF `llama` (llama.cpp's
             // converter permutes Hugging Face's Wq/Wk back to it)
  Halves,    // (i, i + head_dim/2): Hugging Face transformers' rotate_half
};

struct TransformerConfig {
  std::string family;        // "llama" (mistral is the same computation)
  std::string architecture;  // as the source names it, for messages and reports
  WeightNaming naming = WeightNaming::HuggingFace;
  std::string prefix;  // Hugging Face: what precedes "embed_tokens.weight" ("model.", ...)
  std::int64_t hidden = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, intermediate = 0, vocab = 0;
  double rope_theta = 10000.0;
  std::optional<RopeScaling> rope_scaling;  // "llama3" or "linear"
  RopePairs rope_pairs = RopePairs::Halves;
  double rms_eps = 1e-6;
  bool tied = false;                     // the output matrix is the token embedding
  std::optional<std::int64_t> window;    // sliding-window attention on every layer (mistral v0.1)
  std::vector<float> rope_freq_factors;  // GGUF rope_freqs.weight (llama 3): divides each frequency
};

// Resolves the config of `store`. Error(Unsupported) naming the architecture for a family the
// pass does not compute (and for mixture-of-experts checkpoints), Error(Format) when the
// dimensions are missing, impossible, or contradict the embedding tensor.
TransformerConfig resolve_config(const TensorStore& store);

// The untied output matrix's name in `store`; empty when there is none.
std::string output_name(const TensorStore& store, const TransformerConfig& config);

}  // namespace transformer
}  // namespace embstat
