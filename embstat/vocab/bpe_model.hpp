// BpeModel — Hugging Face's BPE model: a word's characters (or, byte-level, its bytes) become
// symbols, then the pair with the lowest merge rank is merged, leftmost first, until no pair
// has a merge (tokenizers' Word::merge_all, which llama.cpp's BPE also matches).
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace embstat {

struct BpeOptions {
  bool byte_level = false;     // words are raw bytes, spelled through GPT-2's byte-to-character map
  bool byte_fallback = false;  // a character the vocabulary lacks becomes its <0xNN> byte tokens
  bool ignore_merges = false;  // a word that is a vocabulary entry is that token, merges or not
  bool fuse_unk = false;       // consecutive unknown characters become one unk token
  std::optional<std::string> unk_token;
  std::string continuing_subword_prefix;  // prefixed to every character but a word's first
  std::string end_of_word_suffix;         // appended to a word's last character
};

// One token of a word: its id and the byte range of the word it covers.
struct WordToken {
  std::int32_t id;
  std::uint32_t begin, end;
};

class BpeModel {
 public:
  // vocab: piece -> id. merges: pairs of pieces, rank = position. Throws Error(Format) naming
  // `source` and the merge when a merge names a piece the vocabulary lacks.
  BpeModel(std::unordered_map<std::string, std::int32_t> vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
           const std::string& source);

  // Appends the tokens of one word. Throws Error(Format) when a character has no token and
  // the unk token is not in the vocabulary.
  void encode_word(std::string_view word, std::vector<WordToken>& out) const;

  std::optional<std::int32_t> find(std::string_view piece) const;

 private:
  struct Merge {
    std::int32_t rank;
    std::int32_t id;
  };
  static std::uint64_t key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }
  void initial_symbols(std::string_view word, std::vector<WordToken>& symbols) const;
  void merge(std::vector<WordToken>& symbols) const;

  std::unordered_map<std::string, std::int32_t> vocab_;
  std::unordered_map<std::uint64_t, Merge> merges_;
  BpeOptions options_;
  std::string source_;
  std::int32_t byte_ids_[256];  // byte-level: the token of each byte (-1: none); byte_fallback: <0xNN>

  // Words seen before (most words recur): word -> tokens with word-relative ranges.
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<WordToken>> cache_;
};

}  // namespace embstat
