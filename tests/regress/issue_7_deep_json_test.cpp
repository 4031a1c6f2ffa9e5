// Regression (issue 7, found by fuzz/safetensors_header_fuzz and fuzz/safetensors_index_fuzz):
// a JSON value nested 100,000 levels deep where a number or boolean was expected crashed the
// reader with a stack overflow (SIGSEGV, exit 139), because the error message dumped the value
// with nlohmann's recursive dump(). Parsing and destroying deep JSON is iterative in
// nlohmann_json 3.11 and was never the problem. Each case must now be one Format error naming
// the value's type. Seeds: fuzz/corpus/safetensors_header/crash_deep_shape_entry.safetensors,
// fuzz/corpus/safetensors_index/crash_deep_config_{vocab_size,tie}.json.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "embstat/base/error.hpp"
#include "embstat/formats/safetensors.hpp"
#include "tests/fixtures/expect_error.hpp"

namespace embstat {
namespace {

using fixtures::contains;
using fixtures::expect_error;

// Ten times deeper than the depth that crashed a release build: no stack holds this recursion.
constexpr std::size_t kDepth = 1'000'000;

std::string deep_array() {
  return std::string(kDepth, '[') + std::string(kDepth, ']');
}

std::vector<std::uint8_t> safetensors_with_header(const std::string& header) {
  std::string file(8, '\0');  // u64 little-endian header length
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  file += header;
  return {file.begin(), file.end()};
}

TEST(Issue7DeepJson, SafetensorsShapeEntry) {
  const auto bytes =
      safetensors_with_header(R"({"w":{"dtype":"F32","shape":[)" + deep_array() + R"(],"data_offsets":[0,0]}})");
  const Error e = expect_error([&] { parse_safetensors_header(bytes, "deep.safetensors"); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "must be a non-negative integer, not a JSON array"));
}

TEST(Issue7DeepJson, SafetensorsDataOffsets) {
  const auto bytes =
      safetensors_with_header(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[)" + deep_array() + R"(,0]}})");
  const Error e = expect_error([&] { parse_safetensors_header(bytes, "deep.safetensors"); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "data_offsets begin must be a non-negative integer, not a JSON array"));
}

TEST(Issue7DeepJson, ConfigVocabSize) {
  const std::string json = R"({"text_config":{"vocab_size":)" + deep_array() + "}}";
  const Error e = expect_error([&] { parse_model_config(json, "config.json"); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "text_config.vocab_size must be a non-negative integer, not a JSON array"));
}

TEST(Issue7DeepJson, ConfigTieWordEmbeddings) {
  const std::string json = R"({"tie_word_embeddings":)" + deep_array() + "}";
  const Error e = expect_error([&] { parse_model_config(json, "config.json"); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "tie_word_embeddings must be true or false, not a JSON array"));
}

TEST(Issue7DeepJson, ScalarsAreStillQuoted) {
  const Error e =
      expect_error([&] { parse_model_config(R"({"vocab_size": "many"})", "config.json"); }, ErrorKind::Format);
  EXPECT_TRUE(contains(e.message(), "vocab_size must be a non-negative integer, not \"many\""));
}

}  // namespace
}  // namespace embstat
