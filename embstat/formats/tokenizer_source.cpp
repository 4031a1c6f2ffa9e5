// MODEL -> tokenizer file -> Encoder (see tokenizer_source.hpp).
#include "embstat/formats/tokenizer_source.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "embstat/base/error.hpp"
#include "embstat/formats/hf_cache.hpp"
#include "embstat/vocab/loaders.hpp"

namespace embstat {

namespace fs = std::filesystem;

namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

TokenizerSource open_tokenizer_json_file(const fs::path& path, std::string name) {
  TokenizerSource t;
  t.name = std::move(name);
  t.file = path.string();
  const fs::path config = path.parent_path() / "tokenizer_config.json";
  t.encoder = load_hf_encoder(t.file, is_file(config) ? config.string() : std::string());
  t.vocab = load_tokenizer_json(t.file);
  return t;
}

TokenizerSource open_sentencepiece_file(const fs::path& path, std::string name) {
  TokenizerSource t;
  t.name = std::move(name);
  t.file = path.string();
  t.encoder = load_sentencepiece_encoder(t.file);
  t.vocab = load_sentencepiece_vocabulary(t.file);
  return t;
}

TokenizerSource open_folder(const fs::path& folder, const std::string& name) {
  if (is_file(folder / "tokenizer.json")) return open_tokenizer_json_file(folder / "tokenizer.json", name);
  if (is_file(folder / "tokenizer.model")) return open_sentencepiece_file(folder / "tokenizer.model", name);
  throw Error(ErrorKind::Io, folder.string(), "no tokenizer.json or tokenizer.model here");
}

}  // namespace

TokenizerSource open_tokenizer(const std::string& spec) {
  if (spec.empty()) throw_usage("empty MODEL argument");
  std::error_code ec;
  fs::path path(spec);
  std::string name = path.filename().string();
  if (!fs::exists(path, ec)) {
    if (!looks_like_hub_id(spec)) throw_io(spec, "no such file or folder");
    auto snap = resolve_hub_id(spec);
    if (!snap) throw_io(spec, "no such file or folder, and not in the local Hugging Face cache");
    return open_folder(snap->folder, snap->repo_id);
  }
  if (fs::is_directory(path, ec)) {
    if (auto snap = resolve_repo_folder(spec)) return open_folder(snap->folder, snap->repo_id);
    return open_folder(path, name.empty() ? spec : name);
  }
  const std::string ext = path.extension().string();
  if (ext == ".json") return open_tokenizer_json_file(path, name);
  if (ext == ".model") return open_sentencepiece_file(path, name);
  throw Error(
      ErrorKind::Unsupported, spec,
      "not a tokenizer file embstat can encode with (tokenizer.json, tokenizer.model, or a folder holding one)");
}

}  // namespace embstat
