// GGML block decoders, written from the layouts in ggml-common.h and the reference
// dequantize_row_* in ggml-quants.c. Each block is read with memcpy-based loads, so `src` may
// sit at any address (GGUF only aligns whole tensors, and rows of odd-sized blocks are not).
//
// Exactness: every product below is exact in f32 (an f16 scale has 11 significant bits, a 6-bit
// sub-scale and a <= 6-bit quant add at most 12 more) except Q6_K's d*sc*q, which has a single
// rounding whatever the order. So each value has at most one rounding, the same as ggml's with
// or without fused multiply-add, and results are bit-identical to ggml's.
#include "embstat/base/ggml_quants.hpp"

#include <array>
#include <cmath>
#include <cstddef>
#include <cstring>

#include "embstat/base/dtype.hpp"
#include "embstat/base/ggml_iq_grids.hpp"

namespace embstat::ggml {
namespace {

float load_f16(const std::uint8_t* p) {
  std::uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return f16_to_f32(h);
}

std::uint32_t load_u32(const std::uint8_t* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::uint16_t load_u16(const std::uint8_t* p) {
  std::uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Byte j of a packed grid entry (element j of its group), whatever the host byte order.
int grid_byte(std::uint64_t entry, int j) {
  return static_cast<int>((entry >> (8 * j)) & 0xffu);
}

// The i-quants store 7 sign bits per 8 elements; the 8th makes the count of minus signs even
// (ggml ksigns_iq2xs). Bit j set: element j is negative.
std::uint8_t signs_from_7bits(std::uint32_t k) {
  k &= 0x7fu;
  return static_cast<std::uint8_t>(k | ((static_cast<std::uint32_t>(__builtin_popcount(k)) & 1u) << 7));
}

float sign_of(std::uint8_t signs, int j) {
  return (signs >> j) & 1u ? -1.0f : 1.0f;
}

// One run of 8 values of the sign-and-grid i-quants: scale * |grid byte j| * (sign bit j).
void put_signed_run(float* dst, float scale, std::uint64_t grid, std::uint8_t signs) {
  for (int j = 0; j < 8; ++j) dst[j] = scale * static_cast<float>(grid_byte(grid, j)) * sign_of(signs, j);
}

// IQ3 grids hold 4 bytes an entry; a run is two entries, the first giving elements 0-3.
std::uint64_t grid_pair(std::uint32_t lo, std::uint32_t hi) {
  return lo | (static_cast<std::uint64_t>(hi) << 32);
}

// Doubled E2M1 levels shared by MXFP4 and NVFP4 (OCP microscaling spec): 0, 0.5, 1, 1.5, 2, 3,
// 4, 6 and their negatives, times two; the block scales are halved to match.
constexpr std::array<std::int8_t, 16> kFp4Doubled = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

constexpr float kIq1Delta = 0.125f;  // IQ1_S / IQ1_M grid shift

// Q4_K / Q5_K: 8 sub-blocks of 32, each with a 6-bit scale and a 6-bit min, packed in 12 bytes:
//   bytes 0-3:  scale[0..3] in bits 0-5, bits 6-7 = high bits of scale[4..7]
//   bytes 4-7:  min[0..3]   in bits 0-5, bits 6-7 = high bits of min[4..7]
//   bytes 8-11: low nibble = low 4 bits of scale[4..7], high nibble = low 4 bits of min[4..7]
void k4_scale_min(const std::uint8_t* scales, int sub, int& scale, int& min) {
  if (sub < 4) {
    scale = scales[sub] & 0x3f;
    min = scales[sub + 4] & 0x3f;
  } else {
    scale = (scales[sub + 4] & 0x0f) | ((scales[sub - 4] >> 6) << 4);
    min = (scales[sub + 4] >> 4) | ((scales[sub] >> 6) << 4);
  }
}

}  // namespace

// Q4_0 (18 bytes): f16 d | qs[16]. Element j (< 16) is the low nibble of qs[j], element j + 16
// the high nibble; value = (q - 8) * d.
void decode_q4_0(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK; ++b, src += kQ4_0Bytes, dst += kQK) {
    const float d = load_f16(src);
    const std::uint8_t* qs = src + 2;
    for (int j = 0; j < kQK / 2; ++j) dst[j] = static_cast<float>((qs[j] & 0x0f) - 8) * d;
    for (int j = 0; j < kQK / 2; ++j) dst[j + kQK / 2] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}

// Q4_1 (20 bytes): f16 d | f16 m | qs[16]; value = q * d + m.
void decode_q4_1(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK; ++b, src += kQ4_1Bytes, dst += kQK) {
    const float d = load_f16(src);
    const float m = load_f16(src + 2);
    const std::uint8_t* qs = src + 4;
    for (int j = 0; j < kQK / 2; ++j) dst[j] = static_cast<float>(qs[j] & 0x0f) * d + m;
    for (int j = 0; j < kQK / 2; ++j) dst[j + kQK / 2] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}

// Q5_0 (22 bytes): f16 d | u32 qh | qs[16]. Bit j of qh is the fifth bit of element j;
// value = (q - 16) * d.
void decode_q5_0(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK; ++b, src += kQ5_0Bytes, dst += kQK) {
    const float d = load_f16(src);
    const std::uint32_t qh = load_u32(src + 2);
    const std::uint8_t* qs = src + 6;
    for (int j = 0; j < kQK / 2; ++j)
      dst[j] = static_cast<float>(((qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4)) - 16) * d;
    for (int j = 0; j < kQK / 2; ++j)
      dst[j + kQK / 2] = static_cast<float>(((qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4)) - 16) * d;
  }
}

// Q5_1 (24 bytes): f16 d | f16 m | u32 qh | qs[16]; value = q * d + m.
void decode_q5_1(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK; ++b, src += kQ5_1Bytes, dst += kQK) {
    const float d = load_f16(src);
    const float m = load_f16(src + 2);
    const std::uint32_t qh = load_u32(src + 4);
    const std::uint8_t* qs = src + 8;
    for (int j = 0; j < kQK / 2; ++j)
      dst[j] = static_cast<float>((qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4)) * d + m;
    for (int j = 0; j < kQK / 2; ++j)
      dst[j + kQK / 2] = static_cast<float>((qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4)) * d + m;
  }
}

// Q8_0 (34 bytes): f16 d | int8 qs[32]; value = q * d.
void decode_q8_0(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK; ++b, src += kQ8_0Bytes, dst += kQK) {
    const float d = load_f16(src);
    for (int j = 0; j < kQK; ++j) dst[j] = static_cast<float>(static_cast<std::int8_t>(src[2 + j])) * d;
  }
}

