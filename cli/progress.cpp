#include "cli/progress.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "embstat/base/display_text.hpp"

namespace embstat::cli {

namespace {
bool g_enabled = ::isatty(STDERR_FILENO) != 0;

std::string format_seconds(double s) {
  if (s < 0 || s > 1e7) return "--";
  const long t = std::lround(s);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, t / 60 % 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}
}  // namespace

void ProgressBar::set_enabled(bool enabled) {
  g_enabled = enabled && ::isatty(STDERR_FILENO) != 0;
}

ProgressBar::ProgressBar(const std::string& label)
    : label_(escape_unprintable(label)), start_(Clock::now()), last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::update(double fraction) {
  if (!g_enabled || finished_) return;
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (elapsed < 1.0) return;  // quick work stays silent
  if (drawn_ && now - last_draw_ < std::chrono::milliseconds(100) && fraction < 1.0) return;
  last_draw_ = now;
  drawn_ = true;
  fraction = std::clamp(fraction, 0.0, 1.0);
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar;
  for (int i = 0; i < kWidth; ++i) bar += i < filled ? "█" : "░";
  const double eta = fraction > 0 ? elapsed * (1 - fraction) / fraction : -1;
  std::fprintf(stderr, "\r\033[K%s %s %5.1f%%  %s elapsed, ETA %s", label_.c_str(), bar.c_str(), fraction * 100,
               format_seconds(elapsed).c_str(), format_seconds(eta).c_str());
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
  }
}

}  // namespace embstat::cli
