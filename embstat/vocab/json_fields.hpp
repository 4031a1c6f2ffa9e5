// Typed, optional fields of a simdjson DOM object for the tokenizer.json component parsers:
// absent or null gives nullopt, a value of another type is Error(Format) naming `what.key`.
#pragma once

#include <fmt/format.h>
#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "embstat/base/error.hpp"

namespace embstat::json_fields {

inline std::optional<simdjson::dom::element> field(const simdjson::dom::element& obj, std::string_view key) {
  if (obj.type() != simdjson::dom::element_type::OBJECT) return std::nullopt;
  simdjson::dom::element value;
  if (obj.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  return value;
}

inline std::optional<std::string_view> string(const simdjson::dom::element& obj, std::string_view key,
                                              const std::string& source, std::string_view what) {
  auto value = field(obj, key);
  if (!value) return std::nullopt;
  std::string_view s;
  if (value->get_string().get(s) != simdjson::SUCCESS)
    throw Error(ErrorKind::Format, source, fmt::format("{}.{} is not a string", what, key));
  return s;
}

inline std::optional<bool> boolean(const simdjson::dom::element& obj, std::string_view key, const std::string& source,
                                   std::string_view what) {
  auto value = field(obj, key);
  if (!value) return std::nullopt;
  bool b = false;
  if (value->get_bool().get(b) != simdjson::SUCCESS)
    throw Error(ErrorKind::Format, source, fmt::format("{}.{} is not a boolean", what, key));
  return b;
}

inline std::optional<std::int64_t> integer(const simdjson::dom::element& obj, std::string_view key,
                                           const std::string& source, std::string_view what) {
  auto value = field(obj, key);
  if (!value) return std::nullopt;
  std::int64_t v = 0;
  if (value->get_int64().get(v) != simdjson::SUCCESS)
    throw Error(ErrorKind::Format, source, fmt::format("{}.{} is not an integer", what, key));
  return v;
}

// The "type" of a component object ("NFC", "Split", ...).
inline std::string_view type_of(const simdjson::dom::element& obj, const std::string& source, std::string_view what) {
  auto t = string(obj, "type", source, what);
  if (!t) throw Error(ErrorKind::Format, source, fmt::format("{} has no \"type\"", what));
  return *t;
}

// A {"String": s} or {"Regex": r} pattern: the text and whether it is a regex.
struct Pattern {
  std::string text;
  bool regex = false;
};
inline Pattern pattern(const simdjson::dom::element& obj, const std::string& source, std::string_view what) {
  auto p = field(obj, "pattern");
  if (!p) throw Error(ErrorKind::Format, source, fmt::format("{} has no pattern", what));
  if (auto s = string(*p, "String", source, what)) return {std::string(*s), false};
  if (auto r = string(*p, "Regex", source, what)) return {std::string(*r), true};
  throw Error(ErrorKind::Format, source, fmt::format("{}.pattern is neither String nor Regex", what));
}

}  // namespace embstat::json_fields
