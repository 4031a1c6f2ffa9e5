// RMSNorm: y = x / sqrt(mean(x^2) + eps) * weight, per row (the mean of squares in double).
#pragma once

#include <cstdint>
#include <span>

#include "embstat/matrix/matrix.hpp"

namespace embstat::transformer {

// out (n_rows x d) = rms_norm of each row of x with `weight` (d values). out may be x.
void rms_norm(const Matrix& x, std::span<const float> weight, double eps, Matrix& out);

}  // namespace embstat::transformer
