// Rotary position embedding: each pair of a head's dimensions is rotated by position x frequency.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "embstat/transformer/config.hpp"

namespace embstat::transformer {

// The frequency of each pair (head_dim / 2 values): theta^(-2i / head_dim), then the config's
// scaling (llama3: long wavelengths divided by the factor, a smooth blend between; linear: all
// divided) and GGUF's per-pair factors.
std::vector<double> rope_inverse_frequencies(const TransformerConfig& config);

// cos and sin of position x frequency for positions [0, n_positions): row p holds head_dim / 2
// cosines then head_dim / 2 sines (computed in double, stored in f32).
std::vector<float> rope_table(std::span<const double> inverse_frequencies, std::int64_t n_positions);

// Rotates `n_heads` heads of `head_dim` values laid end to end in `x` (one position's q or k)
// with the table row `cos_sin` of its position, pairing dimensions as `pairs` says.
void apply_rope(float* x, std::int64_t n_heads, std::int64_t head_dim, const float* cos_sin, RopePairs pairs);

}  // namespace embstat::transformer
