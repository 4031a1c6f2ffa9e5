// `embstat pairs MODEL... [--histogram FILE.csv] [--dedup]`: the study's question answered over
// every pair i < j of rows, exactly (embstat/analysis/all_pairs.hpp): counts of cos >= 0 / < 0,
// min and max with their pair, mean and standard deviation, exact median and quantiles, and the
// pairs whose sign float32 cannot settle (|cos| < 1e-6).
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/pairs_signs.hpp"
#include "cli/progress.hpp"
#include "cli/verb.hpp"
#include "cli/version.hpp"
#include "embstat/analysis/all_pairs.hpp"
#include "embstat/base/atomic_file.hpp"
#include "embstat/base/display_text.hpp"
#include "embstat/base/error.hpp"
#include "embstat/output/json_text.hpp"
#include "embstat/output/table.hpp"

namespace embstat::cli {

namespace {

struct PairsArgs {
  ModelArgs model;
  std::string histogram;  // --histogram FILE.csv
  bool dedup = false;
  bool signs_only = false;  // --signs-only: the int16 sign pass (cli/pairs_signs.hpp)
  std::string format = "text";
};

constexpr std::array<const char*, 6> kQuantileNames = {"p1", "p5", "p25", "p75", "p95", "p99"};

struct PairsRow : PairsModelRows {
  AllPairsResult result;
  SignPairsResult signs;                                                    // --signs-only: instead of result
  std::array<std::string, 2> min_display, max_display, min_utf8, max_utf8;  // texts of the two rows
};

PairsRow run_model(const std::string& spec, const PairsArgs& args) {
  Model model = open_model(spec, open_options(args.model));
  PairsRow row;
  row.model = model.name;
  try {
    const RowSet rows = load_row_set(model, args.model, args.dedup);
    model.matrix = MatrixView{};  // unmaps the file: only the f32 rows stay resident during the pass
    row.rows = rows.n_total;
    row.rows_used = rows.size();
    row.dim = rows.dim();
    row.padding_rows = static_cast<std::int64_t>(rows.padding_rows.size());
    row.zero_rows = static_cast<std::int64_t>(rows.zero_rows.size());
    row.non_finite_rows = static_cast<std::int64_t>(rows.non_finite_rows.size());
    row.merged_rows = static_cast<std::int64_t>(rows.merged_rows.size());
    ProgressBar bar("all pairs of " + model.name);
    if (args.signs_only) {
      SignPairsOptions options;
      options.progress = bar.callback();
      options.n_threads = thread_count();
      row.signs = sign_pairs(rows, options);
      bar.finish();
      return row;
    }
    AllPairsOptions options;
    options.progress = bar.callback();
    options.n_threads = thread_count();
    row.result = all_pairs(rows, options);
    bar.finish();
  } catch (const Error& e) {
    throw e.with_context(model.name);
  }
  if (row.result.passes > 1)
    print_line(fmt::format("{}: the exact quantiles took {} passes over all pairs", model.name, row.result.passes));
  auto texts = [&](std::pair<std::int64_t, std::int64_t> p, std::array<std::string, 2>& display,
                   std::array<std::string, 2>& utf8) {
    const std::int64_t ids[2] = {p.first, p.second};
    for (int k = 0; k < 2; ++k) {
      display[k] = model.vocab.contains(ids[k]) ? model.vocab.display(ids[k]) : "";
      utf8[k] = model.vocab.contains(ids[k]) ? model.vocab.utf8(ids[k]) : "";
    }
  };
  texts(row.result.min_pair, row.min_display, row.min_utf8);
  texts(row.result.max_pair, row.max_display, row.max_utf8);
  return row;
}

// Shortest text that reads back as the same double.
std::string exact(double v) {
  return fmt::format("{}", v);
}

std::string pair_text(std::pair<std::int64_t, std::int64_t> ids, const std::array<std::string, 2>& display) {
  if (display[0].empty() && display[1].empty()) return fmt::format("rows {} and {}", ids.first, ids.second);
  return fmt::format("{} \"{}\" and {} \"{}\"", ids.first, display[0], ids.second, display[1]);
}

void print_text(const std::vector<PairsRow>& rows, std::ostream& out) {
  Table t({{"Model", Align::Left},
           {"Rows"},
           {"Pairs"},
           {"Min"},
           {"Max"},
           {"Mean"},
           {"Std"},
           {"Median"},
           {"Cos ≥ 0"},
           {"Cos < 0"},
           {"Fraction ≥ 0"},
           {"|cos| < 1e-6"}});
  for (const auto& r : rows) {
    const AllPairsResult& s = r.result;
    t.add_row({r.model, std::to_string(r.rows_used), std::to_string(s.pairs), fixed(s.min, 4), fixed(s.max, 4),
               fixed(s.mean, 4), fixed(s.std, 4), fixed(s.median, 4), std::to_string(s.non_negative),
               std::to_string(s.negative), fixed(s.fraction_non_negative, 6), std::to_string(s.uncertain)});
  }
  t.render_text(out);
  out << "Every pair i < j of rows used, exactly (median and quantiles are exact order statistics).\n";
  for (const auto& r : rows) {
    const AllPairsResult& s = r.result;
    out << '\n' << escape_unprintable(r.model) << ":\n";
    out << fmt::format("  min {:.6f}: {}\n", s.min, pair_text(s.min_pair, r.min_display));
    out << fmt::format("  max {:.6f}: {}\n", s.max, pair_text(s.max_pair, r.max_display));
    std::string q;
    for (std::size_t k = 0; k < kQuantileNames.size(); ++k)
      q += fmt::format("{}{} {:.4f}", k ? ", " : "", kQuantileNames[k], s.quantiles[k]);
    out << "  quantiles: " << q << '\n';
    out << fmt::format(
        "  mean check: (|sum u|^2 - sum |u|^2) / (n (n - 1)) = {:.9f}, all pairs {:.9f} (differ by {:.1e})\n",
        s.mean_identity, s.mean, std::abs(s.mean - s.mean_identity));
  }
}

void print_markdown(const std::vector<PairsRow>& rows, std::ostream& out) {
  // The study's table, now over all pairs: exact counts.
  std::vector<StudyRow> study;
  for (const auto& r : rows) {
    const AllPairsResult& s = r.result;
    study.push_back({r.model, s.min, s.max, s.mean, s.median, std::to_string(s.non_negative),
                     std::to_string(s.negative), s.fraction_non_negative});
  }
  study_table(study).render_markdown(out);
}

void print_csv(const std::vector<PairsRow>& rows, std::ostream& out) {
  std::vector<Table::Column> columns = {{"model"},         {"rows"},         {"rows_used"}, {"dim"},
                                        {"pairs"},         {"non_negative"}, {"negative"},  {"fraction_non_negative"},
                                        {"uncertain"},     {"min"},          {"min_id_a"},  {"min_id_b"},
                                        {"max"},           {"max_id_a"},     {"max_id_b"},  {"mean"},
                                        {"mean_identity"}, {"std"},          {"median"}};
  for (const char* q : kQuantileNames) columns.push_back({q});
  Table t(columns);
  for (const auto& r : rows) {
    const AllPairsResult& s = r.result;
    std::vector<std::string> cells = {r.model,
                                      std::to_string(r.rows),
                                      std::to_string(r.rows_used),
                                      std::to_string(r.dim),
                                      std::to_string(s.pairs),
                                      std::to_string(s.non_negative),
                                      std::to_string(s.negative),
                                      exact(s.fraction_non_negative),
                                      std::to_string(s.uncertain),
                                      exact(s.min),
                                      std::to_string(s.min_pair.first),
                                      std::to_string(s.min_pair.second),
                                      exact(s.max),
                                      std::to_string(s.max_pair.first),
                                      std::to_string(s.max_pair.second),
                                      exact(s.mean),
                                      exact(s.mean_identity),
                                      exact(s.std),
                                      exact(s.median)};
    for (double q : s.quantiles) cells.push_back(exact(q));
    t.add_row(std::move(cells));
  }
  t.render_csv(out);
}

void print_json(const std::vector<PairsRow>& rows, std::ostream& out) {
  nlohmann::ordered_json models = nlohmann::ordered_json::array();
  for (const auto& r : rows) {
    const AllPairsResult& s = r.result;
    nlohmann::ordered_json quantiles = nlohmann::ordered_json::object();
    for (std::size_t k = 0; k < kQuantileNames.size(); ++k) quantiles[kQuantileNames[k]] = s.quantiles[k];
    auto pair = [](std::pair<std::int64_t, std::int64_t> ids, const std::array<std::string, 2>& utf8) {
      return nlohmann::ordered_json{{"ids", {ids.first, ids.second}}, {"texts", {utf8[0], utf8[1]}}};
    };
    nlohmann::ordered_json m = model_rows_json(r);
    m.update(nlohmann::ordered_json{{"pairs", s.pairs},
                                    {"non_negative", s.non_negative},
                                    {"negative", s.negative},
                                    {"fraction_non_negative", s.fraction_non_negative},
                                    {"min", s.min},
                                    {"max", s.max},
                                    {"min_pair", pair(s.min_pair, r.min_utf8)},
                                    {"max_pair", pair(s.max_pair, r.max_utf8)},
                                    {"mean", s.mean},
                                    {"mean_identity", s.mean_identity},
                                    {"std", s.std},
                                    {"median", s.median},
                                    {"quantiles", quantiles},
                                    {"uncertain", s.uncertain},
                                    {"passes", s.passes}});
    models.push_back(std::move(m));
  }
  nlohmann::ordered_json doc = {{"models", models}};
  stamp_json(doc, "pairs");
  out << json_text(doc, 2) << '\n';
}

// One CSV for all models: bin_lo, bin_hi, then one count column per model (named as the table).
void write_histogram(const std::string& path, const std::vector<PairsRow>& rows) {
  std::vector<Table::Column> columns = {{"bin_lo"}, {"bin_hi"}};
  for (const auto& r : rows) columns.push_back({r.model});
  Table t(columns);
  const std::size_t n_bins = rows.front().result.histogram.size();
  for (std::size_t b = 0; b < n_bins; ++b) {
    std::vector<std::string> cells = {exact(-1.0 + 2.0 * static_cast<double>(b) / static_cast<double>(n_bins)),
                                      exact(-1.0 + 2.0 * static_cast<double>(b + 1) / static_cast<double>(n_bins))};
    for (const auto& r : rows) cells.push_back(std::to_string(r.result.histogram[b]));
    t.add_row(std::move(cells));
  }
  write_file_atomically(path, [&](std::ostream& out) { t.render_csv(out); });
}

void setup_pairs(CLI::App& app) {
  auto args = std::make_shared<PairsArgs>();
  CLI::App* sub = app.add_subcommand(
      "pairs",
      "Every pair of rows, exactly: cos >= 0 / < 0 counts, min and max with their pair, mean, std,\n"
      "exact median and quantiles (p1 p5 p25 p75 p95 p99), and |cos| < 1e-6 (sign unsettled in float32)");
  add_model_options(sub, args->model, true);
  sub->add_option("--histogram", args->histogram,
                  "Write the distribution to FILE.csv: 4,096 equal bins over [-1, 1], columns bin_lo, bin_hi and "
                  "one count column per model")
      ->check(kNonEmptyPath);
  sub->add_flag("--dedup", args->dedup, "Merge bit-identical rows first (reported on stderr)");
  sub->add_flag("--signs-only", args->signs_only,
                "Only the exact counts of cos >= 0 / < 0 (and |cos| < 1e-6, mean), from the int16 sign pass (~1.8x "
                "faster by CPU time with AVX-512 VNNI); no extremes, quantiles or histogram");
  add_format_option(sub, args->format);
  sub->callback([args] {
    const OutputFormat format = parse_output_format(args->format);
    if (args->signs_only) {
      if (!args->histogram.empty()) throw_usage("--histogram needs the full pass: leave out --signs-only");
      std::vector<PairsSigns> rows;
      EachModel each(args->model);
      each.run([&](const std::string& spec) {
        PairsRow r = run_model(spec, *args);
        rows.push_back({static_cast<const PairsModelRows&>(r), r.signs});
      });
      if (!each.all_failed()) print_pairs_signs(rows, format, std::cout);
      return each.finish();
    }
    if (!args->histogram.empty()) check_can_write(args->histogram);  // fail before the long computation
    std::vector<PairsRow> rows;
    EachModel each(args->model);
    each.run([&](const std::string& spec) { rows.push_back(run_model(spec, *args)); });
    if (each.all_failed()) return each.finish();
    if (!args->histogram.empty()) write_histogram(args->histogram, rows);
    switch (format) {
      case OutputFormat::Text:
        print_text(rows, std::cout);
        break;
      case OutputFormat::Markdown:
        print_markdown(rows, std::cout);
        break;
      case OutputFormat::Csv:
        print_csv(rows, std::cout);
        break;
      case OutputFormat::Json:
        print_json(rows, std::cout);
        break;
    }
    each.finish();
  });
}

const VerbRegistration kRegistration("pairs", 34, setup_pairs);

}  // namespace

}  // namespace embstat::cli