// Q2_K (84 bytes): scales[16] | qs[64] | f16 d | f16 dmin. 16 sub-blocks of 16; scales[s] holds
// the 4-bit scale (low nibble) and 4-bit min (high nibble) of sub-block s. Element e of the
// super-block: half h = e / 128, group g = (e % 128) / 32, lane l = e % 32;
// q = (qs[32h + l] >> 2g) & 3; value = d * scale * q - dmin * min.
void decode_q2_k(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kQ2_KBytes) {
    const std::uint8_t* scales = src;
    const std::uint8_t* qs = src + 16;
    const float d = load_f16(src + 80);
    const float dmin = load_f16(src + 82);
    for (std::ptrdiff_t h = 0; h < 2; ++h) {  // offsets in a pointer-sized type
      for (int g = 0; g < 4; ++g) {
        for (std::ptrdiff_t half16 = 0; half16 < 2; ++half16) {  // two sub-blocks of 16 per group
          const std::uint8_t sc = *scales++;
          const float dl = d * static_cast<float>(sc & 0x0f);
          const float ml = dmin * static_cast<float>(sc >> 4);
          const std::uint8_t* q = qs + 32 * h + 16 * half16;
          for (int l = 0; l < 16; ++l) *dst++ = dl * static_cast<float>((q[l] >> (2 * g)) & 3) - ml;
        }
      }
    }
  }
}

