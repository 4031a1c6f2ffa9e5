// kernel_bench — how close the covariance spectrum's products come to this machine's peak.
//
//   kernel_bench [ROWSxDIM] [--block W] [--threads N]
//
// The randomized spectrum's passes (embstat/analysis/spectrum.cpp) multiply tasks of 512 rows by a
// block of W vectors twice: X Q^T (bf16_dots) and X^T Y (bf16_weighted_row_sums) on bf16
// checkpoints, the same two products by single-threaded sgemm on f32 rows. This measures, in one
// run and on all threads, each of those over a synthetic ROWSxDIM matrix (default 65,536 x 5,376,
// W = 70: the block at d = 5,376) against two peers: VDPBF16PS on registers only (24 independent
// accumulators, no memory: the bf16 peak) and one large square sgemm (OpenBLAS's best rate here).
// Rounds are interleaved and the best of 5 kept (this VM's speed varies between runs).
#include <fmt/format.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "embstat/analysis/bf16_kernels.hpp"
#include "embstat/analysis/blas.hpp"
#include "embstat/base/dtype.hpp"

namespace {

using embstat::Bf16Vectors;
using embstat::Bf16WeightPairs;

// Seconds one call of f takes.
double seconds(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// VDPBF16PS on registers: `iters` x 24 instructions per thread, 64 FLOP each (32 bf16 pairs).
// GCC 12 warns wrongly about the intrinsics' internal _mm512_undefined_*() operands (GCC bug
// 105593), as in bf16_kernels.cpp.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f,avx512bf16"))) float dpbf16_registers(std::int64_t iters) {
  __m512 acc[24];
  for (int i = 0; i < 24; ++i) acc[i] = _mm512_set1_ps(static_cast<float>(i));
  __m512i a = _mm512_set1_epi32(0x3f803f80);
  const __m512i b = _mm512_set1_epi32(0x3f803f80);
  for (std::int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 24
    for (int i = 0; i < 24; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], (__m512bh)a, (__m512bh)b);
    asm volatile("" : "+v"(a));  // keeps the loop from being folded
  }
  __m512 s = acc[0];
  for (int i = 1; i < 24; ++i) s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}
#pragma GCC diagnostic pop

}  // namespace

