// PCRE2 wrapper (see unicode_regex.hpp).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "embstat/vocab/unicode_regex.hpp"

#include <fmt/format.h>
#include <pcre2.h>

#include "embstat/base/error.hpp"

namespace embstat {

struct UnicodeRegex::Impl {
  pcre2_code* code = nullptr;
  pcre2_match_data* match = nullptr;
  ~Impl() {
    if (match) pcre2_match_data_free(match);
    if (code) pcre2_code_free(code);
  }
};

UnicodeRegex::UnicodeRegex(std::string_view pattern, bool literal, const std::string& source)
    : impl_(std::make_unique<Impl>()) {
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  // PCRE2 allows no UCP with LITERAL (it has nothing to apply it to).
  const std::uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error,
                              &error_offset, nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    throw Error(ErrorKind::Unsupported, source,
                fmt::format("pre-tokenizer regex rejected at pattern offset {}: {}", error_offset,
                            reinterpret_cast<const char*>(message)));
  }
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);  // the interpreter is used where JIT is unavailable
  impl_->match = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  if (!impl_->match) throw std::bad_alloc();
}

UnicodeRegex::~UnicodeRegex() = default;

bool UnicodeRegex::next_match(std::string_view text, std::size_t at, std::size_t& start, std::size_t& end) const {
  // The text was checked to be valid UTF-8 once, by the encoder.
  const int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), at,
                             PCRE2_NO_UTF_CHECK, impl_->match, nullptr);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(rc, message, sizeof message);
    throw Error(ErrorKind::Unsupported, "",
                fmt::format("regex match failed: {}", reinterpret_cast<const char*>(message)));
  }
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(impl_->match);
  start = ovector[0];
  end = ovector[1];
  return true;
}

std::size_t UnicodeRegex::next_char(std::string_view text, std::size_t at) {
  ++at;
  while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
  return at;
}

}  // namespace embstat
