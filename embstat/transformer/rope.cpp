#include "embstat/transformer/rope.hpp"

#include <cmath>
#include <numbers>

namespace embstat::transformer {

std::vector<double> rope_inverse_frequencies(const TransformerConfig& config) {
  const std::int64_t half = config.head_dim / 2;
  std::vector<double> inv(static_cast<std::size_t>(half));
  for (std::int64_t i = 0; i < half; ++i)
    inv[static_cast<std::size_t>(i)] =
        1.0 / std::pow(config.rope_theta, static_cast<double>(2 * i) / static_cast<double>(config.head_dim));
  if (config.rope_scaling) {
    const RopeScaling& s = *config.rope_scaling;
    const double factor = *s.factor;
    if (s.type == "linear") {
      for (double& f : inv) f /= factor;
    } else {  // llama3, as transformers' _compute_llama3_parameters
      const double old_context = static_cast<double>(*s.original_max_position_embeddings);
      const double low_wavelen = old_context / *s.low_freq_factor;
      const double high_wavelen = old_context / *s.high_freq_factor;
      for (double& f : inv) {
        const double wavelen = 2 * std::numbers::pi / f;
        if (wavelen > low_wavelen) {
          f /= factor;
        } else if (wavelen >= high_wavelen) {
          const double smooth =
              (old_context / wavelen - *s.low_freq_factor) / (*s.high_freq_factor - *s.low_freq_factor);
          f = (1 - smooth) * f / factor + smooth * f;
        }
      }
    }
  }
  for (std::size_t i = 0; i < config.rope_freq_factors.size() && i < inv.size(); ++i)
    inv[i] /= static_cast<double>(config.rope_freq_factors[i]);
  return inv;
}

std::vector<float> rope_table(std::span<const double> inverse_frequencies, std::int64_t n_positions) {
  const auto half = static_cast<std::int64_t>(inverse_frequencies.size());
  std::vector<float> table(static_cast<std::size_t>(n_positions * 2 * half));
  for (std::int64_t p = 0; p < n_positions; ++p) {
    float* row = table.data() + p * 2 * half;
    for (std::int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(p) * inverse_frequencies[static_cast<std::size_t>(i)];
      row[i] = static_cast<float>(std::cos(angle));
      row[half + i] = static_cast<float>(std::sin(angle));
    }
  }
  return table;
}

void apply_rope(float* x, std::int64_t n_heads, std::int64_t head_dim, const float* cos_sin, RopePairs pairs) {
  const std::int64_t half = head_dim / 2;
  for (std::int64_t h = 0; h < n_heads; ++h) {
    float* head = x + h * head_dim;
    for (std::int64_t i = 0; i < half; ++i) {
      const float c = cos_sin[i];
      const float s = cos_sin[half + i];
      float& a = pairs == RopePairs::Adjacent ? head[2 * i] : head[i];
      float& b = pairs == RopePairs::Adjacent ? head[2 * i + 1] : head[half + i];
      const float a0 = a;
      const float b0 = b;
      a = a0 * c - b0 * s;
      b = a0 * s + b0 * c;
    }
  }
}

}  // namespace embstat::transformer
