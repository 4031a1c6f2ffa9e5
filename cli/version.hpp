// What `embstat --version` says (version, commit, BLAS and its core type, the CPU paths the
// engines take on this machine) and the "embstat" object every JSON output carries at its top
// level, so a saved result says which build and which verb produced it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace embstat::cli {

// Several lines, ending in '\n'.
std::string version_text();

// Adds "embstat": {"version", "command"} to a JSON document; `command` is the verb ("sample").
void stamp_json(nlohmann::ordered_json& doc, std::string_view command);

}  // namespace embstat::cli
