#include "cli/report_export.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "embstat/base/atomic_file.hpp"
#include "embstat/base/error.hpp"
#include "embstat/output/json_text.hpp"

namespace embstat::cli {
namespace {

namespace fs = std::filesystem;

// Chromium gets this long to load the report, render and export every chart (a three-model
// report takes a few seconds; the first start of a browser profile can take ~10 s).
constexpr int kChromiumTimeoutSeconds = 180;
// Virtual time the page may use before Chromium dumps the DOM: enough for every chart's
// promises; virtual time runs ahead when the page is idle, so it is not waited for in real time.
constexpr int kVirtualTimeBudgetMs = 60000;

std::string base64_decode(std::string_view in) {
  std::array<int, 256> value{};
  value.fill(-1);
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i) value[static_cast<unsigned char>(alphabet[i])] = i;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = value[static_cast<unsigned char>(c)];
    if (v < 0) throw Error(ErrorKind::Io, "", "chart export: bad base64 from the page");
    buffer = (buffer << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

// The text between <pre id="embstat-export" ...> and </pre>, HTML entities of text nodes undone.
std::string export_block(const std::string& dom) {
  const auto tag = dom.find("id=\"embstat-export\"");
  if (tag == std::string::npos) return {};
  const auto start = dom.find('>', tag);
  const auto end = dom.find("</pre>", start);
  if (start == std::string::npos || end == std::string::npos) return {};
  std::string text = dom.substr(start + 1, end - start - 1);
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    static const std::pair<std::string_view, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
    bool matched = false;
    for (const auto& [entity, ch] : kEntities) {
      if (text.compare(i, entity.size(), entity) == 0) {
        out += ch;
        i += entity.size() - 1;
        matched = true;
        break;
      }
    }
    if (!matched) out += '&';
  }
  return out;
}

// Runs `argv`, returning its stdout; its stderr goes to `stderr_path`. Kills it after the timeout.
std::string run_capture(const std::vector<std::string>& argv, const std::string& stderr_path) {
  int pipe_fd[2];
  if (pipe(pipe_fd) != 0) throw_io(argv[0], fmt::format("cannot create a pipe: {}", std::strerror(errno)));
  const pid_t pid = fork();
  if (pid < 0) throw_io(argv[0], fmt::format("cannot start: {}", std::strerror(errno)));
  if (pid == 0) {
    setpgid(0, 0);  // its own process group, so the timeout kills its helpers too
    dup2(pipe_fd[1], STDOUT_FILENO);
    const int err = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (err >= 0) dup2(err, STDERR_FILENO);
    const int null_in = open("/dev/null", O_RDONLY);
    if (null_in >= 0) dup2(null_in, STDIN_FILENO);
    close(pipe_fd[0]);
    close(pipe_fd[1]);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  setpgid(pid, pid);
  close(pipe_fd[1]);
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kChromiumTimeoutSeconds);
  bool timed_out = false;
  char buffer[65536];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{pipe_fd[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = read(pipe_fd[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  close(pipe_fd[0]);
  if (timed_out) kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!timed_out) kill(-pid, SIGKILL);  // helpers left behind by the browser, if any
  if (timed_out)
    throw_io(argv[0], fmt::format("Chromium did not finish exporting the charts within {} s", kChromiumTimeoutSeconds));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && out.empty()) throw_io(argv[0], "cannot run Chromium");
  return out;
}

std::string last_lines(const std::string& path, std::size_t max_chars) {
  std::ifstream f(path);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (text.size() > max_chars) text = text.substr(text.size() - max_chars);
  return text;
}

}  // namespace

std::string find_chromium() {
  if (const char* env = std::getenv("EMBSTAT_CHROMIUM"); env && *env) return access(env, X_OK) == 0 ? env : "";
  const char* path_env = std::getenv("PATH");
  const std::string path = path_env ? path_env : "/usr/bin:/bin";
  for (const char* name : {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}) {
    std::size_t start = 0;
    while (start <= path.size()) {
      std::size_t end = path.find(':', start);
      if (end == std::string::npos) end = path.size();
      const std::string dir = path.substr(start, end - start);
      std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
      start = end + 1;
    }
  }
  return {};
}

std::vector<std::string> export_report_images(const std::string& html_path, const std::string& dir) {
  const std::string chromium = find_chromium();
  if (chromium.empty())
    throw_unsupported("",
                      "--png needs Chromium to render the charts (Debian: apt-get install chromium; or set "
                      "EMBSTAT_CHROMIUM to a Chromium/Chrome executable). Without it, open the report and use each "
                      "chart's ... menu: Save as PNG / SVG");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw_io(dir, fmt::format("cannot create the folder: {}", ec.message()));

  char profile_template[] = "/tmp/embstat-chromium-XXXXXX";
  const char* profile = mkdtemp(profile_template);
  if (!profile) throw_io("/tmp", fmt::format("cannot create a browser profile folder: {}", std::strerror(errno)));
  const std::string stderr_path = std::string(profile) + ".log";
  const std::string url = "file://" + fs::absolute(html_path).string() + "#export";
  std::string dom;
  try {
    dom = run_capture(
        {chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--disable-extensions", "--hide-scrollbars",
         "--window-size=1200,1000", std::string("--user-data-dir=") + profile,
         fmt::format("--virtual-time-budget={}", kVirtualTimeBudgetMs), "--dump-dom", url},
        stderr_path);
  } catch (...) {
    fs::remove_all(profile, ec);
    throw;
  }
  fs::remove_all(profile, ec);
  const std::string block = export_block(dom);
  if (block.empty()) {
    const std::string log = last_lines(stderr_path, 600);
    fs::remove(stderr_path, ec);
    throw_io(chromium, "the page did not export its charts (is this a report written by this embstat?)" +
                           (log.empty() ? std::string() : "; Chromium said: " + log));
  }
  fs::remove(stderr_path, ec);
  const nlohmann::json exported = nlohmann::json::parse(block, nullptr, false);
  if (exported.is_discarded() || !exported.contains("charts"))
    throw_io(chromium, "the page's chart export is not valid JSON");
  if (!exported["errors"].empty())
    throw_io(html_path, "the page reported errors while rendering: " + json_text(exported["errors"]));
  std::vector<std::string> written;
  for (const auto& chart : exported["charts"]) {
    const std::string name = chart.value("name", "");
    if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos)
      throw_io(html_path, "chart export with a bad name");
    for (const char* kind : {"png", "svg"}) {
      const std::string path = (fs::path(dir) / (name + "." + kind)).string();
      const std::string bytes = base64_decode(chart.value(kind, ""));
      write_file_atomically(
          path, [&](std::ostream& out) { out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())); });
      written.push_back(path);
    }
  }
  return written;
}

}  // namespace embstat::cli
