// open_tokenizer() — what `embstat tokenize MODEL` encodes with: the tokenizer file a MODEL
// argument names or holds, as an Encoder plus the Vocabulary that decodes its ids.
#pragma once

#include <memory>
#include <string>

#include "embstat/vocab/encoder.hpp"
#include "embstat/vocab/vocabulary.hpp"

namespace embstat {

struct TokenizerSource {
  std::string name;  // short display name of the MODEL
  std::string file;  // the tokenizer file read
  std::unique_ptr<Encoder> encoder;
  Vocabulary vocab;
};

// MODEL may be a tokenizer.json (tokenizer_config.json beside it is read too), a SentencePiece
// tokenizer.model, a GGUF file with tokenizer.ggml.* metadata, a llama2.c tokenizer.bin, a
// folder holding one of these (tokenizer.json first), or a hub id in the local cache.
// Throws Error(Io) when nothing is found, Error(Unsupported) for tokenizers that cannot encode.
TokenizerSource open_tokenizer(const std::string& spec);

}  // namespace embstat
