// open_model(): which reader a MODEL argument goes to (magic bytes first, then extension),
// folders, PyTorch pickles refused with advice, and one-line errors for everything else.
#include "embstat/formats/model.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "embstat/base/error.hpp"
#include "tests/fixtures/expect_error.hpp"
#include "tests/fixtures/gguf_builder.hpp"
#include "tests/fixtures/llama2c_builder.hpp"
#include "tests/fixtures/npy_builder.hpp"
#include "tests/fixtures/safetensors_builder.hpp"

namespace embstat {
namespace {

namespace fs = std::filesystem;
using fixtures::contains;
using fixtures::expect_error;
using fixtures::TempDir;

std::vector<std::uint8_t> tiny_safetensors() {
  fixtures::SafetensorsBuilder b;
  b.add_f32_matrix("model.embed_tokens.weight", 4, 3, fixtures::ramp_matrix(4, 3));
  return b.build();
}

std::vector<std::uint8_t> tiny_npy() {
  fixtures::NpySpec s;
  s.data = fixtures::f32_data(fixtures::ramp_matrix(2, 3));
  return fixtures::build_npy(s);
}

TEST(OpenModel, SniffsByMagicWhateverTheName) {
  TempDir dir("model-sniff");
  fixtures::write_file(dir / "a.weights", fixtures::tiny_model_gguf());
  fixtures::write_file(dir / "b.weights", tiny_npy());
  fixtures::write_file(dir / "c.weights", tiny_safetensors());
  fixtures::Llama2cSpec v2;
  v2.version = 2;
  fixtures::write_file(dir / "d.weights", fixtures::build_llama2c(v2));
  EXPECT_EQ(open_model(dir / "a.weights", {}).format, "gguf");
  EXPECT_EQ(open_model(dir / "b.weights", {}).format, "npy");
  EXPECT_EQ(open_model(dir / "c.weights", {}).format, "safetensors");
  EXPECT_EQ(open_model(dir / "d.weights", {}).format, "llama2c");
}

TEST(OpenModel, ExtensionsForFilesWithoutMagic) {
  TempDir dir("model-ext");
  fixtures::write_file(dir / "stories.bin", fixtures::build_llama2c({}));  // legacy: no magic
  const Model m = open_model(dir / "stories.bin", {});
  EXPECT_EQ(m.format, "llama2c");
  EXPECT_EQ(m.name, "stories.bin");
  EXPECT_EQ(m.spec, dir / "stories.bin");
  fixtures::write_text(dir / "x.safetensors", "not a safetensors file at all");
  expect_error([&] { open_model(dir / "x.safetensors", {}); }, ErrorKind::Format);
  fixtures::write_text(dir / "x.gguf", "not a gguf file");
  expect_error([&] { open_model(dir / "x.gguf", {}); }, ErrorKind::Format);
  fixtures::write_text(dir / "x.npy", "not an npy file");
  expect_error([&] { open_model(dir / "x.npy", {}); }, ErrorKind::Format);
  fixtures::write_text(dir / "x.bin", "some other binary");
  auto e = expect_error([&] { open_model(dir / "x.bin", {}); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "not a llama2.c checkpoint"));
  fixtures::write_text(dir / "notes.txt", "hello");
  auto u = expect_error([&] { open_model(dir / "notes.txt", {}); }, ErrorKind::Unsupported);
  EXPECT_TRUE(contains(u.message(), "unrecognised"));
  fixtures::write_text(dir / "empty.safetensors", "");
  expect_error([&] { open_model(dir / "empty.safetensors", {}); }, ErrorKind::Format);
}

TEST(OpenModel, PyTorchPicklesAreRefusedWithAdvice) {
  TempDir dir("model-torch");
  fixtures::write_text(dir / "pytorch_model.bin", std::string("PK\x03\x04", 4) + "archive/data.pkl");
  fixtures::write_text(dir / "old.bin", std::string("\x80\x02}q\x00(X", 7));
  fixtures::write_text(dir / "weights.pt", "anything");
  for (const char* name : {"pytorch_model.bin", "old.bin", "weights.pt"}) {
    SCOPED_TRACE(name);
    auto e = expect_error([&] { open_model(dir / name, {}); }, ErrorKind::Unsupported);
    EXPECT_TRUE(contains(e.message(), "safetensors"));
    EXPECT_EQ(e.path(), dir / name);
  }
  // A folder holding only the pickle says the same.
  auto e = expect_error([&] { open_model(dir.path(), {}); }, ErrorKind::Unsupported);
  EXPECT_TRUE(contains(e.message(), "pytorch_model.bin"));
}

TEST(OpenModel, Folders) {
  TempDir dir("model-folders");
  fixtures::write_file(dir / "one/model.gguf", fixtures::tiny_model_gguf());
  fixtures::write_file(dir / "one/mmproj-model.gguf", fixtures::tiny_model_gguf());  // not a candidate
  EXPECT_EQ(open_model(dir / "one", {}).format, "gguf");
  fixtures::write_file(dir / "two/a.gguf", fixtures::tiny_model_gguf());
  fixtures::write_file(dir / "two/b.gguf", fixtures::tiny_model_gguf());
  auto e = expect_error([&] { open_model(dir / "two", {}); }, ErrorKind::Usage);
  EXPECT_TRUE(contains(e.message(), "a.gguf, b.gguf"));
  fixtures::write_file(dir / "st/model.safetensors", tiny_safetensors());
  const Model st = open_model(dir / "st", {});
  EXPECT_EQ(st.format, "safetensors");
  EXPECT_EQ(st.name, "st");
  fs::create_directories(dir / "empty");
  auto none = expect_error([&] { open_model(dir / "empty", {}); }, ErrorKind::Io);
  EXPECT_TRUE(contains(none.message(), "no model weights"));
}

TEST(OpenModel, MissingPaths) {
  auto e = expect_error([] { open_model("/no/such/model.gguf", {}); }, ErrorKind::Io);
  EXPECT_EQ(e.path(), "/no/such/model.gguf");
  EXPECT_TRUE(contains(e.message(), "no such file"));
  expect_error([] { open_model("", {}); }, ErrorKind::Usage);
}

TEST(OpenModel, SpecialFilesAreRefusedWithoutBlocking) {
  TempDir dir("model-fifo");
  ASSERT_EQ(::mkfifo((dir / "pipe.safetensors").c_str(), 0600), 0);
  auto e = expect_error([&] { open_model(dir / "pipe.safetensors", {}); }, ErrorKind::Io);
  EXPECT_TRUE(contains(e.message(), "not a regular file"));
  expect_error([] { open_model("/dev/zero", {}); }, ErrorKind::Io);
}

}  // namespace
}  // namespace embstat
