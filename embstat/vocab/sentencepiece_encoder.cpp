// SentencePiece tokenizer.model through libsentencepiece, the reference implementation itself:
// encoding, and the vocabulary (pieces and their types) for decoding.
#include <fmt/format.h>
#include <sentencepiece_processor.h>

#include "embstat/base/error.hpp"
#include "embstat/vocab/encoder.hpp"
#include "embstat/vocab/loaders.hpp"

namespace embstat {

namespace {

std::unique_ptr<sentencepiece::SentencePieceProcessor> load_processor(const std::string& path) {
  auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
  if (const auto status = sp->Load(path); !status.ok()) {
    const bool missing = status.code() == sentencepiece::util::StatusCode::kNotFound;
    throw Error(missing ? ErrorKind::Io : ErrorKind::Format, path,
                fmt::format("not a SentencePiece model: {}", status.ToString()));
  }
  return sp;
}

class SentencePieceEncoder final : public Encoder {
 public:
  explicit SentencePieceEncoder(const std::string& path) : sp_(load_processor(path)), path_(path) {}
  std::string description() const override { return "sentencepiece tokenizer.model (libsentencepiece)"; }
  Encoding encode(std::string_view text, bool add_special) const override {
    if (const std::size_t bad = first_invalid_utf8(text); bad != std::string_view::npos)
      throw Error(ErrorKind::Format, "", "text is not valid UTF-8", bad);
    Encoding encoding;
    if (add_special && sp_->bos_id() >= 0) {
      encoding.tokens.push_back({sp_->bos_id(), 0, 0});
      encoding.bos_added = true;
    }
    const auto spt = sp_->EncodeAsImmutableProto(absl::string_view(text.data(), text.size()));
    for (const auto& piece : spt.pieces()) encoding.tokens.push_back({piece.id(), piece.begin(), piece.end()});
    return encoding;
  }

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string path_;
};

}  // namespace

std::unique_ptr<Encoder> load_sentencepiece_encoder(const std::string& model_path) {
  return std::make_unique<SentencePieceEncoder>(model_path);
}

Vocabulary load_sentencepiece_vocabulary(const std::string& model_path) {
  const auto sp = load_processor(model_path);
  const int n = sp->GetPieceSize();
  std::vector<std::string> pieces;
  std::vector<std::int32_t> types;
  pieces.reserve(static_cast<std::size_t>(n));
  types.reserve(static_cast<std::size_t>(n));
  for (int id = 0; id < n; ++id) {
    pieces.push_back(sp->IdToPiece(id));
    // llama.cpp's token types: 1 normal, 2 unknown, 3 control, 5 unused, 6 byte.
    types.push_back(sp->IsUnknown(id) ? 2 : sp->IsControl(id) ? 3 : sp->IsUnused(id) ? 5 : sp->IsByte(id) ? 6 : 1);
  }
  Vocabulary vocab = vocabulary_from_pieces(pieces, types, "llama", model_path);
  return vocab;
}

}  // namespace embstat
