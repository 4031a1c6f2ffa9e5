// The int16 sign pass (sign_pairs.hpp) against the fp32 engine (all_pairs.hpp), same matrix, same
// run: what `embstat tokens` needs (per-row negatives and means) and what `pairs --signs-only`
// needs (the two counts).
//
//   fp32 engine: all_pairs with quantiles off (one pass, no pilot), per_row on / off.
//   int16 pass:  sign_pairs per kernel (default: the best this CPU has, and avx2), per_row on / off.
//
// Wall time and CPU time (user + sys of the process, all threads) per run; rounds interleaved,
// best of --reps kept. On a shared machine CPU time is the fairer measure (other jobs mostly add
// wall time). Reported: speed ratios, rechecked pairs (count and fraction), and whether the counts
// and per-row tallies agree (they must, except pairs with |cos| below float32 rounding, which the
// fp32 engine counts as `uncertain`).
//
// The matrix: N(0,1) rows plus --bias (default 0.2) x a shared N(0,1) direction, seeded: cosines
// mean ~0.04, std ~0.03 at d = 1,024, ~88 % positive (offset + noise, as trained embeddings).
//
// --write-npy PATH saves the matrix (float32) first, so that the CLI can be timed end to end on it.
//
// usage: sign_bench [--rows N] [--dim D] [--bias B] [--threads T] [--reps R] [--kernels avx512,avx2,scalar]
//                   [--no-counts] (only the per-row runs) [--write-npy PATH]
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "embstat/analysis/all_pairs.hpp"
#include "embstat/analysis/sampled.hpp"
#include "embstat/analysis/sign_pairs.hpp"
#include "embstat/formats/npy.hpp"

