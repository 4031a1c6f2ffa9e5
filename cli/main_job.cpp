// PLACEHOLDER until `sample` lands.
#include "cli/common.hpp"
#include "embstat/base/error.hpp"

namespace embstat::cli {
int run_main_job() { throw_unsupported("", "pending"); }
}  // namespace embstat::cli
