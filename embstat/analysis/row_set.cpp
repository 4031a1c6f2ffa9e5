#include "embstat/analysis/row_set.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <string_view>
#include <unordered_map>

#include "embstat/base/dtype.hpp"
#include "embstat/base/error.hpp"
#include "embstat/base/vector_clones.hpp"

namespace embstat {

// A plain loop would be one dependent double add per element (no reassociation without the
// simd reduction): several times slower on a whole matrix than decoding it.
EMBSTAT_VECTOR_CLONES double squared_norm(const float* r, std::int64_t d) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (std::int64_t k = 0; k < d; ++k) s += static_cast<double>(r[k]) * r[k];
  return s;
}

std::optional<std::int64_t> RowSet::index_of(std::int64_t id) const {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it == ids.end() || *it != id) return std::nullopt;
  return static_cast<std::int64_t>(it - ids.begin());
}

namespace {

// Rows whose bytes equal an earlier row's. Hash of the bytes, then an exact compare.
std::vector<bool> find_duplicate_rows(const Matrix& m) {
  const std::int64_t n = m.n_rows();
  const std::size_t row_bytes = sizeof(float) * static_cast<std::size_t>(m.n_cols());
  std::vector<bool> dup(static_cast<std::size_t>(n), false);
  std::unordered_multimap<std::size_t, std::int64_t> seen;
  seen.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    std::string_view bytes(reinterpret_cast<const char*>(m.row(i)), row_bytes);
    const std::size_t h = std::hash<std::string_view>{}(bytes);
    auto [lo, hi] = seen.equal_range(h);
    for (auto it = lo; it != hi; ++it)
      if (std::memcmp(m.row(it->second), m.row(i), row_bytes) == 0) {
        dup[static_cast<std::size_t>(i)] = true;
        break;
      }
    if (!dup[static_cast<std::size_t>(i)]) seen.emplace(h, i);
  }
  return dup;
}

// Sorts rows into kept (ids, norms) and the four exclusion lists, in row order, by the rules
// both constructors share: padding first, then a non-finite norm (the norm is summed in double
// from f32 values, so it is finite exactly when every value is), then norm 0, then copies
// (`dup`, when given). Returns the first excluded row, or n.
std::int64_t filter_rows(const std::vector<double>& norm, const std::vector<bool>& dup, const RowFilter& filter,
                         RowSet& set) {
  const auto n = static_cast<std::int64_t>(norm.size());
  std::int64_t first_dropped = n;
  for (std::int64_t i = 0; i < n; ++i) {
    const double nr = norm[static_cast<std::size_t>(i)];
    std::vector<std::int64_t>* dropped = nullptr;
    if (filter.n_tokens >= 0 && i >= filter.n_tokens && !filter.include_padding)
      dropped = &set.padding_rows;
    else if (!std::isfinite(nr))
      dropped = &set.non_finite_rows;
    else if (!(nr > 0))
      dropped = &set.zero_rows;
    else if (!dup.empty() && dup[static_cast<std::size_t>(i)])
      dropped = &set.merged_rows;
    if (dropped) {
      dropped->push_back(i);
      first_dropped = std::min(first_dropped, i);
      continue;
    }
    set.ids.push_back(i);
    set.norms.push_back(nr);
  }
  return first_dropped;
}

// bf16 values times `inv` (in double), rounded to f32: the unit row make_row_set would store
// (decoding bf16 to f32 is exact). One vectorised loop: streamed passes call it per row.
EMBSTAT_VECTOR_CLONES void scale_bf16(const std::uint8_t* src, double inv, float* out, std::int64_t n) {
#pragma omp simd
  for (std::int64_t k = 0; k < n; ++k) {
    std::uint16_t h;  // memcpy: a file's tensor need not be 2-byte aligned
    std::memcpy(&h, src + 2 * k, 2);
    out[k] = static_cast<float>(static_cast<double>(bf16_to_f32(h)) * inv);
  }
}

}  // namespace

RowSet make_row_set(Matrix raw, const RowFilter& filter) {
  RowSet set;
  const std::int64_t n = raw.n_rows();
  const std::int64_t d = raw.n_cols();
  set.n_total = n;

  std::vector<double> norm(static_cast<std::size_t>(n));
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) norm[static_cast<std::size_t>(i)] = std::sqrt(squared_norm(raw.row(i), d));
  std::vector<bool> dup;
  if (filter.dedup) dup = find_duplicate_rows(raw);

  // Decide which rows stay (serial, cheap), then normalise.
  const std::int64_t first_dropped = filter_rows(norm, dup, filter, set);
  const auto kept = static_cast<std::int64_t>(set.ids.size());
  auto normalise_into = [&](std::int64_t pos) {
    const std::int64_t i = set.ids[static_cast<std::size_t>(pos)];
    const float* src = raw.row(i);
    float* dst = raw.row(pos);
    const double inv = 1.0 / norm[static_cast<std::size_t>(i)];
    for (std::int64_t k = 0; k < d; ++k) dst[k] = static_cast<float>(src[k] * inv);
  };
  // Kept rows before the first dropped one stay in place: normalise them in parallel. Later rows
  // move to a position <= their own, in increasing order, so a serial pass never overwrites a
  // row still to be read. Padding sits at the end and zero rows are rare: the serial part is small.
  const std::int64_t in_place = std::min(first_dropped, kept);
