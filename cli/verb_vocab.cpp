// `embstat vocab MODEL [--ids 0-100,151643]`: each row id with its token, decoded to display
// text (escaped, quoted so spaces show) or, with --format json, real UTF-8 plus the display form.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/verb.hpp"
#include "cli/version.hpp"
#include "embstat/base/error.hpp"
#include "embstat/output/json_text.hpp"
#include "embstat/output/table.hpp"

namespace embstat::cli {

namespace {

struct VocabArgs {
  ModelArgs model;
  std::string ids;  // --ids; empty = every token
  std::string format = "text";
};

constexpr std::string_view kNoToken = "<no token>";

void setup_vocab(CLI::App& app) {
  auto args = std::make_shared<VocabArgs>();
  CLI::App* sub =
      app.add_subcommand("vocab", "Each token id with its decoded text (vocabulary-only GGUF files work too)");
  add_model_options(sub, args->model, false);
  sub->add_option("--ids", args->ids, "Ids to show: a list of ids and inclusive ranges, e.g. 0-100,151643");
  add_format_option(sub, args->format);
  sub->callback([args] {
    const OutputFormat format = parse_output_format(args->format);
    OpenOptions options = open_options(args->model);
    options.require_matrix = false;
    const Model model = open_model(args->model.models.at(0), options);
    if (model.vocab.empty()) {
      std::string why = "no vocabulary found";
      for (const auto& note : model.notes) why += "; " + note;
      throw Error(ErrorKind::Unsupported, model.spec, why);
    }
    const auto n_vocab = static_cast<std::int64_t>(model.vocab.size());
    // Ids up to the matrix's rows are valid too: they are padding rows without a token.
    const std::int64_t n_ids = std::max(n_vocab, model.tensor ? model.matrix.n_rows : 0);
    std::vector<std::int64_t> ids;
    if (args->ids.empty()) {
      ids.resize(static_cast<std::size_t>(n_vocab));
      for (std::int64_t i = 0; i < n_vocab; ++i) ids[static_cast<std::size_t>(i)] = i;
    } else {
      ids = parse_id_list(args->ids);
      for (auto id : ids)
        if (id >= n_ids) throw_usage(fmt::format("id {} is out of range: {} has ids 0–{}", id, model.name, n_ids - 1));
    }

    if (format == OutputFormat::Json) {
      using json = nlohmann::ordered_json;
      json tokens = json::array();
      for (auto id : ids) {
        if (id < n_vocab)
          tokens.push_back({{"id", id}, {"text", model.vocab.utf8(id)}, {"display", model.vocab.display(id)}});
        else
          tokens.push_back({{"id", id}, {"text", nullptr}, {"display", kNoToken}});
      }
      json j;
      j["model"] = model.name;
      j["tokenizer"] = model.vocab.kind;
      j["vocab_size"] = n_vocab;
      j["tokens"] = std::move(tokens);
      stamp_json(j, "vocab");
      std::cout << json_text(j) << "\n";
      return;
    }
    if (format == OutputFormat::Text) {
      // No table: one "id  text" line per token, ids right-aligned, streams for 150k tokens.
      const auto width = std::to_string(n_ids - 1).size();
      std::string out;
      for (auto id : ids) {
        out += fmt::format("{:>{}}  {}\n", id, width,
                           id < n_vocab ? escape_display_quoted(model.vocab.token(id).bytes) : std::string(kNoToken));
        if (out.size() > (1u << 16)) {
          std::cout << out;
          out.clear();
        }
      }
      std::cout << out;
      return;
    }
    Table table({{"id", Align::Right}, {"token", Align::Left}});
    for (auto id : ids)
      table.add_row({std::to_string(id), id < n_vocab ? model.vocab.display(id) : std::string(kNoToken)});
    table.render(std::cout, format);
  });
}

const VerbRegistration kRegistration("vocab", 12, setup_vocab);

}  // namespace

}  // namespace embstat::cli
