#include "cli/common.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "cli/progress.hpp"
#include "embstat/analysis/bf16_kernels.hpp"
#include "embstat/base/display_text.hpp"
#include "embstat/base/dtype.hpp"
#include "embstat/base/error.hpp"

namespace embstat::cli {

void add_model_options(CLI::App* sub, ModelArgs& args, bool many) {
  if (many)
    sub->add_option("MODEL", args.models, "Model files, folders or hub ids in the local Hugging Face cache")
        ->required();
  else
    sub->add_option("MODEL", args.models, "A model file, folder or hub id in the local Hugging Face cache")
        ->required()
        ->expected(1);
  if (many)
    sub->add_flag("--fail-fast", args.fail_fast,
                  "Stop at the first MODEL that cannot be read (default: report it on stderr, analyse the others, "
                  "exit non-zero at the end)");
  sub->add_option("--tensor", args.tensor, "Tensor name to read instead of the detected embedding");
  sub->add_option("--matrix", args.matrix, "input: the token embedding; output: the unembedding (lm_head)")
      ->check(CLI::IsMember({"input", "output"}));
  sub->add_flag("--include-padding", args.include_padding,
                "Keep rows past the vocabulary (padding rows) in the statistics, as the original study did");
}

OpenOptions open_options(const ModelArgs& args) {
  OpenOptions o;
  o.tensor = args.tensor;
  o.matrix = args.matrix == "output" ? MatrixChoice::Output : MatrixChoice::Input;
  return o;
}

CLI::Validator non_negative_integer() {
  return CLI::Validator(
      [](std::string& value) {
        const bool digits = !value.empty() && value.find_first_not_of("0123456789") == std::string::npos;
        return digits ? std::string() : "'" + value + "' is not a non-negative integer";
      },
      "N");
}

void check_samples(std::int64_t samples, bool given, std::int64_t rows_used, const std::string& model) {
  if (given && samples > rows_used)
    throw_usage(fmt::format("--samples {} is more than the {} rows {} has to draw from", samples, rows_used, model));
}

CLI::Validator finite_range(double lo, double hi) {
  return CLI::Validator(
      [lo, hi](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v) || !std::isfinite(v)) return "'" + text + "' is not a finite number";
        if (v < lo || v > hi) return fmt::format("{} is not in [{}, {}]", text, lo, hi);
        return {};
      },
      fmt::format("FLOAT in [{}, {}]", lo, hi));
}

const CLI::Validator kNonEmptyPath(
    [](std::string& text) -> std::string { return text.empty() ? "the file name is empty" : std::string(); }, "PATH");

void add_format_option(CLI::App* sub, std::string& format) {
  sub->add_option("--format", format, "Output format: text, markdown, csv or json")
      ->check(CLI::IsMember({"text", "table", "markdown", "md", "csv", "json"}));
}

namespace {

// Padding rows are those past the vocabulary, unless --include-padding.
RowFilter row_filter(const Model& model, const ModelArgs& args, bool dedup) {
  RowFilter filter;
  filter.n_tokens = model.vocab.empty() ? -1 : static_cast<std::int64_t>(model.vocab.size());
  filter.include_padding = args.include_padding;
  filter.dedup = dedup;
  return filter;
}

}  // namespace

RowSet load_row_set(const Model& model, const ModelArgs& args, bool dedup) {
  RowSet rows = make_row_set(decode_to_f32(model.matrix), row_filter(model, args, dedup));
  announce_rows(model, row_counts(rows));
  return rows;
}

RowSet load_streamed_row_set(const Model& model, const ModelArgs& args) {
  if (model.matrix.dtype != DType::BF16 || model.matrix.data == nullptr || !bf16_kernel_available())
    return load_row_set(model, args);
  RowSet rows = make_streamed_row_set(model.matrix, row_filter(model, args, false));
  // Streamed passes multiply with the bf16 kernels, accurate only for rows of moderate norm.
  if (!rows.norms.empty()) {
    const auto [lo, hi] = std::minmax_element(rows.norms.begin(), rows.norms.end());
    if (!bf16_norms_in_range(*lo, *hi)) return load_row_set(model, args);
  }
  announce_rows(model, row_counts(rows));
  return rows;
}

