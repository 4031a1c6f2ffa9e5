// `embstat sample`: the study's table — per model, N random target rows, each compared with
// every other row; min / max / mean / median / counts averaged over targets, with their spread.
// Also used by the main job (cli/main_job.cpp), which samples every model it discovers.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "cli/common.hpp"
#include "embstat/analysis/sampled.hpp"

namespace embstat::cli {

struct SampleArgs {
  ModelArgs model;
  std::int64_t samples = 50;   // --samples
  bool samples_given = false;  // --samples on the command line (else the default adapts)
  std::uint64_t seed = 0;      // --seed: std::mt19937_64 seed for targets and the baseline
  std::string targets;         // --targets: id list; overrides --samples
  bool baseline = false;       // --baseline: add an N(0,1) matrix of each model's shape
  bool dedup = false;          // --dedup: merge bit-identical rows first
  std::string sort = "fraction";
  std::string format = "text";
};

// One line of the table: a model, or the random baseline of a shape.
struct SampleRow {
  std::string model;  // display name ("Qwen/Qwen3-0.6B", "random N(0,1) 151936×1024")
  bool baseline = false;
  std::int64_t rows = 0;       // rows of the matrix
  std::int64_t rows_used = 0;  // after excluding padding / zero / merged rows
  std::int64_t dim = 0;
  std::int64_t padding_rows = 0, zero_rows = 0, merged_rows = 0, non_finite_rows = 0;
  SampleSummary summary;
  std::vector<std::string> target_display;  // per target, one-line escaped text ("" without a vocabulary)
  std::vector<std::string> target_utf8;     // per target, valid UTF-8 text
};

// Opens `spec`, loads its rows and samples them (targets from args).
SampleRow sample_model(const std::string& spec, const SampleArgs& args);
// The control: an n_rows x dim N(0,1) matrix (seed = args.seed), sampled the same way.
SampleRow sample_baseline(std::int64_t n_rows, std::int64_t dim, const SampleArgs& args);
// Sorts (baselines last) and prints the table in args.format.
void print_sample_rows(std::vector<SampleRow> rows, const SampleArgs& args, std::ostream& out);

}  // namespace embstat::cli
