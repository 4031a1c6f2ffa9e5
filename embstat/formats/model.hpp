// Model — what a MODEL argument resolves to: the files, the embedding matrix and its vocabulary.
//
// open_model() accepts a file (.safetensors, .gguf, llama2.c .bin, .npy), a folder (a
// safetensors checkpoint, sharded or not, or a Hugging Face snapshot) or a hub id such as
// "Qwen/Qwen3-0.6B" looked up in the local cache (never the network). Only the chosen tensor's
// bytes are touched: the matrix is a view into a read-only mapping.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "embstat/matrix/matrix.hpp"
#include "embstat/vocab/vocabulary.hpp"

namespace embstat {

enum class MatrixChoice { Input, Output };  // the input embedding or the unembedding (lm_head)

struct OpenOptions {
  std::string tensor;  // --tensor NAME; empty = detect
  MatrixChoice matrix = MatrixChoice::Input;
  bool require_matrix = true;  // false: a vocabulary-only file is fine (`vocab`)
};

// config.json fields that matter here (top level or nested text_config).
struct ModelConfig {
  std::optional<std::int64_t> vocab_size;
  std::optional<std::int64_t> hidden_size;
  std::optional<bool> tie_word_embeddings;
  std::string architecture;  // architectures[0] or model_type, if any
};

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<std::int64_t> shape;  // as the file states it (safetensors order / GGUF ne order)
  std::string file;                 // the file holding its bytes
  std::uint64_t file_offset = 0;    // absolute offset of its first byte in `file`
  std::uint64_t n_bytes = 0;
};

struct Model {
  std::string spec;                  // the argument as given
  std::string name;                  // short display name ("Qwen/Qwen3-0.6B", "stories260K.gguf")
  std::string format;                // "safetensors", "gguf", "llama2c", "npy"
  std::vector<std::string> files;    // every file read: weights, index, config, tokenizer
  std::optional<TensorInfo> tensor;  // the matrix's tensor; empty for vocabulary-only files
  MatrixView matrix;                 // rows of that tensor, still encoded
  bool tied = false;                 // the output matrix is the input embedding
  bool has_output_matrix = false;    // an untied output matrix exists in the files
  std::vector<std::string> notes;    // things the user should know ("tied: using the input ...")
  ModelConfig config;
  Vocabulary vocab;

  // Rows that have no token (Qwen3: 151,936 rows, 151,669 tokens). 0 without a vocabulary.
  std::int64_t padding_rows() const {
    if (vocab.empty() || static_cast<std::int64_t>(vocab.size()) >= matrix.n_rows) return 0;
    return matrix.n_rows - static_cast<std::int64_t>(vocab.size());
  }
};

// Throws Error (Io, Format, Unsupported, Usage) with the file and the reason.
Model open_model(const std::string& spec, const OpenOptions& options);

}  // namespace embstat
