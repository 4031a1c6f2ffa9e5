// The files the HTML report inlines, compiled into the binary by cmake/report_assets.cmake.
//
// The page (embstat/output/report/page.{html,css,js}) is always there. The charting library
// (vega, vega-lite, vega-embed: minified UMD bundles) comes from node_modules/ at build time and
// is empty when the build did not find it (`npm ci` not run); html_report.hpp then refuses with
// a message saying how to install it. All views point into static storage: valid forever.
#pragma once

#include <span>
#include <string_view>

namespace embstat {

struct ReportLibraryFile {
  std::string_view package;  // "vega", "vega-lite", "vega-embed"
  std::string_view version;  // from its package.json
  std::string_view license;  // SPDX id from its package.json
  std::string_view script;   // the minified bundle, as shipped
};

struct ReportAssets {
  std::string_view page_html;  // template with <!--EMBSTAT:...--> markers
  std::string_view page_css;
  std::string_view page_js;
  std::span<const ReportLibraryFile> library;  // in load order; empty if not built in
  std::string_view source_dir;                 // the source tree it was built from (where `npm ci` runs)
};

const ReportAssets& report_assets();

}  // namespace embstat
