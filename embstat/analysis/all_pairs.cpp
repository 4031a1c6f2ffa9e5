// The all-pairs engine: the tile producer, the O(n d) mean identity, and the passes.
//
// Quantiles (exact, usually in one pass)
// ---------------------------------------
// The main pass counts every cosine in kFineHistogramBins equal bins over [-1, 1]. The rank of
// each requested order statistic then names the one bin that holds it, but not the value. Values
// are "held" (kept, 4 bytes each) only where a HeldRange asks, so memory stays bounded:
//
// 1. Pilot. Before the main pass, a random permutation of the rows is cut into groups of g rows
//    (g ~ 2 % of n) and all pairs inside each group are histogrammed (2^20 bins). Every row has
//    g - 1 partners, so row effects cancel and the sample quantile of m ~ n g / 2 pairs is within
//    a few sqrt(p (1 - p) / m) of the truth. A window of kPilotZ such errors around each level
//    becomes a held range of the main pass (~0.1 % of all pairs, a few tens of MiB).
// 2. After the main pass, every count is exact: the values below a held range are the fine bins
//    below it plus those of its first bin under its first key (counted as they pass). If a rank
//    falls inside a held range, the held values give the order statistic exactly (radix select).
// 3. Otherwise (no pilot, a miss, or the cap reached) a refinement pass holds exactly the fine
//    bin that contains the rank (its count is known), or, when that bin alone exceeds the cap,
//    counts it in 2^16 sub-ranges of its float keys and recurses. Float keys are 32 bits, so at
//    most three refinement passes settle any input, a single repeated value included.
//
// The result is the exact order statistic of the float cosines the sgemm computed: the same
// number a full sort would give. Each pass recomputes identical tiles (same sgemm, same shapes),
// which the held counts check.
#include "embstat/analysis/all_pairs.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>

#include "embstat/analysis/blas.hpp"
#include "embstat/analysis/certified_cosine.hpp"
#include "embstat/analysis/reducers/pair_stats.hpp"
#include "embstat/base/error.hpp"

namespace embstat {

namespace {

std::uint64_t pairs_of(std::int64_t n) {
  return n < 2 ? 0 : static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(n - 1) / 2;
}

// The first exception thrown inside a parallel region, rethrown after it (faiss's
// omp_capture_exception): no exception leaves an OpenMP region.
class CapturedError {
 public:
  template <typename F>
  void run(F&& f) {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      f();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!error_) error_ = std::current_exception();
      failed_ = true;
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
  std::mutex mutex_;
};

// Computes tile (I, J) of rows[0..n) (n x d, row-major, row stride d) in blocks of b into
// `tile` (b x b, row stride b), clamps its pairs to [-1, 1], certifies those within `band` of 0
// (certified_cosine.hpp; band < 0: none) and hands it over. Returns the pairs it holds.
std::uint64_t compute_tile(const float* rows, std::int64_t n, std::int64_t d, std::int64_t b, std::int64_t I,
                           std::int64_t J, float* tile, TileHandler& handler, float band) {
  PairTile pt;
  pt.row_begin = I * b;
  pt.row_end = std::min(n, pt.row_begin + b);
  pt.col_begin = J * b;
  pt.col_end = std::min(n, pt.col_begin + b);
  pt.ld = b;
  const std::int64_t r = pt.row_end - pt.row_begin, c = pt.col_end - pt.col_begin;
  if (I == J) {
    // Diagonal tile: only its upper triangle holds pairs, and ssyrk computes just that (half the
    // multiply-adds of an sgemm; the lower triangle is left as it was).
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, blas::blas_int(r, "tile rows"),
                blas::blas_int(d, "vector dimension"), 1.0f, rows + pt.row_begin * d, blas::blas_int(d, "lda"), 0.0f,
                tile, blas::blas_int(b, "ldc"));
  } else {
    // tile (r x c) = rows[I] (r x d) * rows[J]^T (d x c)
    blas::gemm_abt(r, c, d, rows + pt.row_begin * d, d, rows + pt.col_begin * d, d, tile, b);
  }
  for (std::int64_t i = 0; i < r; ++i) {
    const std::int64_t j0 = I == J ? i + 1 : 0;  // a diagonal tile's pairs: its upper triangle
    const float* row_i = rows + (pt.row_begin + i) * d;
    const float* col_j0 = rows + (pt.col_begin + j0) * d;
    certify_cosines(tile + i * b + j0, c - j0, band,
                    [&](std::int64_t k) { return certify_cosine(row_i, col_j0 + k * d, d); });
  }
  pt.cos = tile;
  handler.consume(pt);
  return pt.diagonal() ? pairs_of(r) : static_cast<std::uint64_t>(r * c);
}

}  // namespace

