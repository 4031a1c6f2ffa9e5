#include "embstat/analysis/id_ranges.hpp"

#include <algorithm>

namespace embstat {

std::vector<IdRange> compress_ids(std::span<const std::int64_t> ids, std::span<const std::int64_t> bridgeable) {
  std::vector<std::int64_t> sorted(ids.begin(), ids.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<std::int64_t> bridge(bridgeable.begin(), bridgeable.end());
  std::sort(bridge.begin(), bridge.end());
  bridge.erase(std::unique(bridge.begin(), bridge.end()), bridge.end());

  // True when every id strictly between a and b is bridgeable.
  auto bridged = [&](std::int64_t a, std::int64_t b) {
    const auto lo = std::upper_bound(bridge.begin(), bridge.end(), a);
    const auto hi = std::lower_bound(bridge.begin(), bridge.end(), b);
    return hi - lo == b - a - 1;
  };

  std::vector<IdRange> out;
  for (std::int64_t id : sorted) {
    if (!out.empty() && (id == out.back().last + 1 || bridged(out.back().last, id))) {
      out.back().last = id;
      ++out.back().count;
    } else {
      out.push_back({id, id, 1});
    }
  }
  return out;
}

std::string format_id_range(const IdRange& range) {
  if (range.first == range.last) return std::to_string(range.first);
  return std::to_string(range.first) + "–" + std::to_string(range.last);
}

std::string format_id_ranges(std::span<const IdRange> ranges) {
  std::string out;
  for (const auto& r : ranges) {
    if (!out.empty()) out += ", ";
    out += format_id_range(r);
  }
  return out;
}

}  // namespace embstat
