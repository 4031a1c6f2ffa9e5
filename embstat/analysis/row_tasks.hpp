// for_each_row_task — a pass over n rows in small tasks whose sums do not depend on the thread count.
//
// Skinny BLAS products over many rows run fastest as OpenMP tasks of a few hundred rows with
// single-threaded BLAS (threaded BLAS per chunk between OpenMP regions spins two thread pools
// against each other; small tasks also find their rows in cache for a second product). Floating
// sums must not depend on which thread ran what, so tasks go in groups: task t of a group writes
// one slot only, and `merge` adds the group's slots in task order, one group after the other.
//
// The slots come in two banks of `group`: while one group waits for its merge, the next group's
// tasks already fill the other bank, so no thread waits at the end of a group (a barrier per
// group left one core idle for up to a task each time). Threads claim tasks in order from a
// counter, and whichever thread finds the oldest unmerged group complete merges it, under a lock.
// (Plain threads and atomics, no OpenMP tasks: libgomp's task dependencies leaked a little memory
// now and then under LeakSanitizer.)
#pragma once

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "embstat/base/progress.hpp"

namespace embstat {

// Slots a caller of for_each_row_task allocates: kRowTaskBanks x group.
inline constexpr std::int64_t kRowTaskBanks = 2;

// Rows [0, n) in tasks of `task_rows`, `group` tasks at a time. `task(slot, thread, c0, m)`
// handles rows [c0, c0 + m) and writes only to slot `slot` (< kRowTaskBanks x group) and to the
// scratch of `thread` (< n_threads); `merge(first_slot, n_tasks)` adds slots [first_slot,
// first_slot + n_tasks) in order, after every task of that group and after the previous group's
// merge, on any thread of the team. Neither may throw; a parallel region inside either runs on
// its thread alone. `progress(done / n)` goes out from the calling thread only. The caller holds
// BLAS at one thread (BlasThreads).
template <class Task, class Merge>
void for_each_row_task(std::int64_t n, std::int64_t task_rows, std::int64_t group, int n_threads, Task&& task,
                       Merge&& merge, const ProgressFn& progress = {}) {
  if (n <= 0) return;
  const std::int64_t n_tasks = (n + task_rows - 1) / task_rows;
  const std::int64_t n_groups = (n_tasks + group - 1) / group;
  auto tasks_in = [&](std::int64_t g) { return std::min(group, n_tasks - g * group); };
  std::vector<std::atomic<std::int64_t>> finished(static_cast<std::size_t>(n_groups));  // tasks done, per group
  std::atomic<std::int64_t> next_task{0}, merged_groups{0};
  std::mutex merging;
  // Merges every complete group from the oldest unmerged one on; `wait`: even when another thread
  // is merging (else leave it to that one, which checks again before it lets go).
  auto merge_ready = [&](bool wait) {
    std::unique_lock<std::mutex> lock(merging, std::defer_lock);
    if (wait)
      lock.lock();
    else if (!lock.try_lock())
      return;
    for (std::int64_t g = merged_groups.load(std::memory_order_relaxed);
         g < n_groups && finished[static_cast<std::size_t>(g)].load(std::memory_order_acquire) == tasks_in(g); ++g) {
      merge((g % kRowTaskBanks) * group, tasks_in(g));
      merged_groups.store(g + 1, std::memory_order_release);
    }
  };
  double reported = -1;  // on the calling thread (thread 0 of the team) only
  auto report = [&] {
    if (!progress) return;
    const std::int64_t rows = std::min(n, merged_groups.load(std::memory_order_acquire) * group * task_rows);
    const double f = static_cast<double>(rows) / static_cast<double>(n);
    if (f == reported) return;
    reported = f;
    progress(f);
  };
#pragma omp parallel num_threads(n_threads)
  {
    const int thread = omp_get_thread_num();
    for (std::int64_t t = next_task.fetch_add(1); t < n_tasks; t = next_task.fetch_add(1)) {
      const std::int64_t g = t / group;
      // The bank is free once the group that used it before is merged.
      while (merged_groups.load(std::memory_order_acquire) < g - kRowTaskBanks + 1) {
        merge_ready(false);
        std::this_thread::yield();
      }
      const std::int64_t c0 = t * task_rows;
      task((g % kRowTaskBanks) * group + t % group, thread, c0, std::min(task_rows, n - c0));
      finished[static_cast<std::size_t>(g)].fetch_add(1, std::memory_order_release);
      merge_ready(false);
      if (thread == 0) report();
    }
  }
  merge_ready(true);  // a group finished while another thread held the lock, past its last check
  report();
}

}  // namespace embstat
