// GGML block decoders against values derived independently of the decoders:
//  - literal blocks whose values are worked out by hand in the comments;
//  - random logical blocks (quants, sub-scales, mins) packed the way ggml's quantize_row_*_ref
//    packs them, whose expected values come straight from the formula (d * scale * q - dmin * min)
//    in double. Scales are chosen so every expected value is exact in f32.
// Bit-exactness against ggml's own dequantisation of real data is in formats/gguf_test.cpp.
#include "embstat/base/ggml_quants.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <random>
#include <vector>

#include "embstat/base/dtype.hpp"

namespace embstat {
namespace {

using Bytes = std::vector<std::uint8_t>;

void put_f16(Bytes& b, std::size_t at, float v) {
  const std::uint16_t h = f32_to_f16(v);
  std::memcpy(b.data() + at, &h, 2);
}

std::vector<float> decode(void (*fn)(const std::uint8_t*, float*, std::int64_t), const Bytes& b, std::int64_t n) {
  std::vector<float> out(static_cast<std::size_t>(n));
  fn(b.data(), out.data(), n);
  return out;
}

// Decoding the same bytes from an odd address gives the same values (loads are unaligned-safe).
void expect_unaligned_same(void (*fn)(const std::uint8_t*, float*, std::int64_t), const Bytes& b, std::int64_t n) {
  Bytes shifted(b.size() + 1);
  std::memcpy(shifted.data() + 1, b.data(), b.size());
  std::vector<float> a(static_cast<std::size_t>(n)), c(static_cast<std::size_t>(n));
  fn(b.data(), a.data(), n);
  fn(shifted.data() + 1, c.data(), n);
  EXPECT_EQ(0, std::memcmp(a.data(), c.data(), a.size() * sizeof(float)));
}

// ---- literal blocks ------------------------------------------------------------------------

TEST(GgmlQuants, Q8_0Literal) {
  // d = 0.5, qs = -128, -127, ..., -97: value j = (j - 128) / 2, exact.
  Bytes b(ggml::kQ8_0Bytes);
  put_f16(b, 0, 0.5f);
  for (int j = 0; j < 32; ++j) b[2 + j] = static_cast<std::uint8_t>(static_cast<std::int8_t>(j - 128));
  const auto y = decode(ggml::decode_q8_0, b, 32);
  EXPECT_EQ(y[0], -64.0f);
  EXPECT_EQ(y[1], -63.5f);
  EXPECT_EQ(y[31], -48.5f);
}

TEST(GgmlQuants, Q4_0Literal) {
  // d = 0.25; qs[3] = 0xF0: element 3 = (0 - 8) * 0.25 = -2, element 19 = (15 - 8) * 0.25 = 1.75.
  Bytes b(ggml::kQ4_0Bytes, 0x88);  // other nibbles 8 -> 0
  put_f16(b, 0, 0.25f);
  b[2 + 3] = 0xF0;
  const auto y = decode(ggml::decode_q4_0, b, 32);
  EXPECT_EQ(y[3], -2.0f);
  EXPECT_EQ(y[19], 1.75f);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[31], 0.0f);
}

TEST(GgmlQuants, Q4_1Literal) {
  // d = 0.5, m = -3; qs[0] = 0x2F: element 0 = 15 * 0.5 - 3 = 4.5, element 16 = 2 * 0.5 - 3 = -2.
  Bytes b(ggml::kQ4_1Bytes, 0);
  put_f16(b, 0, 0.5f);
  put_f16(b, 2, -3.0f);
  b[4] = 0x2F;
  const auto y = decode(ggml::decode_q4_1, b, 32);
  EXPECT_EQ(y[0], 4.5f);
  EXPECT_EQ(y[16], -2.0f);
  EXPECT_EQ(y[1], -3.0f);
}

TEST(GgmlQuants, Q5_0Literal) {
  // d = 2; qh bit 1 and bit 17 set; qs[1] = 0x0F: element 1 = (15 + 16 - 16) * 2 = 30,
  // element 17 = (0 + 16 - 16) * 2 = 0; element 0 = (0 - 16) * 2 = -32.
  Bytes b(ggml::kQ5_0Bytes, 0);
  put_f16(b, 0, 2.0f);
  const std::uint32_t qh = (1u << 1) | (1u << 17);
  std::memcpy(b.data() + 2, &qh, 4);
  b[6 + 1] = 0x0F;
  const auto y = decode(ggml::decode_q5_0, b, 32);
  EXPECT_EQ(y[1], 30.0f);
  EXPECT_EQ(y[17], 0.0f);
  EXPECT_EQ(y[0], -32.0f);
}

TEST(GgmlQuants, Q5_1Literal) {
  // d = 0.25, m = 1.5; qh bit 31 set, qs[15] = 0xF0: element 31 = (15 + 16) * 0.25 + 1.5 = 9.25.
  Bytes b(ggml::kQ5_1Bytes, 0);
  put_f16(b, 0, 0.25f);
  put_f16(b, 2, 1.5f);
  const std::uint32_t qh = 1u << 31;
  std::memcpy(b.data() + 4, &qh, 4);
  b[8 + 15] = 0xF0;
  const auto y = decode(ggml::decode_q5_1, b, 32);
  EXPECT_EQ(y[31], 9.25f);
  EXPECT_EQ(y[15], 1.5f);
}

TEST(GgmlQuants, Q2_KLiteral) {
  // d = 0.5, dmin = 0.25. scales[5] = 0x3A: sub-block 5 (elements 80..95) scale 10, min 3.
  // Element 85: h = 0, g = 2, l = 21 -> bits 4-5 of qs[21]; qs[21] = 0b00110000 -> q = 3.
  // value = 0.5 * 10 * 3 - 0.25 * 3 = 14.25.
  Bytes b(ggml::kQ2_KBytes, 0);
  b[5] = 0x3A;
  b[16 + 21] = 0x30;
  put_f16(b, 80, 0.5f);
  put_f16(b, 82, 0.25f);
  const auto y = decode(ggml::decode_q2_k, b, 256);
  EXPECT_EQ(y[85], 14.25f);
  EXPECT_EQ(y[84], -0.75f);  // q = 0: just the min
  EXPECT_EQ(y[0], 0.0f);     // scale 0, min 0
}

TEST(GgmlQuants, Q3_KLiteral) {
  // d = 0.5. Sub-block 13 (elements 208..223): low 4 bits = high nibble of scales[5], high 2 bits
  // = bits 6-7 of scales[8 + 1]. scales[5] = 0x70 (7), scales[9] = 0xC0 (3): scale 0b110111 = 55,
  // minus 32 = 23. Element 210: h = 1, g = 2, l = 18 -> low bits (qs[32 + 18] >> 4) & 3 = 2,
  // high bit (hmask[18] >> 6) & 1 = 1 -> q = 2 + 4 - 4 = 2; value = 0.5 * 23 * 2 = 23.
  // Element 211 (l = 19) has low 0, high 0 -> q = -4 -> 0.5 * 23 * -4 = -46.
  Bytes b(ggml::kQ3_KBytes, 0);
  b[32 + 64 + 5] = 0x70;
  b[32 + 64 + 9] = 0xC0;
  b[32 + 32 + 18] = 0x20;
  b[18] = 0x40;
  put_f16(b, 108, 0.5f);
  const auto y = decode(ggml::decode_q3_k, b, 256);
  EXPECT_EQ(y[210], 23.0f);
  EXPECT_EQ(y[211], -46.0f);
  // Sub-block 0 has packed scale 0 -> -32; its q = -4 everywhere: 0.5 * -32 * -4 = 64.
  EXPECT_EQ(y[0], 64.0f);
}

// Q4_K / Q5_K header: d = 1, dmin = 0.5. Sub-block 5 (elements 160..191): scale = low nibble
// of scales[9] | bits 6-7 of scales[1] << 4; min = high nibble of scales[9] | bits 6-7 of
// scales[5] << 4. scales[9] = 0xA5, scales[1] = 0x80, scales[5] = 0x40 -> scale 5 | 2<<4 = 37,
// min 10 | 1<<4 = 26. Every other sub-block has scale 0 and min 0.
Bytes k4_block_with_sub5(std::size_t n_bytes) {
  Bytes b(n_bytes, 0);
  put_f16(b, 0, 1.0f);
  put_f16(b, 2, 0.5f);
  b[4 + 9] = 0xA5;
  b[4 + 1] = 0x80;
  b[4 + 5] = 0x40;
  return b;
}

TEST(GgmlQuants, Q4_KLiteral) {
  // Element 163: c = 2, high nibble of qs[64 + 3] = 7 -> value = 37 * 7 - 0.5 * 26 = 246.
  Bytes b = k4_block_with_sub5(ggml::kQ4_KBytes);
  b[16 + 64 + 3] = 0x70;
  const auto y = decode(ggml::decode_q4_k, b, 256);
  EXPECT_EQ(y[163], 246.0f);
  EXPECT_EQ(y[160], -13.0f);  // q = 0
  // Sub-block 1 reads scales[1] & 63 = 0 and scales[5] & 63 = 0: all zero.
  EXPECT_EQ(y[32], 0.0f);
}

TEST(GgmlQuants, Q5_KLiteral) {
  // As Q4_K's sub-block 5 (scale 37, min 26), plus the fifth bit: bit 5 of qh[3] set ->
  // element 163 has q = 7 + 16 = 23 -> 37 * 23 - 13 = 838.
  Bytes b = k4_block_with_sub5(ggml::kQ5_KBytes);
  b[16 + 3] = 1u << 5;
  b[48 + 64 + 3] = 0x70;
  const auto y = decode(ggml::decode_q5_k, b, 256);
  EXPECT_EQ(y[163], 838.0f);
  EXPECT_EQ(y[164], -13.0f);
}

TEST(GgmlQuants, Q6_KLiteral) {
  // d = 0.25, scales[12] = -3 (elements 192..207). Element 200: h = 1, k = 2, l = 8 -> low 4 bits
  // = high nibble of ql[64 + 8], high 2 bits = bits 4-5 of qh[32 + 8].
  // ql[72] = 0x90, qh[40] = 0x20 -> q = 9 | 2<<4 = 41, minus 32 = 9 -> 0.25 * -3 * 9 = -6.75.
  Bytes b(ggml::kQ6_KBytes, 0);
  b[64 + 8] = 0x90;
  b[128 + 32 + 8] = 0x20;
  b[192 + 12] = static_cast<std::uint8_t>(static_cast<std::int8_t>(-3));
  put_f16(b, 208, 0.25f);
  const auto y = decode(ggml::decode_q6_k, b, 256);
  EXPECT_EQ(y[200], -6.75f);
  EXPECT_EQ(y[201], 24.0f);  // q = 0 - 32 -> 0.25 * -3 * -32
}

// ---- random blocks packed like ggml's quantizers --------------------------------------------

struct Rng {
  explicit Rng(unsigned seed) : gen(seed) {}
  int operator()(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen); }
  std::mt19937 gen;
};

