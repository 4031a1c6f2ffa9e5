// Spectrum — the top of a covariance spectrum without forming the d x d covariance.
//
// The exact covariance of n rows costs n d^2 (one ssyrk pass: about 40 s at 262,208 x 5,376 on
// two cores). What `geometry` needs from it is the top K eigenvalues, the top D eigenvectors,
// the trace and the Frobenius norm (IsoScore needs only those two moments, see
// isoscore_from_moments). randomized_spectrum() gets them in O(n d w) per pass, w = D + p:
//   - top eigenpairs: randomized block Krylov iteration with Rayleigh-Ritz (Musco & Musco 2015,
//     "Randomized Block Krylov Methods for Stronger and Faster Approximate Singular Value
//     Decomposition", NeurIPS; Halko, Martinsson & Tropp 2011, SIAM Review): a Gaussian block
//     Q_1 of w vectors, Q_{j+1} = orth(C Q_j) against all blocks so far, and Rayleigh-Ritz on
//     the whole basis [Q_1 ... Q_p] (p w vectors) -- far closer to the true eigenpairs than
//     subspace iteration for the same passes. Each product C Q = X_c^T (X_c Q) / n is computed
//     from the rows (two sgemm per chunk of rows, 4 n d w FLOP), never from C. Ritz values
//     are lower bounds of the true eigenvalues (Cauchy interlacing); the residuals
//     |C v - theta v| say how far from converged they are.
//   - |C|_F^2 by Hutch++ (Meyer, Musco, Musco & Woodruff 2021, "Hutch++: Optimal Stochastic
//     Trace Estimation", SOSA): |C|_F^2 = |C K^T|_F^2 + |C (I - K^T K)|_F^2 for the basis K,
//     the first term exact, the second estimated from s Gaussian probes projected off K (their
//     products ride along in the last pass), with its standard error.
// Deterministic for a seed; independent of the thread count (chunks in order, BLAS splits no
// reduction). Works on any RowSet (rows = vectors), not only embedding tables.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "embstat/analysis/row_set.hpp"
#include "embstat/base/progress.hpp"
#include "embstat/matrix/matrix.hpp"

namespace embstat {

struct SpectrumOptions {
  std::int64_t wanted = 10;      // eigenpairs needed (top max(K, D))
  std::int64_t oversample = 16;  // extra vectors per block: w = wanted + oversample (<= d)
  int passes = 4;                // products with C (the first is the range finder), >= 1
  std::int64_t probes = 32;      // Hutch++ probes for the Frobenius tail (0: no estimate of it)
  std::uint64_t seed = 0;
  std::optional<double> trace;  // (1/n) sum |x_i - mu|^2 when the caller has it (saves a pass)
  // The rows are multiplied by this power of two before every product (analysis_scale: rows of
  // extreme norm stay in f32's range); mu and trace are then those of the scaled rows, and so are
  // the results. The bf16 path takes only 1 (Error(Internal) otherwise).
  double scale = 1.0;
  // The raw rows as stored, when they are bf16 (a bf16 checkpoint's tensor), indexed by model row
  // id like RowSet::ids: with bf16_kernel_available() the products then read them with the bf16
  // kernels (bf16_kernels.hpp), 1.6-2.1x faster than sgemm on the f32 unit rows. Each block is
  // rounded to bf16 before its product and kept as rounded (the basis is exactly what was
  // multiplied; a Cholesky factor of its Gram matrix makes it orthonormal). X_c Q^T is exact (f32
  // sums) and kept, n x (passes w + probes) floats, for the Rayleigh-Ritz matrix; the second
  // product takes it rounded to bf16 (2^-9), so C Q is approximate: it grows the Krylov space and
  // gives the residuals and |C K^T|_F's part outside the basis, never the Ritz values.
  const MatrixView* bf16_rows = nullptr;
  // The number of top Ritz vectors v_j whose centred row projections (x_i - mu) . v_j are wanted
  // (RandomizedSpectrum::projections; at most `wanted`). They come from the products the passes
  // stored (X_c K^T for the basis K, times the Ritz coefficients), so the caller needs no pass of
  // its own over the rows against the vectors; the f32 path then keeps its products too.
  std::int64_t row_projections = 0;
  ProgressFn progress;  // fraction of the passes done, in [0, 1]
};

struct RandomizedSpectrum {
  std::vector<double> values;        // Ritz values, descending (basis size of them)
  std::vector<double> vectors;       // `wanted` Ritz vectors, row-major wanted x d, descending
  std::vector<double> residuals;     // |C v_j - theta_j v_j| for the wanted pairs
  std::vector<float> projections;    // n x row_projections, by row position: (x_i - mu) . v_j
  double trace = 0;                  // exact: (1/n) sum |x_i - mu|^2
  double frobenius_sq = 0;           // |C|_F^2 estimate (exact part + tail estimate)
  double frobenius_sq_se = 0;        // standard error of the tail estimate (0 with no tail)
  double captured_frobenius_sq = 0;  // |C Q|_F^2: the exact part
  std::int64_t block = 0;            // w: vectors per pass
  std::int64_t basis = 0;            // Krylov basis size (passes x w, at most d)
  std::int64_t probes = 0;
  int passes = 0;     // passes made (fewer than asked when the basis reached d)
  bool bf16 = false;  // the products read options.bf16_rows with the bf16 kernels
};

// C = (1/n) sum_i (x_i - mu)(x_i - mu)^T over the RowSet's raw rows (norm_i * unit_i), mu the
// exact mean row (double, d entries). Throws Error(Usage) for wanted < 1 or passes < 1.
RandomizedSpectrum randomized_spectrum(const RowSet& rows, const std::vector<double>& mu,
                                       const SpectrumOptions& options);

// IsoScore (Rudman et al. 2022) from the two moments of the eigenvalues it depends on: with
// lambda^ = sqrt(d) lambda / |lambda|, sum lambda^2 = |C|_F^2 and sum lambda = trace C,
// |lambda^ - 1|^2 = 2 d - 2 sqrt(d) trace / |C|_F, so no eigen-decomposition is needed (the
// formula reduces to (PR - 1) / (d - 1), PR = trace^2 / |C|_F^2 the participation ratio).
// Equal to isoscore(eigenvalues) for nonnegative eigenvalues. d >= 2.
double isoscore_from_moments(std::int64_t d, double trace, double frobenius);

}  // namespace embstat
