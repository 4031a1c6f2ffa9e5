#include "embstat/analysis/token_classes.hpp"

namespace embstat {

const char* token_class_name(TokenClass cls) {
  switch (cls) {
    case TokenClass::Special:
      return "special";
    case TokenClass::Byte:
      return "byte";
    case TokenClass::Punctuation:
      return "punctuation";
    case TokenClass::Digits:
      return "digits";
    case TokenClass::Whitespace:
      return "whitespace";
    case TokenClass::LatinWordStart:
      return "latin_word_start";
    case TokenClass::LatinContinuation:
      return "latin_continuation";
    case TokenClass::Cjk:
      return "cjk";
    case TokenClass::Other:
      return "other";
    case TokenClass::Padding:
      return "padding";
  }
  return "?";
}

const char* token_class_description(TokenClass cls) {
  switch (cls) {
    case TokenClass::Special:
      return "special, control, unknown and reserved tokens";
    case TokenClass::Byte:
      return "single bytes, <0xNN> byte fallback, UTF-8 fragments";
    case TokenClass::Punctuation:
      return "ASCII punctuation";
    case TokenClass::Digits:
      return "ASCII digits";
    case TokenClass::Whitespace:
      return "whitespace only";
    case TokenClass::LatinWordStart:
      return "Latin letters, word start";
    case TokenClass::LatinContinuation:
      return "Latin letters, inside a word";
    case TokenClass::Cjk:
      return "Chinese, Japanese, Korean";
    case TokenClass::Other:
      return "other scripts and symbols";
    case TokenClass::Padding:
      return "rows with no token";
  }
  return "?";
}

namespace {

// What one code point (or undecodable byte) contributes to a token's class.
enum class Kind { Space, Control, Invalid, Digit, AsciiPunct, Latin, Cjk, Mark, Symbol, Letter };

bool in(char32_t cp, char32_t lo, char32_t hi) {
  return cp >= lo && cp <= hi;
}

bool is_space(char32_t cp) {
  return in(cp, 0x09, 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 || in(cp, 0x2000, 0x200a) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

bool is_latin_letter(char32_t cp) {
  return in(cp, 'A', 'Z') || in(cp, 'a', 'z') || cp == 0xaa || cp == 0xba ||
         (in(cp, 0xc0, 0x24f) && cp != 0xd7 && cp != 0xf7) ||  // Latin-1 letters, Extended-A/B
         in(cp, 0x250, 0x2af) ||                               // IPA extensions
         in(cp, 0x1d00, 0x1dbf) ||                             // phonetic extensions
         in(cp, 0x1e00, 0x1eff) ||                             // Latin Extended Additional
         in(cp, 0x2c60, 0x2c7f) || in(cp, 0xa720, 0xa7ff) || in(cp, 0xab30, 0xab6f) ||
         in(cp, 0xfb00, 0xfb06) ||                          // ligatures ﬁ ﬂ
         in(cp, 0xff21, 0xff3a) || in(cp, 0xff41, 0xff5a);  // full-width Latin
}

bool is_cjk(char32_t cp) {
  return in(cp, 0x1100, 0x11ff) ||  // Hangul Jamo
         in(cp, 0x2e80, 0x2fdf) ||  // CJK radicals, Kangxi radicals
         in(cp, 0x2ff0, 0x2fff) ||  // ideographic description
         in(cp, 0x3001, 0x303f) ||  // CJK symbols and punctuation (U+3000 is whitespace)
         in(cp, 0x3040, 0x30ff) ||  // Hiragana, Katakana
         in(cp, 0x3100, 0x31ff) ||  // Bopomofo, Hangul compatibility Jamo, Kanbun, strokes
         in(cp, 0x3200, 0x33ff) ||  // enclosed CJK, compatibility
         in(cp, 0x3400, 0x4dbf) ||  // CJK Extension A
         in(cp, 0x4e00, 0x9fff) ||  // CJK Unified Ideographs
         in(cp, 0xa960, 0xa97f) ||  // Hangul Jamo Extended-A
         in(cp, 0xac00, 0xd7ff) ||  // Hangul syllables, Jamo Extended-B
         in(cp, 0xf900, 0xfaff) ||  // CJK compatibility ideographs
         in(cp, 0xfe30, 0xfe4f) ||  // CJK compatibility forms
         in(cp, 0xff01, 0xff20) || in(cp, 0xff3b, 0xff40) || in(cp, 0xff5b, 0xffef) ||  // full/half-width forms
         in(cp, 0x1b000, 0x1b16f) ||                                                    // kana supplement / extended
         in(cp, 0x20000, 0x323af);  // CJK Extensions B-H, compatibility supplement
}

bool is_mark(char32_t cp) {
  return in(cp, 0x300, 0x36f) || in(cp, 0x1ab0, 0x1aff) || in(cp, 0x1dc0, 0x1dff) || in(cp, 0x20d0, 0x20ff) ||
         in(cp, 0xfe00, 0xfe0f) || in(cp, 0xfe20, 0xfe2f) || cp == 0x200b || cp == 0x200c || cp == 0x200d ||
         cp == 0xfeff || in(cp, 0xe0100, 0xe01ef);
}

bool is_symbol(char32_t cp) {
  return in(cp, 0xa1, 0xbf) || cp == 0xd7 || cp == 0xf7 ||                              // Latin-1 punctuation and signs
         in(cp, 0x2b0, 0x2ff) ||                                                        // spacing modifier letters
         in(cp, 0x2010, 0x2027) || in(cp, 0x2030, 0x205e) || in(cp, 0x2060, 0x206f) ||  // general punctuation
         in(cp, 0x2070, 0x20cf) ||                                                      // super/subscripts, currency
         in(cp, 0x2100, 0x2bff) ||    // letterlike, arrows, maths, technical, box drawing, shapes, dingbats
         in(cp, 0x2e00, 0x2e7f) ||    // supplemental punctuation
         in(cp, 0xe000, 0xf8ff) ||    // private use
         in(cp, 0xfff0, 0xffff) ||    // specials (U+FFFD)
         in(cp, 0x1f000, 0x1faff) ||  // mahjong, cards, enclosed, emoji, pictographs
         in(cp, 0xf0000, 0x10ffff);   // supplementary private use
}

bool is_ascii_punct(char32_t cp) {
  return in(cp, 0x21, 0x2f) || in(cp, 0x3a, 0x40) || in(cp, 0x5b, 0x60) || in(cp, 0x7b, 0x7e);
}

Kind kind_of(char32_t cp) {
  if (is_space(cp)) return Kind::Space;
  if (cp < 0x20 || in(cp, 0x7f, 0x9f)) return Kind::Control;
  if (in(cp, '0', '9')) return Kind::Digit;
  if (is_ascii_punct(cp)) return Kind::AsciiPunct;
  if (is_latin_letter(cp)) return Kind::Latin;
  if (is_cjk(cp)) return Kind::Cjk;
  if (is_mark(cp)) return Kind::Mark;
  if (is_symbol(cp)) return Kind::Symbol;
  return Kind::Letter;
}

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 when the bytes there are not a
// valid, shortest-form scalar value.
std::size_t decode_utf8(std::string_view s, std::size_t i, char32_t& cp) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  std::size_t len;
  char32_t min;
  if ((c & 0xe0) == 0xc0) {
    len = 2;
    min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3;
    min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4;
    min = 0x10000;
  } else
    return 0;
  if (i + len > s.size()) return 0;
  char32_t v = c & (0x7f >> len);
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xc0) != 0x80) return 0;
    v = (v << 6) | (b & 0x3f);
  }
  if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
  cp = v;
  return len;
}

