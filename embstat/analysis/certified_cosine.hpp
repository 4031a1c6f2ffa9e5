// What a float32 cosine may differ by between machines, and how the engines make the numbers
// that must not differ (signs, counts, extremes) the same everywhere.
//
// Error bound. The engines compute u_i . u_j of float32 unit rows with BLAS (sgemm, ssyrk,
// sgemv), whose kernels sum the d products in an order that depends on the CPU's kernel
// (OPENBLAS_CORETYPE), the tile shape and the thread split, with or without fused multiply-adds.
// For any such order (Higham, "Accuracy and Stability of Numerical Algorithms", eq. 3.5):
//     |fl(u . v) - u . v|  <=  gamma_d sum_k |u_k v_k|  <=  gamma_d ||u|| ||v||,
//     gamma_d = d 2^-24 / (1 - d 2^-24).
// Unit rows are float roundings of x / ||x|| (norms within 2^-23 of 1), and products that
// underflow lose at most 2^-149 each, so float_cosine_error(d) = gamma_d (1 + 2^-20) + d 2^-149
// bounds the distance between any two machines' float cosine of a pair and the exact one.
// At d = 1,024 it is 6.1e-5; at 4,096, 2.4e-4. Typical differences are a few float ulps.
//
// Certification. A cosine whose float value lies within the bound of 0 may have either sign on
// another machine; certify_cosine() replaces it by the double-precision dot of the two rows
// (exact products, summed in a fixed order: the same bits on every CPU) rounded to float, with
// the sign of the exact real dot (sign_pairs.hpp, exact_dot_sign): 0 when the rows are exactly
// orthogonal, which counts as non-negative. Signs, and so every count, are then the same on
// every machine.
//
// Reported cosines are clamped to [-1, 1]: the cosine of two real vectors is, even where the
// rounding of unit rows makes u . u = 1.0000001.
#pragma once

#include <cmath>
#include <cstdint>

namespace embstat {

// The bound above, for rows of dimension d (>= 2 when d is absurdly large: everything uncertain).
double float_cosine_error(std::int64_t d);

// Cosines within this of 0 are certified: the error bound plus 1e-6, so that `uncertain`
// (|cos| < 1e-6) is decided on certified values too. Rounded up to a float.
float certification_band(std::int64_t d);

// The double-precision dot of a and b (d floats each; products exact, summed in a fixed order,
// the same bits on every CPU), clamped to [-1, 1].
double checked_cosine(const float* a, const float* b, std::int64_t d);

// The certified float cosine of unit rows a and b: checked_cosine rounded to float, carrying
// the sign of the exact real dot (+0 when it is exactly 0).
float certify_cosine(const float* a, const float* b, std::int64_t d);

inline float clamp_cosine(float c) {
  return c < -1.0f ? -1.0f : (c > 1.0f ? 1.0f : c);
}

// Clamps cos[0, len) to [-1, 1]; true when any value is within `band` of 0. The one sweep over
// every pair of every tile, so it is compiled per vector level (vector_clones.hpp); its results
// are exact (a clamp and a comparison), the same at every level.
bool clamp_cosines_near_zero(float* cos, std::int64_t len, float band);

// Clamps cos[0, len) to [-1, 1] and replaces every value within `band` of 0 by exact(k) (a
// certified cosine). Returns how many were replaced.
template <class Exact>
std::int64_t certify_cosines(float* cos, std::int64_t len, float band, Exact&& exact) {
  if (!clamp_cosines_near_zero(cos, len, band)) return 0;
  std::int64_t replaced = 0;
  for (std::int64_t k = 0; k < len; ++k)
    if (std::fabs(cos[k]) <= band) {
      cos[k] = exact(k);
      ++replaced;
    }
  return replaced;
}

}  // namespace embstat