// Q3_K (110 bytes): hmask[32] | qs[64] | scales[12] | f16 d. 16 sub-blocks of 16 with signed
// 6-bit scales stored minus 32: the low 4 bits of scale s are the low (s < 8) or high (s >= 8)
// nibble of scales[s % 8]; its high 2 bits are bits 2*(s/4) of scales[8 + s % 4]. Element e:
// h = e / 128, g = (e % 128) / 32, l = e % 32; low bits (qs[32h + l] >> 2g) & 3; high bit
// (hmask[l] >> (4h + g)) & 1; q = low + 4*high - 4 (in -4..3); value = d * (scale - 32) * q.
void decode_q3_k(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kQ3_KBytes) {
    const std::uint8_t* hmask = src;
    const std::uint8_t* qs = src + 32;
    const std::uint8_t* packed = src + 96;
    const float d = load_f16(src + 108);
    int scale[16];
    for (int s = 0; s < 16; ++s) {
      const int low = s < 8 ? (packed[s] & 0x0f) : (packed[s - 8] >> 4);
      const int high = (packed[8 + s % 4] >> (2 * (s / 4))) & 3;
      scale[s] = (low | (high << 4)) - 32;
    }
    int s = 0;
    for (int h = 0; h < 2; ++h) {
      for (int g = 0; g < 4; ++g) {
        for (int half16 = 0; half16 < 2; ++half16, ++s) {
          const float dl = d * static_cast<float>(scale[s]);
          for (int l = 16 * half16; l < 16 * half16 + 16; ++l) {
            const int low = (qs[32 * h + l] >> (2 * g)) & 3;
            const int high = (hmask[l] >> (4 * h + g)) & 1;
            *dst++ = dl * static_cast<float>(low + 4 * high - 4);
          }
        }
      }
    }
  }
}

// Q4_K (144 bytes): f16 d | f16 dmin | scales[12] (see k4_scale_min) | qs[128]. 8 sub-blocks
// of 32; 64 elements per 32 qs bytes: sub-block 2c takes the low nibbles of qs[32c..32c+31],
// sub-block 2c+1 the high nibbles. value = d * scale * q - dmin * min.
void decode_q4_k(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kQ4_KBytes) {
    const float d = load_f16(src);
    const float dmin = load_f16(src + 2);
    const std::uint8_t* scales = src + 4;
    const std::uint8_t* qs = src + 16;
    for (int c = 0; c < 4; ++c, qs += 32) {
      for (int nib = 0; nib < 2; ++nib) {
        int sc, mn;
        k4_scale_min(scales, 2 * c + nib, sc, mn);
        const float dl = d * static_cast<float>(sc);
        const float ml = dmin * static_cast<float>(mn);
        for (int l = 0; l < 32; ++l) *dst++ = dl * static_cast<float>((qs[l] >> (4 * nib)) & 0x0f) - ml;
      }
    }
  }
}

// Q5_K (176 bytes): f16 d | f16 dmin | scales[12] | qh[32] | qs[128]. As Q4_K, plus a fifth
// bit per element: bit s of qh[l] belongs to lane l of sub-block s.
void decode_q5_k(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kQ5_KBytes) {
    const float d = load_f16(src);
    const float dmin = load_f16(src + 2);
    const std::uint8_t* scales = src + 4;
    const std::uint8_t* qh = src + 16;
    const std::uint8_t* qs = src + 48;
    for (int c = 0; c < 4; ++c, qs += 32) {
      for (int nib = 0; nib < 2; ++nib) {
        const int sub = 2 * c + nib;
        int sc, mn;
        k4_scale_min(scales, sub, sc, mn);
        const float dl = d * static_cast<float>(sc);
        const float ml = dmin * static_cast<float>(mn);
        for (int l = 0; l < 32; ++l) {
          const int q = ((qs[l] >> (4 * nib)) & 0x0f) | (((qh[l] >> sub) & 1) << 4);
          *dst++ = dl * static_cast<float>(q) - ml;
        }
      }
    }
  }
}

// Q6_K (210 bytes): ql[128] | qh[64] | int8 scales[16] | f16 d. Per half h (128 elements):
// ql[64h .. 64h+63], qh[32h .. 32h+31]. Element 128h + 32k + l (k = 0..3, l = 0..31):
// low 4 bits from ql[64h + l + 32*(k & 1)] (low nibble for k < 2, high nibble otherwise),
// high 2 bits (qh[32h + l] >> 2k) & 3; q = bits - 32; value = d * scales[e / 16] * q.
void decode_q6_k(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kQ6_KBytes) {
    const std::uint8_t* qh = src + 128;
    const std::uint8_t* scales = src + 192;
    const float d = load_f16(src + 208);
    for (std::ptrdiff_t h = 0; h < 2; ++h) {  // offsets in a pointer-sized type
      for (std::ptrdiff_t k = 0; k < 4; ++k) {
        const std::uint8_t* ql = src + 64 * h + 32 * (k & 1);
        const int low_shift = k < 2 ? 0 : 4;
        for (int half16 = 0; half16 < 2; ++half16) {  // sub-block e / 16 = 8h + 2k + half16
          const float dl = d * static_cast<float>(static_cast<std::int8_t>(scales[8 * h + 2 * k + half16]));
          for (int l = 16 * half16; l < 16 * half16 + 16; ++l) {
            const int low = (ql[l] >> low_shift) & 0x0f;
            const int high = (qh[32 * h + l] >> (2 * k)) & 3;
            *dst++ = dl * static_cast<float>((low | (high << 4)) - 32);
          }
        }
      }
    }
  }
}

