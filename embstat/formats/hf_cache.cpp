#include "embstat/formats/hf_cache.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "embstat/base/error.hpp"
#include "embstat/formats/support.hpp"

namespace embstat {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kRepoPrefix = "models--";

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A single path component we may join safely (a revision hash, a ref name).
bool safe_component(std::string_view s) {
  if (s.empty() || s == "." || s == ".." || s.size() > 255) return false;
  return std::none_of(s.begin(), s.end(), [](char c) { return c == '/' || c == '\0' || c == '\n'; });
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

std::string repo_id_of_folder_name(std::string_view name) {
  std::string id(name.substr(kRepoPrefix.size()));
  for (std::size_t p; (p = id.find("--")) != std::string::npos;) id.replace(p, 2, "/");
  return id;
}

HubSnapshot resolve_snapshot(const std::string& repo_folder, const std::string& repo_id, const std::string& revision) {
  HubSnapshot snap;
  snap.repo_id = repo_id;
  snap.repo_folder = repo_folder;
  const std::string snapshots = path_join(repo_folder, "snapshots");
  const std::string rev = revision.empty() ? "main" : revision;

  if (safe_component(rev)) {
    const std::string ref = path_join(path_join(repo_folder, "refs"), rev);
    if (is_regular_file(ref)) {
      const std::string hash = trim(read_text_file(ref, 4096));
      if (safe_component(hash) && is_directory(path_join(snapshots, hash))) {
        snap.revision = hash;
        snap.folder = path_join(snapshots, hash);
        return snap;
      }
      snap.notes.push_back(fmt::format("refs/{} names '{}', which is not in snapshots/", rev, hash.substr(0, 64)));
    }
    if (is_directory(path_join(snapshots, rev))) {  // a revision given as a commit hash
      snap.revision = rev;
      snap.folder = path_join(snapshots, rev);
      return snap;
    }
  }
  if (!revision.empty())
    throw Error(ErrorKind::Io, repo_folder,
                fmt::format("revision '{}' of {} is not in the local cache", revision, repo_id));

  // No usable refs/main: the most recently written snapshot.
  std::string newest;
  fs::file_time_type newest_time{};
  for (const auto& name : list_dir(snapshots)) {
    const std::string p = path_join(snapshots, name);
    if (!is_directory(p)) continue;
    std::error_code ec;
    const auto t = fs::last_write_time(p, ec);
    if (ec) continue;
    if (newest.empty() || t > newest_time) {
      newest = name;
      newest_time = t;
    }
  }
  if (newest.empty())
    throw Error(ErrorKind::Io, repo_folder,
                fmt::format("{} is in the cache but has no snapshot (not downloaded?)", repo_id));
  snap.revision = newest;
  snap.folder = path_join(snapshots, newest);
  snap.notes.push_back(fmt::format("no refs/main: using the newest snapshot {}", newest));
  return snap;
}

bool has_safetensors(const std::string& folder) {
  for (const auto& name : list_dir(folder))
    if ((ends_with(name, ".safetensors") || ends_with(name, ".safetensors.index.json")) &&
        is_regular_file(path_join(folder, name)))  // a dangling symlink is a file not downloaded
      return true;
  return false;
}

void add_gguf_files(const std::string& folder, std::vector<std::string>& out) {
  for (const auto& name : list_dir(folder))
    if (ends_with(name, ".gguf") && name.rfind("mmproj", 0) != 0 && is_regular_file(path_join(folder, name)))
      out.push_back(path_join(folder, name));
}

// Models in the models--* folders of one cache root.
void add_cached_repos(const std::string& root, std::vector<std::string>& out) {
  for (const auto& name : list_dir(root)) {
    if (name.rfind(kRepoPrefix, 0) != 0) continue;
    const std::string repo = path_join(root, name);
    if (!is_directory(repo)) continue;
    try {
      const HubSnapshot snap = resolve_snapshot(repo, repo_id_of_folder_name(name), "");
      if (has_safetensors(snap.folder))
        out.push_back(snap.repo_id);
      else
        add_gguf_files(snap.folder, out);
    } catch (const Error&) {
      // An unusable cache entry is not a model; opening it by name reports why.
    }
  }
}

}  // namespace

std::vector<std::string> hf_hub_cache_dirs() {
  std::vector<std::string> dirs;
  auto add = [&](const std::string& d) {
    if (!d.empty() && std::find(dirs.begin(), dirs.end(), d) == dirs.end()) dirs.push_back(d);
  };
  add(env("HF_HUB_CACHE"));
  if (const auto home = env("HF_HOME"); !home.empty()) add(path_join(home, "hub"));
  if (const auto xdg = env("XDG_CACHE_HOME"); !xdg.empty()) add(path_join(xdg, "huggingface/hub"));
  if (const auto home = env("HOME"); !home.empty()) add(path_join(home, ".cache/huggingface/hub"));
  return dirs;
}

std::string llama_cpp_cache_dir() {
  if (auto d = env("LLAMA_CACHE"); !d.empty()) return d;
  if (auto home = env("HOME"); !home.empty()) return path_join(home, ".cache/llama.cpp");
  return "";
}

bool looks_like_hub_id(std::string_view spec) {
  if (const auto at = spec.find('@'); at != std::string_view::npos) {
    if (!safe_component(spec.substr(at + 1))) return false;
    spec = spec.substr(0, at);
  }
  if (spec.empty() || spec.size() > 200) return false;
  int slashes = 0;
  std::string_view part_start = spec;
  for (std::size_t i = 0; i < spec.size(); ++i) {
    const char c = spec[i];
    if (c == '/') {
      if (++slashes > 1 || i == 0 || i + 1 == spec.size()) return false;
      part_start = spec.substr(i + 1);
      continue;
    }
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  if (spec.find("--") != std::string_view::npos || spec.find("..") != std::string_view::npos) return false;
  if (spec.front() == '.' || part_start.front() == '.') return false;  // "./x", ".hidden"
  return true;
}

std::optional<HubSnapshot> resolve_hub_id(const std::string& spec, std::vector<std::string>* searched_dirs) {
  std::string id = spec;
  std::string revision;
  if (const auto at = spec.find('@'); at != std::string::npos) {
    id = spec.substr(0, at);
    revision = spec.substr(at + 1);
  }
  std::string folder_name(kRepoPrefix);
  for (char c : id) folder_name += c == '/' ? std::string("--") : std::string(1, c);
  for (const auto& root : hf_hub_cache_dirs()) {
    if (searched_dirs) searched_dirs->push_back(root);
    const std::string repo = path_join(root, folder_name);
    if (is_directory(repo)) return resolve_snapshot(repo, id, revision);
  }
  return std::nullopt;
}

std::optional<HubSnapshot> resolve_repo_folder(const std::string& folder) {
  const std::string name = path_file_name(folder);
  if (name.rfind(kRepoPrefix, 0) != 0 || name.size() == kRepoPrefix.size()) return std::nullopt;
  if (!is_directory(path_join(folder, "snapshots"))) return std::nullopt;
  return resolve_snapshot(folder, repo_id_of_folder_name(name), "");
}

std::optional<std::string> hub_id_of_path(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(path), ec).lexically_normal();
  if (ec) return std::nullopt;
  std::vector<std::string> parts;
  for (const auto& c : p) parts.push_back(c.string());
  while (!parts.empty() && parts.back().empty()) parts.pop_back();  // trailing '/'
  // .../models--owner--name/snapshots/<rev>[/file...]
  for (std::size_t i = 1; i + 1 < parts.size(); ++i)
    if (parts[i] == "snapshots" && parts[i - 1].rfind(kRepoPrefix, 0) == 0 && parts[i - 1].size() > kRepoPrefix.size())
      return repo_id_of_folder_name(parts[i - 1]);
  return std::nullopt;
}

std::vector<std::string> discover_models(std::vector<std::string>* searched_dirs) {
  std::vector<std::string> out;
  for (const auto& root : hf_hub_cache_dirs()) {
    if (searched_dirs) searched_dirs->push_back(root);
    add_cached_repos(root, out);
  }
  if (const auto llama = llama_cpp_cache_dir(); !llama.empty()) {
    if (searched_dirs) searched_dirs->push_back(llama);
    add_gguf_files(llama, out);
    add_cached_repos(llama, out);  // newer llama.cpp keeps the hub layout there too
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace embstat
