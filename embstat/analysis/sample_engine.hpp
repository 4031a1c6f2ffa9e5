// Internal: the part of the sampled statistic that does not depend on how rows are stored.
//
// A "column" is a row of the matrix as the cosine kernel indexes it (a RowSet position, or a
// model row id when the kernel reads the encoded matrix directly). The engine asks a producer for
// tiles of cosines, targets x columns [c0, c1), reduces each tile while hot (min, max, sum,
// counts; the target's own column and the `skip` columns left out), keeps each target's cosines
// for its median, and averages over targets. Used by sampled.cpp and sampled_bf16.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "embstat/analysis/sampled.hpp"

namespace embstat::detail {

// Writes cos(target k0 + k, column c) to out[k * ldc + (c - c0)] for every target of the pass and
// c in [c0, c1). Called from several threads at once, on disjoint column ranges.
using FillTile = std::function<void(std::int64_t c0, std::int64_t c1, float* out, std::int64_t ldc)>;

struct SampleProblem {
  std::int64_t n_cols = 0;
  const std::vector<std::int64_t>* skip = nullptr;  // sorted columns that are not rows of the statistic
  std::vector<std::int64_t> self;                   // per target, its own column
  std::vector<std::int64_t> ids;                    // per target, its model row id (reported)
  // The producer for targets [k0, k1) (one pass; several when the cosines would not fit).
  std::function<FillTile(std::int64_t k0, std::int64_t k1)> make_fill;
  // Cosines within `band` of 0 are replaced by certify(target k, column c), the certified cosine
  // (certified_cosine.hpp), so that signs and counts are the same on every machine. Without
  // it, cosines are only clamped to [-1, 1].
  std::function<float(std::int64_t k, std::int64_t c)> certify;
  float band = -1.0f;
};

SampleSummary run_sample(const SampleProblem& problem, const SampleOptions& options);

// Error(Usage) unless there are two rows and a target.
void check_sample_size(std::int64_t n_used, std::int64_t n_total, std::size_t n_targets);

// Why model row `id` is not a row of the statistic (see why_not_in).
struct ExcludedLists {
  const std::vector<std::int64_t>& zero;
  const std::vector<std::int64_t>& non_finite;
  const std::vector<std::int64_t>& padding;
  const std::vector<std::int64_t>& merged;
};
std::string why_excluded(std::int64_t id, std::int64_t n_total, const ExcludedLists& excluded);

}  // namespace embstat::detail
