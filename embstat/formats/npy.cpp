#include "embstat/formats/npy.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "embstat/base/atomic_file.hpp"
#include "embstat/base/byte_cursor.hpp"
#include "embstat/base/checked.hpp"
#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"
#include "embstat/formats/support.hpp"

namespace embstat {

namespace {

constexpr std::string_view kMagic = "\x93NUMPY";

// Reads the Python dict literal numpy writes: {'key': value, ...} where a value is a quoted
// string, True / False, or a tuple of non-negative integers. Nothing else is accepted.
class DictParser {
 public:
  DictParser(std::string_view text, std::string path, std::uint64_t base_offset)
      : text_(text), path_(std::move(path)), base_(base_offset) {}

  void parse(NpyHeader& out) {
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = quoted();
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        out.descr_offset = base_ + pos_;
        if (peek() == '[')
          throw Error(ErrorKind::Unsupported, path_, "structured arrays (a list descr) are not supported",
                      out.descr_offset);
        out.descr = quoted();
        seen_descr = true;
      } else if (key == "fortran_order") {
        out.order_offset = base_ + pos_;
        out.fortran_order = boolean();
        seen_order = true;
      } else if (key == "shape") {
        out.shape_offset = base_ + pos_;
        out.shape = tuple();
        seen_shape = true;
      } else {
        fail("unexpected key '" + key + "' in the header (numpy writes only descr, fortran_order, shape)");
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      skip_space();
      if (peek() != '}') fail("expected ',' or '}' in the header dict");
    }
    expect('}');
    skip_space();
    if (pos_ != text_.size()) fail("unexpected text after the header dict");
    if (!seen_descr || !seen_order || !seen_shape) fail("the header dict lacks descr, fortran_order or shape");
  }

 private:
  [[noreturn]] void fail(const std::string& why) const { throw_format(path_, base_ + pos_, why); }
  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  void expect(char c) {
    if (peek() != c) fail(fmt::format("expected '{}' in the header dict", c));
    ++pos_;
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\t')) ++pos_;
  }
  std::string quoted() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string in the header dict");
    ++pos_;
    const auto end = text_.find(q, pos_);
    if (end == std::string_view::npos) fail("unterminated string in the header dict");
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    if (text_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (text_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    fail("fortran_order must be True or False");
  }
  std::vector<std::int64_t> tuple() {
    std::vector<std::int64_t> dims;
    expect('(');
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (dims.size() == 32) fail("more than 32 dimensions");
      std::uint64_t v = 0;
      const std::size_t start = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        if (v > (1ull << 62) / 10) fail("shape entry is too large");
        v = v * 10 + static_cast<std::uint64_t>(text_[pos_] - '0');
        ++pos_;
      }
      if (pos_ == start) fail("shape entries must be non-negative integers");
      if (peek() == 'L') ++pos_;  // Python 2 long literal, as old numpy wrote it
      dims.push_back(static_cast<std::int64_t>(v));
      skip_space();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() != ')') fail("expected ',' or ')' in the shape tuple");
    }
    expect(')');
    return dims;
  }

  std::string_view text_;
  std::string path_;
  std::uint64_t base_;
  std::size_t pos_ = 0;
};

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) s += ",";
  return s + ")";
}

}  // namespace

