// Hugging Face tokenizer.json loader: each model type and spelling convention on small
// documents built here, the real Qwen3 tokenizer, and one hostile document per check.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "embstat/base/error.hpp"
#include "embstat/vocab/loaders.hpp"

namespace embstat {
namespace {

namespace fs = std::filesystem;

Vocabulary parse(const std::string& json) {
  return parse_tokenizer_json(json, "mem/tokenizer.json");
}

// Runs the parser on `json`, expecting an Error of `kind`; returns it for further checks.
Error parse_error(const std::string& json, ErrorKind kind = ErrorKind::Format) {
  try {
    parse(json);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_EQ(e.path(), "mem/tokenizer.json");
    return e;
  }
  ADD_FAILURE() << "no error for: " << json.substr(0, 200);
  return Error(ErrorKind::Internal, "", "no error");
}

// {"model": {"type": "BPE", "vocab": VOCAB}} with extra top-level members.
std::string bpe_doc(const std::string& vocab, const std::string& extra = "") {
  return R"({)" + extra + (extra.empty() ? "" : ",") + R"("model": {"type": "BPE", "vocab": )" + vocab +
         R"(, "merges": []}})";
}

const std::string kByteLevelPre = R"("pre_tokenizer": {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "x"}, "behavior": "Isolated", "invert": false},
    {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}]})";

TEST(TokenizerJson, ByteLevelBpeWithAddedTokens) {
  const auto v = parse(R"({"added_tokens": [
      {"id": 3, "content": "<|end|>", "special": true},
      {"id": 5, "content": "<think>", "special": false},
      {"id": 6, "content": "\u0120x", "special": false}],
    )" + kByteLevelPre +
                       R"(, "decoder": null,
    "model": {"type": "BPE", "vocab": {"!": 0, "\u0120hi": 1, "\u010a": 2}, "merges": ["\u0120 h", "h i"]}})");
  ASSERT_EQ(v.size(), 7u);
  EXPECT_EQ(v.kind, "byte-bpe");
  EXPECT_EQ(v.source, "mem/tokenizer.json");
  EXPECT_EQ(v.token(0).bytes, "!");
  EXPECT_EQ(v.token(1).piece, "\xC4\xA0hi");
  EXPECT_EQ(v.token(1).bytes, " hi");
  EXPECT_EQ(v.display(2), "\\n");
  EXPECT_EQ(v.token(3).type, TokenType::Control);
  EXPECT_EQ(v.display(3), "<|end|>");
  EXPECT_EQ(v.token(4).type, TokenType::Unused);  // a hole between ids
  EXPECT_EQ(v.token(4).piece, "");
  EXPECT_EQ(v.token(5).type, TokenType::UserDefined);
  EXPECT_EQ(v.token(5).bytes, "<think>");
  EXPECT_EQ(v.token(6).bytes, "\xC4\xA0x");  // added tokens are verbatim, not byte-level
}

TEST(TokenizerJson, ByteLevelFromDecoderAlone) {
  const auto v = parse(bpe_doc(R"({"\u0120a": 0})", R"("decoder": {"type": "ByteLevel"})"));
  EXPECT_EQ(v.kind, "byte-bpe");
  EXPECT_EQ(v.token(0).bytes, " a");
}

