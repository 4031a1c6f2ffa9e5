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

// A check for floating-point options: a finite number in [lo, hi]. CLI::Range alone lets "nan"
// through (every comparison with NaN is false) and parses "inf".
CLI::Validator finite_range(double lo, double hi);

// A check for options naming a file or folder to write: the name must not be empty.
extern const CLI::Validator kNonEmptyPath;

// Adds --format text|markdown|csv|json (into `format`).
void add_format_option(CLI::App* sub, std::string& format);

// Decodes the model's matrix to f32 (progress bar on long ones) and builds its RowSet:
// padding rows (past the vocabulary) unless --include-padding, zero rows and rows holding NaN
// or Inf excluded; then announce_rows().
RowSet load_row_set(const Model& model, const ModelArgs& args, bool dedup = false);
// The same rows left encoded in the model's mapping (make_streamed_row_set) when the analysis
// reads them only a few times through RowSet::unit_rows and they are bf16 with the bf16 kernels
// available (no n x d f32 copy); otherwise load_row_set's held set.
RowSet load_streamed_row_set(const Model& model, const ModelArgs& args);

// Prints "embstat: <text>" as one line on stderr, every unprintable byte of `text` escaped
// (escape_unprintable): the one way errors and notes reach the terminal.
void print_line(std::string_view text);

// How many rows a statistic uses and leaves out, by reason.
struct RowCounts {
  std::int64_t total = 0, used = 0;
  std::int64_t padding = 0, zero = 0, non_finite = 0, merged = 0;
};
RowCounts row_counts(const RowSet& rows);

// Says on stderr what the user should know about a model once its rows are loaded: each of its
// notes (which tensor was picked, ...) as "embstat: <model>: <note>", then one line saying
// which rows the statistic left out, if any. A matrix with no usable row is malformed input:
// then nothing is printed but Error(Format) is thrown, so the failure is one line saying why.
void announce_rows(const Model& model, const RowCounts& counts);

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

// Number of threads to use (--threads, else OpenMP's default: all cores or OMP_NUM_THREADS).
int thread_count();
// At most kThreadsPerCore per core of this machine: more only adds per-thread buffers (memory
// grows with the thread count) and time slicing, never speed. A larger request is lowered to
// that cap, saying so on stderr. `n` = 0: OpenMP's default, capped the same way.
inline constexpr int kThreadsPerCore = 2;
// Above this, --threads is refused as a usage error: no machine embstat runs on has that many
// cores, so such a value is a typo.
inline constexpr int kMaxThreadsOption = 512;
void set_thread_count(int n);

// The main job: `embstat` with no verb. Discovers local models and tabulates them (verb_sample.cpp).
int run_main_job();

}  // namespace embstat::cli
