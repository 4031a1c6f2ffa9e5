// `embstat export MODEL -o FILE.npy [--matrix output]`: the matrix as float32 .npy (dequantised),
// every row as stored (padding rows included), for any other tool to pick up.
#include <fmt/format.h>

#include <cstdio>

#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "cli/verb.hpp"
#include "embstat/base/atomic_file.hpp"
#include "embstat/base/error.hpp"
#include "embstat/formats/npy.hpp"

namespace embstat::cli {

namespace {

struct ExportArgs {
  ModelArgs model;
  std::string output;
};

bool ends_with_npy(const std::string& path) {
  return path.size() > 4 && path.compare(path.size() - 4, 4, ".npy") == 0;
}

void setup_export(CLI::App& app) {
  auto args = std::make_shared<ExportArgs>();
  CLI::App* sub = app.add_subcommand(
      "export", "Write the embedding matrix (or --matrix output) as a float32 .npy, dequantised, all rows");
  add_model_options(sub, args->model, false);
  sub->add_option("-o,--output", args->output, "The .npy file to write")->required()->check(kNonEmptyPath);
  sub->callback([args] {
    if (!ends_with_npy(args->output)) throw_usage("export writes NumPy .npy files: name the output FILE.npy");
    check_can_write(args->output);  // before decoding a matrix of gigabytes
    const Model model = open_model(args->model.models.at(0), open_options(args->model));
    const Matrix m = decode_to_f32(model.matrix);
    write_npy_f32(args->output, m);
    const std::int64_t pad = model.padding_rows();
    print_line(fmt::format("wrote {}: {} × {} float32 from '{}' of {}{}", args->output, m.n_rows(), m.n_cols(),
                           model.tensor ? model.tensor->name : "?", model.name,
                           pad > 0 ? fmt::format(" (the last {} rows have no token)", pad) : ""));
    for (const auto& note : model.notes) print_line("note: " + note);
  });
}

const VerbRegistration kRegistration("export", 14, setup_export);

}  // namespace

}  // namespace embstat::cli
