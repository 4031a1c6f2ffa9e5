// Writes the +-1 matrix (fixtures/plus_minus_one.hpp) as a float32 .npy for the CLI's e2e tests:
//   embstat_write_plus_minus_one OUT.npy
#include <cstdio>
#include <vector>

#include "fixtures/npy_builder.hpp"
#include "fixtures/plus_minus_one.hpp"

int main(int argc, char** argv) {
  using namespace embstat::fixtures;
  if (argc != 2) {
    std::fprintf(stderr, "usage: embstat_write_plus_minus_one OUT.npy\n");
    return 2;
  }
  const std::vector<int> v = plus_minus_one_matrix();
  NpySpec spec;
  spec.shape = "(" + std::to_string(kPlusMinusOneRows) + ", " + std::to_string(kPlusMinusOneDim) + ")";
  spec.data = f32_data(std::vector<float>(v.begin(), v.end()));
  const std::vector<std::uint8_t> bytes = build_npy(spec);
  std::FILE* f = std::fopen(argv[1], "wb");
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "embstat_write_plus_minus_one: cannot write %s\n", argv[1]);
    return 3;
  }
  return 0;
}