#pragma omp parallel for schedule(static)
  for (std::int64_t pos = 0; pos < in_place; ++pos) normalise_into(pos);
  for (std::int64_t pos = in_place; pos < kept; ++pos) normalise_into(pos);
  raw.truncate_rows(kept);
  set.unit = std::move(raw);
  return set;
}

RowSet make_streamed_row_set(const MatrixView& view, const RowFilter& filter) {
  if (filter.dedup) throw Error(ErrorKind::Internal, "", "a streamed row set cannot merge duplicate rows");
  const auto& info = dtype_info(view.dtype);
  if (!info.decodable || info.block_elems != 1 || view.data == nullptr)
    throw Error(ErrorKind::Internal, "", "a streamed row set needs rows of an element-wise float type in memory");
  RowSet set;
  const std::int64_t n = view.n_rows, d = view.n_cols;
  set.n_total = n;
  set.source = view;
  set.streamed = true;
  // Norms as make_row_set computes them: each row decoded to f32, then squared_norm (per-thread
  // rows allocated here: nothing throws inside the parallel region).
  std::vector<double> norm(static_cast<std::size_t>(n));
  std::vector<std::vector<float>> x(static_cast<std::size_t>(std::max(1, omp_get_max_threads())),
                                    std::vector<float>(static_cast<std::size_t>(d)));
#pragma omp parallel for schedule(static)
  for (std::int64_t i = 0; i < n; ++i) {
    float* row = x[static_cast<std::size_t>(omp_get_thread_num())].data();
    info.decode(view.row(i), row, d);
    norm[static_cast<std::size_t>(i)] = std::sqrt(squared_norm(row, d));
  }
  filter_rows(norm, {}, filter, set);
  set.inverse_norms.resize(set.ids.size());
  for (std::size_t p = 0; p < set.ids.size(); ++p)
    set.inverse_norms[p] = 1.0 / norm[static_cast<std::size_t>(set.ids[p])];
  return set;
}

const float* RowSet::unit_rows(std::int64_t i0, std::int64_t m, std::vector<float>& scratch) const {
  if (!streamed) return unit.row(i0);
  const std::int64_t d = dim();
  if (scratch.size() < static_cast<std::size_t>(m * d)) scratch.resize(static_cast<std::size_t>(m * d));
  // In parallel when called outside a parallel region (a chunk of a pass); serially inside one
  // (a row task), without opening a nested region that would run on this thread alone anyway.
  if (m >= 64 && !omp_in_parallel()) {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < m; ++i) unit_columns(i0 + i, 0, d, scratch.data() + i * d);
  } else {
    for (std::int64_t i = 0; i < m; ++i) unit_columns(i0 + i, 0, d, scratch.data() + i * d);
  }
  return scratch.data();
}

void RowSet::unit_columns(std::int64_t i, std::int64_t k0, std::int64_t k1, float* out) const {
  if (!streamed) {
    std::copy(unit.row(i) + k0, unit.row(i) + k1, out);
    return;
  }
  const std::uint8_t* row = source.row(ids[static_cast<std::size_t>(i)]);
  const double inv = inverse_norms[static_cast<std::size_t>(i)];
  if (source.dtype == DType::BF16) {
    scale_bf16(row + 2 * static_cast<std::size_t>(k0), inv, out, k1 - k0);
    return;
  }
  const auto& info = dtype_info(source.dtype);  // element-wise (make_streamed_row_set): decode the slice
  info.decode(row + static_cast<std::size_t>(k0) * info.block_bytes, out, k1 - k0);
  for (std::int64_t k = 0; k < k1 - k0; ++k) out[k] = static_cast<float>(out[k] * inv);
}

std::vector<std::int64_t> RowSet::excluded_ids() const {
  std::vector<std::int64_t> ids = zero_rows;
  ids.insert(ids.end(), non_finite_rows.begin(), non_finite_rows.end());
  ids.insert(ids.end(), padding_rows.begin(), padding_rows.end());
  ids.insert(ids.end(), merged_rows.begin(), merged_rows.end());
  std::sort(ids.begin(), ids.end());
  return ids;
}

void RowSet::require_held(const char* what) const {
  if (streamed)
    throw Error(ErrorKind::Internal, "", std::string(what) + " needs the unit rows in memory, not streamed");
}

}  // namespace embstat
