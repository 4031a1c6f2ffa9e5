// open_model(): what a MODEL argument is, decided by existence, magic bytes, then extension.
#include "embstat/formats/model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "embstat/base/error.hpp"
#include "embstat/formats/gguf.hpp"
#include "embstat/formats/hf_cache.hpp"
#include "embstat/formats/llama2c.hpp"
#include "embstat/formats/model_stores.hpp"
#include "embstat/formats/npy.hpp"
#include "embstat/formats/safetensors.hpp"
#include "embstat/formats/support.hpp"
#include "embstat/vocab/loaders.hpp"

namespace embstat {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kPickleAdvice =
    "embstat does not read PyTorch pickles (loading them can run arbitrary code): use the model's "
    ".safetensors or .gguf files, or convert with safetensors.torch.save_file(torch.load(path), "
    "\"model.safetensors\")";

std::string lower_extension(const std::string& path) {
  const std::string name = path_file_name(path);
  const auto dot = name.rfind('.');
  if (dot == std::string::npos || dot == 0) return "";
  std::string ext = name.substr(dot);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

// The first bytes of a file (fewer if it is shorter).
std::vector<std::uint8_t> read_prefix(const std::string& path, std::size_t n) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw_io(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<std::uint8_t> buf(n);
  const std::size_t got = std::fread(buf.data(), 1, n, f);
  const bool failed = std::ferror(f);
  std::fclose(f);
  if (failed) throw_io(path, "cannot read");
  buf.resize(got);
  return buf;
}

bool starts_with(const std::vector<std::uint8_t>& bytes, std::string_view magic) {
  return bytes.size() >= magic.size() && std::memcmp(bytes.data(), magic.data(), magic.size()) == 0;
}

// A pickle stream starts with PROTO (0x80) and a protocol number 2..5; torch.save since 1.6
// writes a zip archive ("PK\3\4") holding one.
bool is_pytorch(const std::vector<std::uint8_t>& bytes) {
  if (starts_with(bytes, "PK\x03\x04")) return true;
  return bytes.size() >= 2 && bytes[0] == 0x80 && bytes[1] >= 2 && bytes[1] <= 5;
}

bool looks_like_safetensors(const std::vector<std::uint8_t>& bytes) {
  if (bytes.size() < 9 || bytes[8] != '{') return false;
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  return n >= 2 && n <= kSafetensorsMaxHeaderBytes;
}

// A bare tokenizer.json names rows but holds none: fine for `vocab`, an error for the analyses.
Model open_tokenizer_json(const std::string& path, const OpenOptions& options) {
  if (options.require_matrix)
    throw Error(ErrorKind::Usage, path,
                "a tokenizer file has no embedding matrix; give the model file or folder (embstat vocab reads it)");
  Model model;
  model.spec = path;
  model.name = fs::path(path).filename().string();
  model.format = "tokenizer.json";
  model.files.push_back(path);
  model.vocab = load_tokenizer_json(path);
  return model;
}

// A llama2.c tokenizer (tok512.bin, tokenizer.bin) shares the checkpoint's .bin and has no magic
// either: when the checkpoint reader refuses a file that reads whole as a tokenizer, say what it is.
Model open_llama2c_bin(const std::string& path, const OpenOptions& options) {
  try {
    return open_llama2c(path, options);
  } catch (const Error& checkpoint_error) {
    if (checkpoint_error.kind() != ErrorKind::Format) throw;
    Vocabulary vocab;
    try {
      vocab = load_llama2c_tokenizer(path, -1);
    } catch (const Error&) {
      vocab = Vocabulary{};  // neither: the checkpoint reader's reason is the useful one
    }
    if (vocab.empty()) throw;
    if (options.require_matrix)
      throw Error(ErrorKind::Usage, path,
                  fmt::format("a llama2.c tokenizer ({} tokens), not a checkpoint: it is read from beside its "
                              "checkpoint (tok{}.bin or tokenizer.bin); give the checkpoint (embstat vocab reads it)",
                              vocab.size(), vocab.size()));
    Model model;
    model.spec = path;
    model.name = fs::path(path).filename().string();
    model.format = "llama2.c tokenizer";
    model.files.push_back(path);
    model.vocab = std::move(vocab);
    return model;
  }
}

Model open_file(const std::string& path, const OpenOptions& options) {
  const auto head = read_prefix(path, 16);
  const std::string ext = lower_extension(path);
  if (head.empty()) throw Error(ErrorKind::Format, path, "file is empty");
  if (starts_with(head, "GGUF")) return open_gguf(path, options);
  if (starts_with(head, "\x93NUMPY")) return open_npy(path, options);
  if (is_pytorch(head))
    throw Error(ErrorKind::Unsupported, path,
                std::string("a PyTorch checkpoint (pickle): ") + std::string(kPickleAdvice));
  if (head.size() >= 4) {
    std::uint32_t magic;
    std::memcpy(&magic, head.data(), 4);
    if (magic == kLlama2cMagic) return open_llama2c(path, options);
  }
  if (ext == ".json" && !head.empty() && head[0] == '{') return open_tokenizer_json(path, options);
  if (ext == ".safetensors" || looks_like_safetensors(head)) return open_safetensors_file(path, options);
  if (ext == ".gguf") return open_gguf(path, options);  // reports the bad magic
  if (ext == ".npy") return open_npy(path, options);
  if (ext == ".pt" || ext == ".pth" || ext == ".ckpt" || ext == ".pkl")
    throw Error(ErrorKind::Unsupported, path, std::string("a PyTorch file: ") + std::string(kPickleAdvice));
  if (ext == ".bin") return open_llama2c_bin(path, options);  // the legacy format has no magic
  throw Error(ErrorKind::Unsupported, path,
              "unrecognised file: not safetensors, GGUF, NumPy .npy or a llama2.c checkpoint (.bin)");
}

std::vector<std::string> files_with_extension(const std::string& folder, std::string_view ext) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (lower_extension(name) == ext && is_regular_file(path_join(folder, name))) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 8; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 8) out += fmt::format(", and {} more", names.size() - 8);
  return out;
}

