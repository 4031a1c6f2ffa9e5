#include "embstat/output/table.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>

#include "embstat/base/display_text.hpp"
#include "embstat/base/error.hpp"

namespace embstat {

OutputFormat parse_output_format(std::string_view name) {
  if (name == "text" || name == "table") return OutputFormat::Text;
  if (name == "markdown" || name == "md") return OutputFormat::Markdown;
  if (name == "csv") return OutputFormat::Csv;
  if (name == "json") return OutputFormat::Json;
  throw_usage("unknown --format '" + std::string(name) + "' (use text, markdown, csv or json)");
}

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {
  for (auto& col : columns_) col.header = escape_unprintable(col.header);
}

void Table::add_row(std::vector<std::string> cells) {
  if (cells.size() != columns_.size())
    throw Error(
        ErrorKind::Internal, "",
        "table row has " + std::to_string(cells.size()) + " cells, expected " + std::to_string(columns_.size()));
  for (auto& cell : cells) cell = escape_unprintable(cell);
  rows_.push_back(std::move(cells));
}

namespace {

// Decodes one UTF-8 code point starting at s[i]; returns it and advances i. Invalid bytes
// count as one column each.
char32_t next_code_point(std::string_view s, std::size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
  if (i + static_cast<std::size_t>(len) > s.size()) len = 1;
  char32_t cp = len == 1 ? c : c & (0x7f >> len);
  for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
  i += static_cast<std::size_t>(len);
  return cp;
}

bool is_wide(char32_t cp) {
  return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
         (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
         (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd);
}

bool is_zero_width(char32_t cp) {
  return (cp >= 0x0300 && cp <= 0x036f) || cp == 0x200b || cp == 0x200c || cp == 0x200d || cp == 0xfe0f;
}

std::string csv_quote(const std::string& cell) {
  if (cell.find_first_of(",\"\n\r") == std::string::npos) return cell;
  std::string out = "\"";
  for (char c : cell) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string markdown_escape(const std::string& cell) {
  std::string out;
  for (char c : cell) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::size_t display_width(std::string_view utf8) {
  std::size_t width = 0;
  for (std::size_t i = 0; i < utf8.size();) {
    const char32_t cp = next_code_point(utf8, i);
    width += is_zero_width(cp) ? 0 : is_wide(cp) ? 2 : 1;
  }
  return width;
}

void Table::render_text(std::ostream& out) const {
  std::vector<std::size_t> width(columns_.size());
  for (std::size_t c = 0; c < columns_.size(); ++c) width[c] = display_width(columns_[c].header);
  for (const auto& row : rows_)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], display_width(row[c]));

  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      const std::size_t pad = width[c] - display_width(cells[c]);
      const bool last = c + 1 == cells.size();
      if (c > 0) line += "  ";
      if (columns_[c].align == Align::Right) line.append(pad, ' ');
      line += cells[c];
      if (columns_[c].align == Align::Left && !last) line.append(pad, ' ');
    }
    out << line << '\n';
  };
  std::vector<std::string> headers;
  for (const auto& col : columns_) headers.push_back(col.header);
  emit(headers);
  std::string rule;
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    if (c > 0) rule += "  ";
    for (std::size_t k = 0; k < width[c]; ++k) rule += "─";
  }
  out << rule << '\n';
  for (const auto& row : rows_) emit(row);
}

void Table::render_markdown(std::ostream& out) const {
  out << '|';
  for (const auto& col : columns_) out << ' ' << markdown_escape(col.header) << " |";
  out << "\n|";
  for (const auto& col : columns_) out << (col.align == Align::Right ? "---:|" : "---|");
  out << '\n';
  for (const auto& row : rows_) {
    out << '|';
    for (const auto& cell : row) out << ' ' << markdown_escape(cell) << " |";
    out << '\n';
  }
}

void Table::render_csv(std::ostream& out) const {
  for (std::size_t c = 0; c < columns_.size(); ++c) out << (c ? "," : "") << csv_quote(columns_[c].header);
  out << '\n';
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < row.size(); ++c) out << (c ? "," : "") << csv_quote(row[c]);
    out << '\n';
  }
}

void Table::render(std::ostream& out, OutputFormat format) const {
  switch (format) {
    case OutputFormat::Text:
      render_text(out);
      return;
    case OutputFormat::Markdown:
      render_markdown(out);
      return;
    case OutputFormat::Csv:
      render_csv(out);
      return;
    case OutputFormat::Json:
      break;
  }
  throw Error(ErrorKind::Internal, "", "Table cannot render JSON");
}

Table study_table(const std::vector<StudyRow>& rows) {
  Table t({{"Model", Align::Left},
           {"Min"},
           {"Max"},
           {"Mean"},
           {"Median"},
           {"Non-negative pairs"},
           {"Negative pairs"},
           {"Percentage of positive entries"}});
  for (const StudyRow& r : rows)
    t.add_row({r.model, fixed(r.min, 2), fixed(r.max, 2), fixed(r.mean, 2), fixed(r.median, 2), r.non_negative,
               r.negative, fixed(r.fraction_non_negative, 4)});
  return t;
}

std::string fixed(double value, int decimals) {
  return fmt::format("{:.{}f}", value, decimals);
}
std::string general(double value, int significant) {
  return fmt::format("{:.{}g}", value, significant);
}

}  // namespace embstat
