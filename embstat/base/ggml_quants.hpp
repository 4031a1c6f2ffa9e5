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

// The i-quants, ternary and FP4 types (ggml-common.h block_*; decoders in ggml_quants.cpp).
inline constexpr int kIq2_XxsBytes = 2 + kQK_K / 4;                      // f16 d; u16 qs[32]
inline constexpr int kIq2_XsBytes = 2 + kQK_K / 4 + kQK_K / 32;          // f16 d; u16 qs[32]; scales[8]
inline constexpr int kIq2_SBytes = 2 + kQK_K / 4 + kQK_K / 16;           // f16 d; qs[64]; qh[8]; scales[8]
inline constexpr int kIq3_XxsBytes = 2 + 3 * kQK_K / 8;                  // f16 d; qs[96]
inline constexpr int kIq3_SBytes = 2 + 13 * kQK_K / 32 + kQK_K / 64;     // d; qs[64] qh[8] signs[32] scales[4]
inline constexpr int kIq1_SBytes = 2 + kQK_K / 8 + kQK_K / 16;           // f16 d; qs[32]; u16 qh[8]
inline constexpr int kIq1_MBytes = kQK_K / 8 + kQK_K / 16 + kQK_K / 32;  // qs[32]; qh[16]; scales[8]
inline constexpr int kIq4_NlBytes = 2 + kQK / 2;                         // f16 d; qs[16]
inline constexpr int kIq4_XsBytes = 2 + 2 + kQK_K / 64 + kQK_K / 2;      // f16 d; u16 scales_h; scales_l[4]; qs
inline constexpr int kTq1_0Bytes = 48 + 4 + 2;                           // qs[48]; qh[4]; f16 d
inline constexpr int kTq2_0Bytes = kQK_K / 4 + 2;                        // qs[64]; f16 d
inline constexpr int kMxfp4Bytes = 1 + kQK / 2;                          // e8m0 e; qs[16]
inline constexpr int kQK_Nvfp4 = 64;                                     // elements per NVFP4 block
inline constexpr int kNvfp4Bytes = 4 + kQK_Nvfp4 / 2;                    // ue4m3 d[4]; qs[32]
inline constexpr int kQK1_0 = 128;                                       // elements per Q1_0 block
inline constexpr int kQ1_0Bytes = 2 + kQK1_0 / 8;                        // f16 d; one bit per element
inline constexpr int kQK2_0 = 64;                                        // elements per Q2_0 block
inline constexpr int kQ2_0Bytes = 2 + kQK2_0 / 4;                        // f16 d; two bits per element
// Types ggml stores but cannot itself convert to f32 (no to_float): sizes only.
inline constexpr int kQ8_1Bytes = 2 + 2 + kQK;                 // f16 d, s; int8 qs[32]
inline constexpr int kQ8_KBytes = 4 + kQK_K + kQK_K / 16 * 2;  // f32 d; int8 qs; i16 bsums[16]

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
void decode_iq2_xxs(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_iq2_xs(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_iq2_s(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_iq3_xxs(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_iq3_s(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_iq1_s(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_iq1_m(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_iq4_nl(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_iq4_xs(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_tq1_0(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_tq2_0(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_mxfp4(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_nvfp4(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_q1_0(const std::uint8_t* src, float* dst, std::int64_t n_elems);
void decode_q2_0(const std::uint8_t* src, float* dst, std::int64_t n_elems);

// Scales of the FP4 types, exposed for tests: E8M0 (2^(e-127)) halved, as MXFP4 uses it with
// its doubled E2M1 levels; UE4M3 (unsigned E4M3, 0x7f read as 0) halved likewise.
float e8m0_half_to_f32(std::uint8_t e);
float ue4m3_half_to_f32(std::uint8_t x);

}  // namespace embstat::ggml