// ---- i-quants -------------------------------------------------------------------------------
// A super-block of 256 is 8 groups of 32; each group is 4 (or 8) runs of 8 elements whose
// magnitudes come from one grid entry and whose signs come from a sign byte. Every value is
// scale * grid * sign with the scale computed as ggml writes it: all products are exact in f32
// (an f16 times a <= 5-bit factor times a <= 6-bit grid value), so the results equal ggml's.

// IQ2_XXS (66 bytes): f16 d | 8 groups x 8 bytes. Group bytes 0-3: grid indices of its 4 runs;
// bytes 4-7 (u32): bits 7r..7r+6 the run's 7 sign bits, bits 28-31 the scale s;
// value = d * (0.5 + s) * 0.25 * grid * sign.
void decode_iq2_xxs(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kIq2_XxsBytes) {
    const float d = load_f16(src);
    for (std::ptrdiff_t g = 0; g < 8; ++g) {  // offsets in a pointer-sized type
      const std::uint8_t* q = src + 2 + 8 * g;
      const std::uint32_t aux = load_u32(q + 4);
      const float db = d * (0.5f + static_cast<float>(aux >> 28)) * 0.25f;
      for (int r = 0; r < 4; ++r, dst += 8) {
        const std::uint64_t grid = kIq2xxsGrid[q[r]];
        const std::uint8_t signs = signs_from_7bits(aux >> (7 * r));
        put_signed_run(dst, db, grid, signs);
      }
    }
  }
}

// IQ2_XS (74 bytes): f16 d | u16 qs[32] | scales[8]. qs[4g + r]: bits 0-8 grid index, 9-15 the
// 7 sign bits; runs 0-1 of group g use the low nibble of scales[g], runs 2-3 the high one.
void decode_iq2_xs(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kIq2_XsBytes) {
    const float d = load_f16(src);
    const std::uint8_t* scales = src + 2 + 64;
    for (std::ptrdiff_t g = 0; g < 8; ++g) {
      const float db[2] = {d * (0.5f + static_cast<float>(scales[g] & 0x0f)) * 0.25f,
                           d * (0.5f + static_cast<float>(scales[g] >> 4)) * 0.25f};
      for (std::ptrdiff_t r = 0; r < 4; ++r, dst += 8) {
        const std::uint16_t q = load_u16(src + 2 + 2 * (4 * g + r));
        const std::uint64_t grid = kIq2xsGrid[q & 511u];
        const std::uint8_t signs = signs_from_7bits(q >> 9);
        put_signed_run(dst, db[r / 2], grid, signs);
      }
    }
  }
}

// IQ2_S (82 bytes): f16 d | qs[32] (low 8 bits of 32 grid indices) | signs[32] (a full sign byte
// per run) | qh[8] (bits 2r..2r+1 of qh[g]: bits 8-9 of run r's index) | scales[8] (as IQ2_XS).
void decode_iq2_s(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kIq2_SBytes) {
    const float d = load_f16(src);
    const std::uint8_t* qs = src + 2;
    const std::uint8_t* signs = src + 2 + 32;
    const std::uint8_t* qh = src + 2 + 64;
    const std::uint8_t* scales = src + 2 + 64 + 8;
    for (int g = 0; g < 8; ++g) {
      const float db[2] = {d * (0.5f + static_cast<float>(scales[g] & 0x0f)) * 0.25f,
                           d * (0.5f + static_cast<float>(scales[g] >> 4)) * 0.25f};
      for (int r = 0; r < 4; ++r, dst += 8) {
        const unsigned index = qs[4 * g + r] | (((static_cast<unsigned>(qh[g]) >> (2 * r)) & 3u) << 8);
        const std::uint64_t grid = kIq2sGrid[index];
        const std::uint8_t s = signs[4 * g + r];
        put_signed_run(dst, db[r / 2], grid, s);
      }
    }
  }
}

