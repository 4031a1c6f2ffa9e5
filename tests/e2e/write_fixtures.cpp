// Writes the synthetic models the CLI's end-to-end tests run on (tests/e2e/cli.cmake), so those
// tests need no real data:
//   DIR/small.npy          20 rows x 8, a common offset plus a ramp (no zero rows)
//   DIR/config_rows/       a Hugging Face folder whose embedding (100 x 8) contradicts its
//                          config.json (vocab_size 73448)
// Usage: embstat_e2e_fixtures DIR
#include <cstdio>
#include <string>
#include <vector>

#include "tests/fixtures/npy_builder.hpp"
#include "tests/fixtures/safetensors_builder.hpp"

int main(int argc, char** argv) {
  using namespace embstat::fixtures;
  if (argc != 2) {
    std::fprintf(stderr, "usage: embstat_e2e_fixtures DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  try {
    std::vector<float> small = ramp_matrix(20, 8, 1.0f);
    for (std::size_t i = 0; i < small.size(); ++i) small[i] = (i % 8 == 0 ? 50.0f : 0.0f) + small[i] * 0.01f;
    NpySpec npy;
    npy.shape = "(20, 8)";
    npy.data = f32_data(small);
    write_file(dir + "/small.npy", build_npy(npy));

    SafetensorsBuilder st;
    st.add_f32_matrix("model.embed_tokens.weight", 100, 8, ramp_matrix(100, 8, 1.0f));
    write_file(dir + "/config_rows/model.safetensors", st.build());
    write_text(dir + "/config_rows/config.json",
               R"({"architectures": ["MiniCPM3ForCausalLM"], "vocab_size": 73448, "hidden_size": 8})");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "embstat_e2e_fixtures: %s\n", e.what());
    return 1;
  }
  return 0;
}
