// safetensors reader: header checks (one hostile file per check), dtypes, sharded folders,
// config.json, tied / untied output, and the real conformance samples.
#include "embstat/formats/safetensors.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "embstat/base/dtype.hpp"
#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"
#include "embstat/matrix/matrix.hpp"
#include "tests/fixtures/expect_error.hpp"
#include "tests/fixtures/safetensors_builder.hpp"

namespace embstat {
namespace {

using fixtures::contains;
using fixtures::expect_error;
using fixtures::SafetensorsBuilder;
using fixtures::SafetensorsTensorSpec;
using fixtures::TempDir;

const std::string kPath = "mem.safetensors";

SafetensorsHeader parse(const std::vector<std::uint8_t>& bytes) {
  return parse_safetensors_header(bytes, kPath);
}

Error parse_error(const std::vector<std::uint8_t>& bytes, ErrorKind kind = ErrorKind::Format) {
  Error e = expect_error([&] { parse(bytes); }, kind);
  EXPECT_EQ(e.path(), kPath);
  return e;
}

// An embedding 4 x 3 plus a norm vector [3], values known.
SafetensorsBuilder small_model() {
  const auto emb = fixtures::ramp_matrix(4, 3);
  SafetensorsBuilder b;
  b.add_f32_matrix("model.embed_tokens.weight", 4, 3, emb);
  b.add_f32_matrix("model.norm.weight", 1, 3, std::vector<float>{1, 1, 1});
  return b;
}

SafetensorsTensorSpec spec(const std::string& name, const std::string& dtype, std::vector<std::int64_t> shape,
                           std::size_t n_bytes) {
  return {name, dtype, std::move(shape), std::vector<std::uint8_t>(n_bytes, 0), std::nullopt, std::nullopt};
}

TEST(SafetensorsHeader, ParsesTensorsSortedByOffsetAndMetadata) {
  SafetensorsBuilder b = small_model();
  b.metadata("format", "pt");
  fixtures::SafetensorsLayout layout;
  const auto bytes = b.pad_header_to(8).build(&layout);
  const auto h = parse(bytes);
  ASSERT_EQ(h.tensors.size(), 2u);
  EXPECT_EQ(h.data_offset, layout.data_offset);
  EXPECT_EQ(h.data_offset % 8, 0u);
  EXPECT_EQ(h.tensors[0].name, "model.embed_tokens.weight");
  EXPECT_EQ(h.tensors[0].dtype, DType::F32);
  EXPECT_EQ(h.tensors[0].shape, (std::vector<std::int64_t>{4, 3}));
  EXPECT_EQ(h.tensors[0].begin, 0u);
  EXPECT_EQ(h.tensors[0].end, 48u);
  EXPECT_EQ(h.tensors[1].begin, 48u);
  EXPECT_EQ(h.metadata.at("format"), "pt");
  ASSERT_NE(h.find("model.norm.weight"), nullptr);
  EXPECT_EQ(h.find("nope"), nullptr);
}

TEST(SafetensorsHeader, EmptyHeaderIsValid) {
  const auto h = parse(SafetensorsBuilder().header_text("{}").build());
  EXPECT_TRUE(h.tensors.empty());
}

TEST(SafetensorsHeader, EveryTruncationIsAFormatError) {
  const auto bytes = small_model().build();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const std::vector<std::uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    SCOPED_TRACE(n);
    parse_error(prefix);
  }
}

TEST(SafetensorsHeader, HeaderLengthPastTheEnd) {
  auto e = parse_error(small_model().header_length_override(1000).build());
  EXPECT_EQ(e.offset(), 0u);
  EXPECT_TRUE(contains(e.message(), "runs past the end"));
}

TEST(SafetensorsHeader, HeaderLengthOfTwoToThe63) {
  auto e = parse_error(small_model().header_length_override(1ull << 63).build());
  EXPECT_EQ(e.offset(), 0u);
  EXPECT_TRUE(contains(e.message(), "limit"));
  parse_error(small_model().header_length_override(~0ull).build());
}

TEST(SafetensorsHeader, HeaderLengthOverTheCap) {
  auto e = parse_error(small_model().header_length_override(kSafetensorsMaxHeaderBytes + 1).build());
  EXPECT_TRUE(contains(e.message(), "100000000"));
}

TEST(SafetensorsHeader, HeaderLengthShorterThanTheJson) {
  const auto b = small_model();
  const auto n = b.header_json().size();
  parse_error(SafetensorsBuilder(b).header_length_override(n - 5).build());
}

TEST(SafetensorsHeader, BadJsonNamesTheOffset) {
  auto e = parse_error(SafetensorsBuilder().header_text("{\"a\": [1, 2,}").build());
  EXPECT_TRUE(contains(e.message(), "bad JSON"));
  ASSERT_TRUE(e.offset());
  EXPECT_GE(*e.offset(), 8u);
}

TEST(SafetensorsHeader, HeaderNotAnObject) {
  parse_error(SafetensorsBuilder().header_text("[1, 2]").build());
  parse_error(SafetensorsBuilder().header_text("\"x\"").build());
  parse_error(SafetensorsBuilder().header_text("{\"a\": 1}").build());
  parse_error(SafetensorsBuilder().header_text(std::string("{\"a\xff\": {}}")).build());  // not UTF-8
}

TEST(SafetensorsHeader, DeeplyNestedJsonIsAnErrorNotACrash) {
  const std::string deep = "{\"x\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  parse_error(SafetensorsBuilder().header_text(deep).build());
}

TEST(SafetensorsHeader, UnknownDtype) {
  SafetensorsBuilder b;
  b.add_tensor(spec("x", "F17", {2}, 4));
  auto e = parse_error(b.build());
  EXPECT_TRUE(contains(e.message(), "unknown dtype 'F17'"));
}

TEST(SafetensorsHeader, WrongDtypeSize) {
  SafetensorsBuilder b;
  b.add_tensor(spec("x", "F32", {2, 3}, 12));  // F32 [2, 3] needs 24 bytes
  auto e = parse_error(b.build());
  EXPECT_TRUE(contains(e.message(), "needs 24"));
}

TEST(SafetensorsHeader, OverlappingOffsets) {
  SafetensorsBuilder b;
  b.add_tensor(spec("a", "F32", {2}, 8));
  auto t = spec("b", "F32", {2}, 8);
  t.offsets = {{4, 12}};
  b.add_tensor(t);
  auto e = parse_error(b.build());
  EXPECT_TRUE(contains(e.message(), "overlap"));
}

TEST(SafetensorsHeader, GapBetweenTensors) {
  SafetensorsBuilder b;
  b.add_tensor(spec("a", "F32", {2}, 8));
  auto t = spec("b", "F32", {2}, 8);
  t.offsets = {{12, 20}};
  b.add_tensor(t);
  b.trailing(std::vector<std::uint8_t>(4, 0));
  auto e = parse_error(b.build());
  EXPECT_TRUE(contains(e.message(), "gap"));
}

TEST(SafetensorsHeader, OffsetsRunningBackwards) {
  SafetensorsBuilder b;
  auto t = spec("a", "F32", {2}, 8);
  t.offsets = {{0, 0}};
  b.add_tensor(t);
  auto t2 = spec("b", "F32", {0}, 0);
  t2.offsets = {{8, 0}};
  b.add_tensor(t2);
  parse_error(b.build());
}

TEST(SafetensorsHeader, OffsetsPastTheEndOfTheFile) {
  SafetensorsBuilder b;
  auto t = spec("a", "F32", {1u << 20}, 16);
  t.offsets = {{0, 4u << 20}};
  b.add_tensor(t);
  auto e = parse_error(b.build());
  EXPECT_TRUE(contains(e.message(), "truncated"));
}

TEST(SafetensorsHeader, HugeOffsetsDoNotWrap) {
  SafetensorsBuilder b;
  auto t = spec("a", "U8", {1}, 1);
  t.offsets = {{0, std::numeric_limits<std::uint64_t>::max()}};
  b.add_tensor(t);
  parse_error(b.build());
}

TEST(SafetensorsHeader, TrailingBytesAfterTheData) {
  auto e = parse_error(small_model().trailing({1, 2, 3}).build());
  EXPECT_TRUE(contains(e.message(), "3 bytes after"));
}

TEST(SafetensorsHeader, ShapeProductOverflow) {
  SafetensorsBuilder b;
  b.add_tensor({"a", "F32", {1ll << 40, 1ll << 40}, {}, std::pair<std::uint64_t, std::uint64_t>{0, 0}, std::nullopt});
  auto e = parse_error(b.build());
  EXPECT_TRUE(contains(e.message(), "overflows"));
  SafetensorsBuilder b2;
  b2.add_tensor({"a", "F64", {1ll << 61}, {}, std::pair<std::uint64_t, std::uint64_t>{0, 0}, std::nullopt});
  parse_error(b2.build());
}

TEST(SafetensorsHeader, BadShapeAndOffsetTypes) {
  for (const std::string entry :
       {R"({"dtype":"F32","shape":[-1],"data_offsets":[0,0]})", R"({"dtype":"F32","shape":[1.5],"data_offsets":[0,0]})",
        R"({"dtype":"F32","shape":"2","data_offsets":[0,0]})", R"({"dtype":"F32","shape":[0],"data_offsets":[0]})",
        R"({"dtype":"F32","shape":[0],"data_offsets":[0,-1]})", R"({"dtype":"F32","shape":[0],"data_offsets":[0,0,0]})",
        R"({"dtype":"F32","shape":[18446744073709551616],"data_offsets":[0,0]})",
        R"({"shape":[0],"data_offsets":[0,0]})", R"({"dtype":3,"shape":[0],"data_offsets":[0,0]})", R"([1, 2])"}) {
    SCOPED_TRACE(entry);
    SafetensorsBuilder b;
    b.add_tensor({"a", "F32", {}, {}, std::nullopt, entry});
    parse_error(b.build());
  }
}

TEST(SafetensorsHeader, MetadataMustBeStrings) {
  parse_error(SafetensorsBuilder().header_text(R"({"__metadata__": {"a": 1}})").build());
  parse_error(SafetensorsBuilder().header_text(R"({"__metadata__": [1]})").build());
}

// Real tools write "__metadata__": null; the reference reader takes it as no metadata.
TEST(SafetensorsHeader, NullMetadataIsNoMetadata) {
  const auto h =
      parse(SafetensorsBuilder()
                .header_text(R"({"__metadata__": null, "a": {"dtype":"F32","shape":[0],"data_offsets":[0,0]}})")
                .build());
  EXPECT_TRUE(h.metadata.empty());
  ASSERT_EQ(h.tensors.size(), 1u);
  EXPECT_EQ(h.tensors[0].name, "a");
}

TEST(SafetensorsHeader, SubByteDtypesAreCheckedInBits) {
  SafetensorsBuilder b;
  b.add_tensor(spec("a", "F4", {4}, 2));  // 4 x 4 bits
  EXPECT_EQ(parse(b.build()).tensors[0].dtype, std::nullopt);
  SafetensorsBuilder odd;
  odd.add_tensor(spec("a", "F4", {3}, 2));  // 12 bits: not whole bytes
  parse_error(odd.build());
}

// --- opening files and folders ---

TEST(SafetensorsOpen, SingleFileF32) {
  TempDir dir("st-single");
  fixtures::write_file(dir / "model.safetensors", small_model().build());
  const Model m = open_safetensors_file(dir / "model.safetensors", {});
  EXPECT_EQ(m.format, "safetensors");
  ASSERT_TRUE(m.tensor);
  EXPECT_EQ(m.tensor->name, "model.embed_tokens.weight");
  EXPECT_EQ(m.matrix.n_rows, 4);
  EXPECT_EQ(m.matrix.n_cols, 3);
  const Matrix f = decode_to_f32(m.matrix);
  EXPECT_EQ(f.row(2)[1], 21.0f);
  EXPECT_TRUE(m.tied);  // no lm_head, no config
  EXPECT_EQ(m.files, std::vector<std::string>{dir / "model.safetensors"});
}

TEST(SafetensorsOpen, F16AndBf16Rows) {
  TempDir dir("st-half");
  const auto values = fixtures::ramp_matrix(3, 4, 0.5f);
  SafetensorsBuilder b;
  b.add_f16_matrix("transformer.wte.weight", 3, 4, values).add_bf16_matrix("lm_head.weight", 3, 4, values);
  fixtures::write_file(dir / "m.safetensors", b.build());
  const Model in = open_safetensors_file(dir / "m.safetensors", {});
  EXPECT_EQ(in.tensor->dtype, DType::F16);
  EXPECT_FALSE(in.tied);
  EXPECT_TRUE(in.has_output_matrix);
  const Matrix fi = decode_to_f32(in.matrix);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(fi.data()[i], values[static_cast<std::size_t>(i)]);
  OpenOptions o;
  o.matrix = MatrixChoice::Output;
  const Model out = open_safetensors_file(dir / "m.safetensors", o);
  EXPECT_EQ(out.tensor->name, "lm_head.weight");
  EXPECT_EQ(out.tensor->dtype, DType::BF16);
  EXPECT_EQ(decode_to_f32(out.matrix).row(2)[3], 23.5f);
}

TEST(SafetensorsOpen, NonDecodableDtypeIsUnsupported) {
  TempDir dir("st-c64");
  SafetensorsBuilder b;
  b.add_tensor(spec("model.embed_tokens.weight", "C64", {2, 2}, 32));
  fixtures::write_file(dir / "m.safetensors", b.build());
  auto e = expect_error([&] { open_safetensors_file(dir / "m.safetensors", {}); }, ErrorKind::Unsupported);
  EXPECT_TRUE(contains(e.message(), "C64"));
  EXPECT_EQ(e.offset(), 8u);  // the header, where the dtype is written
}

TEST(SafetensorsOpen, TensorOverride) {
  TempDir dir("st-override");
  fixtures::write_file(dir / "m.safetensors", small_model().build());
  OpenOptions o;
  o.tensor = "model.norm.weight";
  const Model m = open_safetensors_file(dir / "m.safetensors", o);
  EXPECT_EQ(m.tensor->name, "model.norm.weight");
  EXPECT_EQ(m.matrix.n_rows, 1);
  o.tensor = "missing";
  auto e = expect_error([&] { open_safetensors_file(dir / "m.safetensors", o); }, ErrorKind::Usage);
  EXPECT_TRUE(contains(e.message(), "model.embed_tokens.weight [4, 3]"));  // lists what exists
}

TEST(SafetensorsOpen, NoEmbeddingListsTheMatrices) {
  TempDir dir("st-none");
  SafetensorsBuilder b;
  b.add_f32_matrix("a.weight", 2, 2, std::vector<float>(4, 1))
      .add_f32_matrix("b.weight", 2, 2, std::vector<float>(4, 1));
  fixtures::write_file(dir / "m.safetensors", b.build());
  auto e = expect_error([&] { open_safetensors_file(dir / "m.safetensors", {}); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "a.weight [2, 2], b.weight [2, 2]"));
  OpenOptions vocab_only;
  vocab_only.require_matrix = false;
  EXPECT_FALSE(open_safetensors_file(dir / "m.safetensors", vocab_only).tensor);
}

TEST(SafetensorsOpen, ConfigTiedOutputUsesTheInputWithANote) {
  TempDir dir("st-tied");
  SafetensorsBuilder b = small_model();
  b.add_f32_matrix("lm_head.weight", 4, 3, fixtures::ramp_matrix(4, 3, 100));
  fixtures::write_file(dir / "model.safetensors", b.build());
  fixtures::write_text(dir / "config.json", R"({"vocab_size": 4, "hidden_size": 3, "tie_word_embeddings": true})");
  OpenOptions o;
  o.matrix = MatrixChoice::Output;
  const Model m = open_safetensors_folder(dir.path(), o).value();
  EXPECT_EQ(m.tensor->name, "model.embed_tokens.weight");
  EXPECT_TRUE(m.tied);
  ASSERT_FALSE(m.notes.empty());
  EXPECT_TRUE(contains(m.notes[0], "tied (config tie_word_embeddings)"));
  EXPECT_EQ(m.files.front(), dir / "config.json");
}

TEST(SafetensorsOpen, ConfigUntiedWithoutOutputTensorIsAnError) {
  TempDir dir("st-untied");
  fixtures::write_file(dir / "model.safetensors", small_model().build());
  fixtures::write_text(dir / "config.json", R"({"tie_word_embeddings": false})");
  OpenOptions o;
  o.matrix = MatrixChoice::Output;
  expect_error([&] { open_safetensors_folder(dir.path(), o); }, ErrorKind::Format);
  EXPECT_FALSE(open_safetensors_folder(dir.path(), {})->tied);
}

TEST(SafetensorsOpen, RowsDisagreeingWithConfigAreMalformed) {
  TempDir dir("st-shape");
  fixtures::write_file(dir / "model.safetensors", small_model().build());  // 4 rows x 3
  fixtures::write_text(dir / "config.json", R"({"vocab_size": 5, "hidden_size": 3})");
  expect_error([&] { open_safetensors_folder(dir.path(), {}); }, ErrorKind::Format);
  OpenOptions o;  // --tensor reads it anyway
  o.tensor = "model.embed_tokens.weight";
  EXPECT_EQ(open_safetensors_folder(dir.path(), o)->matrix.n_rows, 4);
}

TEST(SafetensorsOpen, ColumnsDisagreeingWithConfigAreANote) {
  TempDir dir("st-cols");
  fixtures::write_file(dir / "model.safetensors", small_model().build());  // 4 rows x 3
  fixtures::write_text(dir / "config.json", R"({"vocab_size": 4, "hidden_size": 8})");
  const Model m = open_safetensors_folder(dir.path(), {}).value();
  bool found = false;
  for (const auto& n : m.notes) found |= n.find("config.json says hidden_size 8") != std::string::npos;
  EXPECT_TRUE(found);
}

TEST(SafetensorsOpen, ShardedOpensOnlyTheShardHoldingTheTensor) {
  TempDir dir("st-sharded");
  SafetensorsBuilder s1, s2;
  s1.add_f32_matrix("model.layers.0.w", 2, 2, std::vector<float>(4, 1));
  s2.add_f32_matrix("model.embed_tokens.weight", 4, 3, fixtures::ramp_matrix(4, 3));
  fixtures::write_text(dir / "model-00001-of-00002.safetensors", "this shard is garbage and must not be read");
  fixtures::write_file(dir / "model-00002-of-00002.safetensors", s2.build());
  fixtures::write_text(dir / "model.safetensors.index.json",
                       fixtures::index_json({{"model.layers.0.w", "model-00001-of-00002.safetensors"},
                                             {"model.embed_tokens.weight", "model-00002-of-00002.safetensors"}}));
  fixtures::write_text(dir / "config.json", R"({"text_config": {"vocab_size": 4, "hidden_size": 3}})");
  const Model m = open_safetensors_folder(dir.path(), {}).value();
  EXPECT_EQ(m.tensor->name, "model.embed_tokens.weight");
  EXPECT_EQ(m.tensor->file, dir / "model-00002-of-00002.safetensors");
  EXPECT_EQ(decode_to_f32(m.matrix).row(3)[2], 32.0f);
  EXPECT_EQ(m.config.vocab_size, 4);
  const std::vector<std::string> files = {dir / "model.safetensors.index.json", dir / "config.json",
                                          dir / "model-00002-of-00002.safetensors"};
  EXPECT_EQ(m.files, files);
}

TEST(SafetensorsOpen, MissingShardIsAClearError) {
  TempDir dir("st-missing");
  fixtures::write_text(dir / "model.safetensors.index.json",
                       fixtures::index_json({{"model.embed_tokens.weight", "model-00001-of-00002.safetensors"},
                                             {"lm_head.weight", "model-00002-of-00002.safetensors"}}));
  auto e = expect_error([&] { open_safetensors_folder(dir.path(), {}); }, ErrorKind::Io);
  EXPECT_EQ(e.path(), dir / "model-00001-of-00002.safetensors");
  EXPECT_TRUE(contains(e.message(), "missing shard"));
  // A missing shard the tensor is not in is only a note.
  SafetensorsBuilder s1;
  s1.add_f32_matrix("model.embed_tokens.weight", 4, 3, fixtures::ramp_matrix(4, 3));
  fixtures::write_file(dir / "model-00001-of-00002.safetensors", s1.build());
  const Model m = open_safetensors_folder(dir.path(), {}).value();
  EXPECT_FALSE(m.tied);
  EXPECT_TRUE(m.has_output_matrix);
  EXPECT_TRUE(contains(m.notes.at(0), "1 of 2 shards"));
}

TEST(SafetensorsOpen, ShardWithoutTheIndexedTensor) {
  TempDir dir("st-liar");
  fixtures::write_file(dir / "a.safetensors", small_model().build());
  fixtures::write_text(dir / "model.safetensors.index.json", fixtures::index_json({{"wte.weight", "a.safetensors"}}));
  auto e = expect_error([&] { open_safetensors_folder(dir.path(), {}); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "does not list it"));
}

TEST(SafetensorsOpen, SeveralFilesWithoutIndex) {
  TempDir dir("st-multi");
  SafetensorsBuilder a, b;
  a.add_f32_matrix("model.layers.0.w", 2, 2, std::vector<float>(4, 1));
  b.add_f32_matrix("model.embed_tokens.weight", 4, 3, fixtures::ramp_matrix(4, 3));
  fixtures::write_file(dir / "a.safetensors", a.build());
  fixtures::write_file(dir / "b.safetensors", b.build());
  const Model m = open_safetensors_folder(dir.path(), {}).value();
  EXPECT_EQ(m.tensor->file, dir / "b.safetensors");
  // The same name in two files is refused.
  fixtures::write_file(dir / "c.safetensors", b.build());
  auto e = expect_error([&] { open_safetensors_folder(dir.path(), {}); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "is also in"));
}

TEST(SafetensorsOpen, EmptyFolderIsNotSafetensors) {
  TempDir dir("st-empty");
  EXPECT_FALSE(open_safetensors_folder(dir.path(), {}).has_value());
}

TEST(SafetensorsOpen, TokenizerJsonBesideTheWeights) {
  TempDir dir("st-tok");
  fixtures::write_file(dir / "model.safetensors", small_model().build());
  fixtures::write_text(dir / "tokenizer.json", fixtures::tiny_tokenizer_json({"a", "b",
                                                                              "\xC4\xA0"
                                                                              "c"}));
  const Model m = open_safetensors_folder(dir.path(), {}).value();
  ASSERT_EQ(m.vocab.size(), 3u);
  EXPECT_EQ(m.vocab.token(2).bytes, " c");
  EXPECT_EQ(m.padding_rows(), 1);
  EXPECT_EQ(m.files.back(), dir / "tokenizer.json");
}

TEST(SafetensorsOpen, CorruptTokenizerJsonIsFatal) {
  TempDir dir("st-badtok");
  fixtures::write_file(dir / "model.safetensors", small_model().build());
  fixtures::write_text(dir / "tokenizer.json", "{\"model\": ");
  auto e = expect_error([&] { open_safetensors_folder(dir.path(), {}); }, ErrorKind::Format);
  EXPECT_EQ(e.path(), dir / "tokenizer.json");
}

// --- config.json and the index ---

TEST(SafetensorsConfig, TopLevelAndNestedTextConfig) {
  auto c = parse_model_config(R"({"architectures": ["Qwen3ForCausalLM"], "vocab_size": 151936,
      "hidden_size": 1024, "tie_word_embeddings": true})",
                              "config.json");
  EXPECT_EQ(c.vocab_size, 151936);
  EXPECT_EQ(c.hidden_size, 1024);
  EXPECT_EQ(c.tie_word_embeddings, true);
  EXPECT_EQ(c.architecture, "Qwen3ForCausalLM");
  // gemma-3 multimodal: the language model's values live in text_config.
  c = parse_model_config(R"({"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
      "text_config": {"vocab_size": 262208, "hidden_size": 2560, "model_type": "gemma3_text"},
      "vision_config": {"hidden_size": 1152}})",
                         "config.json");
  EXPECT_EQ(c.vocab_size, 262208);
  EXPECT_EQ(c.hidden_size, 2560);
  EXPECT_FALSE(c.tie_word_embeddings);
  c = parse_model_config(R"({"model_type": "gpt2", "n_embd": 768, "vocab_size": null})", "config.json");
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_FALSE(c.vocab_size);
  EXPECT_EQ(c.architecture, "gpt2");
}

