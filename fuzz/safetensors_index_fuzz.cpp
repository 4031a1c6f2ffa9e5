// Fuzz target for the two small JSON files beside a safetensors checkpoint, both parsed from
// the same input: model.safetensors.index.json (parse_safetensors_index: the weight_map, shard
// names that must stay inside the folder) and config.json (parse_model_config: vocab_size,
// hidden_size, tie_word_embeddings, nested text_config). Every shard name accepted is checked
// here against the folder-escape rules the parser promises; a violation aborts.
// Any embstat::Error is an expected rejection; anything else is a bug.
// Seeds: fuzz/corpus/safetensors_index/ (fuzz/make_corpus.py).
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "embstat/base/error.hpp"
#include "embstat/formats/safetensors.hpp"
#include "fuzz/touch_model.hpp"

namespace {

// The parser's promise: no absolute path, no ".." component, no NUL.
bool escapes_folder(const std::string& f) {
  if (f.empty() || f.front() == '/' || f.find('\0') != std::string::npos) return true;
  std::size_t start = 0;
  while (start <= f.size()) {
    const std::size_t end = std::min(f.find('/', start), f.size());
    if (std::string_view(f).substr(start, end - start) == "..") return true;
    start = end + 1;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  std::uint64_t sink = 0;
  try {
    const auto weight_map = embstat::parse_safetensors_index(json, "fuzz/model.safetensors.index.json");
    for (const auto& [name, shard] : weight_map) {
      if (escapes_folder(shard)) std::abort();
      sink += name.size() + shard.size();
    }
  } catch (const embstat::Error& e) {
    embstat_fuzz::check_printable(e.what());
  }
  try {
    const embstat::ModelConfig config = embstat::parse_model_config(json, "fuzz/config.json");
    sink += static_cast<std::uint64_t>(config.vocab_size.value_or(0) + config.hidden_size.value_or(0));
    sink += config.tie_word_embeddings.value_or(false) + config.architecture.size();
  } catch (const embstat::Error& e) {
    embstat_fuzz::check_printable(e.what());
  }
  volatile std::uint64_t keep = sink;
  (void)keep;
  return 0;
}