// --- Tile producer --------------------------------------------------------------------------

void for_each_pair_tile(const Matrix& unit, std::int64_t block_rows, std::span<TileHandler* const> handlers,
                        const ProgressFn& progress) {
  const std::int64_t n = unit.n_rows(), d = unit.n_cols();
  if (n < 2 || handlers.empty()) return;
  const std::int64_t b = std::clamp<std::int64_t>(block_rows, 1, n);
  const std::int64_t nb = (n + b - 1) / b;
  const std::int64_t n_tiles = nb * (nb + 1) / 2;
  blas::blas_int(d, "vector dimension");
  blas::blas_int(b * b, "tile size");
  const std::uint64_t total = pairs_of(n);
  const float band = certification_band(d);

  // Tile t -> (I, J), I <= J, row-panel order: consecutive tiles share the row block I.
  std::vector<std::int64_t> panel_start(static_cast<std::size_t>(nb) + 1, 0);
  for (std::int64_t I = 0; I < nb; ++I)
    panel_start[static_cast<std::size_t>(I) + 1] = panel_start[static_cast<std::size_t>(I)] + (nb - I);

  // One parallel level (STYLE.md section 6): OpenMP over tiles, one OpenBLAS thread per sgemm.
  blas::BlasThreads one_blas_thread(1);
  std::atomic<std::uint64_t> done{0};
  CapturedError error;
#pragma omp parallel num_threads(static_cast <int>(handlers.size()))
  {
    const int thread = omp_get_thread_num();
    TileHandler& handler = *handlers[static_cast<std::size_t>(thread)];
    Matrix tile;  // b x b scratch, 64-byte aligned
    error.run([&] { tile = Matrix(b, b); });
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t t = 0; t < n_tiles; ++t)
      error.run([&] {
        const std::int64_t I = std::upper_bound(panel_start.begin(), panel_start.end(), t) - panel_start.begin() - 1;
        const std::int64_t J = I + (t - panel_start[static_cast<std::size_t>(I)]);
        const std::uint64_t area = compute_tile(unit.data(), n, d, b, I, J, tile.data(), handler, band);
        const std::uint64_t now = done.fetch_add(area, std::memory_order_relaxed) + area;
        if (thread == 0 && progress) progress(static_cast<double>(now) / static_cast<double>(total));
      });
  }
  error.rethrow();
  if (progress) progress(1.0);  // thread 0 may have had no tile to report
}

// --- Mean identity --------------------------------------------------------------------------

double mean_pair_dot(const Matrix& unit) {
  const std::int64_t n = unit.n_rows(), d = unit.n_cols();
  if (n < 2) throw_usage("the mean over pairs needs at least 2 rows");
  // Fixed chunks of rows, each summed in row order, then the chunks in chunk order: the same
  // bits for any thread count.
  constexpr std::int64_t kChunk = 1024;
  const std::int64_t n_chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> chunk_sum(static_cast<std::size_t>(n_chunks * d), 0.0);
  std::vector<double> chunk_norm2(static_cast<std::size_t>(n_chunks), 0.0);
#pragma omp parallel for schedule(dynamic, 1)
  for (std::int64_t c = 0; c < n_chunks; ++c) {
    double* acc = chunk_sum.data() + c * d;
    double norm2 = 0;
    for (std::int64_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); ++i) {
      const float* r = unit.row(i);
      for (std::int64_t k = 0; k < d; ++k) {
        const double x = r[k];
        acc[k] += x;
        norm2 += x * x;
      }
    }
    chunk_norm2[static_cast<std::size_t>(c)] = norm2;
  }
  double total2 = 0, norms2 = 0;
  for (std::int64_t k = 0; k < d; ++k) {
    double s = 0;
    for (std::int64_t c = 0; c < n_chunks; ++c) s += chunk_sum[static_cast<std::size_t>(c * d + k)];
    total2 += s * s;
  }
  for (double s : chunk_norm2) norms2 += s;
  return (total2 - norms2) / (static_cast<double>(n) * static_cast<double>(n - 1));
}

