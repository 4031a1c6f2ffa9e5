// sign_pairs (the int16 sign pass) against a double-precision brute force on random and adversarial
// matrices: exact counts and per-row tallies, identical results for every kernel, thread count and
// block size (the number of rechecked pairs included), and the pieces on their own: scales, the
// int32 dot kernels, exact_dot_sign.
#include "embstat/analysis/sign_pairs.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <set>
#include <utility>

#include "embstat/analysis/all_pairs.hpp"
#include "embstat/analysis/sampled.hpp"
#include "embstat/base/error.hpp"

namespace embstat {
namespace {

using PairSet = std::set<std::pair<std::int64_t, std::int64_t>>;

// A RowSet of rows taken as they are (already unit, or nearly): ids 0..n-1, nothing excluded.
RowSet as_row_set(Matrix unit) {
  RowSet rs;
  rs.n_total = unit.n_rows();
  rs.ids.resize(static_cast<std::size_t>(unit.n_rows()));
  std::iota(rs.ids.begin(), rs.ids.end(), 0);
  rs.norms.assign(rs.ids.size(), 1.0f);
  rs.unit = std::move(unit);
  return rs;
}

// N(0,1) rows plus `bias` times a shared direction (bias ~0.35: ~90 % of cosines positive, like
// trained embeddings), normalised by make_row_set.
RowSet random_rows(std::int64_t n, std::int64_t d, std::uint64_t seed, float bias) {
  Matrix m = random_normal_matrix(n, d, seed);
  const Matrix common = random_normal_matrix(1, d, seed + 1000);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < d; ++k) m.row(i)[k] += bias * common.row(0)[k];
  return make_row_set(std::move(m), RowFilter{});
}

void normalise(float* x, std::int64_t d) {
  double s = 0;
  for (std::int64_t k = 0; k < d; ++k) s += static_cast<double>(x[k]) * x[k];
  const double inv = 1.0 / std::sqrt(s);
  for (std::int64_t k = 0; k < d; ++k) x[k] = static_cast<float>(x[k] * inv);
}

// The brute force: every pair's dot in double, in index order. Its sign is trusted where |dot|
// exceeds the summation's rounding bound; the only other pairs allowed are those in `zero`
// (constructed to be exactly 0: every product 0, or products that cancel exactly pairwise).
struct Brute {
  std::uint64_t negative = 0, uncertain = 0;
  std::vector<std::int64_t> row_negative;
  std::vector<double> row_mean;
};

Brute brute_force(const RowSet& rows, const PairSet& zero = {}) {
  const std::int64_t n = rows.size(), d = rows.dim();
  Brute b;
  b.row_negative.assign(static_cast<std::size_t>(n), 0);
  std::vector<double> sum(static_cast<std::size_t>(n), 0.0);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = i + 1; j < n; ++j) {
      double dot = 0, abs_sum = 0;
      for (std::int64_t k = 0; k < d; ++k) {
        const double p = static_cast<double>(rows.unit.row(i)[k]) * rows.unit.row(j)[k];
        dot += p;
        abs_sum += std::fabs(p);
      }
      if (zero.count({i, j})) {
        EXPECT_EQ(dot, 0.0) << "planted orthogonal pair " << i << ", " << j;
      } else {
        EXPECT_GT(std::fabs(dot), static_cast<double>(d + 2) * 0x1p-52 * abs_sum)
            << "the reference cannot settle pair " << i << ", " << j;
      }
      if (dot < 0) {
        ++b.negative;
        ++b.row_negative[static_cast<std::size_t>(i)];
        ++b.row_negative[static_cast<std::size_t>(j)];
      }
      b.uncertain += std::fabs(dot) < 1e-6;
      sum[static_cast<std::size_t>(i)] += dot;
      sum[static_cast<std::size_t>(j)] += dot;
    }
  for (std::int64_t i = 0; i < n; ++i)
    b.row_mean.push_back(sum[static_cast<std::size_t>(i)] / static_cast<double>(n - 1));
  return b;
}

