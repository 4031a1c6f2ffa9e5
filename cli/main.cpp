// embstat — geometry of LLM token embeddings, straight from model files.
// main() only sets up the verbs (each in cli/verb_<name>.cpp) and maps errors to exit codes.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <string>

#include "cli/common.hpp"
#include "cli/help_format.hpp"
#include "cli/progress.hpp"
#include "cli/verb.hpp"
#include "cli/verb_names.hpp"
#include "cli/version.hpp"
#include "embstat/base/error.hpp"
#include "embstat/formats/hf_cache.hpp"

namespace embstat::cli {
std::vector<Verb>& verb_registry() {
  static std::vector<Verb> verbs;
  return verbs;
}
}  // namespace embstat::cli

namespace {

// `embstat help [VERB]`: the same text as --help.
void setup_help(CLI::App& app) {
  auto verb = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("help", "Show this help, or a verb's (embstat help VERB)");
  sub->add_option("VERB", *verb, "The verb to describe");
  sub->callback([&app, verb] {
    // (App::help() would describe the selected subcommand, `help` itself.)
    const CLI::App* target = verb->empty() ? &app : embstat::cli::find_verb(app, *verb);
    std::cout << app.get_formatter()->make_help(target, target == &app ? "embstat" : target->get_name(),
                                                CLI::AppFormatMode::Normal);
  });
}

// Sets up the verbs, parses the command line and runs the chosen verb (or the main job).
// CLI11's own outcomes (--help, --version, a bad command line) are handled here, where the
// App that formats them lives; everything else propagates to main().
int run_cli(int argc, char** argv) {
  using namespace embstat;
  CLI::App app{
      "embstat: measure the geometry of LLM token embeddings straight from model files.\n"
      "With no verb: find models in the local caches and tabulate the study's statistics."};
  app.formatter(std::make_shared<cli::HelpFormatter>());
  try {
    app.set_version_flag("--version", [] {
      std::string text = cli::version_text();
      if (!text.empty() && text.back() == '\n') text.pop_back();
      return text;
    });
    int threads = 0;
    bool quiet = false;
    std::string completion;
    bool man = false, list_models = false;
    app.add_option("--threads", threads,
                   "Threads to use (default: all cores; at most 2 per core: a larger number is lowered, saying so)")
        ->check(CLI::Range(1, cli::kMaxThreadsOption));
    app.add_flag("-q,--quiet", quiet, "No progress bars");
    // For the build and the shell completions, not listed in --help (empty group).
    app.add_option("--completion", completion, "Print a completion script")
        ->check(CLI::IsMember({"bash", "zsh", "fish"}))
        ->group("");
    app.add_flag("--man", man, "Print the man page (roff)")->group("");
    app.add_flag("--list-models", list_models, "Print the models found in the local caches")->group("");
    app.require_subcommand(0, 1);
    app.fallthrough();

    auto& verbs = cli::verb_registry();
    std::sort(verbs.begin(), verbs.end(), [](const auto& a, const auto& b) { return a.order < b.order; });
    for (auto& verb : verbs) verb.setup(app);
    setup_help(app);
    app.parse_complete_callback([&] {
      cli::set_thread_count(threads);
      if (quiet) cli::ProgressBar::set_enabled(false);
    });

    cli::check_verb(app, argc, argv);  // "unknown verb 'smaple'; did you mean 'sample'?"
    app.parse(argc, argv);
    if (!completion.empty()) {
      std::cout << cli::completion_script(app, completion);
      return 0;
    }
    if (man) {
      std::cout << cli::man_page(app);
      return 0;
    }
    if (list_models) {
      for (const auto& m : discover_models(nullptr)) std::cout << m << '\n';
      return 0;
    }
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
  } catch (const cli::ExitStatus& e) {  // already reported (several models, some failed)
    return e.status;
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
