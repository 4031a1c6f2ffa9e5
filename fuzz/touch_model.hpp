// touch_model — reads what a caller of open_*() reads afterwards, so a view that points past
// its mapping or a stride that lies shows up under ASan: the first and last rows decoded to
// f32, the tensor info, the notes, and every vocabulary entry's display form.
// check_printable — the text a message or a table cell would show, escaped as the CLI escapes
// it (escape_unprintable), must be one line of printable UTF-8: a control byte or an invalid
// sequence left in it aborts, so the fuzzer hunts for text that could reach the terminal raw.
#pragma once

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "embstat/base/display_text.hpp"
#include "embstat/formats/model.hpp"
#include "embstat/matrix/matrix.hpp"

namespace embstat_fuzz {

inline void check_printable(std::string_view text) {
  const std::string shown = embstat::escape_unprintable(text);
  for (std::size_t i = 0; i < shown.size();) {
    const auto c = static_cast<unsigned char>(shown[i]);
    const std::size_t len = embstat::utf8_sequence_length(shown, i);
    if (c < 0x20 || c == 0x7f || len == 0) std::abort();
    i += len;
  }
}

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
  for (std::size_t i = 0; i < model.vocab.size() && i < 256; ++i) {
    const std::string shown = model.vocab.display(static_cast<std::int64_t>(i));
    check_printable(shown);
    sink += shown.size();
  }
  check_printable(model.name);
  for (const auto& note : model.notes) check_printable(note);
  if (model.tensor) check_printable(model.tensor->name);
  sink += static_cast<std::uint64_t>(model.padding_rows());
  volatile std::uint64_t keep = sink;
  (void)keep;
}

}  // namespace embstat_fuzz
