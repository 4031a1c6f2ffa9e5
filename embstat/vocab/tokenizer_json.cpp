// Hugging Face tokenizer.json -> Vocabulary (see loaders.hpp and doc/formats/tokenizers.md).
//
// Parsed with simdjson's DOM parser: it validates the whole document (UTF-8 included) and is
// ~12x faster than nlohmann_json on a 30 MB file (doc/formats/tokenizers.md has the numbers),
// which matters because the merges list makes these files large. Only when simdjson rejects the
// text is it re-read by nlohmann_json's SAX parser, which reports the byte offset of the error.
#include <fmt/format.h>
#include <simdjson.h>

#include <nlohmann/json.hpp>

#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"
#include "embstat/vocab/loaders.hpp"

namespace embstat {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// A tokenizer.json bigger than this is not one (the largest real ones are ~35 MB).
constexpr std::uint64_t kMaxJsonBytes = std::uint64_t{1} << 30;
// Ids may leave holes (filled with Unused tokens), but no more holes than this beyond the
// number of entries: a 30-byte file must not allocate millions of tokens.
constexpr std::int64_t kMaxIdHoles = std::int64_t{1} << 16;
// Nesting of decoder / pre-tokenizer "Sequence"s we follow.
constexpr int kMaxComponentDepth = 16;

constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // U+2581 ▁

// nlohmann_json SAX handler that only records where parsing failed.
struct ErrorOffset : nlohmann::json_sax<nlohmann::json> {
  std::optional<std::uint64_t> offset;
  std::string message;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) override {
    // position counts the characters read, the offending one included.
    offset = position > 0 ? position - 1 : 0;
    message = ex.what();
    return false;
  }
};

[[noreturn]] void throw_syntax_error(std::string_view json, const std::string& source, simdjson::error_code code) {
  ErrorOffset where;
  nlohmann::json::sax_parse(json.begin(), json.end(), &where);
  std::string why = fmt::format("invalid JSON: {}", simdjson::error_message(code));
  if (where.offset) {
    // nlohmann's message is "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    std::string detail = where.message;
    if (auto colon = detail.find(": "); colon != std::string::npos) detail = detail.substr(colon + 2);
    why = fmt::format("invalid JSON: {}", detail);
  }
  throw Error(
      ErrorKind::Format, source, why,
      where.offset ? std::optional<std::uint64_t>(std::min<std::uint64_t>(*where.offset, json.size())) : std::nullopt);
}

// Typed access to the parsed document; every mismatch is a Format error naming the JSON path.
class Reader {
 public:
  explicit Reader(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const std::string& message) const { throw Error(ErrorKind::Format, source_, message); }
  [[noreturn]] void unsupported(const std::string& message) const {
    throw Error(ErrorKind::Unsupported, source_, message);
  }

