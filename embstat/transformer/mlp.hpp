// The SwiGLU MLP of the llama family: down(silu(gate(x)) * up(x)).
#pragma once

#include "embstat/matrix/matrix.hpp"

namespace embstat::transformer {

// residual += down(silu(gate(x)) * up(x)); weights [intermediate, hidden] and [hidden, intermediate].
void swiglu_mlp(const Matrix& x, const Matrix& gate, const Matrix& up, const Matrix& down, Matrix& residual);

}  // namespace embstat::transformer
