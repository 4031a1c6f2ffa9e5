// Fuzz target: llama2.c tokenizer.bin bytes -> parse_llama2c_tokenizer, read to the end of the
// input and with fixed counts (stories260K's 512, Llama 2's 32,000) so that lying lengths and
// short files are both reached; then every token's display form. Any embstat::Error is an
// accepted outcome; anything else is a bug.
#include <cstdint>
#include <span>

#include "embstat/base/error.hpp"
#include "embstat/vocab/loaders.hpp"
#include "fuzz/touch_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  for (const std::int64_t n_tokens : {std::int64_t{-1}, std::int64_t{512}, std::int64_t{32000}}) {
    try {
      const embstat::Vocabulary vocab = embstat::parse_llama2c_tokenizer(bytes, n_tokens, "fuzz/tokenizer.bin");
      for (std::size_t i = 0; i < vocab.size(); ++i) (void)vocab.display(static_cast<std::int64_t>(i));
    } catch (const embstat::Error& e) {
      embstat_fuzz::check_printable(e.what());
    }
  }
  return 0;
}
