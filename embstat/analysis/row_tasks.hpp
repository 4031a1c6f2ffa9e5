// for_each_row_task — a pass over n rows in small tasks whose sums do not depend on the thread count.
//
// Skinny BLAS products over many rows run fastest as OpenMP tasks of a few hundred rows with
// single-threaded BLAS (threaded BLAS per chunk between OpenMP regions spins two thread pools
// against each other; small tasks also find their rows in cache for a second product). Floating
// sums must not depend on which thread ran what, so tasks go in groups: task t of a group writes
// slot t only, and after the group `merge(n_tasks)` adds the slots in task order.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "embstat/base/progress.hpp"

namespace embstat {

// Rows [0, n) in tasks of `task_rows`, `group` tasks at a time. `task(slot, thread, c0, m)`
// handles rows [c0, c0 + m) and writes only to slot `slot` (< group) and to the scratch of
// `thread` (< n_threads); `merge(n_tasks)` runs on the calling thread after each group;
// `progress(done / n)` after each merge. The caller holds BLAS at one thread (BlasThreads).
template <class Task, class Merge>
void for_each_row_task(std::int64_t n, std::int64_t task_rows, std::int64_t group, int n_threads, Task&& task,
                       Merge&& merge, const ProgressFn& progress = {}) {
  for (std::int64_t g0 = 0; g0 < n; g0 += task_rows * group) {
    const std::int64_t n_tasks = std::min(group, (n - g0 + task_rows - 1) / task_rows);
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (std::int64_t t = 0; t < n_tasks; ++t) {
      const std::int64_t c0 = g0 + t * task_rows;
      task(t, omp_get_thread_num(), c0, std::min(task_rows, n - c0));
    }
    merge(n_tasks);
    if (progress) progress(static_cast<double>(std::min(n, g0 + task_rows * group)) / static_cast<double>(n));
  }
}

}  // namespace embstat
