// The study's table: its exact columns and rounding, whatever verb fills it.
#include <gtest/gtest.h>

#include <sstream>

#include "embstat/output/table.hpp"

namespace embstat {
namespace {

TEST(StudyTable, ColumnsAndRoundingOfTheStudy) {
  std::ostringstream out;
  study_table({{"Qwen/Qwen3-0.6B", -0.1234, 0.5678, 0.0912, 0.0899, "149627.56", "2307.44", 0.984827}})
      .render_markdown(out);
  const std::string s = out.str();
  EXPECT_NE(s.find("| Model | Min | Max | Mean | Median | Non-negative pairs | Negative pairs | Percentage of "
                   "positive entries |"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("| Qwen/Qwen3-0.6B | -0.12 | 0.57 | 0.09 | 0.09 | 149627.56 | 2307.44 | 0.9848 |"),
            std::string::npos)
      << s;
}

}  // namespace
}  // namespace embstat
