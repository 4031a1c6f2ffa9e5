// vocabulary_from_pieces: synthetic piece lists for each tokenizer.ggml.model, then the real
// vocabulary-only GGUF files read through the GGUF reader.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "embstat/base/error.hpp"
#include "embstat/formats/gguf.hpp"
#include "embstat/vocab/loaders.hpp"

namespace embstat {
namespace {

namespace fs = std::filesystem;

// llama.cpp token types.
constexpr std::int32_t kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6;

// GGUF pieces are read as views into the mapped file (no copy of 16 M strings first): the same
// vocabulary as from owned strings, and the tokens own their text once the views are gone.
TEST(GgufPieces, ViewsGiveTheSameVocabularyAsStrings) {
  const std::vector<std::string> owned = {"<unk>", "\xE2\x96\x81the", "<0x0A>", "", "ing"};
  const Vocabulary from_strings = vocabulary_from_pieces(owned, {}, "llama", "m.gguf");
  Vocabulary from_views;
  {
    std::vector<std::string> scratch = owned;
    const std::vector<std::string_view> views(scratch.begin(), scratch.end());
    from_views = vocabulary_from_pieces(std::span<const std::string_view>(views), {}, "llama", "m.gguf");
    for (auto& piece : scratch) piece.assign(piece.size(), '#');
  }
  ASSERT_EQ(from_views.size(), owned.size());
  EXPECT_EQ(from_views.kind, from_strings.kind);
  for (std::size_t i = 0; i < owned.size(); ++i) {
    EXPECT_EQ(from_views.token(static_cast<std::int64_t>(i)).piece, owned[i]);
    EXPECT_EQ(from_views.token(static_cast<std::int64_t>(i)).bytes,
              from_strings.token(static_cast<std::int64_t>(i)).bytes);
    EXPECT_EQ(from_views.token(static_cast<std::int64_t>(i)).type,
              from_strings.token(static_cast<std::int64_t>(i)).type);
  }
}

TEST(GgufPieces, Gpt2IsByteLevel) {
  const auto v = vocabulary_from_pieces({"!", "\xC4\xA0the", "\xC4\x8A", "<|endoftext|>", "\xC3\xB8", "\xC4\xA0x"},
                                        {kNormal, kNormal, kNormal, kControl, kUserDefined, kUnused}, "gpt2", "m.gguf");
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(v.kind, "byte-bpe");
  EXPECT_EQ(v.source, "m.gguf");
  EXPECT_EQ(v.display(0), "!");
  EXPECT_EQ(v.display(1), " the");
  EXPECT_EQ(v.display(2), "\\n");
  EXPECT_EQ(v.token(3).type, TokenType::Control);
  EXPECT_EQ(v.display(3), "<|endoftext|>");
  // User-defined (added, non-special) tokens are stored verbatim: "ø" is the text ø, not byte F8.
  EXPECT_EQ(v.token(4).type, TokenType::UserDefined);
  EXPECT_EQ(v.token(4).bytes, "\xC3\xB8");
  EXPECT_EQ(v.token(5).type, TokenType::Unused);
  EXPECT_EQ(v.token(5).bytes, "\xC4\xA0x");
}

TEST(GgufPieces, LlamaIsSentencePiece) {
  const auto v =
      vocabulary_from_pieces({"<unk>", "<s>", "</s>", "<0x0A>", "\xE2\x96\x81the", "ing", "<0x0B>"},
                             {kUnknown, kControl, kControl, kByte, kNormal, kNormal, kNormal}, "llama", "m.gguf");
  EXPECT_EQ(v.kind, "sentencepiece");
  EXPECT_EQ(v.token(0).type, TokenType::Unknown);
  EXPECT_EQ(v.display(0), "<unk>");
  EXPECT_EQ(v.token(3).type, TokenType::Byte);
  EXPECT_EQ(v.token(3).bytes, "\n");
  EXPECT_EQ(v.display(4), " the");
  EXPECT_EQ(v.display(5), "ing");
  EXPECT_EQ(v.display(6), "<0x0B>");  // typed normal: llama.cpp keeps it as text too
}

TEST(GgufPieces, LlamaWithoutTypesRecognisesByteTokens) {
  const auto v = vocabulary_from_pieces({"<0x0A>", "\xE2\x96\x81x"}, {}, "llama", "m.gguf");
  EXPECT_EQ(v.token(0).type, TokenType::Byte);
  EXPECT_EQ(v.token(0).bytes, "\n");
  EXPECT_EQ(v.token(1).bytes, " x");
}

TEST(GgufPieces, T5IsUnigram) {
  const auto v = vocabulary_from_pieces({"<pad>",
                                         "\xE2\x96\x81"
                                         "a"},
                                        {kControl, kNormal}, "t5", "m.gguf");
  EXPECT_EQ(v.kind, "unigram");
  EXPECT_EQ(v.token(1).bytes, " a");
}

TEST(GgufPieces, BertAsConvertedByLlamaCpp) {
  // convert_hf_to_gguf.py writes word starts as ▁word and drops ## from continuations.
  const auto v = vocabulary_from_pieces({"[PAD]", "[unused0]", "\xE2\x96\x81the", "ing"},
                                        {kControl, kNormal, kNormal, kNormal}, "bert", "m.gguf");
  EXPECT_EQ(v.kind, "wordpiece");
  EXPECT_EQ(v.display(1), "[unused0]");
  EXPECT_EQ(v.display(2), " the");
  EXPECT_EQ(v.display(3), "ing");
}

TEST(GgufPieces, BertWithHashContinuations) {
  const auto v = vocabulary_from_pieces({"[CLS]", "the", "##ing"}, {kControl, kNormal, kNormal}, "bert", "m.gguf");
  EXPECT_EQ(v.display(1), " the");
  EXPECT_EQ(v.display(2), "ing");
}

TEST(GgufPieces, OtherModelsAreRaw) {
  const auto v = vocabulary_from_pieces({"a\\nb", "\xC4\xA0"}, {}, "rwkv", "m.gguf");
  EXPECT_EQ(v.kind, "raw");
  EXPECT_EQ(v.token(1).bytes, "\xC4\xA0");
  EXPECT_EQ(vocabulary_from_pieces(std::vector<std::string>{}, {}, "", "m.gguf").kind, "none");
}

TEST(GgufPieces, UnknownTypeValuesCountAsNormal) {
  const auto v = vocabulary_from_pieces({"\xC4\xA0"
                                         "a",
                                         "\xC4\xA0"
                                         "b"},
                                        {0, 99}, "gpt2", "m.gguf");
  EXPECT_EQ(v.token(0).type, TokenType::Normal);
  EXPECT_EQ(v.token(1).type, TokenType::Normal);
  EXPECT_EQ(v.token(1).bytes, " b");
}

TEST(GgufPieces, TypeCountMismatchIsAnError) {
  try {
    vocabulary_from_pieces({"a", "b"}, {kNormal}, "gpt2", "m.gguf");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format);
    EXPECT_EQ(e.path(), "m.gguf");
  }
}

// ---- real vocabulary-only GGUF files, through the GGUF reader ----

Vocabulary gguf_vocab(const std::string& path) {
  const GgufFile g = parse_gguf(MappedFile::open(path));
  const auto* tokens = g.get_string_array("tokenizer.ggml.tokens");
  if (tokens == nullptr) return Vocabulary{};
  std::vector<std::int32_t> types;
  if (auto raw = g.get_int_array("tokenizer.ggml.token_type"))
    for (auto t : *raw) types.push_back(static_cast<std::int32_t>(t));
  return vocabulary_from_pieces(std::span<const std::string_view>(*tokens), types,
                                g.get_string("tokenizer.ggml.model").value_or(""), path);
}

class VocabGguf : public ::testing::Test {
 protected:
  Vocabulary load(const char* name) {
    const std::string path = std::string(EMBSTAT_SHARED_DATA) + "/vocab-gguf/" + name;
    if (!fs::exists(path)) {
      skipped_ = path;
      return Vocabulary{};
    }
    return gguf_vocab(path);
  }
  std::string skipped_;
};

#define LOAD_OR_SKIP(var, name)      \
  const Vocabulary var = load(name); \
  if (!skipped_.empty()) GTEST_SKIP() << "real data absent: " << skipped_;

TEST_F(VocabGguf, Gpt2) {
  LOAD_OR_SKIP(v, "ggml-vocab-gpt-2.gguf");
  ASSERT_EQ(v.size(), 50257u);
  EXPECT_EQ(v.kind, "byte-bpe");
  EXPECT_EQ(v.display(0), "!");
  EXPECT_EQ(v.display(1001), " Se");  // "ĠSe"
  EXPECT_EQ(v.display(198), "\\n");
  EXPECT_EQ(v.token(50256).type, TokenType::Control);
  EXPECT_EQ(v.display(50256), "<|endoftext|>");
}

TEST_F(VocabGguf, LlamaSpm) {
  LOAD_OR_SKIP(v, "ggml-vocab-llama-spm.gguf");
  ASSERT_EQ(v.size(), 32000u);
  EXPECT_EQ(v.kind, "sentencepiece");
  EXPECT_EQ(v.token(0).type, TokenType::Unknown);
  EXPECT_EQ(v.token(1).type, TokenType::Control);
  EXPECT_EQ(v.token(13).type, TokenType::Byte);
  EXPECT_EQ(v.display(13), "\\n");
  EXPECT_EQ(v.display(278), " the");
  EXPECT_EQ(v.display(1002), " stat");
}

TEST_F(VocabGguf, BertBge) {
  LOAD_OR_SKIP(v, "ggml-vocab-bert-bge.gguf");
  ASSERT_EQ(v.size(), 30522u);
  EXPECT_EQ(v.kind, "wordpiece");
  EXPECT_EQ(v.token(0).type, TokenType::Control);  // [PAD]
  EXPECT_EQ(v.display(1), "[unused0]");
  EXPECT_EQ(v.display(1000), " \"");
  EXPECT_EQ(v.display(*v.find("[CLS]")), "[CLS]");
}

TEST_F(VocabGguf, DeepseekUserDefinedTokensAreVerbatim) {
  LOAD_OR_SKIP(v, "ggml-vocab-deepseek-llm.gguf");
  ASSERT_EQ(v.size(), 102400u);
  EXPECT_EQ(v.display(1002), " This");
  std::size_t n_user = 0;
  for (const Token& t : v.tokens())
    if (t.type == TokenType::UserDefined) {
      ++n_user;
      ASSERT_EQ(t.bytes, t.piece);
    }
  EXPECT_EQ(n_user, 2398u);
  EXPECT_EQ(v.token(100000).type, TokenType::Control);
}

TEST_F(VocabGguf, Phi3) {
  LOAD_OR_SKIP(v, "ggml-vocab-phi-3.gguf");
  ASSERT_EQ(v.size(), 32064u);
  EXPECT_EQ(v.token(2).type, TokenType::UserDefined);  // </s> is user defined in this file
  EXPECT_EQ(v.display(2), "</s>");
  EXPECT_EQ(v.display(32000), "<|endoftext|>");
}

TEST_F(VocabGguf, EveryDisplayIsOneLine) {
  for (const char* name : {"ggml-vocab-gpt-2.gguf", "ggml-vocab-llama-spm.gguf", "ggml-vocab-bert-bge.gguf",
                           "ggml-vocab-deepseek-llm.gguf", "ggml-vocab-phi-3.gguf"}) {
    LOAD_OR_SKIP(v, name);
    for (std::size_t i = 0; i < v.size(); ++i)
      for (char ch : v.display(static_cast<std::int64_t>(i))) {
        const auto u = static_cast<unsigned char>(ch);
        ASSERT_FALSE(u < 0x20 || u == 0x7f) << name << " id " << i;
      }
  }
}

TEST(Stories260KGguf, VocabularyMatchesTok512) {
  const std::string dir = std::string(EMBSTAT_SHARED_DATA) + "/stories260K/";
  if (!fs::exists(dir + "stories260K.gguf") || !fs::exists(dir + "tok512.bin"))
    GTEST_SKIP() << "real data absent: " << dir;
  const Vocabulary g = gguf_vocab(dir + "stories260K.gguf");
  const Vocabulary t = load_llama2c_tokenizer(dir + "tok512.bin", 512);
  ASSERT_EQ(g.size(), 512u);
  EXPECT_EQ(g.kind, "sentencepiece");
  // Same SentencePiece model, two spellings: normal tokens and byte tokens decode alike.
  for (std::int64_t i = 3; i < 512; ++i) ASSERT_EQ(g.token(i).bytes, t.token(i).bytes) << "id " << i;
}

}  // namespace
}  // namespace embstat
