#include "embstat/matrix/matrix.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include "embstat/base/checked.hpp"
#include "embstat/base/error.hpp"
#include "embstat/base/mapped_file.hpp"

namespace embstat {

void Matrix::Free::operator()(float* p) const {
  std::free(p);
}

Matrix::Matrix(std::int64_t n_rows, std::int64_t n_cols) : n_rows_(n_rows), n_cols_(n_cols) {
  if (n_rows < 0 || n_cols < 0) throw Error(ErrorKind::Internal, "", "negative matrix shape");
  auto n = checked_mul(static_cast<std::uint64_t>(n_rows), static_cast<std::uint64_t>(n_cols));
  auto bytes = n ? checked_mul(*n, sizeof(float)) : std::nullopt;
  if (!bytes) throw Error(ErrorKind::Unsupported, "", "matrix shape overflows memory");
  const std::size_t alloc = (*bytes + 63) / 64 * 64;  // aligned_alloc wants a multiple of 64
  if (alloc == 0) return;
  void* p = std::aligned_alloc(64, alloc);
  if (p == nullptr)
    throw Error(
        ErrorKind::Io, "",
        "out of memory allocating a " + std::to_string(n_rows) + " x " + std::to_string(n_cols) + " f32 matrix");
  data_.reset(static_cast<float*>(p));
}

Matrix Matrix::zeros(std::int64_t n_rows, std::int64_t n_cols) {
  Matrix m(n_rows, n_cols);
  if (m.data()) std::memset(m.data(), 0, sizeof(float) * static_cast<std::size_t>(n_rows * n_cols));
  return m;
}

Matrix Matrix::clone() const {
  Matrix m(n_rows_, n_cols_);
  if (data_) std::memcpy(m.data(), data(), sizeof(float) * static_cast<std::size_t>(n_rows_ * n_cols_));
  return m;
}

MatrixView Matrix::view() const {
  MatrixView v;
  v.dtype = DType::F32;
  v.n_rows = n_rows_;
  v.n_cols = n_cols_;
  v.data = reinterpret_cast<const std::uint8_t*>(data());
  v.row_bytes = static_cast<std::uint64_t>(n_cols_) * sizeof(float);
  return v;
}

Matrix decode_to_f32(const MatrixView& view) {
  Matrix out(view.n_rows, view.n_cols);
  const auto& info = dtype_info(view.dtype);
  if (!info.decodable) throw_unsupported("", "cannot convert " + std::string(info.name) + " to f32");
  const std::int64_t step =
      view.mapping == nullptr || view.row_bytes == 0
          ? std::max<std::int64_t>(view.n_rows, 1)
          : static_cast<std::int64_t>(std::max<std::uint64_t>(1, kDecodeChunkBytes / view.row_bytes));
  for (std::int64_t r0 = 0; r0 < view.n_rows; r0 += step) {
    const std::int64_t r1 = std::min(view.n_rows, r0 + step);
    // Rows are independent; dynamic schedule because page faults make row costs uneven.
#pragma omp parallel for schedule(dynamic, 256)
    for (std::int64_t i = r0; i < r1; ++i) info.decode(view.row(i), out.row(i), view.n_cols);
    if (view.mapping != nullptr) view.mapping->release(view.row(r0), view.row(r1));
  }
  return out;
}

Matrix decode_rows(const MatrixView& view, std::span<const std::int64_t> rows) {
  Matrix out(static_cast<std::int64_t>(rows.size()), view.n_cols);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    if (rows[k] < 0 || rows[k] >= view.n_rows)
      throw Error(ErrorKind::Usage, "",
                  "row " + std::to_string(rows[k]) + " is out of range (the matrix has " + std::to_string(view.n_rows) +
                      " rows)");
    decode_row(view.dtype, view.row(rows[k]), out.row(static_cast<std::int64_t>(k)), view.n_cols);
  }
  return out;
}

}  // namespace embstat
