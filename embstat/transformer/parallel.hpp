// When the forward pass's element-wise loops and attention heads are worth a parallel region:
// below this many elements (or multiply-adds) a team's start-up and spin cost more than the work,
// and greedy decoding of a small model calls the pass hundreds of times.
#pragma once

#include <cstdint>

namespace embstat::transformer {

inline constexpr std::int64_t kParallelMinElements = std::int64_t{1} << 18;

}  // namespace embstat::transformer