// --- Passes ---------------------------------------------------------------------------------

namespace {

// Pilot: rows per group as a fraction of n (its cost relative to the main pass), at least
// kPilotMinGroup rows for an efficient sgemm, and gather buffers of at most kPilotGatherBytes (all
// threads together).
constexpr double kPilotFraction = 0.02;
constexpr std::int64_t kPilotMinGroup = 256;
constexpr std::int64_t kPilotGatherBytes = std::int64_t{256} << 20;
constexpr int kPilotBins = 1 << 18;  // width 7.6e-6; 1 MiB of 32-bit counters stays in L2
constexpr double kPilotZ = 6.0;      // window half-width in standard errors of the sample quantile
constexpr std::uint64_t kPilotSeed = 0x656d6273746174ULL;
// Below this many pairs every value is held (no pilot): at most 16 MiB.
constexpr std::uint64_t kHoldAllPairs = std::uint64_t{1} << 22;
constexpr std::uint32_t kSubBins = 1u << 16;
constexpr int kMaxRefinementPasses = 6;

// Quantile levels as exact fractions, in kQuantileLevels order with the median inserted.
struct Level {
  std::uint64_t num, den;
};
constexpr std::array<Level, 7> kLevels = {{{1, 100}, {5, 100}, {25, 100}, {1, 2}, {75, 100}, {95, 100}, {99, 100}}};
constexpr std::size_t kMedianLevel = 3;

// Rank (0-based) of level p among N values: floor((N - 1) p), numpy's method="lower".
std::uint64_t level_rank(std::uint64_t n_values, const Level& level) {
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(n_values - 1) * level.num) / level.den);
}

struct Pass {
  std::unique_ptr<PairStatsConfig> config;
  std::unique_ptr<std::vector<std::uint8_t>> flags;
  std::unique_ptr<HoldBudget> budget;
  std::vector<std::unique_ptr<PairStats>> threads;
};

// Held values are allocated in chunks (reducers/pair_stats.cpp), so a pass may allocate up to one
// partly used chunk per thread and range beyond its cap: the budget allows for that slack.
Pass make_pass(PairStatsConfig config, int n_threads, std::int64_t cap) {
  Pass pass;
  cap += static_cast<std::int64_t>(n_threads) * static_cast<std::int64_t>(config.ranges.size()) * kHoldChunkValues;
  pass.config = std::make_unique<PairStatsConfig>(std::move(config));
  pass.flags = std::make_unique<std::vector<std::uint8_t>>(static_cast<std::size_t>(pass.config->grid.n_bins()), 0);
  for (std::size_t r = 0; r < pass.config->ranges.size(); ++r) {
    const HeldRange& range = pass.config->ranges[r];
    for (int b = range.bin_lo; b <= range.bin_hi; ++b)
      (*pass.flags)[static_cast<std::size_t>(b)] |= static_cast<std::uint8_t>(1u << r);
  }
  pass.budget = std::make_unique<HoldBudget>(cap);
  for (int t = 0; t < n_threads; ++t)
    pass.threads.push_back(std::make_unique<PairStats>(*pass.config, *pass.flags, *pass.budget));
  return pass;
}

