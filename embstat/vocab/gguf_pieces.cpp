// Vocabulary from GGUF tokenizer.ggml.tokens / tokenizer.ggml.token_type (see loaders.hpp).
#include <fmt/format.h>

#include "embstat/base/error.hpp"
#include "embstat/vocab/loaders.hpp"

namespace embstat {

namespace {

// llama.cpp's llama_token_type values (tokenizer.ggml.token_type).
TokenType token_type_from_ggml(std::int32_t value) {
  switch (value) {
    case 2:
      return TokenType::Unknown;
    case 3:
      return TokenType::Control;
    case 4:
      return TokenType::UserDefined;
    case 5:
      return TokenType::Unused;
    case 6:
      return TokenType::Byte;
    default:
      return TokenType::Normal;  // 1 normal, 0 undefined, anything else
  }
}

enum class Spelling { ByteLevel, Metaspace, WordPiece, Raw };

}  // namespace

Vocabulary vocabulary_from_pieces(std::span<const std::string_view> pieces,
                                  const std::vector<std::int32_t>& token_types, std::string_view ggml_model,
                                  std::string source) {
  if (static_cast<std::uint64_t>(pieces.size()) > static_cast<std::uint64_t>(kMaxVocabularySize))
    throw Error(ErrorKind::Format, source,
                fmt::format("tokenizer.ggml.tokens has {} entries, more than the limit of {}", pieces.size(),
                            kMaxVocabularySize));
  if (!token_types.empty() && token_types.size() != pieces.size())
    throw Error(
        ErrorKind::Format, source,
        fmt::format("tokenizer.ggml.token_type has {} entries for {} tokens", token_types.size(), pieces.size()));

  Vocabulary vocab;
  vocab.source = std::move(source);
  Spelling spelling = Spelling::Raw;
  if (ggml_model == "gpt2") {
    spelling = Spelling::ByteLevel;
    vocab.kind = "byte-bpe";
  } else if (ggml_model == "llama") {
    spelling = Spelling::Metaspace;
    vocab.kind = "sentencepiece";
  } else if (ggml_model == "t5") {
    spelling = Spelling::Metaspace;
    vocab.kind = "unigram";
  } else if (ggml_model == "bert") {
    vocab.kind = "wordpiece";
    // llama.cpp's converter writes word starts as "▁the" and continuations without "##"; only
    // a file with no ▁ word start at all is taken to keep the original ## spelling.
    spelling = Spelling::WordPiece;
    for (const std::string_view p : pieces)
      if (p.starts_with("\xE2\x96\x81")) {
        spelling = Spelling::Metaspace;
        break;
      }
  } else {
    vocab.kind = pieces.empty() ? "none" : "raw";
  }

  std::vector<Token> tokens(pieces.size());
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    Token& t = tokens[i];
    t.piece = std::string(pieces[i]);
    t.type = token_types.empty() ? TokenType::Normal : token_type_from_ggml(token_types[i]);
    if (token_types.empty() && spelling == Spelling::Metaspace && parse_byte_token(t.piece))
      t.type = TokenType::Byte;  // no types stored: recognise byte-fallback pieces by spelling

    if (t.type == TokenType::Byte) {
      // <0xNN>; a byte token spelled otherwise keeps its piece as text.
      if (auto b = parse_byte_token(t.piece))
        t.bytes.assign(1, static_cast<char>(*b));
      else
        t.bytes = t.piece;
    } else if (t.type != TokenType::Normal) {
      t.bytes = t.piece;  // control, user defined, unknown, unused: verbatim
    } else {
      switch (spelling) {
        case Spelling::ByteLevel:
          t.bytes = decode_byte_level(t.piece);
          break;
        case Spelling::Metaspace:
          t.bytes = replace_metaspace(t.piece);
          break;
        case Spelling::WordPiece:
          t.bytes = decode_wordpiece(t.piece);
          break;
        case Spelling::Raw:
          t.bytes = t.piece;
          break;
      }
    }
  }
  vocab.assign(std::move(tokens));
  return vocab;
}

Vocabulary vocabulary_from_pieces(const std::vector<std::string>& pieces, const std::vector<std::int32_t>& token_types,
                                  std::string_view ggml_model, std::string source) {
  const std::vector<std::string_view> views(pieces.begin(), pieces.end());
  return vocabulary_from_pieces(std::span<const std::string_view>(views), token_types, ggml_model, std::move(source));
}

}  // namespace embstat
