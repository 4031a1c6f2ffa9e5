// AddedTokens — tokenizer.json's added_tokens, matched in the text before the model sees it:
// leftmost, longest first, with their lstrip / rstrip (absorb neighbouring whitespace) and
// single_word (only between non-word characters) flags. Tokens marked normalized are matched
// in the normalized text, the others in the text as given, as Hugging Face tokenizers does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace embstat {

struct AddedToken {
  std::string content;
  std::int32_t id = 0;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

struct AddedMatch {
  std::size_t begin, end;  // bytes of the text, stripped whitespace included
  std::int32_t id;
};

class AddedTokenMatcher {
 public:
  void add(const AddedToken& token);
  bool empty() const { return tokens_.empty(); }
  // Non-overlapping matches in text, left to right.
  std::vector<AddedMatch> find(std::string_view text) const;

 private:
  // Trie over bytes: node -> child per byte; the token ending at a node (-1: none).
  std::int32_t child(std::int32_t node, unsigned char byte) const;
  std::unordered_map<std::uint64_t, std::int32_t> children_;
  std::vector<std::int32_t> terminal_{-1};  // node 0 is the root
  std::vector<AddedToken> tokens_;
  bool first_byte_[256] = {};
};

}  // namespace embstat
