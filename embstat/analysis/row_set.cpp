#include "embstat/analysis/row_set.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string_view>
#include <unordered_map>

namespace embstat {

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
  for (std::int64_t i = 0; i < n; ++i) {
    const float* r = raw.row(i);
    double s = 0;
    for (std::int64_t k = 0; k < d; ++k) s += static_cast<double>(r[k]) * r[k];
    norm[static_cast<std::size_t>(i)] = std::sqrt(s);
  }
  std::vector<bool> dup;
  if (filter.dedup) dup = find_duplicate_rows(raw);

  // Compact kept rows to the front, normalising as we go. Row i moves to position <= i, so the
  // copy never overwrites a row still to be read.
  std::int64_t kept = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const double nr = norm[static_cast<std::size_t>(i)];
    if (filter.n_tokens >= 0 && i >= filter.n_tokens && !filter.include_padding) {
      set.padding_rows.push_back(i);
      continue;
    }
    if (!(nr > 0) || !std::isfinite(nr)) {
      set.zero_rows.push_back(i);
      continue;
    }
    if (filter.dedup && dup[static_cast<std::size_t>(i)]) {
      set.merged_rows.push_back(i);
      continue;
    }
    const float* src = raw.row(i);
    float* dst = raw.row(kept);
    const double inv = 1.0 / nr;
    for (std::int64_t k = 0; k < d; ++k) dst[k] = static_cast<float>(src[k] * inv);
    set.ids.push_back(i);
    set.norms.push_back(static_cast<float>(nr));
    ++kept;
  }
  raw.truncate_rows(kept);
  set.unit = std::move(raw);
  return set;
}

}  // namespace embstat
