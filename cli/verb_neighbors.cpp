// `embstat neighbors MODEL TOKEN [--top K] [--negative]`: the rows most and least similar to one
// token, or every row with a negative cosine to it as compressed id ranges (the study's
// "ids 0–92 are negative to almost every token").
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/verb.hpp"
#include "cli/version.hpp"
#include "embstat/analysis/id_ranges.hpp"
#include "embstat/analysis/sampled.hpp"
#include "embstat/base/display_text.hpp"
#include "embstat/base/error.hpp"
#include "embstat/output/json_text.hpp"
#include "embstat/output/table.hpp"

namespace embstat::cli {

namespace {

struct NeighborsArgs {
  ModelArgs model;
  std::string token;
  bool by_text = false;
  std::int64_t top = 10;
  bool negative = false;
  std::string format = "text";
};

// Display columns kept of a range's text in the text and Markdown tables.
constexpr std::size_t kRangeTextWidth = 60;

std::int64_t resolve_token(const Model& model, const NeighborsArgs& args) {
  const std::string& t = args.token;
  if (!args.by_text) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), id);
    if (ec == std::errc() && p == t.data() + t.size()) {
      if (id < 0 || id >= model.matrix.n_rows)
        throw_usage(fmt::format("token id {} is out of range ({} has {} rows)", id, model.name, model.matrix.n_rows));
      return id;
    }
  }
  if (model.vocab.empty()) throw_usage(model.name + " has no vocabulary: give TOKEN as a row id");
  if (auto id = model.vocab.find(t)) return *id;
  throw_usage("no token of " + model.name + " is spelled '" + t +
              "' (give the exact piece, its decoded text, or an id)");
}

std::string display_of(const Model& model, std::int64_t id) {
  return model.vocab.empty() ? "" : model.vocab.display(id);
}
std::string utf8_of(const Model& model, std::int64_t id) {
  return model.vocab.empty() ? "" : model.vocab.utf8(id);
}

// The first `width` display columns of `s`, with "…" when cut.
std::string clip(const std::string& s, std::size_t width) {
  if (display_width(s) <= width) return s;
  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t len = 1;
    while (i + len < s.size() && (static_cast<unsigned char>(s[i + len]) & 0xc0) == 0x80) ++len;
    const std::string next = out + s.substr(i, len);
    if (display_width(next) + 1 > width) break;
    out = next;
    i += len;
  }
  return out + "…";
}

struct Neighbor {
  std::int64_t id;
  float cos;
};

void print_top(const Model& model, const RowSet& rows, std::int64_t id, const std::vector<float>& cos,
               const NeighborsArgs& args) {
  const std::int64_t self = *rows.index_of(id);
  std::vector<Neighbor> all;
  all.reserve(cos.size());
  for (std::int64_t p = 0; p < rows.size(); ++p)
    if (p != self) all.push_back({rows.ids[static_cast<std::size_t>(p)], cos[static_cast<std::size_t>(p)]});
  const auto k = static_cast<std::ptrdiff_t>(std::min<std::int64_t>(args.top, static_cast<std::int64_t>(all.size())));
  std::vector<Neighbor> similar = all, dissimilar = std::move(all);
  std::partial_sort(similar.begin(), similar.begin() + k, similar.end(), [](const Neighbor& a, const Neighbor& b) {
    return a.cos > b.cos || (a.cos == b.cos && a.id < b.id);
  });
  similar.resize(static_cast<std::size_t>(k));
  std::partial_sort(
      dissimilar.begin(), dissimilar.begin() + k, dissimilar.end(),
      [](const Neighbor& a, const Neighbor& b) { return a.cos < b.cos || (a.cos == b.cos && a.id < b.id); });
  dissimilar.resize(static_cast<std::size_t>(k));

  const OutputFormat format = parse_output_format(args.format);
  if (format == OutputFormat::Json) {
    auto list = [&](const std::vector<Neighbor>& v) {
      nlohmann::ordered_json a = nlohmann::ordered_json::array();
      for (const auto& n : v) a.push_back({{"id", n.id}, {"text", utf8_of(model, n.id)}, {"cos", n.cos}});
      return a;
    };
    nlohmann::ordered_json doc = {{"token", {{"id", id}, {"text", utf8_of(model, id)}}},
                                  {"most_similar", list(similar)},
                                  {"most_dissimilar", list(dissimilar)}};
    stamp_json(doc, "neighbors");
    std::cout << json_text(doc) << '\n';  // compact: --negative can list 100k ids
    return;
  }
  auto fill = [&](Table& t, const std::vector<Neighbor>& v, const char* side) {
    for (std::size_t r = 0; r < v.size(); ++r) {
      std::vector<std::string> cells;
      if (side) cells.push_back(side);
      cells.push_back(std::to_string(r + 1));
      cells.push_back(std::to_string(v[r].id));
      cells.push_back(format == OutputFormat::Csv ? fmt::format("{}", v[r].cos) : fixed(v[r].cos, 4));
      cells.push_back(format == OutputFormat::Csv ? utf8_of(model, v[r].id) : display_of(model, v[r].id));
      t.add_row(std::move(cells));
    }
  };
  if (format == OutputFormat::Text) {
    std::cout << fmt::format("Token {} \"{}\": cosine to the {} other rows of {}\n", id, display_of(model, id),
                             rows.size() - 1, escape_unprintable(model.name));
    for (const auto& [title, v] : {std::pair{"Most similar", &similar}, std::pair{"Most dissimilar", &dissimilar}}) {
      Table t({{"Rank"}, {"Id"}, {"Cos"}, {"Token", Align::Left}});
      fill(t, *v, nullptr);
      std::cout << '\n' << title << '\n';
      t.render_text(std::cout);
    }
    return;
  }
  Table t({{"Side", Align::Left}, {"Rank"}, {"Id"}, {"Cos"}, {"Token", Align::Left}});
  fill(t, similar, "similar");
  fill(t, dissimilar, "dissimilar");
  t.render(std::cout, format);
}

