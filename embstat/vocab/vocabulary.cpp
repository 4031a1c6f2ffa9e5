#include "embstat/vocab/vocabulary.hpp"

#include <fmt/format.h>

namespace embstat {

void Vocabulary::set(std::int64_t id, Token token) {
  const auto i = static_cast<std::size_t>(id);
  if (i >= tokens_.size()) tokens_.resize(i + 1, Token{"", "", TokenType::Unused});
  tokens_[i] = std::move(token);
  piece_index_.clear();
  bytes_index_.clear();
}

void Vocabulary::assign(std::vector<Token> tokens) {
  tokens_ = std::move(tokens);
  piece_index_.clear();
  bytes_index_.clear();
}

std::string Vocabulary::display(std::int64_t id) const {
  if (!contains(id)) return "<no token>";
  const Token& t = token(id);
  // Control tokens are shown as written (<|endoftext|>), others by what they decode to.
  if (t.type == TokenType::Control || t.type == TokenType::Unknown) return escape_display(t.piece);
  return escape_display(t.bytes);
}

std::string Vocabulary::utf8(std::int64_t id) const {
  if (!contains(id)) return "";
  const Token& t = token(id);
  if (t.type == TokenType::Control || t.type == TokenType::Unknown) return to_valid_utf8(t.piece);
  return to_valid_utf8(t.bytes);
}

std::optional<std::int64_t> Vocabulary::find(std::string_view text) const {
  if (piece_index_.empty() && !tokens_.empty()) {
    // First occurrence wins for both maps (ids ascending).
    for (std::size_t i = tokens_.size(); i-- > 0;) {
      piece_index_[tokens_[i].piece] = static_cast<std::int64_t>(i);
      bytes_index_[tokens_[i].bytes] = static_cast<std::int64_t>(i);
    }
  }
  const std::string key(text);
  if (auto it = piece_index_.find(key); it != piece_index_.end()) return it->second;
  if (auto it = bytes_index_.find(key); it != bytes_index_.end()) return it->second;
  return std::nullopt;
}

std::optional<std::uint8_t> parse_byte_token(std::string_view piece) {
  // Exactly "<0xNN>" with two hex digits.
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return std::nullopt;
  auto hex = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
  };
  const int hi = hex(piece[3]), lo = hex(piece[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<std::uint8_t>(hi * 16 + lo);
}

std::string decode_sentencepiece(std::string_view piece) {
  if (auto b = parse_byte_token(piece)) return std::string(1, static_cast<char>(*b));
  return replace_metaspace(piece);
}

std::string replace_metaspace(std::string_view piece, std::string_view replacement) {
  if (replacement.empty()) return std::string(piece);
  std::string out;
  out.reserve(piece.size());
  std::size_t from = 0;
  for (std::size_t at; (at = piece.find(replacement, from)) != std::string_view::npos; from = at + replacement.size()) {
    out.append(piece.substr(from, at - from));
    out += ' ';
  }
  out.append(piece.substr(from));
  return out;
}

std::string decode_wordpiece(std::string_view piece, std::string_view prefix) {
  if (!prefix.empty() && piece.size() > prefix.size() && piece.substr(0, prefix.size()) == prefix)
    return std::string(piece.substr(prefix.size()));
  // Bracketed specials ([CLS], [unused0]) are not words: llama.cpp's BERT conversion keeps them
  // without the word-start mark too.
  if (piece.size() >= 2 && piece.front() == '[' && piece.back() == ']') return std::string(piece);
  if (piece.empty()) return {};
  std::string out;
  out.reserve(piece.size() + 1);
  out += ' ';
  out.append(piece);
  return out;
}

namespace {

// GPT-2 byte-level mapping: printable bytes map to themselves, the other 68 bytes to code
// points 256, 257, ... in byte order. Inverse table: code point -> byte (or -1).
struct ByteLevelTable {
  int to_byte[512];
  ByteLevelTable() {
    for (int& v : to_byte) v = -1;
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
      to_byte[printable ? b : next++] = b;
    }
  }
};

}  // namespace

std::string decode_byte_level(std::string_view piece) {
  static const ByteLevelTable table;
  std::string out;
  out.reserve(piece.size());
  for (std::size_t i = 0; i < piece.size();) {
    const std::size_t len = utf8_sequence_length(piece, i);
    char32_t cp = 0x110000;
    if (len == 1)
      cp = static_cast<unsigned char>(piece[i]);
    else if (len == 2)
      cp = ((piece[i] & 0x1f) << 6) | (piece[i + 1] & 0x3f);
    if (len != 0 && cp < 512 && table.to_byte[cp] >= 0) {
      out += static_cast<char>(table.to_byte[cp]);
      i += len;
    } else {
      // Not a byte-level symbol (added tokens are stored verbatim): keep the raw text.
      const std::size_t n = len == 0 ? 1 : len;
      out.append(piece.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace embstat
