// HTML report: page assembly (self-contained, escaping) and the data-shaping helpers.
#include "embstat/output/html_report.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <numeric>
#include <regex>
#include <vector>

#include "embstat/base/error.hpp"
#include "embstat/output/report_assets.hpp"

namespace embstat {
namespace {

nlohmann::json minimal_data() {
  return {{"provenance", {{"embstat_version", "9.9.9"}, {"command", "embstat report x"}}},
          {"models", nlohmann::json::array()}};
}

TEST(HtmlReport, PageAssetsAreBuiltIn) {
  const ReportAssets& assets = report_assets();
  EXPECT_NE(assets.page_html.find("<!--EMBSTAT:DATA-->"), std::string_view::npos);
  EXPECT_NE(assets.page_js.find("vegaEmbed"), std::string_view::npos);
  EXPECT_FALSE(assets.page_css.empty());
}

TEST(HtmlReport, WithoutLibrarySaysHowToInstallIt) {
  if (html_report_available()) GTEST_SKIP() << "charting library built in; the refusal path is not reachable";
  try {
    render_html_report(minimal_data(), "t");
    FAIL() << "expected Error(Unsupported)";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("npm ci"), std::string::npos);
  }
}

class RenderedReport : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!html_report_available())
      GTEST_SKIP() << "built without node_modules/ (run `npm ci` in the source tree and rebuild)";
  }
};

TEST_F(RenderedReport, LibraryIsInlinedInLoadOrder) {
  const auto& library = report_assets().library;
  ASSERT_EQ(library.size(), 3u);
  EXPECT_EQ(library[0].package, "vega");
  EXPECT_EQ(library[1].package, "vega-lite");
  EXPECT_EQ(library[2].package, "vega-embed");
  const std::string html = render_html_report(minimal_data(), "A & B <report>");
  const auto vega = html.find("/*! vega ");
  const auto lite = html.find("/*! vega-lite ");
  const auto embed = html.find("/*! vega-embed ");
  ASSERT_NE(vega, std::string::npos);
  ASSERT_NE(lite, std::string::npos);
  ASSERT_NE(embed, std::string::npos);
  EXPECT_LT(vega, lite);
  EXPECT_LT(lite, embed);
  EXPECT_NE(html.find("<title>A &amp; B &lt;report&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("content=\"embstat 9.9.9\""), std::string::npos);
  EXPECT_EQ(html.find("<!--EMBSTAT:"), std::string::npos) << "a marker was left in the page";
}

TEST_F(RenderedReport, SelfContained) {
  const std::string html = render_html_report(minimal_data(), "t");
  // Nothing loaded from elsewhere: the markup outside the inline scripts has no src= and no
  // <link href=> (script text may build such strings, e.g. vega-tooltip's image support);
  // no source maps.
  std::string markup;
  for (std::size_t pos = 0;;) {
    const auto open_tag = html.find("<script", pos);
    const std::size_t stop = open_tag == std::string::npos ? html.size() : html.find('>', open_tag) + 1;
    markup.append(html.data() + pos, stop - pos);
    if (open_tag == std::string::npos) break;
    pos = html.find("</script>", open_tag);
    ASSERT_NE(pos, std::string::npos);
  }
  EXPECT_FALSE(std::regex_search(markup, std::regex(R"(\ssrc=)", std::regex::icase)));
  EXPECT_FALSE(std::regex_search(markup, std::regex(R"(<link[^>]*\shref=)", std::regex::icase)));
  EXPECT_EQ(html.find("sourceMappingURL"), std::string::npos);
  // Every <script> element closes where it should: as many openings as closings.
  std::size_t open = 0, close = 0;
  for (auto p = html.find("<script"); p != std::string::npos; p = html.find("<script", p + 1)) ++open;
  for (auto p = html.find("</script"); p != std::string::npos; p = html.find("</script", p + 1)) ++close;
  EXPECT_EQ(open, close);
  EXPECT_EQ(open, 5u);  // three library files, the data block, the page script
}

TEST_F(RenderedReport, HostileTokenTextStaysData) {
  nlohmann::json data = minimal_data();
  const std::string evil = "</script><script>alert(1)</script><!--EMBSTAT:DATA--><!-- \xff";
  data["models"].push_back({{"name", evil}});
  const std::string html = render_html_report(data, "t");
  EXPECT_EQ(html.find("</script><script>alert(1)"), std::string::npos);
  EXPECT_EQ(html.find("<!--EMBSTAT:DATA-->"), std::string::npos);
  // The JSON block parses back to the same text (invalid UTF-8 replaced by U+FFFD).
  const auto begin = html.find("id=\"embstat-data\">");
  ASSERT_NE(begin, std::string::npos);
  const auto start = begin + std::string("id=\"embstat-data\">").size();
  const auto end = html.find("</script>", start);
  const auto parsed = nlohmann::json::parse(html.substr(start, end - start));
  EXPECT_EQ(parsed["models"][0]["name"], "</script><script>alert(1)</script><!--EMBSTAT:DATA--><!-- \xEF\xBF\xBD");
}

