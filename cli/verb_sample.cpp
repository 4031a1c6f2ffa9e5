// `embstat sample MODEL... [--samples N] [--seed S] [--targets IDS] [--baseline] [--sort KEY]`
#include "cli/verb_sample.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "cli/progress.hpp"
#include "cli/verb.hpp"
#include "cli/version.hpp"
#include "embstat/analysis/sampled_bf16.hpp"
#include "embstat/base/error.hpp"
#include "embstat/output/json_text.hpp"
#include "embstat/output/table.hpp"

namespace embstat::cli {

namespace {

const std::vector<std::string> kSortKeys = {"fraction", "mean", "median", "min", "max", "negative", "name", "none"};

std::vector<std::int64_t> explicit_targets(const SampleArgs& args) {
  if (args.targets.empty()) return {};
  std::vector<std::int64_t> ids = parse_id_list(args.targets);
  std::set<std::int64_t> seen;
  for (auto id : ids)
    if (!seen.insert(id).second) throw_usage("--targets lists row " + std::to_string(id) + " twice");
  return ids;
}

// Targets for `rows` (explicit, or drawn from its usable ids), sampled with a progress bar.
template <class Rows>
SampleSummary run_on(const Rows& rows, const std::vector<std::int64_t>& ids, const SampleArgs& args,
                     const std::string& label) {
  std::vector<std::int64_t> targets = explicit_targets(args);
  if (targets.empty()) {
    check_samples(args.samples, args.samples_given, static_cast<std::int64_t>(ids.size()), label);
    targets = draw_targets(ids, args.samples, args.seed);
  }
  ProgressBar bar("sampling " + label);
  SampleOptions options;
  options.progress = bar.callback();
  return sample_cosines(rows, targets, options);
}

void fill_shape(SampleRow& row, const RowSet& rows) {
  row.rows = rows.n_total;
  row.rows_used = rows.size();
  row.dim = rows.dim();
  row.padding_rows = static_cast<std::int64_t>(rows.padding_rows.size());
  row.zero_rows = static_cast<std::int64_t>(rows.zero_rows.size());
  row.non_finite_rows = static_cast<std::int64_t>(rows.non_finite_rows.size());
  row.merged_rows = static_cast<std::int64_t>(rows.merged_rows.size());
}

double sort_value(const SampleRow& r, const std::string& key) {
  const SampleSummary& s = r.summary;
  if (key == "mean") return s.mean;
  if (key == "median") return s.median;
  if (key == "min") return s.min;
  if (key == "max") return s.max;
  if (key == "negative") return s.negative;
  return s.fraction_non_negative;
}

// "0.12 ±0.03"
std::string with_spread(double mean, double std, int decimals) {
  return fixed(mean, decimals) + " ±" + fixed(std, decimals);
}

// Shortest text that reads back as the same double.
std::string exact(double v) {
  return fmt::format("{}", v);
}

void print_text(const std::vector<SampleRow>& rows, const SampleArgs& args, std::ostream& out) {
  Table t({{"Model", Align::Left},
           {"Rows"},
           {"Dim"},
           {"Targets"},
           {"Min"},
           {"Max"},
           {"Mean"},
           {"Median"},
           {"Cos ≥ 0"},
           {"Cos < 0"},
           {"Fraction ≥ 0"}});
  for (const auto& r : rows) {
    const SampleSummary& s = r.summary;
    t.add_row({r.model, std::to_string(r.rows_used), std::to_string(r.dim), std::to_string(s.per_target.size()),
               with_spread(s.min, s.min_std, 2), with_spread(s.max, s.max_std, 2), with_spread(s.mean, s.mean_std, 3),
               with_spread(s.median, s.median_std, 3), with_spread(s.non_negative, s.non_negative_std, 1),
               with_spread(s.negative, s.negative_std, 1),
               with_spread(s.fraction_non_negative, s.fraction_non_negative_std, 4)});
  }
  t.render_text(out);
  out << "Each target row against every other row; averages over targets ± their standard deviation.\n"
      << (args.targets.empty() ? fmt::format("Targets drawn with seed {} (std::mt19937_64).", args.seed)
                               : std::string("Targets given by --targets."));
  bool padding = false;
  for (const auto& r : rows) padding = padding || r.padding_rows > 0;
  if (padding) out << " Rows past the vocabulary excluded (--include-padding keeps them, as the study did).";
  out << '\n';
}

void print_markdown(const std::vector<SampleRow>& rows, std::ostream& out) {
  // Exactly the study's table: averages over targets.
  std::vector<StudyRow> study;
  for (const auto& r : rows) {
    const SampleSummary& s = r.summary;
    study.push_back({r.model, s.min, s.max, s.mean, s.median, fixed(s.non_negative, 2), fixed(s.negative, 2),
                     s.fraction_non_negative});
  }
  study_table(study).render_markdown(out);
}

void print_csv(const std::vector<SampleRow>& rows, std::ostream& out) {
  Table t({{"model"},
           {"baseline"},
           {"rows"},
           {"rows_used"},
           {"dim"},
           {"targets"},
           {"min"},
           {"min_std"},
           {"max"},
           {"max_std"},
           {"mean"},
           {"mean_std"},
           {"median"},
           {"median_std"},
           {"non_negative"},
           {"non_negative_std"},
           {"negative"},
           {"negative_std"},
           {"fraction_non_negative"},
           {"fraction_non_negative_std"}});
  for (const auto& r : rows) {
    const SampleSummary& s = r.summary;
    t.add_row({r.model,
               r.baseline ? "true" : "false",
               std::to_string(r.rows),
               std::to_string(r.rows_used),
               std::to_string(r.dim),
               std::to_string(s.per_target.size()),
               exact(s.min),
               exact(s.min_std),
               exact(s.max),
               exact(s.max_std),
               exact(s.mean),
               exact(s.mean_std),
               exact(s.median),
               exact(s.median_std),
               exact(s.non_negative),
               exact(s.non_negative_std),
               exact(s.negative),
               exact(s.negative_std),
               exact(s.fraction_non_negative),
               exact(s.fraction_non_negative_std)});
  }
  t.render_csv(out);
}

void print_json(const std::vector<SampleRow>& rows, const SampleArgs& args, std::ostream& out) {
  nlohmann::ordered_json models = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    const SampleSummary& s = r.summary;
    nlohmann::ordered_json targets = nlohmann::ordered_json::array();
    nlohmann::ordered_json per_target = nlohmann::ordered_json::array();
    for (std::size_t k = 0; k < s.per_target.size(); ++k) {
      const TargetStats& t = s.per_target[k];
      targets.push_back(t.id);
      per_target.push_back({{"id", t.id},
                            {"text", r.target_utf8[k]},
                            {"min", t.min},
                            {"max", t.max},
                            {"mean", t.mean},
                            {"median", t.median},
                            {"non_negative", t.non_negative},
                            {"negative", t.negative}});
    }
    models.push_back({{"model", r.model},
                      {"rows", r.rows},
                      {"dim", r.dim},
                      {"targets", targets},
                      {"min", s.min},
                      {"max", s.max},
                      {"mean", s.mean},
                      {"median", s.median},
                      {"non_negative", s.non_negative},
                      {"negative", s.negative},
                      {"fraction_non_negative", s.fraction_non_negative},
                      {"per_target", per_target},
                      // Beyond the study: spread across targets and which rows took part.
                      {"std",
                       {{"min", s.min_std},
                        {"max", s.max_std},
                        {"mean", s.mean_std},
                        {"median", s.median_std},
                        {"non_negative", s.non_negative_std},
                        {"negative", s.negative_std},
                        {"fraction_non_negative", s.fraction_non_negative_std}}},
                      {"rows_used", r.rows_used},
                      {"excluded_rows",
                       {{"padding", r.padding_rows},
                        {"zero", r.zero_rows},
                        {"merged", r.merged_rows},
                        {"non_finite", r.non_finite_rows}}},
                      {"baseline", r.baseline}});
  }
  nlohmann::ordered_json doc = {{"models", models}};
  if (args.targets.empty()) doc["seed"] = args.seed;
  stamp_json(doc, "sample");
  out << json_text(doc, 2) << '\n';
}

}  // namespace

