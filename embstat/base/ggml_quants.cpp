// GGML block decoders, written from the layouts in ggml-common.h and the reference
// dequantize_row_* in ggml-quants.c. Each block is read with memcpy-based loads, so `src` may
// sit at any address (GGUF only aligns whole tensors, and rows of odd-sized blocks are not).
//
// Exactness: every product below is exact in f32 (an f16 scale has 11 significant bits, a 6-bit
// sub-scale and a <= 6-bit quant add at most 12 more) except Q6_K's d*sc*q, which has a single
// rounding whatever the order. So each value has at most one rounding, the same as ggml's with
// or without fused multiply-add, and results are bit-identical to ggml's.
#include "embstat/base/ggml_quants.hpp"

#include <cstddef>
#include <cstring>

#include "embstat/base/dtype.hpp"

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

}  // namespace embstat::ggml
