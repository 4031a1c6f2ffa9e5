#include "embstat/transformer/rms_norm.hpp"

#include <cmath>

#include "embstat/transformer/parallel.hpp"

namespace embstat::transformer {

void rms_norm(const Matrix& x, std::span<const float> weight, double eps, Matrix& out) {
  const std::int64_t d = x.n_cols();
#pragma omp parallel for schedule(static) if (x.n_rows() * d >= kParallelMinElements)
  for (std::int64_t r = 0; r < x.n_rows(); ++r) {
    const float* in = x.row(r);
    double sum = 0;
    for (std::int64_t k = 0; k < d; ++k) sum += static_cast<double>(in[k]) * in[k];
    const auto scale = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(d) + eps));
    float* o = out.row(r);
    for (std::int64_t k = 0; k < d; ++k) o[k] = in[k] * scale * weight[static_cast<std::size_t>(k)];
  }
}

}  // namespace embstat::transformer
