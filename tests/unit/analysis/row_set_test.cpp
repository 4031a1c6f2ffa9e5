#include "embstat/analysis/row_set.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "embstat/analysis/all_pairs.hpp"
#include "embstat/base/dtype.hpp"
#include "embstat/base/error.hpp"

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

TEST(RowSet, ExcludesZeroNonFiniteAndPaddingRowsAndCompactsTheRest) {
  const std::int64_t n = 40, d = 7;
  Matrix raw = make_raw(n, d);
  for (std::int64_t k = 0; k < d; ++k) {
    raw.row(3)[k] = 0;                                         // zero row
    raw.row(17)[k] = std::numeric_limits<float>::quiet_NaN();  // not finite: no cosine either
  }
  raw.row(20)[2] = std::numeric_limits<float>::infinity();  // one value is enough
  raw.row(21)[6] = -std::numeric_limits<float>::quiet_NaN();
  const Matrix original = raw.clone();
  RowFilter filter;
  filter.n_tokens = 36;  // rows 36..39 are padding
  const RowSet set = make_row_set(std::move(raw), filter);

  EXPECT_EQ(set.n_total, n);
  EXPECT_EQ(set.zero_rows, (std::vector<std::int64_t>{3}));
  EXPECT_EQ(set.non_finite_rows, (std::vector<std::int64_t>{17, 20, 21}));
  EXPECT_EQ(set.padding_rows, (std::vector<std::int64_t>{36, 37, 38, 39}));
  EXPECT_EQ(set.excluded_ids(), (std::vector<std::int64_t>{3, 17, 20, 21, 36, 37, 38, 39}));
  ASSERT_EQ(set.size(), 32);
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

// A streamed set keeps the rows encoded and decodes them on demand: the same ids, norms and
// exclusions as the held set, and unit_rows / unit_columns give the held set's unit rows bit for
// bit, for bf16 and f16, with a row stride wider than a row. Block-quantized rows are refused.
TEST(RowSet, StreamedSetDecodesTheHeldSetsUnitRows) {
  const std::int64_t n = 300, d = 64;
  std::mt19937 rng(5);
  std::normal_distribution<float> g;
  for (const DType dtype : {DType::BF16, DType::F16}) {
    SCOPED_TRACE(std::string(dtype_info(dtype).name));
    const auto& info = dtype_info(dtype);
    const std::size_t row_bytes =
        static_cast<std::size_t>(d / info.block_elems) * info.block_bytes + 5;  // odd: rows not 2-byte aligned
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(n) * row_bytes, 0x7F);
    for (std::int64_t i = 0; i < n; ++i) {
      std::uint8_t* r = bytes.data() + static_cast<std::size_t>(i) * row_bytes;
      for (std::int64_t k = 0; k < d; ++k) {
        const float v = i == 4 ? 0.0f : g(rng) + 0.5f;
        const std::uint16_t h = dtype == DType::BF16 ? f32_to_bf16(v) : f32_to_f16(v);
        std::memcpy(r + 2 * k, &h, 2);
      }
    }
    MatrixView view;
    view.dtype = dtype;
    view.n_rows = n;
    view.n_cols = d;
    view.data = bytes.data();
    view.row_bytes = row_bytes;
    RowFilter filter;
    filter.n_tokens = n - 3;
    const RowSet held = make_row_set(decode_to_f32(view), filter);
    const RowSet streamed = make_streamed_row_set(view, filter);
    EXPECT_TRUE(streamed.streamed);
    EXPECT_EQ(streamed.size(), held.size());
    EXPECT_EQ(streamed.dim(), d);
    EXPECT_EQ(streamed.ids, held.ids);
    EXPECT_EQ(streamed.norms, held.norms);
    EXPECT_EQ(streamed.zero_rows, (std::vector<std::int64_t>{4}));
    EXPECT_EQ(streamed.padding_rows, held.padding_rows);
    std::vector<float> scratch;
    const float* all = streamed.unit_rows(0, streamed.size(), scratch);
    EXPECT_EQ(std::memcmp(all, held.unit.data(), sizeof(float) * static_cast<std::size_t>(held.size() * d)), 0);
    std::vector<float> slice(static_cast<std::size_t>(d));
    for (std::int64_t i : {std::int64_t{0}, std::int64_t{7}, held.size() - 1}) {
      streamed.unit_columns(i, 5, 37, slice.data());
      EXPECT_EQ(std::memcmp(slice.data(), held.unit.row(i) + 5, sizeof(float) * 32), 0) << i;
    }
    // The held set hands out its own rows.
    EXPECT_EQ(held.unit_rows(3, 2, scratch), held.unit.row(3));
    // Passes that read `unit` directly refuse a streamed set.
    EXPECT_THROW(all_pairs(streamed), Error);
    EXPECT_THROW(streamed.require_held("test"), Error);
    EXPECT_NO_THROW(held.require_held("test"));
    RowFilter dedup = filter;
    dedup.dedup = true;
    EXPECT_THROW(make_streamed_row_set(view, dedup), Error);
  }
  std::vector<std::uint8_t> blocks(34 * 4, 0);
  MatrixView q8;
  q8.dtype = DType::Q8_0;
  q8.n_rows = 4;
  q8.n_cols = 32;
  q8.data = blocks.data();
  q8.row_bytes = 34;
  EXPECT_THROW(make_streamed_row_set(q8, RowFilter{}), Error);
}

}  // namespace
}  // namespace embstat
