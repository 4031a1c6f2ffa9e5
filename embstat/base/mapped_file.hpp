// MappedFile — a read-only memory map of a whole file.
//
// Only the pages that are touched get read from disk: opening a 60 GB shard to read one
// tensor costs that tensor's bytes. Move-only; the mapping lives as long as the object.
// Share one through std::shared_ptr when views into it must outlive the opener.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace embstat {

class MappedFile {
 public:
  // Throws Error(Io) if the file cannot be opened or mapped.
  static std::shared_ptr<const MappedFile> open(const std::string& path);

  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const std::string& path() const { return path_; }
  std::uint64_t size() const { return size_; }
  std::span<const std::uint8_t> bytes() const { return {data_, static_cast<std::size_t>(size_)}; }
  const std::uint8_t* data() const { return data_; }

  // Hint that [offset, offset+length) will be read sequentially soon (madvise WILLNEED).
  void will_need(std::uint64_t offset, std::uint64_t length) const;
  // Drops the whole pages inside [begin, end) from this process's resident memory (madvise
  // DONTNEED) once they have been read: a decoder that turns a 2.8 GB bf16 tensor into f32 keeps
  // only the f32 copy resident. The bytes stay valid: a later read faults them in again from the
  // file (the mapping is read-only, so no page is ever dirty). Ranges outside the mapping are
  // clipped.
  void release(const std::uint8_t* begin, const std::uint8_t* end) const;

 private:
  MappedFile(std::string path, const std::uint8_t* data, std::uint64_t size)
      : path_(std::move(path)), data_(data), size_(size) {}
  std::string path_;
  const std::uint8_t* data_ = nullptr;
  std::uint64_t size_ = 0;
};

}  // namespace embstat
