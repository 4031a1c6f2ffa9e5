// make_hostile_files DIR — writes the hostile inputs of tests/e2e/hostile.cmake into DIR: files
// whose headers, names, token texts or values hold bytes that must never reach the terminal raw
// (newlines, ESC sequences, invalid UTF-8) or rows that have no cosine (NaN, Inf, zero).
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "tests/fixtures/gguf_builder.hpp"
#include "tests/fixtures/npy_builder.hpp"
#include "tests/fixtures/safetensors_builder.hpp"

namespace {

using namespace embstat::fixtures;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// n x d N(0,1) values, row-major, from a fixed seed.
std::vector<float> gaussian(std::int64_t n, std::int64_t d) {
  std::mt19937 rng(7);
  std::normal_distribution<float> g;
  std::vector<float> v(static_cast<std::size_t>(n * d));
  for (float& x : v) x = g(rng);
  return v;
}

std::vector<std::uint8_t> npy_f32(std::int64_t n, std::int64_t d, const std::vector<float>& values) {
  NpySpec spec;
  spec.shape = "(" + std::to_string(n) + ", " + std::to_string(d) + ")";
  spec.data = f32_data(values);
  return build_npy(spec);
}

void write_all(const std::string& dir) {
  const std::int64_t d = 8;
  // A header dict key holding a newline: the error quotes the key.
  NpySpec key;
  key.dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'desc\n': 1, }";
  key.data = f32_data(std::vector<float>(6, 1.0f));
  write_file(dir + "/key_newline.npy", build_npy(key));

  // A dtype string that would clear the screen.
  NpySpec dtype;
  dtype.descr = "<\x1b[2J";
  dtype.data = f32_data(std::vector<float>(6, 1.0f));
  write_file(dir + "/dtype_esc.npy", build_npy(dtype));

  // A sharded checkpoint whose index names a shard that would set the terminal title.
  write_text(dir + "/shards/model.safetensors.index.json",
             index_json({{"model.embed_tokens.weight", "\x1b]0;TITLE\x07.safetensors"}}));

  // A column of NaN: no row is usable.
  std::vector<float> nan_column = gaussian(256, d);
  for (std::int64_t i = 0; i < 256; ++i) nan_column[static_cast<std::size_t>(i * d + 3)] = kNaN;
  write_file(dir + "/nan_column.npy", npy_f32(256, d, nan_column));

  // 64 rows: 2 zero, 1 NaN, 1 Inf, 60 usable.
  std::vector<float> mixed = gaussian(64, d);
  for (std::int64_t k = 0; k < d; ++k) {
    mixed[static_cast<std::size_t>(1 * d + k)] = 0.0f;
    mixed[static_cast<std::size_t>(2 * d + k)] = 0.0f;
  }
  mixed[static_cast<std::size_t>(5 * d + 2)] = kNaN;
  mixed[static_cast<std::size_t>(9 * d + 7)] = -kInf;
  write_file(dir + "/mixed.npy", npy_f32(64, d, mixed));

  // A valid matrix whose file name holds invalid UTF-8 (0x80) and an 8-bit CSI (0x9b).
  write_file(dir + "/bad\x80name\x9b.npy", npy_f32(16, d, gaussian(16, d)));

  // A GGUF whose token texts hold an ESC sequence, a newline, invalid UTF-8, a byte token for
  // ESC, and CJK text (which stays readable).
  const std::vector<std::string> pieces = {"a", "\x1b[2J", "x\ny", "b\x80\xff", "<0x1B>", "日本", "\xe2\x80\xae", "z"};
  GgufBuilder gguf;
  gguf.add_string("general.architecture", "llama")
      .add_string("tokenizer.ggml.model", "llama")
      .add_string_array("tokenizer.ggml.tokens", pieces);
  const std::vector<float> emb = gaussian(8, d);
  gguf.add_f32_matrix("token_embd.weight", 8, d, emb);
  write_file(dir + "/hostile_vocab.gguf", gguf.build());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_hostile_files DIR\n");
    return 2;
  }
  try {
    std::filesystem::create_directories(argv[1]);
    write_all(argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_hostile_files: %s\n", e.what());
    return 1;
  }
  return 0;
}