constexpr unsigned kSeed = 20240611;
constexpr int kBlocks = 3;

// Block scales used by the random tests: powers of two (and their negatives), so that
// scale * sub-scale * q is exact in f32.
float pick_d(Rng& rng) {
  static constexpr std::array<float, 6> kD = {0.5f, 0.25f, 1.0f / 64, 2.0f, -0.125f, 1.0f / 1024};
  return kD[static_cast<std::size_t>(rng(0, 5))];
}

TEST(GgmlQuants, SmallBlocksPackedLikeGgml) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  Rng rng(kSeed);
  // Q4_0 / Q4_1: qs[j] = L[j] | L[j + 16] << 4.
  for (int variant = 0; variant < 2; ++variant) {
    const int bytes = variant == 0 ? ggml::kQ4_0Bytes : ggml::kQ4_1Bytes;
    Bytes b(static_cast<std::size_t>(bytes * kBlocks));
    std::vector<double> expect;
    for (int blk = 0; blk < kBlocks; ++blk) {
      std::uint8_t* p = b.data() + blk * bytes;
      const float d = pick_d(rng), m = static_cast<float>(rng(-8, 8)) / 4;
      std::array<int, 32> L;
      for (int& q : L) q = rng(0, 15);
      Bytes tmp(static_cast<std::size_t>(bytes));
      put_f16(tmp, 0, d);
      if (variant == 1) put_f16(tmp, 2, m);
      std::uint8_t* qs = tmp.data() + (variant == 0 ? 2 : 4);
      for (int j = 0; j < 16; ++j) qs[j] = static_cast<std::uint8_t>(L[j] | (L[j + 16] << 4));
      std::memcpy(p, tmp.data(), tmp.size());
      for (int j = 0; j < 32; ++j) expect.push_back(variant == 0 ? (L[j] - 8) * double(d) : L[j] * double(d) + m);
    }
    auto fn = variant == 0 ? ggml::decode_q4_0 : ggml::decode_q4_1;
    const auto y = decode(fn, b, 32 * kBlocks);
    for (std::size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], static_cast<float>(expect[i])) << variant << " " << i;
    expect_unaligned_same(fn, b, 32 * kBlocks);
  }
  // Q5_0 / Q5_1: low nibbles as Q4, fifth bits: qh bit j <- L[j] >> 4, bit j + 16 <- L[j + 16] >> 4.
  for (int variant = 0; variant < 2; ++variant) {
    const int bytes = variant == 0 ? ggml::kQ5_0Bytes : ggml::kQ5_1Bytes;
    const int qh_at = variant == 0 ? 2 : 4;
    Bytes b(static_cast<std::size_t>(bytes * kBlocks));
    std::vector<double> expect;
    for (int blk = 0; blk < kBlocks; ++blk) {
      std::uint8_t* p = b.data() + blk * bytes;
      const float d = pick_d(rng), m = static_cast<float>(rng(-8, 8)) / 4;
      std::array<int, 32> L;
      for (int& q : L) q = rng(0, 31);
      put_f16(b, static_cast<std::size_t>(blk * bytes), d);
      if (variant == 1) put_f16(b, static_cast<std::size_t>(blk * bytes + 2), m);
      std::uint32_t qh = 0;
      for (int j = 0; j < 16; ++j) {
        p[qh_at + 4 + j] = static_cast<std::uint8_t>((L[j] & 15) | ((L[j + 16] & 15) << 4));
        qh |= static_cast<std::uint32_t>(L[j] >> 4) << j;
        qh |= static_cast<std::uint32_t>(L[j + 16] >> 4) << (j + 16);
      }
      std::memcpy(p + qh_at, &qh, 4);
      for (int j = 0; j < 32; ++j) expect.push_back(variant == 0 ? (L[j] - 16) * double(d) : L[j] * double(d) + m);
    }
    auto fn = variant == 0 ? ggml::decode_q5_0 : ggml::decode_q5_1;
    const auto y = decode(fn, b, 32 * kBlocks);
    for (std::size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], static_cast<float>(expect[i])) << variant << " " << i;
    expect_unaligned_same(fn, b, 32 * kBlocks);
  }
  // Q8_0.
  {
    Bytes b(static_cast<std::size_t>(ggml::kQ8_0Bytes * kBlocks));
    std::vector<double> expect;
    for (int blk = 0; blk < kBlocks; ++blk) {
      const float d = pick_d(rng);
      put_f16(b, static_cast<std::size_t>(blk * ggml::kQ8_0Bytes), d);
      for (int j = 0; j < 32; ++j) {
        const int q = rng(-128, 127);
        b[static_cast<std::size_t>(blk * ggml::kQ8_0Bytes + 2 + j)] =
            static_cast<std::uint8_t>(static_cast<std::int8_t>(q));
        expect.push_back(q * double(d));
      }
    }
    const auto y = decode(ggml::decode_q8_0, b, 32 * kBlocks);
    for (std::size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], static_cast<float>(expect[i])) << i;
    expect_unaligned_same(ggml::decode_q8_0, b, 32 * kBlocks);
  }
}

