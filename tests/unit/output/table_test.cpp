// Table: a file's bytes in a cell reach no rendering raw.
#include "embstat/output/table.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>

namespace embstat {
namespace {

std::string rendered(const Table& t, OutputFormat format) {
  std::ostringstream out;
  t.render(out, format);
  return out.str();
}

TEST(Table, UnprintableBytesInCellsAreEscapedInEveryFormat) {
  Table t({{"Model", Align::Left}, {"Token", Align::Left}});
  t.add_row({"\x1b]0;TITLE\x07.npy", "x\ny"});
  t.add_row({"bad\x80name", "\xE6\x97\xA5\xE6\x9C\xAC"});  // CJK stays readable
  for (const OutputFormat f : {OutputFormat::Text, OutputFormat::Markdown, OutputFormat::Csv}) {
    const std::string s = rendered(t, f);
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      EXPECT_FALSE((c < 0x20 && c != '\n') || c == 0x7f) << static_cast<int>(c) << " in\n" << s;
    }
    EXPECT_EQ(s.find("bad\x80"), std::string::npos) << s;
    EXPECT_NE(s.find("\\x1b]0;TITLE\\x07.npy"), std::string::npos) << s;
    EXPECT_NE(s.find("x\\ny"), std::string::npos) << s;
    EXPECT_NE(s.find("bad\\x80name"), std::string::npos) << s;
    EXPECT_NE(s.find("\xE6\x97\xA5\xE6\x9C\xAC"), std::string::npos) << s;
  }
  // One line per row: the header, the rule (text) or separator (markdown), two rows.
  const std::string text = rendered(t, OutputFormat::Text);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4) << text;
  const std::string csv = rendered(t, OutputFormat::Csv);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3) << csv;
}

TEST(Table, HeadersAreEscapedToo) {
  Table t({{"a\x1b[2Jb"}});
  t.add_row({"1"});
  EXPECT_EQ(rendered(t, OutputFormat::Csv), "a\\x1b[2Jb\n1\n");
}

}  // namespace
}  // namespace embstat