void run_pass(Pass& pass, const Matrix& unit, std::int64_t block, const ProgressFn& progress) {
  std::vector<TileHandler*> handlers;
  for (auto& t : pass.threads) handlers.push_back(t.get());
  for_each_pair_tile(unit, block, handlers, progress);
  for (auto& t : pass.threads) t->finish();
}

HeldRange make_range(const CosineBins& grid, std::uint32_t key_lo, std::uint32_t key_hi, std::uint32_t sub_bins) {
  HeldRange r;
  r.key_lo = key_lo;
  r.key_hi = key_hi;
  r.bin_lo = grid(float_from_order_key(key_lo));
  r.bin_hi = grid(float_from_order_key(key_hi));
  r.sub_bins = sub_bins;
  return r;
}

// Runs the pilot and returns the held ranges it suggests for the main pass (empty when the
// windows would not fit the cap). pilot_pairs receives the sample size.
std::vector<HeldRange> pilot_ranges(const RowSet& rows, const CosineBins& fine, std::uint64_t n_pairs,
                                    const std::vector<std::uint64_t>& ranks, std::int64_t cap, int n_threads,
                                    std::int64_t block, const ProgressFn& progress, std::uint64_t& pilot_pairs) {
  const std::int64_t n = rows.size(), d = rows.dim();
  std::int64_t g = std::max(kPilotMinGroup, static_cast<std::int64_t>(kPilotFraction * static_cast<double>(n)));
  g = std::min(g, std::max<std::int64_t>(2, kPilotGatherBytes / (4 * std::max<std::int64_t>(d, 1) * n_threads)));
  g = std::min(g, n);
  const std::int64_t n_groups = n / g;

  std::vector<std::int64_t> perm(static_cast<std::size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937_64 rng(kPilotSeed);
  for (std::int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates, portable (no std::shuffle)
    const std::int64_t j = static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(i + 1));
    std::swap(perm[static_cast<std::size_t>(i)], perm[static_cast<std::size_t>(j)]);
  }

  PairStatsConfig config;
  config.stats = false;
  config.histogram = true;
  config.grid = CosineBins(kPilotBins);
  const std::int64_t b = std::min(block, g);
  config.max_row_len = b;
  Pass pass = make_pass(std::move(config), n_threads, 0);

  // Whole groups per thread, in one parallel region: each thread gathers a group's rows into its
  // own buffer and walks that group's triangle of tiles.
  blas::BlasThreads one_blas_thread(1);
  const std::int64_t nb = (g + b - 1) / b;
  std::atomic<std::int64_t> groups_done{0};
  CapturedError error;
#pragma omp parallel num_threads(n_threads)
  {
    const int thread = omp_get_thread_num();
    PairStats& handler = *pass.threads[static_cast<std::size_t>(thread)];
    Matrix group, tile;
    error.run([&] {
      group = Matrix(g, d);
      tile = Matrix(b, b);
    });
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t gi = 0; gi < n_groups; ++gi)
      error.run([&] {
        for (std::int64_t r = 0; r < g; ++r) {
          const float* src = rows.unit.row(perm[static_cast<std::size_t>(gi * g + r)]);
          std::copy(src, src + d, group.row(r));
        }
        for (std::int64_t I = 0; I < nb; ++I)
          for (std::int64_t J = I; J < nb; ++J)  // a guess of the distribution: clamped, not certified
            compute_tile(group.data(), g, d, b, I, J, tile.data(), handler, -1.0f);
        const std::int64_t now = groups_done.fetch_add(1, std::memory_order_relaxed) + 1;
        if (thread == 0 && progress) progress(static_cast<double>(now) / static_cast<double>(n_groups));
      });
  }
  error.rethrow();

  std::vector<std::uint64_t> hist(static_cast<std::size_t>(kPilotBins), 0);
  std::uint64_t m = 0;
  for (auto& t : pass.threads) {
    t->finish();
    for (std::size_t b = 0; b < hist.size(); ++b) hist[b] += t->histogram[b];
    m += t->pairs;
  }
  pilot_pairs = m;
  if (m < 2) return {};

  std::vector<std::uint64_t> cum(hist.size() + 1, 0);
  for (std::size_t b = 0; b < hist.size(); ++b) cum[b + 1] = cum[b] + hist[b];
  auto bin_of_rank = [&](std::uint64_t q) {
    return static_cast<int>(std::upper_bound(cum.begin(), cum.end(), q) - cum.begin() - 1);
  };

  struct Window {
    int b_lo, b_hi;
  };
  std::vector<Window> windows;
  for (std::uint64_t rank : ranks) {
    const double p = static_cast<double>(rank) / static_cast<double>(n_pairs - 1);
    const double delta =
        kPilotZ * std::sqrt(std::max(p * (1 - p), 1.0 / static_cast<double>(m)) / static_cast<double>(m));
    const double mm = static_cast<double>(m - 1);
    const auto lo = static_cast<std::uint64_t>(std::floor(std::max(0.0, p - delta) * mm));
    const auto hi = static_cast<std::uint64_t>(std::min(mm, std::ceil(std::min(1.0, p + delta) * mm)));
    windows.push_back({bin_of_rank(lo), bin_of_rank(hi)});
  }
  std::sort(windows.begin(), windows.end(), [](const Window& a, const Window& b) { return a.b_lo < b.b_lo; });
  std::vector<Window> merged;
  for (const Window& w : windows) {
    if (!merged.empty() && w.b_lo <= merged.back().b_hi + 1)
      merged.back().b_hi = std::max(merged.back().b_hi, w.b_hi);
    else
      merged.push_back(w);
  }
  // Expected values held: the pilot's share of pairs in the windows, times all pairs.
  double expected = 0;
  for (const Window& w : merged)
    expected += static_cast<double>(cum[static_cast<std::size_t>(w.b_hi) + 1] - cum[static_cast<std::size_t>(w.b_lo)]) /
                static_cast<double>(m) * static_cast<double>(n_pairs);
  if (expected > 0.75 * static_cast<double>(cap)) return {};

  std::vector<HeldRange> out;
  for (const Window& w : merged)
    out.push_back(make_range(fine, pass.config->grid.first_key(w.b_lo), pass.config->grid.last_key(w.b_hi), 0));
  return out;
}

