// Fuzz target for llama2.c checkpoints (legacy 7-int header, "ak42" versions 1 and 2): the
// input is a whole checkpoint.
//   1. parse_llama2c_header on the bytes: caps, divisibility, the overflow-checked layout and
//      the exact file size; every offset it reports is checked here to lie inside the input
//      (a violation aborts);
//   2. when the header parsed, open_llama2c on the same bytes as a file, for the input
//      embedding and for --matrix output (the unshared classifier): version 2 dequantises the
//      whole int8 matrix there; then the first and last rows (fuzz/touch_model.hpp).
// Any embstat::Error is an expected rejection; anything else is a bug.
// Seeds: fuzz/corpus/llama2c_checkpoint/ (fuzz/make_corpus.py).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "embstat/base/error.hpp"
#include "embstat/formats/llama2c.hpp"
#include "fuzz/scratch_file.hpp"
#include "fuzz/touch_model.hpp"

namespace {

// [offset, offset + n) lies inside a file of `size` bytes.
bool inside(std::uint64_t offset, std::uint64_t n, std::uint64_t size) {
  return offset <= size && n <= size - offset;
}

void check_layout(const embstat::Llama2cHeader& h, std::uint64_t size) {
  const auto emb = static_cast<std::uint64_t>(h.vocab_size) * static_cast<std::uint64_t>(h.dim);
  const std::uint64_t value_bytes = h.version == 2 ? emb : emb * 4;
  if (h.file_bytes != size || !inside(h.embedding_offset, value_bytes, size)) std::abort();
  if (h.version == 2 && !inside(h.embedding_scales, emb / static_cast<std::uint64_t>(h.group_size) * 4, size))
    std::abort();
  if (!h.shared_classifier && !inside(h.classifier_offset, value_bytes, size)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  try {
    check_layout(embstat::parse_llama2c_header(bytes, "fuzz/model.bin"), size);
  } catch (const embstat::Error& e) {
    embstat_fuzz::check_printable(e.what());
    return 0;
  }
  static embstat_fuzz::ScratchFile scratch("model.bin");
  const std::string& path = scratch.write(bytes);
  for (const auto choice : {embstat::MatrixChoice::Input, embstat::MatrixChoice::Output}) {
    try {
      embstat::OpenOptions options;
      options.matrix = choice;
      embstat_fuzz::touch_model(embstat::open_llama2c(path, options));
    } catch (const embstat::Error& e) {
      embstat_fuzz::check_printable(e.what());
    }
  }
  return 0;
}
