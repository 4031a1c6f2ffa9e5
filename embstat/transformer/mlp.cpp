#include "embstat/transformer/mlp.hpp"

#include <cmath>

#include "embstat/transformer/linear.hpp"
#include "embstat/transformer/parallel.hpp"

namespace embstat::transformer {

void swiglu_mlp(const Matrix& x, const Matrix& gate, const Matrix& up, const Matrix& down, Matrix& residual) {
  Matrix g(x.n_rows(), gate.n_rows());
  Matrix u(x.n_rows(), up.n_rows());
  linear(x, gate, g);
  linear(x, up, u);
  const std::int64_t n = g.n_rows() * g.n_cols();
  float* gd = g.data();
  const float* ud = u.data();
#pragma omp parallel for schedule(static) if (n >= kParallelMinElements)
  for (std::int64_t i = 0; i < n; ++i) gd[i] = gd[i] / (1.0f + std::exp(-gd[i])) * ud[i];
  linear(g, down, residual, /*accumulate=*/true);
}

}  // namespace embstat::transformer
