// y = x W^T for a weight W stored as [out, in] rows (every format here stores it so), in f32 with
// sgemm: x is n x in, y is n x out.
#pragma once

#include "embstat/matrix/matrix.hpp"

namespace embstat::transformer {

// y = x W^T (+ y when accumulate): the residual additions use accumulate.
void linear(const Matrix& x, const Matrix& weight, Matrix& y, bool accumulate = false);

}  // namespace embstat::transformer
