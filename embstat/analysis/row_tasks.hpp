// for_each_row_task — a pass over n rows in small tasks whose sums do not depend on the thread count.
//
// Skinny BLAS products over many rows run fastest as OpenMP tasks of a few hundred rows with
// single-threaded BLAS (threaded BLAS per chunk between OpenMP regions spins two thread pools
// against each other; small tasks also find their rows in cache for a second product). Floating
// sums must not depend on which thread ran what, so tasks go in groups: task t of a group writes
// one slot only, and `merge` adds the group's slots in task order, one group after the other.
//
// The slots come in two banks of `group`: while one group's merge runs, the next group's tasks
// already fill the other bank, so no thread waits at the end of a group (a barrier per group left
// one core idle for up to a task each time).
#pragma once

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "embstat/base/progress.hpp"

namespace embstat {

// Slots a caller of for_each_row_task allocates: kRowTaskBanks x group.
inline constexpr std::int64_t kRowTaskBanks = 2;

// Rows [0, n) in tasks of `task_rows`, `group` tasks at a time. `task(slot, thread, c0, m)`
// handles rows [c0, c0 + m) and writes only to slot `slot` (< kRowTaskBanks x group) and to the
// scratch of `thread` (< n_threads); `merge(first_slot, n_tasks)` adds slots [first_slot,
// first_slot + n_tasks) in order, after every task of that group and after the previous group's
// merge (on any thread of the team; nested parallel regions in it run on that thread alone).
// Neither may throw. `progress(done / n)` goes out from the calling thread only. The caller holds
// BLAS at one thread (BlasThreads).
template <class Task, class Merge>
void for_each_row_task(std::int64_t n, std::int64_t task_rows, std::int64_t group, int n_threads, Task&& task,
                       Merge&& merge, const ProgressFn& progress = {}) {
  if (n <= 0) return;
  const std::int64_t per_group = task_rows * group;
  const std::int64_t n_groups = (n + per_group - 1) / per_group;
  // Dependence objects: a group's tasks read their bank, its merge writes the bank and `merged`.
  [[maybe_unused]] char bank[kRowTaskBanks] = {};
  [[maybe_unused]] char merged = 0;
  std::atomic<std::int64_t> rows_merged{0};
  std::int64_t reported = -1;  // used on the calling thread (thread 0 of the team) only
  auto report = [&] {
    if (!progress || omp_get_thread_num() != 0) return;
    const std::int64_t done = rows_merged.load(std::memory_order_acquire);
    if (done == reported) return;
    reported = done;
    progress(static_cast<double>(done) / static_cast<double>(n));
  };
#pragma omp parallel num_threads(n_threads)
#pragma omp single
  for (std::int64_t g = 0; g < n_groups; ++g) {
    const std::int64_t g0 = g * per_group;
    const std::int64_t n_tasks = std::min(group, (n - g0 + task_rows - 1) / task_rows);
    const std::int64_t b = g % kRowTaskBanks;
    const std::int64_t first = b * group;
    for (std::int64_t t = 0; t < n_tasks; ++t) {
#pragma omp task depend(in : bank[b]) firstprivate(t)
      {
        const std::int64_t c0 = g0 + t * task_rows;
        task(first + t, omp_get_thread_num(), c0, std::min(task_rows, n - c0));
        report();
      }
    }
#pragma omp task depend(inout : bank[b]) depend(inout : merged)
    {
      merge(first, n_tasks);
      rows_merged.store(std::min(n, g0 + per_group), std::memory_order_release);
      report();
    }
  }
  if (progress && reported != n) progress(1.0);
}

}  // namespace embstat
