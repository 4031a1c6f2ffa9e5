// HTML report — one self-contained file that tells a model's whole story in tables and charts.
//
// The page (embstat/output/report/page.{html,css,js}), the data as inline JSON and the charting
// library (vega, vega-lite, vega-embed, built into the binary: report_assets.hpp) go into one
// file: it opens offline, in any current browser, with nothing fetched. Each chart is a
// Vega-Lite spec built by page.js from the data; doc/report.md documents the data's keys.
//
// This layer knows nothing of model files or analyses: the caller (cli/verb_report.cpp) fills
// the JSON, with the data-shaping helpers below for the bulky parts (histograms, per-token
// values), so a report for three 262k-token models stays a few MB.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace embstat {

// Whether this binary carries the charting library (node_modules/ was there at build time).
bool html_report_available();

// The complete page for `data`. Throws Error(Unsupported) when the charting library was not
// built in, saying how to install it (`npm ci` in the source tree, then rebuild).
std::string render_html_report(const nlohmann::json& data, std::string_view title);

// render_html_report() written to `path` (Error(Io) when it cannot be written).
void write_html_report(const std::string& path, const nlohmann::json& data, std::string_view title);

// ---- data shaping (pure functions) ------------------------------------------------------------

// A density curve from histogram `counts` of equal bins over [lo, hi]: runs of 2^k adjacent bins
// are merged, k the smallest for which the central 98 % of the mass spans at most `max_points`
// merged bins. Returns {"bin_width", "points":[{"x" (bin start), "density"}]}, densities
// integrating to 1 (empty points when every count is 0). Only bins from the first to the last
// non-empty one are listed.
nlohmann::json histogram_density(std::span<const std::uint64_t> counts, double lo, double hi, int max_points);

// The density of the cosine between two independent isotropic Gaussian vectors in `dim` > 2
// dimensions, f(t) = Γ(d/2) / (√π Γ((d-1)/2)) (1 - t²)^((d-3)/2) (computed in log space), at
// `n_points` evenly spaced t over ±min(1, 7/√d). Returns {"dim", "peak", "points":[{"x","density"}]}.
// This is what the study's random-initialisation control converges to.
nlohmann::json random_cosine_density(std::int64_t dim, int n_points);

// Per-token values binned along the id axis so a 262k-token vocabulary stays small: ids
// [0, id_end) split into bins of ceil(id_end / max_bins) ids. `ids` (ascending, < id_end),
// `fraction_negative` and `mean_cosine` are parallel arrays (the rows that took part; bins
// holding none are left out). Returns {"bin_size", "id_end", "bins":[{"first","last","n",
// "mean","max","mean_cos","examples"}]}: mean and max of fraction_negative over the bin, and
// the `n_examples` most negative-prone tokens of the bin as "id text" (text from `text_of`,
// cut to 24 characters), joined with "  ".
nlohmann::json bin_token_values(std::span<const std::int64_t> ids, std::span<const double> fraction_negative,
                                std::span<const double> mean_cosine, std::int64_t id_end, int max_bins, int n_examples,
                                const std::function<std::string(std::int64_t)>& text_of);

// UTF-8 text cut to at most `max_chars` code points, "…" appended when cut.
std::string truncate_utf8(std::string_view text, std::size_t max_chars);

}  // namespace embstat
