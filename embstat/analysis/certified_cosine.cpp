#include "embstat/analysis/certified_cosine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "embstat/analysis/sign_pairs.hpp"
#include "embstat/base/vector_clones.hpp"

namespace embstat {

double float_cosine_error(std::int64_t d) {
  const double du = static_cast<double>(std::max<std::int64_t>(d, 1)) * 0x1p-24;
  if (du >= 0.5) return 2.0;  // no useful bound: every cosine is uncertain
  return du / (1.0 - du) * (1.0 + 0x1p-20) + static_cast<double>(d) * 0x1p-149;
}

EMBSTAT_VECTOR_CLONES bool clamp_cosines_near_zero(float* cos, std::int64_t len, float band) {
  int any = 0;
#pragma omp simd reduction(| : any)
  for (std::int64_t k = 0; k < len; ++k) {
    const float c = clamp_cosine(cos[k]);
    cos[k] = c;
    any |= static_cast<int>(std::fabs(c) <= band);
  }
  return any != 0;
}

float certification_band(std::int64_t d) {
  const double band = float_cosine_error(d) + 1e-6;
  float f = static_cast<float>(band);
  if (static_cast<double>(f) < band) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

double checked_cosine(const float* a, const float* b, std::int64_t d) {
  double value = 0;
  exact_dot_sign(a, b, d, nullptr, &value);
  return std::clamp(value, -1.0, 1.0);
}

float certify_cosine(const float* a, const float* b, std::int64_t d) {
  double value = 0;
  const int sign = exact_dot_sign(a, b, d, nullptr, &value);
  if (sign == 0) return 0.0f;
  const float f = static_cast<float>(std::clamp(value, -1.0, 1.0));
  constexpr float kTiny = std::numeric_limits<float>::denorm_min();
  // The double sum may round to 0 (or past it) where the exact dot is not: keep the exact sign.
  return sign > 0 ? std::max(f, kTiny) : std::min(f, -kTiny);
}

}  // namespace embstat
