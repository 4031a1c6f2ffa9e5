// `embstat geometry MODEL... [--components K] [--remove D] [--exact] [--format ...]`
//
// Why the embeddings agree: common direction, centring test, principal components (all-but-the-
// top, I(W), IsoScore), rogue dimensions, token classes, odd rows, and input vs output
// embeddings when they are untied. The numbers come from analyze_geometry (analysis/geometry.hpp);
// this file only loads models and prints.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "cli/verb.hpp"
#include "cli/version.hpp"
#include "embstat/analysis/geometry.hpp"
#include "embstat/base/display_text.hpp"
#include "embstat/base/error.hpp"
#include "embstat/base/stopwatch.hpp"
#include "embstat/output/json_text.hpp"
#include "embstat/output/table.hpp"

namespace embstat::cli {

namespace {

struct GeometryArgs {
  ModelArgs model;
  std::string format = "text";
  int components = 10;
  int remove = -1;
  std::int64_t samples = 50;
  bool samples_given = false;  // --samples on the command line (else the default adapts)
  std::uint64_t seed = 0;
  std::string targets;
  bool exact = false;
  bool dedup = false;
  bool no_iw = false;
  std::string spectrum = "auto";
  int spectrum_passes = 4;
  bool no_output = false;
  int rogue = 10;
  int outliers = 10;
  double outlier_percentile = 1.0;
  bool timings = false;
};

// One matrix's report, with the vocabulary that names its rows.
struct MatrixReport {
  std::string matrix;  // "input" or "output"
  GeometryReport report;
};

struct ModelReport {
  Model model;  // kept for its vocabulary (texts of listed rows)
  std::vector<MatrixReport> matrices;
  std::optional<PairedCosines> input_output;
};

GeometryOptions geometry_options(const GeometryArgs& args) {
  GeometryOptions o;
  o.components = args.components;
  o.remove = args.remove;
  o.samples = args.samples;
  o.seed = args.seed;
  if (!args.targets.empty()) {
    o.targets = parse_id_list(args.targets);
    std::set<std::int64_t> seen;
    for (const auto id : o.targets)
      if (!seen.insert(id).second) throw_usage("--targets lists row " + std::to_string(id) + " twice");
  }
  o.exact = args.exact;
  o.isotropy_iw = !args.no_iw;
  o.spectrum = args.spectrum == "exact"        ? SpectrumMethod::Exact
               : args.spectrum == "randomized" ? SpectrumMethod::Randomized
                                               : SpectrumMethod::Auto;
  o.spectrum_passes = args.spectrum_passes;
  o.rogue = args.rogue;
  o.outliers = args.outliers;
  o.outlier_percentile = args.outlier_percentile;
  return o;
}

// --timings: where one matrix's time went, to stderr (wall and CPU seconds; not in any report
// format, as they differ from run to run).
void print_timings(const std::string& name, const std::string& matrix, const Lap& load, const GeometryReport& r) {
  std::string out =
      fmt::format("embstat: {} {}: timings, wall s and CPU s of all threads\n", escape_unprintable(name), matrix);
  Lap total = load;
  auto add = [&](const std::string& stage, const Lap& t) {
    out += fmt::format("  {:<48} {:8.3f} {:8.3f}\n", stage, t.wall_s, t.cpu_s);
  };
  add("row set (read, norms, filter)", load);
  for (const auto& t : r.timings) {
    add(t.stage, t);
    total.wall_s += t.wall_s;
    total.cpu_s += t.cpu_s;
  }
  add("total", total);
  std::fputs(out.c_str(), stderr);
}

GeometryReport analyze(const Model& model, const RowSet& rows, const Lap& load, const GeometryArgs& args,
                       const std::string& matrix) {
  ProgressBar bar("geometry " + model.name + (matrix == args.model.matrix ? "" : " " + matrix));
  if (args.targets.empty()) check_samples(args.samples, args.samples_given, rows.size(), model.name);
  GeometryOptions o = geometry_options(args);
  o.progress = bar.callback();
  GeometryReport r = analyze_geometry(rows, model.vocab, o, model.matrix);
  bar.finish();
  if (args.timings) print_timings(model.name, matrix, load, r);
  return r;
}

ModelReport run_model(const std::string& spec, const GeometryArgs& args) {
  ModelReport out{open_model(spec, open_options(args.model)), {}, {}};
  const Model& model = out.model;
  try {
    // The other matrix, when the model has an untied one and the user did not pick a tensor.
    const bool compare = !args.no_output && args.model.tensor.empty() && model.has_output_matrix && !model.tied;
    std::optional<Model> other;
    std::optional<RowSet> other_rows;
    Lap other_load;
    {
      // Without --exact (all pairs) or --dedup the analysis reads the rows a few times in
      // passes: a bf16 checkpoint's rows stay in its mapping instead of an n x d f32 copy.
      auto rows_of = [&](const Model& m, const ModelArgs& a) {
        return args.exact || args.dedup ? load_row_set(m, a, args.dedup) : load_streamed_row_set(m, a);
      };
      Stopwatch load;
      const RowSet rows = rows_of(model, args.model);
      const Lap loaded = load.lap();
      out.matrices.push_back({args.model.matrix, analyze(model, rows, loaded, args, args.model.matrix)});
      if (compare) {
        ModelArgs flipped = args.model;
        flipped.matrix = args.model.matrix == "output" ? "input" : "output";
        other.emplace(open_model(spec, open_options(flipped)));
        Stopwatch other_watch;
        other_rows.emplace(rows_of(*other, flipped));
        other_load = other_watch.lap();
        if (other_rows->dim() == rows.dim())
          out.input_output = paired_row_cosines(rows, *other_rows);
        else
          print_line(
              fmt::format("{}: input and output matrices differ in dimension ({} vs {}): no per-token comparison",
                          model.name, rows.dim(), other_rows->dim()));
      }
    }  // the first matrix is freed before the second is analysed
    if (other) {
      const std::string which = args.model.matrix == "output" ? "input" : "output";
      out.matrices.push_back({which, analyze(*other, *other_rows, other_load, args, which)});
    }
  } catch (const Error& e) {
    throw e.with_context(model.name);
  }
  return out;
}

// ---- Text and Markdown --------------------------------------------------------------------

std::string pct(double fraction, int decimals = 1) {
  return fixed(100.0 * fraction, decimals) + " %";
}

std::string num(double v) {
  return general(v, 4);
}

std::string text_of(const Vocabulary& vocab, std::int64_t id) {
  if (vocab.empty()) return "";
  return "\"" + vocab.display(id) + "\"";
}

std::string fraction_cell(const PairFraction& f) {
  if (f.exact) return fixed(*f.exact, 4);
  return f.targets ? fixed(f.sampled, 4) : "-";
}

// Renders the sections of one matrix's report. Markdown gets headings and pipe tables.
class Printer {
 public:
  Printer(std::ostream& out, bool markdown) : out_(out), md_(markdown) {}

