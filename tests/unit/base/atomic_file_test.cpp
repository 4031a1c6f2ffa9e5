// write_file_atomically: the named file is the old one or the complete new one, whatever happens
// (an exception, a write error, SIGINT / SIGTERM / SIGKILL mid-write); nothing the user named is
// ever deleted; no temporary file is left behind.
#include "embstat/base/atomic_file.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "fixtures/expect_error.hpp"

namespace embstat {
namespace {

namespace fs = std::filesystem;
using fixtures::contains;
using fixtures::expect_error;

// A fresh folder per test, removed afterwards.
class AtomicFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "embstat-atomic-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    detail::set_named_temp_files_for_testing(false);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::set<std::string> listing() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.insert(e.path().filename().string());
    return names;
  }
  fs::path dir_;
};

std::string read_all(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_text(const std::string& p, const std::string& text) {
  write_file_atomically(p, [&](std::ostream& out) { out << text; });
}

TEST_F(AtomicFile, WritesANewFileAndNothingElse) {
  const std::string big(3 << 20, 'x');  // larger than the stream buffer: the direct-write path
  write_text(path("a.npy"), "small");
  write_text(path("b.npy"), big);
  EXPECT_EQ(read_all(path("a.npy")), "small");
  EXPECT_EQ(read_all(path("b.npy")), big);
  EXPECT_EQ(listing(), (std::set<std::string>{"a.npy", "b.npy"}));
}

TEST_F(AtomicFile, ReplacesAFileKeepingItsPermissions) {
  for (bool named : {false, true}) {
    detail::set_named_temp_files_for_testing(named);
    write_text(path("a.csv"), "old content, longer than the new");
    ASSERT_EQ(::chmod(path("a.csv").c_str(), 0640), 0);
    write_text(path("a.csv"), "new");
    EXPECT_EQ(read_all(path("a.csv")), "new");
    struct stat st {};
    ASSERT_EQ(::stat(path("a.csv").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    EXPECT_EQ(listing(), (std::set<std::string>{"a.csv"})) << "named temp files: " << named;
  }
}

TEST_F(AtomicFile, AWriterThatThrowsLeavesThePreviousFile) {
  for (bool named : {false, true}) {
    detail::set_named_temp_files_for_testing(named);
    write_text(path("a.html"), "previous");
    EXPECT_THROW(write_file_atomically(path("a.html"),
                                       [](std::ostream& out) {
                                         out << std::string(200000, 'y');
                                         throw std::runtime_error("writer failed");
                                       }),
                 std::runtime_error);
    EXPECT_EQ(read_all(path("a.html")), "previous");
    EXPECT_EQ(listing(), (std::set<std::string>{"a.html"})) << "named temp files: " << named;
  }
}

TEST_F(AtomicFile, FollowsASymlinkAndKeepsIt) {
  write_text(path("real.npy"), "old");
  fs::create_symlink("real.npy", path("link.npy"));  // relative, resolved against the link's folder
  write_text(path("link.npy"), "new");
  EXPECT_TRUE(fs::is_symlink(path("link.npy")));
  EXPECT_EQ(read_all(path("real.npy")), "new");
  // A dangling link: the file is created where it points.
  fs::create_symlink("made.npy", path("dangling.npy"));
  write_text(path("dangling.npy"), "made");
  EXPECT_TRUE(fs::is_symlink(path("dangling.npy")));
  EXPECT_EQ(read_all(path("made.npy")), "made");
}

TEST_F(AtomicFile, AWriteErrorOnASymlinkToDevFullDeletesNothing) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full on this system";
  fs::create_symlink("/dev/full", path("x.npy"));
  const Error e = expect_error([&] { write_text(path("x.npy"), std::string(100000, 'z')); }, ErrorKind::Io);
  EXPECT_EQ(e.path(), path("x.npy"));
  EXPECT_TRUE(contains(e.message(), std::strerror(ENOSPC)));
  EXPECT_TRUE(fs::is_symlink(path("x.npy")));
  EXPECT_EQ(fs::read_symlink(path("x.npy")), "/dev/full");
  EXPECT_TRUE(fs::is_character_file("/dev/full"));
  EXPECT_EQ(listing(), (std::set<std::string>{"x.npy"}));
}

TEST_F(AtomicFile, WritesThroughToACharacterDevice) {
  if (!fs::exists("/dev/null")) GTEST_SKIP() << "no /dev/null on this system";
  write_text("/dev/null", "discarded");
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  check_can_write("/dev/null");
}

TEST_F(AtomicFile, WritesThroughToAFifo) {
  ASSERT_EQ(::mkfifo(path("pipe.csv").c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = read_all(path("pipe.csv")); });
  check_can_write(path("pipe.csv"));  // must not wait for a reader
  write_text(path("pipe.csv"), "through the pipe");
  reader.join();
  EXPECT_EQ(received, "through the pipe");
  EXPECT_TRUE(fs::is_fifo(path("pipe.csv")));
  EXPECT_EQ(listing(), (std::set<std::string>{"pipe.csv"}));
}

TEST_F(AtomicFile, RefusesAFolderAndASymlinkLoop) {
  fs::create_directory(path("folder.npy"));
  EXPECT_TRUE(contains(expect_error([&] { write_text(path("folder.npy"), "x"); }, ErrorKind::Io).message(), "folder"));
  EXPECT_TRUE(fs::is_directory(path("folder.npy")));
  fs::create_symlink("loop_b", path("loop_a"));
  fs::create_symlink("loop_a", path("loop_b"));
  EXPECT_TRUE(contains(expect_error([&] { write_text(path("loop_a"), "x"); }, ErrorKind::Io).message(), "loop"));
  EXPECT_TRUE(fs::is_symlink(path("loop_a")));
  EXPECT_EQ(listing(), (std::set<std::string>{"folder.npy", "loop_a", "loop_b"}));
}

TEST_F(AtomicFile, CheckCanWriteCreatesNothingAndFailsOnAMissingFolder) {
  for (bool named : {false, true}) {
    detail::set_named_temp_files_for_testing(named);
    check_can_write(path("new.npy"));
    EXPECT_TRUE(listing().empty());
    const Error e = expect_error([&] { check_can_write(path("missing/new.npy")); }, ErrorKind::Io);
    EXPECT_EQ(e.path(), path("missing/new.npy"));
  }
}

// Forks a child that starts replacing `target` with 4 MiB, stops in the middle of writing
// (after the first MiB has gone to the file) and waits there to be killed by `sig`.
void kill_mid_write(const std::string& target, int sig, bool named) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    detail::set_named_temp_files_for_testing(named);
    try {
      write_file_atomically(target, [&](std::ostream& out) {
        out << std::string(1 << 20, 'n');
        out.flush();
        const char c = 1;
        if (::write(ready[1], &c, 1) != 1) ::_exit(90);
        for (;;) ::pause();
      });
    } catch (...) {
    }
    ::_exit(91);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the child died before writing";
  ::close(ready[0]);
  ASSERT_EQ(::kill(child, sig), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
  EXPECT_EQ(WTERMSIG(status), sig);
}

TEST_F(AtomicFile, KilledMidWriteLeavesThePreviousFileAndNoTemporaryFile) {
  for (bool named : {false, true}) {
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGKILL}) {
      SCOPED_TRACE(::testing::Message() << "signal " << sig << ", named temp files " << named);
      write_text(path("x.npy"), "previous");
      kill_mid_write(path("x.npy"), sig, named);
      EXPECT_EQ(read_all(path("x.npy")), "previous");
      // SIGKILL cannot be caught: only an unnamed temporary file is sure to vanish with it.
      if (named && sig == SIGKILL) {
        for (const auto& name : listing())
          if (name != "x.npy") fs::remove(dir_ / name);
      }
      EXPECT_EQ(listing(), (std::set<std::string>{"x.npy"}));
    }
  }
}

}  // namespace
}  // namespace embstat