void expect_matches(const SignPairsResult& r, const Brute& b, std::int64_t n) {
  EXPECT_EQ(r.pairs, static_cast<std::uint64_t>(n) * static_cast<std::uint64_t>(n - 1) / 2);
  EXPECT_EQ(r.negative, b.negative);
  EXPECT_EQ(r.non_negative, r.pairs - b.negative);
  EXPECT_EQ(r.uncertain, b.uncertain);
  ASSERT_EQ(r.row_negative, b.row_negative);
  ASSERT_EQ(r.row_mean.size(), b.row_mean.size());
  for (std::size_t i = 0; i < b.row_mean.size(); ++i) EXPECT_NEAR(r.row_mean[i], b.row_mean[i], 1e-12) << "row " << i;
}

void expect_identical(const SignPairsResult& a, const SignPairsResult& b) {
  EXPECT_EQ(a.pairs, b.pairs);
  EXPECT_EQ(a.negative, b.negative);
  EXPECT_EQ(a.uncertain, b.uncertain);
  EXPECT_EQ(a.rechecked, b.rechecked);
  EXPECT_EQ(a.double_checked, b.double_checked);
  EXPECT_EQ(a.exact_fallback, b.exact_fallback);
  EXPECT_EQ(a.row_negative, b.row_negative);
  EXPECT_EQ(a.row_mean, b.row_mean);  // bit for bit
  EXPECT_EQ(a.mean, b.mean);
}

SignPairsResult run(const RowSet& rows, PairKernel kernel, int threads, std::int64_t block) {
  SignPairsOptions o;
  o.per_row = true;
  o.kernel = kernel;
  o.n_threads = threads;
  o.block_rows = block;
  return sign_pairs(rows, o);
}

// Every kernel, 1 and 2 threads, several block sizes: identical results, equal to the brute force.
void check_everywhere(const RowSet& rows, const Brute& ref, std::initializer_list<std::int64_t> blocks) {
  const SignPairsResult base = run(rows, PairKernel::Scalar, 1, 0);
  expect_matches(base, ref, rows.size());
  for (PairKernel k : {PairKernel::Scalar, PairKernel::Avx2, PairKernel::Avx512})
    for (int threads : {1, 2})
      for (std::int64_t block : blocks) {
        SCOPED_TRACE(std::string("kernel ") + sign_kernel_name(k) + ", threads " + std::to_string(threads) +
                     ", block " + std::to_string(block));
        expect_identical(run(rows, k, threads, block), base);
      }
}

TEST(SignPairs, RandomMatchesBruteForce) {
  struct Case {
    std::int64_t n, d;
    float bias;
    std::uint64_t seed;
  };
  // V not a multiple of the block, V < block, d not a multiple of 32 (or of 16), d < 32.
  for (const Case& c :
       {Case{300, 64, 0.35f, 11}, Case{77, 100, 0.0f, 12}, Case{130, 1024, 0.35f, 13}, Case{41, 7, 0.2f, 14}}) {
    SCOPED_TRACE("n " + std::to_string(c.n) + " d " + std::to_string(c.d) + " seed " + std::to_string(c.seed));
    const RowSet rows = random_rows(c.n, c.d, c.seed, c.bias);
    const Brute ref = brute_force(rows);
    check_everywhere(rows, ref, {0, 64, 17});
    const SignPairsResult r = run(rows, PairKernel::Auto, 2, 0);
    EXPECT_LT(r.rechecked, r.pairs / 20) << "the bound rechecks too much";
    EXPECT_LE(r.double_checked * 20, r.rechecked) << "the second level settles too little";
    EXPECT_GT(r.max_bound, 0.0);
    EXPECT_LT(r.max_bound_second, r.max_bound / 100);
  }
}