TEST(TokenizerJson, LlamaStyleSentencePieceBpe) {
  const auto v = parse(R"({
    "added_tokens": [{"id": 0, "content": "<unk>", "special": true},
                     {"id": 1, "content": "<s>", "special": true},
                     {"id": 2, "content": "</s>", "special": true}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "\u2581"},
                   {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]},
    "pre_tokenizer": null,
    "decoder": {"type": "Sequence", "decoders": [
        {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
        {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
    "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>", "fuse_unk": true,
              "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "\u2581the": 4, "ing": 5, "<0xE6>": 6},
              "merges": ["\u2581 t"]}})");
  ASSERT_EQ(v.size(), 7u);
  EXPECT_EQ(v.kind, "sentencepiece");
  EXPECT_EQ(v.token(0).type, TokenType::Unknown);
  EXPECT_EQ(v.display(0), "<unk>");
  EXPECT_EQ(v.token(1).type, TokenType::Control);
  EXPECT_EQ(v.token(3).type, TokenType::Byte);
  EXPECT_EQ(v.token(3).bytes, "\n");
  EXPECT_EQ(v.display(3), "\\n");
  EXPECT_EQ(v.token(4).bytes, " the");
  EXPECT_EQ(v.token(5).bytes, "ing");
  EXPECT_EQ(v.display(6), "\\xe6");
}

TEST(TokenizerJson, MetaspacePreTokenizerWithoutByteFallback) {
  const auto v = parse(
      bpe_doc(R"({"\u2581a": 0, "<0x0A>": 1})", R"("pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581"})"));
  EXPECT_EQ(v.kind, "sentencepiece");
  EXPECT_EQ(v.token(0).bytes, " a");
  EXPECT_EQ(v.token(1).type, TokenType::Normal);  // no byte fallback: literal text
  EXPECT_EQ(v.token(1).bytes, "<0x0A>");
}

TEST(TokenizerJson, MetaspaceCustomReplacement) {
  const auto v = parse(bpe_doc(R"({"_a": 0})", R"("decoder": {"type": "Metaspace", "replacement": "_"})"));
  EXPECT_EQ(v.token(0).bytes, " a");
}

TEST(TokenizerJson, Unigram) {
  const auto v = parse(R"({"pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"},
    "decoder": {"type": "Metaspace", "replacement": "\u2581"},
    "model": {"type": "Unigram", "unk_id": 2, "byte_fallback": false,
              "vocab": [["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0], ["\u2581a", -1.5], ["b", -2]]},
    "added_tokens": [{"id": 0, "content": "<pad>", "special": true}]})");
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v.kind, "unigram");
  EXPECT_EQ(v.token(0).type, TokenType::Control);
  EXPECT_EQ(v.token(1).type, TokenType::Normal);
  EXPECT_EQ(v.token(2).type, TokenType::Unknown);
  EXPECT_EQ(v.token(3).bytes, " a");
  EXPECT_EQ(v.token(4).bytes, "b");
}

TEST(TokenizerJson, UnigramWithoutTypeIsInferred) {
  const auto v = parse(R"({"model": {"vocab": [["\u2581x", -1.0]]}})");
  EXPECT_EQ(v.kind, "unigram");
  EXPECT_EQ(v.token(0).bytes, " x");
}

TEST(TokenizerJson, WordPiece) {
  const auto v = parse(R"({"added_tokens": [{"id": 0, "content": "[PAD]", "special": true},
                                            {"id": 1, "content": "[UNK]", "special": true}],
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100,
              "vocab": {"[PAD]": 0, "[UNK]": 1, "the": 2, "##ing": 3, "[unused0]": 4, "\u65e5": 5}}})");
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(v.kind, "wordpiece");
  EXPECT_EQ(v.token(1).type, TokenType::Unknown);
  EXPECT_EQ(v.token(2).bytes, " the");
  EXPECT_EQ(v.token(3).bytes, "ing");
  EXPECT_EQ(v.token(4).bytes, "[unused0]");
  EXPECT_EQ(v.token(5).bytes, " \xE6\x97\xA5");
}

TEST(TokenizerJson, WordPiecePrefixFromModel) {
  const auto v = parse(R"({"model": {"type": "WordPiece", "continuing_subword_prefix": "@@",
                                     "vocab": {"a": 0, "@@b": 1}}})");
  EXPECT_EQ(v.token(0).bytes, " a");
  EXPECT_EQ(v.token(1).bytes, "b");
}

