// How options read in `--help`, the man page and the shell completions, all three generated from
// the same CLI11 option definitions. CLI11's defaults print validator internals
// ("INT:INT in [1 - 1099511627776]", "--no-exact{false}"); here a value reads as a word: N for
// whole numbers, X for decimals, a|b|c for a fixed set, TEXT otherwise. Defaults are stated in
// each description, in words.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

namespace embstat::cli {

// The word shown for an option's value ("N", "X", "input|output", "TEXT"); "" for a flag.
std::string value_word(const CLI::Option* opt);

class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_opts(const CLI::Option* opt) const override;
};

// roff source of embstat(1): the verbs and their options from `app`.
std::string man_page(const CLI::App& app);
// A completion script for `shell` (bash, zsh or fish): verbs, their options and, for MODEL
// arguments, files and the hub ids cached locally (`embstat --list-models`).
std::string completion_script(const CLI::App& app, const std::string& shell);

}  // namespace embstat::cli