// K-quants: 2-bit planes as in quantize_row_q2_K_ref / q3_K: for j in {0, 128}, l < 32:
// qs[j/4 + l] = L[j+l] | L[j+l+32] << 2 | L[j+l+64] << 4 | L[j+l+96] << 6.
void pack_2bit_planes(const int* L, std::uint8_t* qs) {
  for (int j = 0; j < 256; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] =
          static_cast<std::uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

// 6-bit scales and mins of Q4_K / Q5_K, as quantize_row_q4_K_ref packs them.
void pack_k4_scales(const int* ls, const int* lm, std::uint8_t* scales) {
  std::memset(scales, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      scales[j] = static_cast<std::uint8_t>(ls[j]);
      scales[j + 4] = static_cast<std::uint8_t>(lm[j]);
    } else {
      scales[j + 4] = static_cast<std::uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      scales[j - 4] |= static_cast<std::uint8_t>((ls[j] >> 4) << 6);
      scales[j - 0] |= static_cast<std::uint8_t>((lm[j] >> 4) << 6);
    }
  }
}

TEST(GgmlQuants, Q2_KPackedLikeGgml) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  Rng rng(kSeed + 2);
  Bytes b(static_cast<std::size_t>(ggml::kQ2_KBytes * kBlocks));
  std::vector<double> expect;
  for (int blk = 0; blk < kBlocks; ++blk) {
    std::uint8_t* p = b.data() + blk * ggml::kQ2_KBytes;
    const float d = pick_d(rng), dmin = pick_d(rng);
    int L[256], sc[16], mn[16];
    for (int& q : L) q = rng(0, 3);
    for (int s = 0; s < 16; ++s) {
      sc[s] = rng(0, 15);
      mn[s] = rng(0, 15);
      p[s] = static_cast<std::uint8_t>(sc[s] | (mn[s] << 4));
    }
    pack_2bit_planes(L, p + 16);
    put_f16(b, static_cast<std::size_t>(blk * ggml::kQ2_KBytes + 80), d);
    put_f16(b, static_cast<std::size_t>(blk * ggml::kQ2_KBytes + 82), dmin);
    for (int e = 0; e < 256; ++e) expect.push_back(double(d) * sc[e / 16] * L[e] - double(dmin) * mn[e / 16]);
  }
  const auto y = decode(ggml::decode_q2_k, b, 256 * kBlocks);
  for (std::size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], static_cast<float>(expect[i])) << i;
  expect_unaligned_same(ggml::decode_q2_k, b, 256 * kBlocks);
}

