// geometry_bench — wall time of `geometry` per stage on synthetic matrices of the study's shapes.
//
//   geometry_bench [ROWSxDIM ...] [--threads N] [--no-iw] [--spectrum auto|exact|randomized] [--passes P]
//                  [--decay A] [--compare] [--bf16]
//
// Each shape: an N(0,1) matrix (random_normal_matrix, seeded) plus a constant offset of 0.3 per
// coordinate and one rogue coordinate (+4), so every stage does real work; a synthetic
// vocabulary of byte, Latin, CJK, digit and special tokens. Prints each stage's time, the BLAS
// rate of the O(n d^2) stages, peak RSS, and the time projected for the study's largest shape
// (262,208 x 5,376) from the measured one: O(n d) stages scale by n d, the two BLAS-3 passes by
// n d^2, the eigen-decompositions by d^3, the randomized spectrum by n d w, w = max(10, d / 100) + 16 (from CPU time /
// threads, robust to a busy machine). Default shapes: 151,936 x 1,024 and 151,936 x 2,560. --spectrum as `geometry
// --spectrum` (default auto). --decay A scales coordinate k by (k + 1)^(-A / 2) (covariance
// eigenvalues ~ k^-A, a power law like trained embeddings' instead of a flat bulk); --compare
// also runs the exact spectrum on the same matrix and prints how far the randomized one is.
// --bf16 rounds the rows to bf16 and passes them encoded too, as a bf16 checkpoint's tensor: the
// randomized spectrum's products then use the bf16 kernels (on CPUs with AVX512-BF16).
#include <sys/resource.h>

#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "embstat/analysis/geometry.hpp"
#include "embstat/analysis/sampled.hpp"
#include "embstat/base/dtype.hpp"

namespace {

using embstat::GeometryOptions;
using embstat::GeometryReport;

double peak_rss_gb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / (1024.0 * 1024.0);
}

embstat::Vocabulary synthetic_vocab(std::int64_t n) {
  embstat::Vocabulary v;
  v.kind = "byte-bpe";
  for (std::int64_t i = 0; i < n; ++i) {
    embstat::Token t;
    if (i < 256)
      t = {"b", std::string(1, static_cast<char>(i)), embstat::TokenType::Normal};
    else if (i % 97 == 0)
      t = {"<s>", "", embstat::TokenType::Control};
    else if (i % 11 == 0)
      t = {"c", "\xe4\xb8\xad\xe6\x96\x87", embstat::TokenType::Normal};
    else if (i % 13 == 0)
      t = {"d", fmt::format(" {}", i), embstat::TokenType::Normal};
    else if (i % 2 == 0)
      t = {"w", " word", embstat::TokenType::Normal};
    else
      t = {"w", "ing", embstat::TokenType::Normal};
    v.push_back(std::move(t));
  }
  return v;
}

