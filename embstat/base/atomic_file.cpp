#include "embstat/base/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <streambuf>
#include <vector>

#include "embstat/base/error.hpp"

namespace embstat {

namespace {

namespace fs = std::filesystem;

std::atomic<bool> g_named_temps_for_testing{false};

std::string errno_text(int e) {
  return std::strerror(e);
}

// ---- Temporary names the signal handler removes ------------------------------------------
// A fixed table, so that the handler reads only lock-free atomics and plain char arrays.

constexpr int kFree = 0, kFilling = 1, kArmed = 2;
struct TempSlot {
  std::atomic<int> state{kFree};
  std::array<char, PATH_MAX> path{};
};
constexpr std::size_t kTempSlots = 16;
std::array<TempSlot, kTempSlots> g_temp_slots;
constexpr std::array<int, 3> kCleanupSignals = {SIGINT, SIGTERM, SIGHUP};

extern "C" void remove_temps_and_die(int sig) {
  for (auto& slot : g_temp_slots)
    if (slot.state.load(std::memory_order_acquire) == kArmed) ::unlink(slot.path.data());
  // SA_RESETHAND restored the default action; the signal is blocked until we return, then kills.
  ::raise(sig);
}

// Installs the handler for the signals whose action is still the default (an ignored SIGHUP
// under nohup stays ignored; a handler someone else installed stays theirs).
void install_cleanup_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : kCleanupSignals) {
      struct sigaction old {};
      if (::sigaction(sig, nullptr, &old) != 0) continue;
      if ((old.sa_flags & SA_SIGINFO) != 0 || old.sa_handler != SIG_DFL) continue;
      struct sigaction act {};
      act.sa_handler = remove_temps_and_die;
      sigemptyset(&act.sa_mask);
      act.sa_flags = SA_RESETHAND;
      ::sigaction(sig, &act, nullptr);
    }
  });
}

// Holds a name in the table while it exists on disk; no slot free (16 files at once) or a
// name too long only means a signal could leave that one file behind.
class TempRegistration {
 public:
  explicit TempRegistration(const std::string& path) {
    install_cleanup_handler();
    if (path.size() >= PATH_MAX) return;
    for (auto& slot : g_temp_slots) {
      int expected = kFree;
      if (!slot.state.compare_exchange_strong(expected, kFilling)) continue;
      std::memcpy(slot.path.data(), path.c_str(), path.size() + 1);
      slot.state.store(kArmed, std::memory_order_release);
      slot_ = &slot;
      return;
    }
  }
  TempRegistration(const TempRegistration&) = delete;
  TempRegistration& operator=(const TempRegistration&) = delete;
  ~TempRegistration() {
    if (slot_) slot_->state.store(kFree, std::memory_order_release);
  }

 private:
  TempSlot* slot_ = nullptr;
};

// ---- Where the bytes go ---------------------------------------------------------------------

enum class TargetKind { Missing, Regular, Stream };

struct Target {
  std::string path;  // after following symlinks
  TargetKind kind = TargetKind::Missing;
  mode_t mode = 0;
  bool fifo = false;
};

// Follows symlinks at the last component (the folders on the way are the kernel's business),
// so that replacing the file keeps the link the user made.
Target resolve_target(const std::string& user_path) {
  constexpr int kMaxLinks = 40;  // the kernel's own limit (ELOOP)
  std::string p = user_path;
  for (int hops = 0;; ++hops) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
      const int e = errno;
      if (e == ENOENT) return {p, TargetKind::Missing, 0, false};
      throw_io(user_path, "cannot look at the output: " + errno_text(e));
    }
    if (S_ISLNK(st.st_mode)) {
      if (hops >= kMaxLinks) throw_io(user_path, "the output is a symlink loop");
      std::error_code ec;
      const fs::path link = fs::read_symlink(p, ec);
      if (ec) throw_io(user_path, "cannot read the symlink " + p + ": " + ec.message());
      p = (link.is_absolute() ? link : fs::path(p).parent_path() / link).string();
      continue;
    }
    if (S_ISREG(st.st_mode)) return {p, TargetKind::Regular, st.st_mode & 07777, false};
    if (S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) return {p, TargetKind::Stream, 0, S_ISFIFO(st.st_mode)};
    if (S_ISDIR(st.st_mode)) throw_io(user_path, "is a folder, expected a file name");
    throw_io(user_path, "is a block device or socket: refusing to write to it");
  }
}

