// llama2.c checkpoints: legacy / version 1 / version 2 built here with known weights, each
// hostile header, every truncation, and the real stories260K files (fp32 vs int8 export).
#include "embstat/formats/llama2c.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"
#include "tests/fixtures/expect_error.hpp"
#include "tests/fixtures/llama2c_builder.hpp"
#include "tests/fixtures/safetensors_builder.hpp"

namespace embstat {
namespace {

using fixtures::contains;
using fixtures::expect_error;
using fixtures::Llama2cSpec;

Llama2cHeader parse(const std::vector<std::uint8_t>& bytes) {
  return parse_llama2c_header(bytes, "mem.bin");
}

void set_i32(std::vector<std::uint8_t>& bytes, std::size_t offset, std::int32_t v) {
  std::memcpy(bytes.data() + offset, &v, 4);
}

// Checks the embedding (ramp / 100) or the classifier (-ramp / 100) within `tolerance`.
void expect_ramp(const Model& m, float sign, float tolerance) {
  const Matrix f = decode_to_f32(m.matrix);
  for (std::int64_t r = 0; r < f.n_rows(); ++r)
    for (std::int64_t c = 0; c < f.n_cols(); ++c)
      ASSERT_NEAR(f.row(r)[c], sign * static_cast<float>(r * 10 + c) / 100.0f, tolerance) << r << "," << c;
}

TEST(Llama2c, LegacyTiedAndUntied) {
  fixtures::TempDir dir("l2c-legacy");
  Llama2cSpec s;
  fixtures::write_file(dir / "tied.bin", fixtures::build_llama2c(s));
  s.shared_classifier = false;
  fixtures::write_file(dir / "untied.bin", fixtures::build_llama2c(s));

  const Model tied = open_llama2c(dir / "tied.bin", {});
  EXPECT_EQ(tied.format, "llama2c");
  EXPECT_EQ(tied.tensor->name, "tok_embeddings.weight");
  EXPECT_EQ(tied.tensor->file_offset, 28u);
  EXPECT_EQ(tied.matrix.n_rows, 6);
  EXPECT_EQ(tied.matrix.n_cols, 8);
  EXPECT_TRUE(tied.tied);
  expect_ramp(tied, 1, 0);

  const Model untied = open_llama2c(dir / "untied.bin", {});
  EXPECT_FALSE(untied.tied);
  EXPECT_TRUE(untied.has_output_matrix);
  expect_ramp(untied, 1, 0);
  OpenOptions out;
  out.matrix = MatrixChoice::Output;
  const Model cls = open_llama2c(dir / "untied.bin", out);
  EXPECT_EQ(cls.tensor->name, "output.weight");
  expect_ramp(cls, -1, 0);
  const Model tied_out = open_llama2c(dir / "tied.bin", out);
  EXPECT_EQ(tied_out.tensor->name, "tok_embeddings.weight");
  EXPECT_TRUE(contains(tied_out.notes.at(0), "tied"));
}

TEST(Llama2c, VersionOneFp32) {
  fixtures::TempDir dir("l2c-v1");
  Llama2cSpec s;
  s.version = 1;
  s.shared_classifier = false;
  fixtures::write_file(dir / "v1.bin", fixtures::build_llama2c(s));
  const auto h = parse(fixtures::build_llama2c(s));
  EXPECT_EQ(h.version, 1);
  EXPECT_EQ(h.embedding_offset, 256u + 4u * (2 * 2 + 1) * 8);  // after the f32 norms
  expect_ramp(open_llama2c(dir / "v1.bin", {}), 1, 0);
  OpenOptions out;
  out.matrix = MatrixChoice::Output;
  expect_ramp(open_llama2c(dir / "v1.bin", out), -1, 0);
}

TEST(Llama2c, VersionTwoInt8WithGroupScales) {
  fixtures::TempDir dir("l2c-v2");
  Llama2cSpec s;
  s.version = 2;
  s.shared_classifier = false;
  fixtures::write_file(dir / "v2.bin", fixtures::build_llama2c(s));
  const Model m = open_llama2c(dir / "v2.bin", {});
  EXPECT_EQ(m.tensor->dtype, DType::I8);
  EXPECT_EQ(m.matrix.dtype, DType::F32);
  // Quantisation error is at most half a step: max|w| of a group / 127 / 2 <= 0.57 / 254.
  expect_ramp(m, 1, 0.0023f);
  OpenOptions out;
  out.matrix = MatrixChoice::Output;
  expect_ramp(open_llama2c(dir / "v2.bin", out), -1, 0.0023f);
}

TEST(Llama2c, TokenizerBesideTheCheckpoint) {
  fixtures::TempDir dir("l2c-tok");
  Llama2cSpec s;
  fixtures::write_file(dir / "model.bin", fixtures::build_llama2c(s));
  const Model none = open_llama2c(dir / "model.bin", {});
  EXPECT_TRUE(none.vocab.empty());
  EXPECT_TRUE(contains(none.notes.back(), "no tok6.bin or tokenizer.bin"));

  fixtures::write_file(dir / "tokenizer.bin", fixtures::build_llama2c_tokenizer({"<unk>", "a", "b", "c", "d", "e"}));
  const Model named = open_llama2c(dir / "model.bin", {});
  ASSERT_EQ(named.vocab.size(), 6u);
  EXPECT_EQ(named.vocab.token(3).bytes, "c");
  EXPECT_EQ(named.files.back(), dir / "tokenizer.bin");

  // tok<vocab>.bin wins over tokenizer.bin.
  fixtures::write_file(dir / "tok6.bin", fixtures::build_llama2c_tokenizer({"<unk>", "A", "B", "C", "D", "E"}));
  EXPECT_EQ(open_llama2c(dir / "model.bin", {}).vocab.token(3).bytes, "C");

  // A corrupt tokenizer file is fatal; it names the tokenizer.
  const auto good = fixtures::build_llama2c_tokenizer({"<unk>", "A", "B", "C", "D", "E"});
  fixtures::write_file(dir / "tok6.bin", {good.data(), good.size() - 3});
  auto e = expect_error([&] { open_llama2c(dir / "model.bin", {}); }, ErrorKind::Format);
  EXPECT_EQ(e.path(), dir / "tok6.bin");
}

TEST(Llama2c, EveryTruncationIsAnError) {
  for (int version : {0, 1, 2}) {
    Llama2cSpec s;
    s.version = version;
    const auto bytes = fixtures::build_llama2c(s);
    for (std::size_t n = 0; n < bytes.size(); n += (n < 300 ? 1 : 7)) {
      SCOPED_TRACE(version * 100000 + static_cast<int>(n));
      expect_error([&] { parse({bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n)}); }, ErrorKind::Format);
    }
  }
}

TEST(Llama2c, ExtraBytesAreAnError) {
  auto bytes = fixtures::build_llama2c({});
  bytes.push_back(0);
  auto e = expect_error([&] { parse(bytes); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "implies"));
}

TEST(Llama2c, ImpossibleHeaders) {
  const auto good = fixtures::build_llama2c({});
  struct Case {
    std::size_t field;  // int index in the 7-int header
    std::int32_t value;
  };
  for (const Case c :
       {Case{0, 0}, Case{0, -8}, Case{1, 0}, Case{2, 0}, Case{3, 3}, Case{4, 0}, Case{4, 3}, Case{5, 0}, Case{6, 0},
        Case{0, 0x7fffffff}, Case{5, 0x7fffffff}, Case{5, -0x7fffffff - 1}, Case{2, 1 << 30}}) {
    SCOPED_TRACE(c.field * 1000 + static_cast<std::size_t>(c.value & 0xfff));
    auto bytes = good;
    set_i32(bytes, 4 * c.field, c.value);
    expect_error([&] { parse(bytes); }, ErrorKind::Format);
  }
}

TEST(Llama2c, VersionedHeaderChecks) {
  Llama2cSpec s;
  s.version = 2;
  const auto good = fixtures::build_llama2c(s);
  auto v3 = good;
  set_i32(v3, 4, 3);
  EXPECT_EQ(expect_error([&] { parse(v3); }, ErrorKind::Unsupported).offset(), 4u);
  auto shared = good;
  shared[36] = 2;  // shared_classifier flag
  expect_error([&] { parse(shared); }, ErrorKind::Format);
  for (std::int32_t group : {0, -32, 3, 1 << 30}) {
    auto g = good;
    std::memcpy(g.data() + 37, &group, 4);
    SCOPED_TRACE(group);
    expect_error([&] { parse(g); }, ErrorKind::Format);
  }
}

// --- real data ---

std::string stories_dir() {
  return std::string(EMBSTAT_SHARED_DATA) + "/stories260K";
}

TEST(Llama2cRealData, Stories260KLegacy) {
  if (!std::filesystem::exists(stories_dir())) GTEST_SKIP() << "no " << stories_dir() << " (shared test data absent)";
  const auto file = MappedFile::open(stories_dir() + "/stories260K.bin");
  const auto h = parse_llama2c_header(file->bytes(), file->path());
  EXPECT_EQ(h.version, 0);
  EXPECT_EQ(h.dim, 64);
  EXPECT_EQ(h.hidden_dim, 172);
  EXPECT_EQ(h.n_layers, 5);
  EXPECT_EQ(h.vocab_size, 512);
  EXPECT_TRUE(h.shared_classifier);
  EXPECT_EQ(h.file_bytes, 28u + 4u * 264128u);

  const Model m = open_llama2c(stories_dir() + "/stories260K.bin", {});
  EXPECT_EQ(m.matrix.n_rows, 512);
  EXPECT_EQ(m.matrix.n_cols, 64);
  const Matrix f = decode_to_f32(m.matrix);
  EXPECT_EQ(std::memcmp(f.data(), file->data() + 28, 512 * 64 * 4), 0);  // the bytes at 28, as f32
  ASSERT_EQ(m.vocab.size(), 512u);                                       // tok512.bin beside it
  EXPECT_EQ(m.vocab.token(1).bytes, "\n<s>\n");
  EXPECT_EQ(m.files.back(), stories_dir() + "/tok512.bin");
}

TEST(Llama2cRealData, Stories260KInt8MatchesFp32) {
  if (!std::filesystem::exists(stories_dir())) GTEST_SKIP() << "no " << stories_dir() << " (shared test data absent)";
  const auto file = MappedFile::open(stories_dir() + "/stories260K_q80.bin");
  const auto h = parse_llama2c_header(file->bytes(), file->path());
  EXPECT_EQ(h.version, 2);
  EXPECT_EQ(h.group_size, 32);
  EXPECT_TRUE(h.shared_classifier);

  const Matrix fp = decode_to_f32(open_llama2c(stories_dir() + "/stories260K.bin", {}).matrix);
  const Model q = open_llama2c(stories_dir() + "/stories260K_q80.bin", {});
  const Matrix dq = decode_to_f32(q.matrix);
  ASSERT_EQ(dq.n_rows(), 512);
  // Each value within half a quantisation step of the fp32 original: |w - q*s| <= s/2,
  // s = max|w| of its group of 32 / 127.
  for (std::int64_t g = 0; g < 512 * 64 / 32; ++g) {
    float wmax = 0;
    for (int i = 0; i < 32; ++i) wmax = std::max(wmax, std::fabs(fp.data()[g * 32 + i]));
    const float half_step = wmax / 127.0f / 2.0f * 1.0001f + 1e-7f;
    for (int i = 0; i < 32; ++i)
      ASSERT_NEAR(dq.data()[g * 32 + i], fp.data()[g * 32 + i], half_step) << "value " << g * 32 + i;
  }
  EXPECT_EQ(q.vocab.size(), 512u);
}

}  // namespace
}  // namespace embstat