TEST(TokenizerJson, WordLevelAndPlainBpeAreRaw) {
  auto v = parse(R"({"model": {"type": "WordLevel", "vocab": {"hello": 0, "\u2581x": 1}, "unk_token": "hello"}})");
  EXPECT_EQ(v.kind, "raw");
  EXPECT_EQ(v.token(0).type, TokenType::Unknown);
  EXPECT_EQ(v.token(1).bytes, "\xE2\x96\x81x");
  v = parse(bpe_doc(R"({"ab": 0})"));
  EXPECT_EQ(v.kind, "raw");
  EXPECT_EQ(v.token(0).bytes, "ab");
}

TEST(TokenizerJson, EndOfWordSuffix) {
  // CLIP: byte-level pieces, "</w>" marks a word end.
  const auto v = parse(bpe_doc(R"({"the</w>": 0, "th": 1})",
                               kByteLevelPre + R"(, "decoder": {"type": "BPEDecoder", "suffix": "</w>"})"));
  EXPECT_EQ(v.kind, "byte-bpe");
  EXPECT_EQ(v.token(0).bytes, "the ");
  EXPECT_EQ(v.token(1).bytes, "th");
}

TEST(TokenizerJson, SparseAndDuplicateIds) {
  auto v = parse(bpe_doc(R"({"a": 0, "b": 10})"));
  ASSERT_EQ(v.size(), 11u);
  for (int i = 1; i < 10; ++i) EXPECT_EQ(v.token(i).type, TokenType::Unused);
  EXPECT_EQ(v.token(10).piece, "b");
  v = parse(bpe_doc(R"({"a": 0, "b": 0})"));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v.token(0).piece, "a");  // the first piece with an id names it
}

TEST(TokenizerJson, EmptyVocabulary) {
  const auto v = parse(bpe_doc("{}", R"("added_tokens": [])"));
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.kind, "none");
}

TEST(TokenizerJson, EscapedStringsAndNul) {
  const auto v = parse(bpe_doc(R"({"a\u0000b": 0, "\"q\"": 1, "\ud83d\ude00": 2})"));
  EXPECT_EQ(v.token(0).piece, std::string("a\0b", 3));
  EXPECT_EQ(v.display(0), "a\\x00b");
  EXPECT_EQ(v.token(1).piece, "\"q\"");
  EXPECT_EQ(v.token(2).piece, "\xF0\x9F\x98\x80");
}

// ---- hostile documents: one per check ----

TEST(TokenizerJsonHostile, SyntaxErrorHasOffset) {
  const std::string json = bpe_doc(R"({"a": 0,})");
  const Error e = parse_error(json);
  ASSERT_TRUE(e.offset().has_value());
  EXPECT_EQ(*e.offset(), json.find(",}") + 1);
  EXPECT_NE(std::string(e.what()).find("mem/tokenizer.json"), std::string::npos);
  EXPECT_NE(e.message().find("invalid JSON"), std::string::npos);
}

TEST(TokenizerJsonHostile, EveryTruncationIsAnError) {
  const std::string json = R"({"added_tokens": [{"id": 2, "content": "<s>", "special": true}],
    "model": {"type": "BPE", "vocab": {"\u0120a": 0, "b": 1}, "merges": ["a b"]}})";
  ASSERT_EQ(parse(json).size(), 3u);
  for (std::size_t n = 0; n < json.size(); ++n) {
    const Error e = parse_error(json.substr(0, n));
    EXPECT_TRUE(e.offset().has_value()) << "prefix " << n;
    if (e.offset()) {
      EXPECT_LE(*e.offset(), n);
    }
  }
}