TEST(GgmlQuants, Q3_KPackedLikeGgml) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  Rng rng(kSeed + 3);
  Bytes b(static_cast<std::size_t>(ggml::kQ3_KBytes * kBlocks));
  std::vector<double> expect;
  for (int blk = 0; blk < kBlocks; ++blk) {
    std::uint8_t* p = b.data() + blk * ggml::kQ3_KBytes;
    std::uint8_t* hmask = p;
    std::uint8_t* qs = p + 32;
    std::uint8_t* scales = p + 96;
    const float d = pick_d(rng);
    int L[256], Ls[16];
    for (int& q : L) q = rng(0, 7);    // q + 4
    for (int& s : Ls) s = rng(0, 63);  // scale + 32
    for (int e = 0; e < 256; ++e) expect.push_back(double(d) * (Ls[e / 16] - 32) * (L[e] - 4));
    // quantize_row_q3_K_ref: scales, then the high bit of element j into hmask[j % 32] bit j / 32.
    std::memset(scales, 0, 12);
    for (int j = 0; j < 16; ++j) {
      const int l = Ls[j];
      if (j < 8)
        scales[j] = static_cast<std::uint8_t>(l & 0xF);
      else
        scales[j - 8] |= static_cast<std::uint8_t>((l & 0xF) << 4);
      scales[j % 4 + 8] |= static_cast<std::uint8_t>((l >> 4) << (2 * (j / 4)));
    }
    std::memset(hmask, 0, 32);
    for (int j = 0; j < 256; ++j)
      if (L[j] > 3) {
        hmask[j % 32] |= static_cast<std::uint8_t>(1 << (j / 32));
        L[j] -= 4;
      }
    pack_2bit_planes(L, qs);
    put_f16(b, static_cast<std::size_t>(blk * ggml::kQ3_KBytes + 108), d);
  }
  const auto y = decode(ggml::decode_q3_k, b, 256 * kBlocks);
  for (std::size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], static_cast<float>(expect[i])) << i;
  expect_unaligned_same(ggml::decode_q3_k, b, 256 * kBlocks);
}

