// Layer statistics against a direct double-precision computation on a small matrix.
#include "embstat/analysis/layer_statistics.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "embstat/base/error.hpp"
#include "tests/fixtures/expect_error.hpp"

namespace embstat {
namespace {

Matrix sample_states() {
  const float v[6][3] = {{1, 0, 0.5f}, {0.9f, 0.2f, 0.1f}, {-0.3f, 1, 0}, {0.2f, -1, 4}, {1, 1, 1}, {0.5f, -0.1f, -2}};
  Matrix m(6, 3);
  for (int i = 0; i < 6; ++i)
    for (int k = 0; k < 3; ++k) m.row(i)[k] = v[i][k];
  return m;
}

double cos_of(const float* a, const float* b, int d, const double* shift = nullptr) {
  double dot = 0, na = 0, nb = 0;
  for (int k = 0; k < d; ++k) {
    const double x = a[k] - (shift ? shift[k] : 0), y = b[k] - (shift ? shift[k] : 0);
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return dot / std::sqrt(na * nb);
}

TEST(LayerStatistics, MatchesADirectComputation) {
  const Matrix m = sample_states();
  const std::vector<double> mean = mean_row(m);
  std::vector<double> other = {1, 0, 0};
  const LayerStatistics s = layer_statistics(m, other);
  int non_negative = 0, centred = 0, pairs = 0;
  double sum = 0, lo = 2, hi = -2;
  for (int i = 0; i < 6; ++i)
    for (int j = i + 1; j < 6; ++j, ++pairs) {
      const double c = cos_of(m.row(i), m.row(j), 3);
      non_negative += c >= 0;
      centred += cos_of(m.row(i), m.row(j), 3, mean.data()) >= 0;
      sum += c;
      lo = std::min(lo, c);
      hi = std::max(hi, c);
    }
  EXPECT_EQ(s.rows, 6);
  EXPECT_DOUBLE_EQ(s.fraction_non_negative, static_cast<double>(non_negative) / pairs);
  EXPECT_DOUBLE_EQ(s.fraction_non_negative_centered, static_cast<double>(centred) / pairs);
  EXPECT_NEAR(s.mean_cosine, sum / pairs, 1e-6);
  EXPECT_NEAR(s.min, lo, 1e-6);
  EXPECT_NEAR(s.max, hi, 1e-6);
  EXPECT_EQ(s.max_abs_activation.value, 4.0);
  EXPECT_EQ(s.max_abs_activation.dim, 2);
  EXPECT_EQ(s.max_abs_activation.row, 3);
  double norms = 0, mean_norm = 0;
  for (int i = 0; i < 6; ++i) {
    double q = 0;
    for (int k = 0; k < 3; ++k) q += static_cast<double>(m.row(i)[k]) * m.row(i)[k];
    norms += std::sqrt(q);
  }
  for (double x : mean) mean_norm += x * x;
  EXPECT_NEAR(s.mean_norm_ratio, std::sqrt(mean_norm) / (norms / 6), 1e-12);
  EXPECT_NEAR(s.mean_direction_vs_embedding, mean[0] / std::sqrt(mean_norm), 1e-12);
  ASSERT_EQ(s.rogue_dimensions.size(), 3u);
  double shares = 0;
  for (const auto& r : s.rogue_dimensions) shares += r.share;
  EXPECT_NEAR(shares, 1.0, 1e-9);
  EXPECT_GE(s.rogue_dimensions[0].share, s.rogue_dimensions[1].share);
}

TEST(LayerStatistics, FirstPositionsAreLeftOut) {
  const std::vector<std::int64_t> ids = {1, 5, 6, 1, 7, 8};
  const std::vector<std::int64_t> starts = {0, 3};
  const auto p = RowProvenance::hidden_states(ids, starts);
  const auto rows = rows_after_first_positions(p);
  EXPECT_EQ(rows, (std::vector<std::int64_t>{1, 2, 4, 5}));
  const Matrix picked = select_rows(sample_states(), rows);
  EXPECT_EQ(picked.row(2)[2], 1.0f);
  const auto j = layer_statistics_json(layer_statistics(picked, mean_row(picked)), p, rows);
  EXPECT_EQ(j["max_abs_activation"]["position"], 2);  // row 3 of the picked set = row 5 = sequence 1, position 2
  EXPECT_EQ(j["max_abs_activation"]["sequence"], 1);
  EXPECT_EQ(j["max_abs_activation"]["token"], 8);
  fixtures::expect_error([] { layer_statistics(Matrix::zeros(3, 2), std::vector<double>{0, 0}); }, ErrorKind::Usage);
}

}  // namespace
}  // namespace embstat
