// Fuzz target for the safetensors reader: the input is a whole .safetensors file.
//   1. parse_safetensors_header on the bytes (the u64 length, the JSON header, dtypes, shapes,
//      contiguous offsets, the file covered exactly), then the first row of every tensor with
//      a decodable dtype, read from the span at data_offset + begin;
//   2. when the header parsed, the file path too: open_safetensors_file (detection, then
//      --tensor NAME for the first few 1-D/2-D tensors) and the resulting matrix's first and
//      last rows (fuzz/touch_model.hpp).
// Any embstat::Error is an expected rejection; anything else (a crash, a sanitizer report,
// another exception) is a bug. Seeds: fuzz/corpus/safetensors_header/ (fuzz/make_corpus.py).
#include <cstdint>
#include <span>
#include <vector>

#include "embstat/base/dtype.hpp"
#include "embstat/base/error.hpp"
#include "embstat/formats/safetensors.hpp"
#include "fuzz/scratch_file.hpp"
#include "fuzz/touch_model.hpp"

namespace {

// Opening by name re-maps the file each time: a few tensors are enough to reach set_matrix's
// checks (dtype, rank, empty shape) without slowing inputs with many tensors.
constexpr std::size_t kMaxOpenedTensors = 4;

void open_as_file(std::span<const std::uint8_t> bytes, const embstat::SafetensorsHeader& header) {
  static embstat_fuzz::ScratchFile scratch("model.safetensors");
  const std::string& path = scratch.write(bytes);
  std::vector<std::string> names = {""};  // "" = let detection choose
  for (const auto& t : header.tensors)
    if (names.size() <= kMaxOpenedTensors && t.shape.size() <= 2) names.push_back(t.name);
  for (const auto& name : names) {
    try {
      embstat::OpenOptions options;
      options.tensor = name;
      embstat_fuzz::touch_model(embstat::open_safetensors_file(path, options));
    } catch (const embstat::Error& e) {
      embstat_fuzz::check_printable(e.what());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  embstat::SafetensorsHeader header;
  try {
    header = embstat::parse_safetensors_header(bytes, "fuzz.safetensors");
  } catch (const embstat::Error& e) {
    embstat_fuzz::check_printable(e.what());
    return 0;
  }
  std::uint64_t sink = header.metadata.size();
  std::vector<float> row;
  for (const auto& t : header.tensors) {
    if (!t.dtype || !embstat::dtype_info(*t.dtype).decodable || t.shape.empty()) continue;
    const std::int64_t n_cols = t.shape.back();
    if (n_cols == 0 || t.end == t.begin) continue;
    row.resize(static_cast<std::size_t>(n_cols));
    embstat::decode_row(*t.dtype, data + header.data_offset + t.begin, row.data(), n_cols);
    sink += row[0] > 0.0f;
  }
  volatile std::uint64_t keep = sink;
  (void)keep;
  open_as_file(bytes, header);
  return 0;
}
