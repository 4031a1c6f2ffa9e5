// TensorStore — every tensor of one checkpoint, listed by name and mapped on demand, with the
// architecture config parsed once.
//
// Sources: a .safetensors file or a folder of them (sharded through *.safetensors.index.json or
// not; config.json beside them), a .gguf file, a llama2.c checkpoint (.bin, legacy or "ak42"
// versions 1 and 2). Headers are parsed by the format readers (safetensors.hpp, gguf.hpp,
// llama2c.hpp); the store only gathers their answers under one interface. Tensor bytes are views
// into read-only mappings that the store keeps alive: nothing is read until a caller touches it.
//
// Shapes are row-major, outermost first, for every format: a GGUF tensor with ne = {64, 512}
// is listed as [512, 64], so `shape.back()` is always the contiguous row length.
//
// llama2.c keeps each weight kind of all layers in one block; the store lists one tensor per
// layer under Meta's names (layers.<i>.attention.wq.weight, ...), which llama2.c's export.py
// reads. In version 2 files each matrix is int8 (dtype I8) followed by one f32 scale per
// group_size values, listed as the tensor "<name>.scales" (F32); llama2c_group_size() says the
// group.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "embstat/base/dtype.hpp"
#include "embstat/formats/arch_config.hpp"
#include "embstat/matrix/matrix.hpp"

namespace embstat {

class MappedFile;
struct GgufFile;

struct StoredTensor {
  std::string name;
  std::string dtype_name;           // as the file spells it ("BF16", "Q4_K", "IQ2_XXS", "I8")
  std::optional<DType> dtype;       // nullopt: a type embstat cannot decode
  std::vector<std::int64_t> shape;  // row-major, outermost first
  std::uint64_t n_bytes = 0;
  std::size_t file = 0;           // index into TensorStore::files()
  std::uint64_t file_offset = 0;  // absolute offset of the first byte in that file

  std::int64_t n_elements() const;
  std::int64_t row_length() const { return shape.empty() ? 1 : shape.back(); }
};

class TensorStore {
 public:
  // `path`: a file or a folder (see above). Error(Io) for a missing file or shard, Error(Format)
  // for malformed headers (from the format readers), Error(Unsupported) for other files.
  static std::shared_ptr<const TensorStore> open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::string& format() const { return format_; }  // "safetensors", "gguf", "llama2c"
  const std::vector<std::string>& files() const { return files_; }
  const ArchConfig& config() const { return config_; }
  const std::vector<StoredTensor>& tensors() const { return tensors_; }    // in file order
  std::int64_t llama2c_group_size() const { return llama2c_group_size_; }  // 0 unless llama2.c v2
  // The parsed GGUF header (metadata, tokenizer) for a GGUF store; nullptr otherwise.
  const GgufFile* gguf() const { return gguf_.get(); }

  const StoredTensor* find(std::string_view name) const;
  // Error(Format) naming the tensor and the checkpoint when it is absent.
  const StoredTensor& require(std::string_view name) const;

  // The tensor's encoded bytes (valid while the store lives).
  std::span<const std::uint8_t> bytes(const StoredTensor& tensor) const;
  // The tensor as rows of shape.back() elements (a 1-D tensor is one row). Error(Unsupported)
  // when its dtype cannot be decoded. The view keeps the mapping alive.
  MatrixView matrix(const StoredTensor& tensor) const;

 private:
  TensorStore() = default;
  void add(StoredTensor tensor);
  static std::shared_ptr<TensorStore> open_safetensors(const std::string& folder,
                                                       const std::vector<std::string>& paths);
  static std::shared_ptr<TensorStore> open_gguf(const std::string& path);
  static std::shared_ptr<TensorStore> open_llama2c(const std::string& path);

  std::string path_;
  std::string format_;
  std::vector<std::string> files_;
  std::vector<std::shared_ptr<const MappedFile>> mappings_;  // one per file (null for config files)
  ArchConfig config_;
  std::vector<StoredTensor> tensors_;
  std::unordered_map<std::string, std::size_t> index_;
  std::int64_t llama2c_group_size_ = 0;
  std::shared_ptr<const GgufFile> gguf_;
};

}  // namespace embstat
