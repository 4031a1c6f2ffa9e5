#include "embstat/base/dtype.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "embstat/base/checked.hpp"
#include "embstat/base/error.hpp"
#include "embstat/base/ggml_quants.hpp"

namespace embstat {

float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu;
  const std::uint32_t mant = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: value = mant * 2^-24, exact in f32
      const float v = std::ldexp(static_cast<float>(mant), -24);
      return sign ? -v : v;
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);  // Inf / NaN (payload kept)
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

float f8_e4m3_to_f32(std::uint8_t v) {
  // OCP FP8 E4M3 ("e4m3fn"): bias 7, no infinities, S.1111.111 is NaN.
  const bool neg = v & 0x80u;
  const int exp = (v >> 3) & 0xf;
  const int mant = v & 0x7;
  float r;
  if (exp == 0xf && mant == 0x7) return std::numeric_limits<float>::quiet_NaN();
  if (exp == 0)
    r = std::ldexp(static_cast<float>(mant), -9);  // subnormal: mant/8 * 2^-6
  else
    r = std::ldexp(1.0f + static_cast<float>(mant) / 8.0f, exp - 7);
  return neg ? -r : r;
}

float f8_e5m2_to_f32(std::uint8_t v) {
  // E5M2 is the top byte of an IEEE half.
  return f16_to_f32(static_cast<std::uint16_t>(v) << 8);
}

std::uint16_t f32_to_f16(float f) {
  const std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  const std::uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // Inf or NaN
    return static_cast<std::uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
  }
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to Inf
  if (abs < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    // value / 2^-24, rounded to nearest even
    const float scaled = std::bit_cast<float>(abs) * 16777216.0f;
    const auto m = static_cast<std::uint32_t>(std::nearbyint(scaled));
    return static_cast<std::uint16_t>(sign | m);
  }
  const std::uint32_t exp = ((abs >> 23) - 112) << 10;
  const std::uint32_t mant = (abs >> 13) & 0x3ffu;
  std::uint32_t h = exp | mant;
  const std::uint32_t rest = abs & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // carries into exp correctly
  return static_cast<std::uint16_t>(sign | h);
}

namespace {

template <typename T>
T load(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

void decode_f32(const std::uint8_t* src, float* dst, std::int64_t n) {
  std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
}
void decode_f64(const std::uint8_t* src, float* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(load<double>(src + 8 * i));
}
#if defined(__x86_64__)
// F16C converts 8 halves per instruction, exactly (every half is representable in f32).
__attribute__((target("avx,f16c"))) void decode_f16_f16c(const std::uint8_t* src, float* dst, std::int64_t n) {
  std::int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) dst[i] = f16_to_f32(load<std::uint16_t>(src + 2 * i));
}
#endif

void decode_f16(const std::uint8_t* src, float* dst, std::int64_t n) {
#if defined(__x86_64__)
  // Every AVX2 CPU (Haswell, Excavator and later) has F16C; clang 14 cannot query "f16c" itself.
  static const bool has_f16c = __builtin_cpu_supports("avx2");
  if (has_f16c) return decode_f16_f16c(src, dst, n);
#endif
  for (std::int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(load<std::uint16_t>(src + 2 * i));
}
void decode_bf16(const std::uint8_t* src, float* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load<std::uint16_t>(src + 2 * i));
}
void decode_f8_e4m3(const std::uint8_t* src, float* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] = f8_e4m3_to_f32(src[i]);
}
void decode_f8_e5m2(const std::uint8_t* src, float* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] = f8_e5m2_to_f32(src[i]);
}
template <typename T>
void decode_int(const std::uint8_t* src, float* dst, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(load<T>(src + sizeof(T) * i));
}

