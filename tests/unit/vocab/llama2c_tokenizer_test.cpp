// llama2.c tokenizer.bin: files built here (one per kind of damage) and the real Llama 2 and
// stories260K tokenizers.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "embstat/base/error.hpp"
#include "embstat/vocab/loaders.hpp"

namespace embstat {
namespace {

namespace fs = std::filesystem;

// Builds a tokenizer.bin in memory.
class TokenizerBin {
 public:
  explicit TokenizerBin(std::int32_t max_token_length) { put(max_token_length); }
  TokenizerBin& token(std::string_view piece, float score = 0.0f) {
    put(score);
    put(static_cast<std::int32_t>(piece.size()));
    bytes_.insert(bytes_.end(), piece.begin(), piece.end());
    return *this;
  }
  template <typename T>
  TokenizerBin& put(T v) {
    std::uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    bytes_.insert(bytes_.end(), b, b + sizeof(T));
    return *this;
  }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<std::uint8_t> bytes_;
};

Vocabulary parse(const std::vector<std::uint8_t>& bytes, std::int64_t n) {
  return parse_llama2c_tokenizer(bytes, n, "mem/tokenizer.bin");
}

Error parse_error(const std::vector<std::uint8_t>& bytes, std::int64_t n) {
  try {
    parse(bytes, n);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format) << e.what();
    EXPECT_EQ(e.path(), "mem/tokenizer.bin");
    EXPECT_TRUE(e.offset().has_value()) << e.what();
    return e;
  }
  ADD_FAILURE() << "no error";
  return Error(ErrorKind::Internal, "", "no error");
}

TokenizerBin small() {
  TokenizerBin t(6);
  t.token("<unk>").token("\n<s>\n").token("\n</s>\n").token("<0x0A>").token(" the", -1.0f).token("ing", -2.0f);
  return t;
}

TEST(Llama2cTokenizer, DecodesEachKind) {
  const auto v = parse(small().bytes(), 6);
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(v.kind, "llama2c");
  EXPECT_EQ(v.source, "mem/tokenizer.bin");
  EXPECT_EQ(v.token(0).type, TokenType::Unknown);
  EXPECT_EQ(v.token(1).type, TokenType::Control);
  EXPECT_EQ(v.display(1), "\\n<s>\\n");
  EXPECT_EQ(v.token(2).type, TokenType::Control);
  EXPECT_EQ(v.token(3).type, TokenType::Byte);
  EXPECT_EQ(v.token(3).bytes, "\n");
  EXPECT_EQ(v.token(3).piece, "<0x0A>");
  EXPECT_EQ(v.token(4).bytes, " the");
  EXPECT_EQ(v.display(4), " the");
  EXPECT_EQ(v.token(5).type, TokenType::Normal);
}

TEST(Llama2cTokenizer, ReadsFewerTokensThanPresent) {
  const auto v = parse(small().bytes(), 2);
  EXPECT_EQ(v.size(), 2u);
}

TEST(Llama2cTokenizer, NegativeCountReadsToTheEnd) {
  EXPECT_EQ(parse(small().bytes(), -1).size(), 6u);
  EXPECT_EQ(parse(TokenizerBin(0).bytes(), -1).size(), 0u);
}

TEST(Llama2cTokenizer, LengthOverMaxTokenLengthIsAccepted) {
  TokenizerBin t(2);
  t.token("abcdef");
  EXPECT_EQ(parse(t.bytes(), 1).token(0).piece, "abcdef");
}

TEST(Llama2cTokenizer, EmptyPieceAndInvalidUtf8) {
  TokenizerBin t(4);
  t.token("").token("\xE6\x97");
  const auto v = parse(t.bytes(), 2);
  EXPECT_EQ(v.display(0), "");
  EXPECT_EQ(v.display(1), "\\xe6\\x97");
}

// ---- damage, one kind per test ----

TEST(Llama2cTokenizerHostile, EveryTruncationIsAnError) {
  const auto full = small().bytes();
  for (std::size_t n = 0; n < full.size(); ++n) {
    const std::vector<std::uint8_t> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    const Error e = parse_error(prefix, 6);
    if (e.offset()) {
      EXPECT_LE(*e.offset(), n) << "prefix " << n;
    }
  }
}

TEST(Llama2cTokenizerHostile, NegativeLength) {
  TokenizerBin t(4);
  t.token("a").put(0.0f).put(std::int32_t{-5});
  const Error e = parse_error(t.bytes(), 2);
  EXPECT_EQ(e.offset(), 4u + 9u + 4u);  // header, token 0, token 1's score
  EXPECT_NE(e.message().find("negative"), std::string::npos);
}

TEST(Llama2cTokenizerHostile, LengthPastTheEnd) {
  TokenizerBin t(4);
  t.put(0.0f).put(std::int32_t{1000}).put(std::int32_t{0});
  const Error e = parse_error(t.bytes(), 1);
  EXPECT_EQ(e.offset(), 8u);
}

TEST(Llama2cTokenizerHostile, HugeLength) {
  TokenizerBin t(4);
  t.put(0.0f).put(std::int32_t{0x7fffffff});
  parse_error(t.bytes(), 1);
}

TEST(Llama2cTokenizerHostile, NegativeMaxTokenLength) {
  parse_error(TokenizerBin(-1).token("a").bytes(), 1);
}

TEST(Llama2cTokenizerHostile, CountBeyondTheFile) {
  // Checked against the bytes present before anything is allocated.
  parse_error(small().bytes(), std::int64_t{1} << 40);
  parse_error(small().bytes(), 7);
  parse_error(small().bytes(), kMaxVocabularySize);
}

TEST(Llama2cTokenizerHostile, MissingFileIsIo) {
  try {
    load_llama2c_tokenizer("/nonexistent/tokenizer.bin", 1);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
  }
}

// ---- real files ----

std::string data_path(const char* rel) {
  return std::string(EMBSTAT_SHARED_DATA) + "/" + rel;
}

TEST(Llama2cTokenizerData, Llama2TokenizerBin) {
  const std::string path = data_path("tokenizers/llama2/tokenizer.bin");
  if (!fs::exists(path)) GTEST_SKIP() << "real data absent: " << path;
  const auto v = load_llama2c_tokenizer(path, 32000);
  ASSERT_EQ(v.size(), 32000u);
  EXPECT_EQ(v.kind, "llama2c");
  EXPECT_EQ(v.source, path);
  EXPECT_EQ(v.token(0).type, TokenType::Unknown);
  EXPECT_EQ(v.token(1).type, TokenType::Control);
  EXPECT_EQ(v.token(2).type, TokenType::Control);
  EXPECT_EQ(v.token(13).piece, "<0x0A>");
  EXPECT_EQ(v.token(13).type, TokenType::Byte);
  EXPECT_EQ(v.token(13).bytes, "\n");
  EXPECT_EQ(v.display(13), "\\n");
  EXPECT_EQ(v.token(3 + 0xE6).bytes, "\xE6");
  EXPECT_EQ(v.display(3 + 0xE6), "\\xe6");
  EXPECT_EQ(v.display(278), " the");  // "▁the" in SentencePiece
  EXPECT_EQ(v.find(" the"), 278);
  EXPECT_EQ(v.display(259), "  ");
  EXPECT_EQ(v.display(31999), "\xE7\xBB\x99");  // 给
  // The whole file is 32,000 tokens: reading to the end gives the same.
  EXPECT_EQ(load_llama2c_tokenizer(path, -1).size(), 32000u);
}

TEST(Llama2cTokenizerData, Stories260KTok512) {
  const std::string path = data_path("stories260K/tok512.bin");
  if (!fs::exists(path)) GTEST_SKIP() << "real data absent: " << path;
  const auto v = load_llama2c_tokenizer(path, 512);
  ASSERT_EQ(v.size(), 512u);
  EXPECT_EQ(v.display(0), "<unk>");
  EXPECT_EQ(v.display(1), "\\n<s>\\n");
  EXPECT_EQ(v.token(1).type, TokenType::Control);
  EXPECT_EQ(v.token(2).type, TokenType::Control);
  for (int b = 0; b < 256; ++b) {
    ASSERT_EQ(v.token(3 + b).type, TokenType::Byte) << b;
    ASSERT_EQ(v.token(3 + b).bytes, std::string(1, static_cast<char>(b))) << b;
  }
  EXPECT_EQ(v.display(259), " t");
  EXPECT_EQ(v.display(260), "he");
  EXPECT_EQ(load_llama2c_tokenizer(path, -1).size(), 512u);
  // More tokens than the file holds: an error, not a read past the end.
  EXPECT_THROW(load_llama2c_tokenizer(path, 513), Error);
}

}  // namespace
}  // namespace embstat
