#include "cli/pairs_signs.hpp"
#include "embstat/output/json_text.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/version.hpp"

namespace embstat::cli {

nlohmann::ordered_json model_rows_json(const PairsModelRows& r) {
  return {{"model", r.model},
          {"rows", r.rows},
          {"dim", r.dim},
          {"rows_used", r.rows_used},
          {"excluded_rows",
           {{"padding", r.padding_rows},
            {"zero", r.zero_rows},
            {"merged", r.merged_rows},
            {"non_finite", r.non_finite_rows}}}};
}

void print_pairs_signs(const std::vector<PairsSigns>& rows, OutputFormat format, std::ostream& out) {
  switch (format) {
    case OutputFormat::Text: {
      Table t({{"Model", Align::Left},
               {"Rows"},
               {"Pairs"},
               {"Cos ≥ 0"},
               {"Cos < 0"},
               {"Fraction ≥ 0"},
               {"|cos| < 1e-6"},
               {"Mean"},
               {"Rechecked"}});
      for (const auto& r : rows) {
        const SignPairsResult& s = r.result;
        t.add_row({r.model, std::to_string(r.rows_used), std::to_string(s.pairs), std::to_string(s.non_negative),
                   std::to_string(s.negative), fixed(s.fraction_non_negative, 6), std::to_string(s.uncertain),
                   fixed(s.mean, 4), std::to_string(s.rechecked)});
      }
      t.render_text(out);
      out << "Every pair i < j of rows used: exact signs of the cosines (int16 pass with a proven error bound; the "
             "pairs within it of 0 rechecked). Mean from (|sum u|^2 - sum |u|^2) / (n (n - 1)).\n";
      return;
    }
    case OutputFormat::Markdown: {
      Table t({{"Model", Align::Left},
               {"Mean"},
               {"Non-negative pairs"},
               {"Negative pairs"},
               {"Percentage of positive entries"}});
      for (const auto& r : rows)
        t.add_row({r.model, fixed(r.result.mean, 2), std::to_string(r.result.non_negative),
                   std::to_string(r.result.negative), fixed(r.result.fraction_non_negative, 4)});
      t.render_markdown(out);
      return;
    }
    case OutputFormat::Csv: {
      Table t({{"model"},
               {"rows"},
               {"rows_used"},
               {"dim"},
               {"pairs"},
               {"non_negative"},
               {"negative"},
               {"fraction_non_negative"},
               {"uncertain"},
               {"mean"},
               {"rechecked"},
               {"double_checked"},
               {"exact_fallback"}});
      for (const auto& r : rows) {
        const SignPairsResult& s = r.result;
        t.add_row({r.model, std::to_string(r.rows), std::to_string(r.rows_used), std::to_string(r.dim),
                   std::to_string(s.pairs), std::to_string(s.non_negative), std::to_string(s.negative),
                   fmt::format("{}", s.fraction_non_negative), std::to_string(s.uncertain), fmt::format("{}", s.mean),
                   std::to_string(s.rechecked), std::to_string(s.double_checked), std::to_string(s.exact_fallback)});
      }
      t.render_csv(out);
      return;
    }
    case OutputFormat::Json: {
      nlohmann::ordered_json models = nlohmann::ordered_json::array();
      for (const auto& r : rows) {
        const SignPairsResult& s = r.result;
        nlohmann::ordered_json m = model_rows_json(r);
        m.update(nlohmann::ordered_json{{"pairs", s.pairs},
                                        {"non_negative", s.non_negative},
                                        {"negative", s.negative},
                                        {"fraction_non_negative", s.fraction_non_negative},
                                        {"uncertain", s.uncertain},
                                        {"mean", s.mean},
                                        {"engine", "int16"},
                                        {"rechecked", s.rechecked},
                                        {"double_checked", s.double_checked},
                                        {"exact_fallback", s.exact_fallback}});
        models.push_back(std::move(m));
      }
      nlohmann::ordered_json doc = {{"models", models}};
      stamp_json(doc, "pairs");
      out << json_text(doc, 2) << '\n';
      return;
    }
  }
}

}  // namespace embstat::cli
