#include "embstat/analysis/row_set.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

namespace embstat {
namespace {

// Row r of the raw matrix, before filtering: r+1 in every coordinate, except the rows named.
Matrix make_raw(std::int64_t n, std::int64_t d) {
  Matrix m(n, d);
  for (std::int64_t r = 0; r < n; ++r)
    for (std::int64_t k = 0; k < d; ++k) m.row(r)[k] = static_cast<float>((r + 1) * (k % 2 ? -1 : 1));
  return m;
}

void expect_unit_row_of(const RowSet& set, std::int64_t pos, const Matrix& original, std::int64_t id) {
  double norm = 0;
  for (std::int64_t k = 0; k < original.n_cols(); ++k) norm += double(original.row(id)[k]) * original.row(id)[k];
  norm = std::sqrt(norm);
  ASSERT_FLOAT_EQ(set.norms[static_cast<std::size_t>(pos)], static_cast<float>(norm));
  for (std::int64_t k = 0; k < original.n_cols(); ++k)
    ASSERT_FLOAT_EQ(set.unit.row(pos)[k], static_cast<float>(original.row(id)[k] / norm)) << "row " << id;
}

TEST(RowSet, ExcludesZeroAndPaddingRowsAndCompactsTheRest) {
  const std::int64_t n = 40, d = 7;
  Matrix raw = make_raw(n, d);
  for (std::int64_t k = 0; k < d; ++k) {
    raw.row(3)[k] = 0;                                         // zero row
    raw.row(17)[k] = std::numeric_limits<float>::quiet_NaN();  // not finite: no cosine either
  }
  const Matrix original = raw.clone();
  RowFilter filter;
  filter.n_tokens = 36;  // rows 36..39 are padding
  const RowSet set = make_row_set(std::move(raw), filter);

  EXPECT_EQ(set.n_total, n);
  EXPECT_EQ(set.zero_rows, (std::vector<std::int64_t>{3, 17}));
  EXPECT_EQ(set.padding_rows, (std::vector<std::int64_t>{36, 37, 38, 39}));
  ASSERT_EQ(set.size(), 34);
  EXPECT_EQ(set.dim(), d);
  for (std::int64_t pos = 0; pos < set.size(); ++pos) expect_unit_row_of(set, pos, original, set.ids[pos]);
  EXPECT_EQ(set.index_of(4), 3);
  EXPECT_FALSE(set.index_of(3).has_value());
  EXPECT_FALSE(set.index_of(38).has_value());
}

TEST(RowSet, IncludePaddingKeepsRowsPastTheVocabulary) {
  RowFilter filter;
  filter.n_tokens = 5;
  filter.include_padding = true;
  const RowSet set = make_row_set(make_raw(9, 3), filter);
  EXPECT_EQ(set.size(), 9);
  EXPECT_TRUE(set.padding_rows.empty());
}

TEST(RowSet, DedupKeepsTheFirstOfBitIdenticalRows) {
  Matrix raw = make_raw(6, 4);
  for (std::int64_t k = 0; k < 4; ++k) raw.row(4)[k] = raw.row(1)[k];  // 4 duplicates 1
  raw.row(5)[0] = raw.row(2)[0];                                       // 5 differs from 2 in 3 places
  RowFilter filter;
  filter.dedup = true;
  const RowSet set = make_row_set(std::move(raw), filter);
  EXPECT_EQ(set.merged_rows, (std::vector<std::int64_t>{4}));
  EXPECT_EQ(set.ids, (std::vector<std::int64_t>{0, 1, 2, 3, 5}));
}

TEST(RowSet, LargeMatrixWithoutDropsNormalisesInPlace) {
  // Exercises the parallel in-place branch on enough rows for several threads.
  const std::int64_t n = 5000, d = 16;
  Matrix raw(n, d);
  std::mt19937 rng(1);
  std::normal_distribution<float> g;
  for (std::int64_t i = 0; i < n * d; ++i) raw.data()[i] = g(rng);
  const Matrix original = raw.clone();
  const RowSet set = make_row_set(std::move(raw), RowFilter{});
  ASSERT_EQ(set.size(), n);
  for (std::int64_t pos = 0; pos < n; pos += 97) expect_unit_row_of(set, pos, original, pos);
}

}  // namespace
}  // namespace embstat
