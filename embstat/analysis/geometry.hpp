// Geometry — why token embeddings agree: the standard explanations of anisotropy, measured.
//
// analyze_geometry() takes a RowSet (unit rows + norms; raw row i is norms[i] * unit[i]) and
// reports, each with the number that shows how much of the positivity it accounts for:
//   1. common direction: mean vector mu of the raw rows and mean of the unit rows, |mu| / mean
//      norm, cos(x_i, mu) distribution, exact mean pairwise cosine (|sum u_i|^2 - sum |u_i|^2) /
//      (n(n-1));
//   2. centring test: fraction of pairs with cos >= 0 before and after x -> x - mu, sampled
//      with draw_targets(seed) exactly like `sample` (and over all pairs with options.exact);
//   3. principal components of the covariance (exact: d x d, ssyrk per row chunk, accumulated
//      in double, LAPACK in double; or, on large shapes, randomized: SpectrumMethod):
//      explained-variance ratios, all-but-the-top (Mu & Viswanath 2018) in both projection
//      variants, I(W) (Mu & Viswanath 2018) in log space, IsoScore (Rudman et al. 2022);
//   4. rogue dimensions (Timkey & van Schijndel 2021): per coordinate k, C_k = ((sum_i u_ik)^2 -
//      sum_i u_ik^2) / (n(n-1)); sum_k C_k = mean cosine exactly;
//   5. token classes (token_classes.hpp): count, mean norm, mean cosine to all other rows
//      (exact, O(n d)), fraction of pairs negative (sampled pairs, or exact with options.exact);
//   6. odd rows: zero rows, bit-identical duplicate groups, lowest norms and centroid
//      distances (the under-trained-token indicators of Land & Bartolo 2024).
// Formulas and JSON keys: doc/geometry.md.
//
// Cost: O(n d) passes, plus either the exact covariance and I(W), O(n d^2) BLAS-3 (one ssyrk
// pass and one sgemm pass over the rows) and two d x d eigen-decompositions O(d^3), or the
// randomized spectrum, O(n d w) per pass (SpectrumMethod). Memory: the
// RowSet (n x d f32, or none when it is streamed from a bf16 tensor), plus a few d x d double matrices (exact spectrum)
// or a few d x 300 ones (randomized), plus small per-thread chunks (the sampled centred / all-but-the-top fractions
// come by algebra from the as-stored fraction's cosines and the spectrum's stored products, n x (T + D) floats; with
// options.exact each version is built whole for all_pairs, one n x d working matrix). Not thread-safe per call (uses
// OpenBLAS's global thread count); results do not depend on the thread count.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "embstat/analysis/row_set.hpp"
#include "embstat/analysis/token_classes.hpp"
#include "embstat/base/progress.hpp"
#include "embstat/base/stopwatch.hpp"
#include "embstat/matrix/matrix.hpp"
#include "embstat/vocab/vocabulary.hpp"

