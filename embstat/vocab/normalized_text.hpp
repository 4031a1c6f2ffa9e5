// NormalizedText — text being normalized and split, with the byte range of the original text
// that each of its bytes came from, so that tokens report offsets into the text as given.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace embstat {

struct NormalizedText {
  std::string text;
  std::vector<std::uint32_t> start;  // per byte of text: original byte range [start, end)
  std::vector<std::uint32_t> end;

  // `original` placed at byte `base` of the whole input.
  static NormalizedText identity(std::string_view original, std::uint32_t base) {
    NormalizedText t;
    t.text.assign(original);
    t.start.resize(original.size());
    t.end.resize(original.size());
    for (std::uint32_t i = 0; i < original.size(); ++i) {
      t.start[i] = base + i;
      t.end[i] = base + i + 1;
    }
    return t;
  }

  bool empty() const { return text.empty(); }
  std::size_t size() const { return text.size(); }

  // Bytes [b, e) with their alignment.
  NormalizedText slice(std::size_t b, std::size_t e) const {
    NormalizedText t;
    t.text.assign(text, b, e - b);
    t.start.assign(start.begin() + static_cast<std::ptrdiff_t>(b), start.begin() + static_cast<std::ptrdiff_t>(e));
    t.end.assign(end.begin() + static_cast<std::ptrdiff_t>(b), end.begin() + static_cast<std::ptrdiff_t>(e));
    return t;
  }
  // Appends bytes that all stand for the original range [s, e).
  void append(std::string_view bytes, std::uint32_t s, std::uint32_t e) {
    text.append(bytes);
    start.insert(start.end(), bytes.size(), s);
    end.insert(end.end(), bytes.size(), e);
  }
  // Appends bytes [b, e) of `other`, alignment included.
  void append(const NormalizedText& other, std::size_t b, std::size_t e) {
    text.append(other.text, b, e - b);
    start.insert(start.end(), other.start.begin() + static_cast<std::ptrdiff_t>(b),
                 other.start.begin() + static_cast<std::ptrdiff_t>(e));
    end.insert(end.end(), other.end.begin() + static_cast<std::ptrdiff_t>(b),
               other.end.begin() + static_cast<std::ptrdiff_t>(e));
  }
  // The original range covered by bytes [b, e) (b < e).
  std::uint32_t original_start(std::size_t b) const { return start[b]; }
  std::uint32_t original_end(std::size_t e) const { return end[e - 1]; }
};

// Length in bytes of the UTF-8 sequence starting with `lead` (1 for continuation bytes).
inline std::size_t utf8_length(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// The code point starting at byte `at` of valid UTF-8 text; `len` gets its length in bytes.
inline char32_t code_point_at(std::string_view text, std::size_t at, std::size_t& len) {
  const auto lead = static_cast<unsigned char>(text[at]);
  len = std::min(utf8_length(lead), text.size() - at);
  if (len == 1) return lead;
  char32_t cp = lead & (0x7Fu >> len);
  for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[at + k]) & 0x3Fu);
  return cp;
}

// The code point ending just before byte `at` (> 0) of valid UTF-8 text, and its length.
inline char32_t code_point_before(std::string_view text, std::size_t at, std::size_t& len) {
  std::size_t b = at - 1;
  while (b > 0 && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80) --b;
  const char32_t cp = code_point_at(text, b, len);
  len = at - b;
  return cp;
}

}  // namespace embstat
