#include "embstat/transformer/config.hpp"

#include <fmt/format.h>

#include <array>
#include <string_view>

#include "embstat/base/error.hpp"
#include "embstat/formats/tensor_names.hpp"
#include "embstat/formats/tensor_store.hpp"

namespace embstat::transformer {

namespace {

constexpr std::string_view kSupported = "supported: llama and mistral (Hugging Face, GGUF, llama2.c)";

// Families whose MLP is a mixture of experts: refused by name.
constexpr std::array<std::string_view, 8> kMixtureOfExperts = {"mixtral", "qwen2_moe",   "qwen3_moe",   "gpt-oss",
                                                               "gpt_oss", "deepseek_v2", "deepseek_v3", "olmoe"};

std::string family_of(const ArchConfig& c) {
  if (!c.model_type.empty()) return c.model_type;
  if (c.architecture == "LlamaForCausalLM") return "llama";
  if (c.architecture == "MistralForCausalLM") return "mistral";
  return c.architecture;
}

std::int64_t positive(std::optional<std::int64_t> v, std::string_view what, const std::string& path) {
  if (!v) throw_format(path, 0, fmt::format("the config does not give {}", what));
  if (*v <= 0) throw_format(path, 0, fmt::format("{} must be positive, not {}", what, *v));
  return *v;
}

// The token embedding's name for each naming, and the prefix Hugging Face checkpoints put
// before it (multimodal checkpoints nest the language model).
const StoredTensor* find_embedding(const TensorStore& store, WeightNaming naming, std::string& prefix) {
  if (naming == WeightNaming::Gguf) return store.find("token_embd.weight");
  if (naming == WeightNaming::Meta) return store.find("tok_embeddings.weight");
  for (const auto& t : store.tensors())
    if (t.name.ends_with("embed_tokens.weight") && t.name.find("vision") == std::string::npos) {
      prefix = t.name.substr(0, t.name.size() - std::string_view("embed_tokens.weight").size());
      return &t;
    }
  return nullptr;
}

}  // namespace

std::string output_name(const TensorStore& store, const TransformerConfig& config) {
  std::vector<std::string> names;
  if (config.naming == WeightNaming::HuggingFace) {
    names.emplace_back("lm_head.weight");
    // A nested language model: "language_model.model." -> "language_model.lm_head.weight".
    if (config.prefix.ends_with("model."))
      names.push_back(config.prefix.substr(0, config.prefix.size() - 6) + "lm_head.weight");
  } else {
    names.emplace_back("output.weight");
  }
  for (const auto& n : names)
    if (store.find(n)) return n;
  return "";
}

TransformerConfig resolve_config(const TensorStore& store) {
  const ArchConfig& a = store.config();
  const std::string& path = store.path();
  TransformerConfig c;
  c.architecture = a.architecture.empty() ? a.model_type : a.architecture;
  c.family = family_of(a);
  for (auto moe : kMixtureOfExperts)
    if (c.family == moe || (a.num_experts && *a.num_experts > 1))
      throw Error(ErrorKind::Unsupported, path,
                  fmt::format("'{}' is a mixture-of-experts architecture, which the forward pass does not compute ({})",
                              c.architecture, kSupported));
  if (c.family != "llama" && c.family != "mistral")
    throw Error(ErrorKind::Unsupported, path,
                fmt::format("architecture '{}' is not supported by the forward pass ({})",
                            c.architecture.empty() ? std::string("unknown") : c.architecture, kSupported));

  if (store.format() == "gguf") {
    c.naming = WeightNaming::Gguf;
    c.rope_pairs = RopePairs::Adjacent;
  } else if (store.format() == "llama2c") {
    c.naming = WeightNaming::Meta;
    c.rope_pairs = RopePairs::Adjacent;
  } else {
    c.naming = WeightNaming::HuggingFace;
    c.rope_pairs = RopePairs::Halves;
  }
  const StoredTensor* embedding = find_embedding(store, c.naming, c.prefix);
  if (!embedding) throw_format(path, 0, "missing tensor: no token embedding (embed_tokens / token_embd)");
  if (embedding->shape.size() != 2)
    throw_format(path, 0,
                 fmt::format("tensor '{}' has shape {}, not [vocabulary, hidden]", embedding->name,
                             shape_string(embedding->shape)));

  c.hidden = positive(a.hidden_size ? a.hidden_size : embedding->shape[1], "hidden_size", path);
  c.vocab = positive(embedding->shape[0], "the vocabulary size", path);
  c.n_layers = positive(a.n_layers, "num_hidden_layers", path);
  c.n_heads = positive(a.n_heads, "num_attention_heads", path);
  c.n_kv_heads = positive(a.n_kv_heads ? a.n_kv_heads : a.n_heads, "num_key_value_heads", path);
  if (c.n_heads % c.n_kv_heads != 0)
    throw_format(path, 0,
                 fmt::format("{} attention heads cannot share {} key-value heads evenly", c.n_heads, c.n_kv_heads));
  if (!a.head_dim && c.hidden % c.n_heads != 0)
    throw_format(path, 0, fmt::format("hidden size {} is not a multiple of {} heads", c.hidden, c.n_heads));
  c.head_dim = positive(a.head_dim ? a.head_dim : c.hidden / c.n_heads, "head_dim", path);
  if (c.head_dim % 2 != 0) throw_format(path, 0, fmt::format("head_dim {} is odd: RoPE rotates pairs", c.head_dim));
  c.intermediate = positive(a.intermediate_size, "intermediate_size", path);
  if (embedding->shape[1] != c.hidden)
    throw_format(path, 0,
                 fmt::format("tensor '{}' has shape {}, but the config says hidden size {}", embedding->name,
                             shape_string(embedding->shape), c.hidden));

  // Defaults: LlamaConfig / MistralConfig (rope_theta 10000, rms_norm_eps 1e-6; mistral's
  // sliding_window 4096), llama.cpp (freq_base 10000, epsilon from the file).
  c.rope_theta = a.rope_theta.value_or(10000.0);
  c.rms_eps = a.rms_norm_eps.value_or(c.naming == WeightNaming::Gguf ? 1e-5 : 1e-6);
  if (c.rope_theta <= 0) throw_format(path, 0, "rope_theta must be positive");
  if (a.rope_scaling && a.rope_scaling->type != "default") {
    const RopeScaling& s = *a.rope_scaling;
    const bool llama3 = s.type == "llama3" && s.factor && s.low_freq_factor && s.high_freq_factor &&
                        s.original_max_position_embeddings && *s.high_freq_factor != *s.low_freq_factor;
    const bool linear = s.type == "linear" && s.factor && *s.factor > 0;
    if (!llama3 && !linear)
      throw Error(
          ErrorKind::Unsupported, path,
          fmt::format("rope_scaling '{}' is not supported (llama3 and linear are, with all their fields)", s.type));
    c.rope_scaling = s;
  }
  if (c.family == "mistral" && store.format() != "gguf") c.window = a.sliding_window;
  if (c.window && *c.window <= 0) throw_format(path, 0, "sliding_window must be positive");

  c.tied = a.tie_word_embeddings.value_or(false) || output_name(store, c).empty();
  if (c.naming == WeightNaming::Gguf)
    if (const StoredTensor* f = store.find("rope_freqs.weight")) {
      const Matrix factors = decode_to_f32(store.matrix(*f));
      if (factors.n_rows() * factors.n_cols() != c.head_dim / 2)
        throw_format(path, 0,
                     fmt::format("tensor 'rope_freqs.weight' has shape {}, head_dim / 2 is {}", shape_string(f->shape),
                                 c.head_dim / 2));
      c.rope_freq_factors.assign(factors.data(), factors.data() + c.head_dim / 2);
    }
  return c;
}

}  // namespace embstat::transformer
