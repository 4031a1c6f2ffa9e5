// TensorStore: every tensor of safetensors (single, sharded), GGUF and llama2.c checkpoints by
// name, with shapes in one convention, bytes where the readers say, and the config parsed once.
#include "embstat/formats/tensor_store.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "embstat/base/error.hpp"
#include "embstat/formats/arch_config.hpp"
#include "tests/fixtures/expect_error.hpp"
#include "tests/fixtures/gguf_builder.hpp"
#include "tests/fixtures/llama2c_builder.hpp"
#include "tests/fixtures/safetensors_builder.hpp"

namespace embstat {
namespace {

using fixtures::contains;
using fixtures::expect_error;
using fixtures::TempDir;

std::vector<float> row0(const TensorStore& store, const std::string& name) {
  const Matrix m = decode_to_f32(store.matrix(store.require(name)));
  return {m.row(0), m.row(0) + m.n_cols()};
}

TEST(TensorStore, GgufListsEveryTensorRowMajorWithItsMetadata) {
  TempDir dir("store-gguf");
  auto bytes = fixtures::GgufBuilder()
                   .add_string("general.architecture", "llama")
                   .add_u32("llama.embedding_length", 4)
                   .add_u32("llama.block_count", 1)
                   .add_u32("llama.attention.head_count", 2)
                   .add_u32("llama.attention.head_count_kv", 1)
                   .add_f32("llama.attention.layer_norm_rms_epsilon", 1e-6f)
                   .add_f32("llama.rope.freq_base", 500000.0f)
                   .add_f32_matrix("token_embd.weight", 6, 4, fixtures::ramp_matrix(6, 4))
                   .add_f32_matrix("blk.0.attn_k.weight", 2, 4, fixtures::ramp_matrix(2, 4, 100))
                   .build();
  fixtures::write_file(dir / "m.gguf", bytes);
  const auto store = TensorStore::open(dir / "m.gguf");
  EXPECT_EQ(store->format(), "gguf");
  ASSERT_EQ(store->tensors().size(), 2u);
  const StoredTensor& k = store->require("blk.0.attn_k.weight");
  EXPECT_EQ(k.shape, (std::vector<std::int64_t>{2, 4}));  // ne = {4, 2} in the file
  EXPECT_EQ(k.dtype_name, "F32");
  EXPECT_EQ(k.n_bytes, 32u);
  EXPECT_EQ(row0(*store, "blk.0.attn_k.weight"), (std::vector<float>{100, 101, 102, 103}));
  float first;
  std::memcpy(&first, store->bytes(k).data(), 4);
  EXPECT_EQ(first, 100.0f);
  const ArchConfig& c = store->config();
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.hidden_size, 4);
  EXPECT_EQ(c.n_layers, 1);
  EXPECT_EQ(c.n_heads, 2);
  EXPECT_EQ(c.n_kv_heads, 1);
  EXPECT_FLOAT_EQ(static_cast<float>(*c.rms_norm_eps), 1e-6f);
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_FALSE(c.intermediate_size.has_value());
  const Error e = expect_error([&] { store->require("blk.0.attn_q.weight"); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "missing tensor 'blk.0.attn_q.weight'"));
  EXPECT_NE(store->gguf(), nullptr);
}

TEST(TensorStore, ShardedSafetensorsWithConfig) {
  TempDir dir("store-sharded");
  fixtures::SafetensorsBuilder a, b;
  a.add_f32_matrix("model.embed_tokens.weight", 3, 2, fixtures::ramp_matrix(3, 2));
  b.add_bf16_matrix("model.layers.0.self_attn.q_proj.weight", 2, 2, fixtures::ramp_matrix(2, 2, 1));
  b.add_f32_matrix("model.norm.weight", 1, 2, fixtures::ramp_matrix(1, 2, 7));
  fixtures::write_file(dir / "model-00001-of-00002.safetensors", a.build());
  fixtures::write_file(dir / "model-00002-of-00002.safetensors", b.build());
  fixtures::write_text(
      dir / "model.safetensors.index.json",
      fixtures::index_json({{"model.embed_tokens.weight", "model-00001-of-00002.safetensors"},
                            {"model.layers.0.self_attn.q_proj.weight", "model-00002-of-00002.safetensors"},
                            {"model.norm.weight", "model-00002-of-00002.safetensors"}}));
  fixtures::write_text(dir / "config.json", R"({"architectures":["Gemma3ForConditionalGeneration"],
    "model_type":"gemma3", "vocab_size": 9,
    "text_config":{"model_type":"gemma3_text","hidden_size":2,"num_hidden_layers":1,"num_attention_heads":1,
      "num_key_value_heads":1,"head_dim":2,"intermediate_size":4,"rope_theta":1000000.0,"rms_norm_eps":1e-6,
      "sliding_window":512,"rope_local_base_freq":10000.0,"query_pre_attn_scalar":256,
      "layer_types":["sliding_attention"],
      "rope_scaling":{"rope_type":"linear","factor":8.0}}})");
  const auto store = TensorStore::open(dir.path());
  EXPECT_EQ(store->format(), "safetensors");
  EXPECT_EQ(store->tensors().size(), 3u);
  const StoredTensor& q = store->require("model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(q.dtype, DType::BF16);
  EXPECT_EQ(q.shape, (std::vector<std::int64_t>{2, 2}));
  EXPECT_EQ(row0(*store, "model.layers.0.self_attn.q_proj.weight"), (std::vector<float>{1, 2}));
  EXPECT_EQ(row0(*store, "model.norm.weight"), (std::vector<float>{7, 8}));
  const ArchConfig& c = store->config();
  EXPECT_EQ(c.architecture, "Gemma3ForConditionalGeneration");
  EXPECT_EQ(c.model_type, "gemma3_text");  // text_config wins
  EXPECT_EQ(c.vocab_size, 9);              // from the top level when text_config lacks it
  EXPECT_EQ(c.head_dim, 2);
  EXPECT_EQ(c.sliding_window, 512);
  EXPECT_EQ(c.layer_types, (std::vector<std::string>{"sliding_attention"}));
  ASSERT_TRUE(c.rope_scaling.has_value());
  EXPECT_EQ(c.rope_scaling->type, "linear");
  EXPECT_EQ(c.rope_scaling->factor, 8.0);
  EXPECT_EQ(c.query_pre_attn_scalar, 256.0);

  std::filesystem::remove(dir / "model-00002-of-00002.safetensors");
  const Error e = expect_error([&] { TensorStore::open(dir.path()); }, ErrorKind::Io);
  EXPECT_TRUE(contains(e.path(), "model-00002-of-00002.safetensors"));
}

TEST(TensorStore, IndexThatLiesAboutAShard) {
  TempDir dir("store-lying-index");
  fixtures::SafetensorsBuilder a;
  a.add_f32_matrix("x", 1, 2, fixtures::ramp_matrix(1, 2));
  fixtures::write_file(dir / "a.safetensors", a.build());
  fixtures::write_text(dir / "model.safetensors.index.json", fixtures::index_json({{"y", "a.safetensors"}}));
  const Error e = expect_error([&] { TensorStore::open(dir.path()); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "tensor 'y'"));
}

TEST(TensorStore, ConfigFieldOfTheWrongTypeIsAnError) {
  const Error e =
      expect_error([] { parse_arch_config(R"({"num_attention_heads":"eight"})", "config.json"); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "num_attention_heads"));
  const ArchConfig c = parse_arch_config(
      R"({"model_type":"llama","rope_scaling":{"rope_type":"llama3","factor":32.0,"low_freq_factor":1.0,
      "high_freq_factor":4.0,"original_max_position_embeddings":8192},"tie_word_embeddings":true})",
      "config.json");
  EXPECT_EQ(c.rope_scaling->type, "llama3");
  EXPECT_EQ(c.rope_scaling->original_max_position_embeddings, 8192);
  EXPECT_EQ(c.tie_word_embeddings, true);
}

