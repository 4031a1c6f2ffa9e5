// ProgressFn — how long-running kernels report progress without knowing about terminals.
#pragma once

#include <functional>

namespace embstat {

// Called with the fraction done in [0, 1], from the thread that started the kernel.
using ProgressFn = std::function<void(double fraction)>;

}  // namespace embstat
