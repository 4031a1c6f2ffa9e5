// XXH64 — a fast non-cryptographic 64-bit checksum (Yann Collet's xxHash, 64-bit variant).
//
// Used to fingerprint the bytes of the tensor a report analysed, so two figures can be traced
// to the same weights (`xxhsum -H64` on the same bytes prints the same value). ~10 GB/s, one
// pass, no allocation; thread-safe. Not for security.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace embstat {

std::uint64_t xxh64(std::span<const std::uint8_t> bytes, std::uint64_t seed = 0);

// 16 lower-case hex digits, as xxhsum prints it.
std::string xxh64_hex(std::uint64_t hash);

}  // namespace embstat