// The table: one row per type. Integer types decode too (npy/safetensors samples hold them),
// but real embedding tables are floating point. Sizes and ids: ggml.h, ggml-common.h.
constexpr std::int32_t kNoGgml = -1;
const std::array<DTypeInfo, 42> kTable = {{
    {DType::F32, "F32", 1, 4, 0, true, decode_f32},
    {DType::F16, "F16", 1, 2, 1, true, decode_f16},
    {DType::BF16, "BF16", 1, 2, 30, true, decode_bf16},
    {DType::F64, "F64", 1, 8, 28, true, decode_f64},
    {DType::F8_E4M3, "F8_E4M3", 1, 1, kNoGgml, true, decode_f8_e4m3},
    {DType::F8_E5M2, "F8_E5M2", 1, 1, kNoGgml, true, decode_f8_e5m2},
    {DType::I8, "I8", 1, 1, 24, true, decode_int<std::int8_t>},
    {DType::U8, "U8", 1, 1, kNoGgml, true, decode_int<std::uint8_t>},
    {DType::I16, "I16", 1, 2, 25, true, decode_int<std::int16_t>},
    {DType::U16, "U16", 1, 2, kNoGgml, true, decode_int<std::uint16_t>},
    {DType::I32, "I32", 1, 4, 26, true, decode_int<std::int32_t>},
    {DType::U32, "U32", 1, 4, kNoGgml, true, decode_int<std::uint32_t>},
    {DType::I64, "I64", 1, 8, 27, true, decode_int<std::int64_t>},
    {DType::U64, "U64", 1, 8, kNoGgml, true, decode_int<std::uint64_t>},
    {DType::BOOL, "BOOL", 1, 1, kNoGgml, true, decode_int<std::uint8_t>},
    {DType::Q4_0, "Q4_0", ggml::kQK, ggml::kQ4_0Bytes, 2, true, ggml::decode_q4_0},
    {DType::Q4_1, "Q4_1", ggml::kQK, ggml::kQ4_1Bytes, 3, true, ggml::decode_q4_1},
    {DType::Q5_0, "Q5_0", ggml::kQK, ggml::kQ5_0Bytes, 6, true, ggml::decode_q5_0},
    {DType::Q5_1, "Q5_1", ggml::kQK, ggml::kQ5_1Bytes, 7, true, ggml::decode_q5_1},
    {DType::Q8_0, "Q8_0", ggml::kQK, ggml::kQ8_0Bytes, 8, true, ggml::decode_q8_0},
    {DType::Q2_K, "Q2_K", ggml::kQK_K, ggml::kQ2_KBytes, 10, true, ggml::decode_q2_k},
    {DType::Q3_K, "Q3_K", ggml::kQK_K, ggml::kQ3_KBytes, 11, true, ggml::decode_q3_k},
    {DType::Q4_K, "Q4_K", ggml::kQK_K, ggml::kQ4_KBytes, 12, true, ggml::decode_q4_k},
    {DType::Q5_K, "Q5_K", ggml::kQK_K, ggml::kQ5_KBytes, 13, true, ggml::decode_q5_k},
    {DType::Q6_K, "Q6_K", ggml::kQK_K, ggml::kQ6_KBytes, 14, true, ggml::decode_q6_k},
    {DType::IQ2_XXS, "IQ2_XXS", ggml::kQK_K, ggml::kIq2_XxsBytes, 16, true, ggml::decode_iq2_xxs},
    {DType::IQ2_XS, "IQ2_XS", ggml::kQK_K, ggml::kIq2_XsBytes, 17, true, ggml::decode_iq2_xs},
    {DType::IQ3_XXS, "IQ3_XXS", ggml::kQK_K, ggml::kIq3_XxsBytes, 18, true, ggml::decode_iq3_xxs},
    {DType::IQ1_S, "IQ1_S", ggml::kQK_K, ggml::kIq1_SBytes, 19, true, ggml::decode_iq1_s},
    {DType::IQ4_NL, "IQ4_NL", ggml::kQK, ggml::kIq4_NlBytes, 20, true, ggml::decode_iq4_nl},
    {DType::IQ3_S, "IQ3_S", ggml::kQK_K, ggml::kIq3_SBytes, 21, true, ggml::decode_iq3_s},
    {DType::IQ2_S, "IQ2_S", ggml::kQK_K, ggml::kIq2_SBytes, 22, true, ggml::decode_iq2_s},
    {DType::IQ4_XS, "IQ4_XS", ggml::kQK_K, ggml::kIq4_XsBytes, 23, true, ggml::decode_iq4_xs},
    {DType::IQ1_M, "IQ1_M", ggml::kQK_K, ggml::kIq1_MBytes, 29, true, ggml::decode_iq1_m},
    {DType::TQ1_0, "TQ1_0", ggml::kQK_K, ggml::kTq1_0Bytes, 34, true, ggml::decode_tq1_0},
    {DType::TQ2_0, "TQ2_0", ggml::kQK_K, ggml::kTq2_0Bytes, 35, true, ggml::decode_tq2_0},
    {DType::MXFP4, "MXFP4", ggml::kQK, ggml::kMxfp4Bytes, 39, true, ggml::decode_mxfp4},
    {DType::NVFP4, "NVFP4", ggml::kQK_Nvfp4, ggml::kNvfp4Bytes, 40, true, ggml::decode_nvfp4},
    {DType::Q1_0, "Q1_0", ggml::kQK1_0, ggml::kQ1_0Bytes, 41, true, ggml::decode_q1_0},
    {DType::Q2_0, "Q2_0", ggml::kQK2_0, ggml::kQ2_0Bytes, 42, true, ggml::decode_q2_0},
    {DType::Q8_1, "Q8_1", ggml::kQK, ggml::kQ8_1Bytes, 9, false, nullptr},
    {DType::Q8_K, "Q8_K", ggml::kQK_K, ggml::kQ8_KBytes, 15, false, nullptr},
}};

}  // namespace

