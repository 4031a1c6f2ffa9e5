// touch_model — reads what a caller of open_*() reads afterwards, so a view that points past
// its mapping or a stride that lies shows up under ASan: the first and last rows decoded to
// f32, the tensor info, the notes, and every vocabulary entry's display form.
#pragma once

#include <array>
#include <cstdint>

#include "embstat/formats/model.hpp"
#include "embstat/matrix/matrix.hpp"

namespace embstat_fuzz {

inline void touch_model(const embstat::Model& model) {
  std::uint64_t sink = model.notes.size() + model.files.size();
  if (model.tensor) sink += model.tensor->n_bytes + model.tensor->file_offset;
  const embstat::MatrixView& m = model.matrix;
  if (m.n_rows > 0 && m.n_cols > 0 && m.data) {
    const std::array<std::int64_t, 2> rows = {0, m.n_rows - 1};
    const embstat::Matrix decoded = embstat::decode_rows(m, rows);
    for (std::int64_t r = 0; r < decoded.n_rows(); ++r)
      for (float x : decoded.row_span(r)) sink += x > 0.0f;
  }
  for (std::size_t i = 0; i < model.vocab.size() && i < 256; ++i)
    sink += model.vocab.display(static_cast<std::int64_t>(i)).size();
  sink += static_cast<std::uint64_t>(model.padding_rows());
  volatile std::uint64_t keep = sink;
  (void)keep;
}

}  // namespace embstat_fuzz
