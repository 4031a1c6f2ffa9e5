// The codebooks (grids) of ggml's i-quant types: each quant of an IQ2/IQ3/IQ1 block is an
// index into one of these, naming 8 (or 4) element values at once. Data only; the decoders
// in ggml_quants.cpp use them.
#pragma once

#include <array>
#include <cstdint>

namespace embstat::ggml {

extern const std::array<std::uint64_t, 256> kIq2xxsGrid;  // IQ2_XXS: 8 magnitudes (8, 25 or 43)
extern const std::array<std::uint64_t, 512> kIq2xsGrid;   // IQ2_XS
extern const std::array<std::uint64_t, 1024> kIq2sGrid;   // IQ2_S
extern const std::array<std::uint32_t, 256> kIq3xxsGrid;  // IQ3_XXS: 4 magnitudes
extern const std::array<std::uint32_t, 512> kIq3sGrid;    // IQ3_S: 4 magnitudes
extern const std::array<std::uint64_t, 2048> kIq1sGrid;   // IQ1_S, IQ1_M: 8 signed bytes in -1..1
extern const std::array<std::int8_t, 16> kIq4nlValues;    // IQ4_NL, IQ4_XS: the 16 levels

}  // namespace embstat::ggml
