// PreTokenizer — a tokenizer.json "pre_tokenizer": splits normalized text into words that the
// model encodes one by one.
//
// Supported: Split (string or regex pattern, every behaviour, invert), ByteLevel (add_prefix_space,
// use_regex), Digits, Metaspace (replacement, prepend_scheme / add_prefix_space, split),
// Whitespace, WhitespaceSplit, Sequence. ByteLevel must come last: its byte-to-character
// mapping is applied by the model (the words stay raw bytes here).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "embstat/vocab/normalized_text.hpp"

namespace simdjson::dom {
class element;
}

namespace embstat {

class PreTokenizer {
 public:
  // byte_level is set when the pipeline ends in ByteLevel. Error(Unsupported) for other types.
  static std::unique_ptr<PreTokenizer> parse(const simdjson::dom::element& e, const std::string& source,
                                             bool& byte_level);
  virtual ~PreTokenizer() = default;
  // Replaces each piece by its parts (empty parts are dropped).
  virtual void split(std::vector<NormalizedText>& pieces) const = 0;
};

}  // namespace embstat
