// RoPE: frequencies (plain, llama3 and linear scaling, GGUF factors) and the two pairings.
#include "embstat/transformer/rope.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace embstat::transformer {
namespace {

TEST(Rope, Llama3ScalingKeepsShortWavelengthsAndDividesLongOnes) {
  TransformerConfig c;
  c.head_dim = 128;
  c.rope_theta = 500000;
  RopeScaling s;
  s.type = "llama3";
  s.factor = 32;
  s.low_freq_factor = 1;
  s.high_freq_factor = 4;
  s.original_max_position_embeddings = 8192;
  c.rope_scaling = s;
  const auto inv = rope_inverse_frequencies(c);
  ASSERT_EQ(inv.size(), 64u);
  EXPECT_DOUBLE_EQ(inv[0], 1.0);                                       // wavelength 2 pi: unchanged
  EXPECT_NEAR(inv[30], 0.001290547928209264, 1e-15);                   // blended (computed independently)
  EXPECT_NEAR(inv[63], std::pow(500000.0, -126.0 / 128) / 32, 1e-18);  // long: divided by the factor
  c.rope_scaling->type = "linear";
  c.rope_scaling->factor = 4;
  EXPECT_DOUBLE_EQ(rope_inverse_frequencies(c)[0], 0.25);
  c.rope_scaling.reset();
  c.rope_freq_factors.assign(64, 2.0f);
  EXPECT_DOUBLE_EQ(rope_inverse_frequencies(c)[0], 0.5);
}

TEST(Rope, AdjacentAndHalvesPairDifferentDimensions) {
  const std::vector<double> inv = {1.0, 0.01};
  const auto table = rope_table(inv, 3);
  ASSERT_EQ(table.size(), 12u);
  EXPECT_FLOAT_EQ(table[0], 1.0f);          // position 0: no rotation
  const float* row = table.data() + 2 * 4;  // position 2
  const double c0 = std::cos(2.0), s0 = std::sin(2.0), c1 = std::cos(0.02), s1 = std::sin(0.02);
  float adjacent[4] = {1, 2, 3, 4};
  apply_rope(adjacent, 1, 4, row, RopePairs::Adjacent);
  EXPECT_NEAR(adjacent[0], 1 * c0 - 2 * s0, 1e-6);
  EXPECT_NEAR(adjacent[1], 1 * s0 + 2 * c0, 1e-6);
  EXPECT_NEAR(adjacent[2], 3 * c1 - 4 * s1, 1e-6);
  EXPECT_NEAR(adjacent[3], 3 * s1 + 4 * c1, 1e-6);
  float halves[4] = {1, 2, 3, 4};
  apply_rope(halves, 1, 4, row, RopePairs::Halves);
  EXPECT_NEAR(halves[0], 1 * c0 - 3 * s0, 1e-6);
  EXPECT_NEAR(halves[2], 1 * s0 + 3 * c0, 1e-6);
  EXPECT_NEAR(halves[1], 2 * c1 - 4 * s1, 1e-6);
  EXPECT_NEAR(halves[3], 2 * s1 + 4 * c1, 1e-6);
}

}  // namespace
}  // namespace embstat::transformer
