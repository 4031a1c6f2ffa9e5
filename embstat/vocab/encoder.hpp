// Encoder — exact text -> token ids, one implementation per tokenizer model type.
//
// Every encoder reproduces its reference implementation id for id (Hugging Face tokenizers for
// tokenizer.json, libsentencepiece for tokenizer.model, llama.cpp for GGUF vocabularies,
// llama2.c for tokenizer.bin); doc/formats/tokenizers.md says which and how it is tested.
// Offsets are byte offsets into the text as given (before any normalization).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace embstat {

struct EncodedToken {
  std::int64_t id = 0;
  std::uint64_t start = 0;  // byte range of the input text it stands for; BOS/EOS: empty
  std::uint64_t end = 0;
};

struct Encoding {
  std::vector<EncodedToken> tokens;
  bool bos_added = false;
  bool eos_added = false;

  std::vector<std::int64_t> ids() const;
};

class Encoder {
 public:
  virtual ~Encoder() = default;
  // What encodes: "tokenizer.json BPE (byte-level)", "sentencepiece tokenizer.model", ...
  virtual std::string description() const = 0;
  // add_special: the BOS/EOS the model's configuration adds (Hugging Face add_special_tokens).
  // Throws Error(Format) on text the reference refuses (encoders say which).
  virtual Encoding encode(std::string_view text, bool add_special) const = 0;
};

// Hugging Face tokenizer.json (+ tokenizer_config.json when config_path is not empty: its
// add_bos_token / add_eos_token override the post-processor, as transformers' Llama and Gemma
// fast tokenizers do). Supports BPE models (byte-level or byte_fallback) with the normalizers,
// pre-tokenizers and post-processors doc/formats/tokenizers.md lists; anything else is
// Error(Unsupported) naming it. A merge naming a piece the vocabulary lacks is Error(Format).
std::unique_ptr<Encoder> load_hf_encoder(const std::string& tokenizer_json, const std::string& config_path);
std::unique_ptr<Encoder> parse_hf_encoder(std::string_view json, std::string_view config_json,
                                          const std::string& source);

// SentencePiece tokenizer.model through libsentencepiece (BOS added by default, as Llama's
// tokenizers do).
std::unique_ptr<Encoder> load_sentencepiece_encoder(const std::string& model_path);

// Index of the first byte that is not part of valid UTF-8, or npos.
std::size_t first_invalid_utf8(std::string_view text);

}  // namespace embstat