// IQ3_XXS (98 bytes): f16 d | qs[64] (grid indices, two 4-element entries per run) | 8 x u32
// (as IQ2_XXS: 4 x 7 sign bits, scale in bits 28-31); value = d * (0.5 + s) * 0.5 * grid * sign.
void decode_iq3_xxs(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kIq3_XxsBytes) {
    const float d = load_f16(src);
    const std::uint8_t* qs = src + 2;
    for (std::ptrdiff_t g = 0; g < 8; ++g) {
      const std::uint32_t aux = load_u32(src + 2 + 64 + 4 * g);
      const float db = d * (0.5f + static_cast<float>(aux >> 28)) * 0.5f;
      for (std::ptrdiff_t r = 0; r < 4; ++r, dst += 8) {
        const std::uint8_t signs = signs_from_7bits(aux >> (7 * r));
        put_signed_run(dst, db, grid_pair(kIq3xxsGrid[qs[8 * g + 2 * r]], kIq3xxsGrid[qs[8 * g + 2 * r + 1]]), signs);
      }
    }
  }
}

// IQ3_S (110 bytes): f16 d | qs[64] (low 8 bits of 64 indices) | qh[8] (bit k of qh[g]: bit 8
// of index 8g + k) | signs[32] (a sign byte per run) | scales[4] (group 2p: low nibble of
// scales[p], group 2p+1: high nibble); value = d * (1 + 2s) * grid * sign.
void decode_iq3_s(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kIq3_SBytes) {
    const float d = load_f16(src);
    const std::uint8_t* qs = src + 2;
    const std::uint8_t* qh = src + 2 + 64;
    const std::uint8_t* signs = src + 2 + 64 + 8;
    const std::uint8_t* scales = src + 2 + 64 + 8 + 32;
    for (int g = 0; g < 8; ++g) {
      const int s = g % 2 == 0 ? (scales[g / 2] & 0x0f) : (scales[g / 2] >> 4);
      const float db = d * static_cast<float>(1 + 2 * s);
      for (int r = 0; r < 4; ++r, dst += 8) {
        const int k = 2 * r;
        const unsigned i0 = qs[8 * g + k] | (((static_cast<unsigned>(qh[g]) >> k) & 1u) << 8);
        const unsigned i1 = qs[8 * g + k + 1] | (((static_cast<unsigned>(qh[g]) >> (k + 1)) & 1u) << 8);
        put_signed_run(dst, db, grid_pair(kIq3sGrid[i0], kIq3sGrid[i1]), signs[4 * g + r]);
      }
    }
  }
}

// IQ1_S (50 bytes): f16 d | qs[32] (low 8 bits of 32 indices into the 2048-entry grid) | u16
// qh[8]: per group g, bits 3r..3r+2 the index's bits 8-10 for run r, bits 12-14 the scale s,
// bit 15 the sign of the shift; value = d * (2s + 1) * (grid + shift), shift = +-0.125.
void decode_iq1_s(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kIq1_SBytes) {
    const float d = load_f16(src);
    const std::uint8_t* qs = src + 2;
    for (std::ptrdiff_t g = 0; g < 8; ++g) {
      const unsigned qh = load_u16(src + 2 + 32 + 2 * g);
      const float dl = d * static_cast<float>(2 * ((qh >> 12) & 7u) + 1);
      const float shift = (qh & 0x8000u) ? -kIq1Delta : kIq1Delta;
      for (int r = 0; r < 4; ++r, dst += 8) {
        const std::uint64_t grid = kIq1sGrid[qs[4 * g + r] | (((qh >> (3 * r)) & 7u) << 8)];
        for (int j = 0; j < 8; ++j)
          dst[j] = dl * (static_cast<float>(static_cast<std::int8_t>(grid_byte(grid, j))) + shift);
      }
    }
  }
}

