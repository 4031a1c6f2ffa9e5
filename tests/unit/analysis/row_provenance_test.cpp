// RowProvenance: embedding rows are tokens up to the vocabulary's size; hidden states map each
// row to (sequence, position) and the token at that position.
#include "embstat/analysis/row_provenance.hpp"

#include <gtest/gtest.h>

#include "embstat/base/error.hpp"
#include "tests/fixtures/expect_error.hpp"

namespace embstat {
namespace {

using fixtures::expect_error;

TEST(RowProvenance, EmbeddingRowsPastTheVocabularyHaveNoToken) {
  const auto p = RowProvenance::embedding_rows(5, 3);
  EXPECT_FALSE(p.is_hidden_states());
  EXPECT_EQ(p.token_of(2), 2);
  EXPECT_FALSE(p.token_of(3).has_value());
  EXPECT_FALSE(p.origin(0).sequence.has_value());
  EXPECT_FALSE(RowProvenance::embedding_rows(4, -1).token_of(0).has_value());  // no vocabulary
  expect_error([&] { (void)p.origin(5); }, ErrorKind::Internal);
}

TEST(RowProvenance, HiddenStatesKnowSequenceAndPosition) {
  const std::vector<std::int64_t> ids = {1, 40, 41, 1, 7, -1};
  const std::vector<std::int64_t> starts = {0, 3};
  const auto p = RowProvenance::hidden_states(ids, starts);
  EXPECT_TRUE(p.is_hidden_states());
  EXPECT_EQ(p.n_sequences(), 2);
  const RowOrigin o = p.origin(4);
  EXPECT_EQ(o.token, 7);
  EXPECT_EQ(o.sequence, 1);
  EXPECT_EQ(o.position, 1);
  EXPECT_EQ(p.origin(2).sequence, 0);
  EXPECT_EQ(p.origin(2).position, 2);
  EXPECT_EQ(p.origin(3).position, 0);
  EXPECT_FALSE(p.token_of(5).has_value());
}

TEST(RowProvenance, BadSequenceStartsAreRefused) {
  const std::vector<std::int64_t> ids = {1, 2, 3};
  for (const std::vector<std::int64_t>& starts : {std::vector<std::int64_t>{}, {1}, {0, 0}, {0, 2, 1}, {0, 3}})
    expect_error([&] { RowProvenance::hidden_states(ids, starts); }, ErrorKind::Usage);
  expect_error([&] { RowProvenance::hidden_states({}, std::vector<std::int64_t>{0}); }, ErrorKind::Usage);
}

}  // namespace
}  // namespace embstat
