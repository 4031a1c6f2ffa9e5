// The model stores of local apps, searched without any network access.
//
// Ollama ($OLLAMA_MODELS, else ~/.ollama/models and the Linux service's
// /usr/share/ollama/.ollama/models):
//   <root>/manifests/<registry>/<namespace>/<model>/<tag>   JSON: {"layers": [{"mediaType":
//                                                            "application/vnd.ollama.image.model",
//                                                            "digest": "sha256:<64 hex>"}, ...]}
//   <root>/blobs/sha256-<64 hex>                            the content; the model layer is a GGUF
// A name is [registry/][namespace/]model[:tag]: registry "registry.ollama.ai", namespace
// "library" and tag "latest" when omitted. As a MODEL argument it is written "ollama:NAME".
//
// LM Studio ($LMSTUDIO_MODELS, else ~/.lmstudio/models and the older ~/.cache/lm-studio/models):
//   <root>/<publisher>/<model>/*.gguf
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace embstat {

inline constexpr std::string_view kOllamaPrefix = "ollama:";
inline constexpr std::string_view kOllamaModelMediaType = "application/vnd.ollama.image.model";

std::vector<std::string> ollama_models_dirs();
std::vector<std::string> lmstudio_models_dirs();

// "ollama:..." arguments.
bool is_ollama_spec(std::string_view spec);

struct OllamaModel {
  std::string name;      // as Ollama shows it: "qwen3:0.6b", "user/model:tag", "hf.co/u/m:Q4_K_M"
  std::string manifest;  // path of the manifest file
  std::string blob;      // path of the model layer's blob
  std::uint64_t blob_bytes = 0;
};

// Resolves "ollama:NAME" in the first store holding its manifest. Throws Error: Usage for a
// malformed name, Io when no store has it (naming the stores searched) or the blob is missing,
// Format for a manifest that is not JSON or names no model layer.
OllamaModel resolve_ollama(std::string_view spec);

// One model found in a store, or one entry that could not be made sense of.
struct FoundModel {
  std::string spec;     // a MODEL argument that opens it (or, with a problem, what was found)
  std::string store;    // "huggingface", "llama.cpp", "ollama", "lmstudio"
  std::string problem;  // empty, or one line saying why it cannot be opened
};

// Every Ollama manifest of every store (a manifest that is not JSON, names no model layer or a
// missing blob is listed with its problem), sorted. Each store root looked at is appended to
// `searched_dirs`.
std::vector<FoundModel> list_ollama_models(std::vector<std::string>* searched_dirs);
// Every <publisher>/<model>/*.gguf of every LM Studio store (multimodal projectors "mmproj*"
// and unfinished downloads skipped), sorted.
std::vector<FoundModel> list_lmstudio_models(std::vector<std::string>* searched_dirs);

}  // namespace embstat
