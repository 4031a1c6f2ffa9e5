// llama2.c checkpoints (Karpathy's llama2.c run.c / runq.c / export.py).
//
// Legacy format ("version 0", run.c), all little-endian, no magic:
//   7 x i32 dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len
//     (vocab_size < 0: the classifier is not shared with the embedding)
//   f32 weights: token_embedding_table [vocab x dim] at byte 28, rms_att, wq, wk, wv, wo,
//     rms_ffn, w1, w2, w3, rms_final, freq_cis_real, freq_cis_imag (seq_len*head_size/2 each),
//     then wcls [vocab x dim] when not shared.
// Versioned format (export.py), a 256-byte header:
//   u32 magic 0x616b3432 (bytes "24ka"; "ak42" read as a number) | i32 version | the 7 i32 above
//   (vocab_size positive) | u8 shared_classifier | version 2: i32 group_size | zero padding
//   version 1: f32 rms_att (all layers), rms_ffn, rms_final, token embedding, wq.., wk.., wv..,
//     wo.., w1.., w2.., w3.., [wcls]
//   version 2: the same norms in f32, then each matrix (token embedding first, per layer for the
//     others) as all its int8 values followed by one f32 scale per group_size values;
//     value = int8 x scale.
// The file size must be exactly what the header implies. The tokenizer is tok<vocab>.bin or
// tokenizer.bin beside the checkpoint; a missing one is a note, a corrupt one an error.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "embstat/formats/model.hpp"

namespace embstat {

inline constexpr std::uint32_t kLlama2cMagic = 0x616b3432;

struct Llama2cHeader {
  int version = 0;  // 0 legacy, 1 fp32, 2 int8 groups
  std::int64_t dim = 0, hidden_dim = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab_size = 0, seq_len = 0;
  bool shared_classifier = true;
  std::int64_t group_size = 0;     // version 2
  std::uint64_t header_bytes = 0;  // 28 or 256
  // Derived layout (bytes), checked against the file size by the parser.
  std::uint64_t embedding_offset = 0;   // token embedding (v2: its int8 values)
  std::uint64_t embedding_scales = 0;   // v2: its f32 scales
  std::uint64_t classifier_offset = 0;  // wcls when not shared (v2: int8 values)
  std::uint64_t classifier_scales = 0;  // v2
  std::uint64_t file_bytes = 0;         // the size the header implies
};

// Parses the header of a whole checkpoint held in `file_bytes` and computes the layout, with
// overflow-checked arithmetic. Throws Error(Format) when the values are impossible or the file
// size disagrees, Error(Unsupported) for an "ak42" version other than 1 and 2.
Llama2cHeader parse_llama2c_header(std::span<const std::uint8_t> file_bytes, const std::string& path);

// Opens a checkpoint as a Model (format "llama2c"): the token embedding, or wcls for
// --matrix output when not shared. Version 2 matrices are dequantised to f32 at open.
Model open_llama2c(const std::string& path, const OpenOptions& options);

}  // namespace embstat