// What one pass learned about one held range.
struct RangeOutcome {
  HeldRange range;
  std::uint64_t below = 0;  // values with a smaller key
  std::uint64_t count = 0;  // values inside (held or sub-binned)
  bool valid = true;        // false: the hold cap overflowed, the held values are incomplete
  std::vector<const std::vector<std::uint32_t>*> parts;
  std::vector<std::uint64_t> sub;  // merged sub-bin counts
};

std::vector<RangeOutcome> range_outcomes(const Pass& pass, const std::vector<std::uint64_t>& fine_cum) {
  std::vector<RangeOutcome> out;
  for (std::size_t r = 0; r < pass.config->ranges.size(); ++r) {
    RangeOutcome o;
    o.range = pass.config->ranges[r];
    o.below = fine_cum[static_cast<std::size_t>(o.range.bin_lo)];
    if (o.range.sub_bins) o.sub.assign(o.range.sub_bins, 0);
    for (const auto& t : pass.threads) {
      o.below += t->edge_below[r];
      if (o.range.sub_bins) {
        for (std::size_t s = 0; s < o.sub.size(); ++s) o.sub[s] += t->sub_histogram[r][s];
      } else {
        for (const auto& chunk : t->held[r]) {
          o.parts.push_back(&chunk);
          o.count += chunk.size();
        }
      }
    }
    if (o.range.sub_bins)
      o.count = std::accumulate(o.sub.begin(), o.sub.end(), std::uint64_t{0});
    else
      o.valid = !pass.budget->overflowed();
    out.push_back(std::move(o));
  }
  return out;
}

