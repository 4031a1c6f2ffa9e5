// The main job: `embstat` with no verb. Finds the models in the local caches and app stores
// (Hugging Face hub, llama.cpp, Ollama, LM Studio), lists them one line each (name, format, type,
// size; or why one cannot be read), says where it looked, and prints the study's table for them,
// with the random N(0,1) control of each shape. With no model found it still runs the control,
// on Qwen3-0.6B's shape, so the command always shows the tool working.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "cli/common.hpp"
#include "cli/verb_sample.hpp"
#include "embstat/base/display_text.hpp"
#include "embstat/base/error.hpp"
#include "embstat/formats/hf_cache.hpp"
#include "embstat/formats/model.hpp"
#include "embstat/formats/model_stores.hpp"

namespace embstat::cli {

namespace {
// The shape of the control when there is no model: Qwen3-0.6B's embedding, the study's model.
constexpr std::int64_t kDefaultBaselineRows = 151936;
constexpr std::int64_t kDefaultBaselineDim = 1024;
}  // namespace

namespace {

// Everything the caches and stores hold, each with the store it came from.
std::vector<FoundModel> find_local_models(std::vector<std::string>& searched) {
  std::vector<FoundModel> found;
  const std::string llama_cache = llama_cpp_cache_dir();
  for (auto& spec : discover_models(&searched)) {
    const bool in_llama = !llama_cache.empty() && spec.rfind(llama_cache + "/", 0) == 0;
    found.push_back({std::move(spec), in_llama ? "llama.cpp" : "huggingface", ""});
  }
  for (auto* list : {list_ollama_models, list_lmstudio_models})
    for (auto& f : list(&searched)) found.push_back(std::move(f));
  return found;
}

std::string size_text(std::uint64_t n) {
  if (n >= (1ull << 30)) return fmt::format("{:.1f} GiB", static_cast<double>(n) / (1ull << 30));
  if (n >= (1ull << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1ull << 20));
  return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
}

// Opens each model's header: one line per model, name, format, type and size on disk, or the
// one-line reason it cannot be read. Returns the specs that opened.
std::vector<std::string> list_found(const std::vector<FoundModel>& found) {
  std::vector<std::string> readable;
  for (const auto& f : found) {
    if (!f.problem.empty()) {
      std::cout << fmt::format("  {}  [{}]  cannot be read: {}\n", f.spec, f.store, f.problem);
      continue;
    }
    try {
      const Model m = open_model(f.spec, OpenOptions{});
      std::uint64_t bytes = 0;
      for (const auto& file : m.files) {
        std::error_code ec;
        const auto n = std::filesystem::file_size(file, ec);
        if (!ec) bytes += n;
      }
      std::cout << fmt::format("  {}  [{}]  {}  {}  {}\n", m.name, f.store, m.format,
                               m.tensor ? std::string(dtype_name(m.tensor->dtype)) : "-", size_text(bytes));
      readable.push_back(f.spec);
    } catch (const Error& e) {  // one unreadable model must not hide the others
      std::cout << fmt::format("  {}  [{}]  cannot be read: {}\n", f.spec, f.store, e.what());
    }
  }
  return readable;
}

}  // namespace

int run_main_job() {
  std::vector<std::string> searched;
  const std::vector<FoundModel> found = find_local_models(searched);
  std::cout << "Looked in:\n";
  for (const auto& dir : searched) {
    std::error_code ec;
    std::cout << "  " << dir << (std::filesystem::is_directory(dir, ec) ? "" : "  (absent)") << '\n';
  }
  SampleArgs args;
  args.baseline = true;
  std::vector<SampleRow> rows;
  std::vector<std::pair<std::int64_t, std::int64_t>> shapes;

  if (found.empty()) {
    std::cout << "No models found there.\n"
              << "Analyse any model with: embstat sample MODEL (a file, a folder, a cached hub id or "
                 "ollama:NAME).\n"
              << "Meanwhile, the study's control: a random N(0,1) matrix of Qwen3-0.6B's shape.\n\n";
    std::cout.flush();
    shapes.emplace_back(kDefaultBaselineRows, kDefaultBaselineDim);
  } else {
    std::cout << fmt::format("Found {} model{}:\n", found.size(), found.size() == 1 ? "" : "s");
    const std::vector<std::string> readable = list_found(found);
    std::cout << '\n';
    std::cout.flush();
    for (const auto& spec : readable) {
      try {
        rows.push_back(sample_model(spec, args));
      } catch (const Error& e) {  // one unreadable model must not hide the others
        print_line("skipping " + spec + ": " + e.what());
        continue;
      }
      const std::pair<std::int64_t, std::int64_t> shape{rows.back().rows, rows.back().dim};
      if (std::find(shapes.begin(), shapes.end(), shape) == shapes.end()) shapes.push_back(shape);
    }
    if (rows.empty()) {
      std::fprintf(stderr, "embstat: none of the %zu models could be read\n", found.size());
      return exit_code(ErrorKind::Unsupported);
    }
  }
  for (const auto& [n, d] : shapes) rows.push_back(sample_baseline(n, d, args));
  print_sample_rows(std::move(rows), args, std::cout);
  return 0;
}

}  // namespace embstat::cli
