#include "embstat/analysis/layer_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "embstat/analysis/row_set.hpp"
#include "embstat/base/error.hpp"

namespace embstat {

namespace {

double cosine(std::span<const double> a, std::span<const double> b) {
  double dot = 0, na = 0, nb = 0;
  for (std::size_t k = 0; k < a.size(); ++k) {
    dot += a[k] * b[k];
    na += a[k] * a[k];
    nb += b[k] * b[k];
  }
  return na > 0 && nb > 0 ? dot / std::sqrt(na * nb) : 0;
}

// Per dimension k: ((sum_i u_ik)^2 - sum_i u_ik^2) / (n (n - 1)), the mean over pairs i != j of
// u_ik u_jk; these add up to the mean pairwise cosine.
std::vector<double> dimension_contributions(const Matrix& unit) {
  const std::int64_t n = unit.n_rows(), d = unit.n_cols();
  std::vector<double> sum(static_cast<std::size_t>(d)), squares(static_cast<std::size_t>(d));
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < d; ++k) {
      const double u = unit.row(i)[k];
      sum[static_cast<std::size_t>(k)] += u;
      squares[static_cast<std::size_t>(k)] += u * u;
    }
  std::vector<double> out(static_cast<std::size_t>(d));
  const double pairs = static_cast<double>(n) * static_cast<double>(n - 1);
  for (std::size_t k = 0; k < out.size(); ++k) out[k] = (sum[k] * sum[k] - squares[k]) / pairs;
  return out;
}

}  // namespace

std::vector<double> mean_row(const Matrix& states) {
  std::vector<double> mean(static_cast<std::size_t>(states.n_cols()));
  for (std::int64_t i = 0; i < states.n_rows(); ++i)
    for (std::int64_t k = 0; k < states.n_cols(); ++k) mean[static_cast<std::size_t>(k)] += states.row(i)[k];
  for (double& m : mean) m /= static_cast<double>(std::max<std::int64_t>(states.n_rows(), 1));
  return mean;
}

LayerStatistics layer_statistics(const Matrix& states, std::span<const double> embedding_mean,
                                 const LayerStatisticsOptions& options) {
  const std::int64_t n = states.n_rows(), d = states.n_cols();
  LayerStatistics s;
  const std::vector<double> mean = mean_row(states);
  double norm_sum = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    double sq = 0;
    for (std::int64_t k = 0; k < d; ++k) {
      const float v = states.row(i)[k];
      sq += static_cast<double>(v) * v;
      if (std::fabs(v) > std::fabs(s.max_abs_activation.value)) s.max_abs_activation = {v, k, i};
    }
    norm_sum += std::sqrt(sq);
  }
  double mean_norm = 0;
  for (double m : mean) mean_norm += m * m;
  s.mean_norm_ratio = norm_sum > 0 ? std::sqrt(mean_norm) / (norm_sum / static_cast<double>(n)) : 0;
  s.mean_direction_vs_embedding = cosine(mean, embedding_mean);

  AllPairsOptions pair_options;
  pair_options.n_threads = options.n_threads;
  const RowSet rows = make_row_set(states.clone(), {});
  if (rows.size() < 2) throw_usage("fewer than two hidden states of non-zero norm: no pairs to compare");
  const AllPairsResult all = all_pairs(rows, pair_options);
  s.rows = rows.size();
  s.fraction_non_negative = all.fraction_non_negative;
  s.mean_cosine = all.mean;
  s.min = all.min;
  s.max = all.max;
  s.median = all.median;

  const std::vector<double> contributions = dimension_contributions(rows.unit);
  double total = 0;
  for (double c : contributions) total += c;
  std::vector<std::int64_t> order(static_cast<std::size_t>(d));
  for (std::int64_t k = 0; k < d; ++k) order[static_cast<std::size_t>(k)] = k;
  const auto n_rogue = std::min<std::int64_t>(options.n_rogue, d);
  std::partial_sort(order.begin(), order.begin() + n_rogue, order.end(), [&](std::int64_t a, std::int64_t b) {
    return contributions[static_cast<std::size_t>(a)] > contributions[static_cast<std::size_t>(b)];
  });
  for (std::int64_t r = 0; r < n_rogue; ++r) {
    const std::int64_t k = order[static_cast<std::size_t>(r)];
    s.rogue_dimensions.push_back({k, total != 0 ? contributions[static_cast<std::size_t>(k)] / total : 0});
  }

  Matrix centered = states.clone();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < d; ++k)
      centered.row(i)[k] = static_cast<float>(centered.row(i)[k] - mean[static_cast<std::size_t>(k)]);
  const RowSet centered_rows = make_row_set(std::move(centered), {});
  pair_options.quantiles = false;
  s.fraction_non_negative_centered =
      centered_rows.size() >= 2 ? all_pairs(centered_rows, pair_options).fraction_non_negative : std::nan("");
  return s;
}

std::vector<std::int64_t> rows_after_first_positions(const RowProvenance& provenance) {
  std::vector<std::int64_t> keep;
  for (std::int64_t r = 0; r < provenance.size(); ++r)
    if (provenance.origin(r).position.value_or(1) != 0) keep.push_back(r);
  return keep;
}

Matrix select_rows(const Matrix& states, std::span<const std::int64_t> rows) {
  Matrix out(static_cast<std::int64_t>(rows.size()), states.n_cols());
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::memcpy(out.row(static_cast<std::int64_t>(i)), states.row(rows[i]), sizeof(float) * states.n_cols());
  return out;
}

namespace {
// JSON has no NaN or infinity: such values become null.
nlohmann::ordered_json number(double v) {
  return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
}
}  // namespace

nlohmann::ordered_json layer_statistics_json(const LayerStatistics& s, const RowProvenance& provenance,
                                             std::span<const std::int64_t> rows) {
  using json = nlohmann::ordered_json;
  const std::int64_t row =
      rows.empty() ? s.max_abs_activation.row : rows[static_cast<std::size_t>(s.max_abs_activation.row)];
  const RowOrigin origin = provenance.origin(row);
  json rogue = json::array();
  for (const auto& r : s.rogue_dimensions) rogue.push_back(json{{"dim", r.dim}, {"share", number(r.share)}});
  return json{{"rows", s.rows},
              {"fraction_non_negative", number(s.fraction_non_negative)},
              {"mean_cosine", number(s.mean_cosine)},
              {"min", number(s.min)},
              {"max", number(s.max)},
              {"median", number(s.median)},
              {"mean_norm_ratio", number(s.mean_norm_ratio)},
              {"fraction_non_negative_centered", number(s.fraction_non_negative_centered)},
              {"max_abs_activation", json{{"value", number(s.max_abs_activation.value)},
                                          {"dim", s.max_abs_activation.dim},
                                          {"position", origin.position ? json(*origin.position) : json(nullptr)},
                                          {"sequence", origin.sequence ? json(*origin.sequence) : json(nullptr)},
                                          {"token", origin.token ? json(*origin.token) : json(nullptr)}}},
              {"rogue_dimensions", rogue},
              {"mean_direction_vs_embedding", number(s.mean_direction_vs_embedding)}};
}

}  // namespace embstat