TEST(GgmlQuants, Q4_KAndQ5_KPackedLikeGgml) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  Rng rng(kSeed + 4);
  for (int bits = 4; bits <= 5; ++bits) {
    const int bytes = bits == 4 ? ggml::kQ4_KBytes : ggml::kQ5_KBytes;
    Bytes b(static_cast<std::size_t>(bytes * kBlocks));
    std::vector<double> expect;
    for (int blk = 0; blk < kBlocks; ++blk) {
      std::uint8_t* p = b.data() + blk * bytes;
      const float d = pick_d(rng), dmin = pick_d(rng);
      int L[256], ls[8], lm[8];
      for (int& q : L) q = rng(0, bits == 4 ? 15 : 31);
      for (int j = 0; j < 8; ++j) {
        ls[j] = rng(0, 63);
        lm[j] = rng(0, 63);
      }
      for (int e = 0; e < 256; ++e) expect.push_back(double(d) * ls[e / 32] * L[e] - double(dmin) * lm[e / 32]);
      put_f16(b, static_cast<std::size_t>(blk * bytes), d);
      put_f16(b, static_cast<std::size_t>(blk * bytes + 2), dmin);
      pack_k4_scales(ls, lm, p + 4);
      if (bits == 4) {
        std::uint8_t* q = p + 16;
        for (int j = 0; j < 256; j += 64, q += 32)
          for (int l = 0; l < 32; ++l) q[l] = static_cast<std::uint8_t>(L[j + l] | (L[j + l + 32] << 4));
      } else {  // quantize_row_q5_K_ref
        std::uint8_t* qh = p + 16;
        std::uint8_t* ql = p + 48;
        std::memset(qh, 0, 32);
        std::uint8_t m1 = 1, m2 = 2;
        for (int n = 0; n < 256; n += 64, ql += 32) {
          for (int j = 0; j < 32; ++j) {
            int l1 = L[n + j], l2 = L[n + j + 32];
            if (l1 > 15) {
              l1 -= 16;
              qh[j] |= m1;
            }
            if (l2 > 15) {
              l2 -= 16;
              qh[j] |= m2;
            }
            ql[j] = static_cast<std::uint8_t>(l1 | (l2 << 4));
          }
          m1 = static_cast<std::uint8_t>(m1 << 2);
          m2 = static_cast<std::uint8_t>(m2 << 2);
        }
      }
    }
    auto fn = bits == 4 ? ggml::decode_q4_k : ggml::decode_q5_k;
    const auto y = decode(fn, b, 256 * kBlocks);
    for (std::size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], static_cast<float>(expect[i])) << bits << " " << i;
    expect_unaligned_same(fn, b, 256 * kBlocks);
  }
}