// IQ1_M (56 bytes): qs[32] | qh[16] | scales[8] (4 x u16). No stored d: the f16 scale's 16 bits
// are the top nibbles of the 4 u16 (u16 k gives bits 4k..4k+3). qh[2g + h] for runs 2h, 2h+1:
// bits 0-2 / 4-6 the index's bits 8-10, bit 3 / 7 the shift's sign. Group g's 3-bit scales
// for runs 0-1 and 2-3 are bits 6(g%2) and 6(g%2)+3 of u16 g/2.
void decode_iq1_m(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kIq1_MBytes) {
    const std::uint8_t* qs = src;
    const std::uint8_t* qh = src + 32;
    unsigned sc[4];
    for (std::ptrdiff_t k = 0; k < 4; ++k) sc[k] = load_u16(src + 48 + 2 * k);
    const auto d_bits = static_cast<std::uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0u) | ((sc[2] >> 4) & 0x0f00u) |
                                                   (sc[3] & 0xf000u));
    const float d = f16_to_f32(d_bits);
    for (int g = 0; g < 8; ++g) {
      const unsigned shift_bits = 6u * static_cast<unsigned>(g % 2);
      const float dl[2] = {d * static_cast<float>(2 * ((sc[g / 2] >> shift_bits) & 7u) + 1),
                           d * static_cast<float>(2 * ((sc[g / 2] >> (shift_bits + 3)) & 7u) + 1)};
      for (int r = 0; r < 4; ++r, dst += 8) {
        const unsigned h = qh[2 * g + r / 2] >> (4 * (r % 2));  // this run's nibble
        const std::uint64_t grid = kIq1sGrid[qs[4 * g + r] | ((h & 7u) << 8)];
        const float shift = (h & 8u) ? -kIq1Delta : kIq1Delta;
        for (int j = 0; j < 8; ++j)
          dst[j] = dl[r / 2] * (static_cast<float>(static_cast<std::int8_t>(grid_byte(grid, j))) + shift);
      }
    }
  }
}

// IQ4_NL (18 bytes): f16 d | qs[16], nibbles laid out as Q4_0 but mapped through the 16
// non-linear levels: value = d * level.
void decode_iq4_nl(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK; ++b, src += kIq4_NlBytes, dst += kQK) {
    const float d = load_f16(src);
    const std::uint8_t* qs = src + 2;
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = d * static_cast<float>(kIq4nlValues[qs[j] & 0x0f]);
      dst[j + kQK / 2] = d * static_cast<float>(kIq4nlValues[qs[j] >> 4]);
    }
  }
}

// IQ4_XS (136 bytes): f16 d | u16 scales_h | scales_l[4] | qs[128]. Group g (32 elements, qs
// bytes 16g..16g+15 laid out as IQ4_NL) has a 6-bit scale: low 4 bits from nibble g%2 of
// scales_l[g/2], high 2 bits from bits 2g..2g+1 of scales_h; value = d * (scale - 32) * level.
void decode_iq4_xs(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kIq4_XsBytes) {
    const float d = load_f16(src);
    const unsigned scales_h = load_u16(src + 2);
    const std::uint8_t* scales_l = src + 4;
    const std::uint8_t* qs = src + 8;
    for (int g = 0; g < 8; ++g, qs += 16, dst += 32) {
      const int ls =
          static_cast<int>(((scales_l[g / 2] >> (4 * (g % 2))) & 0x0fu) | (((scales_h >> (2 * g)) & 3u) << 4));
      const float dl = d * static_cast<float>(ls - 32);
      for (int j = 0; j < 16; ++j) {
        dst[j] = dl * static_cast<float>(kIq4nlValues[qs[j] & 0x0f]);
        dst[j + 16] = dl * static_cast<float>(kIq4nlValues[qs[j] >> 4]);
      }
    }
  }
}

// ---- ternary ---------------------------------------------------------------------------------

namespace {
// TQ1_0 packs 5 trits per byte as a fixed-point fraction: the byte is ceil(t * 256 / 243) for
// the base-3 number t = t0 t1 t2 t3 t4 (t0 most significant). Multiplying by 3^n (mod 256)
// brings trit n to the top, and (q * 3) >> 8 reads it.
float ternary(std::uint8_t byte, int n, float d) {
  static constexpr std::uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const auto q = static_cast<std::uint8_t>(byte * kPow3[n]);
  const int trit = (q * 3) >> 8;  // 0, 1 or 2
  return static_cast<float>(trit - 1) * d;
}
}  // namespace

// TQ1_0 (54 bytes): qs[48] | qh[4] | f16 d, values in {-d, 0, d}. Elements 0-159: trit n of
// qs[m] (m < 32) is element 32n + m; 160-239: trit n of qs[32 + m] (m < 16) is 160 + 16n + m;
// 240-255: trit n of qh[m] (n < 4) is 240 + 4n + m.
void decode_tq1_0(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kTq1_0Bytes) {
    const float d = load_f16(src + 52);
    for (int n = 0; n < 5; ++n)
      for (int m = 0; m < 32; ++m) *dst++ = ternary(src[m], n, d);
    for (int n = 0; n < 5; ++n)
      for (int m = 0; m < 16; ++m) *dst++ = ternary(src[32 + m], n, d);
    for (int n = 0; n < 4; ++n)
      for (int m = 0; m < 4; ++m) *dst++ = ternary(src[48 + m], n, d);
  }
}