TEST(SafetensorsConfig, WrongTypesAndBadJson) {
  expect_error([] { parse_model_config(R"({"vocab_size": "big"})", "config.json"); }, ErrorKind::Format);
  expect_error([] { parse_model_config(R"({"vocab_size": -5})", "config.json"); }, ErrorKind::Format);
  expect_error([] { parse_model_config(R"({"tie_word_embeddings": 1})", "config.json"); }, ErrorKind::Format);
  expect_error([] { parse_model_config(R"([])", "config.json"); }, ErrorKind::Format);
  auto e = expect_error([] { parse_model_config("{\"vocab_size\": 5,,}", "config.json"); }, ErrorKind::Format);
  EXPECT_EQ(e.path(), "config.json");
  EXPECT_EQ(e.offset(), 17u);  // the second comma
}

TEST(SafetensorsIndex, WeightMapAndHostileFileNames) {
  const auto m = parse_safetensors_index(fixtures::index_json({{"a", "x.safetensors"}}), "index.json");
  EXPECT_EQ(m.at("a"), "x.safetensors");
  for (const std::string bad : {"/etc/passwd", "../x.safetensors", "a/../../x", "..", ""}) {
    SCOPED_TRACE(bad);
    expect_error([&] { parse_safetensors_index(fixtures::index_json({{"a", bad}}), "index.json"); }, ErrorKind::Format);
  }
  expect_error([] { parse_safetensors_index(R"({"weight_map": {"a": 1}})", "index.json"); }, ErrorKind::Format);
  expect_error([] { parse_safetensors_index(R"({"metadata": {}})", "index.json"); }, ErrorKind::Format);
}

