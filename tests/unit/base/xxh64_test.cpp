// XXH64 against values printed by the reference tool (`xxhsum -H64`, xxHash 0.8.1).
#include "embstat/base/xxh64.hpp"

#include <gtest/gtest.h>

#include <string_view>
#include <vector>

namespace embstat {
namespace {

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Byte i = (7 i + 3) mod 256: covers the 32-byte stripes, the 8-, 4- and 1-byte tails.
std::vector<std::uint8_t> pattern(std::size_t n) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i * 7 + 3) % 256);
  return v;
}

TEST(Xxh64, EmptyInput) {
  EXPECT_EQ(xxh64({}), 0xEF46DB3751D8E999ULL);
}

TEST(Xxh64, ShortInputTailOnly) {
  EXPECT_EQ(xxh64(as_bytes("abc")), 0x44BC2CF5AD770999ULL);
  const auto v = pattern(3);
  EXPECT_EQ(xxh64(v), 0x31D2363F52E564C9ULL);
}

TEST(Xxh64, OneStripeAndEveryTail) {
  const auto v = pattern(37);  // 32 + 4 + 1
  EXPECT_EQ(xxh64(v), 0xE32EF63802F5A3FDULL);
}

TEST(Xxh64, ManyStripes) {
  const auto v = pattern(1000);  // 31 stripes + 8 bytes
  EXPECT_EQ(xxh64(v), 0x5F235FA033F1A3FBULL);
  EXPECT_EQ(xxh64_hex(xxh64(v)), "5f235fa033f1a3fb");
}

TEST(Xxh64, SeedChangesTheHash) {
  const auto v = pattern(100);
  EXPECT_NE(xxh64(v, 0), xxh64(v, 1));
  EXPECT_EQ(xxh64(v, 42), xxh64(v, 42));
}

}  // namespace
}  // namespace embstat
