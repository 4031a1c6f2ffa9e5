// Decoders for GGML's quantised block formats (llama.cpp ggml-common.h layouts).
//
// Each function decodes n_elems values (a multiple of the block size) from consecutive blocks.
// Results must match ggml's own dequantize_row_* bit for bit.
#pragma once

#include <cstdint>

namespace embstat::ggml {

inline constexpr int kQK = 32;     // elements per block of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0
inline constexpr int kQK_K = 256;  // elements per super-block of the K-quants

// Bytes per block (ggml-common.h).
inline constexpr int kQ4_0Bytes = 2 + kQK / 2;          // f16 d; 16 nibble bytes
inline constexpr int kQ4_1Bytes = 2 + 2 + kQK / 2;      // f16 d, m; nibbles
inline constexpr int kQ5_0Bytes = 2 + 4 + kQK / 2;      // f16 d; u32 high bits; nibbles
inline constexpr int kQ5_1Bytes = 2 + 2 + 4 + kQK / 2;  // f16 d, m; u32 high bits; nibbles
inline constexpr int kQ8_0Bytes = 2 + kQK;              // f16 d; int8 qs
inline constexpr int kQ2_KBytes = kQK_K / 16 + kQK_K / 4 + 2 + 2;
inline constexpr int kQ3_KBytes = kQK_K / 8 + kQK_K / 4 + 12 + 2;
inline constexpr int kQ4_KBytes = 2 + 2 + 12 + kQK_K / 2;
inline constexpr int kQ5_KBytes = 2 + 2 + 12 + kQK_K / 8 + kQK_K / 2;
inline constexpr int kQ6_KBytes = kQK_K / 2 + kQK_K / 4 + kQK_K / 16 + 2;

void decode_q4_0(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_q4_1(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_q5_0(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_q5_1(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_q8_0(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_q2_k(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_q3_k(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_q4_k(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_q5_k(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_q6_k(const std::uint8_t* src, float* dst, std::int64_t n_elems);

}  // namespace embstat::ggml
