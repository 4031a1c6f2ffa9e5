// Hugging Face tokenizer.json encoding (see encoder.hpp): added tokens, normalizer,
// pre-tokenizer, BPE model and post-processor, in the order tokenizers' encode() runs them.
#include <fmt/format.h>
#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"
#include "embstat/vocab/added_tokens.hpp"
#include "embstat/vocab/bpe_model.hpp"
#include "embstat/vocab/encoder.hpp"
#include "embstat/vocab/json_fields.hpp"
#include "embstat/vocab/normalizer.hpp"
#include "embstat/vocab/pre_tokenizer.hpp"
#include "embstat/vocab/vocabulary.hpp"

namespace embstat {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// The ids a post-processor puts before and after the text.
struct Template {
  std::vector<std::int64_t> prefix, suffix;
};

class HfEncoder final : public Encoder {
 public:
  std::string description() const override { return description_; }
  Encoding encode(std::string_view text, bool add_special) const override;

  std::string description_;
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<BpeModel> model;
  AddedTokenMatcher raw_tokens, normalized_tokens;
  Template post;

 private:
  void encode_segment(NormalizedText segment, std::vector<EncodedToken>& out) const;
};

void HfEncoder::encode_segment(NormalizedText segment, std::vector<EncodedToken>& out) const {
  if (normalizer) normalizer->apply(segment);
  // Normalized added tokens are looked for in the normalized text.
  std::vector<NormalizedText> pieces;
  std::size_t at = 0;
  auto flush_text = [&](std::size_t end) {
    if (end <= at) return;
    pieces.clear();
    pieces.push_back(at == 0 && end == segment.size() ? segment : segment.slice(at, end));
    if (pre_tokenizer) pre_tokenizer->split(pieces);
    std::vector<WordToken> word_tokens;
    for (const NormalizedText& word : pieces) {
      word_tokens.clear();
      model->encode_word(word.text, word_tokens);
      for (const WordToken& t : word_tokens)
        out.push_back({t.id, word.original_start(t.begin), word.original_end(t.end)});
    }
  };
  if (!normalized_tokens.empty()) {
    for (const AddedMatch& m : normalized_tokens.find(segment.text)) {
      flush_text(m.begin);
      out.push_back({m.id, segment.original_start(m.begin), segment.original_end(m.end)});
      at = m.end;
    }
  }
  flush_text(segment.size());
}

Encoding HfEncoder::encode(std::string_view text, bool add_special) const {
  if (text.size() >= std::numeric_limits<std::uint32_t>::max())
    throw Error(ErrorKind::Usage, "", "text of 4 GiB or more: encode it in parts");
  if (const std::size_t bad = first_invalid_utf8(text); bad != std::string_view::npos)
    throw Error(ErrorKind::Format, "", "text is not valid UTF-8", bad);
  Encoding encoding;
  if (add_special)
    for (std::int64_t id : post.prefix) encoding.tokens.push_back({id, 0, 0});
  encoding.bos_added = add_special && !post.prefix.empty();
  std::size_t at = 0;
  for (const AddedMatch& m : raw_tokens.find(text)) {
    if (m.begin > at)
      encode_segment(NormalizedText::identity(text.substr(at, m.begin - at), static_cast<std::uint32_t>(at)),
                     encoding.tokens);
    encoding.tokens.push_back({m.id, m.begin, m.end});
    at = m.end;
  }
  if (at < text.size())
    encode_segment(NormalizedText::identity(text.substr(at), static_cast<std::uint32_t>(at)), encoding.tokens);
  if (add_special)
    for (std::int64_t id : post.suffix) encoding.tokens.push_back({id, text.size(), text.size()});
  encoding.eos_added = add_special && !post.suffix.empty();
  return encoding;
}

std::string_view string_of(element e, const std::string& source, std::string_view what) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS)
    throw Error(ErrorKind::Format, source, fmt::format("{} is not a string", what));
  return s;
}

