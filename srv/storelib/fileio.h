// fileio.h: the few file operations the store's durability rests on, each
// retrying EINTR and short transfers, each failing with an errno-carrying
// Status that names the file ("what: why").
// A rename is durable only once the directory holding it is fsynced; a
// file's data only once the file is; these helpers do both so callers
// cannot forget one half.
// Thread-safety: no shared state; safe from any thread.
#ifndef STORE_FILEIO_H_
#define STORE_FILEIO_H_

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "ninep/status.h"

namespace store {

// An owned file descriptor, closed when destroyed. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  // Takes ownership of fd (-1 for none).
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  // The descriptor, still owned (-1 when empty).
  int get() const { return fd_; }
  // True when a descriptor is held.
  explicit operator bool() const { return fd_ >= 0; }
  // Gives up ownership and returns the descriptor.
  int release();
  // Closes the held descriptor, if any, and holds fd instead.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Opens path with open(2) flags (O_CLOEXEC is added) and mode.
ninep::Result<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode = 0644);

// Reads up to len bytes at off, looping over short reads; returns the count,
// which is less than len only at end of file.
ninep::Result<size_t> PreadAll(int fd, void* buf, size_t len, off_t off);

// Writes all len bytes at off, looping over short writes. On error some
// prefix may have been written (the caller rolls back if it matters).
ninep::Status PwriteAll(int fd, const void* buf, size_t len, off_t off);

// fsync(2): data and metadata of fd are on stable storage.
ninep::Status FsyncFd(int fd);
// fdatasync(2): data of fd (and the size, if it changed) are on stable storage.
ninep::Status FdatasyncFd(int fd);
// Makes the directory entries of dir (creations, renames, unlinks) durable.
ninep::Status FsyncDir(const std::string& dir);

// Reserves [off, off+len) in fd (fallocate mode 0, so the file may grow), so
// that later writes there cannot fail with ENOSPC.
ninep::Status Preallocate(int fd, off_t off, off_t len);

// rename(2) from -> to, then fsyncs the directory of `to` (and of `from`
// when it differs): when this returns OK the rename survives a crash.
ninep::Status DurableRename(const std::string& from, const std::string& to);

// Unlinks path and fsyncs its directory. A missing file is ENOENT.
ninep::Status DurableUnlink(const std::string& path);

// Replaces path's content with data atomically and durably: writes
// path.tmp, fsyncs it, renames it over path, fsyncs the directory. A crash
// leaves either the old content or the new, never a mix.
ninep::Status WriteFileAtomic(const std::string& path, std::string_view data);

// Reads the whole file at path.
ninep::Result<std::string> ReadWholeFile(const std::string& path);

// The directory part of path ("." when it has no slash).
std::string DirName(const std::string& path);

}  // namespace store

#endif  // STORE_FILEIO_H_
