// PLACEHOLDER until the GGUF work lands: every decoder reports Unsupported.
#include "embstat/base/ggml_quants.hpp"

#include "embstat/base/error.hpp"

namespace embstat::ggml {
#define EMBSTAT_PENDING(fn) \
  void fn(const std::uint8_t*, float*, std::int64_t) { throw_unsupported("", #fn " pending"); }
EMBSTAT_PENDING(decode_q4_0)
EMBSTAT_PENDING(decode_q4_1)
EMBSTAT_PENDING(decode_q5_0)
EMBSTAT_PENDING(decode_q5_1)
EMBSTAT_PENDING(decode_q8_0)
EMBSTAT_PENDING(decode_q2_k)
EMBSTAT_PENDING(decode_q3_k)
EMBSTAT_PENDING(decode_q4_k)
EMBSTAT_PENDING(decode_q5_k)
EMBSTAT_PENDING(decode_q6_k)
}  // namespace embstat::ggml
