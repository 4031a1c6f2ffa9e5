#include "embstat/analysis/sampled_bf16.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "embstat/analysis/certified_cosine.hpp"
#include "embstat/analysis/sample_engine.hpp"
#include "embstat/analysis/sign_pairs.hpp"
#include "embstat/base/dtype.hpp"
#include "embstat/base/error.hpp"

namespace embstat {

namespace {

const std::uint16_t* bf16_row(const MatrixView& view, std::int64_t i) {
  return reinterpret_cast<const std::uint16_t*>(view.row(i));
}

}  // namespace

bool Bf16Rows::contains(std::int64_t id) const {
  return std::binary_search(ids.begin(), ids.end(), id);
}

std::string Bf16Rows::why_not_in(std::int64_t id) const {
  if (contains(id)) return "";
  return detail::why_excluded(id, n_total, {zero_rows, non_finite_rows, padding_rows, {}});
}

Bf16Rows make_bf16_rows(const MatrixView& view, const RowFilter& filter) {
  if (view.dtype != DType::BF16) throw Error(ErrorKind::Internal, "", "make_bf16_rows: the matrix is not BF16");
  if (filter.dedup) throw Error(ErrorKind::Internal, "", "make_bf16_rows: --dedup needs the RowSet path");
  if (!bf16_kernel_available()) throw Error(ErrorKind::Internal, "", "make_bf16_rows: no AVX512-BF16 on this CPU");
  Bf16Rows rows;
  rows.view = view;
  rows.n_total = view.n_rows;
  const std::int64_t n = view.n_rows;
  std::vector<double> norm(static_cast<std::size_t>(n));
#pragma omp parallel for schedule(dynamic, 1024)
  for (std::int64_t i = 0; i < n; ++i)
    norm[static_cast<std::size_t>(i)] = std::sqrt(squared_norm_bf16(bf16_row(view, i), view.n_cols));
  rows.inv_norms.assign(static_cast<std::size_t>(n), 0.0f);
  for (std::int64_t i = 0; i < n; ++i) {  // the rules of make_row_set, in the same order
    const double nr = norm[static_cast<std::size_t>(i)];
    if (filter.n_tokens >= 0 && i >= filter.n_tokens && !filter.include_padding) {
      rows.padding_rows.push_back(i);
      rows.excluded.push_back(i);
    } else if (!std::isfinite(nr)) {
      rows.non_finite_rows.push_back(i);
      rows.excluded.push_back(i);
    } else if (!(nr > 0)) {
      rows.zero_rows.push_back(i);
      rows.excluded.push_back(i);
    } else {
      rows.min_norm = rows.ids.empty() ? nr : std::min(rows.min_norm, nr);
      rows.max_norm = std::max(rows.max_norm, nr);
      rows.ids.push_back(i);
      rows.inv_norms[static_cast<std::size_t>(i)] = static_cast<float>(1.0 / nr);
    }
  }
  return rows;
}

SampleSummary sample_cosines(const Bf16Rows& rows, const std::vector<std::int64_t>& target_ids,
                             const SampleOptions& options) {
  detail::check_sample_size(rows.size(), rows.n_total, target_ids.size());
  if (!rows.in_kernel_range())
    throw Error(ErrorKind::Internal, "",
                fmt::format("the bf16 kernel cannot take rows of norm {:g} to {:g} (the f32 path can)", rows.min_norm,
                            rows.max_norm));
  for (std::int64_t id : target_ids)
    if (!rows.contains(id)) throw_usage("target row " + std::to_string(id) + " is " + rows.why_not_in(id));

  detail::SampleProblem problem;
  problem.n_cols = rows.n_total;  // columns = model rows; excluded ones skipped
  problem.skip = &rows.excluded;
  problem.self = target_ids;
  problem.ids = target_ids;
  const std::int64_t d = rows.dim();
  problem.make_fill = [&rows, &target_ids, d](std::int64_t k0, std::int64_t k1) -> detail::FillTile {
    // The pass's targets, zero-padded for the kernel, and their inverse norms.
    struct Targets {
      Bf16Vectors vectors;
      std::vector<float> inv;
    };
    auto t = std::make_shared<Targets>();
    t->vectors = pack_bf16_vectors(k1 - k0, d);
    t->inv.assign(static_cast<std::size_t>(t->vectors.padded), 0.0f);
    for (std::int64_t k = 0; k < k1 - k0; ++k) {
      const std::int64_t id = target_ids[static_cast<std::size_t>(k0 + k)];
      std::memcpy(t->vectors.bits.data() + k * t->vectors.d32, bf16_row(rows.view, id),
                  sizeof(std::uint16_t) * static_cast<std::size_t>(d));
      t->inv[static_cast<std::size_t>(k)] = rows.inv_norms[static_cast<std::size_t>(id)];
    }
    return [t, &rows, d](std::int64_t c0, std::int64_t c1, float* out, std::int64_t ldc) {
      bf16_dots(t->vectors, t->inv.data(), rows.view.row(c0), rows.view.row_bytes, rows.inv_norms.data() + c0, c1 - c0,
                d, out, ldc, 1);
    };
  };
  // Cosines near 0 certified (certified_cosine.hpp): the exact dot of the stored values (bf16 is
  // exact in float) gives the sign, over the norms. The kernel's products are exact and its sums
  // float, then two scalings by float inverse norms: within the bound of d + 8 float roundings.
  problem.certify = [&rows, &target_ids, d](std::int64_t k, std::int64_t c) {
    std::vector<float> a(static_cast<std::size_t>(d)), b(static_cast<std::size_t>(d));
    const std::uint16_t* ra = bf16_row(rows.view, target_ids[static_cast<std::size_t>(k)]);
    const std::uint16_t* rb = bf16_row(rows.view, c);
    for (std::int64_t i = 0; i < d; ++i) {
      a[static_cast<std::size_t>(i)] = bf16_to_f32(ra[i]);
      b[static_cast<std::size_t>(i)] = bf16_to_f32(rb[i]);
    }
    double dot = 0;
    const int sign = exact_dot_sign(a.data(), b.data(), d, nullptr, &dot);
    if (sign == 0) return 0.0f;
    const double scale =
        static_cast<double>(rows.inv_norms[static_cast<std::size_t>(target_ids[static_cast<std::size_t>(k)])]) *
        static_cast<double>(rows.inv_norms[static_cast<std::size_t>(c)]);
    const float f = clamp_cosine(static_cast<float>(dot * scale));
    constexpr float kTiny = std::numeric_limits<float>::denorm_min();
    return sign > 0 ? std::max(f, kTiny) : std::min(f, -kTiny);
  };
  problem.band = certification_band(d + 8);
  return detail::run_sample(problem, options);
}

}  // namespace embstat
