#include "cli/verb_names.hpp"

#include <algorithm>

#include "embstat/base/error.hpp"

namespace embstat::cli {

namespace {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
// neighbouring characters each cost one.
std::size_t edit_distance(const std::string& a, const std::string& b) {
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i)
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

std::vector<std::string> verb_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  return names;
}

}  // namespace

std::string closest_name(const std::string& word, const std::vector<std::string>& names) {
  std::string best;
  std::size_t best_distance = 0;
  for (const auto& name : names) {
    const std::size_t d = edit_distance(word, name);
    if (best.empty() || d < best_distance) {
      best = name;
      best_distance = d;
    }
  }
  const bool prefix = !word.empty() && !best.empty() && best.compare(0, word.size(), word) == 0;
  // Up to two edits, and fewer than half the word's letters (so "x" suggests nothing).
  if (best.empty() || (!prefix && (best_distance > 2 || 2 * best_distance >= word.size()))) return "";
  if (prefix) return best;
  return best;
}

const CLI::App* find_verb(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == name) return sub;
  const std::vector<std::string> names = verb_names(app);
  const std::string guess = closest_name(name, names);
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  throw Error(ErrorKind::Usage, "",
              "unknown verb '" + name + "'" +
                  (guess.empty() ? "; the verbs are " + list : "; did you mean '" + guess + "'?") +
                  " (see embstat help)");
}

void check_verb(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") return;
    if (!arg.empty() && arg[0] == '-') {
      // Top-level options that take their value as the next word.
      if (arg == "--threads" || arg == "--completion") ++i;
      continue;
    }
    find_verb(app, arg);
    return;
  }
}

}  // namespace embstat::cli
