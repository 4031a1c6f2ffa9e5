// The local Hugging Face hub cache (and llama.cpp's), searched without any network access.
//
// Layout (huggingface_hub):
//   <cache>/models--<owner>--<name>/refs/main          text: the commit hash of "main"
//   <cache>/models--<owner>--<name>/snapshots/<hash>/   the files, as symlinks into ../../blobs/
//   <cache>/models--<owner>--<name>/blobs/<sha>         the content
// Cache roots, in order: $HF_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub,
// ~/.cache/huggingface/hub. llama.cpp downloads to $LLAMA_CACHE or ~/.cache/llama.cpp (*.gguf).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace embstat {

// The hub cache roots to search, in order, without duplicates (existing or not).
std::vector<std::string> hf_hub_cache_dirs();
// llama.cpp's download cache.
std::string llama_cpp_cache_dir();

// "Qwen/Qwen3-0.6B", "gpt2", optionally "@<revision>": letters, digits, '-', '_', '.', at most
// one '/', no "--" or "..". Says nothing about whether it is cached.
bool looks_like_hub_id(std::string_view spec);

struct HubSnapshot {
  std::string repo_id;             // "Qwen/Qwen3-0.6B"
  std::string repo_folder;         // <cache>/models--Qwen--Qwen3-0.6B
  std::string folder;              // .../snapshots/<hash>
  std::string revision;            // the hash
  std::vector<std::string> notes;  // e.g. "refs/main missing: using the newest snapshot"
};

// Finds `spec` ("owner/name[@revision]") in the cache roots. nullopt when no root holds it;
// Error(Io) when the repo folder is there but has no usable snapshot (or not that revision).
// Each root looked at is appended to `searched_dirs` when given.
std::optional<HubSnapshot> resolve_hub_id(const std::string& spec, std::vector<std::string>* searched_dirs = nullptr);

// A "models--owner--name" folder (resolved through refs/main) -> its snapshot; nullopt for any
// other folder.
std::optional<HubSnapshot> resolve_repo_folder(const std::string& folder);

// "owner/name" when `path` lies in a snapshot folder of a hub cache (.../models--owner--name/
// snapshots/<rev>[/file]); nullopt otherwise.
std::optional<std::string> hub_id_of_path(const std::string& path);

// Every model in the caches, for the main job: hub ids of cached repos whose snapshot holds
// safetensors weights, paths of *.gguf files in snapshots without safetensors and in
// llama.cpp's cache (multimodal projectors "mmproj*" and unfinished downloads skipped).
// Sorted, without duplicates. Every directory looked at is appended to `searched_dirs`.
std::vector<std::string> discover_models(std::vector<std::string>* searched_dirs);

}  // namespace embstat