const DTypeInfo& dtype_info(DType dtype) {
  for (const auto& info : kTable)
    if (info.dtype == dtype) return info;
  throw Error(ErrorKind::Internal, "", "dtype missing from the table");
}

std::optional<DType> dtype_from_safetensors_name(std::string_view name) {
  if (name == "BOOL") return DType::BOOL;
  for (const auto& info : kTable)
    if (info.block_elems == 1 && info.name == name) return info.dtype;
  return std::nullopt;
}

const DTypeInfo* ggml_type_info(std::uint32_t ggml_type) {
  for (const auto& info : kTable)
    if (info.ggml_id >= 0 && static_cast<std::uint32_t>(info.ggml_id) == ggml_type) return &info;
  return nullptr;
}

std::optional<DType> dtype_from_ggml_type(std::uint32_t ggml_type) {
  const auto* info = ggml_type_info(ggml_type);
  if (!info || !info->decodable) return std::nullopt;
  return info->dtype;
}

std::string_view ggml_type_name(std::uint32_t ggml_type) {
  const auto* info = ggml_type_info(ggml_type);
  return info ? info->name : "unknown";
}

std::string decodable_ggml_type_names() {
  std::vector<const DTypeInfo*> rows;
  for (const auto& info : kTable)
    if (info.ggml_id >= 0 && info.decodable) rows.push_back(&info);
  std::sort(rows.begin(), rows.end(), [](const DTypeInfo* a, const DTypeInfo* b) { return a->ggml_id < b->ggml_id; });
  std::string out;
  for (const auto* info : rows) out += (out.empty() ? "" : ", ") + std::string(info->name);
  return out;
}

std::optional<std::uint64_t> dtype_bytes(DType dtype, std::uint64_t n_elems) {
  const auto& info = dtype_info(dtype);
  if (n_elems % info.block_elems != 0) return std::nullopt;
  return checked_mul(n_elems / info.block_elems, info.block_bytes);
}

void decode_row(DType dtype, const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  const auto& info = dtype_info(dtype);
  if (!info.decodable) throw_unsupported("", std::string("cannot convert ") + std::string(info.name) + " to f32");
  info.decode(src, dst, n_elems);
}

}  // namespace embstat