  // obj[key] when obj is an object holding a non-null key.
  static std::optional<element> field(element obj, std::string_view key) {
    if (obj.type() != element_type::OBJECT) return std::nullopt;
    element value;
    if (obj.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
    return value;
  }
  std::optional<std::string_view> string_field(element obj, std::string_view key, const std::string& where) const {
    auto value = field(obj, key);
    if (!value) return std::nullopt;
    return string(*value, fmt::format("{}.{}", where, key));
  }
  std::optional<bool> bool_field(element obj, std::string_view key, const std::string& where) const {
    auto value = field(obj, key);
    if (!value) return std::nullopt;
    bool b = false;
    if (value->get_bool().get(b) != simdjson::SUCCESS) fail(fmt::format("{}.{} is not a boolean", where, key));
    return b;
  }
  std::string_view string(element value, const std::string& what) const {
    std::string_view s;
    if (value.get_string().get(s) != simdjson::SUCCESS) fail(fmt::format("{} is not a string", what));
    return s;
  }
  // A token id: an integer in [0, kMaxVocabularySize). `what()` names it in errors; it is
  // only called on failure (formatting a name per vocab entry would double the parse time).
  template <typename What>
  std::int64_t lazy_id(element value, What&& what) const {
    std::int64_t v = 0;
    if (value.type() == element_type::UINT64)
      fail(fmt::format("{}: id {} is too large", what(), value.get_uint64().value_unsafe()));
    if (value.get_int64().get(v) != simdjson::SUCCESS) fail(fmt::format("{}: id is not an integer", what()));
    if (v < 0) fail(fmt::format("{}: id {} is negative", what(), v));
    if (v >= kMaxVocabularySize)
      fail(fmt::format("{}: id {} is over the limit of {} tokens", what(), v, kMaxVocabularySize));
    return v;
  }
  std::int64_t id(element value, const std::string& what) const {
    return lazy_id(value, [&] { return what; });
  }

 private:
  const std::string& source_;
};

// Short JSON-ish quoting of a piece for error messages.
std::string quoted(std::string_view piece) {
  if (piece.size() > 40) return escape_display_quoted(std::string(piece.substr(0, 40))) + "...";
  return escape_display_quoted(piece);
}

enum class ModelType { BPE, Unigram, WordPiece, WordLevel };
enum class Spelling { Unknown, ByteLevel, Metaspace, WordPiece, Raw };

// What the normalizer / pre-tokenizer / decoder say about how pieces are spelled.
struct Convention {
  Spelling spelling = Spelling::Unknown;
  std::string replacement{kMetaspace};  // Metaspace character
  std::string wordpiece_prefix;         // from a WordPiece decoder
  std::string word_suffix;              // BPEDecoder / end_of_word_suffix ("</w>")
  bool byte_fallback = false;           // <0xNN> pieces are bytes
};

// Calls f(type, component) for a component and, inside "Sequence"s, for each member.
template <typename F>
void for_each_component(element e, F&& f, int depth = 0) {
  if (depth > kMaxComponentDepth || e.type() != element_type::OBJECT) return;
  std::string_view type;
  if (e["type"].get_string().get(type) != simdjson::SUCCESS) return;
  if (type == "Sequence") {
    for (const char* key : {"decoders", "pretokenizers", "pre_tokenizers", "normalizers"}) {
      simdjson::dom::array members;
      if (e[key].get_array().get(members) == simdjson::SUCCESS)
        for (element m : members) for_each_component(m, f, depth + 1);
    }
    return;
  }
  f(type, e);
}

std::optional<std::string_view> optional_string(element e, std::string_view key) {
  std::string_view s;
  if (e.type() == element_type::OBJECT && e[key].get_string().get(s) == simdjson::SUCCESS) return s;
  return std::nullopt;
}

Convention detect_convention(element root, element model, ModelType model_type) {
  Convention c;
  bool byte_level = false, metaspace = false, wordpiece = false;
  auto note_metaspace = [&](element e) {
    metaspace = true;
    // "replacement" (current), "str_rep" (tokenizers < 0.14); both default to ▁.
    if (auto r = optional_string(e, "replacement"); r && !r->empty())
      c.replacement = std::string(*r);
    else if (auto r2 = optional_string(e, "str_rep"); r2 && !r2->empty())
      c.replacement = std::string(*r2);
  };

  // 1. The decoder is the most direct statement of how pieces become text.
  if (auto decoder = Reader::field(root, "decoder")) {
    for_each_component(*decoder, [&](std::string_view type, element e) {
      if (type == "ByteLevel")
        byte_level = true;
      else if (type == "Metaspace")
        note_metaspace(e);
      else if (type == "ByteFallback")
        c.byte_fallback = true;
      else if (type == "WordPiece") {
        wordpiece = true;
        c.wordpiece_prefix = std::string(optional_string(e, "prefix").value_or("##"));
      } else if (type == "BPEDecoder") {
        c.word_suffix = std::string(optional_string(e, "suffix").value_or("</w>"));
      } else if (type == "Replace") {
        // Llama / Gemma style: {"type":"Replace","pattern":{"String":"▁"},"content":" "}
        std::optional<std::string_view> pattern;
        if (auto p = Reader::field(e, "pattern")) pattern = optional_string(*p, "String");
        if (pattern && !pattern->empty() && optional_string(e, "content") == std::string_view(" ")) {
          metaspace = true;
          c.replacement = std::string(*pattern);
        }
      }
    });
  }
  if (byte_level)
    c.spelling = Spelling::ByteLevel;
  else if (metaspace)
    c.spelling = Spelling::Metaspace;
  else if (wordpiece)
    c.spelling = Spelling::WordPiece;

  // 2. The pre-tokenizer.
  if (c.spelling == Spelling::Unknown) {
    if (auto pre = Reader::field(root, "pre_tokenizer")) {
      for_each_component(*pre, [&](std::string_view type, element e) {
        if (type == "ByteLevel")
          byte_level = true;
        else if (type == "Metaspace")
          note_metaspace(e);
      });
    }
    if (byte_level)
      c.spelling = Spelling::ByteLevel;
    else if (metaspace)
      c.spelling = Spelling::Metaspace;
  }

  // 3. The normalizer: Replace " " -> "▁" or Prepend "▁" spell spaces as ▁.
  if (c.spelling == Spelling::Unknown) {
    if (auto norm = Reader::field(root, "normalizer")) {
      for_each_component(*norm, [&](std::string_view type, element e) {
        if (type == "Replace") {
          std::optional<std::string_view> pattern;
          if (auto p = Reader::field(e, "pattern")) pattern = optional_string(*p, "String");
          auto content = optional_string(e, "content");
          if (pattern == std::string_view(" ") && content && !content->empty()) {
            metaspace = true;
            c.replacement = std::string(*content);
          }
        } else if (type == "Prepend") {
          if (optional_string(e, "prepend") == kMetaspace) metaspace = true;
        }
      });
    }
    if (metaspace) c.spelling = Spelling::Metaspace;
  }

  // 4. The model.
  bool model_byte_fallback = false;
  if (model["byte_fallback"].get_bool().get(model_byte_fallback) == simdjson::SUCCESS && model_byte_fallback)
    c.byte_fallback = true;
  if (c.spelling == Spelling::Unknown) {
    switch (model_type) {
      case ModelType::WordPiece:
        c.spelling = Spelling::WordPiece;
        break;
      case ModelType::Unigram:
        c.spelling = Spelling::Metaspace;
        break;
      case ModelType::BPE:
        c.spelling = c.byte_fallback ? Spelling::Metaspace : Spelling::Raw;
        break;
      case ModelType::WordLevel:
        c.spelling = Spelling::Raw;
        break;
    }
  }
  if (c.spelling == Spelling::WordPiece && c.wordpiece_prefix.empty())
    c.wordpiece_prefix = std::string(optional_string(model, "continuing_subword_prefix").value_or("##"));
  if (c.word_suffix.empty())
    if (auto s = optional_string(model, "end_of_word_suffix"); s && !s->empty()) c.word_suffix = std::string(*s);
  return c;
}

Token decode_piece(std::string_view piece, const Convention& c) {
  Token t;
  t.piece = std::string(piece);
  if (c.byte_fallback) {
    if (auto b = parse_byte_token(piece)) {
      t.type = TokenType::Byte;
      t.bytes.assign(1, static_cast<char>(*b));
      return t;
    }
  }
  switch (c.spelling) {
    case Spelling::ByteLevel:
      t.bytes = decode_byte_level(piece);
      break;
    case Spelling::Metaspace:
      t.bytes = replace_metaspace(piece, c.replacement);
      break;
    case Spelling::WordPiece:
      t.bytes = decode_wordpiece(piece, c.wordpiece_prefix);
      break;
    case Spelling::Unknown:
    case Spelling::Raw:
      t.bytes = t.piece;
      break;
  }
  // BPEDecoder: a word-final piece "the</w>" is "the" followed by a word break.
  if (!c.word_suffix.empty() && t.bytes.size() >= c.word_suffix.size() &&
      std::string_view(t.bytes).substr(t.bytes.size() - c.word_suffix.size()) == c.word_suffix) {
    t.bytes.resize(t.bytes.size() - c.word_suffix.size());
    t.bytes += ' ';
  }
  return t;
}

ModelType model_type_of(const Reader& r, element model) {
  if (auto type = r.string_field(model, "type", "model")) {
    if (*type == "BPE") return ModelType::BPE;
    if (*type == "Unigram") return ModelType::Unigram;
    if (*type == "WordPiece") return ModelType::WordPiece;
    if (*type == "WordLevel") return ModelType::WordLevel;
    r.unsupported(fmt::format("model.type {} is not a known tokenizer model", quoted(*type)));
  }
  // Files without "type" (tokenizers' untagged form): tell the models apart by their fields.
  element vocab;
  if (model["vocab"].get(vocab) == simdjson::SUCCESS && vocab.type() == element_type::ARRAY) return ModelType::Unigram;
  if (Reader::field(model, "merges")) return ModelType::BPE;
  if (Reader::field(model, "continuing_subword_prefix") || Reader::field(model, "max_input_chars_per_word"))
    return ModelType::WordPiece;
  return ModelType::WordLevel;
}

}  // namespace

