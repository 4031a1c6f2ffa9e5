#include "embstat/formats/token_ids.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <limits>

#include "embstat/base/error.hpp"
#include "embstat/formats/support.hpp"

namespace embstat {

namespace {

constexpr std::uint64_t kMaxIdsBytes = 256u << 20;

TokenSequences parse_json_ids(std::string_view text, const std::string& path) {
  const nlohmann::json root = parse_json(text, path);
  if (!root.is_array() || root.empty()) throw_format(path, 0, "expected a non-empty array of token ids");
  TokenSequences out;
  auto add_sequence = [&](const nlohmann::json& seq, std::size_t index) {
    if (!seq.is_array() || seq.empty())
      throw_format(path, 0, fmt::format("sequence {} is not a non-empty array of token ids", index));
    out.starts.push_back(static_cast<std::int64_t>(out.ids.size()));
    for (const auto& v : seq) {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0)
        throw_format(path, 0,
                     fmt::format("sequence {}: {} is not a token id (a non-negative integer)", index, v.dump()));
      out.ids.push_back(v.get<std::int64_t>());
    }
  };
  if (root.front().is_array()) {
    for (std::size_t s = 0; s < root.size(); ++s) add_sequence(root[s], s);
  } else {
    add_sequence(root, 0);
  }
  return out;
}

}  // namespace

TokenSequences parse_token_ids(std::string_view text, const std::string& path) {
  std::size_t first = 0;
  while (first < text.size() && std::isspace(static_cast<unsigned char>(text[first]))) ++first;
  if (first == text.size()) throw_format(path, 0, "no token ids");
  if (text[first] == '[') return parse_json_ids(text, path);
  TokenSequences out;
  out.starts.push_back(0);
  std::size_t i = first;
  while (i < text.size()) {
    const char c = text[i];
    if (std::isspace(static_cast<unsigned char>(c)) || c == ',') {
      ++i;
      continue;
    }
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), value);
    const auto n = static_cast<std::size_t>(end - (text.data() + i));
    if (ec != std::errc() || value < 0 ||
        (n < text.size() - i && !std::isspace(static_cast<unsigned char>(*end)) && *end != ','))
      throw_format(path, i, "expected a token id (a non-negative integer)");
    out.ids.push_back(value);
    i += n;
  }
  return out;
}

TokenSequences read_token_ids(const std::string& path) {
  return parse_token_ids(read_text_file(path, kMaxIdsBytes), path);
}

}  // namespace embstat