// --- real data: the safetensors project's samples, -3..2 in nine dtypes ---

std::string samples_dir() {
  return std::string(EMBSTAT_SHARED_DATA) + "/safetensors-samples";
}

TEST(SafetensorsRealData, NineDtypesHoldMinusThreeToTwo) {
  if (!std::filesystem::exists(samples_dir())) GTEST_SKIP() << "no " << samples_dir() << " (shared test data absent)";
  struct Sample {
    const char* name;
    DType dtype;
    int unsigned_bits;  // 0: signed or float
  };
  const Sample samples[] = {{"B", DType::U8, 8},  {"H", DType::U16, 16}, {"I", DType::U32, 32},
                            {"b", DType::I8, 0},  {"h", DType::I16, 0},  {"i", DType::I32, 0},
                            {"e", DType::F16, 0}, {"f", DType::F32, 0},  {"d", DType::F64, 0}};
  for (const auto& s : samples) {
    SCOPED_TRACE(s.name);
    for (const std::string& file : {std::string(s.name) + ".safetensors", std::string("overall.safetensors")}) {
      OpenOptions o;
      o.tensor = s.name;
      const Model m = open_safetensors_file(samples_dir() + "/" + file, o);
      EXPECT_EQ(m.tensor->dtype, s.dtype);
      ASSERT_EQ(m.matrix.n_rows, 1);
      ASSERT_EQ(m.matrix.n_cols, 6);
      const Matrix f = decode_to_f32(m.matrix);
      for (int i = 0; i < 6; ++i) {
        const double v = i - 3;
        const double expected = s.unsigned_bits && v < 0 ? std::ldexp(1.0, s.unsigned_bits) + v : v;
        EXPECT_EQ(f.data()[i], static_cast<float>(expected)) << file << " element " << i;
      }
    }
  }
  const auto file = MappedFile::open(samples_dir() + "/overall.safetensors");
  const auto h = parse_safetensors_header(file->bytes(), file->path());
  EXPECT_EQ(h.tensors.size(), 9u);
  EXPECT_EQ(h.metadata.at("test"), "a");
}

