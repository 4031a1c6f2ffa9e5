#include "embstat/base/display_text.hpp"

#include <gtest/gtest.h>

#include <string>

namespace embstat {
namespace {

// U+FFFD as UTF-8.
const std::string kRepl = "\xEF\xBF\xBD";

// True when `s` is valid UTF-8 holding no C0 control byte and no DEL.
bool printable_line(const std::string& s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const std::size_t len = utf8_sequence_length(s, i);
    if (c < 0x20 || c == 0x7f || len == 0) return false;
    i += len;
  }
  return true;
}

TEST(EscapeDisplay, ControlCharactersAreEscaped) {
  EXPECT_EQ(escape_display("\n"), "\\n");
  EXPECT_EQ(escape_display("a\tb\r"), "a\\tb\\r");
  EXPECT_EQ(escape_display("\\"), "\\\\");
  EXPECT_EQ(escape_display(std::string("\0", 1)), "\\x00");
  EXPECT_EQ(escape_display("\x01\x1f\x7f"), "\\x01\\x1f\\x7f");
}

TEST(EscapeDisplay, SpacesAndValidUtf8StayAsIs) {
  EXPECT_EQ(escape_display(" the"), " the");
  EXPECT_EQ(escape_display("  "), "  ");
  EXPECT_EQ(escape_display("caf\xC3\xA9"), "caf\xC3\xA9");
  EXPECT_EQ(escape_display("\xE6\x97\xA5\xE6\x9C\xAC"), "\xE6\x97\xA5\xE6\x9C\xAC");  // 日本
  EXPECT_EQ(escape_display("\xF0\x9F\x98\x80"), "\xF0\x9F\x98\x80");                  // U+1F600
  EXPECT_EQ(escape_display("\xF4\x8F\xBF\xBF"), "\xF4\x8F\xBF\xBF");                  // U+10FFFF
}

TEST(EscapeDisplay, PartialAndInvalidBytesAreEscapedOneByOne) {
  EXPECT_EQ(escape_display("\x8a"), "\\x8a");                    // lone continuation
  EXPECT_EQ(escape_display("\xE6\x97"), "\\xe6\\x97");           // truncated 3-byte
  EXPECT_EQ(escape_display("\xF0\x9F\x98"), "\\xf0\\x9f\\x98");  // truncated 4-byte
  EXPECT_EQ(escape_display("\xE6\x97"
                           "a"),
            "\\xe6\\x97a");                                               // broken by ASCII
  EXPECT_EQ(escape_display("\xC0\xAF"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(escape_display("\xE0\x80\xAF"), "\\xe0\\x80\\xaf");           // overlong 3-byte
  EXPECT_EQ(escape_display("\xF0\x80\x80\xAF"), "\\xf0\\x80\\x80\\xaf");  // overlong 4-byte
  EXPECT_EQ(escape_display("\xED\xA0\x80"), "\\xed\\xa0\\x80");           // surrogate U+D800
  EXPECT_EQ(escape_display("\xED\xBF\xBF"), "\\xed\\xbf\\xbf");           // surrogate U+DFFF
  EXPECT_EQ(escape_display("\xF4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // U+110000
  EXPECT_EQ(escape_display("\xF8\x88\x80\x80\x80"), "\\xf8\\x88\\x80\\x80\\x80");
  EXPECT_EQ(escape_display("\xFF\xFE"), "\\xff\\xfe");
}

TEST(EscapeDisplay, LineBreakingCodePointsAreEscaped) {
  EXPECT_EQ(escape_display("\xC2\x85"), "\\u0085");  // NEL
  EXPECT_EQ(escape_display("\xC2\x80\xC2\x9F"), "\\u0080\\u009f");
  EXPECT_EQ(escape_display("\xE2\x80\xA8"), "\\u2028");       // LINE SEPARATOR
  EXPECT_EQ(escape_display("\xE2\x80\xA9"), "\\u2029");       // PARAGRAPH SEPARATOR
  EXPECT_EQ(escape_display("\xE2\x80\xA6"), "\xE2\x80\xA6");  // … stays
}

TEST(EscapeDisplay, InvisibleCodePointsAreEscaped) {
  EXPECT_EQ(escape_display("\xC2\xA0"), "\\u00a0");      // NBSP
  EXPECT_EQ(escape_display("\xC2\xAD"), "\\u00ad");      // soft hyphen
  EXPECT_EQ(escape_display("\xE2\x80\x8A"), "\\u200a");  // hair space
  EXPECT_EQ(escape_display("a\xE2\x80\x8B"
                           "b"),
            "a\\u200bb");                                     // zero-width space
  EXPECT_EQ(escape_display("\xE2\x80\xAE"), "\\u202e");       // right-to-left override
  EXPECT_EQ(escape_display("\xE3\x80\x80"), "\\u3000");       // ideographic space
  EXPECT_EQ(escape_display("\xEF\xBB\xBF"), "\\ufeff");       // BOM
  EXPECT_EQ(escape_display("\xF3\xA0\x80\x81"), "\\ue0001");  // language tag
  EXPECT_EQ(escape_display("\xC2\xA1"), "\xC2\xA1");          // ¡ stays
  EXPECT_EQ(escape_display("\xE3\x80\x81"), "\xE3\x80\x81");  // 、 stays
}

TEST(EscapeDisplay, EveryByteStringIsOneVisibleLine) {
  // No escaped form of any single or double byte contains a raw control character.
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 7) {
      const std::string s{static_cast<char>(a), static_cast<char>(b)};
      for (char ch : escape_display(s)) {
        const auto u = static_cast<unsigned char>(ch);
        ASSERT_FALSE(u < 0x20 || u == 0x7f) << "bytes " << a << "," << b;
      }
    }
  }
}

TEST(EscapeDisplay, QuotedKeepsSpacesVisible) {
  EXPECT_EQ(escape_display_quoted(" the"), "\" the\"");
  EXPECT_EQ(escape_display_quoted("say \"hi\"\n"), "\"say \\\"hi\\\"\\n\"");
  EXPECT_EQ(escape_display_quoted(""), "\"\"");
}

TEST(ToValidUtf8, ValidTextIsUnchanged) {
  const std::string s = "a caf\xC3\xA9 \xE6\x97\xA5 \xF0\x9F\x98\x80";
  EXPECT_EQ(to_valid_utf8(s), s);
  EXPECT_EQ(to_valid_utf8(""), "");
}

TEST(ToValidUtf8, OneReplacementPerMaximalSubpart) {
  // Expected values are what Python's bytes.decode("utf-8", "replace") gives.
  EXPECT_EQ(to_valid_utf8("\xE6\x97"), kRepl);
  EXPECT_EQ(to_valid_utf8("\xE6\x97"
                          "a"),
            kRepl + "a");
  EXPECT_EQ(to_valid_utf8("\xF0\x9F\x98"), kRepl);
  EXPECT_EQ(to_valid_utf8("\x8a"), kRepl);
  EXPECT_EQ(to_valid_utf8("\x8a\x8b"), kRepl + kRepl);
  EXPECT_EQ(to_valid_utf8("\xC0\xAF"), kRepl + kRepl);              // overlong
  EXPECT_EQ(to_valid_utf8("\xE0\x80\xAF"), kRepl + kRepl + kRepl);  // overlong
  EXPECT_EQ(to_valid_utf8("\xED\xA0\x80"), kRepl + kRepl + kRepl);  // surrogate
  EXPECT_EQ(to_valid_utf8("\xF4\x90\x80\x80"), kRepl + kRepl + kRepl + kRepl);
  EXPECT_EQ(to_valid_utf8("\xE6\x97\xE6\x97\xA5"), kRepl + "\xE6\x97\xA5");
}

TEST(EscapeUnprintable, HostileTextBecomesOnePrintableLine) {
  EXPECT_EQ(escape_unprintable("unexpected key 'desc\n'"), "unexpected key 'desc\\n'");
  EXPECT_EQ(escape_unprintable("dtype '<\x1b[2J'"), "dtype '<\\x1b[2J'");
  EXPECT_EQ(escape_unprintable("\x1b]0;TITLE\x07.safetensors"), "\\x1b]0;TITLE\\x07.safetensors");
  EXPECT_EQ(escape_unprintable("bad\x80name\x9b.npy"), "bad\\x80name\\x9b.npy");
  EXPECT_EQ(escape_unprintable("a\rb\tc"), "a\\rb\\tc");
  EXPECT_EQ(escape_unprintable("\xC2\x9B"), "\\u009b");  // C1 CSI, valid UTF-8 but a control
}

TEST(EscapeUnprintable, PrintableTextAndEscapesStayAsTheyAre) {
  // CJK, accents, emoji and the backslash of text escaped already are unchanged: escaping twice
  // gives the same line.
  const std::string text = "\xE6\x97\xA5\xE6\x9C\xAC caf\xC3\xA9 \xF0\x9F\x98\x80 \"a\\nb\" C:\\x";
  EXPECT_EQ(escape_unprintable(text), text);
  const std::string once = escape_unprintable("x\x1by\n\xff");
  EXPECT_EQ(escape_unprintable(once), once);
}

TEST(EscapeUnprintable, EveryByteStringIsOnePrintableLine) {
  for (int a = 0; a < 256; ++a)
    for (int b = 0; b < 256; b += 5) {
      const std::string s{static_cast<char>(a), static_cast<char>(b), 'x'};
      ASSERT_TRUE(printable_line(escape_unprintable(s))) << "bytes " << a << "," << b;
      ASSERT_TRUE(printable_line(escape_display(s))) << "bytes " << a << "," << b;
    }
}

}  // namespace
}  // namespace embstat
