// `embstat report MODEL... [-o report.html] [--token T] [--samples N] [--seed S] [--png DIR]`
//
// One self-contained HTML file telling each model's story: the study's sampled table next to the
// exact all-pairs table and the random N(0,1) control, the distribution of pairwise cosines,
// per-token negativity along the id axis, token classes, the centring / top-component
// explanation (geometry), a chosen token's negative ranges, and how it was all made. This file
// runs the analyses and fills the JSON that embstat/output/report/page.js draws (keys in
// doc/report.md); html_report.cpp assembles the page.
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <span>

#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "cli/report_export.hpp"
#include "cli/verb.hpp"
#include "cli/verb_sample.hpp"
#include "embstat/analysis/all_pairs.hpp"
#include "embstat/analysis/geometry.hpp"
#include "embstat/analysis/id_ranges.hpp"
#include "embstat/analysis/sampled.hpp"
#include "embstat/analysis/token_classes.hpp"
#include "embstat/base/atomic_file.hpp"
#include "embstat/base/display_text.hpp"
#include "embstat/base/error.hpp"
#include "embstat/base/xxh64.hpp"
#include "embstat/output/html_report.hpp"
#include "embstat/output/report_assets.hpp"

namespace embstat::cli {
namespace {

using json = nlohmann::json;

// The control's exact all-pairs pass is run when it has at most this many rows: 32,768 rows
// are 537 M pairs, a few seconds at d = 1,024. Beyond, the table shows the sampled control and
// the chart its exact limit density (random_cosine_density), which the all-pairs values of a
// random matrix match to the histogram's resolution anyway.
constexpr std::int64_t kExactBaselineMaxRows = 32768;
// Bins of the exact histogram (over [-1, 1]) the distribution curves are merged from.
constexpr int kHistogramBins = 4096;
// Points over the central 98 % of each model's distribution curve.
constexpr int kDistributionPoints = 150;
// Points of each random-control density curve.
constexpr int kBaselineDensityPoints = 241;
// Bins along the token-id axis: 262k ids become ~1,000 bars of 263 ids.
constexpr int kTokenBins = 1000;
// When ids are binned, the first kHeadIds ids are also kept one per bar: tokenizers put their
// specials, byte tokens and single characters there (the study's ids 0-92), and a 262k-token
// axis would squeeze them into one bin.
constexpr std::int64_t kHeadIds = 1024;
// Examples (most negative-prone tokens) listed per id bin.
constexpr int kBinExamples = 3;
// A token is "negative-prone" when it has a negative cosine with more than half of the others.
constexpr double kNegativeProneFraction = 0.5;
// Runs of negative-prone ids kept in the report (the largest), and of --token's negative ids
// (in id order): bounds the file size for 262k-token vocabularies.
constexpr std::size_t kMaxProneRanges = 500;
constexpr std::size_t kMaxTokenRanges = 400;
// Characters of decoded text kept per range.
constexpr std::size_t kRangeTextChars = 80;

struct ReportArgs {
  ModelArgs model;
  std::string output = "report.html";
  std::string token;
  std::int64_t samples = 50;
  bool samples_given = false;  // --samples on the command line (else the default adapts)
  std::uint64_t seed = 0;
  std::string png_dir;
  std::string title;
  int components = 10;
  bool exact = true;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string utc_string(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// The command line as the shell saw it (from /proc/self/cmdline), quoted where needed.
std::string command_line() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string out;
  std::size_t start = 0;
  while (start < raw.size()) {
    std::size_t end = raw.find('\0', start);
    if (end == std::string::npos) end = raw.size();
    const std::string arg = raw.substr(start, end - start);
    if (!out.empty()) out += ' ';
    const bool plain = !arg.empty() && arg.find_first_not_of(
                                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789_./:=@%+,-") == std::string::npos;
    if (plain) {
      out += arg;
    } else {
      out += '\'';
      for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += '\'';
    }
    start = end + 1;
  }
  return out;
}

json file_json(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return {{"path", path}, {"bytes", nullptr}, {"mtime_utc", "(cannot stat)"}};
  return {{"path", std::filesystem::absolute(path).lexically_normal().string()},
          {"bytes", static_cast<std::uint64_t>(st.st_size)},
          {"mtime_utc", utc_string(st.st_mtime)}};
}

std::string text_of(const Model& model, std::int64_t id) {
  return model.vocab.empty() ? std::string() : model.vocab.display(id);
}

// One code point?
bool single_char(const std::string& s) {
  if (s.empty()) return false;
  std::size_t i = 1;
  while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
  return i == s.size();
}

// The text of a run of tokens: concatenated when every token is one character (the study's
// "!\"#$%&'()*+,-./0123..." for ids 0-92), else each token quoted and separated by spaces, so
// leading spaces and token boundaries stay visible (" the" "a"). Display form, cut to
// kRangeTextChars.
std::string run_text(const std::vector<std::string>& tokens) {
  const bool chars = std::all_of(tokens.begin(), tokens.end(), single_char);
  std::string text;
  for (const std::string& t : tokens) {
    if (chars) {
      text += t;
      continue;
    }
    if (!text.empty()) text += ' ';
    text += '"';
    for (char c : t) text += c == '"' ? std::string("\\\"") : std::string(1, c);
    text += '"';
  }
  return truncate_utf8(text, kRangeTextChars);
}

// `ids` (ascending) as runs {first, last, count, text}.
std::vector<json> ranges_json(const Model& model, const RowSet& rows, const std::vector<std::int64_t>& ids) {
  const std::vector<IdRange> ranges = compress_ids(ids, rows.excluded_ids());
  std::vector<json> out;
  out.reserve(ranges.size());
  std::size_t k = 0;
  std::vector<std::string> tokens;
  for (const IdRange& r : ranges) {
    tokens.clear();
    for (; k < ids.size() && ids[k] <= r.last; ++k)
      if (tokens.size() < kRangeTextChars) tokens.push_back(text_of(model, ids[k]));  // enough to cut from
    out.push_back({{"first", r.first},
                   {"last", r.last},
                   {"count", r.count},
                   {"text", model.vocab.empty() ? std::string() : run_text(tokens)}});
  }
  return out;
}

json sampled_json(const SampleSummary& s) {
  json targets = json::array();
  for (const auto& t : s.per_target) targets.push_back(t.id);
  return {{"targets", targets},
          {"min", s.min},
          {"max", s.max},
          {"mean", s.mean},
          {"median", s.median},
          {"non_negative", s.non_negative},
          {"negative", s.negative},
          {"fraction_non_negative", s.fraction_non_negative},
          {"fraction_non_negative_std", s.fraction_non_negative_std},
          {"min_std", s.min_std},
          {"max_std", s.max_std},
          {"mean_std", s.mean_std},
          {"median_std", s.median_std}};
}

json exact_json(const AllPairsResult& r, const Model* model) {
  auto pair = [&](const std::pair<std::int64_t, std::int64_t>& p) {
    json a = json::array();
    for (std::int64_t id : {p.first, p.second})
      a.push_back({{"id", id}, {"text", model ? text_of(*model, id) : std::string()}});
    return a;
  };
  json q = json::object();
  for (std::size_t i = 0; i < kQuantileLevels.size(); ++i)
    q[fmt::format("p{}", std::lround(kQuantileLevels[i] * 100))] = r.quantiles[i];
  return {{"pairs", r.pairs},
          {"non_negative", r.non_negative},
          {"negative", r.negative},
          {"fraction_non_negative", r.fraction_non_negative},
          {"min", r.min},
          {"max", r.max},
          {"min_pair", pair(r.min_pair)},
          {"max_pair", pair(r.max_pair)},
          {"mean", r.mean},
          {"std", r.std},
          {"median", r.median},
          {"quantiles", q},
          {"uncertain", r.uncertain},
          {"mean_identity", r.mean_identity}};
}

AllPairsResult run_all_pairs(const RowSet& rows, bool per_row, const std::string& label) {
  ProgressBar bar("all pairs " + label);
  AllPairsOptions o;
  o.per_row = per_row;
  o.histogram_bins = kHistogramBins;
  o.progress = bar.callback();
  AllPairsResult r = all_pairs(rows, o);
  bar.finish();
  return r;
}

// Exact per-class fraction of negative pairs from the per-row tallies: the pairs (i in class,
// j any other row), as geometry's ClassStats defines it.
json classes_json(const GeometryReport& g, const Model& model, const RowSet& rows, const AllPairsResult* exact) {
  std::map<TokenClass, std::pair<std::int64_t, std::int64_t>> tallies;  // class -> (negatives, rows)
  if (exact && !exact->row_negative.empty()) {
    const std::vector<TokenClass> cls = classify_rows(model.vocab, rows.ids);
    for (std::size_t i = 0; i < cls.size(); ++i) {
      tallies[cls[i]].first += exact->row_negative[i];
      tallies[cls[i]].second += 1;
    }
  }
  json out = json::array();
  const double others = static_cast<double>(rows.size() - 1);
  for (const ClassStats& c : g.classes) {
    double fraction = c.fraction_negative;
    bool is_exact = c.fraction_negative_exact;
    if (auto it = tallies.find(c.cls); it != tallies.end() && it->second.second > 0) {
      fraction = static_cast<double>(it->second.first) / (static_cast<double>(it->second.second) * others);
      is_exact = true;
    }
    json examples = json::array();
    for (std::int64_t id : c.examples) examples.push_back(text_of(model, id));
    out.push_back({{"class", token_class_name(c.cls)},
                   {"description", token_class_description(c.cls)},
                   {"count", c.count},
                   {"mean_norm", c.mean_norm},
                   {"mean_cosine", c.mean_cosine},
                   {"fraction_negative", fraction},
                   {"fraction_negative_exact", is_exact},
                   {"examples", examples}});
  }
  return out;
}

json geometry_report_json(const GeometryReport& g, const Model& model, const RowSet& rows,
                          const AllPairsResult* exact) {
  json rogue = json::array();
  for (const auto& r : g.rogue_dimensions) rogue.push_back({{"dim", r.dim}, {"share", r.share}});
  auto finite = [](std::optional<double> v) { return v && std::isfinite(*v) ? json(*v) : json(nullptr); };
  return {{"mean_norm_ratio", g.mean_norm_ratio},
          {"mean_cosine", g.mean_cosine},
          {"cos_to_mean", {{"fraction_positive", g.cos_to_mean.fraction_positive}, {"median", g.cos_to_mean.median}}},
          {"fraction_non_negative", g.original.sampled},
          {"fraction_non_negative_centered", g.centered.sampled},
          {"fraction_non_negative_all_but_top", g.all_but_top.sampled},
          {"all_but_top_components", g.removed},
          {"removed_variance", g.removed_variance},
          {"explained_variance", g.explained_variance},
          {"isotropy_iw", finite(g.isotropy_iw)},
          {"log_isotropy_iw", finite(g.log_isotropy_iw)},
          {"isoscore", g.isoscore},
          {"spectrum_method", g.spectrum.method},
          {"isoscore_se", g.spectrum.isoscore_se},
          {"rogue_dimensions", rogue},
          {"classes", classes_json(g, model, rows, exact)},
          {"duplicate_rows", g.duplicates.redundant},
          {"notes", g.notes}};
}

// --token: the token's id in `model` (a row id, or a text the vocabulary resolves).
std::optional<std::int64_t> resolve_token(const Model& model, const std::string& token) {
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(token.data(), token.data() + token.size(), id);
  if (ec == std::errc() && p == token.data() + token.size()) return id;
  if (model.vocab.empty()) return std::nullopt;
  return model.vocab.find(token);
}

json token_json(const Model& model, const RowSet& rows, const std::string& token, std::string& note) {
  const auto id = resolve_token(model, token);
  if (!id) {
    note = fmt::format("--token '{}': no token of {} is spelled so (give an id, the exact piece or its decoded text)",
                       token, model.name);
    return nullptr;
  }
  if (const std::string why = why_not_in(rows, *id); !why.empty()) {
    note = fmt::format("--token {}: row {} of {} is {}, it has no cosine", token, *id, model.name, why);
    return nullptr;
  }
  const std::vector<float> cos = cosines_to(rows, *id);
  const std::int64_t self = *rows.index_of(*id);
  std::vector<std::int64_t> negative;
  std::vector<double> is_negative(cos.size()), zero(cos.size(), 0.0);
  for (std::size_t p = 0; p < cos.size(); ++p) {
    is_negative[p] = static_cast<std::int64_t>(p) != self && cos[p] < 0.0f ? 1.0 : 0.0;
    if (is_negative[p] > 0) negative.push_back(rows.ids[p]);
  }
  std::vector<json> ranges = ranges_json(model, rows, negative);
  const std::size_t n_ranges = ranges.size();
  if (ranges.size() > kMaxTokenRanges) ranges.resize(kMaxTokenRanges);
  // The id axis binned like the per-token chart: per bin, the fraction of its tokens negative to
  // this one (exact per id when the vocabulary has at most kTokenBins ids).
  json bins = bin_token_values(rows.ids, is_negative, zero, model.matrix.n_rows, kTokenBins, kBinExamples,
                               [&](std::int64_t i) { return text_of(model, i); });
  return {{"id", *id},
          {"text", text_of(model, *id)},
          {"negative", negative.size()},
          {"compared", rows.size() - 1},
          {"id_end", model.matrix.n_rows},
          {"n_ranges", n_ranges},
          {"ranges", ranges},
          {"bins", bins["bins"]},
          {"bin_size", bins["bin_size"]}};
}

json tokens_json(const Model& model, const RowSet& rows, const AllPairsResult& exact) {
  const double others = static_cast<double>(rows.size() - 1);
  std::vector<double> fraction(exact.row_negative.size());
  std::vector<std::int64_t> prone;
  for (std::size_t i = 0; i < fraction.size(); ++i) {
    fraction[i] = static_cast<double>(exact.row_negative[i]) / others;
    if (fraction[i] > kNegativeProneFraction) prone.push_back(rows.ids[i]);
  }
  auto text = [&](std::int64_t id) { return text_of(model, id); };
  json out = bin_token_values(rows.ids, fraction, exact.row_mean, model.matrix.n_rows, kTokenBins, kBinExamples, text);
  if (out["bin_size"].get<std::int64_t>() > 1) {
    const auto head =
        static_cast<std::size_t>(std::lower_bound(rows.ids.begin(), rows.ids.end(), kHeadIds) - rows.ids.begin());
    const std::int64_t head_end = std::min<std::int64_t>(kHeadIds, model.matrix.n_rows);
    out["head"] =
        bin_token_values(std::span(rows.ids).first(head), std::span(fraction).first(head),
                         std::span(exact.row_mean).first(head), head_end, static_cast<int>(head_end), 1, text);
  }
  std::vector<json> ranges = ranges_json(model, rows, prone);
  const std::size_t n_ranges = ranges.size();
  if (ranges.size() > kMaxProneRanges) {
    std::stable_sort(ranges.begin(), ranges.end(), [](const json& a, const json& b) {
      return a["count"].get<std::int64_t>() > b["count"].get<std::int64_t>();
    });
    ranges.resize(kMaxProneRanges);
    std::sort(ranges.begin(), ranges.end(), [](const json& a, const json& b) {
      return a["first"].get<std::int64_t>() < b["first"].get<std::int64_t>();
    });
  }
  out["threshold"] = kNegativeProneFraction;
  out["prone_tokens"] = prone.size();
  out["n_ranges"] = n_ranges;
  out["ranges"] = ranges;
  return out;
}

json model_json(const std::string& spec, const ReportArgs& args) {
  const auto t_open = std::chrono::steady_clock::now();
  const Model model = open_model(spec, open_options(args.model));
  json m;
  m["name"] = model.name;
  m["spec"] = spec;
  m["format"] = model.format;
  m["rows"] = model.matrix.n_rows;
  m["dim"] = model.matrix.n_cols;
  m["tied"] = model.tied;
  m["notes"] = model.notes;
  m["tokenizer"] = model.vocab.empty() ? json(nullptr) : json{{"kind", model.vocab.kind}, {"size", model.vocab.size()}};
  m["files"] = json::array();
  for (const auto& f : model.files) m["files"].push_back(file_json(f));
  if (model.tensor) {
    const TensorInfo& t = *model.tensor;
    json tensor = {{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"shape", t.shape},
                   {"file", t.file}, {"file_offset", t.file_offset}, {"bytes", t.n_bytes}};
    if (model.matrix.data && model.matrix.byte_size() == t.n_bytes)
      tensor["xxh64"] = xxh64_hex(xxh64({model.matrix.data, static_cast<std::size_t>(t.n_bytes)}));
    m["tensor"] = tensor;
  }
  json seconds = json::object();
  const RowSet rows = load_row_set(model, args.model);
  if (rows.size() < 2) throw_usage(fmt::format("{} has {} usable rows: nothing to compare", model.name, rows.size()));
  m["used_rows"] = rows.size();
  m["padding_rows"] = rows.padding_rows.size();
  m["zero_rows"] = rows.zero_rows.size();
  m["non_finite_rows"] = rows.non_finite_rows.size();
  seconds["load"] = seconds_since(t_open);

  auto t = std::chrono::steady_clock::now();
  {
    ProgressBar bar("sampling " + model.name);
    SampleOptions o;
    o.progress = bar.callback();
    check_samples(args.samples, args.samples_given, rows.size(), model.name);
    m["sampled"] = sampled_json(sample_cosines(rows, draw_targets(rows, args.samples, args.seed), o));
  }
  seconds["sampled"] = seconds_since(t);

  std::optional<AllPairsResult> exact;
  if (args.exact) {
    t = std::chrono::steady_clock::now();
    exact = run_all_pairs(rows, true, model.name);
    seconds["all_pairs"] = seconds_since(t);
    m["exact"] = exact_json(*exact, &model);
    m["distribution"] = histogram_density(exact->histogram, -1.0, 1.0, kDistributionPoints);
    m["tokens"] = tokens_json(model, rows, *exact);
  }

  // The control: an N(0,1) matrix of the model's shape, as `sample --baseline` draws it.
  t = std::chrono::steady_clock::now();
  SampleArgs sargs;
  sargs.samples = args.samples;
  sargs.seed = args.seed;
  const SampleRow control = sample_baseline(model.matrix.n_rows, model.matrix.n_cols, sargs);
  json baseline = {{"rows", control.rows_used},
                   {"dim", control.dim},
                   {"seed", args.seed},
                   {"sampled", sampled_json(control.summary)}};
  if (args.exact && control.rows_used <= kExactBaselineMaxRows) {
    const RowSet random_rows =
        make_row_set(random_normal_matrix(model.matrix.n_rows, model.matrix.n_cols, args.seed), RowFilter{});
    baseline["exact"] = exact_json(run_all_pairs(random_rows, false, control.model), nullptr);
  } else {
    baseline["exact"] = nullptr;
    baseline["exact_note"] =
        args.exact ? fmt::format("not run above {} rows: see the dashed density in the chart", kExactBaselineMaxRows)
                   : std::string("--no-exact");
  }
  m["baseline"] = baseline;
  seconds["baseline"] = seconds_since(t);

  t = std::chrono::steady_clock::now();
  {
    ProgressBar bar("geometry " + model.name);
    GeometryOptions o;
    o.components = args.components;
    o.samples = args.samples;
    o.seed = args.seed;
    o.progress = bar.callback();
    const GeometryReport g = analyze_geometry(rows, model.vocab, o, model.matrix);
    bar.finish();
    m["geometry"] = geometry_report_json(g, model, rows, exact ? &*exact : nullptr);
  }
  seconds["geometry"] = seconds_since(t);

  if (!args.token.empty()) {
    std::string note;
    m["token"] = token_json(model, rows, args.token, note);
    if (!note.empty()) {
      print_line(note);
      m["notes"].push_back(note);
    }
  }
  m["seconds"] = seconds;
  return m;
}

void run_report(const ReportArgs& args) {
  const auto t0 = std::chrono::steady_clock::now();
  // Refuse before the long analyses when the report cannot be written or exported.
  if (!html_report_available()) render_html_report(json::object(), "");  // throws, saying how to fix it
  if (!args.png_dir.empty() && find_chromium().empty()) export_report_images(args.output, args.png_dir);  // throws
  check_can_write(args.output);

  json data;
  data["schema"] = 1;
  json models = json::array();
  std::map<std::string, int> seen;
  std::vector<std::int64_t> dims;
  EachModel each(args.model);
  each.run([&](const std::string& spec) { models.push_back(model_json(spec, args)); });
  if (each.all_failed()) return each.finish();
  // Display names: the model's own short name, made unique ("x (2)") so colours and legends
  // tell them apart.
  for (auto& m : models) {
    const std::string base = m["name"].get<std::string>();
    const int n = ++seen[base];
    if (n > 1) m["name"] = fmt::format("{} ({})", base, n);
    const std::int64_t d = m["dim"].get<std::int64_t>();
    if (d > 2 && std::find(dims.begin(), dims.end(), d) == dims.end()) dims.push_back(d);
  }
  data["models"] = std::move(models);
  data["baseline_distributions"] = json::array();
  for (std::int64_t d : dims)
    data["baseline_distributions"].push_back(random_cosine_density(d, kBaselineDensityPoints));

  json library = json::array();
  for (const auto& l : report_assets().library)
    library.push_back({{"package", l.package}, {"version", l.version}, {"license", l.license}});
  char cwd[4096];
  data["provenance"] = {{"embstat_version", EMBSTAT_VERSION},
                        {"command", command_line()},
                        {"cwd", getcwd(cwd, sizeof cwd) ? cwd : ""},
                        {"generated_utc", utc_string(std::time(nullptr))},
                        {"seed", args.seed},
                        {"samples", args.samples},
                        {"threads", thread_count()},
                        {"library", library},
                        {"wall_seconds", seconds_since(t0)}};
  std::string title = args.title;
  if (title.empty()) {
    title = "embstat report: ";
    for (std::size_t i = 0; i < data["models"].size(); ++i)
      title += (i ? ", " : "") + data["models"][i]["name"].get<std::string>();
  }
  write_html_report(args.output, data, title);
  std::error_code ec;  // a device or pipe has no size
  const auto size = std::filesystem::file_size(args.output, ec);
  std::cout << fmt::format("wrote {} ({}{} model{}, {:.1f} s)\n", escape_unprintable(args.output),
                           ec ? std::string() : fmt::format("{:.1f} MB, ", static_cast<double>(size) / 1e6),
                           data["models"].size(), data["models"].size() == 1 ? "" : "s", seconds_since(t0));
  if (!args.png_dir.empty()) {
    const auto files = export_report_images(args.output, args.png_dir);
    std::cout << fmt::format("wrote {} figures to {} (PNG and SVG)\n", files.size() / 2,
                             escape_unprintable(args.png_dir));
  }
  each.finish();
}

void setup_report(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* sub = app.add_subcommand(
      "report",
      "One self-contained HTML report (tables and charts, opens offline) for one or several models:\n"
      "sampled vs exact tables with the random baseline, cosine distributions, negative-prone tokens\n"
      "along the id axis, token classes, centring / top components, a chosen token's negative ranges");
  add_model_options(sub, args->model, true);
  sub->add_option("-o,--output", args->output, "The HTML file to write (default report.html)")->check(kNonEmptyPath);
  sub->add_option("--token", args->token, "Also show which tokens are negative to this one (an id or a token text)");
  auto* samples = sub->add_option("--samples,-n", args->samples,
                                  "Random target rows of the sampled table (default 50, as the study)")
                      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
  sub->add_option("--seed", args->seed, "Seed of the targets and of the random baseline (default 0)")
      ->check(non_negative_integer());
  sub->add_option("--png", args->png_dir,
                  "Also write every chart as DIR/<chart>.png and .svg (renders the report in headless Chromium)")
      ->check(kNonEmptyPath);
  sub->add_option("--title", args->title, "Title of the report (default: the model names)");
  sub->add_option("--components", args->components, "Principal components in the explained-variance curve (default 10)")
      ->check(CLI::Range(1, 4096));
  sub->add_flag_callback(
      "--no-exact", [args] { args->exact = false; },
      "Skip the exact all-pairs pass (its table, the distributions and the per-token chart): for a quick look "
      "at very large vocabularies");
  sub->callback([args, samples] {
    args->samples_given = samples->count() > 0;
    run_report(*args);
  });
}

const VerbRegistration kRegistration("report", 80, setup_report);

}  // namespace
}  // namespace embstat::cli
