// Token id files: plain lists, JSON arrays, arrays of arrays; bad values named with an offset.
#include "embstat/formats/token_ids.hpp"

#include <gtest/gtest.h>

#include "embstat/base/error.hpp"
#include "tests/fixtures/expect_error.hpp"

namespace embstat {
namespace {

using fixtures::expect_error;

TEST(TokenIds, PlainListsAndJson) {
  auto t = parse_token_ids(" 1, 403 407\n261,\t5 ", "ids.txt");
  EXPECT_EQ(t.ids, (std::vector<std::int64_t>{1, 403, 407, 261, 5}));
  EXPECT_EQ(t.starts, (std::vector<std::int64_t>{0}));
  t = parse_token_ids("[1, 2, 3]", "ids.json");
  EXPECT_EQ(t.ids, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(t.starts, (std::vector<std::int64_t>{0}));
  t = parse_token_ids("[[1, 2], [7], [8, 9, 10]]", "ids.json");
  EXPECT_EQ(t.ids, (std::vector<std::int64_t>{1, 2, 7, 8, 9, 10}));
  EXPECT_EQ(t.starts, (std::vector<std::int64_t>{0, 2, 3}));
}

TEST(TokenIds, BadInputIsAFormatError) {
  Error e = expect_error([] { parse_token_ids("1 2 x3", "ids.txt"); }, ErrorKind::Format);
  EXPECT_EQ(e.offset(), 4u);
  e = expect_error([] { parse_token_ids("1 -2", "ids.txt"); }, ErrorKind::Format);
  EXPECT_EQ(e.offset(), 2u);
  expect_error([] { parse_token_ids("1 2.5", "ids.txt"); }, ErrorKind::Format);
  expect_error([] { parse_token_ids("  \n", "ids.txt"); }, ErrorKind::Format);
  expect_error([] { parse_token_ids("[]", "ids.json"); }, ErrorKind::Format);
  expect_error([] { parse_token_ids("[[1], []]", "ids.json"); }, ErrorKind::Format);
  expect_error([] { parse_token_ids("[1, \"a\"]", "ids.json"); }, ErrorKind::Format);
  expect_error([] { parse_token_ids("[1, 2", "ids.json"); }, ErrorKind::Format);
}

}  // namespace
}  // namespace embstat
