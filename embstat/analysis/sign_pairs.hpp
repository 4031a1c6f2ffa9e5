// Exact signs of all pair cosines from an int16 pass with a proven error bound (issue 4, stretch).
//
// Each unit row u_i (RowSet) is quantised to int16, q_i = round(s_i u_i), with a per-row scale s_i.
// The int32 dot products q_i . q_j are exact (no overflow: see sign_pairs.cpp, "Scale"); with
// e_i = q_i - s_i u_i, Cauchy-Schwarz bounds
//
//     | q_i . q_j - s_i s_j (u_i . u_j) |  <=  s_i ||u_i|| ||e_j|| + s_j ||u_j|| ||e_i|| + ||e_i|| ||e_j||  =  T_ij
//
// using each row's actual error norm ||e_i|| (not just the worst case 0.5 sqrt(d)). Where
// |q_i . q_j| > T_ij, the sign of q_i . q_j is the sign of u_i . u_j (s_i s_j > 0). The other pairs
// (|cos| within ~2 ||e|| / s of 0: ~4e-4 for d = 1,024) are rechecked: first from the residual
// e_i, itself quantised to int16 (two more exact dot products, bound ~1.5e-7 in cosine); what that
// leaves, by a double-precision dot of the f32 unit rows with its own rounding bound; and where
// even that cannot tell, by an exact fixed-point sum of the products. The counts are therefore the
// exact signs of the real dot products of the f32 unit rows — the same as a double-precision brute
// force wherever its rounding does not decide (|cos| above ~d 2^-53), and exact where it would.
//
// The fp32 engine (all_pairs.hpp) counts the signs of the float32 cosines the sgemm computed; the
// two agree except on pairs with |cos| below float32 rounding (~d 2^-24), which all_pairs reports
// as `uncertain`.
//
// Work: rows are quantised block by block as the tiles need them (never an n x d int16 copy:
// memory is the f32 rows + O(n) + ~5 blocks per thread: 5 MiB at d = 1,024), the dot products of
// a tile come from a register-blocked AVX-512 VNNI (vpdpwssd), AVX2 (vpmaddwd) or scalar kernel,
// all exact integer arithmetic, so every kernel, thread count and block size gives the same
// results, the numbers of rechecked pairs included.
#pragma once

#include <cstdint>
#include <vector>

#include "embstat/analysis/all_pairs.hpp"
#include "embstat/analysis/row_set.hpp"
#include "embstat/base/progress.hpp"

