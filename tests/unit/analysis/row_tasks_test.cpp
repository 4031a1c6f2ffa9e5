#include "embstat/analysis/row_tasks.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <chrono>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

namespace embstat {
namespace {

// What the merges saw: for each call, its first slot, its task count and whether every slot it
// adds still held the value its own group's task wrote (a later group's task writing into the
// bank before the merge would change it).
struct MergeCall {
  std::int64_t first = 0, n_tasks = 0;
  bool slots_intact = true;
};

// 10,000 rows in tasks of 64 (157 tasks, the last one short) in groups of 4: 40 groups, banks
// reused 20 times each. Tasks take uneven time so that threads overtake each other.
std::vector<MergeCall> run(int n_threads, std::vector<std::int64_t>& rows_seen, std::vector<double>& progress_seen,
                           std::vector<std::thread::id>& progress_threads) {
  constexpr std::int64_t n = 10000, task_rows = 64, group = 4;
  std::vector<std::int64_t> slots(static_cast<std::size_t>(kRowTaskBanks * group), -1);
  std::vector<MergeCall> calls;
  std::int64_t next_group = 0;
  rows_seen.assign(static_cast<std::size_t>(n), 0);
  auto task = [&](std::int64_t slot, int thread, std::int64_t c0, std::int64_t m) {
    EXPECT_GE(slot, 0);
    EXPECT_LT(slot, kRowTaskBanks * group);
    EXPECT_GE(thread, 0);
    EXPECT_LT(thread, n_threads);
    if ((c0 / task_rows) % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    for (std::int64_t i = c0; i < c0 + m; ++i) ++rows_seen[static_cast<std::size_t>(i)];
    slots[static_cast<std::size_t>(slot)] = c0;
  };
  auto merge = [&](std::int64_t first, std::int64_t n_tasks) {
    MergeCall call{first, n_tasks, true};
    const std::int64_t g0 = next_group * task_rows * group;
    for (std::int64_t t = 0; t < n_tasks; ++t)
      if (slots[static_cast<std::size_t>(first + t)] != g0 + t * task_rows) call.slots_intact = false;
    ++next_group;
    calls.push_back(call);
  };
  const std::thread::id caller = std::this_thread::get_id();
  progress_threads.clear();
  progress_seen.clear();
  for_each_row_task(n, task_rows, group, n_threads, task, merge, [&](double f) {
    progress_seen.push_back(f);
    if (std::this_thread::get_id() != caller) progress_threads.push_back(std::this_thread::get_id());
  });
  return calls;
}

TEST(RowTasks, MergesGroupsInOrderFromTheirOwnBank) {
  for (const int n_threads : {1, 2, 3}) {
    SCOPED_TRACE(n_threads);
    std::vector<std::int64_t> rows_seen;
    std::vector<double> progress;
    std::vector<std::thread::id> elsewhere;
    const std::vector<MergeCall> calls = run(n_threads, rows_seen, progress, elsewhere);
    ASSERT_EQ(calls.size(), 40u);
    for (std::size_t g = 0; g < calls.size(); ++g) {
      EXPECT_EQ(calls[g].first, static_cast<std::int64_t>(g % 2) * 4) << "group " << g;
      EXPECT_EQ(calls[g].n_tasks, g + 1 < calls.size() ? 4 : 1) << "group " << g;  // 157 = 39 x 4 + 1
      EXPECT_TRUE(calls[g].slots_intact) << "group " << g;
    }
    for (std::size_t i = 0; i < rows_seen.size(); ++i) ASSERT_EQ(rows_seen[i], 1) << "row " << i;
    // Progress: from the calling thread only, never backwards, ending at 1.
    EXPECT_TRUE(elsewhere.empty());
    ASSERT_FALSE(progress.empty());
    for (std::size_t k = 1; k < progress.size(); ++k) EXPECT_GE(progress[k], progress[k - 1]);
    EXPECT_EQ(progress.back(), 1.0);
  }
}

TEST(RowTasks, NoRowsNoCalls) {
  int calls = 0;
  for_each_row_task(
      0, 64, 4, 2, [&](std::int64_t, int, std::int64_t, std::int64_t) { ++calls; },
      [&](std::int64_t, std::int64_t) { ++calls; }, [&](double) { ++calls; });
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace embstat
