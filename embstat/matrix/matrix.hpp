// Matrices of row vectors: the one shape every analysis works on.
//
// MatrixView is a non-owning window onto encoded rows (bf16 in an mmap'd safetensors file, Q4_K
// blocks in a GGUF, f32 in a buffer, ...); it knows nothing of files. Matrix is an owned,
// row-major f32 copy, 64-byte aligned, that the kernels read. Rows are vectors: token
// embeddings today, hidden states tomorrow.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "embstat/base/dtype.hpp"

namespace embstat {

class MappedFile;

struct MatrixView {
  DType dtype = DType::F32;
  std::int64_t n_rows = 0;
  std::int64_t n_cols = 0;              // elements per row (the vector dimension)
  const std::uint8_t* data = nullptr;   // first byte of row 0
  std::uint64_t row_bytes = 0;          // stride between rows, in bytes
  std::shared_ptr<const void> owner;    // keeps `data` alive (a MappedFile, a buffer)
  const MappedFile* mapping = nullptr;  // set when `data` lies in this file mapping (kept alive by
                                        // owner): decode_to_f32 then releases the pages it has read

  const std::uint8_t* row(std::int64_t i) const { return data + static_cast<std::uint64_t>(i) * row_bytes; }
  std::uint64_t byte_size() const { return static_cast<std::uint64_t>(n_rows) * row_bytes; }
};

class Matrix {
 public:
  Matrix() = default;
  Matrix(std::int64_t n_rows, std::int64_t n_cols);  // uninitialised contents
  static Matrix zeros(std::int64_t n_rows, std::int64_t n_cols);

  Matrix(Matrix&&) noexcept = default;
  Matrix& operator=(Matrix&&) noexcept = default;
  Matrix(const Matrix&) = delete;
  Matrix& operator=(const Matrix&) = delete;
  Matrix clone() const;

  std::int64_t n_rows() const { return n_rows_; }
  std::int64_t n_cols() const { return n_cols_; }
  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  float* row(std::int64_t i) { return data_.get() + i * n_cols_; }
  const float* row(std::int64_t i) const { return data_.get() + i * n_cols_; }
  std::span<const float> row_span(std::int64_t i) const { return {row(i), static_cast<std::size_t>(n_cols_)}; }
  bool empty() const { return n_rows_ == 0; }
  // Drops rows from the end, keeping the allocation (no copy: peak memory stays one matrix).
  void truncate_rows(std::int64_t n_rows) {
    if (n_rows < n_rows_) n_rows_ = n_rows < 0 ? 0 : n_rows;
  }

  // An F32 view of this matrix (does not own: the Matrix must outlive it).
  MatrixView view() const;

 private:
  struct Free {
    void operator()(float* p) const;
  };
  std::int64_t n_rows_ = 0;
  std::int64_t n_cols_ = 0;
  std::unique_ptr<float[], Free> data_;
};

// Decodes every row of `view` to f32, rows in parallel (OpenMP). A file-backed view (mapping
// set) is decoded in chunks of about kDecodeChunkBytes of source, each chunk's pages released
// after it: peak memory is the f32 matrix plus one chunk, not plus the whole encoded tensor.
inline constexpr std::uint64_t kDecodeChunkBytes = std::uint64_t{64} << 20;
Matrix decode_to_f32(const MatrixView& view);

// Decodes the selected rows (in the given order) to f32.
Matrix decode_rows(const MatrixView& view, std::span<const std::int64_t> rows);

}  // namespace embstat
