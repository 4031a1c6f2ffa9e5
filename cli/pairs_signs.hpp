// `embstat pairs --signs-only`: the exact counts of cos >= 0 and cos < 0 over all pairs from the
// int16 sign pass (embstat/analysis/sign_pairs.hpp), without the fp32 engine's extremes,
// quantiles and histogram: ~1.8x faster by CPU time where the CPU has AVX-512 VNNI (bench/README.md,
// "signs"). cli/verb_pairs.cpp runs the pass per model; this prints the results.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "embstat/analysis/sign_pairs.hpp"
#include "embstat/output/table.hpp"

namespace embstat::cli {

// Which rows one model's `pairs` result is over (the full pass and --signs-only alike).
struct PairsModelRows {
  std::string model;
  std::int64_t rows = 0, rows_used = 0, dim = 0;
  std::int64_t padding_rows = 0, zero_rows = 0, merged_rows = 0, non_finite_rows = 0;
};

// The keys every per-model JSON object of `pairs` starts with: model, rows, dim, rows_used,
// excluded_rows {padding, zero, merged, non_finite}.
nlohmann::ordered_json model_rows_json(const PairsModelRows& r);

struct PairsSigns : PairsModelRows {
  SignPairsResult result;
};

// One table (or CSV / JSON) for all models: pairs, non_negative, negative, fraction_non_negative,
// uncertain (|cos| < 1e-6), mean (the O(n d) identity), and how many pairs the int16 bound sent
// to the rechecks (rechecked, double_checked, exact_fallback).
void print_pairs_signs(const std::vector<PairsSigns>& rows, OutputFormat format, std::ostream& out);

}  // namespace embstat::cli
