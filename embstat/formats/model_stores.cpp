#include "embstat/formats/model_stores.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "embstat/base/error.hpp"
#include "embstat/formats/support.hpp"
#include "embstat/vocab/vocabulary.hpp"

namespace embstat {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kDefaultRegistry = "registry.ollama.ai";
constexpr std::string_view kDefaultNamespace = "library";
constexpr std::string_view kDefaultTag = "latest";
constexpr std::uint64_t kMaxManifestBytes = 1 << 20;  // real ones are under 2 KB

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// A name piece we may join into a path: no separators, not "." or "..", printable.
bool safe_component(std::string_view s) {
  if (s.empty() || s == "." || s == ".." || s.size() > 255) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '/' && c != '\\';
  });
}

struct OllamaName {
  std::string registry, ns, model, tag;
};

OllamaName parse_ollama_name(std::string_view spec) {
  std::string_view name = spec.substr(kOllamaPrefix.size());
  OllamaName n{std::string(kDefaultRegistry), std::string(kDefaultNamespace), "", std::string(kDefaultTag)};
  std::vector<std::string> parts;
  for (std::size_t start = 0;;) {
    const auto slash = name.find('/', start);
    parts.emplace_back(name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string& last = parts.back();
  if (const auto colon = last.rfind(':'); colon != std::string::npos) {
    n.tag = last.substr(colon + 1);
    last.resize(colon);
  }
  if (parts.size() > 3) parts.clear();
  if (parts.size() == 3) n.registry = parts[0];
  if (parts.size() >= 2) n.ns = parts[parts.size() - 2];
  if (!parts.empty()) n.model = parts.back();
  if (parts.empty() || !safe_component(n.registry) || !safe_component(n.ns) || !safe_component(n.model) ||
      !safe_component(n.tag))
    throw_usage(
        fmt::format("'{}' is not an Ollama model name: expected ollama:[registry/][namespace/]model[:tag], "
                    "e.g. ollama:qwen3:0.6b",
                    escape_display(spec)));
  return n;
}

// How Ollama itself shows a name: the default registry and namespace left out.
std::string display_name(const OllamaName& n) {
  std::string out;
  if (n.registry != kDefaultRegistry)
    out = n.registry + "/" + n.ns + "/";
  else if (n.ns != kDefaultNamespace)
    out = n.ns + "/";
  return out + n.model + ":" + n.tag;
}

std::string manifest_path(const std::string& root, const OllamaName& n) {
  return path_join(path_join(path_join(path_join(path_join(root, "manifests"), n.registry), n.ns), n.model), n.tag);
}

bool is_hex_digest(std::string_view hex) {
  return hex.size() == 64 &&
         std::all_of(hex.begin(), hex.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Reads a manifest and finds its model layer's blob. Throws Error naming the manifest (Format:
// not JSON, no model layer, a bad digest) or the blob (Io: missing or not a regular file).
OllamaModel read_manifest(const std::string& root, const std::string& manifest, std::string name) {
  const std::string text = read_text_file(manifest, kMaxManifestBytes);
  const nlohmann::json j = parse_json(text, manifest);
  const auto layers = j.is_object() ? j.find("layers") : j.end();
  if (!j.is_object() || layers == j.end() || !layers->is_array())
    throw Error(ErrorKind::Format, manifest, "not an Ollama manifest: no \"layers\" array");
  for (const auto& layer : *layers) {
    if (!layer.is_object()) continue;
    const auto type = layer.find("mediaType");
    if (type == layer.end() || !type->is_string() || type->get<std::string>() != kOllamaModelMediaType) continue;
    const auto digest = layer.find("digest");
    const std::string d = digest != layer.end() && digest->is_string() ? digest->get<std::string>() : "";
    if (d.rfind("sha256:", 0) != 0 || !is_hex_digest(std::string_view(d).substr(7)))
      throw Error(ErrorKind::Format, manifest,
                  fmt::format("the model layer's digest '{}' is not sha256:<64 hex digits>", escape_display(d)));
    OllamaModel m;
    m.name = std::move(name);
    m.manifest = manifest;
    m.blob = path_join(path_join(root, "blobs"), "sha256-" + d.substr(7));
    std::error_code ec;
    const auto status = fs::status(m.blob, ec);
    if (ec || !fs::exists(status))
      throw Error(ErrorKind::Io, m.blob,
                  fmt::format("blob missing: manifest {} names it for {}{}", manifest, m.name,
                              ec && ec != std::errc::no_such_file_or_directory ? " (" + ec.message() + ")" : ""));
    if (!fs::is_regular_file(status)) throw Error(ErrorKind::Io, m.blob, "blob is not a regular file");
    m.blob_bytes = fs::file_size(m.blob, ec);
    return m;
  }
  throw Error(ErrorKind::Format, manifest, fmt::format("no layer of media type {}", kOllamaModelMediaType));
}

// The problem with a blob that is not GGUF, or "" (read errors are problems too).
std::string gguf_magic_problem(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return fmt::format("{}: cannot open: {}", path, std::strerror(errno));
  char magic[4] = {};
  const std::size_t got = std::fread(magic, 1, 4, f);
  std::fclose(f);
  if (got == 4 && std::memcmp(magic, "GGUF", 4) == 0) return "";
  return fmt::format("{}: offset 0: not a GGUF file", path);
}

}  // namespace

std::vector<std::string> ollama_models_dirs() {
  if (auto d = env("OLLAMA_MODELS"); !d.empty()) return {d};
  std::vector<std::string> dirs;
  if (auto home = env("HOME"); !home.empty()) dirs.push_back(path_join(home, ".ollama/models"));
  dirs.emplace_back("/usr/share/ollama/.ollama/models");
  return dirs;
}

std::vector<std::string> lmstudio_models_dirs() {
  if (auto d = env("LMSTUDIO_MODELS"); !d.empty()) return {d};
  std::vector<std::string> dirs;
  if (auto home = env("HOME"); !home.empty()) {
    dirs.push_back(path_join(home, ".lmstudio/models"));
    dirs.push_back(path_join(home, ".cache/lm-studio/models"));
  }
  return dirs;
}

bool is_ollama_spec(std::string_view spec) {
  return spec.rfind(kOllamaPrefix, 0) == 0;
}

OllamaModel resolve_ollama(std::string_view spec) {
  const OllamaName n = parse_ollama_name(spec);
  const auto roots = ollama_models_dirs();
  for (const auto& root : roots) {
    const std::string manifest = manifest_path(root, n);
    if (is_regular_file(manifest)) return read_manifest(root, manifest, display_name(n));
  }
  std::string searched;
  for (const auto& r : roots) searched += (searched.empty() ? "" : ", ") + r;
  throw Error(ErrorKind::Io, std::string(spec),
              fmt::format("no Ollama manifest for {} (looked for manifests/{}/{}/{}/{} in {}); `ollama pull {}` "
                          "fetches it",
                          display_name(n), n.registry, n.ns, n.model, n.tag, searched.empty() ? "no store" : searched,
                          display_name(n)));
}

std::vector<FoundModel> list_ollama_models(std::vector<std::string>* searched_dirs) {
  std::vector<FoundModel> out;
  for (const auto& root : ollama_models_dirs()) {
    if (searched_dirs) searched_dirs->push_back(root);
    const std::string manifests = path_join(root, "manifests");
    // Exactly four levels, registry/namespace/model/tag: a symlink loop cannot make it recurse.
    for (const auto& registry : list_dir(manifests)) {
      const std::string d1 = path_join(manifests, registry);
      for (const auto& ns : list_dir(d1)) {
        const std::string d2 = path_join(d1, ns);
        for (const auto& model : list_dir(d2)) {
          const std::string d3 = path_join(d2, model);
          for (const auto& tag : list_dir(d3)) {
            const std::string manifest = path_join(d3, tag);
            const OllamaName n{registry, ns, model, tag};
            FoundModel found{std::string(kOllamaPrefix) + display_name(n), "ollama", ""};
            if (!safe_component(registry) || !safe_component(ns) || !safe_component(model) || !safe_component(tag)) {
              found.problem = fmt::format("{}: not an Ollama name", manifest);
            } else if (!is_regular_file(manifest)) {
              std::error_code ec;
              (void)fs::status(manifest, ec);
              found.problem = fmt::format("{}: {}", manifest, ec ? ec.message() : "not a manifest file");
            } else {
              try {
                const OllamaModel m = read_manifest(root, manifest, display_name(n));
                found.problem = gguf_magic_problem(m.blob);
              } catch (const Error& e) {
                found.problem = e.what();
              }
            }
            out.push_back(std::move(found));
          }
        }
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const FoundModel& a, const FoundModel& b) { return a.spec < b.spec; });
  return out;
}

std::vector<FoundModel> list_lmstudio_models(std::vector<std::string>* searched_dirs) {
  std::vector<FoundModel> out;
  for (const auto& root : lmstudio_models_dirs()) {
    if (searched_dirs) searched_dirs->push_back(root);
    for (const auto& publisher : list_dir(root)) {
      const std::string d1 = path_join(root, publisher);
      for (const auto& model : list_dir(d1)) {
        const std::string d2 = path_join(d1, model);
        for (const auto& file : list_dir(d2)) {
          const std::string path = path_join(d2, file);
          if (file.size() < 5 || file.substr(file.size() - 5) != ".gguf" || file.rfind("mmproj", 0) == 0) continue;
          FoundModel found{path, "lmstudio", ""};
          if (!is_regular_file(path)) {
            std::error_code ec;
            (void)fs::status(path, ec);
            found.problem = fmt::format("{}: {}", path, ec ? ec.message() : "not a regular file");
          }
          out.push_back(std::move(found));
        }
      }
    }
  }
  std::sort(out.begin(), out.end(), [](const FoundModel& a, const FoundModel& b) { return a.spec < b.spec; });
  return out;
}

}  // namespace embstat
