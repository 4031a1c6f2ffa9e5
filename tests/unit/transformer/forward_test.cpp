// The forward pass beyond greedy decoding: a Hugging Face copy of stories260K (Wq/Wk permuted to
// the split-halves RoPE layout, as transformers' conversion script does) gives the same hidden
// states as the llama2.c file; sequences never see each other; bad checkpoints and inputs fail
// with one clear error.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include "embstat/base/error.hpp"
#include "embstat/formats/tensor_store.hpp"
#include "embstat/transformer/forward.hpp"
#include "tests/fixtures/expect_error.hpp"
#include "tests/fixtures/gguf_builder.hpp"
#include "tests/fixtures/safetensors_builder.hpp"

namespace embstat::transformer {
namespace {

using fixtures::contains;
using fixtures::expect_error;
using fixtures::TempDir;

std::string stories(const std::string& name) {
  return std::string(EMBSTAT_SHARED_DATA) + "/stories260K/" + name;
}

bool have_stories() {
  return std::filesystem::exists(stories("stories260K.bin"));
}

std::vector<float> values_of(const TensorStore& store, const std::string& name) {
  const Matrix m = decode_to_f32(store.matrix(store.require(name)));
  return {m.data(), m.data() + m.n_rows() * m.n_cols()};
}

fixtures::SafetensorsTensorSpec vector_tensor(const std::string& name, std::vector<std::int64_t> shape,
                                              const std::vector<float>& values) {
  fixtures::SafetensorsTensorSpec t;
  t.name = name;
  t.shape = std::move(shape);
  t.data = fixtures::f32_bytes(values);
  return t;
}

// Meta's interleaved rows (2i, 2i+1 of each head) -> Hugging Face's halves (i, i + hd/2).
std::vector<float> permute_to_halves(const std::vector<float>& w, std::int64_t n_heads, std::int64_t head_dim,
                                     std::int64_t cols) {
  std::vector<float> out(w.size());
  for (std::int64_t h = 0; h < n_heads; ++h)
    for (std::int64_t i = 0; i < head_dim / 2; ++i)
      for (std::int64_t j = 0; j < 2; ++j) {
        const std::int64_t meta = h * head_dim + 2 * i + j;
        const std::int64_t hf = h * head_dim + j * (head_dim / 2) + i;
        std::copy_n(w.begin() + meta * cols, cols, out.begin() + hf * cols);
      }
  return out;
}

// stories260K.bin rewritten as a Hugging Face llama checkpoint (tied, f32 or bf16).
void write_hf_copy(const std::string& folder, const std::string& dtype) {
  const auto bin = TensorStore::open(stories("stories260K.bin"));
  fixtures::SafetensorsBuilder b;
  auto add = [&](const std::string& name, std::int64_t rows, std::int64_t cols, const std::vector<float>& v) {
    if (dtype == "BF16" && rows > 1)
      b.add_bf16_matrix(name, rows, cols, v);
    else
      b.add_tensor(
          vector_tensor(name, rows > 1 ? std::vector<std::int64_t>{rows, cols} : std::vector<std::int64_t>{cols}, v));
  };
  add("model.embed_tokens.weight", 512, 64, values_of(*bin, "tok_embeddings.weight"));
  add("model.norm.weight", 1, 64, values_of(*bin, "norm.weight"));
  const std::map<std::string, std::string> same = {
      {"attention_norm", "input_layernorm"}, {"ffn_norm", "post_attention_layernorm"},
      {"attention.wv", "self_attn.v_proj"},  {"attention.wo", "self_attn.o_proj"},
      {"feed_forward.w1", "mlp.gate_proj"},  {"feed_forward.w3", "mlp.up_proj"},
      {"feed_forward.w2", "mlp.down_proj"}};
  for (int l = 0; l < 5; ++l) {
    const std::string meta = "layers." + std::to_string(l) + ".";
    const std::string hf = "model.layers." + std::to_string(l) + ".";
    for (const auto& [from, to] : same) {
      const StoredTensor& t = bin->require(meta + from + ".weight");
      const std::int64_t rows = t.shape.size() == 2 ? t.shape[0] : 1;
      add(hf + to + ".weight", rows, t.shape.back(), values_of(*bin, t.name));
    }
    add(hf + "self_attn.q_proj.weight", 64, 64,
        permute_to_halves(values_of(*bin, meta + "attention.wq.weight"), 8, 8, 64));
    add(hf + "self_attn.k_proj.weight", 32, 64,
        permute_to_halves(values_of(*bin, meta + "attention.wk.weight"), 4, 8, 64));
  }
  fixtures::write_file(folder + "/model.safetensors", b.build());
  fixtures::write_text(folder + "/config.json", R"({"architectures":["LlamaForCausalLM"],"model_type":"llama",
    "hidden_size":64,"num_hidden_layers":5,"num_attention_heads":8,"num_key_value_heads":4,"intermediate_size":172,
    "vocab_size":512,"rms_norm_eps":1e-5,"rope_theta":10000.0,"tie_word_embeddings":true})");
}

// Every layer's states, layer 0 (embeddings) to n_layers, then the final norm.
std::vector<Matrix> all_states(const Transformer& model, const std::vector<std::int64_t>& ids,
                               const std::vector<std::int64_t>& starts) {
  std::vector<Matrix> out;
  Matrix final_states = model.forward(ids, starts, [&](std::int64_t, const Matrix& x) { out.push_back(x.clone()); });
  out.push_back(std::move(final_states));
  return out;
}

// max |a - b| / max |a| over the matrix.
double relative_difference(const Matrix& a, const Matrix& b) {
  double diff = 0, scale = 0;
  for (std::int64_t i = 0; i < a.n_rows() * a.n_cols(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a.data()[i] - b.data()[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(a.data()[i])));
  }
  return diff / scale;
}

const std::vector<std::int64_t> kIds = {1, 403, 407, 261, 378, 429, 271, 302, 415, 260, 500, 45, 300, 12};

TEST(Forward, HuggingFaceLayoutGivesTheSameStatesAsLlama2c) {
  if (!have_stories()) GTEST_SKIP() << "no stories260K (shared test data absent)";
  TempDir dir("forward-hf");
  write_hf_copy(dir.path(), "F32");
  const Transformer hf = Transformer::open(dir.path());
  EXPECT_EQ(hf.config().rope_pairs, RopePairs::Halves);
  EXPECT_TRUE(hf.config().tied);
  const Transformer bin = Transformer::open(stories("stories260K.bin"));
  const auto a = all_states(bin, kIds, {0});
  const auto b = all_states(hf, kIds, {0});
  ASSERT_EQ(a.size(), 7u);
  ASSERT_EQ(b.size(), 7u);
  // The same f32 products summed in another order: differences of a few f32 roundings per layer.
  for (std::size_t l = 0; l < a.size(); ++l) EXPECT_LT(relative_difference(a[l], b[l]), 1e-5) << "layer " << l;
  // Applying the wrong pairing is not the same model: the test can fail.
  const auto gguf = Transformer::open(stories("stories260K.gguf"));
  const auto c = all_states(gguf, kIds, {0});
  for (std::size_t l = 0; l < a.size(); ++l) EXPECT_EQ(relative_difference(a[l], c[l]), 0.0) << "layer " << l;
}

TEST(Forward, Bf16WeightsStayCloseToF32) {
  if (!have_stories()) GTEST_SKIP() << "no stories260K (shared test data absent)";
  TempDir dir("forward-hf-bf16");
  write_hf_copy(dir.path(), "BF16");
  const auto a = all_states(Transformer::open(stories("stories260K.bin")), kIds, {0});
  const auto b = all_states(Transformer::open(dir.path()), kIds, {0});
  // bf16 keeps 8 significant bits (relative rounding 2^-9 = 0.002 per weight); five layers of
  // such perturbations stay within a few percent of the largest activation.
  for (std::size_t l = 0; l < a.size(); ++l) {
    EXPECT_LT(relative_difference(a[l], b[l]), 0.05) << "layer " << l;
    if (l > 0) {
      EXPECT_GT(relative_difference(a[l], b[l]), 0.0) << "layer " << l;
    }
  }
}

TEST(Forward, SequencesDoNotSeeEachOther) {
  if (!have_stories()) GTEST_SKIP() << "no stories260K (shared test data absent)";
  const Transformer model = Transformer::open(stories("stories260K.gguf"));
  const std::vector<std::int64_t> first(kIds.begin(), kIds.begin() + 5);
  const std::vector<std::int64_t> second(kIds.begin() + 5, kIds.end());
  const auto together = all_states(model, kIds, {0, 5});
  const auto a = all_states(model, first, {0});
  const auto b = all_states(model, second, {0});
  for (std::size_t l = 0; l < together.size(); ++l) {
    for (std::int64_t r = 0; r < together[l].n_rows(); ++r) {
      const float* expected = r < 5 ? a[l].row(r) : b[l].row(r - 5);
      for (std::int64_t k = 0; k < 64; ++k) ASSERT_NEAR(together[l].row(r)[k], expected[k], 1e-5f) << l << "," << r;
    }
  }
  // One sequence of all the ids is a different computation from position 5 on.
  const auto joined = all_states(model, kIds, {0});
  EXPECT_GT(std::fabs(joined[3].row(6)[0] - together[3].row(6)[0]), 1e-6f);
}

TEST(Forward, BadInputsFailWithOneClearError) {
  if (!have_stories()) GTEST_SKIP() << "no stories260K (shared test data absent)";
  const Transformer model = Transformer::open(stories("stories260K.bin"));
  expect_error(
      [&] {
        model.forward(std::vector<std::int64_t>{1, 512}, std::vector<std::int64_t>{0});
      },
      ErrorKind::Usage);
  expect_error([&] { model.forward({}, std::vector<std::int64_t>{0}); }, ErrorKind::Usage);
  expect_error(
      [&] {
        model.forward(std::vector<std::int64_t>{1, 2}, std::vector<std::int64_t>{0, 2});
      },
      ErrorKind::Usage);
}

TEST(Forward, UnsupportedArchitecturesAreRefusedByName) {
  TempDir dir("forward-arch");
  fixtures::SafetensorsBuilder b;
  b.add_f32_matrix("model.embed_tokens.weight", 4, 2, fixtures::ramp_matrix(4, 2));
  fixtures::write_file(dir / "model.safetensors", b.build());
  fixtures::write_text(dir / "config.json", R"({"architectures":["Qwen3MoeForCausalLM"],"model_type":"qwen3_moe",
    "num_experts":128})");
  Error e = expect_error([&] { Transformer::open(dir.path()); }, ErrorKind::Unsupported);
  EXPECT_TRUE(contains(e.message(), "'Qwen3MoeForCausalLM' is a mixture-of-experts architecture"));
  fixtures::write_text(dir / "config.json", R"({"architectures":["GPTNeoXForCausalLM"],"model_type":"gpt_neox"})");
  e = expect_error([&] { Transformer::open(dir.path()); }, ErrorKind::Unsupported);
  EXPECT_TRUE(contains(e.message(), "architecture 'GPTNeoXForCausalLM' is not supported"));
  EXPECT_TRUE(contains(e.message(), "supported: llama"));
}

