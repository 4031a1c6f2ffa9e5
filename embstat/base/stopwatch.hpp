// Stopwatch — wall-clock and process CPU time between laps, for stage timings (`geometry
// --timings`, the benchmarks' stage tables).
#pragma once

#include <chrono>
#include <ctime>

namespace embstat {

// CPU seconds of the whole process, all threads together.
inline double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

struct Lap {
  double wall_s = 0;  // wall-clock seconds
  double cpu_s = 0;   // CPU seconds of the process: about wall_s x busy threads
};

class Stopwatch {
 public:
  Stopwatch() : wall_(std::chrono::steady_clock::now()), cpu_(process_cpu_seconds()) {}

  // The time since construction or the previous lap.
  Lap lap() {
    const auto wall = std::chrono::steady_clock::now();
    const double cpu = process_cpu_seconds();
    const Lap out{std::chrono::duration<double>(wall - wall_).count(), cpu - cpu_};
    wall_ = wall;
    cpu_ = cpu;
    return out;
  }

 private:
  std::chrono::steady_clock::time_point wall_;
  double cpu_;
};

}  // namespace embstat