std::int32_t id_of(element e, const std::string& source, const std::string& what) {
  std::int64_t v = 0;
  if (e.get_int64().get(v) != simdjson::SUCCESS || v < 0 || v > std::numeric_limits<std::int32_t>::max())
    throw Error(ErrorKind::Format, source, fmt::format("{}: id is not an integer in [0, 2^31)", what));
  return static_cast<std::int32_t>(v);
}

std::unique_ptr<BpeModel> parse_bpe(element model, const std::string& source, bool byte_level) {
  using namespace json_fields;
  BpeOptions options;
  options.byte_level = byte_level;
  options.byte_fallback = boolean(model, "byte_fallback", source, "model").value_or(false);
  options.ignore_merges = boolean(model, "ignore_merges", source, "model").value_or(false);
  options.fuse_unk = boolean(model, "fuse_unk", source, "model").value_or(false);
  if (auto unk = string(model, "unk_token", source, "model")) options.unk_token = std::string(*unk);
  options.continuing_subword_prefix =
      std::string(string(model, "continuing_subword_prefix", source, "model").value_or(""));
  options.end_of_word_suffix = std::string(string(model, "end_of_word_suffix", source, "model").value_or(""));
  if (auto dropout = field(model, "dropout"); dropout && dropout->type() != element_type::NULL_VALUE) {
    double d = 0;
    if (dropout->get_double().get(d) == simdjson::SUCCESS && d > 0)
      throw Error(ErrorKind::Unsupported, source, "BPE dropout is random: not supported for exact encoding");
  }

  simdjson::dom::object vocab_object;
  if (model["vocab"].get_object().get(vocab_object) != simdjson::SUCCESS)
    throw Error(ErrorKind::Format, source, "model.vocab is not an object");
  std::unordered_map<std::string, std::int32_t> vocab;
  vocab.reserve(vocab_object.size());
  for (auto [key, value] : vocab_object)
    vocab[std::string(key)] = id_of(value, source, fmt::format("model.vocab[{}]", escape_display_quoted(key)));

  std::vector<std::pair<std::string, std::string>> merges;
  simdjson::dom::array merge_list;
  if (model["merges"].get_array().get(merge_list) == simdjson::SUCCESS) {
    merges.reserve(merge_list.size());
    std::size_t i = 0;
    for (element m : merge_list) {
      // "a b" (tokenizers < 0.20) or ["a", "b"].
      std::string_view s;
      simdjson::dom::array pair;
      if (m.get_string().get(s) == simdjson::SUCCESS) {
        const auto space = s.find(' ');
        if (space == std::string_view::npos || s.find(' ', space + 1) != std::string_view::npos)
          throw Error(
              ErrorKind::Format, source,
              fmt::format("merge {} ({}) is not two pieces separated by one space", i, escape_display_quoted(s)));
        merges.emplace_back(std::string(s.substr(0, space)), std::string(s.substr(space + 1)));
      } else if (m.get_array().get(pair) == simdjson::SUCCESS && pair.size() == 2) {
        merges.emplace_back(std::string(string_of(pair.at(0).value_unsafe(), source, "merge piece")),
                            std::string(string_of(pair.at(1).value_unsafe(), source, "merge piece")));
      } else {
        throw Error(ErrorKind::Format, source, fmt::format("merge {} is neither \"a b\" nor [a, b]", i));
      }
      ++i;
    }
  }
  return std::make_unique<BpeModel>(std::move(vocab), merges, std::move(options), source);
}