// TQ2_0 (66 bytes): qs[64] | f16 d. Element 128h + 32l + m is bits 2l..2l+1 of qs[32h + m],
// minus 1, times d.
void decode_tq2_0(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_K; ++b, src += kTq2_0Bytes) {
    const float d = load_f16(src + 64);
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 4; ++l)
        for (int m = 0; m < 32; ++m) *dst++ = static_cast<float>(((src[32 * h + m] >> (2 * l)) & 3) - 1) * d;
  }
}

// ---- FP4 and 1-/2-bit -------------------------------------------------------------------------

float e8m0_half_to_f32(std::uint8_t e) {
  // 2^(e - 128): subnormal for e < 2 (2^-128 = 0x00200000, 2^-127 = 0x00400000).
  const std::uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<std::uint32_t>(e - 1) << 23);
  float v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

float ue4m3_half_to_f32(std::uint8_t x) {
  // ggml reads the sign bit as part of nothing: 0 and 0x7f (the NaN pattern) give 0.
  if (x == 0 || x == 0x7f) return 0.0f;
  const int exp = (x >> 3) & 0xf;
  const int man = x & 0x7;
  const float raw =
      exp == 0 ? std::ldexp(static_cast<float>(man), -9) : std::ldexp(1.0f + static_cast<float>(man) / 8.0f, exp - 7);
  return raw * 0.5f;
}

// MXFP4 (17 bytes): E8M0 scale e | qs[16], nibbles laid out as Q4_0 (element j low nibble of
// qs[j], element j + 16 high nibble), each an E2M1 code; value = level * 2^(e - 127).
void decode_mxfp4(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK; ++b, src += kMxfp4Bytes, dst += kQK) {
    const float d = e8m0_half_to_f32(src[0]);
    for (int j = 0; j < kQK / 2; ++j) {
      dst[j] = static_cast<float>(kFp4Doubled[src[1 + j] & 0x0f]) * d;
      dst[j + kQK / 2] = static_cast<float>(kFp4Doubled[src[1 + j] >> 4]) * d;
    }
  }
}

// NVFP4 (36 bytes): 4 UE4M3 scales | qs[32]. Sub-block s (16 elements) uses scale s and qs bytes
// 8s..8s+7, laid out as MXFP4 within it.
void decode_nvfp4(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK_Nvfp4; ++b, src += kNvfp4Bytes) {
    for (std::ptrdiff_t s = 0; s < 4; ++s, dst += 16) {
      const float d = ue4m3_half_to_f32(src[s]);
      const std::uint8_t* qs = src + 4 + 8 * s;
      for (int j = 0; j < 8; ++j) {
        dst[j] = static_cast<float>(kFp4Doubled[qs[j] & 0x0f]) * d;
        dst[j + 8] = static_cast<float>(kFp4Doubled[qs[j] >> 4]) * d;
      }
    }
  }
}

// Q1_0 (18 bytes): f16 d | 128 bits, bit j (bit j%8 of byte j/8) set: +d, clear: -d.
void decode_q1_0(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK1_0; ++b, src += kQ1_0Bytes, dst += kQK1_0) {
    const float d = load_f16(src);
    for (int j = 0; j < kQK1_0; ++j) dst[j] = (src[2 + j / 8] >> (j % 8)) & 1 ? d : -d;
  }
}

// Q2_0 (18 bytes): f16 d | 64 x 2 bits (bits 2(j%4).. of byte j/4); value = (q - 1) * d.
void decode_q2_0(const std::uint8_t* src, float* dst, std::int64_t n_elems) {
  for (std::int64_t b = 0; b < n_elems / kQK2_0; ++b, src += kQ2_0Bytes, dst += kQK2_0) {
    const float d = load_f16(src);
    for (int j = 0; j < kQK2_0; ++j) dst[j] = static_cast<float>(((src[2 + j / 4] >> (2 * (j % 4))) & 3) - 1) * d;
  }
}

}  // namespace embstat::ggml