bool parse_shape(const std::string& s, std::int64_t& n, std::int64_t& d) {
  return std::sscanf(s.c_str(), "%ldx%ld", &n, &d) == 2 && n > 1 && d > 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::pair<std::int64_t, std::int64_t>> shapes;
  bool iw = true;
  embstat::SpectrumMethod spectrum = embstat::SpectrumMethod::Auto;
  int passes = 4;
  double decay = 0;
  bool compare = false;
  bool bf16 = false;
  bool streamed = false;
  const char* usage =
      "usage: geometry_bench [ROWSxDIM ...] [--threads N] [--no-iw] [--spectrum auto|exact|randomized] [--passes P]\n"
      "                      [--decay A] [--compare] [--bf16] [--streamed]\n";
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    std::int64_t n = 0, d = 0;
    if (arg == "--threads" && a + 1 < argc)
      omp_set_num_threads(std::atoi(argv[++a]));
    else if (arg == "--no-iw")
      iw = false;
    else if (arg == "--decay" && a + 1 < argc)
      decay = std::atof(argv[++a]);
    else if (arg == "--bf16")
      bf16 = true;
    else if (arg == "--streamed")
      bf16 = streamed = true;
    else if (arg == "--compare")
      compare = true;
    else if (arg == "--passes" && a + 1 < argc)
      passes = std::max(1, std::atoi(argv[++a]));
    else if (arg == "--spectrum" && a + 1 < argc) {
      const std::string m = argv[++a];
      if (m == "exact")
        spectrum = embstat::SpectrumMethod::Exact;
      else if (m == "randomized")
        spectrum = embstat::SpectrumMethod::Randomized;
      else if (m != "auto") {
        std::fputs(usage, stderr);
        return 2;
      }
    } else if (parse_shape(arg, n, d))
      shapes.emplace_back(n, d);
    else {
      std::fputs(usage, stderr);
      return 2;
    }
  }
  if (shapes.empty()) shapes = {{151936, 1024}, {151936, 2560}};
  fmt::print("geometry_bench: {} threads, I(W) {}, spectrum {} ({} passes when randomized)\n", omp_get_max_threads(),
             iw ? "on" : "off",
             spectrum == embstat::SpectrumMethod::Exact        ? "exact"
             : spectrum == embstat::SpectrumMethod::Randomized ? "randomized"
                                                               : "auto",
             passes);

  for (const auto& [n, d] : shapes) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    embstat::Matrix m = embstat::random_normal_matrix(n, d, 1);
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) {
      float* r = m.row(i);
      for (std::int64_t k = 0; k < d; ++k)
        r[k] = (decay > 0 ? r[k] * static_cast<float>(std::pow(k + 1.0, -decay / 2)) : r[k]) + 0.3f;
      r[d / 3] += 4.0f;
    }
    // --bf16: the rows rounded to bf16 and kept encoded too, as a bf16 checkpoint's tensor is
    // (the source that analyze_geometry's bf16 kernels read); both paths see the same values.
    std::vector<std::uint16_t> stored;
    embstat::MatrixView source;
    if (bf16) {
      stored.resize(static_cast<std::size_t>(n * d));
#pragma omp parallel for schedule(static)
      for (std::int64_t i = 0; i < n * d; ++i) {
        stored[static_cast<std::size_t>(i)] = embstat::f32_to_bf16(m.data()[i]);
        m.data()[i] = embstat::bf16_to_f32(stored[static_cast<std::size_t>(i)]);
      }
      source.dtype = embstat::DType::BF16;
      source.n_rows = n;
      source.n_cols = d;
      source.data = reinterpret_cast<const std::uint8_t*>(stored.data());
      source.row_bytes = static_cast<std::uint64_t>(d) * 2;
    }
    // --streamed: the held set as the CLI builds it from a bf16 checkpoint (decoded from the
    // encoded rows, the f32 matrix freed first), timed, for the comparison below.
    double held_build_s = 0;
    const embstat::RowSet rows = [&] {
      if (!streamed) return embstat::make_row_set(std::move(m), embstat::RowFilter{});
      m = embstat::Matrix();
      const auto tb = Clock::now();
      embstat::RowSet held = embstat::make_row_set(embstat::decode_to_f32(source), embstat::RowFilter{});
      held_build_s = std::chrono::duration<double>(Clock::now() - tb).count();
      return held;
    }();
    const embstat::Vocabulary vocab = synthetic_vocab(n);
    const double setup = std::chrono::duration<double>(Clock::now() - t0).count();

    GeometryOptions o;
    o.isotropy_iw = iw;
    o.spectrum = spectrum;
    o.spectrum_passes = passes;
    const auto t1 = Clock::now();
    const GeometryReport r = embstat::analyze_geometry(rows, vocab, o, source);
    const double total = std::chrono::duration<double>(Clock::now() - t1).count();

    fmt::print("\n{} x {} (f32 {:.2f} GB; synthetic matrix built in {:.2f} s)\n", n, d,
               static_cast<double>(n) * static_cast<double>(d) * 4e-9, setup);
    const double nd = static_cast<double>(n) * static_cast<double>(d);
    const double nd2 = nd * static_cast<double>(d);
    const double big_n = 262208, big_d = 5376;
    const double scale_nd = big_n * big_d / nd, scale_nd2 = big_n * big_d * big_d / nd2,
                 scale_d3 = std::pow(big_d / static_cast<double>(d), 3);
    // The randomized spectrum's block: max(K = 10, D = round(d / 100)) + 16 vectors.
    auto block = [](double dim) { return std::max(10.0, std::round(dim / 100.0)) + 16.0; };
    const double scale_ndw = scale_nd * block(big_d) / block(static_cast<double>(d));
    // Wall time is what a user waits; on a shared machine other processes inflate it, so the
    // CPU time of this process is printed too (cpu / threads = the wall time of an idle machine).
    const double threads = omp_get_max_threads();
    double projected = 0, cpu_total = 0;
    fmt::print("  {:<44} {:>9} {:>9} {:>11}\n", "stage", "wall s", "cpu s", "cpu/threads");
    for (const auto& t : r.timings) {
      std::string rate;
      double scale = scale_nd;
      const double idle = t.cpu_s / threads;
      if (t.stage.rfind("covariance spectrum (randomized", 0) == 0) {
        const double flop = 4.0 * nd * r.spectrum.block * r.spectrum.passes;  // two sgemm per pass
        rate = fmt::format("  {:.0f} GFLOP/s", flop / std::max(idle, 1e-9) * 1e-9);
        scale = scale_ndw;
      } else if (t.stage.rfind("covariance", 0) == 0) {
        rate = fmt::format("  {:.0f} GFLOP/s", nd2 / std::max(idle, 1e-9) * 1e-9);  // ssyrk: ~n d^2 FLOP
        scale = scale_nd2;
      } else if (t.stage.rfind("I(W)", 0) == 0) {
        rate = fmt::format("  {:.0f} GFLOP/s", 2 * nd2 / std::max(idle, 1e-9) * 1e-9);
        scale = scale_nd2;
      } else if (t.stage.rfind("eigen", 0) == 0) {
        scale = scale_d3;
      }
      projected += idle * scale;
      cpu_total += t.cpu_s;
      fmt::print("  {:<44} {:9.3f} {:9.3f} {:11.3f}{}\n", t.stage, t.wall_s, t.cpu_s, idle, rate);
    }
    fmt::print("  {:<44} {:9.3f} {:9.3f} {:11.3f}   peak RSS {:.2f} GB\n", "total", total, cpu_total,
               cpu_total / threads, peak_rss_gb());
    fmt::print("  projected for 262,208 x 5,376 from this shape (cpu/threads, scaled per stage): {:.0f} s\n",
               projected);
    fmt::print("  check: fraction >= 0 {:.4f} -> centred {:.4f}; top rogue dim {} (planted {}), IsoScore {:.4f}\n",
               r.original.sampled, r.centered.sampled, r.rogue_dimensions.empty() ? -1 : r.rogue_dimensions[0].dim,
               d / 3, r.isoscore);
    fmt::print("  spectrum {}: explained {:.6f} {:.6f}, removed {:.6f}; all-but-the-top {:.4f} / raw {:.4f}",
               r.spectrum.method, r.explained_variance.at(0),
               r.explained_variance.size() > 1 ? r.explained_variance[1] : 0, r.removed_variance, r.all_but_top.sampled,
               r.all_but_top_raw.sampled);
    if (r.spectrum.method == "randomized")
      fmt::print("; {} kernel; IsoScore se {:.2g}, |C|_F se {:.2g}, Ritz residual {:.2g}", r.spectrum.kernel,
                 r.spectrum.isoscore_se, r.spectrum.frobenius_rel_se, r.spectrum.max_residual);
    fmt::print("\n");
    if (streamed) {
      // The CLI's two ways to the rows of a bf16 checkpoint, on the same tensor: the held set
      // above (decoded to f32: what every verb does), or the rows kept encoded (geometry without
      // --exact / --dedup); then the analysis of the streamed set, which must agree bit for bit.
      auto seconds_since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
      const auto t3 = Clock::now();
      const embstat::RowSet rows_s = embstat::make_streamed_row_set(source, embstat::RowFilter{});
      const double streamed_s = seconds_since(t3);
      const auto t4 = Clock::now();
      const GeometryReport s = embstat::analyze_geometry(rows_s, vocab, o, source);
      const double total_s = seconds_since(t4);
      fmt::print("  streamed rows (bf16 left encoded):\n");
      for (const auto& t : s.timings) fmt::print("  {:<44} {:9.3f} {:9.3f}\n", t.stage, t.wall_s, t.cpu_s);
      fmt::print("  row set: decode to f32 + make_row_set {:.3f} s, make_streamed_row_set {:.3f} s\n", held_build_s,
                 streamed_s);
      fmt::print(
          "  analysis: held {:.3f} s, streamed {:.3f} s; with the row set: held {:.3f} s, streamed {:.3f} s "
          "(ratio {:.2f}); reports {}\n",
          total, total_s, total + held_build_s, total_s + streamed_s, (total_s + streamed_s) / (total + held_build_s),
          embstat::geometry_json(s, vocab).dump() == embstat::geometry_json(r, vocab).dump() ? "identical" : "DIFFER");
    }
    if (compare && r.spectrum.method == "randomized") {
      o.spectrum = embstat::SpectrumMethod::Exact;
      o.isotropy_iw = false;
      const auto t2 = Clock::now();
      const GeometryReport e = embstat::analyze_geometry(rows, vocab, o, source);
      const double exact_s = std::chrono::duration<double>(Clock::now() - t2).count();
      double worst = 0;  // largest relative error of the top K eigenvalues
      for (std::size_t k = 0; k < e.eigenvalues.size() && k < r.eigenvalues.size(); ++k)
        worst = std::max(worst, std::abs(r.eigenvalues[k] - e.eigenvalues[k]) / e.eigenvalues[k]);
      fmt::print(
          "  compare with exact ({:.1f} s): top-{} eigenvalues max rel. error {:.2g}; removed variance {:.6f} vs "
          "{:.6f}; IsoScore {:.5f} vs {:.5f} ({:.1f} se); all-but-the-top {:.4f} vs {:.4f}, raw {:.4f} vs "
          "{:.4f}\n",
          exact_s, e.eigenvalues.size(), worst, r.removed_variance, e.removed_variance, r.isoscore, e.isoscore,
          std::abs(r.isoscore - e.isoscore) / std::max(r.spectrum.isoscore_se, 1e-300), r.all_but_top.sampled,
          e.all_but_top.sampled, r.all_but_top_raw.sampled, e.all_but_top_raw.sampled);
    }
  }
  return 0;
}
