// tokenizer.json parse time: embstat's loader (simdjson) against nlohmann_json as a peer, on a
// synthetic 30 MB Gemma-sized tokenizer (256,000 SentencePiece-style pieces + merges) and on
// the real Qwen3 tokenizer.json when ../shared/data is present.
//
//   tokenizer_json_bench [--mb N] [--repeat R] [FILE.json ...]
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "embstat/vocab/loaders.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// A tokenizer.json of about `target_bytes`: 256 byte tokens, unique ▁-words up to 256,000
// entries, then merges until the size is reached (merges are most of a real file too).
std::string synthetic_tokenizer_json(std::size_t target_bytes) {
  std::mt19937 rng(42);
  const char* letters = "abcdefghijklmnopqrstuvwxyz";
  std::vector<std::string> pieces;
  for (int b = 0; b < 256; ++b) pieces.push_back(fmt::format("<0x{:02X}>", b));
  while (pieces.size() < 256000) {
    std::string p = rng() % 2 ? "\xE2\x96\x81" : "";
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int k = 0; k < n; ++k) p += letters[rng() % 26];
    p += std::to_string(pieces.size());  // unique: letters, then the digits of the id
    pieces.push_back(std::move(p));
  }
  std::string out = R"({"version": "1.0", "truncation": null, "padding": null,
  "added_tokens": [{"id": 0, "content": "<pad>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
  "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
  "pre_tokenizer": null, "post_processor": null,
  "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]},
  "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "byte_fallback": true,
    "vocab": {
)";
  for (std::size_t i = 0; i < pieces.size(); ++i)
    out += fmt::format("      \"{}\": {}{}\n", pieces[i], i, i + 1 < pieces.size() ? "," : "");
  out += "    },\n    \"merges\": [\n";
  bool first = true;
  while (out.size() < target_bytes) {
    out += fmt::format("{}      [\"{}\", \"{}\"]", first ? "" : ",\n", pieces[rng() % pieces.size()],
                       pieces[rng() % pieces.size()]);
    first = false;
  }
  out += "\n    ]\n  }\n}\n";
  return out;
}

double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Best wall-clock and best CPU time of `repeat` runs (CPU time is steadier on a busy machine).
struct Timing {
  double wall_ms = 1e300, cpu_ms = 1e300;
};

template <typename F>
Timing best_of(int repeat, F&& f) {
  Timing t;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = Clock::now();
    const double c0 = thread_cpu_ms();
    f();
    t.cpu_ms = std::min(t.cpu_ms, thread_cpu_ms() - c0);
    t.wall_ms = std::min(t.wall_ms, std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return t;
}

void run(const std::string& label, const std::string& json, int repeat) {
  std::size_t n_tokens = 0, n_peer = 0;
  const Timing ours = best_of(repeat, [&] { n_tokens = embstat::parse_tokenizer_json(json, label).size(); });
  const Timing peer = best_of(repeat, [&] {
    const auto doc = nlohmann::json::parse(json);
    n_peer = doc.at("model").at("vocab").size();
  });
  std::printf(
      "%-26s %5.1f MB %7zu tokens | embstat (simdjson): %6.1f ms wall %6.1f ms cpu"
      " | nlohmann_json DOM parse only: %6.1f ms wall %6.1f ms cpu (%zu vocab entries)\n",
      label.c_str(), static_cast<double>(json.size()) / 1e6, n_tokens, ours.wall_ms, ours.cpu_ms, peer.wall_ms,
      peer.cpu_ms, n_peer);
}

}  // namespace

int main(int argc, char** argv) {
  double mb = 30;
  int repeat = 3;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--mb") && i + 1 < argc)
      mb = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc)
      repeat = std::max(1, std::atoi(argv[++i]));
    else
      files.emplace_back(argv[i]);
  }
  if (files.empty()) {
    const std::string qwen3 =
        (std::filesystem::path(__FILE__).parent_path() / "../../shared/data/tokenizers/qwen3/tokenizer.json").string();
    if (std::filesystem::exists(qwen3)) files.push_back(qwen3);
  }
  std::printf("best of %d runs (wall clock)\n", repeat);
  run(fmt::format("synthetic ({:.0f} MB target)", mb), synthetic_tokenizer_json(static_cast<std::size_t>(mb * 1e6)),
      repeat);
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    run(std::filesystem::path(f).parent_path().filename().string() + "/" + std::filesystem::path(f).filename().string(),
        ss.str(), repeat);
  }
  return 0;
}
