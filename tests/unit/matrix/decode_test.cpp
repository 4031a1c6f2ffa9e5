// decode_to_f32: values, and the memory promise for file-backed views (the encoded tensor's pages
// leave the process's resident set as they are decoded).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "embstat/base/dtype.hpp"
#include "embstat/formats/model.hpp"
#include "embstat/matrix/matrix.hpp"
#include "tests/fixtures/safetensors_builder.hpp"

namespace embstat {
namespace {

using fixtures::SafetensorsBuilder;
using fixtures::TempDir;

// Resident bytes of the mapping that contains `p`, from /proc/self/smaps ("Rss:" of its VMA).
std::int64_t resident_bytes_of_mapping(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool inside = false;
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find(' ')) {
      inside = lo <= addr && addr < hi;
      continue;
    }
    long kb = 0;
    if (inside && std::sscanf(line.c_str(), "Rss: %ld kB", &kb) == 1) return std::int64_t{kb} * 1024;
  }
  return -1;
}

std::vector<float> values(std::int64_t n, std::int64_t d) {
  std::vector<float> v(static_cast<std::size_t>(n * d));
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(static_cast<int>(i % 509) - 254) / 64.0f;
  return v;  // exact in bf16
}

TEST(Decode, FileBackedViewReleasesTheEncodedPages) {
  // 3 chunks of kDecodeChunkBytes and a short one: 160 MB of bf16.
  const std::int64_t d = 4096;
  const auto n = static_cast<std::int64_t>(kDecodeChunkBytes * 5 / 2 / (2 * d)) + 3;
  const std::vector<float> v = values(n, d);
  TempDir dir("embstat-decode");
  fixtures::write_file(dir / "m.safetensors",
                       SafetensorsBuilder().add_bf16_matrix("embed_tokens.weight", n, d, v).build());
  const Model model = open_model(dir / "m.safetensors", OpenOptions{});
  ASSERT_NE(model.matrix.mapping, nullptr);
  ASSERT_EQ(model.matrix.dtype, DType::BF16);
  const Matrix m = decode_to_f32(model.matrix);
  ASSERT_EQ(m.n_rows(), n);
  for (std::int64_t i : {std::int64_t{0}, n / 2, n - 1})
    for (std::int64_t k : {std::int64_t{0}, d - 1})
      EXPECT_EQ(m.row(i)[k], v[static_cast<std::size_t>(i * d + k)]) << i << "," << k;
  // Only pages at the tensor's two ends (shared with the header) may stay resident.
  const std::int64_t rss = resident_bytes_of_mapping(model.matrix.data);
  ASSERT_GE(rss, 0) << "no /proc/self/smaps entry for the mapping";
  EXPECT_LE(rss, 64 * 1024) << "the decoded bf16 pages are still resident";
  // The bytes stay readable after their release (faulted in again from the file).
  Matrix again = decode_to_f32(model.matrix);
  EXPECT_EQ(again.row(n - 1)[d - 1], m.row(n - 1)[d - 1]);
}

TEST(Decode, HeapViewIsDecodedWhole) {
  const std::int64_t n = 300, d = 7;
  const std::vector<float> v = values(n, d);
  Matrix src(n, d);
  std::copy(v.begin(), v.end(), src.data());
  const MatrixView view = src.view();
  EXPECT_EQ(view.mapping, nullptr);
  const Matrix m = decode_to_f32(view);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t k = 0; k < d; ++k) EXPECT_EQ(m.row(i)[k], v[static_cast<std::size_t>(i * d + k)]);
}

}  // namespace
}  // namespace embstat
