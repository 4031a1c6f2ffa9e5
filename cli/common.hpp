// Options and helpers shared by the verbs: MODEL arguments, --format, id lists, row loading.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "embstat/analysis/row_set.hpp"
#include "embstat/base/error.hpp"
#include "embstat/formats/model.hpp"
#include "embstat/output/table.hpp"

namespace embstat::cli {

struct ModelArgs {
  std::vector<std::string> models;
  std::string tensor;            // --tensor
  std::string matrix = "input";  // --matrix input|output
  bool include_padding = false;  // --include-padding
  bool fail_fast = false;        // --fail-fast (several models): stop at the first that fails
};

// Adds MODEL (one, or several when `many`, with --fail-fast) and --tensor, --matrix,
// --include-padding.
void add_model_options(CLI::App* sub, ModelArgs& args, bool many);
OpenOptions open_options(const ModelArgs& args);

// For --seed and other unsigned options: refuses "-1" before CLI11 converts it (strtoull would
// wrap it to 18446744073709551615).
CLI::Validator non_negative_integer();

// --samples N given explicitly must not exceed the rows a statistic uses: refused (usage), never
// silently lowered. The default (50) adapts to smaller matrices.
void check_samples(std::int64_t samples, bool given, std::int64_t rows_used, const std::string& model);

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

// Runs `analyse(spec)` for each MODEL in order, keeping going past a model that fails (git and
// ripgrep do the same with paths): its error is printed as the usual one line on stderr and the
// worst exit status is kept for the end. With --fail-fast the first error propagates instead.
class EachModel {
 public:
  explicit EachModel(const ModelArgs& args) : args_(args) {}
  template <class F>
  void run(F&& analyse) {
    for (const auto& spec : args_.models) {
      try {
        analyse(spec);
      } catch (const Error& e) {
        if (args_.fail_fast) throw;
        note_failure(e);
      }
    }
  }
  int n_failed() const { return n_failed_; }
  bool all_failed() const { return n_failed_ == static_cast<int>(args_.models.size()); }
  // Call after printing what succeeded: throws ExitStatus with the worst status when any failed.
  void finish() const;

 private:
  void note_failure(const Error& e);
  const ModelArgs& args_;
  int n_failed_ = 0;
  int worst_status_ = 0;
};

// Thrown to end the program with `status` once output is complete, without printing anything
// more (main() returns it).
struct ExitStatus {
  int status;
};

// Number of threads to use (--threads, else all cores).
int thread_count();
void set_thread_count(int n);

// The main job: `embstat` with no verb. Discovers local models and tabulates them (verb_sample.cpp).
int run_main_job();

}  // namespace embstat::cli
