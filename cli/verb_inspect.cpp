// `embstat inspect MODEL`: what the MODEL argument resolved to — files, tensor, shape, dtype,
// bytes, tied or not, tokenizer, padding rows, zero-norm rows, the first tokens decoded.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/verb.hpp"
#include "cli/version.hpp"
#include "embstat/analysis/row_set.hpp"
#include "embstat/base/display_text.hpp"
#include "embstat/base/error.hpp"
#include "embstat/formats/tensor_names.hpp"
#include "embstat/output/json_text.hpp"

namespace embstat::cli {

namespace {

struct InspectArgs {
  ModelArgs model;
  std::string format = "text";
  std::int64_t n_tokens = 8;  // --tokens: how many first tokens to show
};

constexpr std::size_t kZeroIdsShown = 16;  // zero-norm row ids listed (all are counted)

std::string with_commas(std::uint64_t v) {
  std::string s = std::to_string(v);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return s;
}

std::string human_bytes(std::uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{} bytes ({:.1f} {})", with_commas(n), v, units[u]);
}

// A tensor was chosen and its type has a decoder (a GGUF tensor of a type nothing decodes is
// still named, with its type, shape and bytes).
bool decodable(const Model& model) {
  return model.tensor && dtype_info(model.tensor->dtype).decodable;
}

// Zero-norm rows: decoding is needed, and the RowSet rule (norm 0 or not finite) is the one the
// statistics apply, so the count here is the count they exclude.
std::vector<std::int64_t> find_zero_rows(const Model& model) {
  if (!decodable(model)) return {};
  RowFilter filter;
  filter.include_padding = true;
  return make_row_set(decode_to_f32(model.matrix), filter).zero_rows;
}

std::string tied_text(const Model& model) {
  if (model.tied) return "yes: the output matrix (unembedding) is the input embedding";
  if (model.has_output_matrix) return "no: the file holds a separate output matrix (--matrix output)";
  return "no";
}

std::string config_text(const ModelConfig& c) {
  std::vector<std::string> parts;
  if (!c.architecture.empty()) parts.push_back(c.architecture);
  if (c.vocab_size) parts.push_back(fmt::format("vocab_size {}", *c.vocab_size));
  if (c.hidden_size) parts.push_back(fmt::format("hidden_size {}", *c.hidden_size));
  if (c.tie_word_embeddings) parts.push_back(fmt::format("tie_word_embeddings {}", *c.tie_word_embeddings));
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

void print_text(const Model& model, const std::vector<std::int64_t>& zero_rows, std::int64_t n_tokens) {
  constexpr int kKeyWidth = 14;
  auto line = [&](std::string_view key, const std::string& value) {
    std::cout << fmt::format("{:<{}}{}\n", key, kKeyWidth, escape_unprintable(value));
  };
  line("model", model.name);
  line("format", model.format);
  for (std::size_t i = 0; i < model.files.size(); ++i) line(i == 0 ? "files" : "", model.files[i]);
  if (model.tensor) {
    const auto& t = *model.tensor;
    line("tensor", t.name.empty() ? "'' (an empty name)" : t.name);
    line("shape",
         fmt::format("{} {} × {} dim (stored as {})", with_commas(static_cast<std::uint64_t>(model.matrix.n_rows)),
                     model.matrix.n_rows == 1 ? "row" : "rows", model.matrix.n_cols, shape_string(t.shape)));
    line("dtype", decodable(model) ? std::string(dtype_name(t.dtype))
                                   : fmt::format("{} (cannot be decoded; embstat decodes {})", dtype_name(t.dtype),
                                                 decodable_ggml_type_names()));
    line("bytes", fmt::format("{} at offset {}", human_bytes(t.n_bytes), t.file_offset));
    line("tied", tied_text(model));
  } else {
    line("tensor", "none (vocabulary only)");
  }
  if (const auto c = config_text(model.config); !c.empty()) line("config", c);
  if (model.vocab.empty())
    line("tokenizer", "none");
  else
    line("tokenizer", fmt::format("{}, {} tokens", model.vocab.kind, with_commas(model.vocab.size())));
  if (model.tensor) {
    const std::int64_t pad = model.padding_rows();
    line("padding rows", pad == 0
                             ? "0"
                             : fmt::format("{} (ids {}–{} have no token)", with_commas(static_cast<std::uint64_t>(pad)),
                                           model.vocab.size(), model.matrix.n_rows - 1));
    std::string z = with_commas(zero_rows.size());
    if (!zero_rows.empty()) {
      z += " (ids ";
      for (std::size_t i = 0; i < zero_rows.size() && i < kZeroIdsShown; ++i)
        z += (i ? ", " : "") + std::to_string(zero_rows[i]);
      z += zero_rows.size() > kZeroIdsShown ? ", …)" : ")";
    }
    line("zero rows", decodable(model) ? z : "unknown (the rows cannot be decoded)");
  }
  if (!model.vocab.empty() && n_tokens > 0) {
    const auto n = std::min<std::int64_t>(n_tokens, static_cast<std::int64_t>(model.vocab.size()));
    std::string toks;
    for (std::int64_t id = 0; id < n; ++id)
      toks += fmt::format("{}{} {}", id ? "  " : "", id, escape_display_quoted(model.vocab.token(id).bytes));
    line("first tokens", toks);
  }
  for (const auto& note : model.notes) line("note", note);
}

void print_json(const Model& model, const std::vector<std::int64_t>& zero_rows, std::int64_t n_tokens) {
  using json = nlohmann::ordered_json;
  json j;
  j["model"] = model.name;
  j["format"] = model.format;
  j["files"] = model.files;
  if (model.tensor) {
    const auto& t = *model.tensor;
    j["tensor"] = t.name;
    j["shape"] = t.shape;
    j["dtype"] = std::string(dtype_name(t.dtype));
    j["decodable"] = decodable(model);
    j["bytes"] = t.n_bytes;
    j["file_offset"] = t.file_offset;
  } else {
    j["tensor"] = nullptr;
    j["shape"] = json::array();
    j["dtype"] = nullptr;
    j["decodable"] = false;
    j["bytes"] = 0;
  }
  j["rows"] = model.tensor ? model.matrix.n_rows : 0;
  j["dim"] = model.tensor ? model.matrix.n_cols : 0;
  j["tied"] = model.tied;
  j["has_output_matrix"] = model.has_output_matrix;
  j["tokenizer"] = model.vocab.empty() ? json(nullptr) : json(model.vocab.kind);
  j["vocab_size"] = model.vocab.size();
  j["padding_rows"] = model.tensor ? model.padding_rows() : 0;
  const bool unknown_zero_rows = model.tensor && !decodable(model);
  j["zero_rows"] = unknown_zero_rows ? json(nullptr) : json(zero_rows.size());
  j["zero_row_ids"] = zero_rows;
  json config = json::object();
  if (model.config.vocab_size) config["vocab_size"] = *model.config.vocab_size;
  if (model.config.hidden_size) config["hidden_size"] = *model.config.hidden_size;
  if (model.config.tie_word_embeddings) config["tie_word_embeddings"] = *model.config.tie_word_embeddings;
  if (!model.config.architecture.empty()) config["architecture"] = model.config.architecture;
  j["config"] = config;
  json tokens = json::array();
  const auto n = std::min<std::int64_t>(n_tokens, static_cast<std::int64_t>(model.vocab.size()));
  for (std::int64_t id = 0; id < n; ++id)
    tokens.push_back({{"id", id}, {"text", model.vocab.utf8(id)}, {"display", model.vocab.display(id)}});
  j["first_tokens"] = tokens;
  j["notes"] = model.notes;
  stamp_json(j, "inspect");
  std::cout << json_text(j, 2) << "\n";
}

void setup_inspect(CLI::App& app) {
  auto args = std::make_shared<InspectArgs>();
  CLI::App* sub = app.add_subcommand(
      "inspect",
      "What a MODEL argument resolves to: files, tensor, shape, dtype, tied, tokenizer, padding and zero rows");
  add_model_options(sub, args->model, false);
  sub->add_option("--tokens", args->n_tokens, "How many of the first tokens to show (default 8)")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 20));
  add_format_option(sub, args->format);
  sub->callback([args] {
    const OutputFormat format = parse_output_format(args->format);
    if (format == OutputFormat::Markdown || format == OutputFormat::Csv)
      throw_usage("inspect prints text or json (--format text|json)");
    OpenOptions options = open_options(args->model);
    options.require_matrix = false;  // a vocabulary-only GGUF is worth inspecting too
    const Model model = open_model(args->model.models.at(0), options);
    const auto zero_rows = find_zero_rows(model);
    if (format == OutputFormat::Json)
      print_json(model, zero_rows, args->n_tokens);
    else
      print_text(model, zero_rows, args->n_tokens);
  });
}

const VerbRegistration kRegistration("inspect", 10, setup_inspect);

}  // namespace

}  // namespace embstat::cli
