#include "embstat/vocab/vocabulary.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace embstat {
namespace {

// U+FFFD as UTF-8.
const std::string kRepl = "\xEF\xBF\xBD";

std::string utf8_of(char32_t cp) {
  std::string out;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
  return out;
}

// GPT-2's bytes_to_unicode(), written out independently of the decoder under test.
std::vector<std::string> gpt2_byte_encoder() {
  std::vector<int> bs;
  for (int b = '!'; b <= '~'; ++b) bs.push_back(b);
  for (int b = 0xa1; b <= 0xac; ++b) bs.push_back(b);
  for (int b = 0xae; b <= 0xff; ++b) bs.push_back(b);
  std::vector<char32_t> cs(bs.begin(), bs.end());
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    bool present = false;
    for (int x : bs) present = present || x == b;
    if (!present) {
      bs.push_back(b);
      cs.push_back(static_cast<char32_t>(256 + n++));
    }
  }
  std::vector<std::string> enc(256);
  for (std::size_t k = 0; k < bs.size(); ++k) enc[static_cast<std::size_t>(bs[k])] = utf8_of(cs[k]);
  return enc;
}

TEST(ByteLevel, KnownSymbols) {
  EXPECT_EQ(decode_byte_level("\xC4\xA0"), " ");                   // Ġ
  EXPECT_EQ(decode_byte_level("\xC4\x8A"), "\n");                  // Ċ
  EXPECT_EQ(decode_byte_level("\xC4\x80"), std::string("\0", 1));  // Ā
  EXPECT_EQ(decode_byte_level("\xC4\xA1"), "\x7f");                // ġ
  EXPECT_EQ(decode_byte_level("\xC5\x83"), "\xad");                // Ń, the last of the 68 moved bytes
  EXPECT_EQ(decode_byte_level("\xC4\xA0hello"), " hello");
  EXPECT_EQ(decode_byte_level("!"), "!");
  // "æĹ¥" is the byte-level spelling of 日 (E6 97 A5).
  EXPECT_EQ(decode_byte_level("\xC3\xA6\xC4\xB9\xC2\xA5"), "\xE6\x97\xA5");
}

TEST(ByteLevel, AllBytesRoundTrip) {
  const auto enc = gpt2_byte_encoder();
  std::string all_encoded, all_bytes;
  for (int b = 0; b < 256; ++b) {
    ASSERT_EQ(decode_byte_level(enc[b]), std::string(1, static_cast<char>(b))) << "byte " << b;
    all_encoded += enc[b];
    all_bytes += static_cast<char>(b);
  }
  EXPECT_EQ(decode_byte_level(all_encoded), all_bytes);
}

TEST(ByteLevel, NonByteLevelTextIsKept) {
  EXPECT_EQ(decode_byte_level("<|endoftext|>"), "<|endoftext|>");
  EXPECT_EQ(decode_byte_level("\xE6\x97\xA5"), "\xE6\x97\xA5");  // a CJK char is not a byte symbol
  EXPECT_EQ(decode_byte_level("\xFF"), "\xFF");
}

TEST(SentencePiece, SpaceAndByteTokens) {
  EXPECT_EQ(decode_sentencepiece("\xE2\x96\x81the"), " the");
  EXPECT_EQ(decode_sentencepiece("\xE2\x96\x81\xE2\x96\x81"), "  ");
  EXPECT_EQ(decode_sentencepiece("<0x0A>"), "\n");
  EXPECT_EQ(decode_sentencepiece("<0xff>"), "\xff");
  EXPECT_EQ(decode_sentencepiece("<0x0G>"), "<0x0G>");
  EXPECT_EQ(replace_metaspace("<0x0A>"), "<0x0A>");
  EXPECT_EQ(replace_metaspace("a_b", "_"), "a b");
  EXPECT_EQ(parse_byte_token("<0x0A>"), 0x0a);
  EXPECT_FALSE(parse_byte_token("<0x0A"));
  EXPECT_FALSE(parse_byte_token("<0x0A>x"));
}

TEST(WordPiece, ContinuationsAndWordStarts) {
  EXPECT_EQ(decode_wordpiece("##ing"), "ing");
  EXPECT_EQ(decode_wordpiece("the"), " the");
  EXPECT_EQ(decode_wordpiece("[CLS]"), "[CLS]");
  EXPECT_EQ(decode_wordpiece("##"), " ##");  // the piece "##" itself is a word
  EXPECT_EQ(decode_wordpiece("@@ing", "@@"), "ing");
  EXPECT_EQ(decode_wordpiece(""), "");
}

TEST(Vocabulary, DisplayUtf8AndFind) {
  Vocabulary v;
  v.push_back({"\xC4\xA0the", " the", TokenType::Normal});
  v.push_back({"<|endoftext|>", "<|endoftext|>", TokenType::Control});
  v.set(4, {"\xC4\x8A", "\n", TokenType::Normal});
  v.push_back({"\xC3\xA6", "\xE6", TokenType::Normal});
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(v.token(2).type, TokenType::Unused);
  EXPECT_EQ(v.display(0), " the");
  EXPECT_EQ(v.display(1), "<|endoftext|>");
  EXPECT_EQ(v.display(4), "\\n");
  EXPECT_EQ(v.display(5), "\\xe6");
  EXPECT_EQ(v.utf8(5), kRepl);
  EXPECT_EQ(v.display(6), "<no token>");
  EXPECT_EQ(v.display(-1), "<no token>");
  EXPECT_EQ(v.find("\xC4\xA0the"), 0);
  EXPECT_EQ(v.find(" the"), 0);
  EXPECT_EQ(v.find("\n"), 4);
  EXPECT_FALSE(v.find("nothing"));
  v.assign({{"a", "a", TokenType::Normal}});
  EXPECT_EQ(v.size(), 1u);
  EXPECT_EQ(v.find("a"), 0);
  EXPECT_FALSE(v.find(" the"));
}

}  // namespace
}  // namespace embstat