TEST(TokenizerJsonHostile, InvalidUtf8) {
  parse_error(bpe_doc("{\"\xff\": 0}"));
}
TEST(TokenizerJsonHostile, TrailingGarbage) {
  parse_error(bpe_doc("{}") + " x");
}
TEST(TokenizerJsonHostile, DeepNesting) {
  parse_error(std::string(100000, '[') + std::string(100000, ']'));
  parse_error(R"({"model": )" + std::string(5000, '[') + std::string(5000, ']') + "}");
}
TEST(TokenizerJsonHostile, TopLevelNotObject) {
  parse_error("[1, 2]");
}
TEST(TokenizerJsonHostile, NoModel) {
  parse_error(R"({"added_tokens": []})");
}
TEST(TokenizerJsonHostile, ModelNotObject) {
  parse_error(R"({"model": "BPE"})");
}
TEST(TokenizerJsonHostile, UnknownModelType) {
  const Error e = parse_error(R"({"model": {"type": "Magic", "vocab": {}}})", ErrorKind::Unsupported);
  EXPECT_NE(e.message().find("Magic"), std::string::npos);
}
TEST(TokenizerJsonHostile, ModelTypeNotString) {
  parse_error(R"({"model": {"type": 3, "vocab": {}}})");
}
TEST(TokenizerJsonHostile, NoVocab) {
  parse_error(R"({"model": {"type": "BPE", "merges": []}})");
}
TEST(TokenizerJsonHostile, VocabWrongType) {
  parse_error(bpe_doc("[]"));
  parse_error(R"({"model": {"type": "Unigram", "vocab": {"a": 0}}})");
}
TEST(TokenizerJsonHostile, IdNotAnInteger) {
  parse_error(bpe_doc(R"({"a": "0"})"));
  parse_error(bpe_doc(R"({"a": 1.5})"));
  parse_error(bpe_doc(R"({"a": 1e300})"));
  parse_error(bpe_doc(R"({"a": null})"));
  parse_error(bpe_doc(R"({"a": true})"));
}
TEST(TokenizerJsonHostile, NegativeId) {
  const Error e = parse_error(bpe_doc(R"({"a": -1})"));
  EXPECT_NE(e.message().find("negative"), std::string::npos);
}
TEST(TokenizerJsonHostile, HugeIds) {
  parse_error(bpe_doc(R"({"a": 16777216})"));
  parse_error(bpe_doc(R"({"a": 9223372036854775807})"));
  parse_error(bpe_doc(R"({"a": 18446744073709551615})"));
  parse_error(bpe_doc(R"({"a": 99999999999999999999999999})"));
  parse_error(bpe_doc("{}", R"("added_tokens": [{"id": 4294967296, "content": "x"}])"));
}
TEST(TokenizerJsonHostile, IdsTooSparse) {
  // A few bytes must not allocate millions of tokens.
  const Error e = parse_error(bpe_doc(R"({"a": 16000000})"));
  EXPECT_NE(e.message().find("sparse"), std::string::npos);
  parse_error(bpe_doc("{}", R"("added_tokens": [{"id": 10000000, "content": "x"}])"));
}
TEST(TokenizerJsonHostile, AddedTokensMalformed) {
  parse_error(bpe_doc("{}", R"("added_tokens": {})"));
  parse_error(bpe_doc("{}", R"("added_tokens": [3])"));
  parse_error(bpe_doc("{}", R"("added_tokens": [{"content": "x"}])"));
  parse_error(bpe_doc("{}", R"("added_tokens": [{"id": 0}])"));
  parse_error(bpe_doc("{}", R"("added_tokens": [{"id": 0, "content": 5}])"));
  parse_error(bpe_doc("{}", R"("added_tokens": [{"id": 0, "content": "x", "special": "yes"}])"));
  parse_error(bpe_doc("{}", R"("added_tokens": [{"id": -3, "content": "x"}])"));
}
TEST(TokenizerJsonHostile, UnigramEntriesMalformed) {
  parse_error(R"({"model": {"type": "Unigram", "vocab": [["a", 0], "b"]}})");
  parse_error(R"({"model": {"type": "Unigram", "vocab": [[]]}})");
  parse_error(R"({"model": {"type": "Unigram", "vocab": [[5, 0.0]]}})");
  parse_error(R"({"model": {"type": "Unigram", "unk_id": -1, "vocab": [["a", 0]]}})");
}
TEST(TokenizerJsonHostile, EmptyInput) {
  const Error e = parse_error("");
  EXPECT_EQ(e.offset(), 0u);
  parse_error("   ");
}

