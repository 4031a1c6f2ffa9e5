// write_file_atomically — every output file embstat writes goes through here.
//
// The file the user named is either left as it was or replaced by the complete new content,
// never truncated, half-written or deleted:
// - A regular file (or a new one) is written to a temporary file in the same folder, fsync'd,
//   then renamed over the target. The temporary file is unnamed where the system allows
//   (Linux O_TMPFILE): even SIGKILL leaves nothing behind. Otherwise it is a hidden
//   ".<name>.<random>.tmp" that SIGINT, SIGTERM and SIGHUP remove before the process dies.
// - A symlink is followed: the file it points to is replaced and the link stays.
// - A character device or FIFO (/dev/null, /dev/stdout, a pipe, a symlink to /dev/full) is
//   written through directly: it cannot be replaced, and it is never unlinked.
// - A folder, a block device or a socket is refused (ErrorKind::Io).
// A replaced file keeps its permission bits. Hard links to the old file keep the old content.
//
// Thread safety: several threads may write different files at once.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace embstat {

// Writes `path` with the bytes `write` puts into the stream. If `write` throws, or writing,
// syncing or renaming fails, the target is untouched, no temporary file remains, and an Error
// is thrown (the one `write` threw, or ErrorKind::Io naming `path`).
void write_file_atomically(const std::string& path, const std::function<void(std::ostream&)>& write);

// Throws the Error that write_file_atomically(path, ...) would throw before writing anything
// (folder missing or read-only, target a folder, ...): lets a verb fail before a long
// computation rather than after. Creates and leaves nothing.
void check_can_write(const std::string& path);

namespace detail {
// Tests only: use the named temporary file even where O_TMPFILE works.
void set_named_temp_files_for_testing(bool named);
}  // namespace detail

}  // namespace embstat
