// NumPy .npy — a 2-D array of row vectors (hidden states, an exported embedding table, ...).
//
// Byte layout (numpy/lib/format.py):
//   [0, 6)    magic "\x93NUMPY"
//   6, 7      u8 major (1, 2 or 3), u8 minor
//   8         header length: u16 LE (v1) or u32 LE (v2, v3)
//   then      the header: an ASCII (v3: UTF-8) Python dict literal ending in '\n', e.g.
//             {'descr': '<f4', 'fortran_order': False, 'shape': (151936, 1024), }
//   then      the data, C order, shape[0] x shape[1] elements, to the end of the file.
// Read: descr '<f2' / '<f4' / '<f8' ('|' or '=' byte order accepted for these on little-endian
// hosts), fortran_order False, 2-D shape. Refused with a clear message: big-endian data,
// Fortran order, other dtypes, other numbers of dimensions, data size != file size.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "embstat/base/dtype.hpp"
#include "embstat/formats/model.hpp"
#include "embstat/matrix/matrix.hpp"

namespace embstat {

inline constexpr std::uint64_t kNpyMaxHeaderBytes = 1u << 20;  // numpy itself refuses > 10 KB by default

struct NpyHeader {
  int major = 1;
  int minor = 0;
  std::string descr;  // '<f4', ...
  DType dtype = DType::F32;
  bool fortran_order = false;
  std::vector<std::int64_t> shape;  // as stored (any number of dimensions)
  // File offsets of the descr, fortran_order and shape values, for errors about them.
  std::uint64_t descr_offset = 0, order_offset = 0, shape_offset = 0;
  std::uint64_t data_offset = 0;  // file offset of the first element
  std::uint64_t data_bytes = 0;   // elements x item size
};

// Parses and checks the header of a whole .npy file held in `file_bytes`: the dict, the dtype,
// 2-D C order, and that the data exactly fills the rest of the file. Throws Error(Format) for
// malformed bytes and Error(Unsupported) for valid arrays embstat does not read.
NpyHeader parse_npy_header(std::span<const std::uint8_t> file_bytes, const std::string& path);

// The array as a Model (format "npy", no vocabulary, tensor name "array").
Model open_npy(const std::string& path, const OpenOptions& options);

// Writes `matrix` as a float32 little-endian C-order .npy (format version 1.0, or 2.0 when the
// header would not fit a u16). Throws Error(Io) when the file cannot be written in full.
void write_npy_f32(const std::string& path, const Matrix& matrix);

}  // namespace embstat
