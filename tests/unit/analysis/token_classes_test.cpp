// Token classes from decoded bytes and declared types, one case per rule, plus real
// vocabularies from ../shared/data when present.
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <map>

#include "embstat/analysis/token_classes.hpp"
#include "embstat/vocab/loaders.hpp"

namespace embstat {
namespace {

TokenClass cls(std::string bytes, TokenType type = TokenType::Normal, std::string piece = "x",
               std::string_view kind = "byte-bpe") {
  return classify_token(Token{std::move(piece), std::move(bytes), type}, kind);
}

TEST(TokenClasses, DeclaredTypesComeFirst) {
  EXPECT_EQ(cls("", TokenType::Control, "<|endoftext|>"), TokenClass::Special);
  EXPECT_EQ(cls("hello", TokenType::Control, "<s>"), TokenClass::Special);
  EXPECT_EQ(cls("", TokenType::Unknown, "<unk>"), TokenClass::Special);
  EXPECT_EQ(cls("\n", TokenType::Byte, "<0x0A>"), TokenClass::Byte);
  EXPECT_EQ(cls("", TokenType::Unused, "<unused12>"), TokenClass::Special);
  EXPECT_EQ(cls("", TokenType::Unused, ""), TokenClass::Padding);  // a gap in the vocabulary
  EXPECT_EQ(cls("<think>", TokenType::UserDefined, "<think>"), TokenClass::Special);
  EXPECT_EQ(cls(" hello", TokenType::UserDefined, " hello"), TokenClass::LatinWordStart);
}

TEST(TokenClasses, SingleBytesAndFragments) {
  EXPECT_EQ(cls("!"), TokenClass::Byte);  // the study's ids 0-92: single ASCII characters
  EXPECT_EQ(cls("a"), TokenClass::Byte);
  EXPECT_EQ(cls("7"), TokenClass::Byte);
  EXPECT_EQ(cls(" "), TokenClass::Byte);
  EXPECT_EQ(cls("\xe4"), TokenClass::Byte);
  EXPECT_EQ(cls("\xe4\xb8"), TokenClass::Byte);   // two bytes of a three-byte character
  EXPECT_EQ(cls(" \xe4\xb8"), TokenClass::Byte);  // whitespace + fragment
  EXPECT_EQ(cls("\x01\x02"), TokenClass::Byte);   // control bytes
}

TEST(TokenClasses, AsciiKinds) {
  EXPECT_EQ(cls(" ("), TokenClass::Punctuation);
  EXPECT_EQ(cls("..."), TokenClass::Punctuation);
  EXPECT_EQ(cls(".\n"), TokenClass::Punctuation);
  EXPECT_EQ(cls(" 2023"), TokenClass::Digits);
  EXPECT_EQ(cls("1.5"), TokenClass::Digits);
  EXPECT_EQ(cls("  "), TokenClass::Whitespace);
  EXPECT_EQ(cls("\n\n"), TokenClass::Whitespace);
  EXPECT_EQ(cls("\t\t"), TokenClass::Whitespace);
}

TEST(TokenClasses, LatinWordStartAndContinuation) {
  EXPECT_EQ(cls(" the"), TokenClass::LatinWordStart);
  EXPECT_EQ(cls("\nThe"), TokenClass::LatinWordStart);
  EXPECT_EQ(cls(" café"), TokenClass::LatinWordStart);
  EXPECT_EQ(cls("ing"), TokenClass::LatinContinuation);
  EXPECT_EQ(cls("ção"), TokenClass::LatinContinuation);
  EXPECT_EQ(cls("3D"), TokenClass::LatinContinuation);     // letters win over digits
  EXPECT_EQ(cls(" caf\xc3"), TokenClass::LatinWordStart);  // letters + a trailing fragment
  // WordPiece: continuation is marked by ##, not by the absence of a space.
  EXPECT_EQ(cls("ing", TokenType::Normal, "##ing", "wordpiece"), TokenClass::LatinContinuation);
  EXPECT_EQ(cls("hello", TokenType::Normal, "hello", "wordpiece"), TokenClass::LatinWordStart);
}

TEST(TokenClasses, ScriptsAndSymbols) {
  EXPECT_EQ(cls("中文"), TokenClass::Cjk);
  EXPECT_EQ(cls(" 日本"), TokenClass::Cjk);
  EXPECT_EQ(cls("です"), TokenClass::Cjk);
  EXPECT_EQ(cls("한국어"), TokenClass::Cjk);
  EXPECT_EQ(cls("。"), TokenClass::Cjk);
  EXPECT_EQ(cls("中\xe6"), TokenClass::Cjk);  // a character + a fragment
  EXPECT_EQ(cls(" привет"), TokenClass::Other);
  EXPECT_EQ(cls("مرحبا"), TokenClass::Other);
  EXPECT_EQ(cls("नमस्ते"), TokenClass::Other);
  EXPECT_EQ(cls("αβ"), TokenClass::Other);
  EXPECT_EQ(cls("—"), TokenClass::Other);
  EXPECT_EQ(cls(" €"), TokenClass::Other);
  EXPECT_EQ(cls("😀"), TokenClass::Other);
  EXPECT_EQ(cls("\u3000\u3000"), TokenClass::Whitespace);  // ideographic spaces
}

TEST(TokenClasses, RowsPastTheVocabularyArePadding) {
  Vocabulary v;
  v.push_back({"Ġthe", " the", TokenType::Normal});
  v.push_back({"!", "!", TokenType::Normal});
  v.set(4, {"<|im_end|>", "", TokenType::Control});  // ids 2, 3 become empty gaps
  const std::vector<std::int64_t> ids = {0, 1, 2, 4, 5, 100};
  const auto got = classify_rows(v, ids);
  const std::vector<TokenClass> want = {TokenClass::LatinWordStart, TokenClass::Byte,    TokenClass::Padding,
                                        TokenClass::Special,        TokenClass::Padding, TokenClass::Padding};
  EXPECT_EQ(got, want);
  EXPECT_EQ(classify_row(Vocabulary{}, 0), TokenClass::Padding);
}

TEST(TokenClasses, NamesAreStableAndDistinct) {
  std::map<std::string, int> seen;
  for (const auto c : kAllTokenClasses) {
    ++seen[token_class_name(c)];
    EXPECT_STRNE(token_class_description(c), "?");
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kTokenClassCount));
  EXPECT_STREQ(token_class_name(TokenClass::LatinWordStart), "latin_word_start");
}

// The real Qwen3 vocabulary: ids 0-93 are the printable ASCII characters (single bytes), and
// every class occurs except padding and digits (Qwen3 splits numbers into single digits, which
// are single bytes).
TEST(TokenClasses, RealQwen3Vocabulary) {
  const std::filesystem::path path = std::filesystem::path(EMBSTAT_SHARED_DATA) / "tokenizers/qwen3/tokenizer.json";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no " << path << " (shared data absent)";
  const Vocabulary v = load_tokenizer_json(path.string());
  ASSERT_GT(v.size(), 151000u);
  for (std::int64_t id = 0; id <= 93; ++id) EXPECT_EQ(classify_row(v, id), TokenClass::Byte) << id;
  std::array<std::int64_t, kTokenClassCount> count{};
  for (std::int64_t id = 0; id < static_cast<std::int64_t>(v.size()); ++id)
    ++count[static_cast<std::size_t>(classify_row(v, id))];
  for (const auto c : kAllTokenClasses) {
    if (c != TokenClass::Padding && c != TokenClass::Digits) {
      EXPECT_GT(count[static_cast<std::size_t>(c)], 0) << token_class_name(c);
    }
  }
  EXPECT_EQ(count[static_cast<std::size_t>(TokenClass::Digits)], 0);
  EXPECT_EQ(classify_row(v, static_cast<std::int64_t>(v.size())), TokenClass::Padding);
  EXPECT_EQ(classify_row(v, *v.find("<|endoftext|>")), TokenClass::Special);
  EXPECT_EQ(classify_row(v, *v.find("Ġthe")), TokenClass::LatinWordStart);
}

}  // namespace
}  // namespace embstat