TEST(TokenizerJsonHostile, FileErrorsNameThePath) {
  const fs::path dir = fs::temp_directory_path() / ("embstat_tokjson_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "tokenizer.json").string();
  { std::ofstream(path) << "{\"model\": {"; }
  try {
    load_tokenizer_json(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format);
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
  try {
    load_tokenizer_json((dir / "missing.json").string());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Io);
  }
  fs::remove_all(dir);
}

// ---- the real Qwen3 tokenizer ----

class Qwen3TokenizerJson : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string path = std::string(EMBSTAT_SHARED_DATA) + "/tokenizers/qwen3/tokenizer.json";
    if (fs::exists(path)) vocab_ = new Vocabulary(load_tokenizer_json(path));
  }
  static void TearDownTestSuite() {
    delete vocab_;
    vocab_ = nullptr;
  }
  void SetUp() override {
    if (vocab_ == nullptr) GTEST_SKIP() << "real data absent: " EMBSTAT_SHARED_DATA "/tokenizers/qwen3/tokenizer.json";
  }
  static Vocabulary* vocab_;
};
Vocabulary* Qwen3TokenizerJson::vocab_ = nullptr;

TEST_F(Qwen3TokenizerJson, SizeAndKind) {
  EXPECT_EQ(vocab_->size(), 151669u);  // 151,643 vocab entries + 26 added tokens
  EXPECT_EQ(vocab_->kind, "byte-bpe");
  EXPECT_NE(vocab_->source.find("qwen3/tokenizer.json"), std::string::npos);
}

TEST_F(Qwen3TokenizerJson, FirstIdsArePrintableAscii) {
  for (int i = 0; i <= 93; ++i) {
    const std::string ch(1, static_cast<char>('!' + i));
    ASSERT_EQ(vocab_->token(i).bytes, ch) << "id " << i;
    ASSERT_EQ(vocab_->display(i), ch == "\\" ? "\\\\" : ch) << "id " << i;  // a backslash shows doubled
    ASSERT_EQ(vocab_->token(i).type, TokenType::Normal);
  }
}

TEST_F(Qwen3TokenizerJson, ByteTokensAndWords) {
  EXPECT_EQ(vocab_->token(198).piece, "\xC4\x8A");  // Ċ
  EXPECT_EQ(vocab_->token(198).bytes, "\n");
  EXPECT_EQ(vocab_->display(198), "\\n");
  EXPECT_EQ(vocab_->display(220), " ");
  EXPECT_EQ(vocab_->token(279).piece, "\xC4\xA0the");
  EXPECT_EQ(vocab_->display(279), " the");
  EXPECT_EQ(vocab_->display(256), "  ");
  EXPECT_EQ(vocab_->display(108386), "\xE4\xBD\xA0\xE5\xA5\xBD");  // 你好
  EXPECT_EQ(vocab_->find(" the"), 279);
}

TEST_F(Qwen3TokenizerJson, AddedTokens) {
  EXPECT_EQ(vocab_->token(151643).piece, "<|endoftext|>");
  EXPECT_EQ(vocab_->token(151643).type, TokenType::Control);
  EXPECT_EQ(vocab_->display(151643), "<|endoftext|>");
  EXPECT_EQ(vocab_->token(151644).piece, "<|im_start|>");
  EXPECT_EQ(vocab_->token(151667).piece, "<think>");
  EXPECT_EQ(vocab_->token(151667).type, TokenType::UserDefined);
  EXPECT_EQ(vocab_->token(151668).piece, "</think>");
  EXPECT_EQ(vocab_->display(151669), "<no token>");
}

TEST_F(Qwen3TokenizerJson, EveryDisplayIsOneLine) {
  for (std::size_t i = 0; i < vocab_->size(); ++i) {
    const std::string d = vocab_->display(static_cast<std::int64_t>(i));
    ASSERT_FALSE(d.empty()) << "id " << i;
    for (char ch : d) {
      const auto u = static_cast<unsigned char>(ch);
      ASSERT_FALSE(u < 0x20 || u == 0x7f) << "id " << i;
    }
  }
}

}  // namespace
}  // namespace embstat
