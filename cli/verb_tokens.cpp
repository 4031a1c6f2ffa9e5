// `embstat tokens MODEL... [--top K] [--by negative|mean] [--prone F] [--engine auto|int16|fp32] [--dedup]`: per
// token, from one pass over every pair (sign_pairs with per-row tallies, or all_pairs with
// --engine fp32), how many other rows it has cos < 0 with and its mean cosine to all others; the
// tokens most often negative, and the id ranges where the negative-prone tokens (cos < 0 with more
// than a fraction F of the other rows, default one half) cluster — the study's "ids 0–92"
// observation, checked for the whole vocabulary.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>

#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "cli/verb.hpp"
#include "cli/version.hpp"
#include "embstat/analysis/all_pairs.hpp"
#include "embstat/analysis/id_ranges.hpp"
#include "embstat/analysis/sign_pairs.hpp"
#include "embstat/base/display_text.hpp"
#include "embstat/base/error.hpp"
#include "embstat/output/json_text.hpp"
#include "embstat/output/table.hpp"

namespace embstat::cli {

namespace {

struct TokensArgs {
  ModelArgs model;
  std::int64_t top = 20;
  std::string by = "negative";
  double prone = 0.5;
  std::string engine = "auto";  // int16: sign_pairs.hpp (exact signs); fp32: all_pairs.hpp; auto: see --engine
  bool dedup = false;
  std::string format = "text";
};

// Runs listed in the text output at most (the longest ones); JSON lists them all.
constexpr std::size_t kShownRuns = 30;
// Display columns of a run's text in the text output.
constexpr std::size_t kRunTextWidth = 40;

struct TokenRow {
  std::int64_t id;
  std::int64_t negative;
  double fraction;  // negative / (rows used - 1)
  double mean;      // mean cosine to every other row used
};

struct ModelTokens {
  Model model;
  std::int64_t rows = 0, rows_used = 0, dim = 0;
  std::int64_t padding_rows = 0, zero_rows = 0, merged_rows = 0, non_finite_rows = 0;  // left out
  std::uint64_t pairs = 0, negative_pairs = 0;
  std::vector<TokenRow> tokens;  // in id order
  std::vector<std::int64_t> prone;
  std::vector<IdRange> ranges;
};

ModelTokens run_model(const std::string& spec, const TokensArgs& args) {
  ModelTokens out;
  out.model = open_model(spec, open_options(args.model));
  Model& model = out.model;
  try {
    const RowSet rows = load_row_set(model, args.model, args.dedup);
    model.matrix = MatrixView{};  // unmaps the file: only the f32 rows stay resident during the pass
    out.rows = rows.n_total;
    out.rows_used = rows.size();
    out.dim = rows.dim();
    out.padding_rows = static_cast<std::int64_t>(rows.padding_rows.size());
    out.zero_rows = static_cast<std::int64_t>(rows.zero_rows.size());
    out.non_finite_rows = static_cast<std::int64_t>(rows.non_finite_rows.size());
    out.merged_rows = static_cast<std::int64_t>(rows.merged_rows.size());
    ProgressBar bar("all pairs of " + model.name);
    std::vector<std::int64_t> row_negative;
    std::vector<double> row_mean;
    // auto: the int16 pass where it is faster (AVX-512 VNNI: ~1.7x by CPU time, bench/README.md
    // "signs"); its AVX2 kernel only matches the fp32 engine, which then stays the default.
    const bool int16 = args.engine == "int16" ||
                       (args.engine == "auto" && resolve_sign_kernel(PairKernel::Auto) == PairKernel::Avx512);
    auto take = [&](auto&& r) {
      out.pairs = r.pairs;
      out.negative_pairs = r.negative;
      row_negative = std::move(r.row_negative);
      row_mean = std::move(r.row_mean);
    };
    if (int16) {
      SignPairsOptions options;
      options.per_row = true;
      options.progress = bar.callback();
      options.n_threads = thread_count();
      take(sign_pairs(rows, options));
    } else {
      AllPairsOptions options;
      options.per_row = true;
      options.quantiles = false;
      options.progress = bar.callback();
      options.n_threads = thread_count();
      take(all_pairs(rows, options));
    }
    bar.finish();
    const double others = static_cast<double>(rows.size() - 1);
    for (std::size_t p = 0; p < static_cast<std::size_t>(rows.size()); ++p) {
      out.tokens.push_back({rows.ids[p], row_negative[p], static_cast<double>(row_negative[p]) / others, row_mean[p]});
      if (out.tokens.back().fraction > args.prone) out.prone.push_back(rows.ids[p]);
    }
    // Rows the statistic left out (zero norm, non-finite, padding, merged) do not break a run.
    out.ranges = compress_ids(out.prone, rows.excluded_ids());
  } catch (const Error& e) {
    throw e.with_context(model.name);
  }
  return out;
}

std::string display_of(const Model& model, std::int64_t id) {
  return model.vocab.contains(id) ? model.vocab.display(id) : "";
}
std::string utf8_of(const Model& model, std::int64_t id) {
  return model.vocab.contains(id) ? model.vocab.utf8(id) : "";
}

// The display texts of a run's ids joined, whole tokens only, up to kRunTextWidth columns.
std::string run_text(const Model& model, const IdRange& run) {
  std::string out;
  for (std::int64_t id = run.first; id <= run.last; ++id) {
    const std::string next = out + display_of(model, id);
    if (display_width(next) > kRunTextWidth) return out + "…";
    out = next;
  }
  return out;
}

// Token positions in the order asked: most negatives first, or lowest mean first; ties by id.
std::vector<std::size_t> ranking(const ModelTokens& m, const std::string& by) {
  std::vector<std::size_t> order(m.tokens.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const TokenRow &x = m.tokens[a], &y = m.tokens[b];
    return by == "mean" ? x.mean < y.mean : x.negative > y.negative;
  });
  return order;
}

void print_tables(const ModelTokens& m, const TokensArgs& args, OutputFormat format, std::ostream& out) {
  const Model& model = m.model;
  const std::vector<std::size_t> order = ranking(m, args.by);
  const std::size_t shown = std::min(order.size(), static_cast<std::size_t>(args.top));
  // Without a vocabulary (a .npy) rows have no text: no text columns.
  const bool texts = !model.vocab.empty();
  std::vector<Table::Column> top_columns = {{"Id"}, {"Token", Align::Left}, {"Cos < 0"}, {"Fraction"}, {"Mean cos"}};
  if (!texts) top_columns.erase(top_columns.begin() + 1);
  Table top(top_columns);
  for (std::size_t k = 0; k < shown; ++k) {
    const TokenRow& t = m.tokens[order[k]];
    std::vector<std::string> cells = {std::to_string(t.id), display_of(model, t.id), std::to_string(t.negative),
                                      fixed(t.fraction, 4), fixed(t.mean, 4)};
    if (!texts) cells.erase(cells.begin() + 1);
    top.add_row(std::move(cells));
  }
  // The longest runs, listed in id order.
  std::vector<std::size_t> runs(m.ranges.size());
  std::iota(runs.begin(), runs.end(), 0);
  std::stable_sort(runs.begin(), runs.end(),
                   [&](std::size_t a, std::size_t b) { return m.ranges[a].count > m.ranges[b].count; });
  runs.resize(std::min(runs.size(), kShownRuns));
  std::sort(runs.begin(), runs.end());
  std::vector<Table::Column> range_columns = {{"Ids", Align::Left}, {"Count"}, {"Text", Align::Left}};
  if (!texts) range_columns.pop_back();
  Table ranges(range_columns);
  for (std::size_t r : runs) {
    std::vector<std::string> cells = {format_id_range(m.ranges[r]), std::to_string(m.ranges[r].count)};
    if (texts) cells.push_back(run_text(model, m.ranges[r]));
    ranges.add_row(std::move(cells));
  }

  const double others = static_cast<double>(m.rows_used - 1);
  const double mean_negative = 2.0 * static_cast<double>(m.negative_pairs) / static_cast<double>(m.rows_used);
  out << fmt::format("{}: {} rows used of {}, dim {}, {} pairs\n", escape_unprintable(model.name), m.rows_used, m.rows,
                     m.dim, m.pairs);
  out << fmt::format(
      "A token has cos < 0 with {:.1f} of the {} other rows on average ({:.4f}); {} tokens ({:.2f} %) "
      "are negative-prone (cos < 0 with more than {:g} % of the others), in {} runs of ids\n\n",
      mean_negative, m.rows_used - 1, mean_negative / others, m.prone.size(),
      100.0 * static_cast<double>(m.prone.size()) / static_cast<double>(m.rows_used), 100 * args.prone,
      m.ranges.size());
  out << (args.by == "mean" ? fmt::format("The {} tokens with the lowest mean cosine:\n", shown)
                            : fmt::format("The {} tokens most often negative:\n", shown));
  top.render(out, format);
  if (!m.ranges.empty()) {
    out << '\n'
        << (runs.size() < m.ranges.size()
                ? fmt::format("The {} longest runs of negative-prone ids (of {}; --format json lists all):\n",
                              runs.size(), m.ranges.size())
                : std::string("Runs of negative-prone ids:\n"));
    ranges.render(out, format);
  }
}

void print_csv(const std::vector<ModelTokens>& models, std::ostream& out) {
  Table t({{"model"}, {"id"}, {"text"}, {"negative"}, {"fraction"}, {"mean"}});
  for (const auto& m : models)
    for (const TokenRow& r : m.tokens)
      t.add_row({m.model.name, std::to_string(r.id), utf8_of(m.model, r.id), std::to_string(r.negative),
                 fmt::format("{}", r.fraction), fmt::format("{}", r.mean)});
  t.render_csv(out);
}

void print_json(const std::vector<ModelTokens>& models, const TokensArgs& args, std::ostream& out) {
  nlohmann::ordered_json jm = nlohmann::ordered_json::array();
  for (const auto& m : models) {
    nlohmann::ordered_json tokens = nlohmann::ordered_json::array();
    for (const TokenRow& r : m.tokens)
      tokens.push_back({{"id", r.id}, {"text", utf8_of(m.model, r.id)}, {"negative", r.negative}, {"mean", r.mean}});
    nlohmann::ordered_json ranges = nlohmann::ordered_json::array();
    for (const IdRange& r : m.ranges) ranges.push_back({{"first", r.first}, {"last", r.last}, {"count", r.count}});
    jm.push_back({{"model", m.model.name},
                  {"rows", m.rows},
                  {"dim", m.dim},
                  {"rows_used", m.rows_used},
                  {"excluded_rows",
                   {{"padding", m.padding_rows},
                    {"zero", m.zero_rows},
                    {"merged", m.merged_rows},
                    {"non_finite", m.non_finite_rows}}},
                  {"prone_fraction", args.prone},
                  {"tokens", tokens},
                  {"ranges", ranges}});
  }
  nlohmann::ordered_json doc = {{"models", jm}};
  stamp_json(doc, "tokens");
  out << json_text(doc) << '\n';  // compact: a row per token
}

void setup_tokens(CLI::App& app) {
  auto args = std::make_shared<TokensArgs>();
  CLI::App* sub = app.add_subcommand(
      "tokens",
      "Per token over all pairs: how many other rows it has cos < 0 with, and its mean cosine; the tokens\n"
      "most often negative and the id ranges where negative-prone tokens cluster (csv / json: every token)");
  add_model_options(sub, args->model, true);
  sub->add_option("--top,-k", args->top, "How many tokens to list (default 20)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
  sub->add_option("--by", args->by, "Order of the list: negative (most cos < 0 first, default) or mean (lowest first)")
      ->check(CLI::IsMember({"negative", "mean"}));
  sub->add_option("--prone", args->prone,
                  "A token is negative-prone when it has cos < 0 with more than this fraction of the other rows "
                  "(default 0.5)")
      ->check(finite_range(0.0, 1.0));
  sub->add_option("--engine", args->engine,
                  "int16: exact signs from an int16 pass with a proven error bound, pairs near 0 rechecked; fp32: "
                  "the sgemm engine of `pairs` (signs of the float32 cosines); auto (default): int16 where the CPU "
                  "has AVX-512 VNNI (~1.7x faster there), else fp32")
      ->check(CLI::IsMember({"auto", "int16", "fp32"}));
  sub->add_flag("--dedup", args->dedup, "Merge bit-identical rows first (reported on stderr)");
  add_format_option(sub, args->format);
  sub->callback([args] {
    const OutputFormat format = parse_output_format(args->format);
    std::vector<ModelTokens> models;
    EachModel each(args->model);
    each.run([&](const std::string& spec) { models.push_back(run_model(spec, *args)); });
    if (each.all_failed()) return each.finish();
    if (format == OutputFormat::Csv) {
      print_csv(models, std::cout);
    } else if (format == OutputFormat::Json) {
      print_json(models, *args, std::cout);
    } else {
      for (std::size_t k = 0; k < models.size(); ++k) {
        if (k) std::cout << '\n';
        print_tables(models[k], *args, format, std::cout);
      }
    }
    each.finish();
  });
}

const VerbRegistration kRegistration("tokens", 36, setup_tokens);

}  // namespace

}  // namespace embstat::cli
