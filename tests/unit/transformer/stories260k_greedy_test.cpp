// The forward pass on real trained weights: greedy decoding from BOS with stories260K must give
// llama2.c's documented continuation, from the llama2.c checkpoint and from the GGUF files (F32,
// F16, and F16 with a Q8_0 token embedding and output).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "embstat/transformer/forward.hpp"
#include "embstat/vocab/loaders.hpp"

namespace embstat::transformer {
namespace {

const std::string kExpected =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw "
    "a big, red ball. She wanted to play with it, but it was too high";

std::string stories(const std::string& name) {
  return std::string(EMBSTAT_SHARED_DATA) + "/stories260K/" + name;
}

// Greedy decoding: each step runs the whole sequence again and takes the best next token.
std::string greedy_text(const Transformer& model, const Vocabulary& vocab, std::size_t n_chars) {
  std::vector<std::int64_t> ids = {1};  // BOS
  std::string text;
  const std::vector<std::int64_t> starts = {0};
  while (text.size() < n_chars && ids.size() < 256) {
    const Matrix final_states = model.forward(ids, starts);
    Matrix last(1, final_states.n_cols());
    std::copy(final_states.row(final_states.n_rows() - 1),
              final_states.row(final_states.n_rows() - 1) + final_states.n_cols(), last.row(0));
    const Matrix scores = model.logits(last);
    const std::int64_t next = std::max_element(scores.row(0), scores.row(0) + scores.n_cols()) - scores.row(0);
    if (next == 1 || next == 2) break;  // BOS / EOS
    std::string piece = vocab.token(next).bytes;
    if (ids.size() == 1 && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);  // as llama2.c decodes after BOS
    text += piece;
    ids.push_back(next);
  }
  return text;
}

class Stories260KGreedy : public ::testing::TestWithParam<std::string> {};

TEST_P(Stories260KGreedy, ReproducesLlama2cContinuation) {
  if (!std::filesystem::exists(stories(GetParam())))
    GTEST_SKIP() << "no " << stories(GetParam()) << " (shared test data absent)";
  const Vocabulary vocab = load_llama2c_tokenizer(stories("tok512.bin"), 512);
  const Transformer model = Transformer::open(stories(GetParam()));
  EXPECT_EQ(model.config().n_layers, 5);
  EXPECT_EQ(model.config().rope_pairs, RopePairs::Adjacent);
  const std::string text = greedy_text(model, vocab, kExpected.size());
  EXPECT_EQ(text.substr(0, kExpected.size()), kExpected);
}

INSTANTIATE_TEST_SUITE_P(Files, Stories260KGreedy,
                         ::testing::Values("stories260K.bin", "stories260K_q80.bin", "stories260K.gguf",
                                           "stories260K-F16.gguf", "stories260K-F16-tokembd-q8_0.gguf"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace_if(
                               name.begin(), name.end(), [](char ch) { return !std::isalnum(ch); }, '_');
                           return name;
                         });

}  // namespace
}  // namespace embstat::transformer
