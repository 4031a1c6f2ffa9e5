// ByteCursor — a bounds-checked little-endian reader over a byte span.
//
// Every read checks the bytes left first and throws Error(Format) naming the file and the
// absolute offset where the read would have started. The span is not owned: it must outlive
// the cursor (usually a MappedFile).
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "embstat/base/error.hpp"

namespace embstat {

class ByteCursor {
 public:
  // base_offset: the file offset of bytes[0], so errors report file offsets.
  ByteCursor(std::span<const std::uint8_t> bytes, std::string path, std::uint64_t base_offset = 0)
      : bytes_(bytes), path_(std::move(path)), base_offset_(base_offset) {}

  std::uint64_t offset() const { return base_offset_ + pos_; }  // absolute file offset
  std::uint64_t position() const { return pos_; }               // relative to the span
  std::uint64_t remaining() const { return bytes_.size() - pos_; }
  bool at_end() const { return pos_ == bytes_.size(); }
  const std::string& path() const { return path_; }

  template <typename T>
  T read() {
    static_assert(std::is_trivially_copyable_v<T>);
    require(sizeof(T), "value");
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));  // little-endian host assumed (x86-64, arm64)
    pos_ += sizeof(T);
    return v;
  }
  std::uint8_t u8() { return read<std::uint8_t>(); }
  std::uint32_t u32() { return read<std::uint32_t>(); }
  std::uint64_t u64() { return read<std::uint64_t>(); }
  std::int32_t i32() { return read<std::int32_t>(); }
  std::int64_t i64() { return read<std::int64_t>(); }
  float f32() { return read<float>(); }

  // n raw bytes; `what` names the field in the error message.
  std::span<const std::uint8_t> bytes(std::uint64_t n, const char* what = "bytes") {
    require(n, what);
    auto s = bytes_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view string(std::uint64_t n, const char* what = "string") {
    auto s = bytes(n, what);
    return {reinterpret_cast<const char*>(s.data()), s.size()};
  }
  void skip(std::uint64_t n, const char* what = "bytes") { bytes(n, what); }
  void seek(std::uint64_t position) {
    if (position > bytes_.size()) fail("seek past the end");
    pos_ = position;
  }

  [[noreturn]] void fail(const std::string& message) const { throw_format(path_, offset(), message); }

 private:
  void require(std::uint64_t n, const char* what) const {
    if (n > remaining())
      fail(std::string("truncated: ") + what + " needs " + std::to_string(n) + " bytes, " +
           std::to_string(remaining()) + " left");
  }

  std::span<const std::uint8_t> bytes_;
  std::string path_;
  std::uint64_t base_offset_;
  std::uint64_t pos_ = 0;
};

}  // namespace embstat
