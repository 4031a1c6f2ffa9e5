#include "embstat/base/display_text.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace embstat {

namespace {

// UTF-8 at s[i], following the Unicode Standard's table of well-formed byte sequences (3.9,
// table 3-7), which excludes overlong forms, surrogates and code points past U+10FFFF.
struct Utf8Scan {
  std::size_t length;  // bytes consumed: the whole sequence, or the maximal invalid subpart
  bool valid;
};

Utf8Scan utf8_scan(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {1, true};
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xbf;  // range of the second byte; later bytes are 80..BF
  if (c >= 0xc2 && c <= 0xdf)
    len = 2;
  else if (c == 0xe0) {
    len = 3;
    lo = 0xa0;
  } else if (c == 0xed) {
    len = 3;
    hi = 0x9f;
  } else if (c >= 0xe1 && c <= 0xef)
    len = 3;
  else if (c == 0xf0) {
    len = 4;
    lo = 0x90;
  } else if (c == 0xf4) {
    len = 4;
    hi = 0x8f;
  } else if (c >= 0xf1 && c <= 0xf3)
    len = 4;
  else
    return {1, false};  // 80..C1, F5..FF never start a sequence
  std::size_t k = 1;
  for (; k < len && i + k < s.size(); ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < lo || b > hi) break;
    lo = 0x80;
    hi = 0xbf;
  }
  if (k == len) return {len, true};
  return {k, false};  // a truncated or broken sequence counts once (maximal subpart)
}

}  // namespace

std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const Utf8Scan scan = utf8_scan(s, i);
  return scan.valid ? scan.length : 0;
}

namespace {

// The code point of one valid UTF-8 sequence.
char32_t decode_utf8(std::string_view seq) {
  const auto b = [&](std::size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(seq[k])); };
  switch (seq.size()) {
    case 1:
      return b(0);
    case 2:
      return ((b(0) & 0x1f) << 6) | (b(1) & 0x3f);
    case 3:
      return ((b(0) & 0x0f) << 12) | ((b(1) & 0x3f) << 6) | (b(2) & 0x3f);
    default:
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3f) << 12) | ((b(2) & 0x3f) << 6) | (b(3) & 0x3f);
  }
}

// Valid code points that would break the line, reorder it, or not show at all: C1 controls,
// spaces other than U+0020, zero-width and bidi format characters, line/paragraph separators.
bool is_hidden_code_point(char32_t cp) {
  return (cp >= 0x80 && cp <= 0xa0) || cp == 0xad || cp == 0x34f || cp == 0x61c || cp == 0x1680 || cp == 0x180e ||
         (cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) || (cp >= 0x205f && cp <= 0x206f) ||
         cp == 0x3000 || cp == 0x3164 || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) ||
         (cp >= 0xe0000 && cp <= 0xe007f);
}

// The one escaper: control bytes, invalid UTF-8 and hidden code points become \n \t \r \xNN
// \uNNNN; a backslash is doubled only when `escape_backslash` (display of raw bytes, where the
// result must be unambiguous), left alone otherwise (text that may hold escapes already).
std::string escape(std::string_view bytes, bool escape_backslash) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    const char* named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : nullptr;
    if (c == '\\' && escape_backslash) named = "\\\\";
    if (named) {
      out += named;
      ++i;
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
      continue;
    }
    const std::size_t len = utf8_sequence_length(bytes, i);
    if (len == 0) {
      out += fmt::format("\\x{:02x}", c);
      ++i;
      continue;
    }
    if (len > 1 && is_hidden_code_point(decode_utf8(bytes.substr(i, len)))) {
      out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(decode_utf8(bytes.substr(i, len))));
      i += len;
      continue;
    }
    out.append(bytes.substr(i, len));
    i += len;
  }
  return out;
}

}  // namespace

std::string escape_display(std::string_view bytes) {
  return escape(bytes, true);
}

std::string escape_unprintable(std::string_view text) {
  return escape(text, false);
}

std::string escape_display_quoted(std::string_view bytes) {
  const std::string escaped = escape_display(bytes);
  std::string out;
  out.reserve(escaped.size() + 2);
  out += '"';
  for (char ch : escaped) {
    if (ch == '"') out += '\\';
    out += ch;
  }
  out += '"';
  return out;
}

std::string to_valid_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t i = 0; i < bytes.size();) {
    const Utf8Scan scan = utf8_scan(bytes, i);
    if (scan.valid)
      out.append(bytes.substr(i, scan.length));
    else
      out += "\xEF\xBF\xBD";  // U+FFFD, once per maximal invalid subpart (as Python, Rust, WHATWG)
    i += scan.length;
  }
  return out;
}

}  // namespace embstat