std::string folder_of(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// A name in the target's folder that no one uses: ".<name>.<pid><counter>.tmp".
std::string temp_name_for(const std::string& target) {
  static std::atomic<unsigned> counter{0};
  constexpr std::size_t kMaxStem = 200;  // leaves room for the suffix within NAME_MAX (255)
  std::string stem = fs::path(target).filename().string();
  if (stem.size() > kMaxStem) stem.resize(kMaxStem);
  const std::string name = "." + stem + "." + std::to_string(::getpid()) + "-" +
                           std::to_string(counter.fetch_add(1, std::memory_order_relaxed)) + ".tmp";
  return (fs::path(folder_of(target)) / name).string();
}

bool unnamed_temps_usable() {
#ifdef O_TMPFILE
  // linkat() gives the finished file a name through /proc/self/fd.
  static const bool proc = ::access("/proc/self/fd", X_OK) == 0;
  return proc && !g_named_temps_for_testing.load();
#else
  return false;
#endif
}

// An open file that becomes the target on commit(), and vanishes (with its name, if it has one)
// otherwise.
class TempFile {
 public:
  TempFile(const std::string& user_path, const Target& target) : user_path_(user_path), target_(target) {
    const std::string folder = folder_of(target.path);
#ifdef O_TMPFILE
    if (unnamed_temps_usable()) {
      fd_ = ::open(folder.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
      if (fd_ >= 0) return;  // otherwise (file system without O_TMPFILE, ...) try a named file
    }
#endif
    for (int attempt = 0; attempt < 100; ++attempt) {
      const std::string name = temp_name_for(target.path);
      fd_ = ::open(name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
      if (fd_ >= 0) {
        // Registered once it is ours: a signal must never remove a file someone else made.
        registration_ = std::make_unique<TempRegistration>(name);
        name_ = name;
        return;
      }
      const int e = errno;
      if (e != EEXIST) throw_io(user_path, "cannot create a file in " + folder + ": " + errno_text(e));
    }
    throw_io(user_path, "cannot find a free temporary name in " + folder);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!name_.empty()) ::unlink(name_.c_str());
  }

  int fd() const {
    return fd_;
  }

  // fsync, give an unnamed file a name, rename it over the target, fsync the folder.
  void commit() {
    if (target_.kind == TargetKind::Regular && ::fchmod(fd_, target_.mode) != 0)
      throw_io(user_path_, "cannot copy the old file's permissions: " + errno_text(errno));
    if (::fsync(fd_) != 0) throw_io(user_path_, "cannot write (fsync): " + errno_text(errno));
    if (name_.empty()) {
      const std::string name = temp_name_for(target_.path);
      const std::string proc = "/proc/self/fd/" + std::to_string(fd_);
      if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) != 0)
        throw_io(user_path_, "cannot name the new file: " + errno_text(errno));
      registration_ = std::make_unique<TempRegistration>(name);
      name_ = name;
    }
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) throw_io(user_path_, "cannot write (close): " + errno_text(errno));
    if (::rename(name_.c_str(), target_.path.c_str()) != 0)
      throw_io(user_path_, "cannot replace the file: " + errno_text(errno));
    name_.clear();
    registration_.reset();
    // Make the rename itself durable; a file system that cannot sync folders has nothing to do.
    const int dir = ::open(folder_of(target_.path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
  }

 private:
  std::string user_path_;
  Target target_;
  int fd_ = -1;
  std::string name_;  // empty while the file is unnamed, and after the rename
  std::unique_ptr<TempRegistration> registration_;
};

// A stream buffer over a file descriptor that remembers the first write error.
class FdStreamBuf : public std::streambuf {
 public:
  explicit FdStreamBuf(int fd) : fd_(fd), buffer_(kBufferBytes) {
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return drain() ? 0 : -1; }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    if (n < static_cast<std::streamsize>(buffer_.size())) return std::streambuf::xsputn(s, n);
    if (!drain() || !write_all(s, static_cast<std::size_t>(n))) return 0;  // big blocks skip the copy
    return n;
  }

 private:
  static constexpr std::size_t kBufferBytes = 1 << 16;

  bool drain() {
    const std::size_t n = static_cast<std::size_t>(pptr() - pbase());
    const bool ok = write_all(pbase(), n);
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return ok;
  }
  bool write_all(const char* s, std::size_t n) {
    if (error_ != 0) return false;
    while (n > 0) {
      const ssize_t w = ::write(fd_, s, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        error_ = errno;
        return false;
      }
      s += w;
      n -= static_cast<std::size_t>(w);
    }
    return true;
  }

  int fd_;
  std::vector<char> buffer_;
  int error_ = 0;
};

// Runs `write` into fd; throws Io naming `user_path` if any byte did not get there.
void fill(int fd, const std::string& user_path, const std::function<void(std::ostream&)>& write) {
  FdStreamBuf buf(fd);
  std::ostream out(&buf);
  write(out);
  out.flush();
  if (buf.error() != 0) throw_io(user_path, "cannot write: " + errno_text(buf.error()));
  if (!out) throw_io(user_path, "cannot write");
}

int open_stream(const std::string& user_path, const Target& target, int extra_flags) {
  const int fd = ::open(target.path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC | extra_flags);
  if (fd < 0) throw_io(user_path, "cannot open for writing: " + errno_text(errno));
  return fd;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write) {
  const Target target = resolve_target(path);
  if (target.kind == TargetKind::Stream) {
    const int fd = open_stream(path, target, 0);
    try {
      fill(fd, path, write);
    } catch (...) {
      ::close(fd);
      throw;
    }
    if (::close(fd) != 0) throw_io(path, "cannot write (close): " + errno_text(errno));
    return;
  }
  TempFile temp(path, target);
  fill(temp.fd(), path, write);
  temp.commit();
}

void check_can_write(const std::string& path) {
  const Target target = resolve_target(path);
  if (target.kind == TargetKind::Stream) {
    if (target.fifo) return;  // opening a FIFO waits for its reader: leave that to the writing
    ::close(open_stream(path, target, O_NONBLOCK));
    return;
  }
  TempFile probe(path, target);  // closed and removed again at the end of scope
}

namespace detail {
void set_named_temp_files_for_testing(bool named) {
  g_named_temps_for_testing.store(named);
}
}  // namespace detail

}  // namespace embstat
