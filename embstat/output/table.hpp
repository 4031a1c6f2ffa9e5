// Table — rows of cells rendered for a terminal (aligned), Markdown, or CSV.
//
// Verbs build one Table and hand it to render(); JSON is built separately by each verb with
// nlohmann::json, since its structure is richer than a grid.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace embstat {

enum class OutputFormat { Text, Markdown, Csv, Json };

// "text" | "table", "markdown" | "md", "csv", "json"; throws Error(Usage) otherwise.
OutputFormat parse_output_format(std::string_view name);

enum class Align { Left, Right };

class Table {
 public:
  struct Column {
    std::string header;
    Align align = Align::Right;
  };

  // Headers and cells are stored with every unprintable byte escaped (escape_unprintable), so no
  // rendering lets a file's bytes reach the terminal raw or break a row across lines.
  explicit Table(std::vector<Column> columns);
  void add_row(std::vector<std::string> cells);
  std::size_t n_rows() const { return rows_.size(); }

  void render_text(std::ostream& out) const;                  // aligned columns, a rule under the header
  void render_markdown(std::ostream& out) const;              // | a | b | with a |---| line; pipes escaped
  void render_csv(std::ostream& out) const;                   // RFC 4180 quoting
  void render(std::ostream& out, OutputFormat format) const;  // Json -> Error(Internal)

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// Display width of UTF-8 text in terminal columns (wide CJK counted as 2).
std::size_t display_width(std::string_view utf8);

// The original study's table, its columns and rounding: Model | Min | Max | Mean | Median |
// Non-negative pairs | Negative pairs | Percentage of positive entries (2 decimals; the fraction
// 4). Counts come as text: `sample` averages them over targets, `pairs` counts them exactly.
struct StudyRow {
  std::string model;
  double min = 0, max = 0, mean = 0, median = 0;
  std::string non_negative, negative;
  double fraction_non_negative = 0;
};
Table study_table(const std::vector<StudyRow>& rows);

// Number formatting shared by all outputs: fixed decimals ("0.12"), and a compact general form.
std::string fixed(double value, int decimals);
std::string general(double value, int significant = 6);

}  // namespace embstat