namespace {

using Clock = std::chrono::steady_clock;

double cpu_now() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Timing {
  double wall = 1e30, cpu = 1e30;      // best so far
  double last_wall = 0, last_cpu = 0;  // the latest run
  void keep(double w, double c) {
    last_wall = w;
    last_cpu = c;
    wall = std::min(wall, w);
    cpu = std::min(cpu, c);
  }
};

template <typename F>
void timed(Timing& t, F&& f) {
  const auto w0 = Clock::now();
  const double c0 = cpu_now();
  f();
  t.keep(std::chrono::duration<double>(Clock::now() - w0).count(), cpu_now() - c0);
}

embstat::PairKernel kernel_of(const std::string& s) {
  if (s == "scalar") return embstat::PairKernel::Scalar;
  if (s == "avx2") return embstat::PairKernel::Avx2;
  if (s == "avx512") return embstat::PairKernel::Avx512;
  std::fprintf(stderr, "unknown kernel %s (scalar, avx2, avx512)\n", s.c_str());
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t rows = 32768, dim = 1024;
  float bias = 0.2f;
  int threads = omp_get_max_threads(), reps = 3;
  bool counts = true;
  std::string npy;
  std::vector<std::string> kernels = {"avx512", "avx2"};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return std::string(argv[++i]);
    };
    if (a == "--rows") {
      rows = std::strtoll(next().c_str(), nullptr, 10);
    } else if (a == "--dim") {
      dim = std::strtoll(next().c_str(), nullptr, 10);
    } else if (a == "--bias") {
      bias = std::strtof(next().c_str(), nullptr);
    } else if (a == "--threads") {
      threads = static_cast<int>(std::strtol(next().c_str(), nullptr, 10));
    } else if (a == "--reps") {
      reps = std::max(1, static_cast<int>(std::strtol(next().c_str(), nullptr, 10)));
    } else if (a == "--write-npy") {
      npy = next();
    } else if (a == "--no-counts") {
      counts = false;
    } else if (a == "--kernels") {
      kernels.clear();
      const std::string list = next();
      for (std::size_t p = 0; p <= list.size();) {
        const std::size_t q = std::min(list.find(',', p), list.size());
        kernels.push_back(list.substr(p, q - p));
        p = q + 1;
      }
    } else {
      std::fprintf(stderr,
                   "usage: sign_bench [--rows N] [--dim D] [--bias B] [--threads T] [--reps R] "
                   "[--kernels avx512,avx2,scalar] [--no-counts] [--write-npy PATH]\n");
      return 2;
    }
  }
  omp_set_num_threads(threads);

  embstat::Matrix m = embstat::random_normal_matrix(rows, dim, 1);
  {
    const embstat::Matrix common = embstat::random_normal_matrix(1, dim, 2);
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t k = 0; k < dim; ++k) m.row(i)[k] += bias * common.row(0)[k];
  }
  if (!npy.empty()) embstat::write_npy_f32(npy, m);
  const embstat::RowSet set = embstat::make_row_set(std::move(m), embstat::RowFilter{});
  const double n_pairs = static_cast<double>(rows) * static_cast<double>(rows - 1) / 2;
  std::printf("matrix %lld x %lld (N(0,1) + %.2f x a shared direction), %d threads, %d rounds\n",
              static_cast<long long>(rows), static_cast<long long>(dim), static_cast<double>(bias), threads, reps);

  struct Run {
    std::string name;
    bool per_row;
    bool fp32;
    embstat::PairKernel kernel;
    Timing t;
  };
  std::vector<Run> runs;
  for (bool per_row : {true, false}) {
    if (!per_row && !counts) continue;
    runs.push_back({per_row ? "fp32 engine, per row" : "fp32 engine, counts", per_row, true, {}, {}});
    for (const std::string& k : kernels)
      runs.push_back({std::string("int16 ") + embstat::sign_kernel_name(embstat::resolve_sign_kernel(kernel_of(k))) +
                          (per_row ? ", per row" : ", counts"),
                      per_row,
                      false,
                      kernel_of(k),
                      {}});
  }

  embstat::AllPairsResult fp32_rows;
  std::vector<embstat::SignPairsResult> int16_rows(runs.size());
  for (int round = 0; round < reps; ++round)
    for (std::size_t r = 0; r < runs.size(); ++r) {
      Run& run = runs[r];
      if (run.fp32) {
        embstat::AllPairsOptions o;
        o.per_row = run.per_row;
        o.quantiles = false;
        o.n_threads = threads;
        embstat::AllPairsResult res;
        timed(run.t, [&] { res = embstat::all_pairs(set, o); });
        if (run.per_row) fp32_rows = std::move(res);
      } else {
        embstat::SignPairsOptions o;
        o.per_row = run.per_row;
        o.kernel = run.kernel;
        o.n_threads = threads;
        timed(run.t, [&] { int16_rows[r] = embstat::sign_pairs(set, o); });
      }
      std::printf("round %d: %-32s %8.2f s wall %8.2f s CPU\n", round + 1, run.name.c_str(), run.t.last_wall,
                  run.t.last_cpu);
      std::fflush(stdout);
    }

  std::printf("\nbest of %d rounds (load average at the end: ", reps);
  if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
    char buf[64] = "";
    if (std::fgets(buf, sizeof buf, f)) std::printf("%.14s", buf);
    std::fclose(f);
  }
  std::printf(")\n");
  const double ns_flop = 2.0 * static_cast<double>(dim);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const Run& run = runs[r];
    const Run& ref = runs[r - (r % (kernels.size() + 1))];  // the fp32 run of the same group
    std::printf("%-32s %8.2f s wall %8.2f s CPU  %6.2f CPU ns/pair  %7.1f GMAC/s per CPU", run.name.c_str(), run.t.wall,
                run.t.cpu, run.t.cpu / n_pairs * 1e9, n_pairs * ns_flop / 2 / run.t.cpu / 1e9);
    if (!run.fp32) std::printf("  fp32 / int16: %.2fx wall, %.2fx CPU", ref.t.wall / run.t.wall, ref.t.cpu / run.t.cpu);
    std::printf("\n");
  }
  for (std::size_t r = 0; r < runs.size(); ++r) {
    if (runs[r].fp32) continue;
    const embstat::SignPairsResult& s = int16_rows[r];
    std::printf(
        "%-32s negative %llu  rechecked %llu (%.4f %% of pairs), of which double-checked %llu, exact %llu;  "
        "|cos| < 1e-6: %llu;  bounds <= %.2e, %.2e\n",
        runs[r].name.c_str(), static_cast<unsigned long long>(s.negative), static_cast<unsigned long long>(s.rechecked),
        100.0 * static_cast<double>(s.rechecked) / n_pairs, static_cast<unsigned long long>(s.double_checked),
        static_cast<unsigned long long>(s.exact_fallback), static_cast<unsigned long long>(s.uncertain), s.max_bound,
        s.max_bound_second);
    if (runs[r].per_row) {
      std::int64_t rows_differ = 0;
      double mean_diff = 0;
      for (std::size_t i = 0; i < s.row_negative.size(); ++i) {
        rows_differ += s.row_negative[i] != fp32_rows.row_negative[i];
        mean_diff = std::max(mean_diff, std::abs(s.row_mean[i] - fp32_rows.row_mean[i]));
      }
      std::printf(
          "  vs fp32 engine: negative %llu (fp32) vs %llu (int16), fp32 uncertain %llu, rows whose negative "
          "count differs %lld, max |row mean difference| %.2e\n",
          static_cast<unsigned long long>(fp32_rows.negative), static_cast<unsigned long long>(s.negative),
          static_cast<unsigned long long>(fp32_rows.uncertain), static_cast<long long>(rows_differ), mean_diff);
    }
  }
  return 0;
}
