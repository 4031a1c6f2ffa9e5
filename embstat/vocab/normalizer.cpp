// tokenizer.json normalizers (see normalizer.hpp). Unicode normalization and case mapping come
// from ICU; alignment is kept per normalization segment (the text between two characters that
// ICU says start a new segment), so a token's offsets cover whole original characters.
#include "embstat/vocab/normalizer.hpp"

#include <fmt/format.h>
#include <simdjson.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>

#include "embstat/base/error.hpp"
#include "embstat/vocab/json_fields.hpp"

namespace embstat {

namespace {

std::u16string to_utf16(std::string_view s) {
  std::u16string out(s.size(), u'\0');
  int32_t length = 0;
  UErrorCode status = U_ZERO_ERROR;
  u_strFromUTF8(out.data(), static_cast<int32_t>(out.size()), &length, s.data(), static_cast<int32_t>(s.size()),
                &status);
  if (U_FAILURE(status)) throw Error(ErrorKind::Internal, "", fmt::format("UTF-8 -> UTF-16: {}", u_errorName(status)));
  out.resize(static_cast<std::size_t>(length));
  return out;
}

std::string to_utf8(std::u16string_view s) {
  std::string out(s.size() * 3, '\0');
  int32_t length = 0;
  UErrorCode status = U_ZERO_ERROR;
  u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &length, s.data(), static_cast<int32_t>(s.size()), &status);
  if (U_FAILURE(status)) throw Error(ErrorKind::Internal, "", fmt::format("UTF-16 -> UTF-8: {}", u_errorName(status)));
  out.resize(static_cast<std::size_t>(length));
  return out;
}

class UnicodeForm final : public Normalizer {
 public:
  explicit UnicodeForm(std::string_view form) {
    UErrorCode status = U_ZERO_ERROR;
    if (form == "NFC")
      n_ = unorm2_getNFCInstance(&status);
    else if (form == "NFD")
      n_ = unorm2_getNFDInstance(&status);
    else if (form == "NFKC")
      n_ = unorm2_getNFKCInstance(&status);
    else
      n_ = unorm2_getNFKDInstance(&status);
    if (U_FAILURE(status)) throw Error(ErrorKind::Internal, "", fmt::format("ICU {}: {}", form, u_errorName(status)));
  }

  void apply(NormalizedText& t) const override {
    if (is_normalized(t.text)) return;
    NormalizedText out;
    out.text.reserve(t.size());
    std::size_t seg = 0;
    const auto* s = reinterpret_cast<const std::uint8_t*>(t.text.data());
    const auto n = static_cast<std::int32_t>(t.size());
    auto flush = [&](std::size_t b, std::size_t e) {
      if (b == e) return;
      const std::string_view part(t.text.data() + b, e - b);
      if (is_normalized(part)) {
        out.append(t, b, e);
        return;
      }
      out.append(normalize(part), t.original_start(b), t.original_end(e));
    };
    for (std::int32_t i = 0; i < n;) {
      const std::int32_t at = i;
      UChar32 c = 0;
      U8_NEXT(s, i, n, c);
      if (at > 0 && unorm2_hasBoundaryBefore(n_, c)) {
        flush(seg, static_cast<std::size_t>(at));
        seg = static_cast<std::size_t>(at);
      }
    }
    flush(seg, t.size());
    t = std::move(out);
  }

