// Verb lookup with a suggestion for a misspelled verb, as git does:
// "unknown verb 'smaple'; did you mean 'sample'?".
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace embstat::cli {

// The closest of `names` to `word` when it is a likely typo (a small edit distance, counting a
// swap of two neighbours as one edit, or a prefix); "" otherwise.
std::string closest_name(const std::string& word, const std::vector<std::string>& names);

// The verb called `name`; Error(Usage) naming the closest verb when there is none.
const CLI::App* find_verb(const CLI::App& app, const std::string& name);

// Throws find_verb's error when the first word of the command line that is not an option (or an
// option's value) is not a verb.
void check_verb(const CLI::App& app, int argc, char** argv);

}  // namespace embstat::cli
