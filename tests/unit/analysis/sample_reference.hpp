// The independent reference for the sampled statistic: one target at a time, in double precision,
// on the rows as given (not normalised first), median by full sort (torch.median's lower middle).
// Shared by sampled_test.cpp (f32 RowSet path) and sampled_bf16_test.cpp (bf16 kernel path).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "embstat/analysis/sampled.hpp"

namespace embstat::testing_ref {

struct Reference {
  double min = 0, max = 0, mean = 0, median = 0;
  std::int64_t non_negative = 0, negative = 0;
  std::int64_t near_zero = 0;  // |cos| < 1e-5: float may settle the sign differently
};

// Target row `id` of an n_rows x d matrix (value(i, k) gives entry k of row i) against every
// other row j < n_rows with a finite non-zero norm.
template <class Value>
Reference brute_force(std::int64_t n_rows, std::int64_t d, const Value& value, std::int64_t id) {
  auto norm = [&](std::int64_t i) {
    double s = 0;
    for (std::int64_t k = 0; k < d; ++k) s += static_cast<double>(value(i, k)) * value(i, k);
    return std::sqrt(s);
  };
  const double nt = norm(id);
  std::vector<double> cos;
  for (std::int64_t j = 0; j < n_rows; ++j) {
    const double nj = norm(j);
    if (j == id || !(nj > 0) || !std::isfinite(nj)) continue;
    double dot = 0;
    for (std::int64_t k = 0; k < d; ++k) dot += static_cast<double>(value(id, k)) * value(j, k);
    cos.push_back(dot / (nt * nj));
  }
  Reference r;
  std::sort(cos.begin(), cos.end());
  r.min = cos.front();
  r.max = cos.back();
  double sum = 0;
  for (double c : cos) {
    sum += c;
    (c >= 0 ? r.non_negative : r.negative) += 1;
    r.near_zero += std::abs(c) < 1e-5;
  }
  r.mean = sum / static_cast<double>(cos.size());
  r.median = cos[(cos.size() - 1) / 2];
  return r;
}

inline void expect_matches(const TargetStats& t, const Reference& r) {
  SCOPED_TRACE("target id " + std::to_string(t.id));
  EXPECT_NEAR(t.min, r.min, 2e-6);
  EXPECT_NEAR(t.max, r.max, 2e-6);
  EXPECT_NEAR(t.mean, r.mean, 1e-6);
  EXPECT_NEAR(t.median, r.median, 2e-6);
  EXPECT_LE(std::abs(t.non_negative - r.non_negative), r.near_zero);
  EXPECT_EQ(t.non_negative + t.negative, r.non_negative + r.negative);
}

}  // namespace embstat::testing_ref
