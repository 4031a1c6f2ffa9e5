#include "cli/version.hpp"

#include <cblas.h>
#include <fmt/format.h>
#include <omp.h>

#include "embstat/analysis/bf16_kernels.hpp"
#include "embstat/analysis/reducers/pair_stats.hpp"
#include "embstat/analysis/sign_pairs.hpp"

namespace embstat::cli {

extern const char* const kGitCommit;  // <build>/generated/git_commit.cpp

namespace {

// OpenBLAS's build string ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64")
// and the kernel set it picked for this CPU (or OPENBLAS_CORETYPE).
std::string blas_text() {
  const char* config = openblas_get_config();
  const char* core = openblas_get_corename();
  return fmt::format("{}; core type {}", config ? config : "unknown", core ? core : "unknown");
}

}  // namespace

std::string version_text() {
  std::string out = fmt::format("embstat {} (commit {})\n", EMBSTAT_VERSION, kGitCommit);
  out += fmt::format("BLAS: {}\n", blas_text());
  // The kernel each engine resolves to here (EMBSTAT_KERNEL can force a lower one).
  out += fmt::format("CPU: all-pairs reducer {}, int16 sign pass {}, bf16 row kernels {}, f16 decoding {}\n",
                     pair_kernel_name(resolve_pair_kernel(PairKernel::Auto)),
                     sign_kernel_name(resolve_sign_kernel(PairKernel::Auto)),
                     bf16_kernel_available() ? "avx512-bf16" : "off (no AVX512-BF16)",
                     __builtin_cpu_supports("avx2") ? "f16c" : "scalar");
  out += fmt::format("threads: {} (OpenMP)\n", omp_get_max_threads());
  return out;
}

void stamp_json(nlohmann::ordered_json& doc, std::string_view command) {
  doc["embstat"] = nlohmann::ordered_json{{"version", EMBSTAT_VERSION}, {"command", command}};
}

}  // namespace embstat::cli
