// embstat::Error — the one error type of the library.
//
// Library code throws Error; cli/main.cpp catches it once and prints
//   embstat: <path>: offset <n>: <message>
// then exits with exit_code(kind). Callers add context with with_context().
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace embstat {

enum class ErrorKind {
  Io,           // cannot open / read / map a file
  Format,       // the bytes do not follow the format (truncated, lying header, ...)
  Unsupported,  // valid input we do not handle (PyTorch pickles, an unknown dtype, ...)
  Usage,        // bad command-line arguments or option values
  Internal,     // a bug in embstat
};

const char* error_kind_name(ErrorKind kind);

// Process exit status for an error of this kind (never 0).
int exit_code(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string path, std::string message, std::optional<std::uint64_t> offset = std::nullopt);

  ErrorKind kind() const { return kind_; }
  const std::string& path() const { return path_; }
  const std::string& message() const { return message_; }
  std::optional<std::uint64_t> offset() const { return offset_; }

  // The same error with "prefix: " in front of the message (e.g. "tensor 'x'"); unchanged when
  // `prefix` is the error's path already.
  Error with_context(const std::string& prefix) const;

 private:
  static std::string compose(const std::string& path, const std::string& message, std::optional<std::uint64_t> offset);
  ErrorKind kind_;
  std::string path_;
  std::string message_;
  std::optional<std::uint64_t> offset_;
};

// Shorthands for the common kinds.
[[noreturn]] void throw_format(const std::string& path, std::uint64_t offset, const std::string& message);
[[noreturn]] void throw_usage(const std::string& message);
[[noreturn]] void throw_unsupported(const std::string& path, const std::string& message);
[[noreturn]] void throw_io(const std::string& path, const std::string& message);

}  // namespace embstat
