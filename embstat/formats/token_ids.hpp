// Token id files (`embstat hidden --ids FILE`): the sequences a forward pass runs on.
//
// Accepted forms: integers separated by whitespace and/or commas (one sequence), or JSON: an
// array of integers (one sequence) or an array of arrays of integers (several). Ids are used as
// given (no BOS added). Every id must be a non-negative integer and every sequence non-empty.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace embstat {

struct TokenSequences {
  std::vector<std::int64_t> ids;     // every sequence's ids, end to end
  std::vector<std::int64_t> starts;  // first index of each sequence in `ids`
};

// Error(Format) naming `path` and the offset of the first bad character or value.
TokenSequences parse_token_ids(std::string_view text, const std::string& path);
TokenSequences read_token_ids(const std::string& path);

}  // namespace embstat
