#include "embstat/base/error.hpp"

namespace embstat {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Io:
      return "io";
    case ErrorKind::Format:
      return "format";
    case ErrorKind::Unsupported:
      return "unsupported";
    case ErrorKind::Usage:
      return "usage";
    case ErrorKind::Internal:
      return "internal";
  }
  return "unknown";
}

int exit_code(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Usage:
      return 2;
    case ErrorKind::Io:
      return 3;
    case ErrorKind::Format:
      return 4;
    case ErrorKind::Unsupported:
      return 5;
    case ErrorKind::Internal:
      return 70;
  }
  return 1;
}

Error::Error(ErrorKind kind, std::string path, std::string message, std::optional<std::uint64_t> offset)
    : std::runtime_error(compose(path, message, offset)),
      kind_(kind),
      path_(std::move(path)),
      message_(std::move(message)),
      offset_(offset) {}

std::string Error::compose(const std::string& path, const std::string& message, std::optional<std::uint64_t> offset) {
  std::string out;
  if (!path.empty()) out += path + ": ";
  if (offset) out += "offset " + std::to_string(*offset) + ": ";
  out += message;
  return out;
}

Error Error::with_context(const std::string& prefix) const {
  if (prefix == path_) return *this;  // already named: no "x.npy: x.npy: ..."
  return Error(kind_, path_, prefix + ": " + message_, offset_);
}

void throw_format(const std::string& path, std::uint64_t offset, const std::string& message) {
  throw Error(ErrorKind::Format, path, message, offset);
}
void throw_usage(const std::string& message) {
  throw Error(ErrorKind::Usage, "", message);
}
void throw_unsupported(const std::string& path, const std::string& message) {
  throw Error(ErrorKind::Unsupported, path, message);
}
void throw_io(const std::string& path, const std::string& message) {
  throw Error(ErrorKind::Io, path, message);
}

}  // namespace embstat
