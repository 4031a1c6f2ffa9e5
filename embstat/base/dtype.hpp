// DType — every element encoding embstat can read, and how to turn a row of it into f32.
//
// One table (dtype.cpp) holds, per type: name, elements per block, bytes per block, its ggml
// type id if it has one, and the row decoder. Plain types have blocks of one element. GGML
// quantised types store blocks of 32 to 256 elements with their own scales (layouts in
// ggml_quants.hpp). Adding a type is one enum value, one table row and its decoder.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace embstat {

enum class DType {
  F32,
  F16,
  BF16,
  F64,
  F8_E4M3,
  F8_E5M2,
  I8,
  U8,
  I16,
  U16,
  I32,
  U32,
  I64,
  U64,
  BOOL,
  Q4_0,
  Q4_1,
  Q5_0,
  Q5_1,
  Q8_0,
  Q2_K,
  Q3_K,
  Q4_K,
  Q5_K,
  Q6_K,
  IQ2_XXS,
  IQ2_XS,
  IQ2_S,
  IQ3_XXS,
  IQ3_S,
  IQ1_S,
  IQ1_M,
  IQ4_NL,
  IQ4_XS,
  TQ1_0,
  TQ2_0,
  MXFP4,
  NVFP4,
  Q1_0,
  Q2_0,
  Q8_1,  // ggml's own intermediate types: sized, but ggml has no decoder for them either
  Q8_K,
};

struct DTypeInfo {
  DType dtype;
  std::string_view name;      // "F32", "BF16", "Q4_K", ... (safetensors / ggml spelling)
  std::uint32_t block_elems;  // elements per block (1 for plain types)
  std::uint32_t block_bytes;  // bytes per block
  std::int32_t ggml_id;       // ggml.h enum ggml_type value; -1 for types ggml lacks
  bool decodable;             // has a to-f32 decoder
  // Decodes n_elems (a multiple of block_elems) from src into dst; null when !decodable.
  void (*decode)(const std::uint8_t* src, float* dst, std::int64_t n_elems);
};

const DTypeInfo& dtype_info(DType dtype);
inline std::string_view dtype_name(DType dtype) {
  return dtype_info(dtype).name;
}

// Lookup by name as written in safetensors headers ("F32", "BF16", "F8_E4M3", ...).
std::optional<DType> dtype_from_safetensors_name(std::string_view name);
// Lookup by GGML type id as stored in GGUF tensor infos (0 = F32, 1 = F16, 8 = Q8_0, ...):
// the table row of any type ggml defines today, decodable or not; null for unknown and removed ids.
const DTypeInfo* ggml_type_info(std::uint32_t ggml_type);
// The DType of a ggml type id embstat can decode; nullopt for the others.
std::optional<DType> dtype_from_ggml_type(std::uint32_t ggml_type);
// The GGML type name for an id even when embstat cannot decode it ("unknown" when not a type).
std::string_view ggml_type_name(std::uint32_t ggml_type);
// The ggml types embstat decodes, comma-separated in id order (for messages).
std::string decodable_ggml_type_names();

// Bytes needed for n_elems elements, or nullopt on overflow or when n_elems is not a whole
// number of blocks.
std::optional<std::uint64_t> dtype_bytes(DType dtype, std::uint64_t n_elems);

// Scalar conversions (exact, all bit patterns incl. NaN/Inf/subnormals).
// The bf16 pair is inline: kernels convert every element of a pass (bf16_kernels callers).
float f16_to_f32(std::uint16_t h);
inline float bf16_to_f32(std::uint16_t h) {
  return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
}
float f8_e4m3_to_f32(std::uint8_t v);
float f8_e5m2_to_f32(std::uint8_t v);
std::uint16_t f32_to_f16(float f);           // round to nearest even (for tests and fixtures)
inline std::uint16_t f32_to_bf16(float f) {  // round to nearest even; NaN stays NaN (quiet)
  std::uint32_t x = std::bit_cast<std::uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return static_cast<std::uint16_t>(x >> 16);
}

// Decodes a row of any decodable type; throws Error(Unsupported) for the others.
void decode_row(DType dtype, const std::uint8_t* src, float* dst, std::int64_t n_elems);

}  // namespace embstat