// The exact order statistics at `ranks` (ascending, distinct). `main` is the finished main pass.
std::vector<float> resolve_quantiles(const Pass& main, const std::vector<std::uint64_t>& fine_hist,
                                     const std::vector<std::uint64_t>& ranks, const Matrix& unit, std::int64_t block,
                                     std::int64_t cap, int n_threads, PairKernel kernel, const ProgressFn& progress,
                                     int& passes, std::uint64_t& held_max) {
  const CosineBins& fine = main.config->grid;
  std::vector<std::uint64_t> cum(fine_hist.size() + 1, 0);
  for (std::size_t b = 0; b < fine_hist.size(); ++b) cum[b + 1] = cum[b] + fine_hist[b];

  std::vector<float> value(ranks.size(), 0.0f);
  std::vector<bool> done(ranks.size(), false);
  struct Target {
    std::uint32_t key_lo, key_hi;
    std::uint64_t count;
  };

  const Pass* last = &main;
  Pass refinement;
  held_max = std::max<std::uint64_t>(held_max, static_cast<std::uint64_t>(main.budget->reserved()));
  for (int round = 0;; ++round) {
    std::vector<RangeOutcome> outcomes = range_outcomes(*last, cum);
    std::vector<Target> targets;
    for (std::size_t q = 0; q < ranks.size(); ++q) {
      if (done[q]) continue;
      const std::uint64_t rank = ranks[q];
      std::optional<Target> target;
      for (const RangeOutcome& o : outcomes) {
        if (!o.valid || rank < o.below || rank >= o.below + o.count) continue;
        if (o.range.sub_bins == 0) {
          value[q] = float_from_order_key(select_held_key(o.parts, rank - o.below));
          done[q] = true;
        } else {
          std::uint64_t below = o.below, s = 0;
          while (rank >= below + o.sub[s]) below += o.sub[s++];
          const std::uint64_t span = static_cast<std::uint64_t>(o.range.key_hi - o.range.key_lo) + 1;
          const std::uint64_t S = o.range.sub_bins;
          const auto first = static_cast<std::uint32_t>(o.range.key_lo + (s * span + S - 1) / S);
          const auto last_key = static_cast<std::uint32_t>(o.range.key_lo + ((s + 1) * span + S - 1) / S - 1);
          target = Target{first, last_key, o.sub[s]};
        }
        break;
      }
      if (done[q]) continue;
      if (!target) {
        const int b = static_cast<int>(std::upper_bound(cum.begin(), cum.end(), rank) - cum.begin() - 1);
        target = Target{fine.first_key(b), fine.last_key(b), fine_hist[static_cast<std::size_t>(b)]};
      }
      if (target->key_lo == target->key_hi) {  // one float value: nothing left to find
        value[q] = float_from_order_key(target->key_lo);
        done[q] = true;
        continue;
      }
      if (std::none_of(targets.begin(), targets.end(), [&](const Target& t) { return t.key_lo == target->key_lo; }))
        targets.push_back(*target);
    }
    if (targets.empty()) break;
    if (round >= kMaxRefinementPasses)
      throw Error(ErrorKind::Internal, "", "all_pairs: the quantile search did not converge");

    // Hold the smallest targets that fit the cap; count the others in sub-bins.
    std::sort(targets.begin(), targets.end(), [](const Target& a, const Target& b) { return a.count < b.count; });
    PairStatsConfig config;
    config.stats = false;
    config.histogram = false;
    config.grid = fine;
    config.max_row_len = main.config->max_row_len;
    config.kernel = kernel;
    std::int64_t room = cap;
    std::uint64_t hold_total = 0;
    for (const Target& t : targets) {
      const bool hold = static_cast<std::int64_t>(t.count) <= room;
      if (hold) {
        room -= static_cast<std::int64_t>(t.count);
        hold_total += t.count;
      }
      config.ranges.push_back(make_range(fine, t.key_lo, t.key_hi, hold ? 0 : kSubBins));
    }
    refinement = make_pass(std::move(config), n_threads, cap);
    run_pass(refinement, unit, block, progress);
    ++passes;
    held_max = std::max(held_max, hold_total);
    // The counts of the rerun must match what the main pass saw (identical tiles).
    for (std::size_t r = 0; r < targets.size(); ++r) {
      std::uint64_t got = 0;
      for (const auto& t : refinement.threads) {
        for (const auto& chunk : t->held[r]) got += chunk.size();
        if (refinement.config->ranges[r].sub_bins)
          got += std::accumulate(t->sub_histogram[r].begin(), t->sub_histogram[r].end(), std::uint64_t{0});
      }
      if (!refinement.budget->overflowed() && got != targets[r].count)
        throw Error(ErrorKind::Internal, "", "all_pairs: a refinement pass saw different cosines than the main pass");
    }
    last = &refinement;
  }
  return value;
}

}  // namespace