// Ids of a TemplateProcessing template's special tokens around $A.
Template parse_template(element processor, const std::string& source) {
  Template t;
  simdjson::dom::array single;
  if (processor["single"].get_array().get(single) != simdjson::SUCCESS)
    throw Error(ErrorKind::Format, source, "TemplateProcessing has no single template");
  simdjson::dom::object specials;
  const bool has_specials = processor["special_tokens"].get_object().get(specials) == simdjson::SUCCESS;
  bool after = false;
  for (element item : single) {
    if (json_fields::field(item, "Sequence")) {
      after = true;
      continue;
    }
    auto special = json_fields::field(item, "SpecialToken");
    if (!special)
      throw Error(ErrorKind::Format, source, "TemplateProcessing item is neither Sequence nor SpecialToken");
    const auto name = json_fields::string(*special, "id", source, "SpecialToken");
    element entry;
    if (!name || !has_specials || specials.at_key(*name).get(entry) != simdjson::SUCCESS)
      throw Error(ErrorKind::Format, source,
                  fmt::format("TemplateProcessing names special token {} it does not define",
                              escape_display_quoted(name.value_or(""))));
    simdjson::dom::array ids;
    if (entry["ids"].get_array().get(ids) != simdjson::SUCCESS)
      throw Error(ErrorKind::Format, source, "TemplateProcessing special token has no ids");
    for (element id : ids) (after ? t.suffix : t.prefix).push_back(id_of(id, source, "TemplateProcessing"));
  }
  return t;
}

Template parse_post_processor(element p, const std::string& source) {
  const std::string_view type = json_fields::type_of(p, source, "post_processor");
  if (type == "TemplateProcessing") return parse_template(p, source);
  if (type == "ByteLevel") return {};
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    // {"cls": ["<s>", 0], "sep": ["</s>", 2]}
    auto id_in = [&](std::string_view key) {
      simdjson::dom::array pair;
      if (p[key].get_array().get(pair) != simdjson::SUCCESS || pair.size() != 2)
        throw Error(ErrorKind::Format, source, fmt::format("{}.{} is not [token, id]", type, key));
      return static_cast<std::int64_t>(id_of(pair.at(1).value_unsafe(), source, std::string(type)));
    };
    return {{id_in("cls")}, {id_in("sep")}};
  }
  if (type == "Sequence") {
    Template t;
    simdjson::dom::array list;
    if (p["processors"].get_array().get(list) != simdjson::SUCCESS)
      throw Error(ErrorKind::Format, source, "post_processor Sequence has no processors list");
    for (element m : list) {
      Template part = parse_post_processor(m, source);
      t.prefix.insert(t.prefix.end(), part.prefix.begin(), part.prefix.end());
      t.suffix.insert(t.suffix.end(), part.suffix.begin(), part.suffix.end());
    }
    return t;
  }
  throw Error(ErrorKind::Unsupported, source, fmt::format("post-processor {} is not supported for encoding", type));
}

// transformers' Llama and Gemma fast tokenizers rebuild the post-processor from
// tokenizer_config.json's add_bos_token / add_eos_token; other classes keep tokenizer.json's.
void apply_config(std::string_view config_json, const std::string& config_source, const BpeModel& model,
                  const AddedTokenMatcher& raw, Template& post) {
  (void)raw;
  const auto config = nlohmann::json::parse(config_json, nullptr, false);
  if (config.is_discarded() || !config.is_object()) throw Error(ErrorKind::Format, config_source, "not a JSON object");
  const std::string cls = config.value("tokenizer_class", std::string());
  static const char* const kRebuilding[] = {"LlamaTokenizer",     "LlamaTokenizerFast", "GemmaTokenizer",
                                            "GemmaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast",
                                            "Gemma3Tokenizer",    "LlamaTokenizerFast"};
  if (std::find(std::begin(kRebuilding), std::end(kRebuilding), cls) == std::end(kRebuilding)) return;
  if (!config.contains("add_bos_token") && !config.contains("add_eos_token")) return;
  auto token_id = [&](const char* key) -> std::optional<std::int64_t> {
    if (!config.contains(key)) return std::nullopt;
    const auto& v = config[key];
    std::string content = v.is_string() ? v.get<std::string>() : v.is_object() ? v.value("content", "") : "";
    if (content.empty()) return std::nullopt;
    if (auto id = model.find(content)) return *id;
    return std::nullopt;
  };
  const bool add_bos = config.value("add_bos_token", true);
  const bool add_eos = config.value("add_eos_token", false);
  post = {};
  if (add_bos)
    if (auto id = token_id("bos_token")) post.prefix.push_back(*id);
  if (add_eos)
    if (auto id = token_id("eos_token")) post.suffix.push_back(*id);
}

}  // namespace

