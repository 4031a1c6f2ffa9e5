#include "embstat/output/json_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "embstat/base/display_text.hpp"

namespace embstat {
namespace {

TEST(JsonText, InvalidUtf8IsReplacedNotAnError) {
  const nlohmann::json doc = {{"model", "bad\x80name.npy"}, {"text", "\xE6\x97"}};
  std::string text;
  ASSERT_NO_THROW(text = json_text(doc));
  EXPECT_EQ(text, "{\"model\":\"bad\xEF\xBF\xBDname.npy\",\"text\":\"\xEF\xBF\xBD\"}");
  // Parses back (valid UTF-8), ordered documents too.
  EXPECT_EQ(nlohmann::json::parse(text)["model"], "bad\xEF\xBF\xBDname.npy");
  const nlohmann::ordered_json ordered = {{"z", "\xff"}, {"a", 1}};
  EXPECT_EQ(json_text(ordered, 2), "{\n  \"z\": \"\xEF\xBF\xBD\",\n  \"a\": 1\n}");
}

TEST(JsonText, ControlBytesAreJsonEscapes) {
  const nlohmann::json doc = {{"dtype", "<\x1b[2J"}, {"key", "desc\n"}, {"bell", "\x07"}};
  EXPECT_EQ(json_text(doc), "{\"bell\":\"\\u0007\",\"dtype\":\"<\\u001b[2J\",\"key\":\"desc\\n\"}");
}

TEST(JsonText, ReplacesAsToValidUtf8Does) {
  // The rule the docs state: one U+FFFD per maximal invalid subpart, as to_valid_utf8().
  const std::vector<std::string> cases = {"\xE6\x97",
                                          "\xE6\x97"
                                          "a",
                                          "\xF0\x9F\x98",
                                          "\x8a\x8b",
                                          "\xC0\xAF",
                                          "\xE0\x80\xAF",
                                          "\xED\xA0\x80",
                                          "\xF4\x90\x80\x80",
                                          "\xE6\x97\xE6\x97\xA5",
                                          "ok \xE6\x97\xA5 \xFF\xFE"};
  for (const auto& s : cases) {
    SCOPED_TRACE(escape_display(s));
    EXPECT_EQ(nlohmann::json::parse(json_text(nlohmann::json(s))).get<std::string>(), to_valid_utf8(s));
  }
}

}  // namespace
}  // namespace embstat
