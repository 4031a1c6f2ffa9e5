// safetensors — Hugging Face's tensor file format, single files and sharded folders.
//
// Byte layout of one file:
//   [0, 8)          u64 little-endian N: length of the JSON header
//   [8, 8 + N)      UTF-8 JSON object: {"__metadata__": {str: str}?,
//                     "<tensor>": {"dtype": "BF16", "shape": [151936, 1024],
//                                  "data_offsets": [begin, end]}, ...}
//   [8 + N, EOF)    the data section; offsets are relative to its start
// What is checked (as safetensors' own tensor.rs does): N <= 100 MB and 8 + N <= file size;
// valid JSON object; known dtype; shape and offsets are non-negative integers; tensors sorted
// by offset are contiguous from 0 (no gap, no overlap); end - begin == elements x dtype size
// (products overflow-checked); the last end is exactly the end of the file.
//
// A sharded checkpoint is a folder with model.safetensors.index.json mapping tensor names to
// shard files ({"weight_map": {"model.embed_tokens.weight": "model-00001-of-00004.safetensors"}});
// only the shard holding the chosen tensor is opened.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "embstat/base/dtype.hpp"
#include "embstat/formats/model.hpp"

namespace embstat {

inline constexpr std::uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;  // as safetensors' tensor.rs

struct SafetensorsTensor {
  std::string name;
  std::string dtype_name;      // as the header spells it ("BF16", "F8_E8M0", ...)
  std::optional<DType> dtype;  // nullopt for valid dtypes embstat cannot decode (F4, C64, ...)
  std::vector<std::int64_t> shape;
  std::uint64_t begin = 0;  // [begin, end): relative to SafetensorsHeader::data_offset
  std::uint64_t end = 0;
};

struct SafetensorsHeader {
  std::uint64_t data_offset = 0;                // file offset of the data section (8 + N)
  std::vector<SafetensorsTensor> tensors;       // sorted by begin offset
  std::map<std::string, std::string> metadata;  // "__metadata__"

  const SafetensorsTensor* find(std::string_view name) const;
};

// Parses and validates the header of a whole safetensors file held in `file_bytes` (an mmap or a
// test buffer). Throws Error(Format) naming `path` and the offset of the failing field.
SafetensorsHeader parse_safetensors_header(std::span<const std::uint8_t> file_bytes, const std::string& path);

// config.json: vocab_size (n_vocab), hidden_size (n_embd, d_model), tie_word_embeddings,
// architectures[0] / model_type, each under "text_config" (gemma-3 and other multimodal
// checkpoints: it describes the language model owning the embedding, so it wins) or at the top
// level. Throws Error(Format) on bad JSON or a field of the wrong type (null = absent).
ModelConfig parse_model_config(std::string_view json_text, const std::string& path);
ModelConfig read_model_config(const std::string& path);

// model.safetensors.index.json: tensor name -> shard file name (relative to the folder; names
// with ".." or absolute paths are rejected).
std::map<std::string, std::string> parse_safetensors_index(std::string_view json_text, const std::string& path);

// A single .safetensors file. config.json and tokenizer.json beside it are read when present.
Model open_safetensors_file(const std::string& path, const OpenOptions& options);

// A folder holding model.safetensors.index.json, or one or more *.safetensors files.
// Returns nullopt when the folder holds no safetensors file at all.
std::optional<Model> open_safetensors_folder(const std::string& folder, const OpenOptions& options);

}  // namespace embstat
