#include "embstat/base/dtype.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "embstat/base/checked.hpp"

namespace embstat {
namespace {

TEST(DType, F16KnownValues) {
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_TRUE(std::isinf(f16_to_f32(0x7c00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
}

TEST(DType, F16RoundTripsEveryFiniteHalf) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), h) << "half 0x" << std::hex << h;
  }
}

TEST(DType, F16RowDecoderMatchesScalarForEveryHalf) {
  // The row decoder may take a SIMD path (F16C); it must agree with the scalar conversion.
  std::vector<std::uint16_t> halves(0x10000 + 3);  // +3: exercise the scalar tail
  for (std::size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<std::uint16_t>(i);
  std::vector<float> out(halves.size());
  decode_row(DType::F16, reinterpret_cast<const std::uint8_t*>(halves.data()), out.data(),
             static_cast<std::int64_t>(halves.size()));
  for (std::size_t i = 0; i < halves.size(); ++i) {
    const float want = f16_to_f32(halves[i]);
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(out[i])) << i;
    } else {
      ASSERT_EQ(std::bit_cast<std::uint32_t>(out[i]), std::bit_cast<std::uint32_t>(want)) << "half " << i;
    }
  }
}

TEST(DType, F32ToF16RoundsToNearestEven) {
  // 1 + 2^-11 lies exactly between 1 and the next half (1 + 2^-10): ties to even -> 1.
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  // 1 + 3*2^-11 lies between 1+2^-10 (odd) and 1+2^-9 (even): -> 1+2^-9.
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(f32_to_f16(1e6f), 0x7c00);  // overflow -> inf
}

TEST(DType, BF16) {
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0xc040), -3.0f);
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const float f = bf16_to_f32(static_cast<std::uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_bf16(f), h);
  }
}

TEST(DType, F8) {
  EXPECT_EQ(f8_e4m3_to_f32(0x38), 1.0f);    // exp 7, mant 0
  EXPECT_EQ(f8_e4m3_to_f32(0x7e), 448.0f);  // largest finite
  EXPECT_EQ(f8_e4m3_to_f32(0x01), std::ldexp(1.0f, -9));
  EXPECT_TRUE(std::isnan(f8_e4m3_to_f32(0x7f)));
  EXPECT_EQ(f8_e5m2_to_f32(0x3c), 1.0f);
  EXPECT_EQ(f8_e5m2_to_f32(0xc0), -2.0f);
}

TEST(DType, TableLookups) {
  EXPECT_EQ(dtype_from_safetensors_name("BF16"), DType::BF16);
  EXPECT_EQ(dtype_from_safetensors_name("F8_E4M3"), DType::F8_E4M3);
  EXPECT_FALSE(dtype_from_safetensors_name("Q4_K").has_value());  // not a safetensors dtype
  EXPECT_FALSE(dtype_from_safetensors_name("F17").has_value());
  EXPECT_EQ(dtype_from_ggml_type(0), DType::F32);
  EXPECT_EQ(dtype_from_ggml_type(14), DType::Q6_K);
  EXPECT_EQ(dtype_from_ggml_type(30), DType::BF16);
  EXPECT_EQ(dtype_from_ggml_type(16), DType::IQ2_XXS);
  EXPECT_EQ(ggml_type_name(16), "IQ2_XXS");
  EXPECT_FALSE(dtype_from_ggml_type(15).has_value());  // Q8_K: known, not decodable
  EXPECT_EQ(ggml_type_name(15), "Q8_K");
  EXPECT_FALSE(dtype_from_ggml_type(4).has_value());  // removed type
  EXPECT_FALSE(dtype_from_ggml_type(1u << 31).has_value());
}

TEST(DType, BytesChecksBlocksAndOverflow) {
  EXPECT_EQ(dtype_bytes(DType::BF16, 10), 20u);
  EXPECT_EQ(dtype_bytes(DType::Q8_0, 64), 68u);
  EXPECT_FALSE(dtype_bytes(DType::Q8_0, 33).has_value());  // not whole blocks
  EXPECT_FALSE(dtype_bytes(DType::F64, std::numeric_limits<std::uint64_t>::max() / 4).has_value());
}

TEST(Checked, RangeFits) {
  EXPECT_TRUE(range_fits(0, 10, 10));
  EXPECT_FALSE(range_fits(1, 10, 10));
  EXPECT_FALSE(range_fits(11, 0, 10));
  EXPECT_FALSE(range_fits(5, std::numeric_limits<std::uint64_t>::max(), 10));  // would wrap
  EXPECT_FALSE(checked_mul(1ull << 32, 1ull << 32).has_value());
  EXPECT_FALSE(checked_add(std::numeric_limits<std::uint64_t>::max(), 1).has_value());
}

}  // namespace
}  // namespace embstat
