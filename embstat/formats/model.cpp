// PLACEHOLDER until the formats work lands.
#include "embstat/formats/model.hpp"

#include "embstat/base/error.hpp"

namespace embstat {
Model open_model(const std::string& spec, const OpenOptions&) { throw_unsupported(spec, "pending"); }
}  // namespace embstat