TEST(HistogramDensity, IntegratesToOneAndConservesCounts) {
  std::vector<std::uint64_t> counts(4096, 0);
  std::uint64_t total = 0;
  for (int i = 1800; i < 2600; ++i)
    total += counts[static_cast<std::size_t>(i)] = static_cast<std::uint64_t>(1 + (i % 7));
  const auto out = histogram_density(counts, -1.0, 1.0, 150);
  const double width = out["bin_width"];
  double integral = 0;
  for (const auto& p : out["points"]) integral += p["density"].get<double>() * width;
  EXPECT_NEAR(integral, 1.0, 1e-12);
  // 800 base bins in the central range, at most 150 points: merged by 8 (800 / 8 = 100).
  EXPECT_DOUBLE_EQ(width, 8 * 2.0 / 4096);
  EXPECT_LE(out["points"].size(), 102u);
  // First point starts at the merged bin holding base bin 1800.
  EXPECT_DOUBLE_EQ(out["points"][0]["x"].get<double>(), -1.0 + (1800 / 8 * 8) * 2.0 / 4096);
  (void)total;
}

TEST(HistogramDensity, NarrowDistributionKeepsFineBins) {
  std::vector<std::uint64_t> counts(4096, 0);
  counts[2048] = 10;
  counts[2049] = 30;
  counts[2050] = 10;
  const auto out = histogram_density(counts, -1.0, 1.0, 150);
  EXPECT_DOUBLE_EQ(out["bin_width"].get<double>(), 2.0 / 4096);
  ASSERT_EQ(out["points"].size(), 3u);
  EXPECT_DOUBLE_EQ(out["points"][1]["x"].get<double>(), 2.0 / 4096);
}

TEST(HistogramDensity, EmptyHistogram) {
  std::vector<std::uint64_t> counts(16, 0);
  EXPECT_TRUE(histogram_density(counts, -1, 1, 10)["points"].empty());
}

TEST(RandomCosineDensity, MatchesKnownCases) {
  // d = 3: the cosine is uniform on [-1, 1], density 1/2.
  const auto d3 = random_cosine_density(3, 11);
  for (const auto& p : d3["points"]) {
    if (std::abs(p["x"].get<double>()) < 1) {
      EXPECT_NEAR(p["density"].get<double>(), 0.5, 1e-12);
    }
  }
  // Large d: close to a normal density with variance 1/d; peak sqrt(d / (2 pi)).
  const auto d = 4096;
  const auto big = random_cosine_density(d, 201);
  EXPECT_NEAR(big["peak"].get<double>(), std::sqrt(d / (2 * M_PI)), 0.01 * std::sqrt(d / (2 * M_PI)));
  // Trapezoid integral over ±7 sd is 1.
  double integral = 0;
  const auto& pts = big["points"];
  for (std::size_t i = 1; i < pts.size(); ++i)
    integral += 0.5 * (pts[i]["density"].get<double>() + pts[i - 1]["density"].get<double>()) *
                (pts[i]["x"].get<double>() - pts[i - 1]["x"].get<double>());
  EXPECT_NEAR(integral, 1.0, 1e-4);
  EXPECT_THROW(random_cosine_density(2, 10), Error);
}

TEST(BinTokenValues, BinsCoverIdsAndPickMostNegativeExamples) {
  // ids 0..9 with a gap at 4 (an excluded row); bins of 4 ids.
  const std::vector<std::int64_t> ids = {0, 1, 2, 3, 5, 6, 7, 8, 9};
  const std::vector<double> frac = {0.9, 0.8, 0.1, 0.95, 0.2, 0.3, 0.1, 0.0, 0.5};
  const std::vector<double> cos = {-0.1, -0.1, 0.2, -0.2, 0.1, 0.1, 0.2, 0.3, 0.0};
  const auto out = bin_token_values(ids, frac, cos, 10, 3, 2, [](std::int64_t id) { return "t" + std::to_string(id); });
  EXPECT_EQ(out["bin_size"], 4);
  const auto& bins = out["bins"];
  ASSERT_EQ(bins.size(), 3u);
  EXPECT_EQ(bins[0]["first"], 0);
  EXPECT_EQ(bins[0]["last"], 3);
  EXPECT_EQ(bins[0]["n"], 4);
  EXPECT_DOUBLE_EQ(bins[0]["mean"].get<double>(), (0.9 + 0.8 + 0.1 + 0.95) / 4);
  EXPECT_DOUBLE_EQ(bins[0]["max"].get<double>(), 0.95);
  EXPECT_EQ(bins[0]["examples"], "3 t3  0 t0");
  EXPECT_EQ(bins[1]["n"], 3);  // 5, 6, 7 (4 excluded)
  EXPECT_EQ(bins[2]["first"], 8);
  EXPECT_EQ(bins[2]["last"], 9);  // clipped at id_end - 1
}

TEST(BinTokenValues, RejectsUnsortedIds) {
  const std::vector<std::int64_t> ids = {3, 1};
  const std::vector<double> v = {0, 0};
  EXPECT_THROW(bin_token_values(ids, v, v, 10, 5, 1, {}), Error);
}

TEST(TruncateUtf8, CountsCodePoints) {
  EXPECT_EQ(truncate_utf8("abc", 3), "abc");
  EXPECT_EQ(truncate_utf8("abcd", 3), "abc…");
  EXPECT_EQ(truncate_utf8("é日本語", 2), "é日…");
}

}  // namespace
}  // namespace embstat
