// The main job: `embstat` with no verb. Finds the models in the local caches (Hugging Face hub,
// llama.cpp) and prints the study's table for them, with the random N(0,1) control of each shape.
// With no model found it says where it looked and still runs the control, on Qwen3-0.6B's shape,
// so the command always shows the tool working.
#include <fmt/format.h>

#include <filesystem>
#include <iostream>

#include "cli/common.hpp"
#include "cli/verb_sample.hpp"
#include "embstat/base/display_text.hpp"
#include "embstat/base/error.hpp"
#include "embstat/formats/hf_cache.hpp"

namespace embstat::cli {

namespace {
// The shape of the control when there is no model: Qwen3-0.6B's embedding, the study's model.
constexpr std::int64_t kDefaultBaselineRows = 151936;
constexpr std::int64_t kDefaultBaselineDim = 1024;
}  // namespace

int run_main_job() {
  std::vector<std::string> searched;
  const std::vector<std::string> models = discover_models(&searched);
  SampleArgs args;
  args.baseline = true;
  std::vector<SampleRow> rows;
  std::vector<std::pair<std::int64_t, std::int64_t>> shapes;

  if (models.empty()) {
    std::cout << "No models found in the local caches. Looked in:\n";
    for (const auto& dir : searched) {
      std::error_code ec;
      std::cout << "  " << escape_unprintable(dir) << (std::filesystem::is_directory(dir, ec) ? "" : "  (absent)")
                << '\n';
    }
    std::cout << "Analyse any model with: embstat sample MODEL (a file, a folder or a cached hub id).\n"
              << "Meanwhile, the study's control: a random N(0,1) matrix of Qwen3-0.6B's shape.\n\n";
    std::cout.flush();
    shapes.emplace_back(kDefaultBaselineRows, kDefaultBaselineDim);
  } else {
    std::cout << fmt::format("Found {} model{} in the local caches:\n", models.size(), models.size() == 1 ? "" : "s");
    for (const auto& m : models) std::cout << "  " << escape_unprintable(m) << '\n';
    std::cout << '\n';
    std::cout.flush();
    for (const auto& spec : models) {
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
      std::fprintf(stderr, "embstat: none of the %zu models could be read\n", models.size());
      return exit_code(ErrorKind::Unsupported);
    }
  }
  for (const auto& [n, d] : shapes) rows.push_back(sample_baseline(n, d, args));
  print_sample_rows(std::move(rows), args, std::cout);
  return 0;
}

}  // namespace embstat::cli