TEST(GgmlQuants, Q6_KPackedLikeGgml) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  Rng rng(kSeed + 6);
  Bytes b(static_cast<std::size_t>(ggml::kQ6_KBytes * kBlocks));
  std::vector<double> expect;
  for (int blk = 0; blk < kBlocks; ++blk) {
    std::uint8_t* p = b.data() + blk * ggml::kQ6_KBytes;
    const float d = pick_d(rng);
    int L[256], sc[16];
    for (int& q : L) q = rng(0, 63);  // q + 32
    for (int s = 0; s < 16; ++s) {
      sc[s] = rng(-128, 127);
      p[192 + s] = static_cast<std::uint8_t>(static_cast<std::int8_t>(sc[s]));
    }
    for (int e = 0; e < 256; ++e) expect.push_back(double(d) * sc[e / 16] * (L[e] - 32));
    // quantize_row_q6_K_ref
    std::uint8_t* ql = p;
    std::uint8_t* qh = p + 128;
    for (int j = 0; j < 256; j += 128, ql += 64, qh += 32) {
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<std::uint8_t>((L[j + l] & 0xF) | ((L[j + l + 64] & 0xF) << 4));
        ql[l + 32] = static_cast<std::uint8_t>((L[j + l + 32] & 0xF) | ((L[j + l + 96] & 0xF) << 4));
        qh[l] = static_cast<std::uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                          ((L[j + l + 96] >> 4) << 6));
      }
    }
    put_f16(b, static_cast<std::size_t>(blk * ggml::kQ6_KBytes + 208), d);
  }
  const auto y = decode(ggml::decode_q6_k, b, 256 * kBlocks);
  for (std::size_t i = 0; i < y.size(); ++i) ASSERT_EQ(y[i], static_cast<float>(expect[i])) << i;
  expect_unaligned_same(ggml::decode_q6_k, b, 256 * kBlocks);
}

TEST(GgmlQuants, DispatchThroughDTypeTable) {
  // decode_row reaches the same decoders: a Q8_0 row of two blocks with different scales.
  Bytes b(2 * ggml::kQ8_0Bytes, 0);
  put_f16(b, 0, 1.0f);
  put_f16(b, ggml::kQ8_0Bytes, -0.5f);
  b[2] = 7;
  b[ggml::kQ8_0Bytes + 2] = 7;
  std::vector<float> y(64);
  decode_row(DType::Q8_0, b.data(), y.data(), 64);
  EXPECT_EQ(y[0], 7.0f);
  EXPECT_EQ(y[32], -3.5f);
  EXPECT_EQ(dtype_info(DType::Q6_K).block_bytes, 210u);
  EXPECT_EQ(dtype_info(DType::Q3_K).block_bytes, 110u);
  EXPECT_EQ(dtype_info(DType::Q2_K).block_bytes, 84u);
  EXPECT_EQ(dtype_info(DType::Q4_K).block_bytes, 144u);
  EXPECT_EQ(dtype_info(DType::Q5_K).block_bytes, 176u);
}

}  // namespace
}  // namespace embstat