SampleRow sample_model(const std::string& spec, const SampleArgs& args) {
  const Model model = open_model(spec, open_options(args.model));
  SampleRow row;
  row.model = model.name;
  try {
    std::optional<Bf16Rows> bf16;
    if (model.matrix.dtype == DType::BF16 && !args.dedup && bf16_kernel_available()) {
      RowFilter filter;
      filter.n_tokens = model.vocab.empty() ? -1 : static_cast<std::int64_t>(model.vocab.size());
      filter.include_padding = args.model.include_padding;
      bf16.emplace(make_bf16_rows(model.matrix, filter));
      if (!bf16->in_kernel_range()) bf16.reset();  // rows too small or large for its products
    }
    if (bf16) {
      // bf16 on an AVX512-BF16 CPU: dot products straight from the mapped rows, no f32 copy.
      const Bf16Rows& rows = *bf16;
      row.rows = rows.n_total;
      row.rows_used = rows.size();
      row.dim = rows.dim();
      row.padding_rows = static_cast<std::int64_t>(rows.padding_rows.size());
      row.zero_rows = static_cast<std::int64_t>(rows.zero_rows.size());
      row.non_finite_rows = static_cast<std::int64_t>(rows.non_finite_rows.size());
      announce_rows(model, {row.rows, row.rows_used, row.padding_rows, row.zero_rows, row.non_finite_rows, 0});
      row.summary = run_on(rows, rows.ids, args, model.name);
    } else {
      const RowSet rows = load_row_set(model, args.model, args.dedup);
      fill_shape(row, rows);
      row.summary = run_on(rows, rows.ids, args, model.name);
    }
  } catch (const Error& e) {
    throw e.with_context(model.name);
  }
  for (const auto& t : row.summary.per_target) {
    row.target_display.push_back(model.vocab.empty() ? "" : model.vocab.display(t.id));
    row.target_utf8.push_back(model.vocab.empty() ? "" : model.vocab.utf8(t.id));
  }
  return row;
}