TEST(Forward, MissingTensorAndContradictingShapeAreNamed) {
  TempDir dir("forward-missing");
  fixtures::SafetensorsBuilder b;
  b.add_f32_matrix("model.embed_tokens.weight", 4, 2, fixtures::ramp_matrix(4, 2));
  b.add_tensor(vector_tensor("model.layers.0.input_layernorm.weight", {2}, {1, 1}));
  b.add_tensor(vector_tensor("model.layers.0.post_attention_layernorm.weight", {2}, {1, 1}));
  b.add_f32_matrix("model.layers.0.self_attn.q_proj.weight", 3, 2, fixtures::ramp_matrix(3, 2));
  fixtures::write_file(dir / "model.safetensors", b.build());
  fixtures::write_text(dir / "config.json", R"({"model_type":"llama","hidden_size":2,"num_hidden_layers":1,
    "num_attention_heads":1,"intermediate_size":3})");
  const Transformer model = Transformer::open(dir.path());
  Error e = expect_error([&] { model.forward(std::vector<std::int64_t>{1}, std::vector<std::int64_t>{0}); },
                         ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(),
                       "tensor 'model.layers.0.self_attn.q_proj.weight' has shape [3, 2], the config implies [2, 2]"));
  fixtures::write_text(dir / "config.json", R"({"model_type":"llama","hidden_size":2,"num_hidden_layers":2,
    "num_attention_heads":1,"intermediate_size":3})");
  fixtures::SafetensorsBuilder c;
  c.add_f32_matrix("model.embed_tokens.weight", 4, 2, fixtures::ramp_matrix(4, 2));
  fixtures::write_file(dir / "model.safetensors", c.build());
  e = expect_error(
      [&] { Transformer::open(dir.path()).forward(std::vector<std::int64_t>{1}, std::vector<std::int64_t>{0}); },
      ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "missing tensor 'model.layers.0.input_layernorm.weight'"));
  fixtures::write_text(dir / "config.json", R"({"model_type":"llama","hidden_size":4,"num_hidden_layers":2,
    "num_attention_heads":1,"intermediate_size":3})");
  e = expect_error([&] { Transformer::open(dir.path()); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "has shape [4, 2], but the config says hidden size 4"));
}

}  // namespace
}  // namespace embstat::transformer
