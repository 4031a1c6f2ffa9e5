// Hugging Face tokenizer.json encoding on small synthetic tokenizers whose right answer is
// worked out by hand, plus the hostile cases (bad merges, bad regexes, invalid UTF-8).
// The real tokenizers are checked id for id against their references in tests/tokenize/.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "embstat/vocab/encoder.hpp"
#include "fixtures/expect_error.hpp"

namespace embstat {
namespace {

using fixtures::contains;
using fixtures::expect_error;
using json = nlohmann::json;
using Ids = std::vector<std::int64_t>;

// A character-level BPE over "a b c d" + " " with merges in rank order.
json char_bpe(json merges) {
  return {{"model",
           {{"type", "BPE"},
            {"vocab", {{"a", 0}, {"b", 1}, {"c", 2}, {"d", 3}, {"ab", 4}, {"bc", 5}, {"abc", 6}, {" ", 7}, {"cd", 8}}},
            {"merges", std::move(merges)}}}};
}

std::unique_ptr<Encoder> encoder(const json& j, const std::string& config = "") {
  return parse_hf_encoder(j.dump(), config, "mem/tokenizer.json");
}

Ids ids(const Encoder& e, std::string_view text, bool special = true) {
  return e.encode(text, special).ids();
}

TEST(HfEncoder, MergesByRankLeftmostFirst) {
  // "bc" outranks "ab": abc -> a|bc, and no merge a+bc exists.
  EXPECT_EQ(ids(*encoder(char_bpe({"b c", "a b", "ab c"})), "abc"), (Ids{0, 5}));
  // "ab" first, then "ab c".
  EXPECT_EQ(ids(*encoder(char_bpe({"a b", "b c", "ab c"})), "abc"), (Ids{6}));
  // Equal candidates: the leftmost pair merges first ("cd" at 2 and at 4 of "cdcd" both rank 0).
  EXPECT_EQ(ids(*encoder(char_bpe(json::array({json::array({"c", "d"})}))), "cdcd"), (Ids{8, 8}));
}

TEST(HfEncoder, OffsetsAreBytesOfTheInput) {
  const auto e = encoder(char_bpe({"a b"}));
  const auto enc = e->encode("ab c", true);
  ASSERT_EQ(enc.tokens.size(), 3u);
  EXPECT_EQ(enc.tokens[0].start, 0u);
  EXPECT_EQ(enc.tokens[0].end, 2u);
  EXPECT_EQ(enc.tokens[2].start, 3u);
  EXPECT_EQ(enc.tokens[2].end, 4u);
}

TEST(HfEncoder, AddedTokensAreMatchedFirstWithTheirFlags) {
  json j = char_bpe({"a b"});
  j["added_tokens"] = {
      {{"id", 20}, {"content", "<x>"}, {"special", true}, {"normalized", false}},
      {{"id", 21}, {"content", "<s>"}, {"special", true}, {"lstrip", true}, {"rstrip", true}, {"normalized", false}},
      {{"id", 22}, {"content", "cd"}, {"special", false}, {"single_word", true}, {"normalized", false}},
  };
  j["model"]["vocab"]["<"] = 30;
  j["model"]["vocab"][">"] = 31;
  j["model"]["vocab"]["x"] = 32;
  const auto e = encoder(j);
  EXPECT_EQ(ids(*e, "ab<x>ab"), (Ids{4, 20, 4}));
  // lstrip / rstrip swallow the spaces around <s>.
  EXPECT_EQ(ids(*e, "a  <s>  b"), (Ids{0, 21, 1}));
  // single_word: "cd" alone is the added token, inside "acd" it is not.
  EXPECT_EQ(ids(*e, "cd a"), (Ids{22, 7, 0}));
  EXPECT_EQ(ids(*e, "acd"), (Ids{0, 2, 3}));
}

TEST(HfEncoder, TemplateProcessingAddsBosAndEosUnlessNoSpecial) {
  json j = char_bpe({"a b"});
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single",
                          {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                           {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                           {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}}},
                         {"special_tokens",
                          {{"<s>", {{"id", "<s>"}, {"ids", {40}}, {"tokens", {"<s>"}}}},
                           {"</s>", {{"id", "</s>"}, {"ids", {41}}, {"tokens", {"</s>"}}}}}}};
  const auto e = encoder(j);
  const auto enc = e->encode("ab", true);
  EXPECT_EQ(enc.ids(), (Ids{40, 4, 41}));
  EXPECT_TRUE(enc.bos_added);
  EXPECT_TRUE(enc.eos_added);
  EXPECT_EQ(ids(*e, "ab", false), (Ids{4}));
}

TEST(HfEncoder, LlamaConfigAddBosOverridesThePostProcessor) {
  json j = char_bpe({"a b"});
  j["model"]["vocab"]["<s>"] = 40;
  const std::string config = R"({"tokenizer_class":"LlamaTokenizerFast","add_bos_token":true,"bos_token":"<s>"})";
  EXPECT_EQ(ids(*encoder(j, config), "ab"), (Ids{40, 4}));
  // Other classes keep tokenizer.json's post-processor (none here).
  EXPECT_EQ(ids(*encoder(j, R"({"tokenizer_class":"Qwen2Tokenizer","add_bos_token":true,"bos_token":"<s>"})"), "ab"),
            (Ids{4}));
}

TEST(HfEncoder, ByteLevelSplitRegexAndIgnoreMerges) {
  // GPT-2 style: bytes map to printable characters, " " is "Ġ".
  json j;
  j["model"] = {{"type", "BPE"},
                {"vocab", {{"a", 0}, {"b", 1}, {"Ġ", 2}, {"Ġa", 3}, {"ab", 4}, {"1", 5}, {"Ġab", 6}}},
                {"merges", {"Ġ a", "a b", "Ġa b"}}};
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Split"}, {"pattern", {{"Regex", R"( ?\p{L}+|\p{N})"}}}, {"behavior", "Isolated"}},
                          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  EXPECT_EQ(ids(*encoder(j), "ab ab11"), (Ids{4, 6, 5, 5}));
  // ignore_merges: a word that is a vocabulary entry is taken whole. Without merges "Ġab"
  // would stay Ġ|a|b.
  j["model"]["merges"] = json::array();
  EXPECT_EQ(ids(*encoder(j), " ab"), (Ids{2, 0, 1}));
  j["model"]["ignore_merges"] = true;
  EXPECT_EQ(ids(*encoder(j), " ab"), (Ids{6}));
}

TEST(HfEncoder, MetaspaceAndByteFallback) {
  json j;
  j["model"] = {
      {"type", "BPE"},
      {"byte_fallback", true},
      {"vocab", {{"<unk>", 0}, {"▁", 1}, {"h", 2}, {"i", 3}, {"▁h", 4}, {"▁hi", 5}, {"<0xC3>", 6}, {"<0xA9>", 7}}},
      {"merges", {"▁ h", "▁h i"}},
      {"unk_token", "<unk>"}};
  j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}, {"split", true}};
  // "é" is not in the vocabulary: its two UTF-8 bytes become <0xC3> <0xA9>, covering its bytes.
  const auto enc = encoder(j)->encode("hi é", true);
  EXPECT_EQ(enc.ids(), (Ids{5, 1, 6, 7}));
  EXPECT_EQ(enc.tokens[2].start, 3u);
  EXPECT_EQ(enc.tokens[3].end, 5u);
}