namespace embstat {

// Rows per tile side: a 512-row int16 block of d = 1,024 is 1 MiB, quantised once per tile (its
// cost, ~8 / kSignBlockRows of the tile's, is why blocks are not smaller); the kernel walks the
// column block in 64-row panels that stay in the 1 MiB L2 while every tile row passes.
inline constexpr std::int64_t kSignBlockRows = 512;
inline constexpr std::int64_t kMaxSignBlockRows = 4096;

struct SignPairsOptions {
  bool per_row = false;                  // also per row: cos < 0 count and the exact mean cosine to the others
  std::int64_t block_rows = 0;           // 0 = kSignBlockRows; 1 .. kMaxSignBlockRows
  int n_threads = 0;                     // 0 = omp_get_max_threads()
  PairKernel kernel = PairKernel::Auto;  // Avx512 = AVX-512 VNNI; Auto honours EMBSTAT_KERNEL like all_pairs
  ProgressFn progress;
};

struct SignPairsResult {
  std::int64_t n_rows = 0;
  std::uint64_t pairs = 0, non_negative = 0, negative = 0;  // exact signs of u_i . u_j, i < j
  double fraction_non_negative = 0;
  // Pairs with |cos| < 1e-6 (double-precision cosine): the ones all_pairs calls `uncertain`
  // (every such pair is rechecked, so the count is exact up to double rounding).
  std::uint64_t uncertain = 0;
  std::uint64_t rechecked = 0;       // pairs whose int16 dot was within its bound of 0 (second level)
  std::uint64_t double_checked = 0;  // of those, pairs the second level left: double dot of the f32 rows
  std::uint64_t exact_fallback = 0;  // of those, pairs the double dot could not settle: exact sum
  double max_bound = 0;              // >= every pair's first-level cosine bound T_ij / (s_i s_j)
  double max_bound_second = 0;       // >= every pair's second-level cosine bound
  double mean = 0;                   // mean cosine over all pairs, O(n d) identity (mean_pair_dot)
  // per_row only, indexed like the RowSet: how many other rows each has cos < 0 with (exact), and
  // its mean cosine to all others, (u_i . sum_j u_j - ||u_i||^2) / (n - 1) in double.
  std::vector<std::int64_t> row_negative;
  std::vector<double> row_mean;
  const char* kernel = "";  // the kernel that ran
};

// Throws Error(Usage) when rows has fewer than 2 rows or an option is out of range.
SignPairsResult sign_pairs(const RowSet& rows, const SignPairsOptions& options = {});

// --- Pieces, exposed for tests and benchmarks -----------------------------------------------

// Per-row quantisation parameters of `unit` (n x d, row-major, rows of norm ~1 and finite):
// q_i = rne(scale[i] (x) u_i), rne = round to nearest even, (x) float multiplication; the residual
// f_i = rne(residual_scale[i] (x) e'_i) with e'_i = q_i - fl(scale[i] u_i) (sign_pairs.cpp,
// "Second level"). Upper bounds (float, rounded up), in the int16 units of q_i:
//   scaled_norm >= ||s_i u_i||, error_norm >= ||e_i|| (e_i = q_i - s_i u_i), quantised_norm >=
//   ||q_i||, residual_error >= ||e_i - f_i / t_i||.
// Every row has ||q_i||^2, ||f_i||^2 <= 2^31 - 1 and all |q_ik|, |f_ik| <= 32767.
struct Int16Scales {
  std::vector<float> scale, residual_scale;
  std::vector<float> scaled_norm, error_norm, quantised_norm, residual_error;
};
Int16Scales int16_scales(const Matrix& unit);

// Row stride of quantised blocks: d rounded up to a multiple of 32 int16 (64 bytes), zero padded.
std::int64_t int16_stride(std::int64_t d);

// q[r * stride + k] (and f[r * stride + k] unless f is null) for rows [row_begin, row_end) of
// unit, the pad zeroed. q, f: 32-byte aligned.
void quantise_int16(PairKernel kernel, const Matrix& unit, const Int16Scales& scales, std::int64_t row_begin,
                    std::int64_t row_end, std::int16_t* q, std::int16_t* f, std::int64_t stride);

// out[r * ld + c] = a_r . b_c (exact int32) for r < m, c < n; a: m x stride, b: n x stride int16,
// 64-byte aligned, stride a multiple of 32, rows' squared norms <= 2^31 - 1 (no overflow).
void int16_dots(PairKernel kernel, const std::int16_t* a, std::int64_t m, const std::int16_t* b, std::int64_t n,
                std::int64_t stride, std::int32_t* out, std::int64_t ld);

// The sign (-1, 0, +1) of the exact real number sum_k a[k] b[k] (finite floats; d < 2^31): a
// double sum where its rounding bound settles it, else an exact fixed-point sum of the products.
// `exact` (if not null) is set when the fixed-point sum was needed; `value` (if not null)
// receives the double sum (exact products added in a fixed tree: the same bits on every CPU and
// kernel).
int exact_dot_sign(const float* a, const float* b, std::int64_t d, bool* exact = nullptr, double* value = nullptr);

// The int16 kernel that runs when `wanted` is asked for (Auto -> EMBSTAT_KERNEL, else the best
// this CPU has; Avx512 needs AVX-512 F/DQ/BW/VL and VNNI; a missing one falls back to the next).
PairKernel resolve_sign_kernel(PairKernel wanted);
const char* sign_kernel_name(PairKernel kernel);  // scalar, avx2, avx512-vnni

}  // namespace embstat