TEST(TensorStore, Llama2cLegacyAndInt8PerLayerTensors) {
  TempDir dir("store-llama2c");
  for (int version : {0, 1, 2}) {
    fixtures::Llama2cSpec spec;
    spec.version = version;
    spec.shared_classifier = false;
    const std::string path = dir / (std::to_string(version) + ".bin");
    fixtures::write_file(path, fixtures::build_llama2c(spec));
    const auto store = TensorStore::open(path);  // the listing must end exactly at the file's end
    EXPECT_EQ(store->format(), "llama2c");
    EXPECT_EQ(store->config().n_kv_heads, 1);
    EXPECT_EQ(store->config().tie_word_embeddings, false);
    const StoredTensor& wk = store->require("layers.1.attention.wk.weight");
    EXPECT_EQ(wk.shape, (std::vector<std::int64_t>{4, 8}));  // kv_dim x dim
    const StoredTensor& emb = store->require("tok_embeddings.weight");
    if (version == 2) {
      EXPECT_EQ(emb.dtype, DType::I8);
      EXPECT_EQ(store->llama2c_group_size(), 4);
      EXPECT_EQ(store->require("output.weight.scales").shape, (std::vector<std::int64_t>{6 * 8 / 4}));
      continue;
    }
    const Matrix e = decode_to_f32(store->matrix(emb));
    EXPECT_FLOAT_EQ(e.row(2)[3], 0.23f);
    EXPECT_EQ(row0(*store, "layers.1.ffn_norm.weight")[0], 0.5f);
    EXPECT_EQ(row0(*store, "output.weight")[1], -0.01f);
  }
}

