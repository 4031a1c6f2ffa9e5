// bf16 kernels — products straight from bf16 rows (most Hugging Face checkpoints), on CPUs with
// AVX512-BF16.
//
// VDPBF16PS multiplies pairs of bf16 values exactly and adds them into f32 lanes: the arithmetic
// of sgemm on the decoded rows (exact products, f32 sums), at twice its multiplies per
// instruction, from half the bytes, with no packed copy of the rows. Two shapes:
//   bf16_dots:               rows x vectors dot products (the sampled statistic's cosines; the
//                            covariance spectrum's X Q^T);
//   bf16_weighted_row_sums:  sum_i w_ij row_i for a few weight columns j (the spectrum's X^T Y).
// Callers check bf16_kernel_available() first and keep an f32 path for other CPUs.
#pragma once

#include <cstdint>
#include <vector>

namespace embstat {

// True when this CPU has AVX512-BF16 (and AVX512-BW) and the environment variable
// EMBSTAT_NO_BF16_KERNEL is unset or "0". Set EMBSTAT_NO_BF16_KERNEL=1 to force the f32 paths.
bool bf16_kernel_available();

// The row norms for which the products are as accurate as sgemm on the decoded rows. VDPBF16PS
// sums in f32 and flushes subnormal inputs and products to zero, whatever MXCSR says: with both
// rows' norms in [2^-32, 2^32] every partial sum is at most 2^64 (Cauchy-Schwarz), far from
// overflow, and the flushed values (each below 2^-126) move a product of norms >= 2^-64 by at
// most d 2^-62 relative. Rows outside (all values below ~1e-10 or above ~1e9) go to the f32 paths;
// embedding tables have norms between about 1e-3 and 1e3.
inline constexpr double kBf16MinNorm = 0x1p-32;
inline constexpr double kBf16MaxNorm = 0x1p32;
inline bool bf16_norms_in_range(double min_norm, double max_norm) {
  return min_norm >= kBf16MinNorm && max_norm <= kBf16MaxNorm;
}

// Sum of squares of d bf16 values, in double.
double squared_norm_bf16(const std::uint16_t* p, std::int64_t d);

// Vectors for bf16_dots: n rows of d values, zero-padded to a multiple of kBf16DotVectors rows and
// of 32 columns (d32), so the kernel never reads past them.
inline constexpr std::int64_t kBf16DotVectors = 6;
struct Bf16Vectors {
  std::vector<std::uint16_t> bits;  // padded x d32
  std::int64_t n = 0, padded = 0, d32 = 0;
};
Bf16Vectors pack_bf16_vectors(std::int64_t n, std::int64_t d);  // zeros, to be filled row by row

// out[j * ld_vec + i * ld_row] = (row_i . vector_j) * vec_scale[j] * row_scale[i] for the n_rows
// rows at `rows` (stride row_bytes, d bf16 each) and the vectors; a null scale is 1.
void bf16_dots(const Bf16Vectors& vectors, const float* vec_scale, const std::uint8_t* rows, std::uint64_t row_bytes,
               const float* row_scale, std::int64_t n_rows, std::int64_t d, float* out, std::int64_t ld_vec,
               std::int64_t ld_row);

// Weights for bf16_weighted_row_sums, rows taken in pairs: pairs[p * padded + j] holds w_{2p, j}
// in its low half and w_{2p+1, j} in its high half (bf16 bits; 0 past the rows or columns).
inline constexpr std::int64_t kBf16SumColumns = 12;
struct Bf16WeightPairs {
  std::vector<std::uint32_t> pairs;  // ceil(n_rows / 2) x padded
  std::int64_t n_rows = 0, n = 0, padded = 0;
  void assign(std::int64_t rows, std::int64_t columns);  // all zero
  void set(std::int64_t i, std::int64_t j, std::uint16_t w) {
    std::uint32_t& p = pairs[static_cast<std::size_t>((i / 2) * padded + j)];
    p = i % 2 == 0 ? (p & 0xffff0000u) | w : (p & 0xffffu) | (std::uint32_t{w} << 16);
  }
};

// out[j * d + k] = sum_i w_ij row_i[k] for the weights' n columns j and their n_rows rows at
// `rows` (stride row_bytes, d bf16 each); f32 sums in row order.
void bf16_weighted_row_sums(const std::uint8_t* rows, std::uint64_t row_bytes, std::int64_t d,
                            const Bf16WeightPairs& weights, float* out);

}  // namespace embstat
