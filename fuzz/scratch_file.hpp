// ScratchFile — the fuzz input written to a file, for the readers whose full path (open_npy,
// open_llama2c, open_safetensors_file) takes a file name rather than a byte span.
//
// Each process gets its own private folder (mkdtemp under $TMPDIR or /tmp), so parallel
// libFuzzer jobs and CTest replays never share a file, and nothing else lies beside the file
// (no tokenizer.json or config.json is picked up by accident). The folder and file are removed
// when the process exits. The targets call this only for inputs whose header already parsed
// from the span, so the file system sees a small fraction of the executions.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <stdexcept>
#include <string>

namespace embstat_fuzz {

class ScratchFile {
 public:
  // `file_name` is the name inside the private folder (its extension matters to no reader
  // called here, but it makes error messages read naturally).
  explicit ScratchFile(const std::string& file_name) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/embstat-fuzz-XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    dir_ = pattern;
    path_ = dir_ + "/" + file_name;
  }
  ~ScratchFile() {
    std::remove(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  // Replaces the file's contents with `bytes`; returns its path.
  const std::string& write(std::span<const std::uint8_t> bytes) {
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot create " + path_);
    const bool ok = bytes.empty() || std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !ok) throw std::runtime_error("cannot write " + path_);
    return path_;
  }

 private:
  std::string dir_;
  std::string path_;
};

}  // namespace embstat_fuzz
