// `embstat hidden MODEL... --ids FILE [--layers all|0,4,-1,final] [--format ...]`: runs the
// model's forward pass on the ids and reports, per layer, the pairwise-cosine statistics of its
// hidden states over all positions (exact, all pairs), with and without each sequence's first
// position.
#include <fmt/format.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "cli/verb.hpp"
#include "embstat/analysis/layer_statistics.hpp"
#include "embstat/base/error.hpp"
#include "embstat/formats/token_ids.hpp"
#include "embstat/transformer/forward.hpp"

namespace embstat::cli {

namespace {

using json = nlohmann::ordered_json;

struct HiddenArgs {
  std::vector<std::string> models;
  std::string ids;
  std::string layers = "all";
  std::string format = "text";
};

// Which layers to report: 0 .. n_layers are the residual stream (0 = embeddings), n_layers + 1
// the final norm. "all", or a list of integers (negative counts back from n_layers) and "final".
std::vector<bool> chosen_layers(const std::string& spec, std::int64_t n_layers) {
  std::vector<bool> keep(static_cast<std::size_t>(n_layers + 2), spec == "all");
  if (spec == "all") return keep;
  std::size_t begin = 0;
  while (begin <= spec.size()) {
    const std::size_t end = std::min(spec.find(',', begin), spec.size());
    const std::string item = spec.substr(begin, end - begin);
    if (item == "final") {
      keep.back() = true;
    } else {
      std::int64_t v = 0;
      try {
        std::size_t used = 0;
        v = std::stoll(item, &used);
        if (used != item.size()) throw std::invalid_argument(item);
      } catch (const std::exception&) {
        throw_usage(fmt::format("--layers: '{}' is not a layer number, 'final' or 'all'", item));
      }
      const std::int64_t layer = v < 0 ? n_layers + 1 + v : v;
      if (layer < 0 || layer > n_layers)
        throw_usage(fmt::format("--layers: {} is outside 0 .. {} (or -1 .. -{})", v, n_layers, n_layers + 1));
      keep[static_cast<std::size_t>(layer)] = true;
    }
    begin = end + 1;
  }
  return keep;
}

std::string layer_name(std::int64_t layer, std::int64_t n_layers) {
  return layer > n_layers ? "final" : std::to_string(layer);
}

struct LayerRow {
  std::string layer;
  LayerStatistics all;
  std::optional<LayerStatistics> without_first;
};

void add_table_row(Table& table, const std::string& layer, const LayerStatistics& s) {
  std::string rogue;
  if (!s.rogue_dimensions.empty())
    rogue = fmt::format("{} ({})", s.rogue_dimensions[0].dim, fixed(s.rogue_dimensions[0].share, 2));
  table.add_row({layer, std::to_string(s.rows), fixed(s.fraction_non_negative, 4), fixed(s.mean_cosine, 4),
                 fixed(s.min, 4), fixed(s.max, 4), fixed(s.median, 4), fixed(s.mean_norm_ratio, 4),
                 fixed(s.fraction_non_negative_centered, 4),
                 fmt::format("{} (dim {})", general(s.max_abs_activation.value, 4), s.max_abs_activation.dim), rogue,
                 fixed(s.mean_direction_vs_embedding, 4)});
}

Table layer_table() {
  return Table({{"Layer", Align::Left},
                {"Rows"},
                {"Non-negative"},
                {"Mean cos"},
                {"Min"},
                {"Max"},
                {"Median"},
                {"|mean|/mean|x|"},
                {"Centred non-neg"},
                {"Max |activation|"},
                {"Top rogue dim (share)"},
                {"Mean vs emb"}});
}

void run_hidden(const HiddenArgs& args) {
  const OutputFormat format = parse_output_format(args.format);
  const TokenSequences seqs = read_token_ids(args.ids);
  const RowProvenance provenance = RowProvenance::hidden_states(seqs.ids, seqs.starts);
  const std::vector<std::int64_t> after_first = rows_after_first_positions(provenance);
  LayerStatisticsOptions options;
  options.n_threads = thread_count();
  json models = json::array();
  for (const auto& spec : args.models) {
    const transformer::Transformer model = transformer::Transformer::open(spec);
    const std::int64_t n_layers = model.config().n_layers;
    const std::vector<bool> keep = chosen_layers(args.layers, n_layers);
    std::vector<double> embedding_mean, embedding_mean_after_first;
    std::vector<LayerRow> rows;
    auto measure = [&](std::int64_t layer, const Matrix& states) {
      if (layer == 0) {
        embedding_mean = mean_row(states);
        embedding_mean_after_first = mean_row(select_rows(states, after_first));
      }
      if (!keep[static_cast<std::size_t>(layer)]) return;
      LayerRow row{layer_name(layer, n_layers), layer_statistics(states, embedding_mean, options), std::nullopt};
      if (after_first.size() >= 2)
        row.without_first = layer_statistics(select_rows(states, after_first), embedding_mean_after_first, options);
      rows.push_back(std::move(row));
    };
    ProgressBar bar(fmt::format("hidden states of {}", spec));
    const Matrix final_states = model.forward(seqs.ids, seqs.starts, [&](std::int64_t layer, const Matrix& states) {
      measure(layer, states);
      bar.update(static_cast<double>(layer + 1) / static_cast<double>(n_layers + 2));
    });
    measure(n_layers + 1, final_states);
    bar.finish();

    if (format != OutputFormat::Json) {
      std::cout << fmt::format("{} ({}): {} sequences, {} tokens; layer 0 = embeddings, final = after the final norm\n",
                               spec, model.config().architecture, seqs.starts.size(), seqs.ids.size());
      Table all = layer_table();
      for (const auto& r : rows) add_table_row(all, r.layer, r.all);
      all.render(std::cout, format);
      if (after_first.size() >= 2) {
        std::cout << "\nWithout the first position of each sequence:\n";
        Table rest = layer_table();
        for (const auto& r : rows) add_table_row(rest, r.layer, *r.without_first);
        rest.render(std::cout, format);
      }
      continue;
    }
    json layers = json::array();
    for (const auto& r : rows) {
      json j{{"layer", r.layer == "final" ? json("final") : json(std::stoll(r.layer))}};
      j.update(layer_statistics_json(r.all, provenance));
      j["without_first"] =
          r.without_first ? layer_statistics_json(*r.without_first, provenance, after_first) : json(nullptr);
      layers.push_back(std::move(j));
    }
    models.push_back(json{{"model", spec},
                          {"architecture", model.config().architecture},
                          {"sequences", seqs.starts.size()},
                          {"tokens", seqs.ids.size()},
                          {"layers", std::move(layers)}});
  }
  if (format == OutputFormat::Json) std::cout << json{{"models", models}}.dump(2) << "\n";
}

void setup_hidden(CLI::App& app) {
  auto args = std::make_shared<HiddenArgs>();
  CLI::App* sub = app.add_subcommand(
      "hidden",
      "Run the model's forward pass (llama family; f32 compute, weights decoded a layer at a time) on token ids and "
      "report per layer the exact pairwise-cosine statistics of the hidden states");
  sub->add_option("MODEL", args->models, "Model files or folders (safetensors, GGUF, llama2.c .bin)")->required();
  sub->add_option("--ids", args->ids,
                  "Token ids: integers separated by spaces or commas (one sequence), or JSON: an array of ints or an "
                  "array of arrays (several sequences); used as given, no BOS added")
      ->required();
  sub->add_option("--layers", args->layers,
                  "all, or a list such as 0,4,-1,final (0 = embeddings, i = after block i, negative counts back from "
                  "the last block, final = after the final norm)");
  add_format_option(sub, args->format);
  sub->callback([args] { run_hidden(*args); });
}

const VerbRegistration kRegistration("hidden", 38, setup_hidden);

}  // namespace

}  // namespace embstat::cli