TEST(HfEncoder, NfcNormalizerKeepsOffsetsOnTheOriginalText) {
  json j;
  j["normalizer"] = {{"type", "NFC"}};
  j["model"] = {{"type", "BPE"}, {"vocab", {{"e", 0}, {"é", 1}, {"x", 2}}}, {"merges", json::array()}};
  // "e" + U+0301 (3 bytes) composes to "é", which covers all 3 original bytes.
  const auto enc = encoder(j)->encode("xe\xCC\x81x", true);
  EXPECT_EQ(enc.ids(), (Ids{2, 1, 2}));
  EXPECT_EQ(enc.tokens[1].start, 1u);
  EXPECT_EQ(enc.tokens[1].end, 4u);
}

TEST(HfEncoder, MergeNamingAnUnknownPieceIsOneClearError) {
  const Error e = expect_error([] { encoder(char_bpe({"a b", "a zz"})); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.what(), "mem/tokenizer.json"));
  EXPECT_TRUE(contains(e.what(), "merge 1 (\"a\" \"zz\") names \"zz\", which is not in the vocabulary"));
  // The merged piece must exist too.
  const Error e2 = expect_error([] { encoder(char_bpe({"b d"})); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e2.what(), "names \"bd\""));
}

TEST(HfEncoder, RegexThePcre2LibraryRejectsIsOneClearError) {
  json j = char_bpe({"a b"});
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"Regex", "(?<x>a"}}}, {"behavior", "Isolated"}};
  const Error e = expect_error([&] { encoder(j); }, ErrorKind::Unsupported);
  EXPECT_TRUE(contains(e.what(), "mem/tokenizer.json: pre-tokenizer regex rejected at pattern offset"));
}

TEST(HfEncoder, InvalidUtf8IsRefusedWithItsByteOffset) {
  const auto e = encoder(char_bpe({"a b"}));
  const Error err = expect_error([&] { e->encode("ab\xC3(", true); }, ErrorKind::Format);
  EXPECT_EQ(err.offset(), std::optional<std::uint64_t>(2));
  EXPECT_TRUE(contains(err.what(), "not valid UTF-8"));
  for (const char* bad : {"\xED\xA0\x80", "\xC0\xAF", "\xF4\x90\x80\x80", "\xE6\x97"})
    EXPECT_EQ(first_invalid_utf8(std::string("ok") + bad), 2u) << bad;
  EXPECT_EQ(first_invalid_utf8("ok \xF0\x9F\x98\x80"), std::string_view::npos);
}

TEST(HfEncoder, UnsupportedComponentsAreNamed) {
  json j = char_bpe({"a b"});
  j["model"]["type"] = "WordPiece";
  EXPECT_TRUE(contains(expect_error([&] { encoder(j); }, ErrorKind::Unsupported).what(), "WordPiece"));
  j = char_bpe({"a b"});
  j["normalizer"] = {{"type", "BertNormalizer"}};
  EXPECT_TRUE(contains(expect_error([&] { encoder(j); }, ErrorKind::Unsupported).what(), "BertNormalizer"));
}

}  // namespace
}  // namespace embstat
