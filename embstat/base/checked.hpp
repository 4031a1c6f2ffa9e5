// Overflow-safe arithmetic for values read from files.
//
// Every size, count and offset that comes from a model file goes through these before it is
// used: a header that claims 2^63 elements must become an error, never a wrapped product.
#pragma once

#include <cstdint>
#include <optional>

namespace embstat {

inline std::optional<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) {
  std::uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// True when [offset, offset + length) lies inside [0, size). Never overflows.
inline bool range_fits(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  return offset <= size && length <= size - offset;
}

}  // namespace embstat
