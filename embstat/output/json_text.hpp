// json_text — the one way embstat turns a JSON document into text.
//
// JSON text must be valid UTF-8, but the strings put in a document come from files and paths
// (a model's folder name, token text, tensor names) and may hold any bytes. Each invalid UTF-8
// sequence is replaced by U+FFFD (one per maximal invalid subpart, the rule of to_valid_utf8()
// and Python's errors="replace"); control characters are written as JSON escapes (\n, \u001b).
// So any document can be written, and the text never carries a raw control byte.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace embstat {

// `indent` < 0: compact, one line; otherwise pretty-printed with that many spaces per level.
template <class Json>
std::string json_text(const Json& doc, int indent = -1) {
  return doc.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace embstat