  // Headings and lines hold model names and token text: unprintable bytes escaped.
  void heading(const std::string& title, int level) {
    if (md_)
      out_ << std::string(static_cast<std::size_t>(level + 1), '#') << ' ' << escape_unprintable(title) << "\n\n";
    else
      out_ << (level == 1 ? "== " : "") << escape_unprintable(title) << (level == 1 ? " ==" : "") << "\n";
  }
  void line(const std::string& s) { out_ << (md_ ? "" : "  ") << escape_unprintable(s) << (md_ ? "\n\n" : "\n"); }
  void table(const Table& t) {
    if (md_) {
      t.render_markdown(out_);
      out_ << "\n";
    } else {
      std::ostringstream s;
      t.render_text(s);
      std::istringstream lines(s.str());
      for (std::string l; std::getline(lines, l);) out_ << "    " << l << "\n";
    }
  }
  void bullet(const std::string& s) { out_ << (md_ ? "- " : "    ") << escape_unprintable(s) << "\n"; }
  void gap() {
    if (!md_) out_ << "\n";
  }

  void report(const std::string& name, const MatrixReport& m, const Vocabulary& vocab, const GeometryArgs& args);
  void input_output(const PairedCosines& p, const Vocabulary& vocab);

 private:
  std::ostream& out_;
  bool md_;
};

void Printer::report(const std::string& name, const MatrixReport& m, const Vocabulary& vocab,
                     const GeometryArgs& args) {
  const GeometryReport& r = m.report;
  std::string excluded;
  if (r.padding_rows) excluded += fmt::format(", {} padding rows", r.padding_rows);
  if (!r.zero_rows.empty()) excluded += fmt::format(", {} zero rows", r.zero_rows.size());
  if (!r.non_finite_rows.empty()) excluded += fmt::format(", {} rows holding NaN or Inf", r.non_finite_rows.size());
  if (r.merged_rows) excluded += fmt::format(", {} duplicates merged", r.merged_rows);
  heading(fmt::format("{} — {} embedding: {} of {} rows × {}{}", name, m.matrix, r.rows, r.total_rows, r.dim,
                      excluded.empty() ? "" : " (excluded" + excluded + ")"),
          1);
  gap();

  // 1. Common direction.
  heading("Common direction", 2);
  line(fmt::format("‖mean‖ / mean norm = {} (‖mean‖ {}, mean norm {}); mean of the unit rows has norm {}",
                   fixed(r.mean_norm_ratio, 4), num(r.mean_vector_norm), num(r.mean_norm), fixed(r.unit_mean_norm, 4)));
  line(fmt::format("mean pairwise cosine = {} (exact: (‖Σu‖² − Σ‖u‖²) / (n(n−1)))", fixed(r.mean_cosine, 4)));
  const Distribution& c = r.cos_to_mean;
  line(fmt::format("cos(x, mean): min {}  p25 {}  median {}  p75 {}  max {}  → positive for {} of rows",
                   fixed(c.min, 3), fixed(c.p25, 3), fixed(c.median, 3), fixed(c.p75, 3), fixed(c.max, 3),
                   pct(c.fraction_positive)));
  line(fmt::format("→ the common offset carries {} of the rows' squared norm (‖mean‖² / mean ‖x‖²)",
                   pct(r.offset_share)));
  gap();

  // 2. Centring test and all-but-the-top.
  const bool exact = r.original.exact.has_value();
  heading("Centring test: fraction of pairs with cos ≥ 0", 2);
  line(exact ? "exact, over all pairs"
             : fmt::format("sampled like `sample`: {} targets{}, each against every other row", r.original.targets,
                           args.targets.empty() ? fmt::format(" (seed {})", r.seed) : std::string()));
  {
    Table t({{"rows", Align::Left}, {"cos ≥ 0"}, {exact ? "sampled" : "± std"}, {"mean cos"}});
    auto add = [&](const std::string& label, const PairFraction& f) {
      t.add_row({label, fraction_cell(f), exact ? fixed(f.sampled, 4) : (f.targets ? fixed(f.sampled_std, 4) : "-"),
                 fixed(f.mean_cosine, 4)});
    };
    add("as stored", r.original);
    add("centred (x − mean)", r.centered);
    add(fmt::format("all-but-the-top, D = {}", r.removed), r.all_but_top);
    add(fmt::format("all-but-the-top, D = {}, raw projection", r.removed), r.all_but_top_raw);
    table(t);
  }
  {
    auto value = [](const PairFraction& f) { return f.exact ? *f.exact : f.sampled; };
    const double before = value(r.original), after = value(r.centered);
    if (before - 0.5 > 0.01)
      line(
          fmt::format("→ centring takes cos ≥ 0 from {} to {}: the shared offset accounts for {} of the excess over "
                      "50 %",
                      pct(before), pct(after), pct((before - after) / (before - 0.5), 0)));
    else
      line(fmt::format("→ cos ≥ 0 is {} as stored, {} centred: no excess positivity to explain", pct(before),
                       pct(after)));
  }
  gap();

  // 3. Principal components.
  heading("Principal components", 2);
  {
    double top = 0;
    std::string parts;
    for (const double e : r.explained_variance) {
      top += e;
      // Below 0.1 % (near-isotropic sets) one decimal would print 0.0: two significant digits.
      parts += (parts.empty() ? "" : " ") + (100 * e < 0.1 ? general(100 * e, 2) : fixed(100 * e, 1));
    }
    line(fmt::format("top {} components explain {} of the variance (each, %: {})", r.explained_variance.size(),
                     pct(top), parts));
    line(fmt::format("all-but-the-top removes the mean and the top D = {} components ({} of the variance)", r.removed,
                     pct(r.removed_variance)));
    const SpectrumInfo& sp = r.spectrum;
    const bool randomized = sp.method == "randomized";
    line(fmt::format("IsoScore = {}{} (1 isotropic, 0 one direction; Rudman et al. 2022)", fixed(r.isoscore, 4),
                     randomized ? " ±" + fixed(sp.isoscore_se, 4) : ""));
    if (r.isotropy_iw)
      line(fmt::format("I(W) = {} (log {}; 1 isotropic; Mu & Viswanath 2018)", general(*r.isotropy_iw, 4),
                       fixed(*r.log_isotropy_iw, 3)));
    else if (sp.isotropy_iw == "skipped")
      line("I(W) not computed: it needs the exact covariance (--spectrum exact)");
    if (randomized)
      line(
          fmt::format("spectrum: randomized block Krylov ({} passes of {} vectors{}; Ritz residual ≤ {} of λ₁; "
                      "--spectrum exact for the exact covariance)",
                      sp.passes, sp.block, sp.kernel == "bf16" ? ", bf16 kernels on the stored rows" : "",
                      general(sp.max_residual, 2)));
  }
  gap();

  // 4. Rogue dimensions.
  heading("Rogue dimensions: share of the mean cosine per coordinate", 2);
  line(fmt::format("→ the top {} coordinates carry {} of the mean cosine (Timkey & van Schijndel 2021)",
                   r.rogue_dimensions.size(), pct(r.rogue_share)));
  {
    Table t({{"dim"}, {"C_k"}, {"share"}});
    for (const auto& d : r.rogue_dimensions)
      t.add_row({std::to_string(d.dim), general(d.contribution, 4), pct(d.share)});
    if (t.n_rows()) table(t);
  }
  gap();

  // 5. Token classes.
  if (!r.classes.empty()) {
    bool class_exact = true;
    std::int64_t partners = 0;
    for (const auto& s : r.classes)
      if (s.count)
        class_exact = class_exact && s.fraction_negative_exact, partners = std::max(partners, s.sampled_partners);
    heading("Token classes", 2);
    line(class_exact ? "fraction negative: exact, over every pair (row of the class, any other row)"
                     : fmt::format("fraction negative: sampled, up to {} rows per class against {} random rows "
                                   "(--exact counts every pair)",
                                   kGeometryClassRows, partners));
    Table t({{"class", Align::Left},
             {"rows"},
             {"mean norm"},
             {"mean cos"},
             {"cos to mean"},
             {"negative"},
             {"examples", Align::Left}});
    const ClassStats* most = nullptr;
    for (const auto& s : r.classes) {
      std::string examples;
      for (const auto id : s.examples) examples += (examples.empty() ? "" : " ") + text_of(vocab, id);
      if (s.count == 0) {
        t.add_row({token_class_name(s.cls), fmt::format("0 (+{} excluded)", s.excluded), "-", "-", "-", "-", ""});
        continue;
      }
      if (!most || s.fraction_negative > most->fraction_negative) most = &s;
      std::string neg = pct(s.fraction_negative);
      if (!s.fraction_negative_exact) neg += " ±" + fixed(100 * s.fraction_negative_se, 1);
      t.add_row({token_class_name(s.cls),
                 s.excluded ? fmt::format("{} (+{} excluded)", s.count, s.excluded) : std::to_string(s.count),
                 num(s.mean_norm), fixed(s.mean_cosine, 4), fixed(s.mean_cos_to_mean, 3), neg, examples});
    }
    table(t);
    if (most)
      line(fmt::format("→ most negative-prone: {} ({}), negative in {} of its pairs", token_class_name(most->cls),
                       token_class_description(most->cls), pct(most->fraction_negative)));
    gap();
  }

  // 6. Odd rows.
  heading("Odd rows", 2);
  {
    auto listed = [&](const char* what, const std::vector<std::int64_t>& ids) {
      std::string text = fmt::format("{}: {}", what, ids.size());
      for (std::size_t i = 0; i < ids.size() && i < 10; ++i)
        text += fmt::format("{}{} {}", i ? ", " : " (", ids[i], text_of(vocab, ids[i]));
      if (!ids.empty()) text += ids.size() > 10 ? ", ...)" : ")";
      line(text);
    };
    listed("zero rows", r.zero_rows);
    if (!r.non_finite_rows.empty()) listed("rows holding NaN or Inf", r.non_finite_rows);
    const Duplicates& d = r.duplicates;
    line(fmt::format(
        "bit-identical rows ({}): {} groups covering {} rows; --dedup would merge {}; {} of all pairs "
        "are two copies of one vector",
        d.by_source_bytes ? "stored bytes" : "f32 rows", d.groups, d.rows, d.redundant, pct(d.pair_fraction, 4)));
    for (const auto& g : d.largest) {
      std::string ids;
      for (std::size_t i = 0; i < g.ids.size() && i < 8; ++i)
        ids += fmt::format("{}{} {}", i ? ", " : "", g.ids[i], text_of(vocab, g.ids[i]));
      bullet(fmt::format("{} rows: {}{}", g.ids.size(), ids, g.ids.size() > 8 ? ", ..." : ""));
    }
    if (md_ && !d.largest.empty()) out_ << "\n";
    line(
        fmt::format("below the {} percentile: norm < {} ({} rows), distance to the mean < {} ({} rows) — "
                    "under-trained-token indicators (Land & Bartolo 2024)",
                    general(r.outlier_percentile, 3), num(r.norm_threshold), r.low_norm_rows, num(r.distance_threshold),
                    r.low_distance_rows));
    Table t({{"id"}, {"text", Align::Left}, {"norm"}, {"pct"}, {"‖x − mean‖"}, {"pct"}, {"why", Align::Left}});
    for (const auto& o : r.outliers)
      t.add_row({std::to_string(o.id), text_of(vocab, o.id), num(o.norm), fixed(o.norm_percentile, 2),
                 num(o.centroid_distance), fixed(o.distance_percentile, 2), o.reason});
    if (t.n_rows()) table(t);
  }
  for (const auto& note : r.notes) line("note: " + note);
  gap();
}

void Printer::input_output(const PairedCosines& p, const Vocabulary& vocab) {
  heading("Input vs output embeddings: cos(input row, output row) per token", 2);
  const Distribution& c = p.cosines;
  line(fmt::format("{} tokens: min {}  p25 {}  median {}  p75 {}  max {}  mean {}  → positive for {}", c.count,
                   fixed(c.min, 3), fixed(c.p25, 3), fixed(c.median, 3), fixed(c.p75, 3), fixed(c.max, 3),
                   fixed(c.mean, 3), pct(c.fraction_positive)));
  std::string low;
  for (std::size_t i = 0; i < p.lowest.size(); ++i)
    low += fmt::format("{}{} {} ({})", i ? ", " : "", p.lowest[i], text_of(vocab, p.lowest[i]),
                       fixed(p.lowest_cosines[i], 3));
  if (!low.empty()) line("lowest: " + low);
  gap();
}

// ---- CSV and JSON -------------------------------------------------------------------------

void print_csv(const std::vector<ModelReport>& models, std::ostream& out) {
  Table t({{"model", Align::Left},
           {"matrix", Align::Left},
           {"rows"},
           {"dim"},
           {"mean_norm_ratio"},
           {"mean_cosine"},
           {"fraction_method", Align::Left},
           {"fraction_non_negative"},
           {"fraction_non_negative_centered"},
           {"fraction_non_negative_all_but_top"},
           {"fraction_non_negative_all_but_top_raw"},
           {"removed_components"},
           {"explained_variance_1"},
           {"explained_variance_top"},
           {"isoscore"},
           {"spectrum_method", Align::Left},
           {"isotropy_iw"},
           {"log_isotropy_iw"},
           {"rogue_dim_1"},
           {"rogue_share_1"},
           {"rogue_share"},
           {"duplicate_groups"},
           {"duplicate_rows"},
           {"zero_rows"},
           {"non_finite_rows"}});
  auto g = [](double v) { return general(v, 8); };
  auto frac = [&](const PairFraction& f) { return g(f.exact ? *f.exact : f.sampled); };
  for (const auto& mr : models)
    for (const auto& m : mr.matrices) {
      const GeometryReport& r = m.report;
      double top = 0;
      for (const double e : r.explained_variance) top += e;
      t.add_row({mr.model.name,
                 m.matrix,
                 std::to_string(r.rows),
                 std::to_string(r.dim),
                 g(r.mean_norm_ratio),
                 g(r.mean_cosine),
                 r.original.exact ? "exact" : "sampled",
                 frac(r.original),
                 frac(r.centered),
                 frac(r.all_but_top),
                 frac(r.all_but_top_raw),
                 std::to_string(r.removed),
                 r.explained_variance.empty() ? "" : g(r.explained_variance[0]),
                 g(top),
                 g(r.isoscore),
                 r.spectrum.method,
                 r.isotropy_iw ? g(*r.isotropy_iw) : "",
                 r.log_isotropy_iw ? g(*r.log_isotropy_iw) : "",
                 r.rogue_dimensions.empty() ? "" : std::to_string(r.rogue_dimensions[0].dim),
                 r.rogue_dimensions.empty() ? "" : g(r.rogue_dimensions[0].share),
                 g(r.rogue_share),
                 std::to_string(r.duplicates.groups),
                 std::to_string(r.duplicates.rows),
                 std::to_string(r.zero_rows.size()),
                 std::to_string(r.non_finite_rows.size())});
    }
  t.render_csv(out);
}

void print_json(const std::vector<ModelReport>& models, std::ostream& out) {
  nlohmann::ordered_json doc;
  doc["models"] = nlohmann::ordered_json::array();
  for (const auto& mr : models) {
    const Vocabulary& vocab = mr.model.vocab;
    nlohmann::ordered_json j;
    for (std::size_t i = 0; i < mr.matrices.size(); ++i) {
      nlohmann::ordered_json g{{"model", mr.model.name}, {"matrix", mr.matrices[i].matrix}, {"tied", mr.model.tied}};
      g.update(geometry_json(mr.matrices[i].report, vocab));
      if (i == 0)
        j = std::move(g);
      else
        j[mr.matrices[i].matrix == "output" ? "output" : "input"] = std::move(g);
    }
    if (mr.input_output) {
      nlohmann::ordered_json io = distribution_json(mr.input_output->cosines);
      io["lowest"] = nlohmann::ordered_json::array();
      for (std::size_t i = 0; i < mr.input_output->lowest.size(); ++i) {
        const auto id = mr.input_output->lowest[i];
        io["lowest"].push_back({{"id", id}, {"text", vocab.utf8(id)}, {"cos", mr.input_output->lowest_cosines[i]}});
      }
      j["input_output_cosine"] = std::move(io);
    } else {
      j["input_output_cosine"] = nullptr;
    }
    doc["models"].push_back(std::move(j));
  }
  stamp_json(doc, "geometry");
  out << json_text(doc, 2) << "\n";
}

void print(const std::vector<ModelReport>& models, const GeometryArgs& args, std::ostream& out) {
  const OutputFormat format = parse_output_format(args.format);
  if (format == OutputFormat::Json) return print_json(models, out);
  if (format == OutputFormat::Csv) return print_csv(models, out);
  Printer p(out, format == OutputFormat::Markdown);
  for (const auto& mr : models) {
    for (const auto& m : mr.matrices) p.report(mr.model.name, m, mr.model.vocab, args);
    if (mr.input_output) p.input_output(*mr.input_output, mr.model.vocab);
  }
}

void setup_geometry(CLI::App& app) {
  auto args = std::make_shared<GeometryArgs>();
  CLI::App* sub = app.add_subcommand(
      "geometry",
      "Why the embeddings agree: common direction, centring test, principal components (all-but-the-top,\n"
      "I(W), IsoScore), rogue dimensions, token classes, odd rows, input vs output embeddings");
  add_model_options(sub, args->model, true);
  sub->add_option("--components,-k", args->components, "Explained-variance ratios to report (default 10)")
      ->check(CLI::Range(1, 1 << 20));
  sub->add_option("--remove,-D", args->remove,
                  "Components removed by all-but-the-top (default max(1, round(dim / 100)), Mu & Viswanath)")
      ->check(CLI::Range(0, 1 << 20));
  auto* samples = sub->add_option("--samples,-n", args->samples,
                                  "Random targets for the sampled fractions, drawn exactly as `sample` (default 50)")
                      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
  sub->add_option("--seed", args->seed, "Seed of the target draw, as `sample --seed` (default 0)")
      ->check(non_negative_integer());
  sub->add_option("--targets", args->targets, "Target row ids instead of random ones, e.g. 0-9,35")->excludes(samples);
  sub->add_flag("--exact", args->exact,
                "Count every pair (all-pairs engine) for each fraction and class (4 full passes, slow); also\n"
                "makes the covariance spectrum exact (and so computes I(W))");
  sub->add_flag("--dedup", args->dedup, "Merge bit-identical rows first");
  sub->add_flag("--no-iw", args->no_iw, "Skip I(W) (saves one n x d x d sgemm pass and a full eigen-decomposition)");
  sub->add_option("--spectrum", args->spectrum,
                  "Covariance spectrum: exact (d x d covariance, n*d^2; needed for I(W)), randomized (block\n"
                  "Krylov + Hutch++: a few O(n*d*D) passes), or auto: exact while that takes a few seconds\n"
                  "(n*d^2*(3 with I(W), else 1) + 25*d^3 <= 6e11) or with --exact (default auto)")
      ->check(CLI::IsMember({"auto", "exact", "randomized"}));
  sub->add_option("--spectrum-passes", args->spectrum_passes,
                  "Passes over the rows of the randomized spectrum (default 4; more: closer to exact)")
      ->check(CLI::Range(1, 100));
  sub->add_flag("--no-output", args->no_output, "Do not analyse the untied output matrix");
  sub->add_option("--rogue", args->rogue, "Rogue dimensions listed (default 10)")->check(CLI::Range(0, 1 << 20));
  sub->add_option("--outliers", args->outliers, "Rows listed per odd-row kind (default 10)")
      ->check(CLI::Range(0, 1 << 20));
  sub->add_option("--outlier-percentile", args->outlier_percentile,
                  "Percentile below which norms / centroid distances count as low (default 1)")
      ->check(finite_range(0.001, 99.999));
  sub->add_flag("--timings", args->timings,
                "Print where each matrix's time went (wall and CPU seconds per stage) to stderr");
  add_format_option(sub, args->format);
  sub->callback([args, samples] {
    args->samples_given = samples->count() > 0;
    std::vector<ModelReport> models;
    EachModel each(args->model);
    each.run([&](const std::string& spec) { models.push_back(run_model(spec, *args)); });
    if (!each.all_failed()) print(models, *args, std::cout);
    each.finish();
  });
}

const VerbRegistration kRegistration("geometry", 40, setup_geometry);

}  // namespace

}  // namespace embstat::cli
