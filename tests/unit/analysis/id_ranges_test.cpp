#include <gtest/gtest.h>

#include <vector>

#include "embstat/analysis/id_ranges.hpp"

namespace embstat {
namespace {

std::string compress(std::vector<std::int64_t> ids, std::vector<std::int64_t> bridge = {}) {
  return format_id_ranges(compress_ids(ids, bridge));
}

TEST(IdRanges, StudyExample) {
  std::vector<std::int64_t> ids;
  for (std::int64_t i = 0; i <= 43; ++i) ids.push_back(i);
  for (std::int64_t i : {45, 46, 47, 49, 50, 51, 120}) ids.push_back(i);
  const auto r = compress_ids(ids);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].first, 0);
  EXPECT_EQ(r[0].last, 43);
  EXPECT_EQ(r[0].count, 44);
  EXPECT_EQ(r[3].count, 1);
  EXPECT_EQ(format_id_ranges(r), "0–43, 45–47, 49–51, 120");
}

TEST(IdRanges, EmptySingleUnsortedAndDuplicates) {
  EXPECT_EQ(compress({}), "");
  EXPECT_TRUE(compress_ids(std::vector<std::int64_t>{}).empty());
  EXPECT_EQ(compress({7}), "7");
  EXPECT_EQ(compress({5, 3, 4, 4, 9, 3}), "3–5, 9");
}

TEST(IdRanges, BridgeableIdsDoNotBreakARun) {
  // 2 and 3 are excluded rows: 0–5 stays one run of 4 ids; 7 is not bridgeable.
  const auto r = compress_ids(std::vector<std::int64_t>{0, 1, 4, 5, 8}, std::vector<std::int64_t>{2, 3, 7});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].first, 0);
  EXPECT_EQ(r[0].last, 5);
  EXPECT_EQ(r[0].count, 4);
  EXPECT_EQ(r[1].first, 8);
  EXPECT_EQ(compress({0, 1, 4}, {2}), "0–1, 4");  // 3 missing and not bridgeable
  EXPECT_EQ(compress({10}, {9, 11}), "10");       // runs never start or end on a bridge
}

}  // namespace
}  // namespace embstat
