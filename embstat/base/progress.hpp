// ProgressFn — how long-running kernels report progress without knowing about terminals.
#pragma once

#include <functional>

namespace embstat {

// Called with the fraction done in [0, 1], from the thread that started the kernel.
using ProgressFn = std::function<void(double fraction)>;

// `progress` for a part of a kernel that covers [p0, p1] of it: fraction f of the part is
// p0 + (p1 - p0) f of the whole. Empty when `progress` is.
inline ProgressFn progress_between(const ProgressFn& progress, double p0, double p1) {
  if (!progress) return {};
  return [progress, p0, p1](double f) { progress(p0 + (p1 - p0) * f); };
}

}  // namespace embstat
