#include "embstat/output/html_report.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "embstat/base/atomic_file.hpp"
#include "embstat/base/error.hpp"
#include "embstat/output/json_text.hpp"
#include "embstat/output/report_assets.hpp"

namespace embstat {
namespace {

// Script text made safe inside <script>...</script>: "</script" would end the element early, so
// it becomes "<\/script" (the same string in a JS string, regex or comment). The trailing
// source-map comment is dropped: the .map file is not shipped and browsers would try to load it.
std::string script_safe(std::string_view js) {
  std::string out;
  out.reserve(js.size() + 64);
  std::size_t end = js.size();
  if (const auto map = js.rfind("\n//# sourceMappingURL=");
      map != std::string_view::npos && js.find('\n', map + 1) >= js.size() - 1)
    end = map + 1;
  for (std::size_t i = 0; i < end; ++i) {
    if (js[i] == '<' && i + 8 <= end && js[i + 1] == '/') {
      std::string word(js.substr(i + 2, 6));
      std::transform(word.begin(), word.end(), word.begin(), [](unsigned char c) { return std::tolower(c); });
      if (word == "script") {
        out += "<\\/";
        ++i;
        continue;
      }
    }
    out += js[i];
  }
  return out;
}

// JSON text safe inside <script type="application/json">: "</" -> "<\/" and "<!" -> "<\u0021",
// both valid JSON escapes (they only occur inside strings), so the element cannot be closed or
// switched into the HTML parser's escaped-script state by any token text.
std::string json_safe(const nlohmann::json& data) {
  const std::string text = json_text(data);
  std::string out;
  out.reserve(text.size() + 64);
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '<' && i + 1 < text.size() && text[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else if (text[i] == '<' && i + 1 < text.size() && text[i + 1] == '!') {
      out += "<\\u0021";
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string unavailable_reason(const ReportAssets& assets) {
  return fmt::format(
      "this embstat was built without the report's charting library (vega, vega-lite, vega-embed from npm): "
      "run `npm ci` in {} (needs node >= 20 and npm), then rebuild (`cmake --build <build dir>`)",
      assets.source_dir);
}

}  // namespace

bool html_report_available() {
  return !report_assets().library.empty();
}

std::string render_html_report(const nlohmann::json& data, std::string_view title) {
  const ReportAssets& assets = report_assets();
  if (assets.library.empty()) throw_unsupported("", unavailable_reason(assets));

  std::string library;
  for (const ReportLibraryFile& file : assets.library)
    library += fmt::format("<script>/*! {} {} ({}) */\n{}\n</script>\n", file.package, file.version, file.license,
                           script_safe(file.script));
  std::string version;
  if (data.is_object() && data.contains("provenance") && data["provenance"].contains("embstat_version") &&
      data["provenance"]["embstat_version"].is_string())
    version = data["provenance"]["embstat_version"].get<std::string>();

  // One pass over the template: text substituted for a marker is never scanned again, so a
  // token that spells "<!--EMBSTAT:DATA-->" stays data.
  const std::string_view page = assets.page_html;
  constexpr std::string_view kOpen = "<!--EMBSTAT:";
  std::string out;
  out.reserve(page.size() + library.size() + 1'000'000);
  std::size_t pos = 0;
  while (true) {
    const std::size_t at = page.find(kOpen, pos);
    if (at == std::string_view::npos) break;
    const std::size_t close = page.find("-->", at);
    if (close == std::string_view::npos) break;
    out.append(page.substr(pos, at - pos));
    const std::string_view key = page.substr(at + kOpen.size(), close - at - kOpen.size());
    if (key == "TITLE")
      out += html_escape(title);
    else if (key == "VERSION")
      out += html_escape(version);
    else if (key == "CSS")
      out.append(assets.page_css);
    else if (key == "LIBRARY")
      out += library;
    else if (key == "DATA")
      out += json_safe(data);
    else if (key == "SCRIPT")
      out += script_safe(assets.page_js);
    else
      throw Error(ErrorKind::Internal, "", fmt::format("report page: unknown marker '{}'", key));
    pos = close + 3;
  }
  out.append(page.substr(pos));
  return out;
}

void write_html_report(const std::string& path, const nlohmann::json& data, std::string_view title) {
  const std::string html = render_html_report(data, title);
  write_file_atomically(path,
                        [&](std::ostream& out) { out.write(html.data(), static_cast<std::streamsize>(html.size())); });
}

nlohmann::json histogram_density(std::span<const std::uint64_t> counts, double lo, double hi, int max_points) {
  nlohmann::json out = {{"bin_width", 0.0}, {"points", nlohmann::json::array()}};
  const std::size_t n = counts.size();
  const std::uint64_t total = std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
  if (n == 0 || total == 0 || !(hi > lo)) return out;
  // Central 98 % of the mass, in base bins.
  const double tail = 0.01 * static_cast<double>(total);
  std::size_t first_central = 0, last_central = n - 1;
  for (std::uint64_t acc = 0; first_central < n; ++first_central)
    if (static_cast<double>(acc += counts[first_central]) > tail) break;
  for (std::uint64_t acc = 0; last_central > 0; --last_central)
    if (static_cast<double>(acc += counts[last_central]) > tail) break;
  if (last_central < first_central) last_central = first_central;
  std::size_t merge = 1;
  while (merge < n &&
         (last_central / merge - first_central / merge + 1) > static_cast<std::size_t>(std::max(1, max_points)))
    merge *= 2;
  std::size_t first = 0, last = n - 1;
  while (counts[first] == 0) ++first;
  while (counts[last] == 0) --last;
  const double base_width = (hi - lo) / static_cast<double>(n);
  const double width = base_width * static_cast<double>(merge);
  out["bin_width"] = width;
  auto& points = out["points"];
  for (std::size_t b = first / merge; b <= last / merge; ++b) {
    std::uint64_t c = 0;
    for (std::size_t i = b * merge; i < std::min(n, (b + 1) * merge); ++i) c += counts[i];
    const double x = lo + base_width * static_cast<double>(b * merge);
    points.push_back({{"x", x}, {"density", static_cast<double>(c) / (static_cast<double>(total) * width)}});
  }
  return out;
}

nlohmann::json random_cosine_density(std::int64_t dim, int n_points) {
  if (dim <= 2) throw_usage(fmt::format("random_cosine_density: dimension {} must be > 2", dim));
  const double d = static_cast<double>(dim);
  const double log_norm = std::lgamma(d / 2) - 0.5 * std::log(M_PI) - std::lgamma((d - 1) / 2);
  const double half = std::min(1.0, 7.0 / std::sqrt(d));
  const int n = std::max(3, n_points);
  nlohmann::json points = nlohmann::json::array();
  double peak = 0;
  for (int i = 0; i < n; ++i) {
    const double t = -half + 2 * half * i / (n - 1);
    const double one_minus = 1 - t * t;
    const double f = one_minus <= 0 ? 0.0 : std::exp(log_norm + (d - 3) / 2 * std::log(one_minus));
    peak = std::max(peak, f);
    points.push_back({{"x", t}, {"density", f}});
  }
  return {{"dim", dim}, {"peak", peak}, {"points", std::move(points)}};
}

std::string truncate_utf8(std::string_view text, std::size_t max_chars) {
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (chars == max_chars) return std::string(text.substr(0, i)) + "…";
    ++chars;
  }
  return std::string(text);
}

nlohmann::json bin_token_values(std::span<const std::int64_t> ids, std::span<const double> fraction_negative,
                                std::span<const double> mean_cosine, std::int64_t id_end, int max_bins, int n_examples,
                                const std::function<std::string(std::int64_t)>& text_of) {
  if (fraction_negative.size() != ids.size() || mean_cosine.size() != ids.size())
    throw Error(ErrorKind::Internal, "", "bin_token_values: arrays of different lengths");
  const std::int64_t bins_wanted = std::max(1, max_bins);
  const std::int64_t bin_size = std::max<std::int64_t>(1, (id_end + bins_wanted - 1) / bins_wanted);
  nlohmann::json bins = nlohmann::json::array();
  std::vector<std::size_t> members;
  std::size_t i = 0;
  while (i < ids.size()) {
    if (ids[i] < 0 || ids[i] >= id_end || (i > 0 && ids[i] <= ids[i - 1]))
      throw Error(ErrorKind::Internal, "", "bin_token_values: ids must ascend within [0, id_end)");
    const std::int64_t bin = ids[i] / bin_size;
    members.clear();
    for (; i < ids.size() && ids[i] / bin_size == bin; ++i) members.push_back(i);
    double sum = 0, sum_cos = 0, max = 0;
    for (std::size_t k : members) {
      sum += fraction_negative[k];
      sum_cos += mean_cosine[k];
      max = std::max(max, fraction_negative[k]);
    }
    const std::size_t n_show = std::min<std::size_t>(members.size(), static_cast<std::size_t>(std::max(0, n_examples)));
    std::partial_sort(members.begin(), members.begin() + static_cast<std::ptrdiff_t>(n_show), members.end(),
                      [&](std::size_t a, std::size_t b) {
                        return fraction_negative[a] != fraction_negative[b]
                                   ? fraction_negative[a] > fraction_negative[b]
                                   : ids[a] < ids[b];
                      });
    std::string examples;
    for (std::size_t k = 0; k < n_show; ++k) {
      if (k) examples += "  ";
      examples += std::to_string(ids[members[k]]);
      if (text_of) {
        const std::string text = text_of(ids[members[k]]);
        if (!text.empty()) examples += " " + truncate_utf8(text, 24);
      }
    }
    const double count = static_cast<double>(members.size());
    bins.push_back({{"first", bin * bin_size},
                    {"last", std::min(id_end, (bin + 1) * bin_size) - 1},
                    {"n", members.size()},
                    {"mean", sum / count},
                    {"max", max},
                    {"mean_cos", sum_cos / count},
                    {"examples", examples}});
  }
  return {{"bin_size", bin_size}, {"id_end", id_end}, {"bins", std::move(bins)}};
}

}  // namespace embstat
