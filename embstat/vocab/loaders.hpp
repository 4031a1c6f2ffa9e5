// Building a Vocabulary from each tokenizer format.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "embstat/vocab/vocabulary.hpp"

namespace embstat {

// Hugging Face tokenizer.json: model.vocab (BPE / WordPiece map, Unigram list) + added_tokens.
// The decoding convention is taken from the pre-tokenizer / decoder (ByteLevel, Metaspace,
// WordPiece). Throws Error(Format) naming the file on malformed JSON.
Vocabulary load_tokenizer_json(const std::string& path);

// llama2.c tokenizer.bin: int32 max_token_length, then per token f32 score, int32 len, bytes.
// n_tokens: how many to read (the checkpoint's vocab_size).
Vocabulary load_llama2c_tokenizer(const std::string& path, std::int64_t n_tokens);

// GGUF tokenizer.ggml.tokens (+ token_type when present). ggml_model is tokenizer.ggml.model:
// "gpt2" pieces are byte-level, "llama" pieces use ▁ and <0xNN>, "bert" WordPiece.
Vocabulary vocabulary_from_pieces(std::vector<std::string> pieces, const std::vector<std::int32_t>& token_types,
                                  std::string_view ggml_model, std::string source);

}  // namespace embstat
