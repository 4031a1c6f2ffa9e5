// ProgressBar — a one-line bar with rate and ETA on stderr.
//
// Shown only when stderr is a terminal, and only once the work has taken more than a second,
// so quick commands and pipes stay quiet. Redraws at most ten times a second.
#pragma once

#include <chrono>
#include <string>

#include "embstat/base/progress.hpp"

namespace embstat::cli {

class ProgressBar {
 public:
  explicit ProgressBar(const std::string& label);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void update(double fraction);
  void finish();  // clears the line
  ProgressFn callback() {
    return [this](double f) { update(f); };
  }

  // Globally off (--quiet, or stderr not a terminal).
  static void set_enabled(bool enabled);

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_;
  Clock::time_point start_;
  Clock::time_point last_draw_;
  bool drawn_ = false;
  bool finished_ = false;
};

}  // namespace embstat::cli