Model open_folder(const std::string& folder, const OpenOptions& options) {
  if (auto model = open_safetensors_folder(folder, options)) return std::move(*model);

  auto ggufs = files_with_extension(folder, ".gguf");
  std::erase_if(ggufs, [](const std::string& n) { return n.rfind("mmproj", 0) == 0; });  // vision projectors
  if (ggufs.size() == 1) return open_gguf(path_join(folder, ggufs[0]), options);
  if (ggufs.size() > 1)
    throw Error(ErrorKind::Usage, folder,
                fmt::format("holds {} GGUF files; name one: {}", ggufs.size(), join_names(ggufs)));

  const auto npys = files_with_extension(folder, ".npy");
  if (npys.size() == 1) return open_npy(path_join(folder, npys[0]), options);

  for (const char* pickle : {"pytorch_model.bin", "pytorch_model.bin.index.json", "consolidated.00.pth", "model.pt"})
    if (is_regular_file(path_join(folder, pickle)))
      throw Error(ErrorKind::Unsupported, folder,
                  fmt::format("holds only PyTorch pickles ({}): {}", pickle, kPickleAdvice));
  // A Hugging Face snapshot whose links point at blobs that never arrived.
  std::vector<std::string> dangling, loops;
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    const std::string ext = lower_extension(it->path().filename().string());
    if (!it->is_symlink(ec2) || fs::exists(it->path(), ec2) || (ext != ".safetensors" && ext != ".gguf")) continue;
    (is_symlink_loop(it->path().string()) ? loops : dangling).push_back(it->path().filename().string());
  }
  std::sort(dangling.begin(), dangling.end());
  std::sort(loops.begin(), loops.end());
  if (!loops.empty())
    throw Error(ErrorKind::Io, folder,
                fmt::format("{} {} a symlink loop (the links lead back to themselves, never to a file)",
                            join_names(loops), loops.size() == 1 ? "is" : "are"));
  if (!dangling.empty())
    throw Error(ErrorKind::Io, folder,
                fmt::format("{} links to files that are not there (not downloaded?)", join_names(dangling)));
  throw Error(ErrorKind::Io, folder,
              "no model weights here (looked for model.safetensors.index.json, *.safetensors, *.gguf, *.npy)");
}

// "ollama:NAME": the manifest's model layer, a GGUF blob.
Model open_ollama(const std::string& spec, const OpenOptions& options) {
  const OllamaModel found = resolve_ollama(spec);
  Model model = open_gguf(found.blob, options);
  model.spec = spec;
  model.name = std::string(kOllamaPrefix) + found.name;
  model.files = {found.manifest, found.blob};
  model.notes.insert(model.notes.begin(), fmt::format("Ollama model {}: manifest {}, blob {} ({} bytes)", found.name,
                                                      found.manifest, found.blob, found.blob_bytes));
  return model;
}

}  // namespace

Model open_model(const std::string& spec, const OpenOptions& options) {
  if (spec.empty()) throw_usage("empty MODEL argument");
  if (is_ollama_spec(spec)) return open_ollama(spec, options);
  std::string path = spec;
  std::optional<std::string> hub_id;
  std::vector<std::string> hub_notes;

  std::error_code ec;
  if (!fs::exists(fs::path(spec), ec)) {
    if (is_symlink_loop(spec)) throw_io(spec, "is a symlink loop (the links lead back to themselves, never to a file)");
    if (fs::is_symlink(fs::symlink_status(fs::path(spec), ec)))
      throw_io(spec, "is a dangling symbolic link (in a Hugging Face cache: the file was not downloaded)");
    if (!looks_like_hub_id(spec)) throw_io(spec, "no such file or folder");
    std::vector<std::string> searched;
    auto snap = resolve_hub_id(spec, &searched);
    if (!snap)
      throw_io(spec,
               fmt::format("no such file or folder, and not in the local Hugging Face cache (looked in {}); "
                           "embstat never downloads: fetch it first, e.g. `hf download {}`",
                           searched.empty() ? std::string("no cache folder: HOME is unset") : join_names(searched),
                           spec.substr(0, spec.find('@'))));
    path = snap->folder;
    hub_id = snap->repo_id;
    hub_notes = snap->notes;
  }

  Model model;
  if (is_directory(path)) {
    if (auto snap = resolve_repo_folder(path)) {  // models--owner--name given as a folder
      path = snap->folder;
      hub_id = snap->repo_id;
      hub_notes.insert(hub_notes.end(), snap->notes.begin(), snap->notes.end());
    }
    if (!hub_id) hub_id = hub_id_of_path(path);
    model = open_folder(path, options);
    if (hub_id) model.name = *hub_id;
  } else {
    // A FIFO or a device would block or never end: only regular files are read.
    if (!is_regular_file(path)) throw_io(path, "is not a regular file");
    model = open_file(path, options);
    // model.safetensors says nothing: name a snapshot's single file after its repo.
    if (model.format == "safetensors")
      if (auto id = hub_id_of_path(path)) model.name = *id;
  }
  model.spec = spec;
  if (model.name.empty()) model.name = path_file_name(path);
  model.notes.insert(model.notes.begin(), hub_notes.begin(), hub_notes.end());
  return model;
}

}  // namespace embstat
