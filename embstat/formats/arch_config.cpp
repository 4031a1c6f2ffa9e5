#include "embstat/formats/arch_config.hpp"

#include <fmt/format.h>

#include <initializer_list>
#include <utility>

#include "embstat/base/error.hpp"
#include "embstat/formats/gguf.hpp"
#include "embstat/formats/llama2c.hpp"
#include "embstat/formats/support.hpp"

namespace embstat {

namespace {

using json = nlohmann::json;

constexpr std::uint64_t kMaxConfigBytes = 16u << 20;

// Field lookup in text_config first, then the top level; errors name the key as written.
class ConfigReader {
 public:
  ConfigReader(const json& root, const std::string& path) : root_(root), path_(path) {
    if (auto it = root.find("text_config"); it != root.end() && it->is_object()) text_ = &*it;
  }

  std::pair<const json*, std::string> lookup(std::initializer_list<const char*> keys) const {
    for (const json* obj : {text_, &root_}) {
      if (!obj) continue;
      for (const char* key : keys)
        if (auto it = obj->find(key); it != obj->end() && !it->is_null())
          return {&*it, (obj == text_ ? std::string("text_config.") : std::string()) + key};
    }
    return {nullptr, ""};
  }

  std::optional<std::int64_t> integer(std::initializer_list<const char*> keys) const {
    auto [v, key] = lookup(keys);
    if (!v) return std::nullopt;
    if (!v->is_number_integer() || v->get<std::int64_t>() < 0) bad(key, "a non-negative integer", *v);
    return v->get<std::int64_t>();
  }
  std::optional<double> number(std::initializer_list<const char*> keys) const {
    auto [v, key] = lookup(keys);
    if (!v) return std::nullopt;
    if (!v->is_number()) bad(key, "a number", *v);
    return v->get<double>();
  }
  std::optional<bool> boolean(std::initializer_list<const char*> keys) const {
    auto [v, key] = lookup(keys);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) bad(key, "true or false", *v);
    return v->get<bool>();
  }
  std::optional<std::string> string(std::initializer_list<const char*> keys) const {
    auto [v, key] = lookup(keys);
    if (!v) return std::nullopt;
    if (!v->is_string()) bad(key, "a string", *v);
    return v->get<std::string>();
  }

  [[noreturn]] void bad(const std::string& key, const char* what, const json& v) const {
    std::string shown = v.dump();
    if (shown.size() > 40) shown = shown.substr(0, 40) + "...";
    throw_format(path_, 0, fmt::format("{} must be {}, not {}", key, what, shown));
  }

 private:
  const json& root_;
  const json* text_ = nullptr;
  std::string path_;
};

std::optional<RopeScaling> rope_scaling_of(const ConfigReader& r, const std::string& path) {
  auto [v, key] = r.lookup({"rope_scaling"});
  if (!v) return std::nullopt;
  if (!v->is_object()) r.bad(key, "an object", *v);
  const ConfigReader inner(*v, path);
  RopeScaling s;
  s.type = inner.string({"rope_type", "type"}).value_or("");
  s.factor = inner.number({"factor"});
  s.low_freq_factor = inner.number({"low_freq_factor"});
  s.high_freq_factor = inner.number({"high_freq_factor"});
  s.original_max_position_embeddings = inner.integer({"original_max_position_embeddings"});
  return s;
}

}  // namespace

