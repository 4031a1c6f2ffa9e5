// Fuzz target for NumPy .npy files: the input is a whole file.
//   1. parse_npy_header on the bytes (magic, version, header length, the Python dict literal,
//      descr, fortran_order, shape, data size == rest of the file); the data range it reports
//      is checked here to be exactly the rest of the input (a violation aborts);
//   2. when the header parsed, open_npy on the same bytes as a file, then the first and last
//      rows (fuzz/touch_model.hpp).
// Any embstat::Error is an expected rejection; anything else is a bug.
// Seeds: fuzz/corpus/npy/ (fuzz/make_corpus.py).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "embstat/base/error.hpp"
#include "embstat/formats/npy.hpp"
#include "fuzz/scratch_file.hpp"
#include "fuzz/touch_model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::uint8_t> bytes(data, size);
  try {
    const embstat::NpyHeader h = embstat::parse_npy_header(bytes, "fuzz.npy");
    if (h.data_offset > size || h.data_bytes != size - h.data_offset || h.shape.size() != 2) std::abort();
  } catch (const embstat::Error& e) {
    embstat_fuzz::check_printable(e.what());
    return 0;
  }
  static embstat_fuzz::ScratchFile scratch("array.npy");
  try {
    embstat_fuzz::touch_model(embstat::open_npy(scratch.write(bytes), embstat::OpenOptions{}));
  } catch (const embstat::Error& e) {
    embstat_fuzz::check_printable(e.what());
  }
  return 0;
}