namespace embstat {

// Sampled per-class negative fractions (without options.exact): up to kGeometryClassRows rows of
// each class against one common set of kGeometryClassPartners random rows of the whole set. One
// sgemm of (classes x 256) x 4,096 dot products: under a second at d = 5,376.
inline constexpr std::int64_t kGeometryClassRows = 256;
inline constexpr std::int64_t kGeometryClassPartners = 4096;

// Below this relative gap between eigenvalues D and D + 1 a note says that the removed components
// are barely determined (rotations among near-equal eigenvalues move the raw-projection fraction:
// 0.96-0.99 for one matrix whose eigenvalues near D = 54 differ by 0.9 %, doc/geometry.md).
inline constexpr double kRemovalGapNote = 0.01;

// How the covariance spectrum (section 3) is computed.
//   Exact: the d x d covariance (one ssyrk pass, n d^2) and LAPACK; I(W) needs this.
//   Randomized: randomized_spectrum (spectrum.hpp, block Krylov), O(n d w) per pass, w = max(K, D) + 16;
//     Ritz values and vectors, |C|_F by Hutch++ (IsoScore with its standard error); no I(W).
//   Auto: Exact while exact_spectrum_work() <= kExactSpectrumMaxWork or with `exact`, else
//     Randomized: the exact path as long as it takes a few seconds.
enum class SpectrumMethod { Auto, Exact, Randomized };

// The exact path's cost in units of one ssyrk multiply-add: the covariance (n d^2), I(W)'s sgemm
// pass (2 n d^2 more, about as fast per FLOP), and the eigen-decompositions, ~25 d^3 of them
// (dsytrd's memory-bound half; measured on this project's 2-core machine: 0.20 s at d = 1,024,
// 27.7 s at d = 5,376 with I(W), against 1.16 s for the ssyrk of 151,936 x 1,024).
inline double exact_spectrum_work(std::int64_t n, std::int64_t d, bool isotropy_iw) {
  const double nd2 = static_cast<double>(n) * static_cast<double>(d) * static_cast<double>(d);
  return nd2 * (isotropy_iw ? 3.0 : 1.0) +
         25.0 * static_cast<double>(d) * static_cast<double>(d) * static_cast<double>(d);
}
// About 4.5 s on that machine: 151,936 x 1,024 (Qwen3-0.6B) with I(W) is 5.0e11 (measured 4.8 s
// for all of `geometry`); 151,936 x 2,560 is 3.4e12, and 4,096 hidden states of 4,096 dims
// 1.9e12 (the d^3 eigen-decompositions alone), so those take the randomized spectrum.
inline constexpr double kExactSpectrumMaxWork = 6e11;

struct GeometryOptions {
  int components = 10;                // K: explained-variance ratios reported
  int remove = -1;                    // D for all-but-the-top; -1 = max(1, round(d / 100)) (Mu & Viswanath)
  std::int64_t samples = 50;          // targets for the sampled fractions (as `sample`)
  std::uint64_t seed = 0;             // draw_targets seed (as `sample`); also seeds the class pair sample
  std::vector<std::int64_t> targets;  // explicit target ids instead of drawing (as `sample --targets`)
  bool exact = false;                 // also count every pair (all_pairs) for each fraction and class
  int rogue = 10;                     // rogue dimensions listed
  int outliers = 10;                  // rows listed per odd-row kind (lowest norm, lowest centroid distance, ...)
  double outlier_percentile = 1.0;    // percent: rows below this percentile of norm / distance are counted
  int duplicate_groups = 10;          // largest duplicate groups listed
  int class_examples = 5;             // decoded examples listed per class
  bool isotropy_iw = true;            // compute I(W) when the spectrum is exact (an extra n x d x d sgemm pass)
  SpectrumMethod spectrum = SpectrumMethod::Auto;
  int spectrum_passes = 4;           // passes over the rows of the randomized spectrum
  std::int64_t chunk_rows = 0;       // rows per task of the sampled fractions; 0 = ~4 MB of rows (tests force small)
  std::int64_t blas_chunk_rows = 0;  // rows per chunk of the exact covariance and I(W); 0 = ~32 MB (tests force small)
  ProgressFn progress;
};

// The power of two that `geometry` multiplies the rows by before its f32 products (covariance,
// spectrum, I(W), the versions' dot products), so that rows of any norm within float range
// neither overflow nor underflow: 1 when the largest norm is in [2^-32, 2^32], else 2^-e for
// 2^e <= largest norm < 2^(e+1). Scale-free results do not depend on it; the others (norms,
// distances, eigenvalues, variances) are reported in the rows' own units.
double analysis_scale(const std::vector<double>& norms);

// Order statistics of a list of per-row values (exact: sorted copies; quartiles by linear
// interpolation between order statistics, numpy's default).
struct Distribution {
  std::int64_t count = 0;
  double min = 0, p25 = 0, median = 0, p75 = 0, max = 0, mean = 0;
  double fraction_positive = 0;  // value > 0
};
Distribution describe(std::vector<double> values);

// Fraction of pairs with cos >= 0 in one version of the rows (original, centred, ...).
struct PairFraction {
  std::int64_t rows = 0;        // rows with a cosine (zero rows of the transformed set dropped)
  double mean_cosine = 0;       // exact mean pairwise cosine (identity, O(n d))
  std::int64_t targets = 0;     // targets actually used (those present in this set)
  double sampled = 0;           // mean over targets of each target's fraction (like `sample`)
  double sampled_std = 0;       // standard deviation across targets
  std::optional<double> exact;  // over all pairs (options.exact)
  std::optional<std::uint64_t> exact_pairs;
};

struct RogueDimension {
  std::int64_t dim = 0;
  double contribution = 0;  // C_k
  double share = 0;         // C_k / mean cosine
};

struct ClassStats {
  TokenClass cls = TokenClass::Other;
  std::int64_t count = 0;     // rows of this class in the set
  std::int64_t excluded = 0;  // rows of this class left out of the set (padding, zero rows)
  double mean_norm = 0;
  double mean_cosine = 0;           // mean over its rows of the mean cosine to all other rows
  double mean_cos_to_mean = 0;      // mean cos(x_i, mu)
  double fraction_negative = 0;     // of the pairs (i in class, j any other row): cos < 0
  double fraction_negative_se = 0;  // standard error (0 when exact)
  bool fraction_negative_exact = false;
  std::int64_t sampled_rows = 0, sampled_partners = 0;  // when sampled
  std::vector<std::int64_t> examples;                   // first few model row ids
};

struct DuplicateGroup {
  std::vector<std::int64_t> ids;  // model row ids, ascending; every row bit-identical
};

struct Duplicates {
  std::int64_t groups = 0;       // distinct vectors that occur more than once
  std::int64_t rows = 0;         // rows in those groups
  std::int64_t redundant = 0;    // rows - groups: what --dedup would merge
  double pair_fraction = 0;      // fraction of all pairs that are two copies of one vector
  bool by_source_bytes = false;  // compared the encoded rows (else the f32 unit rows + norms)
  std::vector<DuplicateGroup> largest;
};

struct OddRow {
  std::int64_t id = 0;
  double norm = 0;
  double centroid_distance = 0;    // |x_i - mu|
  double norm_percentile = 0;      // percent of rows with a smaller norm
  double distance_percentile = 0;  // percent of rows closer to the centroid
  std::string reason;              // "low_norm", "low_centroid_distance", "high_norm"
};

// How section 3 was computed, and how sure the randomized numbers are.
struct SpectrumInfo {
  std::string method;           // "exact" or "randomized"
  std::string kernel = "f32";   // products: "f32" (BLAS on the decoded rows) or "bf16" (the stored bf16 rows)
  int passes = 0;               // randomized: passes over the rows
  std::int64_t block = 0;       // randomized: vectors per pass w
  std::int64_t basis = 0;       // randomized: Krylov basis size (passes x w, at most d)
  std::int64_t probes = 0;      // randomized: Hutch++ probes
  double max_residual = 0;      // randomized: max |C v - theta v| / theta_1 over the pairs used
  double frobenius_norm = 0;    // |C|_F (exact, or the Hutch++ estimate)
  double frobenius_rel_se = 0;  // randomized: standard error of |C|_F^2, relative
  double isoscore_se = 0;       // randomized: IsoScore's standard error from that of |C|_F^2
  std::string isotropy_iw;      // "computed", "off" (--no-iw), "skipped" (randomized spectrum)
};

struct GeometryReport {
  // Rows.
  std::int64_t rows = 0, dim = 0, total_rows = 0;
  std::vector<std::int64_t> zero_rows;
  std::vector<std::int64_t> non_finite_rows;  // rows holding NaN or Inf
  std::int64_t padding_rows = 0, merged_rows = 0;

