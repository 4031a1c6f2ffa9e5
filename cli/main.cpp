// embstat — geometry of LLM token embeddings, straight from model files.
// main() only sets up the verbs (each in cli/verb_<name>.cpp) and maps errors to exit codes.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "cli/verb.hpp"
#include "embstat/base/error.hpp"

namespace embstat::cli {
std::vector<Verb>& verb_registry() {
  static std::vector<Verb> verbs;
  return verbs;
}
}  // namespace embstat::cli

namespace {

// Sets up the verbs, parses the command line and runs the chosen verb (or the main job).
// CLI11's own outcomes (--help, --version, a bad command line) are handled here, where the
// App that formats them lives; everything else propagates to main().
int run_cli(int argc, char** argv) {
  using namespace embstat;
  CLI::App app{
      "embstat: measure the geometry of LLM token embeddings straight from model files.\n"
      "With no verb: find models in the local caches and tabulate the study's statistics."};
  try {
    app.set_version_flag("--version", std::string("embstat ") + EMBSTAT_VERSION);
    int threads = 0;
    bool quiet = false;
    app.add_option("--threads", threads,
                   "Threads to use (default: all cores; at most 2 per core: a larger number is lowered, saying so)")
        ->check(CLI::Range(1, cli::kMaxThreadsOption));
    app.add_flag("-q,--quiet", quiet, "No progress bars");
    app.require_subcommand(0, 1);
    app.fallthrough();

    auto& verbs = cli::verb_registry();
    std::sort(verbs.begin(), verbs.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
    for (auto& verb : verbs) verb.setup(app);
    app.parse_complete_callback([&] {
      cli::set_thread_count(threads);
      if (quiet) cli::ProgressBar::set_enabled(false);
    });

    app.parse(argc, argv);
    if (app.get_subcommands().empty()) return cli::run_main_job();
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    cli::print_line(std::string(e.what()) + " (see embstat --help)");
    return exit_code(ErrorKind::Usage);
  }
  return 0;
}

}  // namespace

// One place maps every error to a line on stderr and an exit code: nothing escapes main().
int main(int argc, char** argv) {
  using namespace embstat;
  try {
    return run_cli(argc, argv);
  } catch (const Error& e) {
    cli::print_line(e.what());
    return exit_code(e.kind());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "embstat: out of memory\n");
    return exit_code(ErrorKind::Io);
  } catch (const std::exception& e) {
    cli::print_line(std::string("internal error: ") + e.what());
    return exit_code(ErrorKind::Internal);
  } catch (...) {
    std::fprintf(stderr, "embstat: internal error: unknown exception\n");
    return exit_code(ErrorKind::Internal);
  }
}
