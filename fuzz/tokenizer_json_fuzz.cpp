// Fuzz target: Hugging Face tokenizer.json bytes -> parse_tokenizer_json, then every token's
// display and UTF-8 forms. Any embstat::Error is an accepted outcome; anything else (a crash,
// a sanitizer report, another exception) is a bug.
#include <cstdint>
#include <string_view>

#include "embstat/base/error.hpp"
#include "embstat/vocab/loaders.hpp"
#include "fuzz/touch_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  try {
    const embstat::Vocabulary vocab = embstat::parse_tokenizer_json(json, "fuzz/tokenizer.json");
    for (std::size_t i = 0; i < vocab.size(); ++i) {
      const auto id = static_cast<std::int64_t>(i);
      (void)vocab.display(id);
      (void)vocab.utf8(id);
    }
    if (!vocab.empty()) (void)vocab.find(vocab.token(0).piece);
  } catch (const embstat::Error& e) {
    embstat_fuzz::check_printable(e.what());
  }
  return 0;
}