// --- all_pairs ------------------------------------------------------------------------------

AllPairsResult all_pairs(const RowSet& rows, const AllPairsOptions& options) {
  rows.require_held("the all-pairs engine");
  const std::int64_t n = rows.size();
  if (n < 2) throw_usage("all pairs need at least 2 rows (have " + std::to_string(n) + ")");
  if (options.histogram_bins < 1 || options.histogram_bins > (1 << 20))
    throw_usage("histogram bins must be in 1 .. 1048576");
  if (options.per_row && n >= (std::int64_t{1} << 22)) throw_usage("per-row tallies support at most 4,194,303 rows");
  if (options.block_rows < 0 || options.block_rows > kMaxBlockRows)
    throw_usage("block rows must be in 1 .. " + std::to_string(kMaxBlockRows));
  const std::int64_t block = std::min(n, options.block_rows > 0 ? options.block_rows : kAllPairsBlockRows);
  // No more threads than tiles (results do not depend on the count).
  const std::int64_t n_blocks = (n + block - 1) / block;
  const int n_threads = static_cast<int>(std::min<std::int64_t>(
      n_blocks * (n_blocks + 1) / 2, options.n_threads > 0 ? options.n_threads : omp_get_max_threads()));
  const std::int64_t cap = std::max<std::int64_t>(0, options.max_held_values);
  const std::uint64_t n_pairs = pairs_of(n);

  AllPairsResult res;
  res.n_rows = n;
  res.mean_identity = mean_pair_dot(rows.unit);

  const int fine_bins =
      options.histogram_bins >= kFineHistogramBins
          ? options.histogram_bins
          : options.histogram_bins * ((kFineHistogramBins + options.histogram_bins - 1) / options.histogram_bins);
  PairStatsConfig config;
  config.stats = true;
  config.histogram = true;
  config.grid = CosineBins(fine_bins);
  config.per_row = options.per_row;
  config.n_rows = n;
  config.max_row_len = block;
  config.shift = static_cast<float>(res.mean_identity);
  config.kernel = options.kernel;
  config.unit = &rows.unit;
  config.extreme_window = 2 * float_cosine_error(rows.dim());

  std::vector<std::uint64_t> ranks;
  for (const Level& level : kLevels) ranks.push_back(level_rank(n_pairs, level));

  // Progress: the pilot's share first, then the main pass.
  double pilot_share = 0;
  if (options.quantiles) {
    if (n_pairs <= kHoldAllPairs && static_cast<std::int64_t>(n_pairs) <= cap) {
      config.ranges.push_back(make_range(config.grid, kKeyMinusInf, kKeyPlusInf, 0));
    } else if (options.pilot) {
      pilot_share = std::min(0.5, 2 * kPilotFraction);
      const ProgressFn pilot_progress = progress_between(options.progress, 0.0, pilot_share);
      std::vector<std::uint64_t> distinct = ranks;
      distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
      config.ranges =
          pilot_ranges(rows, config.grid, n_pairs, distinct, cap, n_threads, block, pilot_progress, res.pilot_pairs);
    }
  }
  const ProgressFn main_progress = progress_between(options.progress, pilot_share, 1.0);

  Pass main = make_pass(std::move(config), n_threads, cap);
  run_pass(main, rows.unit, block, main_progress);
  res.passes = 1;

  // Merge in thread order; every tally is an integer (or an extreme with a fixed tie rule).
  const PairStatsConfig& cfg = *main.config;
  std::vector<std::uint64_t> fine_hist(static_cast<std::size_t>(cfg.grid.n_bins()), 0);
  __int128 sum_fixed = 0, sq_fixed = 0;
  PairStats::Extreme mn{__builtin_inf()}, mx{-__builtin_inf()};
  if (options.per_row) {
    res.row_negative.assign(static_cast<std::size_t>(n), 0);
    res.row_mean.assign(static_cast<std::size_t>(n), 0);
  }
  std::vector<std::int64_t> row_sum(options.per_row ? static_cast<std::size_t>(n) : 0, 0);
  for (const auto& t : main.threads) {
    res.pairs += t->pairs;
    res.negative += t->negative;
    res.uncertain += t->uncertain;
    sum_fixed += t->sum_fixed;
    sq_fixed += t->sq_fixed;
    if (t->min.i >= 0 && PairStats::takes(mn, t->min.value, t->min.i, t->min.j, true)) mn = t->min;
    if (t->max.i >= 0 && PairStats::takes(mx, t->max.value, t->max.i, t->max.j, false)) mx = t->max;
    for (std::size_t b = 0; b < fine_hist.size(); ++b) fine_hist[b] += t->histogram[b];
    if (options.per_row)
      for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
        res.row_negative[i] += t->row_negative[i];
        row_sum[i] += t->row_sum_fixed[i];
      }
  }
  if (res.pairs != n_pairs) throw Error(ErrorKind::Internal, "", "all_pairs: tiles did not cover every pair once");

  const double N = static_cast<double>(n_pairs);
  res.non_negative = res.pairs - res.negative;
  res.fraction_non_negative = static_cast<double>(res.non_negative) / N;
  res.min = static_cast<float>(mn.value) + 0.0f;  // -0 reads as 0
  res.max = static_cast<float>(mx.value) + 0.0f;
  res.min_pair = {rows.ids[static_cast<std::size_t>(mn.i)], rows.ids[static_cast<std::size_t>(mn.j)]};
  res.max_pair = {rows.ids[static_cast<std::size_t>(mx.i)], rows.ids[static_cast<std::size_t>(mx.j)]};
  res.mean = static_cast<double>(sum_fixed) / kFixedScale / N;
  const double dm = res.mean - static_cast<double>(cfg.shift);
  const double var = static_cast<double>(sq_fixed) / kFixedScale / N - dm * dm;
  res.std = std::sqrt(std::max(0.0, var));
  if (options.per_row)
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i)
      res.row_mean[i] = static_cast<double>(row_sum[i]) / kFixedScale / static_cast<double>(n - 1);

  const int factor = cfg.grid.n_bins() / options.histogram_bins;
  res.histogram.assign(static_cast<std::size_t>(options.histogram_bins), 0);
  for (std::size_t b = 0; b < fine_hist.size(); ++b)
    res.histogram[b / static_cast<std::size_t>(factor)] += fine_hist[b];

  if (options.quantiles) {
    std::vector<std::uint64_t> distinct = ranks;
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    const std::vector<float> v = resolve_quantiles(main, fine_hist, distinct, rows.unit, block, cap, n_threads,
                                                   options.kernel, options.progress, res.passes, res.held_values);
    auto at = [&](std::uint64_t rank) {
      const std::size_t k =
          static_cast<std::size_t>(std::lower_bound(distinct.begin(), distinct.end(), rank) - distinct.begin());
      return static_cast<double>(v[k] + 0.0f);
    };
    std::size_t qi = 0;
    for (std::size_t l = 0; l < kLevels.size(); ++l) {
      if (l == kMedianLevel)
        res.median = at(ranks[l]);
      else
        res.quantiles[qi++] = at(ranks[l]);
    }
  } else {
    res.median = std::numeric_limits<double>::quiet_NaN();
    res.quantiles.fill(std::numeric_limits<double>::quiet_NaN());
  }
  return res;
}

}  // namespace embstat