std::vector<std::int64_t> Encoding::ids() const {
  std::vector<std::int64_t> out;
  out.reserve(tokens.size());
  for (const auto& t : tokens) out.push_back(t.id);
  return out;
}

std::size_t first_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0, min = 0;
    if (c >= 0xC2 && c <= 0xDF)
      len = 2, cp = c & 0x1F, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
      len = 3, cp = c & 0x0F, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
      len = 4, cp = c & 0x07, min = 0x10000;
    else
      return i;
    if (i + len > n) return i;
    for (std::size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::unique_ptr<Encoder> parse_hf_encoder(std::string_view json, std::string_view config_json,
                                          const std::string& source) {
  simdjson::dom::parser parser;
  element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root))
    throw Error(ErrorKind::Format, source, fmt::format("invalid JSON: {}", simdjson::error_message(err)));
  auto encoder = std::make_unique<HfEncoder>();

  auto model = json_fields::field(root, "model");
  if (!model) throw Error(ErrorKind::Format, source, "no model");
  const std::string_view type = json_fields::string(*model, "type", source, "model").value_or("BPE");
  if (type != "BPE")
    throw Error(ErrorKind::Unsupported, source, fmt::format("encoding with a {} model is not supported yet", type));

  if (auto n = json_fields::field(root, "normalizer")) encoder->normalizer = Normalizer::parse(*n, source);
  bool byte_level = false;
  if (auto p = json_fields::field(root, "pre_tokenizer"))
    encoder->pre_tokenizer = PreTokenizer::parse(*p, source, byte_level);
  encoder->model = parse_bpe(*model, source, byte_level);
  const bool byte_fallback = json_fields::boolean(*model, "byte_fallback", source, "model").value_or(false);
  encoder->description_ = byte_level      ? "tokenizer.json BPE (byte-level)"
                          : byte_fallback ? "tokenizer.json BPE (byte fallback)"
                                          : "tokenizer.json BPE";

  simdjson::dom::array added;
  if (root["added_tokens"].get_array().get(added) == simdjson::SUCCESS) {
    for (element a : added) {
      using namespace json_fields;
      AddedToken t;
      auto id = field(a, "id");
      auto content = string(a, "content", source, "added_tokens[]");
      if (!id || !content) throw Error(ErrorKind::Format, source, "an added token lacks id or content");
      t.id = id_of(*id, source, "added_tokens[]");
      t.content = std::string(*content);
      t.special = boolean(a, "special", source, "added_tokens[]").value_or(false);
      t.lstrip = boolean(a, "lstrip", source, "added_tokens[]").value_or(false);
      t.rstrip = boolean(a, "rstrip", source, "added_tokens[]").value_or(false);
      t.single_word = boolean(a, "single_word", source, "added_tokens[]").value_or(false);
      t.normalized = boolean(a, "normalized", source, "added_tokens[]").value_or(!t.special);
      (t.normalized && encoder->normalizer ? encoder->normalized_tokens : encoder->raw_tokens).add(t);
    }
  }
  if (auto p = json_fields::field(root, "post_processor")) encoder->post = parse_post_processor(*p, source);
  if (!config_json.empty())
    apply_config(config_json, source + " (tokenizer_config.json)", *encoder->model, encoder->raw_tokens, encoder->post);
  return encoder;
}

std::unique_ptr<Encoder> load_hf_encoder(const std::string& tokenizer_json, const std::string& config_path) {
  const auto file = MappedFile::open(tokenizer_json);
  const auto bytes = file->bytes();
  std::string config;
  if (!config_path.empty()) {
    const auto c = MappedFile::open(config_path);
    config.assign(reinterpret_cast<const char*>(c->bytes().data()), c->bytes().size());
  }
  return parse_hf_encoder(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), config,
                          tokenizer_json);
}

}  // namespace embstat