ArchConfig parse_arch_config(std::string_view json_text, const std::string& path) {
  const json root = parse_json(json_text, path);
  if (!root.is_object()) throw_format(path, 0, "config is not a JSON object");
  const ConfigReader r(root, path);
  ArchConfig c;
  if (auto it = root.find("architectures"); it != root.end() && it->is_array() && !it->empty() && (*it)[0].is_string())
    c.architecture = (*it)[0].get<std::string>();
  c.model_type = r.string({"model_type"}).value_or("");
  c.hidden_size = r.integer({"hidden_size", "n_embd", "d_model"});
  c.n_layers = r.integer({"num_hidden_layers", "n_layer", "n_layers"});
  c.n_heads = r.integer({"num_attention_heads", "n_head", "n_heads"});
  c.n_kv_heads = r.integer({"num_key_value_heads", "n_kv_heads"});
  c.head_dim = r.integer({"head_dim"});
  c.intermediate_size = r.integer({"intermediate_size", "n_inner"});
  c.vocab_size = r.integer({"vocab_size", "n_vocab"});
  c.max_position_embeddings = r.integer({"max_position_embeddings", "n_positions"});
  c.rope_theta = r.number({"rope_theta"});
  c.rope_scaling = rope_scaling_of(r, path);
  c.rms_norm_eps = r.number({"rms_norm_eps", "layer_norm_epsilon", "norm_eps"});
  c.tie_word_embeddings = r.boolean({"tie_word_embeddings"});
  c.sliding_window = r.integer({"sliding_window"});
  c.use_sliding_window = r.boolean({"use_sliding_window"});
  c.sliding_window_pattern = r.integer({"sliding_window_pattern"});
  c.rope_local_base_freq = r.number({"rope_local_base_freq"});
  c.query_pre_attn_scalar = r.number({"query_pre_attn_scalar"});
  c.num_experts = r.integer({"num_local_experts", "num_experts"});
  if (auto [v, key] = r.lookup({"layer_types"}); v) {
    if (!v->is_array()) r.bad(key, "an array of strings", *v);
    for (const auto& t : *v) {
      if (!t.is_string()) r.bad(key, "an array of strings", *v);
      c.layer_types.push_back(t.get<std::string>());
    }
  }
  return c;
}

ArchConfig read_arch_config(const std::string& path) {
  return parse_arch_config(read_text_file(path, kMaxConfigBytes), path);
}

ArchConfig arch_config_from_gguf(const GgufFile& file) {
  ArchConfig c;
  c.architecture = std::string(file.get_string("general.architecture").value_or(""));
  c.model_type = c.architecture;
  const std::string a = c.architecture;
  // Per-layer arrays (some architectures vary head counts by layer) are left to the caller.
  auto integer = [&](const std::string& key) -> std::optional<std::int64_t> {
    const GgufKeyValue* kv = file.find(key);
    return kv ? kv->value.as_int() : std::nullopt;
  };
  auto number = [&](const std::string& key) -> std::optional<double> {
    const GgufKeyValue* kv = file.find(key);
    return kv ? kv->value.as_float() : std::nullopt;
  };
  c.hidden_size = integer(a + ".embedding_length");
  c.n_layers = integer(a + ".block_count");
  c.n_heads = integer(a + ".attention.head_count");
  c.n_kv_heads = integer(a + ".attention.head_count_kv");
  c.head_dim = integer(a + ".attention.key_length");
  c.intermediate_size = integer(a + ".feed_forward_length");
  c.vocab_size = integer(a + ".vocab_size");
  if (!c.vocab_size)
    if (const auto* tokens = file.get_string_array("tokenizer.ggml.tokens"))
      c.vocab_size = static_cast<std::int64_t>(tokens->size());
  c.max_position_embeddings = integer(a + ".context_length");
  c.rope_theta = number(a + ".rope.freq_base");
  c.rms_norm_eps = number(a + ".attention.layer_norm_rms_epsilon");
  c.sliding_window = integer(a + ".attention.sliding_window");
  c.num_experts = integer(a + ".expert_count");
  if (auto type = file.get_string(a + ".rope.scaling.type")) {
    RopeScaling s;
    s.type = std::string(*type);
    s.factor = number(a + ".rope.scaling.factor");
    s.original_max_position_embeddings = integer(a + ".rope.scaling.original_context_length");
    c.rope_scaling = s;
  }
  return c;
}

ArchConfig arch_config_from_llama2c(const Llama2cHeader& h) {
  ArchConfig c;
  c.architecture = "llama2.c";
  c.model_type = "llama";
  c.hidden_size = h.dim;
  c.n_layers = h.n_layers;
  c.n_heads = h.n_heads;
  c.n_kv_heads = h.n_kv_heads;
  c.head_dim = h.dim / h.n_heads;
  c.intermediate_size = h.hidden_dim;
  c.vocab_size = h.vocab_size;
  c.max_position_embeddings = h.seq_len;
  c.rope_theta = 10000.0;  // run.c: 1 / 10000^(i / head_size)
  c.rms_norm_eps = 1e-5;   // run.c: rmsnorm adds 1e-5f
  c.tie_word_embeddings = h.shared_classifier;
  return c;
}

}  // namespace embstat
