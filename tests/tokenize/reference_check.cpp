// Compares embstat's token ids with reference ids for a set of texts.
// usage: tokenize_reference_check TOKENIZER EXPECTED.json
//   EXPECTED.json: {"texts": {name: text}, "ids": {name: [...]}, "ids_no_special": {name: [...]},
//                   optional "decoded": {name: text the reference decodes its ids to}}
// For every text: ids with and without special tokens equal the reference's; offsets are
// ordered ranges inside the text; decoding the ids (without BOS/EOS) gives the text back
// (or, where the normalizer changed it, what the reference decodes). Exit 1 on any mismatch.
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "embstat/base/error.hpp"
#include "embstat/formats/tokenizer_source.hpp"

namespace {

std::string show(const std::vector<std::int64_t>& ids, std::size_t at) {
  std::string out;
  const std::size_t b = at >= 3 ? at - 3 : 0;
  for (std::size_t i = b; i < ids.size() && i < at + 4; ++i) out += fmt::format("{}{}", i == b ? "" : " ", ids[i]);
  return out;
}

bool same(const std::string& what, const std::vector<std::int64_t>& got, const std::vector<std::int64_t>& want) {
  if (got == want) return true;
  std::size_t at = 0;
  while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
  std::cout << fmt::format("MISMATCH {}: {} ids, reference {}; first difference at {}: got [{}], reference [{}]\n",
                           what, got.size(), want.size(), at, show(got, at), show(want, at));
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: tokenize_reference_check TOKENIZER EXPECTED.json\n";
    return 2;
  }
  try {
    const embstat::TokenizerSource tok = embstat::open_tokenizer(argv[1]);
    std::ifstream in(argv[2]);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const auto expected = nlohmann::json::parse(buffer.str());
    int failures = 0, checked = 0;
    for (const auto& [name, text_json] : expected.at("texts").items()) {
      const std::string text = text_json.get<std::string>();
      const auto with = tok.encoder->encode(text, true);
      const auto without = tok.encoder->encode(text, false);
      bool ok = same(name, with.ids(), expected.at("ids").at(name).get<std::vector<std::int64_t>>());
      ok = same(name + " (no special)", without.ids(),
                expected.at("ids_no_special").at(name).get<std::vector<std::int64_t>>()) &&
           ok;
      std::uint64_t previous = 0;
      std::string decoded;
      for (const auto& t : without.tokens) {
        if (t.start < previous || t.end < t.start || t.end > text.size()) {
          std::cout << fmt::format("BAD OFFSETS {}: token {} has [{}, {}) after {}\n", name, t.id, t.start, t.end,
                                   previous);
          ok = false;
          break;
        }
        previous = t.start;
        decoded += tok.vocab.contains(t.id) ? tok.vocab.token(t.id).bytes : "";
      }
      const bool round_trip = decoded == text || (expected.contains("decoded") && expected["decoded"].contains(name) &&
                                                  decoded == expected["decoded"][name].get<std::string>());
      if (!round_trip) {
        std::cout << fmt::format("ROUND TRIP {}: decoding the ids does not give the text back\n", name);
        ok = false;
      }
      failures += ok ? 0 : 1;
      ++checked;
    }
    std::cout << fmt::format("{}: {} of {} texts match the reference exactly\n", tok.encoder->description(),
                             checked - failures, checked);
    return failures == 0 ? 0 : 1;
  } catch (const embstat::Error& e) {
    std::cout << "embstat: " << e.what() << "\n";
    return 1;
  }
}