int main(int argc, char** argv) {
  std::int64_t n = 65536, d = 5376, w = 70;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--block" && a + 1 < argc) {
      w = std::max(1L, std::atol(argv[++a]));
    } else if (arg == "--threads" && a + 1 < argc) {
      omp_set_num_threads(std::max(1, std::atoi(argv[++a])));
    } else if (arg.find('x') != std::string::npos) {
      n = std::atol(arg.c_str());
      d = std::atol(arg.c_str() + arg.find('x') + 1);
    } else {
      fmt::print(stderr, "usage: kernel_bench [ROWSxDIM] [--block W] [--threads N]\n");
      return 2;
    }
  }
  if (!embstat::bf16_kernel_available()) {
    fmt::print("kernel_bench: this CPU has no AVX512-BF16 (or EMBSTAT_NO_BF16_KERNEL is set): nothing to measure\n");
    return 0;
  }
  constexpr std::int64_t kTask = 512;
  n = std::max(kTask, n / kTask * kTask);
  const int threads = omp_get_max_threads();
  fmt::print("kernel_bench: {} x {} rows, block {}, tasks of {} rows, {} threads\n", n, d, w, kTask, threads);

  // Rows: small bf16 values; their f32 decoding for sgemm; the block as bf16 and f32.
  std::vector<std::uint16_t> x(static_cast<std::size_t>(n * d));
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<std::uint16_t>(0x3c00u + ((i * 2654435761u) >> 20 & 0x3ffu));
  std::vector<float> xf(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) xf[i] = embstat::bf16_to_f32(x[i]);
  Bf16Vectors q = embstat::pack_bf16_vectors(w, d);
  std::vector<float> qf(static_cast<std::size_t>(w * d));
  for (std::int64_t j = 0; j < w; ++j)
    for (std::int64_t k = 0; k < d; ++k) {
      const auto h = static_cast<std::uint16_t>(0x3b00u + ((j * 131 + k) % 97));
      q.bits[static_cast<std::size_t>(j * q.d32 + k)] = h;
      qf[static_cast<std::size_t>(j * d + k)] = embstat::bf16_to_f32(h);
    }
  std::vector<std::vector<float>> y(static_cast<std::size_t>(threads),
                                    std::vector<float>(static_cast<std::size_t>(kTask * w)));
  std::vector<std::vector<float>> out(static_cast<std::size_t>(threads),
                                      std::vector<float>(static_cast<std::size_t>(w * d)));
  std::vector<Bf16WeightPairs> weights(static_cast<std::size_t>(threads));
  for (auto& wp : weights) {
    wp.assign(kTask, w);
    for (std::int64_t i = 0; i < kTask; ++i)
      for (std::int64_t j = 0; j < w; ++j) wp.set(i, j, static_cast<std::uint16_t>(0x3c00u + ((i + j) & 0x3fu)));
  }
  auto over_tasks = [&](const std::function<void(int, std::int64_t)>& task) {
    embstat::blas::BlasThreads one(1);
#pragma omp parallel for schedule(dynamic, 1)
    for (std::int64_t c0 = 0; c0 < n; c0 += kTask) task(omp_get_thread_num(), c0);
  };
  const auto row_bytes = static_cast<std::uint64_t>(d) * 2;
  auto bf16_rows = [&](std::int64_t c0) { return reinterpret_cast<const std::uint8_t*>(x.data() + c0 * d); };

  constexpr int kRounds = 5;
  constexpr std::int64_t kPeakIters = 20'000'000;
  double t_peak = 1e300, t_sq = 1e300, t_dots = 1e300, t_sums = 1e300, t_abt = 1e300, t_atb = 1e300;
  const std::int64_t sq = 2048;
  std::vector<float> a(static_cast<std::size_t>(sq * sq), 1.0f), b(a.size(), 0.5f), c(a.size());
  float sink = 0;
  for (int r = 0; r < kRounds; ++r) {
    t_peak = std::min(t_peak, seconds([&] {
                        float s = 0;
#pragma omp parallel reduction(+ : s)
                        s += dpbf16_registers(kPeakIters);
                        sink += s;
                      }));
    t_sq = std::min(t_sq, seconds([&] {
                      embstat::blas::BlasThreads all(threads);
                      embstat::blas::gemm_abt(sq, sq, sq, a.data(), sq, b.data(), sq, c.data(), sq);
                    }));
    t_dots = std::min(t_dots, seconds([&] {
                        over_tasks([&](int t, std::int64_t c0) {
                          embstat::bf16_dots(q, nullptr, bf16_rows(c0), row_bytes, nullptr, kTask, d,
                                             y[static_cast<std::size_t>(t)].data(), 1, w);
                        });
                      }));
    t_sums =
        std::min(t_sums, seconds([&] {
                   over_tasks([&](int t, std::int64_t c0) {
                     embstat::bf16_weighted_row_sums(bf16_rows(c0), row_bytes, d, weights[static_cast<std::size_t>(t)],
                                                     out[static_cast<std::size_t>(t)].data());
                   });
                 }));
    t_abt = std::min(t_abt, seconds([&] {
                       over_tasks([&](int t, std::int64_t c0) {
                         embstat::blas::gemm_abt(kTask, w, d, xf.data() + c0 * d, d, qf.data(), d,
                                                 y[static_cast<std::size_t>(t)].data(), w);
                       });
                     }));
    t_atb = std::min(t_atb, seconds([&] {
                       over_tasks([&](int t, std::int64_t c0) {
                         embstat::blas::gemm_atb(w, d, kTask, y[static_cast<std::size_t>(t)].data(), w,
                                                 xf.data() + c0 * d, d, out[static_cast<std::size_t>(t)].data(), d);
                       });
                     }));
  }
  const double peak = static_cast<double>(threads) * static_cast<double>(kPeakIters) * 24 * 64 / t_peak / 1e9;
  const double sgemm = 2.0 * static_cast<double>(sq) * sq * sq / t_sq / 1e9;
  const double product = 2.0 * static_cast<double>(n) * static_cast<double>(d) * static_cast<double>(w);
  auto line = [&](const char* what, double t, double ref, const char* ref_name) {
    const double rate = product / t / 1e9;
    fmt::print("  {:<44} {:8.3f} s {:7.1f} GFLOP/s = {:5.1f} % of {}\n", what, t, rate, 100.0 * rate / ref, ref_name);
  };
  fmt::print("  peers: VDPBF16PS on registers {:.1f} GFLOP/s (bf16 peak); square sgemm {} {:.1f} GFLOP/s\n", peak, sq,
             sgemm);
  line("bf16 X Q^T (bf16_dots)", t_dots, peak, "bf16 peak");
  line("bf16 X^T Y (bf16_weighted_row_sums)", t_sums, peak, "bf16 peak");
  line("f32 X Q^T (sgemm per task)", t_abt, sgemm, "square sgemm");
  line("f32 X^T Y (sgemm per task)", t_atb, sgemm, "square sgemm");
  if (sink == 12345.0f) fmt::print(" ");  // keeps the register loop's result alive
  return 0;
}