NpyHeader parse_npy_header(std::span<const std::uint8_t> file_bytes, const std::string& path) {
  ByteCursor cursor(file_bytes, path);
  if (cursor.string(kMagic.size(), "magic") != kMagic) throw_format(path, 0, "not a .npy file (no \\x93NUMPY magic)");
  NpyHeader h;
  h.major = cursor.u8();
  h.minor = cursor.u8();
  if (h.major < 1 || h.major > 3)
    throw Error(ErrorKind::Unsupported, path,
                fmt::format(".npy format version {}.{} is not supported (1-3 are)", h.major, h.minor), kMagic.size());
  const std::uint64_t header_len = h.major == 1 ? cursor.read<std::uint16_t>() : cursor.u32();
  if (header_len > kNpyMaxHeaderBytes)
    throw_format(path, 8, fmt::format("header length {} is over the {}-byte limit", header_len, kNpyMaxHeaderBytes));
  const std::uint64_t header_offset = cursor.offset();
  std::string_view text = cursor.string(header_len, "header");
  DictParser(text, path, header_offset).parse(h);
  h.data_offset = cursor.offset();

  // dtype: little-endian floats only.
  if (h.descr.size() < 2) throw_format(path, h.descr_offset, "descr '" + h.descr + "' is not a dtype");
  const char order = h.descr[0];
  const std::string_view kind = std::string_view(h.descr).substr(1);
  if (order == '>')
    throw Error(ErrorKind::Unsupported, path,
                "big-endian data ('" + h.descr + "') is not supported: save with arr.astype('<f4')", h.descr_offset);
  if (order != '<' && order != '|' && order != '=')
    throw_format(path, h.descr_offset, "descr '" + h.descr + "' has no byte-order mark");
  if (kind == "f4")
    h.dtype = DType::F32;
  else if (kind == "f2")
    h.dtype = DType::F16;
  else if (kind == "f8")
    h.dtype = DType::F64;
  else
    throw Error(ErrorKind::Unsupported, path,
                "dtype '" + h.descr + "' is not supported (float16, float32, float64 are): save with arr.astype('<f4')",
                h.descr_offset);
  if (h.fortran_order)
    throw Error(ErrorKind::Unsupported, path,
                "Fortran-order arrays are not supported: save with np.ascontiguousarray(arr)", h.order_offset);
  if (h.shape.size() != 2)
    throw Error(ErrorKind::Unsupported, path,
                fmt::format("array has shape {}: embstat reads 2-D arrays of row vectors (reshape to (n, d))",
                            shape_text(h.shape)),
                h.shape_offset);

  const auto n_elems = checked_mul(static_cast<std::uint64_t>(h.shape[0]), static_cast<std::uint64_t>(h.shape[1]));
  const auto n_bytes = n_elems ? dtype_bytes(h.dtype, *n_elems) : std::nullopt;
  if (!n_bytes) throw_format(path, h.shape_offset, fmt::format("shape {} overflows", shape_text(h.shape)));
  h.data_bytes = *n_bytes;
  const std::uint64_t present = file_bytes.size() - h.data_offset;
  if (present != h.data_bytes)
    throw_format(path, h.data_offset,
                 fmt::format("{}: shape {} of {} needs {} data bytes, the file has {}",
                             present < h.data_bytes ? "truncated" : "trailing bytes", shape_text(h.shape), h.descr,
                             h.data_bytes, present));
  return h;
}

Model open_npy(const std::string& path, const OpenOptions& options) {
  auto file = MappedFile::open(path);
  const NpyHeader h = parse_npy_header(file->bytes(), path);
  if (h.shape[0] == 0 || h.shape[1] == 0)
    throw Error(ErrorKind::Unsupported, path, fmt::format("the array is empty (shape {})", shape_text(h.shape)),
                h.shape_offset);
  if (!options.tensor.empty() && options.tensor != "array")
    throw Error(ErrorKind::Usage, path,
                "a .npy file holds one array, named 'array'; --tensor '" + options.tensor + "' does not exist");

  Model model;
  model.format = "npy";
  model.name = path_file_name(path);
  model.files.push_back(path);

  TensorInfo info;
  info.name = "array";
  info.dtype = h.dtype;
  info.shape = h.shape;
  info.file = path;
  info.file_offset = h.data_offset;
  info.n_bytes = h.data_bytes;
  model.tensor = info;

  model.matrix.dtype = h.dtype;
  model.matrix.n_rows = h.shape[0];
  model.matrix.n_cols = h.shape[1];
  model.matrix.data = file->data() + h.data_offset;
  model.matrix.row_bytes = *dtype_bytes(h.dtype, static_cast<std::uint64_t>(h.shape[1]));
  model.matrix.owner = file;
  model.matrix.mapping = file.get();
  file->will_need(h.data_offset, h.data_bytes);

  if (options.matrix == MatrixChoice::Output)
    model.notes.push_back("a .npy file holds one matrix: --matrix output reads the same array");
  model.notes.push_back("a .npy file has no vocabulary: rows are unnamed");
  return model;
}

void write_npy_f32(const std::string& path, const Matrix& matrix) {
  std::string dict =
      fmt::format("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}", matrix.n_rows(), matrix.n_cols());
  // Pad with spaces so the data starts on a 64-byte boundary; the header ends in '\n'.
  const bool v1 = dict.size() + 1 + 10 <= 65535;
  const std::size_t prefix = v1 ? 10 : 12;
  const std::size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - prefix - dict.size() - 1, ' ');
  dict += '\n';

  std::string head(kMagic);
  head += static_cast<char>(v1 ? 1 : 2);
  head += '\0';
  const std::uint32_t len = static_cast<std::uint32_t>(dict.size());
  head += static_cast<char>(len & 0xff);
  head += static_cast<char>((len >> 8) & 0xff);
  if (!v1) {
    head += static_cast<char>((len >> 16) & 0xff);
    head += static_cast<char>((len >> 24) & 0xff);
  }
  head += dict;

  const std::size_t n_data = static_cast<std::size_t>(matrix.n_rows()) * static_cast<std::size_t>(matrix.n_cols());
  write_file_atomically(path, [&](std::ostream& out) {
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
    out.write(reinterpret_cast<const char*>(matrix.data()), static_cast<std::streamsize>(n_data * sizeof(float)));
  });
}

}  // namespace embstat