// Qwen3's real tokenizer beside a synthetic 151,936-row embedding: 151,669 tokens, 267 padding rows.
TEST(SafetensorsRealData, Qwen3TokenizerLeavesPaddingRows) {
  const std::string tokenizer = std::string(EMBSTAT_SHARED_DATA) + "/tokenizers/qwen3/tokenizer.json";
  if (!std::filesystem::exists(tokenizer)) GTEST_SKIP() << "no " << tokenizer << " (shared test data absent)";
  fixtures::TempDir dir("st-qwen3");
  constexpr std::int64_t kRows = 151936, kDim = 2;
  std::vector<float> values(static_cast<std::size_t>(kRows * kDim), 0.5f);
  SafetensorsBuilder b;
  b.add_bf16_matrix("model.embed_tokens.weight", kRows, kDim, values);
  fixtures::write_file(dir / "model.safetensors", b.build());
  fixtures::write_text(dir / "config.json", R"({"vocab_size": 151936, "hidden_size": 2, "tie_word_embeddings": true})");
  std::filesystem::create_symlink(tokenizer, dir / "tokenizer.json");
  const Model m = open_safetensors_folder(dir.path(), {}).value();
  EXPECT_EQ(m.vocab.size(), 151669u);
  EXPECT_EQ(m.padding_rows(), 267);
  EXPECT_EQ(m.vocab.utf8(0), "!");
  EXPECT_TRUE(m.tied);
}

}  // namespace
}  // namespace embstat
