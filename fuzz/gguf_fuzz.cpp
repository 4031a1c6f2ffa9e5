// Fuzz target for the GGUF reader: parses the input as a GGUF file, then touches everything a
// caller may touch afterwards (every metadata value through the typed accessors, the vocabulary,
// and the first row of each decodable tensor). Any embstat::Error is an expected rejection;
// anything else (a crash, a sanitizer report, another exception) is a bug.
// Seeds: fuzz/corpus/gguf/ (made with tests/fixtures/gguf_builder).
#include <cstdint>
#include <span>
#include <vector>

#include "embstat/base/dtype.hpp"
#include "embstat/base/error.hpp"
#include "embstat/formats/gguf.hpp"
#include "fuzz/touch_model.hpp"

namespace {

// Bounds the decode buffer: a row is at most the input's size in blocks anyway.
constexpr std::int64_t kMaxRowElems = 1 << 20;

void touch_value(const embstat::GgufValue& v, std::uint64_t& sink) {
  if (auto i = v.as_int()) sink += static_cast<std::uint64_t>(*i);
  if (auto f = v.as_float()) sink += *f > 0;
  sink += v.string.size();
  for (auto s : v.strings) sink += s.size();
  for (std::uint64_t i = 0; i < v.n_elems && i < 64; ++i)
    if (auto x = v.int_at(i)) sink += static_cast<std::uint64_t>(*x);
  for (const auto& item : v.items) touch_value(item, sink);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const embstat::GgufFile file = embstat::parse_gguf(std::span<const std::uint8_t>(data, size), "fuzz.gguf");
    std::uint64_t sink = 0;
    for (const auto& kv : file.kv) touch_value(kv.value, sink);
    try {
      const auto vocab = embstat::gguf_vocabulary(file);
      for (std::size_t i = 0; i < vocab.size() && i < 256; ++i)
        sink += vocab.display(static_cast<std::int64_t>(i)).size();
    } catch (const embstat::Error& e) {
      embstat_fuzz::check_printable(e.what());
    }
    std::vector<float> row;
    for (const auto& t : file.tensors) {
      if (!t.dtype || t.row_elems() > kMaxRowElems) continue;
      row.resize(static_cast<std::size_t>(t.row_elems()));
      embstat::decode_row(*t.dtype, file.tensor_bytes(t).data(), row.data(), t.row_elems());
      sink += row[0] > 0;
    }
    volatile std::uint64_t keep = sink;
    (void)keep;
  } catch (const embstat::Error& e) {
    embstat_fuzz::check_printable(e.what());
  }
  return 0;
}