void print_negative(const Model& model, const RowSet& rows, std::int64_t id, const std::vector<float>& cos,
                    const NeighborsArgs& args) {
  const std::int64_t self = *rows.index_of(id);
  std::vector<std::int64_t> ids;
  for (std::int64_t p = 0; p < rows.size(); ++p)
    if (p != self && cos[static_cast<std::size_t>(p)] < 0.0f) ids.push_back(rows.ids[static_cast<std::size_t>(p)]);
  // Rows the statistic left out (zero norm, non-finite, padding, merged) do not break a run.
  const std::vector<IdRange> ranges = compress_ids(ids, rows.excluded_ids());

  // Per range, the text of its ids (display form and UTF-8), in id order.
  std::vector<std::string> range_display(ranges.size()), range_utf8(ranges.size());
  {
    std::size_t r = 0;
    for (std::int64_t i : ids) {
      while (i > ranges[r].last) ++r;
      range_display[r] += display_of(model, i);
      range_utf8[r] += utf8_of(model, i);
    }
  }

  const OutputFormat format = parse_output_format(args.format);
  if (format == OutputFormat::Json) {
    nlohmann::ordered_json tokens = nlohmann::ordered_json::array();
    for (std::int64_t p = 0; p < rows.size(); ++p) {
      const std::int64_t i = rows.ids[static_cast<std::size_t>(p)];
      if (p != self && cos[static_cast<std::size_t>(p)] < 0.0f)
        tokens.push_back({{"id", i}, {"text", utf8_of(model, i)}, {"cos", cos[static_cast<std::size_t>(p)]}});
    }
    nlohmann::ordered_json jr = nlohmann::ordered_json::array();
    for (std::size_t r = 0; r < ranges.size(); ++r)
      jr.push_back(
          {{"first", ranges[r].first}, {"last", ranges[r].last}, {"count", ranges[r].count}, {"text", range_utf8[r]}});
    nlohmann::ordered_json doc = {
        {"token", {{"id", id}, {"text", utf8_of(model, id)}}}, {"ids", ids}, {"tokens", tokens}, {"ranges", jr}};
    stamp_json(doc, "neighbors");
    std::cout << json_text(doc) << '\n';  // compact: --negative can list 100k ids
    return;
  }
  Table t({{"Ids", Align::Left}, {"Count"}, {"Text", Align::Left}});
  for (std::size_t r = 0; r < ranges.size(); ++r)
    t.add_row({format_id_range(ranges[r]), std::to_string(ranges[r].count),
               format == OutputFormat::Csv ? range_utf8[r] : clip(range_display[r], kRangeTextWidth)});
  if (format == OutputFormat::Text) {
    const std::int64_t others = rows.size() - 1;
    std::cout << fmt::format("Token {} \"{}\" of {}: {} of {} other rows have cosine < 0 ({:.2f} %), in {} runs\n\n",
                             id, display_of(model, id), escape_unprintable(model.name), ids.size(), others,
                             others ? 100.0 * static_cast<double>(ids.size()) / static_cast<double>(others) : 0.0,
                             ranges.size());
  }
  t.render(std::cout, format);
}

void setup_neighbors(CLI::App& app) {
  auto args = std::make_shared<NeighborsArgs>();
  CLI::App* sub = app.add_subcommand(
      "neighbors", "The rows most and least similar to one token, or (--negative) every row with cosine < 0 to it");
  add_model_options(sub, args->model, false);
  // CLI11 2.1 leaves a vector positional greedy after expected(1): stop it taking TOKEN too.
  sub->get_option("MODEL")->allow_extra_args(false);
  sub->add_option("TOKEN", args->token, "A row id, or a token's exact piece or decoded text")->required();
  sub->add_flag("--text", args->by_text, "Treat TOKEN as text even when it is a number");
  sub->add_option("--top,-k", args->top, "How many most / least similar rows (default 10)")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 40));
  sub->add_flag("--negative", args->negative,
                "Every row with cosine < 0, as compressed id ranges with their count and text");
  add_format_option(sub, args->format);
  sub->callback([args] {
    const Model model = open_model(args->model.models.at(0), open_options(args->model));
    const std::int64_t id = resolve_token(model, *args);
    const RowSet rows = load_row_set(model, args->model);
    if (!rows.index_of(id)) throw_usage(fmt::format("token {} of {} is {}", id, model.name, why_not_in(rows, id)));
    const std::vector<float> cos = cosines_to(rows, id);
    if (args->negative)
      print_negative(model, rows, id, cos, *args);
    else
      print_top(model, rows, id, cos, *args);
  });
}

const VerbRegistration kRegistration("neighbors", 30, setup_neighbors);

}  // namespace

}  // namespace embstat::cli
