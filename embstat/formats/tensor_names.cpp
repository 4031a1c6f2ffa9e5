#include "embstat/formats/tensor_names.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "embstat/base/error.hpp"

namespace embstat {

const std::vector<std::string_view> kInputEmbeddingNames = {
    "model.embed_tokens.weight",                     // Llama, Qwen, Mistral, Gemma, Phi-3, ...
    "model.language_model.embed_tokens.weight",      // gemma-3 / Qwen2.5-VL (transformers >= 4.52)
    "language_model.model.embed_tokens.weight",      // gemma-3 multimodal, LLaVA
    "model.text_model.embed_tokens.weight",          // Idefics3 / SmolVLM
    "transformer.wte.weight",                        // GPT-2 (with prefix), GPT-J, Falcon, Qwen-1
    "wte.weight",                                    // GPT-2 checkpoints as published
    "transformer.embd.wte.weight",                   // Phi-1 / Phi-1.5
    "gpt_neox.embed_in.weight",                      // GPT-NeoX, Pythia
    "model.decoder.embed_tokens.weight",             // OPT
    "transformer.word_embeddings.weight",            // BLOOM (with prefix)
    "word_embeddings.weight",                        // BLOOM as published
    "transformer.embedding.word_embeddings.weight",  // ChatGLM
    "embeddings.word_embeddings.weight",             // BERT-style encoders
    "bert.embeddings.word_embeddings.weight",        // BERT with task head
    "model.embeddings.tok_embeddings.weight",        // ModernBERT
    "backbone.embeddings.weight",                    // Mamba
    "backbone.embedding.weight",                     // Mamba (transformers)
    "shared.weight",                                 // T5 (encoder and decoder share it)
    "tok_embeddings.weight",                         // Meta consolidated checkpoints, llama2.c
    "token_embd.weight",                             // GGUF (llama.cpp)
};

const std::vector<std::string_view> kInputEmbeddingSuffixes = {
    ".embed_tokens.weight",   ".wte.weight",        ".word_embeddings.weight", ".embed_in.weight",
    ".tok_embeddings.weight", ".token_embd.weight",
};

const std::vector<std::string_view> kOutputEmbeddingNames = {
    "lm_head.weight",                 // HF causal LMs
    "language_model.lm_head.weight",  // gemma-3 multimodal, LLaVA
    "model.lm_head.weight",
    "output.weight",     // GGUF, Meta consolidated, llama2.c
    "embed_out.weight",  // GPT-NeoX, Pythia
};

namespace {

constexpr std::string_view kOutputSuffix = ".lm_head.weight";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Could be a matrix of row vectors: 2-D, or shape unknown (listed in an index only).
bool maybe_matrix(const TensorCandidate& t) {
  return t.shape.empty() || t.shape.size() == 2;
}

bool matches_config(const TensorCandidate& t, const ModelConfig& config) {
  if (t.shape.size() != 2) return false;
  if (!config.vocab_size && !config.hidden_size) return false;
  if (config.vocab_size && t.shape[0] != *config.vocab_size) return false;
  if (config.hidden_size && t.shape[1] != *config.hidden_size) return false;
  return true;
}

const TensorCandidate* find_exact(std::span<const TensorCandidate> tensors, std::string_view name) {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

// Matches in priority order: the listed names in list order, then suffix matches in file order.
std::vector<const TensorCandidate*> find_matches(std::span<const TensorCandidate> tensors,
                                                 const std::vector<std::string_view>& names,
                                                 const std::vector<std::string_view>& suffixes) {
  std::vector<const TensorCandidate*> out;
  for (auto name : names)
    if (const auto* t = find_exact(tensors, name); t && maybe_matrix(*t)) out.push_back(t);
  for (const auto& t : tensors) {
    if (!maybe_matrix(t) || std::find(out.begin(), out.end(), &t) != out.end()) continue;
    for (auto suffix : suffixes)
      if (ends_with(t.name, suffix)) {
        out.push_back(&t);
        break;
      }
  }
  return out;
}

const TensorCandidate* best_match(const std::vector<const TensorCandidate*>& matches, const ModelConfig& config) {
  if (matches.empty()) return nullptr;
  for (const auto* t : matches)
    if (matches_config(*t, config)) return t;
  return matches.front();
}

std::string list_matrices(std::span<const TensorCandidate> tensors) {
  std::string out;
  int listed = 0;
  int more = 0;
  for (const auto& t : tensors) {
    if (!maybe_matrix(t)) continue;
    if (listed == 8) {
      ++more;
      continue;
    }
    out += fmt::format("{}{} {}", listed ? ", " : "", t.name, t.shape.empty() ? "" : shape_string(t.shape));
    ++listed;
  }
  if (more) out += fmt::format(", and {} more", more);
  return listed ? out : "none";
}

// A tensor named as a token embedding but not 2-D (a 1-D vector of 151,936 values, say):
// worth naming when nothing else is found, rather than "no token embedding tensor found".
const TensorCandidate* misshapen_embedding(std::span<const TensorCandidate> tensors) {
  const auto named = [](const TensorCandidate& t) {
    if (std::find(kInputEmbeddingNames.begin(), kInputEmbeddingNames.end(), t.name) != kInputEmbeddingNames.end())
      return true;
    return std::any_of(kInputEmbeddingSuffixes.begin(), kInputEmbeddingSuffixes.end(),
                       [&](std::string_view suffix) { return ends_with(t.name, suffix); });
  };
  for (const auto& t : tensors)
    if (!maybe_matrix(t) && named(t)) return &t;
  return nullptr;
}

}  // namespace

std::string shape_string(std::span<const std::int64_t> shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::vector<std::string> shape_notes(const std::string& name, std::span<const std::int64_t> shape,
                                     const ModelConfig& config, const std::string& path) {
  std::vector<std::string> notes;
  if (shape.size() != 2) return notes;
  if (config.vocab_size && shape[0] != *config.vocab_size)
    throw Error(ErrorKind::Format, path,
                fmt::format("'{}' has {} rows but config.json says vocab_size {}: the weights and their config "
                            "disagree (--tensor {} reads the tensor anyway)",
                            name, shape[0], *config.vocab_size, name));
  if (config.hidden_size && shape[1] != *config.hidden_size)
    notes.push_back(
        fmt::format("'{}' has {} columns but config.json says hidden_size {}", name, shape[1], *config.hidden_size));
  return notes;
}

TensorPick pick_embedding_tensor(std::span<const TensorCandidate> tensors, const OpenOptions& options,
                                 const ModelConfig& config, const std::string& path) {
  TensorPick pick;

  const auto inputs = find_matches(tensors, kInputEmbeddingNames, kInputEmbeddingSuffixes);
  const TensorCandidate* input = best_match(inputs, config);
  bool input_is_only_matrix = false;
  if (!input) {
    // A file holding a single 2-D tensor (an exported embedding table, say) is that table.
    const TensorCandidate* only = nullptr;
    int n_matrices = 0;
    for (const auto& t : tensors)
      if (t.shape.size() == 2) {
        only = &t;
        ++n_matrices;
      }
    if (n_matrices == 1) {
      input = only;
      input_is_only_matrix = true;
    }
  }
  const auto outputs = find_matches(tensors, kOutputEmbeddingNames, {kOutputSuffix});
  const TensorCandidate* output = nullptr;
  for (const auto* t : outputs)
    if (t != input) {
      output = t;
      break;
    }

  // Tied when config says so; without a config, when there is an input embedding and no
  // separate output tensor (a file of other tensors is neither tied nor untied).
  pick.tied = config.tie_word_embeddings.value_or(input != nullptr && output == nullptr);
  pick.has_output_matrix = output != nullptr && !pick.tied;
  if (output) pick.output_name = output->name;

  if (!options.tensor.empty()) {
    const auto* t = find_exact(tensors, options.tensor);
    if (!t)
      throw Error(ErrorKind::Usage, path,
                  fmt::format("no tensor named '{}' (2-D tensors: {})", options.tensor, list_matrices(tensors)));
    if (t->shape.size() > 2)
      throw Error(ErrorKind::Unsupported, path,
                  fmt::format("tensor '{}' has shape {}: only 1-D and 2-D tensors can be read as rows", t->name,
                              shape_string(t->shape)));
    pick.name = t->name;
    if (options.matrix == MatrixChoice::Output) pick.notes.push_back("--tensor given: --matrix output ignored");
    return pick;
  }

  if (input_is_only_matrix)
    pick.notes.push_back(fmt::format("no known embedding name; using the only 2-D tensor '{}'", input->name));
  if (options.matrix == MatrixChoice::Input) {
    if (!input) {
      if (!options.require_matrix) return pick;
      if (const TensorCandidate* t = misshapen_embedding(tensors))
        throw Error(ErrorKind::Format, path,
                    fmt::format("tensor '{}' is {}-D {}, not a matrix of token rows (vocab × dim); pick a 2-D "
                                "tensor with --tensor NAME (2-D tensors: {})",
                                t->name, t->shape.size(), shape_string(t->shape), list_matrices(tensors)));
      throw Error(ErrorKind::Format, path,
                  fmt::format("no token embedding tensor found (known names such as {}); pick one with "
                              "--tensor NAME (2-D tensors: {})",
                              kInputEmbeddingNames.front(), list_matrices(tensors)));
    }
    pick.name = input->name;
    if (inputs.size() > 1)
      pick.notes.push_back(
          fmt::format("{} tensors look like token embeddings; using '{}'", inputs.size(), input->name));
    return pick;
  }

  // --matrix output
  if (pick.has_output_matrix) {
    pick.name = output->name;
    return pick;
  }
  if (!input) {
    if (!options.require_matrix) return pick;
    throw Error(ErrorKind::Format, path,
                fmt::format("no output embedding (lm_head.weight, output.weight, ...) nor input embedding found; "
                            "pick one with --tensor NAME (2-D tensors: {})",
                            list_matrices(tensors)));
  }
  if (!pick.tied) {
    throw Error(ErrorKind::Format, path,
                fmt::format("config.json says tie_word_embeddings is false, but no output tensor ({}, ...) is "
                            "present; pick one with --tensor NAME",
                            kOutputEmbeddingNames.front()));
  }
  pick.name = input->name;
  if (config.tie_word_embeddings && output)
    pick.notes.push_back(
        fmt::format("tied (config tie_word_embeddings): the output matrix is the input embedding "
                    "'{}' (the file also stores '{}')",
                    input->name, output->name));
  else if (config.tie_word_embeddings)
    pick.notes.push_back(
        fmt::format("tied (config tie_word_embeddings): the output matrix is the input embedding '{}'", input->name));
  else
    pick.notes.push_back(
        fmt::format("tied (no output tensor in the file): the output matrix is the input embedding '{}'", input->name));
  return pick;
}

}  // namespace embstat
