// Verb registry: each cli/verb_<name>.cpp registers itself with a static VerbRegistration, so
// adding a verb touches no other file. main.cpp sets them up in `order`.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace embstat::cli {

struct Verb {
  std::string name;
  int order;                             // position in --help
  std::function<void(CLI::App&)> setup;  // adds the subcommand, its options and its callback
};

std::vector<Verb>& verb_registry();

struct VerbRegistration {
  VerbRegistration(std::string name, int order, std::function<void(CLI::App&)> setup) {
    verb_registry().push_back({std::move(name), order, std::move(setup)});
  }
};

}  // namespace embstat::cli