SampleRow sample_baseline(std::int64_t n_rows, std::int64_t dim, const SampleArgs& args) {
  SampleRow row;
  row.model = fmt::format("random N(0,1) {}×{}", n_rows, dim);
  row.baseline = true;
  try {
    const RowSet rows = make_row_set(random_normal_matrix(n_rows, dim, args.seed), RowFilter{});
    fill_shape(row, rows);
    row.summary = run_on(rows, rows.ids, args, row.model);
  } catch (const Error& e) {
    throw e.with_context(row.model);
  }
  row.target_display.assign(row.summary.per_target.size(), "");
  row.target_utf8.assign(row.summary.per_target.size(), "");
  return row;
}

void print_sample_rows(std::vector<SampleRow> rows, const SampleArgs& args, std::ostream& out) {
  const std::string& key = args.sort;
  std::stable_sort(rows.begin(), rows.end(), [&](const SampleRow& a, const SampleRow& b) {
    if (a.baseline != b.baseline) return b.baseline;  // the control rows go last
    if (key == "none") return false;
    if (key == "name") return a.model < b.model;
    return sort_value(a, key) > sort_value(b, key);
  });
  switch (parse_output_format(args.format)) {
    case OutputFormat::Text:
      print_text(rows, args, out);
      break;
    case OutputFormat::Markdown:
      print_markdown(rows, out);
      break;
    case OutputFormat::Csv:
      print_csv(rows, out);
      break;
    case OutputFormat::Json:
      print_json(rows, args, out);
      break;
  }
}

namespace {

void setup_sample(CLI::App& app) {
  auto args = std::make_shared<SampleArgs>();
  CLI::App* sub = app.add_subcommand(
      "sample",
      "The study's table: N random target rows per model, each compared with every other row\n"
      "(min, max, mean, lower median, cos >= 0 / < 0 counts), averaged over targets with their spread");
  add_model_options(sub, args->model, true);
  auto* samples = sub->add_option("--samples,-n", args->samples, "Number of random target rows (default 50)")
                      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
  sub->add_option("--seed", args->seed,
                  "Seed of the target draw (std::mt19937_64) and of the --baseline matrix (default 0)")
      ->check(non_negative_integer());
  sub->add_option("--targets", args->targets, "Target row ids instead of random ones, e.g. 0-9,35,151643")
      ->excludes(samples);
  sub->add_flag("--baseline", args->baseline,
                "Add a row for a random N(0,1) matrix of each model's shape (the study's control, ~50 % >= 0)");
  sub->add_flag("--dedup", args->dedup, "Merge bit-identical rows first (reported on stderr)");
  sub->add_option("--sort", args->sort,
                  "Row order: fraction (default), mean, median, min, max, negative (descending), "
                  "name, none; baselines last")
      ->check(CLI::IsMember(kSortKeys));
  add_format_option(sub, args->format);
  sub->callback([args, samples] {
    args->samples_given = samples->count() > 0;
    std::vector<SampleRow> rows;
    std::vector<std::pair<std::int64_t, std::int64_t>> shapes;
    EachModel each(args->model);
    each.run([&](const std::string& spec) {
      rows.push_back(sample_model(spec, *args));
      const std::pair<std::int64_t, std::int64_t> shape{rows.back().rows, rows.back().dim};
      if (std::find(shapes.begin(), shapes.end(), shape) == shapes.end()) shapes.push_back(shape);
    });
    if (args->baseline)
      for (const auto& [n, d] : shapes) rows.push_back(sample_baseline(n, d, *args));
    if (!each.all_failed()) print_sample_rows(std::move(rows), *args, std::cout);
    each.finish();
  });
}

const VerbRegistration kRegistration("sample", 20, setup_sample);

}  // namespace

}  // namespace embstat::cli
