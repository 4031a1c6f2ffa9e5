#include "embstat/transformer/linear.hpp"

#include "embstat/analysis/blas.hpp"
#include "embstat/base/error.hpp"

namespace embstat::transformer {

void linear(const Matrix& x, const Matrix& weight, Matrix& y, bool accumulate) {
  if (x.n_cols() != weight.n_cols() || y.n_rows() != x.n_rows() || y.n_cols() != weight.n_rows())
    throw Error(ErrorKind::Internal, "", "linear: shapes do not match");
  blas::gemm_abt(x.n_rows(), weight.n_rows(), x.n_cols(), x.data(), x.n_cols(), weight.data(), weight.n_cols(),
                 y.data(), y.n_cols(), accumulate ? 1.0f : 0.0f);
}

}  // namespace embstat::transformer
