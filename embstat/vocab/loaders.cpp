// PLACEHOLDER until the vocabulary work lands.
#include "embstat/vocab/loaders.hpp"

#include "embstat/base/error.hpp"

namespace embstat {
Vocabulary load_tokenizer_json(const std::string& path) { throw_unsupported(path, "pending"); }
Vocabulary load_llama2c_tokenizer(const std::string& path, std::int64_t) { throw_unsupported(path, "pending"); }
Vocabulary vocabulary_from_pieces(std::vector<std::string>, const std::vector<std::int32_t>&, std::string_view,
                                  std::string source) {
  throw_unsupported(source, "pending");
}
}  // namespace embstat