// The adversarial set: duplicates, antipodes, pairs planted at cos = +-1e-5, exactly orthogonal
// pairs (disjoint supports, and swapped-and-negated coordinates with cancelling products), rows
// exactly representable in int16 (zero quantisation error), tiny coordinates.
RowSet adversarial(std::int64_t d, std::uint64_t seed, PairSet& zero,
                   std::vector<std::pair<std::int64_t, std::int64_t>>& planted) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<std::vector<float>> rows;
  auto random_unit = [&] {
    std::vector<float> x(static_cast<std::size_t>(d));
    for (auto& v : x) v = static_cast<float>(normal(rng) + 0.3);
    normalise(x.data(), d);
    return x;
  };
  for (int k = 0; k < 40; ++k) rows.push_back(random_unit());
  rows.push_back(rows[3]);  // duplicates
  rows.push_back(rows[3]);
  {
    std::vector<float> neg = rows[5];  // antipode
    for (auto& v : neg) v = -v;
    rows.push_back(neg);
  }
  // Planted pairs: v = (w - (w.u) u) / |.| rotated towards u by angle with cos = +-1e-5.
  for (double target : {1e-5, -1e-5, 3e-7, -3e-7, 2e-9, -2e-9}) {
    const std::vector<float> u = rows[static_cast<std::size_t>(rows.size() % 40)];
    std::vector<double> w(static_cast<std::size_t>(d));
    double wu = 0;
    for (std::int64_t k = 0; k < d; ++k) {
      w[static_cast<std::size_t>(k)] = normal(rng);
      wu += w[static_cast<std::size_t>(k)] * u[static_cast<std::size_t>(k)];
    }
    double wn = 0;
    for (std::int64_t k = 0; k < d; ++k) {
      w[static_cast<std::size_t>(k)] -= wu * u[static_cast<std::size_t>(k)];
      wn += w[static_cast<std::size_t>(k)] * w[static_cast<std::size_t>(k)];
    }
    std::vector<float> v(static_cast<std::size_t>(d));
    const double s = std::sqrt(1 - target * target);
    for (std::int64_t k = 0; k < d; ++k)
      v[static_cast<std::size_t>(k)] = static_cast<float>(target * u[static_cast<std::size_t>(k)] +
                                                          s * w[static_cast<std::size_t>(k)] / std::sqrt(wn));
    planted.emplace_back(static_cast<std::int64_t>(rows.size() % 40), static_cast<std::int64_t>(rows.size()));
    rows.push_back(v);
  }
  // Swapped-and-negated partner: (x0, x1, x2, x3, ...) . (x1, -x0, x3, -x2, ...) = 0 exactly, each
  // pair of products cancelling (d even).
  if (d % 2 == 0) {
    const std::int64_t a = static_cast<std::int64_t>(rows.size());
    std::vector<float> x = random_unit(), y(static_cast<std::size_t>(d));
    for (std::int64_t k = 0; k < d; k += 2) {
      y[static_cast<std::size_t>(k)] = x[static_cast<std::size_t>(k + 1)];
      y[static_cast<std::size_t>(k + 1)] = -x[static_cast<std::size_t>(k)];
    }
    rows.push_back(x);
    rows.push_back(y);
    zero.insert({a, a + 1});
  }
  // One-hot rows and a two-hot row: exactly representable, disjoint supports (cos exactly 0).
  const std::int64_t first_hot = static_cast<std::int64_t>(rows.size());
  for (std::int64_t k : {std::int64_t{0}, d / 2, d - 1}) {
    std::vector<float> e(static_cast<std::size_t>(d), 0.0f);
    e[static_cast<std::size_t>(k)] = (k == d / 2) ? -1.0f : 1.0f;
    rows.push_back(e);
  }
  for (std::int64_t p = first_hot; p < first_hot + 3; ++p)
    for (std::int64_t q = p + 1; q < first_hot + 3; ++q)
      if (d > 2) zero.insert({p, q});
  {
    std::vector<float> tiny = random_unit();  // a row with a few tiny (subnormal-range) coordinates
    for (std::int64_t k = 0; k < d; k += 5) tiny[static_cast<std::size_t>(k)] = 1e-39f;
    rows.push_back(tiny);
  }
  Matrix m(static_cast<std::int64_t>(rows.size()), d);
  for (std::size_t i = 0; i < rows.size(); ++i)
    std::memcpy(m.row(static_cast<std::int64_t>(i)), rows[i].data(), sizeof(float) * static_cast<std::size_t>(d));
  return as_row_set(std::move(m));
}

