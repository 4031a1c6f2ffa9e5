// Building a Vocabulary from each tokenizer format.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "embstat/vocab/vocabulary.hpp"

namespace embstat {

// The most token ids any loader accepts (2^24 = 16,777,216; the largest real vocabularies
// have ~260k). A file claiming more is rejected before anything is allocated.
inline constexpr std::int64_t kMaxVocabularySize = std::int64_t{1} << 24;

// Hugging Face tokenizer.json: model.vocab (BPE / WordPiece / WordLevel map, Unigram list) +
// added_tokens (special -> Control, others UserDefined, stored verbatim). The spelling convention
// comes from the decoder, else the pre-tokenizer, else the normalizer, else the model type
// (ByteLevel -> "byte-bpe", Metaspace / Replace ▁ -> "sentencepiece" or "unigram", WordPiece ->
// "wordpiece", otherwise "raw"); <0xNN> pieces are Byte tokens when byte_fallback is on.
// Ids may be sparse (holes become Unused tokens with an empty piece), but not sparser than
// the number of entries + 65,536, and never >= kMaxVocabularySize.
// Throws Error(Io) if unreadable; Error(Format) naming the file (and the byte offset, for JSON
// syntax errors) on malformed JSON or wrong types; Error(Unsupported) for an unknown model type.
Vocabulary load_tokenizer_json(const std::string& path);
// The same from bytes in memory; `source` names them in errors and in Vocabulary::source.
Vocabulary parse_tokenizer_json(std::string_view json, const std::string& source);

// llama2.c tokenizer.bin: int32 max_token_length, then per token f32 score, int32 len, bytes.
// n_tokens: how many to read (the checkpoint's vocab_size); negative = every token up to the end
// of the file. Bytes after the n_tokens-th token are ignored, as llama2.c does. A length may
// exceed max_token_length (llama2.c's own exports never do; we only need the bytes), but not
// 1 MiB nor the bytes left. Pieces "<unk>" -> Unknown, "\n<s>\n" / "\n</s>\n" -> Control,
// "<0xNN>" -> Byte (that byte); other pieces are the text (llama2.c's export already turned ▁
// into spaces).
Vocabulary load_llama2c_tokenizer(const std::string& path, std::int64_t n_tokens);
Vocabulary parse_llama2c_tokenizer(std::span<const std::uint8_t> bytes, std::int64_t n_tokens,
                                   const std::string& source);

// GGUF tokenizer.ggml.tokens (+ tokenizer.ggml.token_type when present: empty, or one per
// piece; llama.cpp's values 1 normal, 2 unknown, 3 control, 4 user defined, 5 unused, 6 byte;
// 0 and unknown values count as normal). ggml_model is tokenizer.ggml.model:
//   "gpt2"  normal pieces are byte-level (Ġ = space)                 kind "byte-bpe"
//   "llama" ▁ = space, byte tokens <0xNN>                            kind "sentencepiece"
//   "t5"    the same spelling (Unigram)                              kind "unigram"
//   "bert"  llama.cpp's conversion marks word starts with ▁ and drops ##; a file still using
//           ## continuations is decoded as WordPiece                 kind "wordpiece"
//   other   pieces are the text                                      kind "raw"
// Control, user-defined, unknown and unused tokens are taken verbatim (llama.cpp does the same).
// Throws Error(Format) naming `source` when token_types has another length than pieces or
// there are more than kMaxVocabularySize pieces.
// The pieces are views (into a mapped GGUF file): no copy of them is made besides the tokens'.
Vocabulary vocabulary_from_pieces(std::span<const std::string_view> pieces,
                                  const std::vector<std::int32_t>& token_types, std::string_view ggml_model,
                                  std::string source);
Vocabulary vocabulary_from_pieces(const std::vector<std::string>& pieces, const std::vector<std::int32_t>& token_types,
                                  std::string_view ggml_model, std::string source);

// SentencePiece tokenizer.model (protobuf) through libsentencepiece: pieces with their types
// (unknown, control, unused, byte), spelled as llama.cpp's "llama" vocabularies (kind
// "sentencepiece"). Throws Error(Io) when unreadable, Error(Format) when not a model.
Vocabulary load_sentencepiece_vocabulary(const std::string& model_path);

}  // namespace embstat
