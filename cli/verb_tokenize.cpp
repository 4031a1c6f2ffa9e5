// `embstat tokenize MODEL [--text STR | --file FILE|-] [--no-special]`: the exact token ids the
// model sees for a text, each with its decoded text and the byte range of the input it covers.
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"
#include "cli/verb.hpp"
#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"
#include "embstat/formats/tokenizer_source.hpp"

namespace embstat::cli {

namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  std::string file;
  bool no_special = false;
  std::string format = "text";
};

std::string read_input(const TokenizeArgs& args, std::string& source) {
  if (!args.file.empty() && args.file != "-") {
    source = args.file;
    const auto file = MappedFile::open(args.file);
    return {reinterpret_cast<const char*>(file->bytes().data()), file->bytes().size()};
  }
  if (args.file == "-") {
    source = "<stdin>";
    std::string text{std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>()};
    if (std::cin.bad()) throw_io(source, "read failed");
    return text;
  }
  source = "--text";
  return args.text;
}

void setup_tokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* sub = app.add_subcommand(
      "tokenize", "Token ids of a text, exactly as the model's tokenizer encodes it, with each token's byte range");
  sub->add_option("MODEL", args->model, "tokenizer.json, tokenizer.model, or a model folder / hub id holding one")
      ->required();
  auto* text = sub->add_option("--text", args->text, "The text to encode");
  auto* file = sub->add_option("--file", args->file, "Read the text from FILE (- for standard input)");
  text->excludes(file);
  sub->add_flag("--no-special", args->no_special, "Add no BOS/EOS (special tokens in the text are still matched)");
  add_format_option(sub, args->format);
  sub->callback([args, text, file] {
    if (text->count() == 0 && file->count() == 0)
      throw_usage("give the text with --text STR or --file FILE (- for stdin)");
    const OutputFormat format = parse_output_format(args->format);
    const TokenizerSource tokenizer = open_tokenizer(args->model);
    std::string source;
    const std::string input = read_input(*args, source);
    Encoding encoding;
    try {
      encoding = tokenizer.encoder->encode(input, !args->no_special);
    } catch (const Error& e) {
      if (!e.path().empty()) throw;
      throw Error(e.kind(), source, e.message(), e.offset());
    }

    auto token_text = [&](std::int64_t id) {
      return tokenizer.vocab.contains(id) ? tokenizer.vocab.token(id).bytes : std::string();
    };
    if (format == OutputFormat::Json) {
      using json = nlohmann::ordered_json;
      json ids = json::array(), tokens = json::array();
      for (const auto& t : encoding.tokens) {
        ids.push_back(t.id);
        tokens.push_back({{"id", t.id},
                          {"text", tokenizer.vocab.contains(t.id) ? tokenizer.vocab.utf8(t.id) : std::string()},
                          {"start", t.start},
                          {"end", t.end}});
      }
      json j;
      j["model"] = tokenizer.name;
      j["tokenizer"] = tokenizer.file;
      j["encoder"] = tokenizer.encoder->description();
      j["ids"] = std::move(ids);
      j["tokens"] = std::move(tokens);
      j["bos_added"] = encoding.bos_added;
      j["eos_added"] = encoding.eos_added;
      std::cout << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
      return;
    }
    // One "id  "text"  start-end" line per token, streamed.
    std::size_t id_width = 1;
    for (const auto& t : encoding.tokens) id_width = std::max(id_width, std::to_string(t.id).size());
    std::string out;
    for (const auto& t : encoding.tokens) {
      out +=
          fmt::format("{:>{}}  {}  {}-{}\n", t.id, id_width, escape_display_quoted(token_text(t.id)), t.start, t.end);
      if (out.size() > (1u << 16)) {
        std::cout << out;
        out.clear();
      }
    }
    std::cout << out;
    std::fprintf(stderr, "%zu tokens from %zu bytes (%s%s)\n", encoding.tokens.size(), input.size(),
                 tokenizer.encoder->description().c_str(), encoding.bos_added ? ", BOS added" : "");
  });
}

const VerbRegistration kRegistration("tokenize", 13, setup_tokenize);

}  // namespace

}  // namespace embstat::cli