bool looks_like_markup(std::string_view piece) {
  if (piece.size() < 3) return false;
  return (piece.front() == '<' && piece.back() == '>') || (piece.front() == '[' && piece.back() == ']');
}

}  // namespace

TokenClass classify_token(const Token& token, std::string_view vocab_kind) {
  switch (token.type) {
    case TokenType::Control:
    case TokenType::Unknown:
      return TokenClass::Special;
    case TokenType::Byte:
      return TokenClass::Byte;
    case TokenType::Unused:
      if (token.piece.empty() && token.bytes.empty()) return TokenClass::Padding;
      return TokenClass::Special;
    case TokenType::UserDefined:
      if (looks_like_markup(token.piece)) return TokenClass::Special;
      break;
    case TokenType::Normal:
      break;
  }
  const std::string_view text = token.bytes;
  if (text.size() == 1) return TokenClass::Byte;
  if (text.empty()) return TokenClass::Other;

  bool seen[10] = {};
  bool leading_space = false;
  for (std::size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const std::size_t len = decode_utf8(text, i, cp);
    const Kind k = len == 0 ? Kind::Invalid : kind_of(cp);
    if (i == 0) leading_space = k == Kind::Space;
    seen[static_cast<int>(k)] = true;
    i += len == 0 ? 1 : len;
  }
  auto has = [&](Kind k) { return seen[static_cast<int>(k)]; };
  if (has(Kind::Cjk)) return TokenClass::Cjk;
  if (has(Kind::Letter)) return TokenClass::Other;
  if (has(Kind::Latin)) {
    const bool word_start = vocab_kind == "wordpiece" ? token.piece.rfind("##", 0) != 0 : leading_space;
    return word_start ? TokenClass::LatinWordStart : TokenClass::LatinContinuation;
  }
  if (has(Kind::Invalid) || has(Kind::Control)) return TokenClass::Byte;
  if (has(Kind::Symbol)) return TokenClass::Other;
  if (has(Kind::Digit)) return TokenClass::Digits;
  if (has(Kind::AsciiPunct)) return TokenClass::Punctuation;
  if (has(Kind::Space)) return TokenClass::Whitespace;
  return TokenClass::Other;  // only combining marks / zero-width characters
}

TokenClass classify_row(const Vocabulary& vocab, std::int64_t id) {
  if (!vocab.contains(id)) return TokenClass::Padding;
  return classify_token(vocab.token(id), vocab.kind);
}

std::vector<TokenClass> classify_rows(const Vocabulary& vocab, std::span<const std::int64_t> ids) {
  std::vector<TokenClass> out;
  out.reserve(ids.size());
  for (const std::int64_t id : ids) out.push_back(classify_row(vocab, id));
  return out;
}

}  // namespace embstat