void print_line(std::string_view text) {
  const std::string line = "embstat: " + escape_unprintable(text) + "\n";
  std::fputs(line.c_str(), stderr);
}

RowCounts row_counts(const RowSet& rows) {
  RowCounts c;
  c.total = rows.n_total;
  c.used = rows.size();
  c.padding = static_cast<std::int64_t>(rows.padding_rows.size());
  c.zero = static_cast<std::int64_t>(rows.zero_rows.size());
  c.non_finite = static_cast<std::int64_t>(rows.non_finite_rows.size());
  c.merged = static_cast<std::int64_t>(rows.merged_rows.size());
  return c;
}

void announce_rows(const Model& model, const RowCounts& counts) {
  std::string parts;
  auto add = [&](std::int64_t n, const char* what) {
    if (n == 0) return;
    parts += fmt::format("{}{} {}", parts.empty() ? "" : ", ", n, what);
  };
  add(counts.padding, "padding rows (no token)");
  add(counts.zero, "zero-norm rows");
  add(counts.non_finite, "rows holding NaN or Inf");
  add(counts.merged, "duplicate rows merged");
  if (counts.used == 0 && counts.total > 0)
    throw Error(ErrorKind::Format, model.name,
                fmt::format("no usable rows: all {} are left out ({})", counts.total, parts));
  for (const auto& note : model.notes) print_line(model.name + ": " + note);
  if (!parts.empty())
    print_line(fmt::format("{}: excluded {}; {} of {} rows used", model.name, parts, counts.used, counts.total));
}

std::vector<std::int64_t> parse_id_list(std::string_view spec) {
  std::vector<std::int64_t> ids;
  auto parse_int = [&](std::string_view s) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < 0)
      throw_usage("bad token id '" + std::string(s) + "' in '" + std::string(spec) + "'");
    return v;
  };
  std::size_t start = 0;
  while (start <= spec.size()) {
    std::size_t end = spec.find(',', start);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view item = spec.substr(start, end - start);
    if (item.empty()) throw_usage("empty item in id list '" + std::string(spec) + "'");
    // A range uses '-' (or the en dash that embstat prints).
    std::size_t dash = item.find('-');
    std::size_t dash_len = 1;
    if (dash == std::string_view::npos) {
      dash = item.find("–");
      dash_len = std::string_view("–").size();
    }
    if (dash == std::string_view::npos) {
      ids.push_back(parse_int(item));
    } else {
      const std::int64_t first = parse_int(item.substr(0, dash));
      const std::int64_t last = parse_int(item.substr(dash + dash_len));
      if (last < first) throw_usage("range '" + std::string(item) + "' runs backwards");
      if (last - first > 100'000'000) throw_usage("range '" + std::string(item) + "' is too large");
      for (std::int64_t i = first; i <= last; ++i) ids.push_back(i);
    }
    start = end + 1;
  }
  return ids;
}

void EachModel::note_failure(const Error& e) {
  print_line(e.what());
  ++n_failed_;
  worst_status_ = std::max(worst_status_, exit_code(e.kind()));
}

void EachModel::finish() const {
  if (n_failed_ == 0) return;
  if (!all_failed())
    std::fprintf(stderr, "embstat: %d of %zu models could not be read\n", n_failed_, args_.models.size());
  throw ExitStatus{worst_status_};
}

namespace {
int g_threads = 0;
}

int thread_count() {
  return g_threads > 0 ? g_threads : omp_get_max_threads();
}
void set_thread_count(int n) {
  const int cores = std::max(1, omp_get_num_procs());
  const int cap = kThreadsPerCore * cores;
  const bool asked = n > 0;
  if (!asked) n = omp_get_max_threads();
  if (n > cap) {
    print_line(fmt::format("{} {} is more than {} threads per core on this machine's {} cores: using {}",
                           asked ? "--threads" : "OMP_NUM_THREADS", n, kThreadsPerCore, cores, cap));
    n = cap;
  }
  g_threads = n;
  omp_set_num_threads(n);
}

}  // namespace embstat::cli