Vocabulary parse_tokenizer_json(std::string_view json, const std::string& source) {
  if (json.size() > kMaxJsonBytes)
    throw Error(ErrorKind::Format, source,
                fmt::format("{} bytes is too large for a tokenizer.json (limit {})", json.size(), kMaxJsonBytes));
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(json.data(), json.size());
  element root;
  if (auto code = parser.parse(padded).get(root); code != simdjson::SUCCESS) throw_syntax_error(json, source, code);

  const Reader r(source);
  if (root.type() != element_type::OBJECT) r.fail("the top level is not a JSON object");
  const auto model = Reader::field(root, "model");
  if (!model || model->type() != element_type::OBJECT) r.fail("no \"model\" object");

  const ModelType model_type = model_type_of(r, *model);
  const Convention conv = detect_convention(root, *model, model_type);

  // Collect (id, piece) entries first: ids are checked, and the largest known, before allocating.
  struct Entry {
    std::int64_t id;
    std::string_view piece;
  };
  std::vector<Entry> entries;
  const auto vocab = Reader::field(*model, "vocab");
  if (!vocab) r.fail("model has no \"vocab\"");
  if (model_type == ModelType::Unigram) {
    // [[piece, score], ...]; the id is the position.
    simdjson::dom::array list;
    if (vocab->get_array().get(list) != simdjson::SUCCESS) r.fail("model.vocab of a Unigram model is not an array");
    if (list.size() > static_cast<std::size_t>(kMaxVocabularySize))
      r.fail(fmt::format("model.vocab has {} entries, over the limit of {}", list.size(), kMaxVocabularySize));
    entries.reserve(list.size());
    for (element item : list) {
      simdjson::dom::array pair;
      std::string_view piece;
      if (item.get_array().get(pair) != simdjson::SUCCESS || pair.size() == 0)
        r.fail(fmt::format("model.vocab[{}] is not a [piece, score] pair", entries.size()));
      if (pair.at(0).get_string().get(piece) != simdjson::SUCCESS)
        r.fail(fmt::format("model.vocab[{}][0] is not a string", entries.size()));
      entries.push_back({static_cast<std::int64_t>(entries.size()), piece});
    }
  } else {
    // {"piece": id, ...}
    simdjson::dom::object map;
    if (vocab->get_object().get(map) != simdjson::SUCCESS) r.fail("model.vocab is not an object of piece: id");
    entries.reserve(map.size());
    for (const simdjson::dom::key_value_pair& kv : map) {
      const std::string_view key = kv.key;
      entries.push_back({r.lazy_id(kv.value, [&] { return fmt::format("model.vocab[{}]", quoted(key)); }), key});
    }
  }
  const std::size_t n_vocab_entries = entries.size();

  struct Added {
    std::int64_t id;
    std::string_view content;
    bool special;
  };
  std::vector<Added> added;
  if (auto list = Reader::field(root, "added_tokens")) {
    simdjson::dom::array items;
    if (list->get_array().get(items) != simdjson::SUCCESS) r.fail("added_tokens is not an array");
    added.reserve(items.size());
    for (element item : items) {
      const std::string what = fmt::format("added_tokens[{}]", added.size());
      if (item.type() != element_type::OBJECT) r.fail(what + " is not an object");
      const auto id = Reader::field(item, "id");
      const auto content = Reader::field(item, "content");
      if (!id) r.fail(what + " has no \"id\"");
      if (!content) r.fail(what + " has no \"content\"");
      added.push_back({r.id(*id, what), r.string(*content, what + ".content"),
                       r.bool_field(item, "special", what).value_or(false)});
    }
  }

  // Size: largest id + 1, with holes bounded.
  std::int64_t n_slots = 0;
  for (const Entry& e : entries) n_slots = std::max(n_slots, e.id + 1);
  for (const Added& a : added) n_slots = std::max(n_slots, a.id + 1);
  const auto n_entries = static_cast<std::int64_t>(entries.size() + added.size());
  if (n_slots - n_entries > kMaxIdHoles)
    r.fail(fmt::format("token ids are too sparse: the largest id is {} for {} entries", n_slots - 1, n_entries));

  std::vector<Token> tokens(static_cast<std::size_t>(n_slots), Token{"", "", TokenType::Unused});
  std::vector<bool> filled(static_cast<std::size_t>(n_slots), false);
  for (std::size_t i = 0; i < n_vocab_entries; ++i) {
    const auto slot = static_cast<std::size_t>(entries[i].id);
    if (filled[slot]) continue;  // two pieces with one id: the first one in the file names it
    filled[slot] = true;
    tokens[slot] = decode_piece(entries[i].piece, conv);
  }
  // Added tokens are matched in raw text, so their content is the text itself (never
  // byte-level or ▁ spelled); they override a vocab entry with the same id. A non-special one
  // that is also the model's own piece (Gemma's "▁▁" runs) keeps the model's decoding: the
  // model produces it, and the decoder turns it back into text like any other piece.
  for (const Added& a : added) {
    Token& t = tokens[static_cast<std::size_t>(a.id)];
    if (!a.special && filled[static_cast<std::size_t>(a.id)] && t.piece == a.content) {
      t.type = TokenType::UserDefined;
      continue;
    }
    t.piece = std::string(a.content);
    t.bytes = t.piece;
    t.type = a.special ? TokenType::Control : TokenType::UserDefined;
  }

  // The unknown token: model.unk_token (a piece) or, for Unigram, model.unk_id.
  if (model_type == ModelType::Unigram) {
    if (auto unk = Reader::field(*model, "unk_id")) {
      const std::int64_t id = r.id(*unk, "model.unk_id");
      if (id < n_slots) tokens[static_cast<std::size_t>(id)].type = TokenType::Unknown;
    }
  } else if (auto unk = r.string_field(*model, "unk_token", "model")) {
    for (Token& t : tokens)
      if (t.piece == *unk && t.type != TokenType::Unused) {
        t.type = TokenType::Unknown;
        break;
      }
  }

  Vocabulary out;
  out.source = source;
  switch (conv.spelling) {
    case Spelling::ByteLevel:
      out.kind = "byte-bpe";
      break;
    case Spelling::Metaspace:
      out.kind = model_type == ModelType::Unigram ? "unigram" : "sentencepiece";
      break;
    case Spelling::WordPiece:
      out.kind = "wordpiece";
      break;
    case Spelling::Unknown:
    case Spelling::Raw:
      out.kind = "raw";
      break;
  }
  if (tokens.empty()) out.kind = "none";
  out.assign(std::move(tokens));
  return out;
}

Vocabulary load_tokenizer_json(const std::string& path) {
  const auto file = MappedFile::open(path);
  const auto bytes = file->bytes();
  return parse_tokenizer_json(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
}

}  // namespace embstat