std::string stories(const std::string& name) {
  return std::string(EMBSTAT_SHARED_DATA) + "/stories260K/" + name;
}

TEST(TensorStore, RealStories260KGgufHoldsLlama2cLayout) {
  if (!std::filesystem::exists(stories("stories260K.bin"))) GTEST_SKIP() << "no stories260K (shared data absent)";
  const auto bin = TensorStore::open(stories("stories260K.bin"));
  const auto gguf = TensorStore::open(stories("stories260K.gguf"));
  for (const auto* store : {bin.get(), gguf.get()}) {
    const ArchConfig& c = store->config();
    EXPECT_EQ(c.hidden_size, 64);
    EXPECT_EQ(c.n_layers, 5);
    EXPECT_EQ(c.n_heads, 8);
    EXPECT_EQ(c.n_kv_heads, 4);
    EXPECT_EQ(c.intermediate_size, 172);
    EXPECT_EQ(c.vocab_size, 512);
    EXPECT_NEAR(*c.rms_norm_eps, 1e-5, 1e-10);
  }
  // The GGUF was converted from the llama2.c file without permuting Wq/Wk: the same bytes.
  for (int layer : {0, 4})
    for (auto [g, b] :
         {std::pair{"attn_q", "attention.wq"}, {"attn_k", "attention.wk"}, {"ffn_gate", "feed_forward.w1"}}) {
      const auto gb = gguf->bytes(gguf->require("blk." + std::to_string(layer) + "." + g + ".weight"));
      const auto bb = bin->bytes(bin->require("layers." + std::to_string(layer) + "." + b + ".weight"));
      ASSERT_EQ(gb.size(), bb.size());
      EXPECT_EQ(std::memcmp(gb.data(), bb.data(), gb.size()), 0) << g << " layer " << layer;
    }
  EXPECT_EQ(gguf->require("token_embd.weight").shape, (std::vector<std::int64_t>{512, 64}));
  const auto q80 = TensorStore::open(stories("stories260K_q80.bin"));
  EXPECT_EQ(q80->llama2c_group_size(), 32);
  EXPECT_EQ(q80->require("layers.4.feed_forward.w3.weight").shape, (std::vector<std::int64_t>{172, 64}));
}

}  // namespace
}  // namespace embstat
