// Added-token matching (see added_tokens.hpp).
#include "embstat/vocab/added_tokens.hpp"

#include <unicode/uchar.h>

#include "embstat/vocab/normalized_text.hpp"

namespace embstat {

namespace {

// Rust's char::is_alphanumeric (Alphabetic or Numeric) or '_', what tokenizers calls a word
// character for single_word.
bool is_word_char(char32_t code_point) {
  const auto c = static_cast<UChar32>(code_point);
  return c == '_' || u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || (U_GET_GC_MASK(c) & U_GC_N_MASK) != 0;
}

}  // namespace

std::int32_t AddedTokenMatcher::child(std::int32_t node, unsigned char byte) const {
  const auto it = children_.find((static_cast<std::uint64_t>(node) << 8) | byte);
  return it == children_.end() ? -1 : it->second;
}

void AddedTokenMatcher::add(const AddedToken& token) {
  if (token.content.empty()) return;
  std::int32_t node = 0;
  for (char c : token.content) {
    const auto b = static_cast<unsigned char>(c);
    std::int32_t next = child(node, b);
    if (next < 0) {
      next = static_cast<std::int32_t>(terminal_.size());
      terminal_.push_back(-1);
      children_.emplace((static_cast<std::uint64_t>(node) << 8) | b, next);
    }
    node = next;
  }
  first_byte_[static_cast<unsigned char>(token.content[0])] = true;
  terminal_[static_cast<std::size_t>(node)] = static_cast<std::int32_t>(tokens_.size());
  tokens_.push_back(token);
}

std::vector<AddedMatch> AddedTokenMatcher::find(std::string_view text) const {
  std::vector<AddedMatch> out;
  std::size_t previous_end = 0;
  for (std::size_t at = 0; at < text.size();) {
    if (!first_byte_[static_cast<unsigned char>(text[at])]) {
      ++at;
      continue;
    }
    // Longest token starting here.
    std::int32_t best = -1;
    std::size_t best_end = at;
    for (std::int32_t node = 0, i = static_cast<std::int32_t>(at); i < static_cast<std::int32_t>(text.size());) {
      node = child(node, static_cast<unsigned char>(text[static_cast<std::size_t>(i)]));
      if (node < 0) break;
      ++i;
      if (terminal_[static_cast<std::size_t>(node)] >= 0) {
        best = terminal_[static_cast<std::size_t>(node)];
        best_end = static_cast<std::size_t>(i);
      }
    }
    if (best < 0) {
      ++at;
      continue;
    }
    const AddedToken& token = tokens_[static_cast<std::size_t>(best)];
    std::size_t begin = at, end = best_end, len = 0;
    // A rejected single_word match is skipped as a whole, as the matches are found first.
    const std::size_t skip_to = best_end;
    if (token.single_word) {
      const bool space_before = begin == 0 || !is_word_char(code_point_before(text, begin, len));
      const bool space_after = end == text.size() || !is_word_char(code_point_at(text, end, len));
      if (!space_before || !space_after) {
        at = skip_to;
        continue;
      }
    }
    if (token.lstrip)
      while (begin > previous_end && u_isUWhiteSpace(static_cast<UChar32>(code_point_before(text, begin, len))))
        begin -= len;
    if (token.rstrip)
      while (end < text.size() && u_isUWhiteSpace(static_cast<UChar32>(code_point_at(text, end, len)))) end += len;
    out.push_back({begin, end, token.id});
    previous_end = end;
    at = end;
  }
  return out;
}

}  // namespace embstat