  // 1. Common direction.
  double mean_norm = 0;             // mean |x_i|
  double mean_vector_norm = 0;      // |mu|, mu = mean of the raw rows
  double mean_norm_ratio = 0;       // |mu| / mean |x_i|
  double unit_mean_norm = 0;        // |mean of the unit rows|
  double offset_share = 0;          // |mu|^2 / mean |x_i|^2: share of the rows' squared norm in the offset
  double mean_cosine = 0;           // exact mean pairwise cosine
  Distribution cos_to_mean;         // cos(x_i, mu)
  Distribution cos_to_unit_mean;    // cos(x_i, mean unit row)
  Distribution norms;               // |x_i|
  Distribution centroid_distances;  // |x_i - mu|

  // 2. Centring test (targets shared by all versions).
  std::vector<std::int64_t> targets;
  std::uint64_t seed = 0;
  PairFraction original, centered;

  // 3. Principal components (of the covariance, population normalisation 1/n).
  double total_variance = 0;               // trace = sum of eigenvalues
  std::vector<double> eigenvalues;         // top K, descending
  std::vector<double> explained_variance;  // top K ratios
  int removed = 0;                         // D
  double removed_variance = 0;             // share of variance in the top D components
  std::optional<double> removal_gap;       // (lambda_D - lambda_{D+1}) / lambda_D, when both are known
  PairFraction all_but_top;                // centred, projection of the centred vector
  PairFraction all_but_top_raw;            // centred, projection of the raw vector (paper's text)
  std::optional<double> isotropy_iw;       // I(W) = min Z / max Z
  std::optional<double> log_isotropy_iw;   // its natural log (finite even when I underflows)
  double isoscore = 0;
  SpectrumInfo spectrum;