TEST(SignPairs, AdversarialMatchesBruteForce) {
  for (std::int64_t d : {std::int64_t{64}, std::int64_t{96}, std::int64_t{4096}}) {
    SCOPED_TRACE("d " + std::to_string(d));
    PairSet zero;
    std::vector<std::pair<std::int64_t, std::int64_t>> planted;
    const RowSet rows = adversarial(d, 100 + static_cast<std::uint64_t>(d), zero, planted);
    const Brute ref = brute_force(rows, zero);
    check_everywhere(rows, ref, {0, 16, 7});
    const SignPairsResult r = run(rows, PairKernel::Auto, 2, 0);
    EXPECT_GE(r.rechecked, planted.size() + zero.size());
    EXPECT_GE(r.double_checked, zero.size());
    EXPECT_GE(r.exact_fallback, zero.size());
    EXPECT_GE(r.uncertain, 2u + zero.size());  // the 3e-7 pair, the zeros
  }
}

TEST(SignPairs, ExcludedRowsAsRowSet) {
  Matrix m = random_normal_matrix(90, 48, 5);
  for (std::int64_t i : {0, 17, 89})
    for (std::int64_t k = 0; k < 48; ++k) m.row(i)[k] = 0.0f;
  const RowSet rows = make_row_set(std::move(m), RowFilter{});
  ASSERT_EQ(rows.size(), 87);
  ASSERT_EQ(rows.zero_rows.size(), 3u);
  expect_matches(run(rows, PairKernel::Auto, 2, 32), brute_force(rows), rows.size());
}

TEST(SignPairs, AgreesWithFp32EngineWhereFloatSettles) {
  const RowSet rows = random_rows(400, 128, 21, 0.35f);
  AllPairsOptions o;
  o.per_row = true;
  o.quantiles = false;
  const AllPairsResult f = all_pairs(rows, o);
  const SignPairsResult s = run(rows, PairKernel::Auto, 2, 0);
  ASSERT_EQ(f.uncertain, 0u) << "pick a seed without pairs float32 cannot settle";
  EXPECT_EQ(s.negative, f.negative);
  EXPECT_EQ(s.row_negative, f.row_negative);
  for (std::size_t i = 0; i < s.row_mean.size(); ++i) EXPECT_NEAR(s.row_mean[i], f.row_mean[i], 1e-7);
  EXPECT_DOUBLE_EQ(s.mean, f.mean_identity);
}

TEST(SignPairs, UsageErrors) {
  const RowSet one = random_rows(1, 8, 1, 0.0f);
  EXPECT_THROW(sign_pairs(one), Error);
  const RowSet rows = random_rows(10, 8, 1, 0.0f);
  SignPairsOptions o;
  o.block_rows = kMaxSignBlockRows + 1;
  EXPECT_THROW(sign_pairs(rows, o), Error);
}

// --- Pieces -----------------------------------------------------------------------------------

