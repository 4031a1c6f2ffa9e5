// Options and helpers shared by the verbs: MODEL arguments, --format, id lists, row loading.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "embstat/analysis/row_set.hpp"
#include "embstat/formats/model.hpp"
#include "embstat/output/table.hpp"

namespace embstat::cli {

struct ModelArgs {
  std::vector<std::string> models;
  std::string tensor;            // --tensor
  std::string matrix = "input";  // --matrix input|output
  bool include_padding = false;  // --include-padding
};

// Adds MODEL (one, or several when `many`) and --tensor, --matrix, --include-padding.
void add_model_options(CLI::App* sub, ModelArgs& args, bool many);
OpenOptions open_options(const ModelArgs& args);

// Adds --format text|markdown|csv|json (into `format`).
void add_format_option(CLI::App* sub, std::string& format);

// Decodes the model's matrix to f32 (progress bar on long ones) and builds its RowSet:
// padding rows (past the vocabulary) and zero rows excluded unless --include-padding.
RowSet load_row_set(const Model& model, const ModelArgs& args, bool dedup = false);
// The same rows left encoded in the model's mapping (make_streamed_row_set) when the analysis
// reads them only a few times through RowSet::unit_rows and they are bf16 with the bf16 kernels
// available (no n x d f32 copy); otherwise load_row_set's held set.
RowSet load_streamed_row_set(const Model& model, const ModelArgs& args);

// One line on stderr saying which rows a statistic left out, if any.
void note_excluded_rows(const Model& model, const RowSet& rows);

// "0-100,151643,7" -> ids (inclusive ranges). Throws Error(Usage) on bad syntax.
std::vector<std::int64_t> parse_id_list(std::string_view spec);

// Number of threads to use (--threads, else all cores).
int thread_count();
void set_thread_count(int n);

// The main job: `embstat` with no verb. Discovers local models and tabulates them (verb_sample.cpp).
int run_main_job();

}  // namespace embstat::cli
