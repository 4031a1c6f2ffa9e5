// JSON form of a GeometryReport. Keys are documented in doc/geometry.md; keep them stable.
#include <nlohmann/json.hpp>

#include <cmath>

#include "embstat/analysis/geometry.hpp"

namespace embstat {

namespace {

using json = nlohmann::ordered_json;

// JSON has no NaN or infinity: such values become null.
json number(double v) {
  return std::isfinite(v) ? json(v) : json(nullptr);
}

json row_json(const Vocabulary& vocab, std::int64_t id) {
  return json{{"id", id}, {"text", vocab.utf8(id)}, {"display", vocab.display(id)}};
}

json fraction_json(const PairFraction& f) {
  json j{{"rows", f.rows},
         {"mean_cosine", number(f.mean_cosine)},
         {"targets", f.targets},
         {"sampled", number(f.sampled)},
         {"sampled_std", number(f.sampled_std)},
         {"exact", f.exact ? number(*f.exact) : json(nullptr)},
         {"exact_pairs", f.exact_pairs ? json(*f.exact_pairs) : json(nullptr)}};
  return j;
}

// The headline fraction: exact when counted, else the sampled estimate.
json headline(const PairFraction& f) {
  return number(f.exact ? *f.exact : f.sampled);
}

}  // namespace

nlohmann::ordered_json distribution_json(const Distribution& d) {
  return json{{"count", d.count},       {"min", number(d.min)},
              {"p25", number(d.p25)},   {"median", number(d.median)},
              {"p75", number(d.p75)},   {"max", number(d.max)},
              {"mean", number(d.mean)}, {"fraction_positive", number(d.fraction_positive)}};
}

nlohmann::ordered_json geometry_json(const GeometryReport& r, const Vocabulary& vocab) {
  json j;
  j["rows"] = r.rows;
  j["dim"] = r.dim;
  j["total_rows"] = r.total_rows;
  j["padding_rows"] = r.padding_rows;
  j["merged_rows"] = r.merged_rows;

  // 1. Common direction.
  j["mean_norm"] = number(r.mean_norm);
  j["mean_vector_norm"] = number(r.mean_vector_norm);
  j["mean_norm_ratio"] = number(r.mean_norm_ratio);
  j["unit_mean_norm"] = number(r.unit_mean_norm);
  j["offset_share"] = number(r.offset_share);
  j["mean_cosine"] = number(r.mean_cosine);
  j["cos_to_mean"] = distribution_json(r.cos_to_mean);
  j["cos_to_unit_mean"] = distribution_json(r.cos_to_unit_mean);
  j["norms"] = distribution_json(r.norms);
  j["centroid_distances"] = distribution_json(r.centroid_distances);

  // 2. Centring test and all-but-the-top: headline fractions, then the details.
  const bool exact = r.original.exact.has_value();
  j["fraction_method"] = exact ? "exact" : "sampled";
  j["seed"] = r.seed;
  j["targets"] = r.targets;
  j["fraction_non_negative"] = headline(r.original);
  j["fraction_non_negative_centered"] = headline(r.centered);
  j["fraction_non_negative_all_but_top"] = headline(r.all_but_top);
  j["fraction_non_negative_all_but_top_raw"] = headline(r.all_but_top_raw);
  j["mean_cosine_centered"] = number(r.centered.mean_cosine);
  j["mean_cosine_all_but_top"] = number(r.all_but_top.mean_cosine);
  j["mean_cosine_all_but_top_raw"] = number(r.all_but_top_raw.mean_cosine);
  j["pairs"] = json{{"original", fraction_json(r.original)},
                    {"centered", fraction_json(r.centered)},
                    {"all_but_top", fraction_json(r.all_but_top)},
                    {"all_but_top_raw", fraction_json(r.all_but_top_raw)}};

  // 3. Principal components.
  j["total_variance"] = number(r.total_variance);
  j["eigenvalues"] = json::array();
  for (const double v : r.eigenvalues) j["eigenvalues"].push_back(number(v));
  j["explained_variance"] = json::array();
  for (const double v : r.explained_variance) j["explained_variance"].push_back(number(v));
  j["removed_components"] = r.removed;
  j["removed_variance"] = number(r.removed_variance);
  j["removal_gap"] = r.removal_gap ? number(*r.removal_gap) : json(nullptr);
  j["isotropy_iw"] = r.isotropy_iw ? number(*r.isotropy_iw) : json(nullptr);
  j["log_isotropy_iw"] = r.log_isotropy_iw ? number(*r.log_isotropy_iw) : json(nullptr);
  j["isoscore"] = number(r.isoscore);
  {
    const SpectrumInfo& sp = r.spectrum;
    json o{{"method", sp.method}, {"frobenius_norm", number(sp.frobenius_norm)}, {"isotropy_iw", sp.isotropy_iw}};
    if (sp.method == "randomized") {
      o["passes"] = sp.passes;
      o["block"] = sp.block;
      o["basis"] = sp.basis;
      o["probes"] = sp.probes;
      o["max_residual"] = number(sp.max_residual);
      o["frobenius_rel_se"] = number(sp.frobenius_rel_se);
      o["isoscore_se"] = number(sp.isoscore_se);
      o["kernel"] = sp.kernel;
    }
    j["spectrum"] = std::move(o);
  }

  // 4. Rogue dimensions.
  j["rogue_dimensions"] = json::array();
  for (const auto& d : r.rogue_dimensions)
    j["rogue_dimensions"].push_back(
        json{{"dim", d.dim}, {"share", number(d.share)}, {"contribution", number(d.contribution)}});
  j["rogue_share"] = number(r.rogue_share);

  // 5. Token classes.
  j["classes"] = json::array();
  for (const auto& c : r.classes) {
    json examples = json::array();
    for (const auto id : c.examples) examples.push_back(row_json(vocab, id));
    j["classes"].push_back(json{{"class", token_class_name(c.cls)},
                                {"description", token_class_description(c.cls)},
                                {"count", c.count},
                                {"excluded", c.excluded},
                                {"mean_norm", c.count ? number(c.mean_norm) : json(nullptr)},
                                {"mean_cosine", c.count ? number(c.mean_cosine) : json(nullptr)},
                                {"mean_cos_to_mean", c.count ? number(c.mean_cos_to_mean) : json(nullptr)},
                                {"fraction_negative", c.count ? number(c.fraction_negative) : json(nullptr)},
                                {"fraction_negative_se", c.count ? number(c.fraction_negative_se) : json(nullptr)},
                                {"fraction_negative_method", c.fraction_negative_exact ? "exact" : "sampled"},
                                {"sampled_rows", c.sampled_rows},
                                {"sampled_partners", c.sampled_partners},
                                {"examples", examples}});
  }

  // 6. Odd rows.
  auto listed = [&](const std::vector<std::int64_t>& ids) {
    json rows = json::array();
    for (std::size_t i = 0; i < ids.size() && i < 100; ++i) rows.push_back(row_json(vocab, ids[i]));
    return json{{"count", ids.size()}, {"rows", rows}};
  };
  j["zero_rows"] = listed(r.zero_rows);
  j["non_finite_rows"] = listed(r.non_finite_rows);
  json groups = json::array();
  for (const auto& g : r.duplicates.largest) {
    json members = json::array();
    for (std::size_t i = 0; i < g.ids.size() && i < 20; ++i) members.push_back(row_json(vocab, g.ids[i]));
    groups.push_back(json{{"size", g.ids.size()}, {"rows", members}});
  }
  j["duplicates"] = json{{"groups", r.duplicates.groups},
                         {"rows", r.duplicates.rows},
                         {"redundant", r.duplicates.redundant},
                         {"pair_fraction", number(r.duplicates.pair_fraction)},
                         {"compared", r.duplicates.by_source_bytes ? "stored bytes" : "f32 rows"},
                         {"largest", groups}};
  j["outliers"] = json::array();
  for (const auto& o : r.outliers) {
    json e = row_json(vocab, o.id);
    e["norm"] = number(o.norm);
    e["centroid_distance"] = number(o.centroid_distance);
    e["norm_percentile"] = number(o.norm_percentile);
    e["distance_percentile"] = number(o.distance_percentile);
    e["reason"] = o.reason;
    j["outliers"].push_back(std::move(e));
  }
  j["outlier_percentile"] = number(r.outlier_percentile);
  j["low_norm_rows"] = r.low_norm_rows;
  j["low_distance_rows"] = r.low_distance_rows;
  j["norm_threshold"] = number(r.norm_threshold);
  j["distance_threshold"] = number(r.distance_threshold);
  j["notes"] = r.notes;
  return j;
}

}  // namespace embstat