 private:
  bool is_normalized(std::string_view s) const {
    const std::u16string u = to_utf16(s);
    UErrorCode status = U_ZERO_ERROR;
    const bool yes = unorm2_isNormalized(n_, u.data(), static_cast<int32_t>(u.size()), &status);
    return U_SUCCESS(status) && yes;
  }
  std::string normalize(std::string_view s) const {
    const std::u16string u = to_utf16(s);
    std::u16string out(u.size() * 4 + 16, u'\0');
    UErrorCode status = U_ZERO_ERROR;
    const int32_t length = unorm2_normalize(n_, u.data(), static_cast<int32_t>(u.size()), out.data(),
                                            static_cast<int32_t>(out.size()), &status);
    if (U_FAILURE(status)) throw Error(ErrorKind::Internal, "", fmt::format("ICU normalize: {}", u_errorName(status)));
    out.resize(static_cast<std::size_t>(length));
    return to_utf8(out);
  }
  const UNormalizer2* n_ = nullptr;
};

// Full Unicode lower-casing per character (ICU's root locale, as Rust's str::to_lowercase).
class Lowercase final : public Normalizer {
 public:
  void apply(NormalizedText& t) const override {
    NormalizedText out;
    for (std::size_t i = 0; i < t.size();) {
      const std::size_t len = utf8_length(static_cast<unsigned char>(t.text[i]));
      const std::string_view ch(t.text.data() + i, len);
      if (len == 1) {
        char c = t.text[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        out.append(std::string_view(&c, 1), t.start[i], t.end[i]);
      } else {
        const std::u16string u = to_utf16(ch);
        std::u16string lower(u.size() * 4 + 4, u'\0');
        UErrorCode status = U_ZERO_ERROR;
        const int32_t n = u_strToLower(lower.data(), static_cast<int32_t>(lower.size()), u.data(),
                                       static_cast<int32_t>(u.size()), "", &status);
        if (U_FAILURE(status)) throw Error(ErrorKind::Internal, "", "ICU lower-case failed");
        lower.resize(static_cast<std::size_t>(n));
        out.append(to_utf8(lower), t.original_start(i), t.original_end(i + len));
      }
      i += len;
    }
    t = std::move(out);
  }
};

class Replace final : public Normalizer {
 public:
  Replace(const json_fields::Pattern& p, std::string content, const std::string& source)
      : regex_(p.text, !p.regex, source), content_(std::move(content)) {}
  void apply(NormalizedText& t) const override {
    NormalizedText out;
    std::size_t at = 0;
    regex_.for_each_match(t.text, [&](std::size_t b, std::size_t e) {
      out.append(t, at, b);
      out.append(content_, t.original_start(b), t.original_end(e));
      at = e;
    });
    if (at == 0) return;  // nothing replaced
    out.append(t, at, t.size());
    t = std::move(out);
  }

 private:
  UnicodeRegex regex_;
  std::string content_;
};

class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string prefix) : prefix_(std::move(prefix)) {}
  void apply(NormalizedText& t) const override {
    if (t.empty()) return;
    NormalizedText out;
    out.append(prefix_, t.start[0], t.start[0]);
    out.append(t, 0, t.size());
    t = std::move(out);
  }

 private:
  std::string prefix_;
};

// Unicode White_Space, as Rust's char::is_whitespace.
bool is_space(std::string_view text, std::size_t at, std::size_t& len) {
  return u_isUWhiteSpace(static_cast<UChar32>(code_point_at(text, at, len)));
}

class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void apply(NormalizedText& t) const override {
    std::size_t b = 0, e = t.size(), len = 0;
    while (left_ && b < e && is_space(t.text, b, len)) b += len;
    if (right_) {
      std::size_t last = b;
      for (std::size_t i = b; i < e; i += len)
        if (!is_space(t.text, i, len)) last = i + len;
      e = last;
    }
    if (b != 0 || e != t.size()) t = t.slice(b, e);
  }

 private:
  bool left_, right_;
};

class Sequence final : public Normalizer {
 public:
  explicit Sequence(std::vector<std::unique_ptr<Normalizer>> members) : members_(std::move(members)) {}
  void apply(NormalizedText& t) const override {
    for (const auto& m : members_) m->apply(t);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> members_;
};

}  // namespace

std::unique_ptr<Normalizer> Normalizer::parse(const simdjson::dom::element& e, const std::string& source) {
  const std::string_view type = json_fields::type_of(e, source, "normalizer");
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") return std::make_unique<UnicodeForm>(type);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "Replace") {
    auto content = json_fields::string(e, "content", source, "normalizer Replace");
    return std::make_unique<Replace>(json_fields::pattern(e, source, "normalizer Replace"),
                                     std::string(content.value_or("")), source);
  }
  if (type == "Prepend")
    return std::make_unique<Prepend>(std::string(json_fields::string(e, "prepend", source, "Prepend").value_or("")));
  if (type == "Strip")
    return std::make_unique<Strip>(json_fields::boolean(e, "strip_left", source, "Strip").value_or(true),
                                   json_fields::boolean(e, "strip_right", source, "Strip").value_or(true));
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> members;
    simdjson::dom::array list;
    if (e["normalizers"].get_array().get(list) != simdjson::SUCCESS)
      throw Error(ErrorKind::Format, source, "normalizer Sequence has no normalizers list");
    for (simdjson::dom::element m : list) members.push_back(parse(m, source));
    return std::make_unique<Sequence>(std::move(members));
  }
  throw Error(ErrorKind::Unsupported, source, fmt::format("normalizer {} is not supported for encoding", type));
}

}  // namespace embstat