  // 4. Rogue dimensions.
  std::vector<RogueDimension> rogue_dimensions;
  double rogue_share = 0;  // share of the mean cosine carried by those listed

  // 5. Token classes (empty without a vocabulary).
  std::vector<ClassStats> classes;

  // 6. Odd rows.
  Duplicates duplicates;
  std::vector<OddRow> outliers;
  double outlier_percentile = 0;
  std::int64_t low_norm_rows = 0;      // rows below the outlier percentile of norm
  std::int64_t low_distance_rows = 0;  // ... of centroid distance
  double norm_threshold = 0, distance_threshold = 0;

  std::vector<std::string> notes;  // things the reader should know (skipped targets, ...)
  struct StageTime : Lap {         // wall_s, cpu_s (CPU seconds of the process, all threads)
    std::string stage;
  };
  std::vector<StageTime> timings;  // per stage, in order (not in the JSON: not reproducible)
};

// Everything above for one matrix. `vocab` names the rows (may be empty); `source`, when it has
// rows, is the encoded matrix the RowSet came from (Model::matrix), used to find bit-identical
// rows by their stored bytes and, when bf16, by the bf16 kernels; a streamed set's own source
// takes its place. Throws Error(Usage) for fewer than 2 rows or bad options.
GeometryReport analyze_geometry(const RowSet& rows, const Vocabulary& vocab, const GeometryOptions& options,
                                const MatrixView& source = {});

// IsoScore (Rudman et al. 2022) of covariance eigenvalues (any order, >= 0):
//   lambda^ = sqrt(d) lambda / |lambda|,  delta = |lambda^ - 1| / sqrt(2 (d - sqrt(d))),
//   iota = ((d - delta^2 (d - sqrt(d)))^2 - d) / (d (d - 1)).
// 1 for an isotropic spectrum, 0 for rank one. d >= 2.
double isoscore(const std::vector<double>& eigenvalues);

// Per-token cosine between two versions of the same rows (input and output embeddings): for
// every id kept in both sets, cos(a_id, b_id). Throws Error(Usage) when the dims differ.
struct PairedCosines {
  Distribution cosines;
  std::vector<std::int64_t> lowest;    // ids with the lowest cosines (up to `list`), ascending cosine
  std::vector<double> lowest_cosines;  // their cosines
};
PairedCosines paired_row_cosines(const RowSet& a, const RowSet& b, int list = 10);

// JSON object for one model, keys in a fixed, documented order (doc/geometry.md). Texts of
// listed rows come from `vocab` ("text": valid UTF-8, "display": escaped on one line).
nlohmann::ordered_json geometry_json(const GeometryReport& report, const Vocabulary& vocab);
nlohmann::ordered_json distribution_json(const Distribution& d);

}  // namespace embstat