TEST(SignPairsScales, QuantisedRowsKeepTheirPromises) {
  for (std::int64_t d : {std::int64_t{3}, std::int64_t{1024}, std::int64_t{4096}}) {
    RowSet rows = random_rows(20, d, 3, 0.35f);
    // Also a row whose mass sits in one coordinate (the max-|q| limit binds) and a one-hot row.
    for (std::int64_t k = 0; k < d; ++k) rows.unit.row(0)[k] = k == 0 ? 0.99f : 0.01f;
    normalise(rows.unit.row(0), d);
    for (std::int64_t k = 0; k < d; ++k) rows.unit.row(1)[k] = k == d - 1 ? 1.0f : 0.0f;
    const Int16Scales s = int16_scales(rows.unit);
    const std::int64_t stride = int16_stride(d);
    ASSERT_EQ(stride % 32, 0);
    for (PairKernel k : {PairKernel::Scalar, PairKernel::Avx2}) {
      std::vector<std::int16_t> q(static_cast<std::size_t>(20 * stride + 32)), f(q.size());
      std::int16_t* aligned = q.data() + (32 - (reinterpret_cast<std::uintptr_t>(q.data()) / 2) % 32) % 32;
      std::int16_t* f_aligned = f.data() + (32 - (reinterpret_cast<std::uintptr_t>(f.data()) / 2) % 32) % 32;
      quantise_int16(k, rows.unit, s, 0, 20, aligned, f_aligned, stride);
      for (std::int64_t i = 0; i < 20; ++i) {
        const auto at = static_cast<std::size_t>(i);
        std::int64_t n2 = 0, f2 = 0;
        double e2 = 0, u2 = 0, g2 = 0;
        for (std::int64_t c = 0; c < stride; ++c) {
          const std::int16_t v = aligned[i * stride + c], w = f_aligned[i * stride + c];
          n2 += static_cast<std::int64_t>(v) * v;
          f2 += static_cast<std::int64_t>(w) * w;
          if (c >= d) {
            EXPECT_EQ(v, 0) << "pad";
            EXPECT_EQ(w, 0) << "pad";
            continue;
          }
          const double su = static_cast<double>(s.scale[at]) * rows.unit.row(i)[c];
          EXPECT_LE(std::abs(v), 32767);
          EXPECT_LE(std::abs(w), 32767);
          EXPECT_LE(std::fabs(v - su), 0.5 + 1e-3);
          e2 += (v - su) * (v - su);
          u2 += su * su;
          const double g = (v - su) - w / static_cast<double>(s.residual_scale[at]);
          g2 += g * g;
        }
        EXPECT_LE(n2, 2147483647) << "row " << i;
        EXPECT_LE(f2, 2147483647) << "row " << i;
        EXPECT_GE(static_cast<double>(s.error_norm[at]), std::sqrt(e2));
        EXPECT_GE(static_cast<double>(s.scaled_norm[at]), std::sqrt(u2));
        EXPECT_GE(static_cast<double>(s.quantised_norm[at]), std::sqrt(static_cast<double>(n2)));
        EXPECT_GE(static_cast<double>(s.residual_error[at]), std::sqrt(g2));
        // The residual's own rounding (~1e-4 per coordinate) and that of the float product s (x) u
        // (2^-24 |s u_k|, up to 2^-24 * 46,341 in norm): far below ||e||.
        EXPECT_LT(std::sqrt(g2), 1e-3 * std::sqrt(e2) + 4e-3) << "row " << i;
        // The scale is the largest the two limits allow (within the 1 % steps of the retry).
        float m = 0;
        for (std::int64_t c = 0; c < d; ++c) m = std::max(m, std::fabs(rows.unit.row(i)[c]));
        const double limit = std::min(32767.0 / m, 46000.0 / std::sqrt(u2) * s.scale[static_cast<std::size_t>(i)]);
        EXPECT_GE(s.scale[static_cast<std::size_t>(i)], 0.99 * limit) << "row " << i;
      }
      EXPECT_EQ(s.error_norm[1], 0.0f) << "one-hot rows quantise exactly";
    }
  }
}

