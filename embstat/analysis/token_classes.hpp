// Token classes — a coarse kind for every row, from its token's decoded bytes and type.
//
// The study noticed that ids 0–92 (single ASCII characters) are negative to most tokens; these
// classes generalise that observation to the whole vocabulary so `geometry` can report, per
// kind of token, how it sits relative to the rest. Classification is purely lexical: it looks
// at the token type the tokenizer file declares and at the Unicode blocks of the decoded text
// (no ICU; the block tables are in token_classes.cpp). Thread-safe, no state.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "embstat/vocab/vocabulary.hpp"

namespace embstat {

// In order of precedence: the first that applies wins.
enum class TokenClass : std::uint8_t {
  Special,            // control / special / unknown / reserved-unused tokens, added markup (<think>)
  Byte,               // decodes to exactly one byte, a byte-fallback <0xNN>, or only UTF-8 fragments
  Punctuation,        // ASCII punctuation, optionally with whitespace (" (", "...", ".\n")
  Digits,             // ASCII digits, optionally with punctuation / whitespace (" 2023", "1.5")
  Whitespace,         // only whitespace ("  ", "\n\n", "\t")
  LatinWordStart,     // Latin letters, starting a word (leading whitespace; WordPiece without ##)
  LatinContinuation,  // Latin letters inside a word (no leading whitespace; WordPiece ##)
  Cjk,                // contains Han, kana, Hangul or CJK punctuation / full-width forms
  Other,              // other scripts (Cyrillic, Arabic, Devanagari, ...) and non-ASCII symbols
  Padding,            // a row with no token (past the vocabulary, or a gap in it)
};

inline constexpr int kTokenClassCount = 10;

inline constexpr std::array<TokenClass, kTokenClassCount> kAllTokenClasses = {
    TokenClass::Special,    TokenClass::Byte,           TokenClass::Punctuation,       TokenClass::Digits,
    TokenClass::Whitespace, TokenClass::LatinWordStart, TokenClass::LatinContinuation, TokenClass::Cjk,
    TokenClass::Other,      TokenClass::Padding};

// Stable key used in JSON ("special", "byte", "punctuation", "digits", "whitespace",
// "latin_word_start", "latin_continuation", "cjk", "other", "padding").
const char* token_class_name(TokenClass cls);
// One line for humans ("single bytes, <0xNN> byte fallback, UTF-8 fragments").
const char* token_class_description(TokenClass cls);

// Class of one token. `vocab_kind` is Vocabulary::kind ("wordpiece" changes how word starts
// are recognised: by the absence of "##" instead of leading whitespace).
TokenClass classify_token(const Token& token, std::string_view vocab_kind);

// Class of model row `id`: Padding past the end of the vocabulary and for empty gap entries.
// An empty vocabulary (e.g. a .npy file) has no classes: every row is Padding.
TokenClass classify_row(const Vocabulary& vocab, std::int64_t id);

// classify_row for each id.
std::vector<TokenClass> classify_rows(const Vocabulary& vocab, std::span<const std::int64_t> ids);

}  // namespace embstat
