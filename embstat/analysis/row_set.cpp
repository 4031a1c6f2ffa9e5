#include "embstat/analysis/row_set.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>
#include <unordered_map>

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
  std::int64_t kept = 0;
  std::int64_t first_dropped = n;  // rows before it keep their position
  for (std::int64_t i = 0; i < n; ++i) {
    const double nr = norm[static_cast<std::size_t>(i)];
    std::vector<std::int64_t>* dropped = nullptr;
    if (filter.n_tokens >= 0 && i >= filter.n_tokens && !filter.include_padding)
      dropped = &set.padding_rows;
    else if (!(nr > 0) || !std::isfinite(nr))
      dropped = &set.zero_rows;
    else if (filter.dedup && dup[static_cast<std::size_t>(i)])
      dropped = &set.merged_rows;
    if (dropped) {
      dropped->push_back(i);
      first_dropped = std::min(first_dropped, i);
      continue;
    }
    set.ids.push_back(i);
    set.norms.push_back(static_cast<float>(nr));
    ++kept;
  }
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

}  // namespace embstat
