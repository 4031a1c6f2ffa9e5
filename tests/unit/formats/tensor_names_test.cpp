// pick_embedding_tensor(): the known-name list, suffixes, config shape preference, the single
// 2-D tensor fallback, --tensor, and --matrix output with tied / untied checkpoints.
#include "embstat/formats/tensor_names.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "embstat/base/error.hpp"
#include "tests/fixtures/expect_error.hpp"

namespace embstat {
namespace {

using fixtures::contains;
using fixtures::expect_error;

TensorPick pick(const std::vector<TensorCandidate>& tensors, const OpenOptions& o = {}, const ModelConfig& c = {}) {
  return pick_embedding_tensor(tensors, o, c, "m");
}

OpenOptions output() {
  OpenOptions o;
  o.matrix = MatrixChoice::Output;
  return o;
}

TEST(TensorNames, EveryListedNameIsFound) {
  for (auto name : kInputEmbeddingNames) {
    SCOPED_TRACE(name);
    const auto p = pick({{"model.layers.0.mlp.up_proj.weight", {8, 4}}, {std::string(name), {10, 4}}});
    EXPECT_EQ(p.name, name);
  }
  for (auto name : kOutputEmbeddingNames) {
    SCOPED_TRACE(name);
    const auto p = pick({{"model.embed_tokens.weight", {10, 4}}, {std::string(name), {10, 4}}}, output());
    EXPECT_EQ(p.name, name);
    EXPECT_FALSE(p.tied);
  }
}

TEST(TensorNames, ListOrderDecidesBetweenKnownNames) {
  const auto p = pick({{"token_embd.weight", {10, 4}}, {"model.embed_tokens.weight", {10, 4}}});
  EXPECT_EQ(p.name, "model.embed_tokens.weight");
  EXPECT_TRUE(contains(p.notes.at(0), "2 tensors look like token embeddings"));
}

TEST(TensorNames, SuffixMatchesUnderOtherPrefixes) {
  EXPECT_EQ(pick({{"thinker.model.embed_tokens.weight", {10, 4}}}).name, "thinker.model.embed_tokens.weight");
  EXPECT_EQ(pick({{"h.0.attn.weight", {4, 4}}, {"foo.wte.weight", {10, 4}}}).name, "foo.wte.weight");
  // Position embeddings are not token embeddings.
  auto e = expect_error([] { pick({{"wpe.weight", {4, 4}}, {"x.weight", {4, 4}}}); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "wpe.weight [4, 4], x.weight [4, 4]"));
}

TEST(TensorNames, ConfigShapePrefersTheMatchingCandidate) {
  ModelConfig c;
  c.vocab_size = 100;
  c.hidden_size = 8;
  // The vision tower's embed_tokens (wrong shape) comes first by name order; the text one fits.
  const auto p =
      pick({{"model.embed_tokens.weight", {50, 8}}, {"model.language_model.embed_tokens.weight", {100, 8}}}, {}, c);
  EXPECT_EQ(p.name, "model.language_model.embed_tokens.weight");
}

TEST(TensorNames, ShapeNotes) {
  ModelConfig c;
  c.vocab_size = 100;
  c.hidden_size = 8;
  const std::vector<std::int64_t> rows_off = {101, 8};
  try {
    shape_notes("e", rows_off, c, "m");
    ADD_FAILURE() << "rows that contradict vocab_size must be an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Format);
    EXPECT_TRUE(contains(e.what(), "101 rows but config.json says vocab_size 100"));
  }
  const std::vector<std::int64_t> cols_off = {100, 9};
  const auto notes = shape_notes("e", cols_off, c, "m");
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_TRUE(contains(notes[0], "9 columns but config.json says hidden_size 8"));
  const std::vector<std::int64_t> good = {100, 8};
  EXPECT_TRUE(shape_notes("e", good, c, "m").empty());
}

TEST(TensorNames, OnlyTwoDimensionalTensorFallback) {
  const auto p = pick({{"norm", {4}}, {"my_vectors", {10, 4}}});
  EXPECT_EQ(p.name, "my_vectors");
  EXPECT_TRUE(p.tied);
  EXPECT_TRUE(contains(p.notes.at(0), "only 2-D tensor"));
}

// An empty name is a name: the only 2-D tensor called "" is picked, not taken for "none".
TEST(TensorNames, TheOnlyMatrixMayHaveAnEmptyName) {
  const auto p = pick({{"norm", {4}}, {"", {10, 4}}});
  ASSERT_TRUE(p.name.has_value());
  EXPECT_EQ(*p.name, "");
  EXPECT_TRUE(contains(p.notes.at(0), "only 2-D tensor ''"));
}

// A token embedding stored 1-D is named as such, not reported as missing.
TEST(TensorNames, AOneDimensionalEmbeddingIsReportedAsOneDimensional) {
  for (const char* name : {"model.embed_tokens.weight", "token_embd.weight", "x.wte.weight"}) {
    const auto e = expect_error([&] { pick({{name, {151936}}, {"model.norm.weight", {1024}}}); }, ErrorKind::Format);
    EXPECT_TRUE(contains(e.message(), fmt::format("tensor '{}' is 1-D [151936], not a matrix", name)));
  }
  // Beside a 2-D tensor, that one is read.
  EXPECT_EQ(pick({{"model.embed_tokens.weight", {151936}}, {"m", {10, 4}}}).name, "m");
}

TEST(TensorNames, TensorOverride) {
  OpenOptions o;
  o.tensor = "norm";
  EXPECT_EQ(pick({{"norm", {4}}, {"model.embed_tokens.weight", {10, 4}}}, o).name, "norm");
  o.tensor = "cube";
  expect_error([&] { pick({{"cube", {2, 2, 2}}}, o); }, ErrorKind::Unsupported);
  o.tensor = "absent";
  auto e = expect_error([&] { pick({{"model.embed_tokens.weight", {10, 4}}}, o); }, ErrorKind::Usage);
  EXPECT_TRUE(contains(e.message(), "no tensor named 'absent'"));
}

TEST(TensorNames, OutputWhenTied) {
  // No output tensor: tied, the input with a note.
  auto p = pick({{"model.embed_tokens.weight", {10, 4}}}, output());
  EXPECT_EQ(p.name, "model.embed_tokens.weight");
  EXPECT_TRUE(p.tied);
  EXPECT_TRUE(contains(p.notes.at(0), "no output tensor"));
  // Config says tied although lm_head is stored: the input, and the note names both.
  ModelConfig tied;
  tied.tie_word_embeddings = true;
  p = pick({{"model.embed_tokens.weight", {10, 4}}, {"lm_head.weight", {10, 4}}}, output(), tied);
  EXPECT_EQ(p.name, "model.embed_tokens.weight");
  EXPECT_TRUE(contains(p.notes.at(0), "also stores 'lm_head.weight'"));
  // Config says untied but no output tensor exists.
  ModelConfig untied;
  untied.tie_word_embeddings = false;
  expect_error([&] { pick({{"model.embed_tokens.weight", {10, 4}}}, output(), untied); }, ErrorKind::Format);
}

TEST(TensorNames, InputReportsTheOutputTensor) {
  const auto p = pick({{"model.embed_tokens.weight", {10, 4}}, {"lm_head.weight", {10, 4}}});
  EXPECT_EQ(p.name, "model.embed_tokens.weight");
  EXPECT_EQ(p.output_name, "lm_head.weight");
  EXPECT_FALSE(p.tied);
  EXPECT_TRUE(p.has_output_matrix);
}

TEST(TensorNames, NamesOnlyFromAShardIndex) {
  const auto p = pick({{"lm_head.weight", {}}, {"model.embed_tokens.weight", {}}, {"model.norm.weight", {}}});
  EXPECT_EQ(p.name, "model.embed_tokens.weight");
  EXPECT_TRUE(p.has_output_matrix);
}

TEST(TensorNames, VocabularyOnlyFiles) {
  OpenOptions o;
  o.require_matrix = false;
  EXPECT_FALSE(pick({}, o).name.has_value());
  expect_error([] { pick({}); }, ErrorKind::Format);
}

}  // namespace
}  // namespace embstat
