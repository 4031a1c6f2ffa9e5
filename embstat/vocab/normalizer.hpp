// Normalizer — a tokenizer.json "normalizer" applied with alignment tracking.
//
// Supported: NFC, NFD, NFKC, NFKD (ICU), Lowercase, Replace (string or regex), Prepend,
// Strip, Sequence. Anything else is Error(Unsupported) naming the type.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "embstat/vocab/normalized_text.hpp"
#include "embstat/vocab/unicode_regex.hpp"

namespace simdjson::dom {
class element;
}

namespace embstat {

class Normalizer {
 public:
  // From the JSON object; `source` names the file in errors.
  static std::unique_ptr<Normalizer> parse(const simdjson::dom::element& e, const std::string& source);
  virtual ~Normalizer() = default;
  virtual void apply(NormalizedText& t) const = 0;
};

}  // namespace embstat
