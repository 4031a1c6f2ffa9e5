// Figures of an HTML report as image files, by headless Chromium (`embstat report --png DIR`).
//
// Vega renders PNG only in a browser (its Node route needs the `canvas` package, whose install
// downloads binaries from outside npm), so embstat runs the Chromium it finds — $EMBSTAT_CHROMIUM,
// else chromium, chromium-browser, google-chrome, google-chrome-stable on PATH — on the report
// with #export in the URL. The page then renders every chart as PNG (2x) and SVG into a <pre>
// block; `--dump-dom` prints the page after its scripts ran, and embstat writes the files.
#pragma once

#include <string>
#include <vector>

namespace embstat::cli {

// Path of the Chromium executable to use, or "" when none is found.
std::string find_chromium();

// Writes <dir>/<chart>.png and <dir>/<chart>.svg for every chart of the report at `html_path`
// (created by write_html_report) and returns the paths written. Throws Error(Unsupported) when no
// Chromium is found (saying how to install one), Error(Io) when it fails or times out.
std::vector<std::string> export_report_images(const std::string& html_path, const std::string& dir);

}  // namespace embstat::cli
