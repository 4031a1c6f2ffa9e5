// UnicodeRegex — a PCRE2 pattern compiled with UTF and Unicode properties (\p{L}, \s and \w
// by Unicode, case folding by Unicode), JIT-compiled where the platform allows. The tokenizer
// pre-tokenizers' regexes (written for Oniguruma / Rust's fancy-regex) use only the common
// Perl syntax that PCRE2 shares.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace embstat {

class UnicodeRegex {
 public:
  // literal: the pattern is a plain string, not a regex. Throws Error(Unsupported) naming
  // `source`, with PCRE2's reason and the pattern offset, when the pattern does not compile.
  UnicodeRegex(std::string_view pattern, bool literal, const std::string& source);
  ~UnicodeRegex();
  UnicodeRegex(const UnicodeRegex&) = delete;
  UnicodeRegex& operator=(const UnicodeRegex&) = delete;

  // Calls f(start, end) for each non-overlapping, non-empty match in text (valid UTF-8),
  // left to right.
  template <typename F>
  void for_each_match(std::string_view text, F&& f) const {
    std::size_t at = 0, start = 0, end = 0;
    while (at <= text.size() && next_match(text, at, start, end)) {
      if (end > start) f(start, end);
      at = end > start ? end : next_char(text, start);
    }
  }

 private:
  // The first match at or after `at`; false when there is none.
  bool next_match(std::string_view text, std::size_t at, std::size_t& start, std::size_t& end) const;
  static std::size_t next_char(std::string_view text, std::size_t at);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace embstat