TEST(SignPairsKernels, DotKernelsAgreeExactlyAtTheOverflowLimit) {
  // Rows whose squared norms reach 2^31 - 1 (the scale's limit): a . a up to 2^31 - 1, so any
  // wrap in the kernels' lanes or horizontal sums would show.
  const std::int64_t stride = 256, m = 11, n = 13;
  std::mt19937_64 rng(7);
  auto block = [&](std::int64_t rows) {
    std::vector<std::int16_t> v(static_cast<std::size_t>(rows * stride + 32), 0);
    std::int16_t* p = v.data() + (32 - (reinterpret_cast<std::uintptr_t>(v.data()) / 2) % 32) % 32;
    for (std::int64_t r = 1; r < rows; ++r) {
      std::int64_t n2 = 0;
      for (std::int64_t k = 0; k < stride; ++k) {
        const auto x = static_cast<std::int16_t>(static_cast<int>(rng() % 65535) - 32767);
        if (n2 + static_cast<std::int64_t>(x) * x > 2147483647) break;
        p[r * stride + k] = x;
        n2 += static_cast<std::int64_t>(x) * x;
      }
    }
    p[0] = p[1] = 32767;  // row 0: two extremes, squared norm 2,147,352,578
    return std::make_pair(std::move(v), p);
  };
  auto [va, a] = block(m);
  auto [vb, b] = block(n);
  std::memcpy(b + stride, a, sizeof(std::int16_t) * static_cast<std::size_t>(stride));  // b1 = a0: a0 . a0
  std::vector<std::int64_t> ref(static_cast<std::size_t>(m * n));
  for (std::int64_t r = 0; r < m; ++r)
    for (std::int64_t c = 0; c < n; ++c) {
      std::int64_t s = 0;
      for (std::int64_t k = 0; k < stride; ++k) s += static_cast<std::int64_t>(a[r * stride + k]) * b[c * stride + k];
      ref[static_cast<std::size_t>(r * n + c)] = s;
    }
  EXPECT_GT(ref[1], 2000000000);
  for (PairKernel k : {PairKernel::Scalar, PairKernel::Avx2, PairKernel::Avx512}) {
    SCOPED_TRACE(sign_kernel_name(resolve_sign_kernel(k)));
    for (std::int64_t rows : {m, std::int64_t{1}, std::int64_t{6}})
      for (std::int64_t cols : {n, std::int64_t{1}, std::int64_t{3}}) {
        std::vector<std::int32_t> out(static_cast<std::size_t>(m * n), -1);
        int16_dots(k, a, rows, b, cols, stride, out.data(), n);
        for (std::int64_t r = 0; r < rows; ++r)
          for (std::int64_t c = 0; c < cols; ++c)
            ASSERT_EQ(out[static_cast<std::size_t>(r * n + c)], ref[static_cast<std::size_t>(r * n + c)])
                << "row " << r << " col " << c << " of " << rows << " x " << cols;
      }
  }
}

TEST(SignPairsExact, SettlesWhatDoubleCannot) {
  // 1 + 2^-60 - 1 in double is 0; the exact sum is 2^-60.
  const float a[] = {1.0f, 0x1p-60f, -1.0f, 0.0f, 0.0f};
  const float b[] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
  bool exact = false;
  EXPECT_EQ(exact_dot_sign(a, b, 5, &exact), 1);
  EXPECT_TRUE(exact);
  const float c[] = {1.0f, -0x1p-60f, -1.0f, 0.0f, 0.0f};
  EXPECT_EQ(exact_dot_sign(c, b, 5, &exact), -1);
  EXPECT_TRUE(exact);
  const float z[] = {0.5f, -0.25f, -0.25f, 0.0f, 0.0f};
  EXPECT_EQ(exact_dot_sign(z, b, 5, &exact), 0);
  // Subnormal products (2^-149 * 2^-149 = 2^-298) against a cancelling pair.
  const float s[] = {0x1p-149f, 0.75f, -0.75f};
  const float t[] = {-0x1p-149f, 1.0f, 1.0f};
  EXPECT_EQ(exact_dot_sign(s, t, 3, &exact), -1);
  EXPECT_TRUE(exact);
  // The largest products (2^127 ...) and carries across many terms.
  std::vector<float> big(1000, 0x1p100f), one(1000, 1.0f);
  big[999] = -0x1p100f * 998.0f;
  big.push_back(-0x1p-100f);
  one.push_back(1.0f);
  EXPECT_EQ(exact_dot_sign(big.data(), one.data(), 1001, &exact), 1);  // 2^100 - 2^-100 > 0
  // A clear case needs no fixed point.
  EXPECT_EQ(exact_dot_sign(b, b, 5, &exact), 1);
  EXPECT_FALSE(exact);
}

}  // namespace
}  // namespace embstat
