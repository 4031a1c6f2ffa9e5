// Vocabulary — the names of a matrix's rows.
//
// A token is stored twice: `piece`, exactly as the tokenizer file spells it (byte-level
// "Ġhello", SentencePiece "▁hello", "<0x0A>"), and `bytes`, the raw byte string it stands for
// when decoded ("\x20hello", "\n"). display() escapes `bytes` so every token is visible on one
// line; utf8() gives valid UTF-8 (U+FFFD where bytes are not valid on their own).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "embstat/base/display_text.hpp"

namespace embstat {

enum class TokenType {
  Normal,
  Control,      // <s>, </s>, <|endoftext|>, [CLS] ... (special / added-special tokens)
  Byte,         // a byte-fallback token <0xNN>
  Unknown,      // <unk>
  UserDefined,  // added tokens that are not special
  Unused,
};

struct Token {
  std::string piece;  // as stored in the tokenizer file
  std::string bytes;  // decoded bytes (may be partial UTF-8)
  TokenType type = TokenType::Normal;
};

class Vocabulary {
 public:
  // How pieces were spelled, which decides how they decode:
  //   "byte-bpe" (GPT-2 byte-level), "sentencepiece" (▁ + <0xNN>), "wordpiece" (## continuations),
  //   "unigram" (▁ + <0xNN>, Unigram model), "llama2c", "raw" (pieces are the text itself),
  //   or "none" for an empty vocabulary. doc/formats/tokenizers.md describes each.
  std::string kind = "none";
  std::string source;  // the file it came from

  std::size_t size() const { return tokens_.size(); }
  bool empty() const { return tokens_.empty(); }
  bool contains(std::int64_t id) const { return id >= 0 && static_cast<std::size_t>(id) < tokens_.size(); }
  const Token& token(std::int64_t id) const { return tokens_[static_cast<std::size_t>(id)]; }
  const std::vector<Token>& tokens() const { return tokens_; }

  // Appends or places a token at `id` (growing with empty Unused tokens as needed).
  void set(std::int64_t id, Token token);
  void push_back(Token token) { set(static_cast<std::int64_t>(tokens_.size()), std::move(token)); }
  // Replaces all tokens at once (token i gets id i); what the loaders use.
  void assign(std::vector<Token> tokens);

  // One-line visible form of a token's text (escaped); "<no token>" past the end.
  std::string display(std::int64_t id) const;
  // Valid UTF-8 text of a token; "" past the end.
  std::string utf8(std::int64_t id) const;

  // The id whose piece or decoded text equals `text` exactly (piece match preferred).
  std::optional<std::int64_t> find(std::string_view text) const;

 private:
  std::vector<Token> tokens_;
  mutable std::unordered_map<std::string, std::int64_t> piece_index_;  // built on first find()
  mutable std::unordered_map<std::string, std::int64_t> bytes_index_;
};

// Decoders for the spelling conventions.
std::string decode_byte_level(std::string_view piece);                 // GPT-2 byte-level (Ġ = space)
std::string decode_sentencepiece(std::string_view piece);              // ▁ = space, <0xNN> = byte
std::optional<std::uint8_t> parse_byte_token(std::string_view piece);  // "<0x0A>" -> 0x0A
// Metaspace only: each `replacement` (default ▁) becomes a space; <0xNN> stays as written.
std::string replace_metaspace(std::string_view piece, std::string_view replacement = "\xE2\x96\x81");
// WordPiece: a piece starting with `prefix` (usually "##") continues a word and decodes to the
// rest ("##ing" -> "ing"); any other piece starts a word and decodes with a leading space
// ("the" -> " the"), like ▁ and Ġ pieces; bracketed specials ("[unused0]") stay as written.
std::string decode_wordpiece(std::string_view piece, std::string_view prefix = "##");

}  // namespace embstat
