// Which tensor of a checkpoint is the token embedding, and which is the unembedding.
//
// Every reader (safetensors, GGUF, ...) lists its tensors as TensorCandidates and calls
// pick_embedding_tensor(); the choice rules live here once:
//   1. --tensor NAME wins (it must exist and be 1-D or 2-D);
//   2. else the first name of kInputEmbeddingNames present (a documented list, most specific
//      first), then any name ending in one of kInputEmbeddingSuffixes, preferring the one whose
//      shape matches config vocab_size x hidden_size;
//   3. else, when the file holds exactly one 2-D tensor, that one (with a note).
// For --matrix output the unembedding is looked up in kOutputEmbeddingNames; when the model is
// tied (config tie_word_embeddings, or no output tensor at all) the input embedding is used and
// a note says so.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "embstat/formats/model.hpp"

namespace embstat {

// Input embedding names, most specific first (HF transformers, llama.cpp, llama.c/Meta).
extern const std::vector<std::string_view> kInputEmbeddingNames;
// Suffixes that also mark an input embedding when no exact name is present
// ("model.text_model.embed_tokens.weight", "transformer.wte.weight" under another prefix).
extern const std::vector<std::string_view> kInputEmbeddingSuffixes;
// Output (unembedding) names: lm_head.weight, output.weight, embed_out.weight, ...
extern const std::vector<std::string_view> kOutputEmbeddingNames;

struct TensorCandidate {
  std::string name;
  // Row-major order, outermost first: an embedding is {n_rows = vocab, n_cols = dim}.
  // GGUF callers pass ne reversed. Empty when not known yet (a sharded index lists only names).
  std::vector<std::int64_t> shape;
};

struct TensorPick {
  // The tensor to read; none for vocabulary-only files. "" is a name like any other (GGUF allows it).
  std::optional<std::string> name;
  std::string output_name;         // the untied output tensor, if present
  bool tied = false;               // the unembedding is the input embedding
  bool has_output_matrix = false;  // an untied output tensor exists
  std::vector<std::string> notes;  // what the user should know about the choice
};

// Chooses the tensor to read. `path` names the file or folder in errors. Throws
// Error(Usage) when --tensor names a missing tensor, Error(Format) when nothing looks like an
// embedding and options.require_matrix (the message lists the 2-D tensors present).
TensorPick pick_embedding_tensor(std::span<const TensorCandidate> tensors, const OpenOptions& options,
                                 const ModelConfig& config, const std::string& path);

// Checks a detected tensor's shape against config.json. Rows != vocab_size: the weights and
// their config disagree, Error(Format) at `path` (vocab_size is the embedding's row count in
// every Hugging Face model). Columns != hidden_size: a note, since some models (ALBERT) embed in
// fewer dimensions than their hidden size. Empty when consistent or unknown.
std::vector<std::string> shape_notes(const std::string& name, std::span<const std::int64_t> shape,
                                     const ModelConfig& config, const std::string& path);

// "[151936, 1024]"
std::string shape_string(std::span<const std::int64_t> shape);

}  // namespace embstat
