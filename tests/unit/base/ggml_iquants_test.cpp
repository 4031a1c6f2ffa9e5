// The i-quant, ternary and FP4 decoders on hand-encoded blocks: each test packs a block from the
// format's definition (ggml-common.h) with chosen scales, grid indices and signs, and checks the
// values worked out by hand in its comments. Grid entries used (ggml's tables):
//   IQ2_XS/IQ2_S grid[0] = 8 x 8, grid[1] = 43, 8 x 7;  IQ2_S grid[256] = 25 25 25 25 25 8 25 8
//   IQ2_XXS grid[0] = 8 x 8, grid[1] = 43, 8 x 7;       IQ3_XXS grid[0] = 4 4 4 4, grid[1] = 20 4 4 4
//   IQ3_S grid[0] = 1 1 1 1, grid[1] = 3 1 1 1, grid[256] = 7 5 9 5
//   IQ1 grid[0] = -1 x 8, grid[1] = 1, -1 x 7, grid[256] = -1 0 1 0 1 -1 0 -1
// Bit-exactness against ggml's own dequantisation of real data is in formats/gguf_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "embstat/base/dtype.hpp"
#include "embstat/base/ggml_quants.hpp"

namespace embstat {
namespace {

using Bytes = std::vector<std::uint8_t>;
using DecodeFn = void (*)(const std::uint8_t*, float*, std::int64_t);

void put_f16(Bytes& b, std::size_t at, float v) {
  const std::uint16_t h = f32_to_f16(v);
  std::memcpy(b.data() + at, &h, 2);
}
void put_u16(Bytes& b, std::size_t at, std::uint16_t v) {
  std::memcpy(b.data() + at, &v, 2);
}
void put_u32(Bytes& b, std::size_t at, std::uint32_t v) {
  std::memcpy(b.data() + at, &v, 4);
}

// Decodes the block twice, at an aligned and an odd address; both must agree.
std::vector<float> decode(DecodeFn fn, const Bytes& b, std::int64_t n) {
  std::vector<float> out(static_cast<std::size_t>(n)), shifted_out(static_cast<std::size_t>(n));
  fn(b.data(), out.data(), n);
  Bytes shifted(b.size() + 1);
  std::memcpy(shifted.data() + 1, b.data(), b.size());
  fn(shifted.data() + 1, shifted_out.data(), n);
  EXPECT_EQ(0, std::memcmp(out.data(), shifted_out.data(), out.size() * sizeof(float)));
  return out;
}

TEST(GgmlIQuants, Iq2XxsLiteral) {
  // Group 0: indices (0, 1, 0, 0); u32: scale 2 (db = 2.5 * 0.25 = 0.625), run 0 sign bits
  // 0b11 (two minus signs, parity bit clear): elements 0, 1 negative.
  Bytes b(ggml::kIq2_XxsBytes, 0);
  put_f16(b, 0, 1.0f);
  b[2 + 1] = 1;
  put_u32(b, 2 + 4, (2u << 28) | 0b11u);
  const auto y = decode(ggml::decode_iq2_xxs, b, 256);
  EXPECT_EQ(y[0], -5.0f);
  EXPECT_EQ(y[1], -5.0f);
  EXPECT_EQ(y[2], 5.0f);
  EXPECT_EQ(y[8], 26.875f);  // 0.625 * 43
  EXPECT_EQ(y[9], 5.0f);
  EXPECT_EQ(y[32], 1.0f);  // group 1: scale 0 -> 0.125 * 8
  EXPECT_EQ(y[255], 1.0f);
}

TEST(GgmlIQuants, Iq2XsLiteral) {
  // qs[0] = index 1, sign bits 0b0000001 (one minus sign: the parity bit makes element 7
  // negative too); scales[0] = 0x31: runs 0-1 db = 1.5 * 0.25, runs 2-3 db = 3.5 * 0.25.
  // qs[2] = index 511 (43 x 8).
  Bytes b(ggml::kIq2_XsBytes, 0);
  put_f16(b, 0, 1.0f);
  put_u16(b, 2, static_cast<std::uint16_t>(1u | (1u << 9)));
  put_u16(b, 2 + 4, 511);
  b[2 + 64] = 0x31;
  const auto y = decode(ggml::decode_iq2_xs, b, 256);
  EXPECT_EQ(y[0], -16.125f);  // -0.375 * 43
  EXPECT_EQ(y[1], 3.0f);
  EXPECT_EQ(y[7], -3.0f);
  EXPECT_EQ(y[8], 3.0f);      // run 1: index 0
  EXPECT_EQ(y[16], 37.625f);  // 0.875 * 43
  EXPECT_EQ(y[24], 7.0f);     // run 3: 0.875 * 8
  EXPECT_EQ(y[32], 1.0f);     // group 1: 0.125 * 8
}

TEST(GgmlIQuants, Iq2SLiteral) {
  // Run 0: qs 0 with qh[0] bits 0-1 = 1 -> index 256; sign byte 0x02 (element 1 negative, no
  // parity rule in IQ2_S); scale 0 -> db = 0.125. Run 1: index 1.
  Bytes b(ggml::kIq2_SBytes, 0);
  put_f16(b, 0, 2.0f);  // db = 0.25
  b[2 + 1] = 1;
  b[2 + 32] = 0x02;
  b[2 + 64] = 0x01;
  const auto y = decode(ggml::decode_iq2_s, b, 256);
  EXPECT_EQ(y[0], 6.25f);  // 0.25 * 25
  EXPECT_EQ(y[1], -6.25f);
  EXPECT_EQ(y[5], 2.0f);  // 0.25 * 8
  EXPECT_EQ(y[7], 2.0f);
  EXPECT_EQ(y[8], 10.75f);  // 0.25 * 43
  EXPECT_EQ(y[9], 2.0f);
  EXPECT_EQ(y[40], 2.0f);  // group 1
}

TEST(GgmlIQuants, Iq3XxsLiteral) {
  // Group 0: u32 scale 1 (db = 1.5 * 0.5 = 0.75), run 0 sign bits 0b1 (+ parity: element 7);
  // run 0 entries qs[0] = 1 (20 4 4 4), qs[1] = 0.
  Bytes b(ggml::kIq3_XxsBytes, 0);
  put_f16(b, 0, 1.0f);
  b[2] = 1;
  put_u32(b, 2 + 64, (1u << 28) | 1u);
  const auto y = decode(ggml::decode_iq3_xxs, b, 256);
  EXPECT_EQ(y[0], -15.0f);
  EXPECT_EQ(y[1], 3.0f);
  EXPECT_EQ(y[4], 3.0f);
  EXPECT_EQ(y[7], -3.0f);
  EXPECT_EQ(y[32], 1.0f);  // group 1: 0.25 * 4
}

TEST(GgmlIQuants, Iq3SLiteral) {
  // scales[0] = 0x21: group 0 s = 1 (db = 3), group 1 s = 2 (db = 5); group 2 s = 0 (db = 1).
  // Run 0: qs[0] = 1 (3 1 1 1); qs[1] = 0 with qh[0] bit 1 -> index 256 (7 5 9 5); sign byte 1.
  Bytes b(ggml::kIq3_SBytes, 0);
  put_f16(b, 0, 1.0f);
  b[2] = 1;
  b[2 + 64] = 0x02;
  b[2 + 64 + 8] = 0x01;
  b[2 + 64 + 8 + 32] = 0x21;
  const auto y = decode(ggml::decode_iq3_s, b, 256);
  EXPECT_EQ(y[0], -9.0f);
  EXPECT_EQ(y[1], 3.0f);
  EXPECT_EQ(y[4], 21.0f);
  EXPECT_EQ(y[5], 15.0f);
  EXPECT_EQ(y[6], 27.0f);
  EXPECT_EQ(y[8], 3.0f);
  EXPECT_EQ(y[32], 5.0f);
  EXPECT_EQ(y[64], 1.0f);
}

TEST(GgmlIQuants, Iq1SLiteral) {
  // Group 0: qh = scale 1 (dl = 3) | bit 15 (shift -0.125) | run 0 high index bits 1 -> index
  // 256; run 1: qs[1] = 1. Group 1: all zero: dl = 1, shift +0.125, grid[0].
  Bytes b(ggml::kIq1_SBytes, 0);
  put_f16(b, 0, 1.0f);
  b[2 + 1] = 1;
  put_u16(b, 2 + 32, static_cast<std::uint16_t>((1u << 12) | 0x8000u | 1u));
  const auto y = decode(ggml::decode_iq1_s, b, 256);
  EXPECT_EQ(y[0], -3.375f);  // 3 * (-1 - 0.125)
  EXPECT_EQ(y[1], -0.375f);  // 3 * (0 - 0.125)
  EXPECT_EQ(y[2], 2.625f);   // 3 * (1 - 0.125)
  EXPECT_EQ(y[5], -3.375f);
  EXPECT_EQ(y[8], 2.625f);
  EXPECT_EQ(y[9], -3.375f);
  EXPECT_EQ(y[32], -0.875f);
}

TEST(GgmlIQuants, Iq1MLiteral) {
  // d = 1.0 (f16 0x3c00) spread over the top nibbles of the four u16 scales: 0, 0, 0xc, 0x3.
  // Group 0 scales: runs 0-1 s = 1 (dl 3), runs 2-3 s = 2 (dl 5); group 1: 0 (dl 1).
  // qh[0] = 0x81: run 0 index bits 8-10 = 1 (index 256), shift +; run 1 shift -; qs[1] = 1.
  Bytes b(ggml::kIq1_MBytes, 0);
  b[1] = 1;
  b[32] = 0x81;
  put_u16(b, 48, 1u | (2u << 3));
  put_u16(b, 50, 0);
  put_u16(b, 52, 0xc000u);
  put_u16(b, 54, 0x3000u);
  const auto y = decode(ggml::decode_iq1_m, b, 256);
  EXPECT_EQ(y[0], -2.625f);  // 3 * (-1 + 0.125)
  EXPECT_EQ(y[1], 0.375f);
  EXPECT_EQ(y[2], 3.375f);
  EXPECT_EQ(y[8], 2.625f);  // 3 * (1 - 0.125)
  EXPECT_EQ(y[9], -3.375f);
  EXPECT_EQ(y[16], -4.375f);  // 5 * (-1 + 0.125)
  EXPECT_EQ(y[32], -0.875f);
}

TEST(GgmlIQuants, Iq4NlLiteral) {
  // Levels -127 -104 -83 -65 -49 -35 -22 -10 1 13 25 38 53 69 89 113; d = 0.5.
  Bytes b(ggml::kIq4_NlBytes, 0x88);
  put_f16(b, 0, 0.5f);
  b[2] = 0xF0;
  const auto y = decode(ggml::decode_iq4_nl, b, 32);
  EXPECT_EQ(y[0], -63.5f);
  EXPECT_EQ(y[16], 56.5f);
  EXPECT_EQ(y[1], 0.5f);
  EXPECT_EQ(y[31], 0.5f);
}

TEST(GgmlIQuants, Iq4XsLiteral) {
  // d = 0.25. Group 0: scale 1 | 2 << 4 = 33 (dl 0.25); group 1: scale 0 (dl -8).
  Bytes b(ggml::kIq4_XsBytes, 0);
  put_f16(b, 0, 0.25f);
  put_u16(b, 2, 2);
  b[4] = 0x01;
  b[8] = 0xF0;
  b[8 + 16] = 0x08;
  const auto y = decode(ggml::decode_iq4_xs, b, 256);
  EXPECT_EQ(y[0], -31.75f);
  EXPECT_EQ(y[16], 28.25f);
  EXPECT_EQ(y[1], -31.75f);  // nibble 0
  EXPECT_EQ(y[32], -8.0f);   // level 1
  EXPECT_EQ(y[48], 1016.0f);
}

TEST(GgmlIQuants, Tq1_0Literal) {
  // 5 trits t0..t4 per byte as ceil(t * 256 / 243), t = 81 t0 + 27 t1 + 9 t2 + 3 t3 + t4;
  // trit 1 (value 0) everywhere is 121 -> 128. qs[0]: trits 2 0 1 2 1 (t = 178 -> 188);
  // qs[32]: 0 2 1 1 1 (t = 67 -> 71); qh[0] = 188 (first 4 trits used). d = 1.5.
  Bytes b(ggml::kTq1_0Bytes, 128);
  b[0] = 188;
  b[32] = 71;
  b[48] = 188;
  put_f16(b, 52, 1.5f);
  const auto y = decode(ggml::decode_tq1_0, b, 256);
  EXPECT_EQ(y[0], 1.5f);
  EXPECT_EQ(y[32], -1.5f);
  EXPECT_EQ(y[64], 0.0f);
  EXPECT_EQ(y[96], 1.5f);
  EXPECT_EQ(y[128], 0.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[160], -1.5f);
  EXPECT_EQ(y[176], 1.5f);
  EXPECT_EQ(y[240], 1.5f);
  EXPECT_EQ(y[244], -1.5f);
  EXPECT_EQ(y[248], 0.0f);
  EXPECT_EQ(y[252], 1.5f);
  EXPECT_EQ(y[255], 0.0f);
}

TEST(GgmlIQuants, Tq2_0Literal) {
  // qs[0] = 0b10'01'00'11: elements 0, 32, 64, 96 = 3-1, 0-1, 1-1, 2-1 (times d = 0.5);
  // qs[33] = 0: element 128 + 1 = -d; 0x55 elsewhere is all zeros.
  Bytes b(ggml::kTq2_0Bytes, 0x55);
  b[0] = 0b10'01'00'11;
  b[33] = 0;
  put_f16(b, 64, 0.5f);
  const auto y = decode(ggml::decode_tq2_0, b, 256);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[32], -0.5f);
  EXPECT_EQ(y[64], 0.0f);
  EXPECT_EQ(y[96], 0.5f);
  EXPECT_EQ(y[129], -0.5f);
  EXPECT_EQ(y[161], -0.5f);
  EXPECT_EQ(y[1], 0.0f);
}

TEST(GgmlIQuants, Fp4Scales) {
  EXPECT_EQ(ggml::e8m0_half_to_f32(0), std::ldexp(1.0f, -128));
  EXPECT_EQ(ggml::e8m0_half_to_f32(1), std::ldexp(1.0f, -127));
  EXPECT_EQ(ggml::e8m0_half_to_f32(127), 0.5f);
  EXPECT_EQ(ggml::e8m0_half_to_f32(255), std::ldexp(1.0f, 127));
  EXPECT_EQ(ggml::ue4m3_half_to_f32(0x38), 0.5f);  // exponent 7, mantissa 0: 1.0, halved
  EXPECT_EQ(ggml::ue4m3_half_to_f32(0x39), 0.5625f);
  EXPECT_EQ(ggml::ue4m3_half_to_f32(0x01), std::ldexp(1.0f, -10));  // subnormal 2^-9, halved
  EXPECT_EQ(ggml::ue4m3_half_to_f32(0x7f), 0.0f);
  EXPECT_EQ(ggml::ue4m3_half_to_f32(0x00), 0.0f);
}

TEST(GgmlIQuants, Mxfp4Literal) {
  // e = 127: scale 2^0 (the doubled levels times the halved scale). E2M1 codes: 0xF = -6,
  // 0x9 = -0.5, 0x7 = 6, 0x5 = 3.
  Bytes b(ggml::kMxfp4Bytes, 0);
  b[0] = 127;
  b[1] = 0x9F;
  b[2] = 0x57;
  const auto y = decode(ggml::decode_mxfp4, b, 32);
  EXPECT_EQ(y[0], -6.0f);
  EXPECT_EQ(y[16], -0.5f);
  EXPECT_EQ(y[1], 6.0f);
  EXPECT_EQ(y[17], 3.0f);
  EXPECT_EQ(y[2], 0.0f);
}

TEST(GgmlIQuants, Nvfp4Literal) {
  // Sub-block scales 0x38 (1.0), 0x7f (read as 0), 0x01 (2^-9), 0x39 (1.125).
  Bytes b(ggml::kNvfp4Bytes, 0);
  b[0] = 0x38;
  b[1] = 0x7f;
  b[2] = 0x01;
  b[3] = 0x39;
  b[4] = 0x9F;
  b[4 + 8] = 0x77;
  b[4 + 16] = 0x02;
  b[4 + 24] = 0x01;
  const auto y = decode(ggml::decode_nvfp4, b, 64);
  EXPECT_EQ(y[0], -6.0f);
  EXPECT_EQ(y[8], -0.5f);
  EXPECT_EQ(y[16], 0.0f);
  EXPECT_EQ(y[32], std::ldexp(1.0f, -9));  // level 1 times 2^-9
  EXPECT_EQ(y[48], 0.5625f);               // level 0.5 times 1.125
}

TEST(GgmlIQuants, Q1_0AndQ2_0Literal) {
  Bytes b1(ggml::kQ1_0Bytes, 0);
  put_f16(b1, 0, 0.75f);
  b1[2] = 0x05;
  b1[2 + 15] = 0x80;
  const auto y1 = decode(ggml::decode_q1_0, b1, 128);
  EXPECT_EQ(y1[0], 0.75f);
  EXPECT_EQ(y1[1], -0.75f);
  EXPECT_EQ(y1[2], 0.75f);
  EXPECT_EQ(y1[126], -0.75f);
  EXPECT_EQ(y1[127], 0.75f);

  Bytes b2(ggml::kQ2_0Bytes, 0);
  put_f16(b2, 0, 2.0f);
  b2[2] = 0b11'10'01'00;
  const auto y2 = decode(ggml::decode_q2_0, b2, 64);
  EXPECT_EQ(y2[0], -2.0f);
  EXPECT_EQ(y2[1], 0.0f);
  EXPECT_EQ(y2[2], 2.0f);
  EXPECT_EQ(y2[3], 4.0f);
  EXPECT_EQ(y2[63], -2.0f);
}

// ---- the type table --------------------------------------------------------------------------

TEST(GgmlTypes, OneRowPerIdWithGgmlBlockSizes) {
  // Block sizes from ggml-common.h static_asserts; ids from ggml.h.
  struct Row {
    std::uint32_t id;
    const char* name;
    std::uint32_t block_elems, block_bytes;
    bool decodable;
  };
  const Row rows[] = {
      {16, "IQ2_XXS", 256, 66, true}, {17, "IQ2_XS", 256, 74, true},  {18, "IQ3_XXS", 256, 98, true},
      {19, "IQ1_S", 256, 50, true},   {20, "IQ4_NL", 32, 18, true},   {21, "IQ3_S", 256, 110, true},
      {22, "IQ2_S", 256, 82, true},   {23, "IQ4_XS", 256, 136, true}, {29, "IQ1_M", 256, 56, true},
      {34, "TQ1_0", 256, 54, true},   {35, "TQ2_0", 256, 66, true},   {39, "MXFP4", 32, 17, true},
      {40, "NVFP4", 64, 36, true},    {41, "Q1_0", 128, 18, true},    {42, "Q2_0", 64, 18, true},
      {9, "Q8_1", 32, 36, false},     {15, "Q8_K", 256, 292, false},  {12, "Q4_K", 256, 144, true},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.name);
    const DTypeInfo* info = ggml_type_info(r.id);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->name, r.name);
    EXPECT_EQ(info->ggml_id, static_cast<std::int32_t>(r.id));
    EXPECT_EQ(info->block_elems, r.block_elems);
    EXPECT_EQ(info->block_bytes, r.block_bytes);
    EXPECT_EQ(info->decodable, r.decodable);
    EXPECT_EQ(dtype_from_ggml_type(r.id).has_value(), r.decodable);
    EXPECT_EQ(ggml_type_name(r.id), r.name);
  }
  for (const std::uint32_t removed : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 43u}) {
    EXPECT_EQ(ggml_type_info(removed), nullptr) << removed;
    EXPECT_EQ(ggml_type_name(removed), "unknown");
  }
  // Every id maps to one row.
  for (std::uint32_t id = 0; id < 64; ++id) {
    if (const auto* info = ggml_type_info(id)) {
      EXPECT_EQ(dtype_info(info->dtype).ggml_id, static_cast<std::int32_t>(id));
    }
  }
  const std::string names = decodable_ggml_type_names();
  EXPECT_NE(names.find("IQ3_S"), std::string::npos);
  EXPECT_NE(names.find("TQ1_0"), std::string::npos);
  EXPECT_EQ(names.find("Q8_K"), std::string::npos);
  EXPECT_EQ(names.rfind("F32, F16, Q4_0", 0), 0u) << names;  // in id order
}

TEST(GgmlTypes, UndecodableTypeRefusesToDecode) {
  std::vector<std::uint8_t> b(ggml::kQ8_KBytes, 0);
  std::vector<float> y(256);
  EXPECT_ANY_THROW(decode_row(DType::Q8_K, b.data(), y.data(), 256));
}

}  // namespace
}  // namespace embstat
