// Compressing row ids into ranges: [0, 1, ..., 43, 45, 46, 47] -> "0–43, 45–47".
//
// How a reader sees patterns such as "every id in 0–92 is negative to this token" at a glance.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace embstat {

struct IdRange {
  std::int64_t first = 0;  // first id of the run (always one of the ids)
  std::int64_t last = 0;   // last id of the run (always one of the ids)
  std::int64_t count = 0;  // ids of the run actually given (< last - first + 1 when bridged)
};

// Maximal runs of `ids` (any order, duplicates ignored). An id listed in `bridgeable` (e.g. rows
// a statistic excluded, such as zero-norm rows) may be missing inside a run without breaking it;
// `count` then tells how many ids the run really holds.
std::vector<IdRange> compress_ids(std::span<const std::int64_t> ids, std::span<const std::int64_t> bridgeable = {});

// "0–43" (en dash), or "49" for a single id.
std::string format_id_range(const IdRange& range);
// The ranges joined with ", ": "0–43, 45–47, 49".
std::string format_id_ranges(std::span<const IdRange> ranges);

}  // namespace embstat
