// llama2.c tokenizer.bin (written by llama2.c's tokenizer.py export):
//
//   int32  max_token_length
//   n_tokens times:
//     f32    score
//     int32  len          (bytes that follow)
//     u8     piece[len]   (UTF-8; SentencePiece's ▁ already replaced by ' ';
//                          BOS / EOS written as "\n<s>\n" / "\n</s>\n")
//
// All little-endian. The file does not store n_tokens: it is the checkpoint's vocab_size.
#include <fmt/format.h>

#include "embstat/base/byte_cursor.hpp"
#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"
#include "embstat/vocab/loaders.hpp"

namespace embstat {

namespace {

// A piece longer than this is not a token (llama2.c's own exports stay under a few hundred).
constexpr std::int64_t kMaxPieceBytes = std::int64_t{1} << 20;
// Smallest record: f32 score + int32 len + no bytes.
constexpr std::uint64_t kMinRecordBytes = 8;

Token make_token(std::string_view piece) {
  Token t;
  t.piece = std::string(piece);
  if (auto b = parse_byte_token(piece)) {
    t.type = TokenType::Byte;
    t.bytes.assign(1, static_cast<char>(*b));
    return t;
  }
  t.bytes = t.piece;
  if (piece == "<unk>")
    t.type = TokenType::Unknown;
  else if (piece == "\n<s>\n" || piece == "\n</s>\n" || piece == "<s>" || piece == "</s>")
    t.type = TokenType::Control;
  return t;
}

}  // namespace

Vocabulary parse_llama2c_tokenizer(std::span<const std::uint8_t> bytes, std::int64_t n_tokens,
                                   const std::string& source) {
  ByteCursor cur(bytes, source);
  const std::int32_t max_token_length = cur.i32();
  if (max_token_length < 0) throw_format(source, 0, fmt::format("max_token_length is negative ({})", max_token_length));

  // Every token takes at least kMinRecordBytes, which bounds the count before allocating.
  const std::uint64_t max_fit = cur.remaining() / kMinRecordBytes;
  if (n_tokens > kMaxVocabularySize)
    throw_format(source, cur.offset(),
                 fmt::format("{} tokens requested, more than the limit of {}", n_tokens, kMaxVocabularySize));
  if (n_tokens >= 0 && static_cast<std::uint64_t>(n_tokens) > max_fit)
    throw_format(source, cur.offset(),
                 fmt::format("truncated: {} tokens need at least {} bytes, {} left", n_tokens,
                             static_cast<std::uint64_t>(n_tokens) * kMinRecordBytes, cur.remaining()));

  std::vector<Token> tokens;
  const std::uint64_t expected = n_tokens >= 0 ? static_cast<std::uint64_t>(n_tokens) : max_fit;
  tokens.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(expected, std::uint64_t{1} << 16)));
  while (n_tokens >= 0 ? static_cast<std::int64_t>(tokens.size()) < n_tokens : !cur.at_end()) {
    if (static_cast<std::int64_t>(tokens.size()) >= kMaxVocabularySize)
      throw_format(source, cur.offset(), fmt::format("more than {} tokens", kMaxVocabularySize));
    const std::uint64_t record_offset = cur.offset();
    const std::string id = std::to_string(tokens.size());
    cur.f32();  // score: not needed for display
    const std::int32_t len = cur.i32();
    if (len < 0) throw_format(source, record_offset + 4, fmt::format("token {}: negative length {}", id, len));
    if (len > kMaxPieceBytes)
      throw_format(source, record_offset + 4,
                   fmt::format("token {}: length {} is over the {} byte limit", id, len, kMaxPieceBytes));
    if (static_cast<std::uint64_t>(len) > cur.remaining())
      throw_format(source, record_offset + 4,
                   fmt::format("truncated: token {} has length {}, {} bytes left", id, len, cur.remaining()));
    tokens.push_back(make_token(cur.string(static_cast<std::uint64_t>(len), "token bytes")));
  }

  Vocabulary vocab;
  vocab.kind = "llama2c";
  vocab.source = source;
  vocab.assign(std::move(tokens));
  return vocab;
}

Vocabulary load_llama2c_tokenizer(const std::string& path, std::int64_t n_tokens) {
  const auto file = MappedFile::open(path);
  return parse_llama2c_tokenizer(file->bytes(), n_tokens, path);
}

}  // namespace embstat
