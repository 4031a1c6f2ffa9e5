// Phase timings of `embstat sample` on an N(0,1) matrix, without file I/O:
//   random_normal_matrix -> make_row_set (norms, normalise) -> sample_cosines (50 targets).
// usage: sampled_bench [ROWS] [DIM] [TARGETS]   (default 151936 1024 50)
#include <omp.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "embstat/analysis/sampled.hpp"

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  const std::int64_t rows = argc > 1 ? std::atoll(argv[1]) : 151936;
  const std::int64_t dim = argc > 2 ? std::atoll(argv[2]) : 1024;
  const std::int64_t n_targets = argc > 3 ? std::atoll(argv[3]) : 50;
  // Wall seconds since `a`, and CPU seconds of the process since `c` (the machine may be shared).
  auto seconds = [](Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); };
  auto cpu = [](std::clock_t c) { return static_cast<double>(std::clock() - c) / CLOCKS_PER_SEC; };
  std::clock_t c = std::clock();
  std::printf("%lld x %lld, %lld targets, %d threads\n", static_cast<long long>(rows), static_cast<long long>(dim),
              static_cast<long long>(n_targets), omp_get_max_threads());
  auto t = Clock::now();
  c = std::clock();
  embstat::Matrix m = embstat::random_normal_matrix(rows, dim, 0);
  std::printf("random_normal_matrix  %7.3f s wall %7.3f s cpu\n", seconds(t), cpu(c));
  t = Clock::now();
  c = std::clock();
  const embstat::RowSet set = embstat::make_row_set(std::move(m), embstat::RowFilter{});
  std::printf("make_row_set          %7.3f s wall %7.3f s cpu\n", seconds(t), cpu(c));
  const auto targets = embstat::draw_targets(set, n_targets, 0);
  for (int rep = 0; rep < 3; ++rep) {
    t = Clock::now();
    c = std::clock();
    const auto s = embstat::sample_cosines(set, targets);
    std::printf("sample_cosines        %7.3f s wall %7.3f s cpu (fraction %.4f)\n", seconds(t), cpu(c),
                s.fraction_non_negative);
  }
  t = Clock::now();
  c = std::clock();
  const auto cos = embstat::cosines_to(set, targets[0]);
  std::printf("cosines_to            %7.3f s wall %7.3f s cpu (%zu)\n", seconds(t), cpu(c), cos.size());
  return 0;
}
