// ArchConfig — a checkpoint's architecture hyper-parameters, read once from wherever the format
// keeps them: config.json (Hugging Face folders), the GGUF `<arch>.*` metadata, or the llama2.c
// header. Fields a source does not state stay empty; the transformer applies the published
// defaults of each family, so "absent" and "stated" remain distinguishable here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace embstat {

struct GgufFile;
struct Llama2cHeader;

// rope_scaling of config.json (GGUF: rope.scaling.*).
struct RopeScaling {
  std::string type;  // "llama3", "linear", "yarn", ... as the source spells it
  std::optional<double> factor;
  std::optional<double> low_freq_factor;   // llama3
  std::optional<double> high_freq_factor;  // llama3
  std::optional<std::int64_t> original_max_position_embeddings;
};

struct ArchConfig {
  std::string architecture;  // architectures[0] ("LlamaForCausalLM"), GGUF general.architecture, "llama2.c"
  std::string model_type;    // the family: "llama", "qwen3", "gemma3_text", ...; GGUF: the architecture
  std::optional<std::int64_t> hidden_size;
  std::optional<std::int64_t> n_layers;
  std::optional<std::int64_t> n_heads;
  std::optional<std::int64_t> n_kv_heads;
  std::optional<std::int64_t> head_dim;
  std::optional<std::int64_t> intermediate_size;
  std::optional<std::int64_t> vocab_size;
  std::optional<std::int64_t> max_position_embeddings;
  std::optional<double> rope_theta;
  std::optional<RopeScaling> rope_scaling;
  std::optional<double> rms_norm_eps;
  std::optional<bool> tie_word_embeddings;
  // Sliding-window attention: the window, whether it is used (qwen2's use_sliding_window), and
  // which layers use it (layer_types, or a pattern of every n-th layer global).
  std::optional<std::int64_t> sliding_window;
  std::optional<bool> use_sliding_window;
  std::optional<std::int64_t> sliding_window_pattern;
  std::vector<std::string> layer_types;  // "sliding_attention" / "full_attention" per layer
  std::optional<double> rope_local_base_freq;
  std::optional<double> query_pre_attn_scalar;
  std::optional<std::int64_t> num_experts;  // mixture of experts (num_local_experts, num_experts)
};

// config.json: the nested text_config (multimodal checkpoints) wins over the top level for every
// field but `architecture`. Throws Error(Format) on bad JSON or a field of the wrong type.
ArchConfig parse_arch_config(std::string_view json_text, const std::string& path);
ArchConfig read_arch_config(const std::string& path);

// general.architecture and the `<arch>.*` keys llama.cpp writes (embedding_length, block_count,
// attention.head_count, ..., rope.freq_base, attention.layer_norm_rms_epsilon).
ArchConfig arch_config_from_gguf(const GgufFile& file);

// The llama2.c header: dimensions only (llama2.c's run.c fixes RoPE base 10000 and RMS epsilon
// 1e-5, which are filled in as the source states them in code).
ArchConfig arch_config_from_llama2c(const Llama2cHeader& header);

}  // namespace embstat
