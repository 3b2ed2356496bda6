// fsutil.h: the filesystem primitives exportfs is built from: owned fds,
// name checks, confined lookups with openat2, statx, qids, and the
// conversion of Linux attributes to ninep::Dir / Rgetattr.
//
// Confinement rests on three rules kept here: (1) every name a client sends
// is one path component (no '/', no NUL, not empty); (2) every lookup of a
// name goes through openat2 with RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS from an O_PATH fd that is itself inside the root, so
// neither "..", nor a symlink, nor a /proc magic link is ever followed; (3)
// ".." is walked by the caller with an explicit check (IsBeneath).
// Thread-safety: free functions are thread-safe; an Fd is a value owned by
// one holder (share it through FdRef).
#ifndef NINEFOLD_EXPORTFS_FSUTIL_H_
#define NINEFOLD_EXPORTFS_FSUTIL_H_

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "ninep/dir.h"
#include "ninep/status.h"
#include "ninep/wire.h"

namespace exportfs {

// An owned file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd& operator=(Fd&& o) noexcept;

  // The descriptor (-1 when empty).
  int get() const { return fd_; }
  // True when a descriptor is held.
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership.
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_ = -1;
};
// Fds shared between fids (a clone shares its O_PATH fd with the original).
using FdRef = std::shared_ptr<const Fd>;

// Wraps a new descriptor in an FdRef.
FdRef MakeFdRef(int fd);

// An error Status from errno `e` with the standard 9P text.
ninep::Status Err(int e);

// EINVAL unless `name` is one path component a client may create or look
// up: not empty, no '/', no NUL, and (when `create`) not "." or "..".
ninep::Status CheckName(std::string_view name, bool create);

// openat2(dirfd, name, flags, mode) confined beneath dirfd: no "..", no
// symlinks (a trailing symlink with O_PATH|O_NOFOLLOW gives the link
// itself), no magic links. Returns the fd or a Status (escapes come back
// as EACCES, symlinks in the way as ELOOP). With cached_only the lookup
// uses only the kernel's dentry cache (RESOLVE_CACHED) and fails EAGAIN
// where it would have to read a directory from disk: safe on the loop thread.
ninep::Result<int> OpenBeneath(int dirfd, std::string_view name, uint64_t flags, mode_t mode = 0,
                               bool cached_only = false);

// statx of the file an fd refers to (O_PATH fds too), never following a
// symlink. Returns 0 or an errno. With cached_only, a network filesystem
// answers from its attribute cache (AT_STATX_DONT_SYNC); a local one from
// the inode the fd pins in memory, so neither does I/O.
int StatFd(int fd, struct statx* st, bool cached_only = false);
// statx of `name` in dirfd without following a trailing symlink.
int StatAt(int dirfd, const char* name, struct statx* st);

// The device number of a statx.
inline uint64_t DevOf(const struct statx& st) {
  return makedev(st.stx_dev_major, st.stx_dev_minor);
}

// The qid of a file: path from (dev, ino) with dev mixed in when the file
// is not on root_dev; version from the change time; type from the mode and
// the append-only attribute.
ninep::Qid QidOf(const struct statx& st, uint64_t root_dev);

// "/proc/self/fd/N" for an fd (see ReopenFd in export_fs.cc for why this
// is safe only for regular files and directories).
std::string ProcPath(int fd);

// True when the directory `fd` is the directory (root_dev, root_ino) or
// below it, found by walking ".." upwards (bounded). For the ".." walk.
bool IsBeneath(int fd, uint64_t root_dev, uint64_t root_ino);

// Searches directory `dirfd` for the entry whose inode is (dev, ino);
// returns its name or ENOENT. Used to name a directory reached by "..".
ninep::Result<std::string> FindName(int dirfd, uint64_t dev, uint64_t ino);

// Cached, thread-safe uid/gid -> name lookups ("1000" when unknown).
std::string UserName(uint32_t uid);
std::string GroupName(uint32_t gid);
// True when UserName(uid) and GroupName(gid) answer from the cache.
bool NamesCached(uint32_t uid, uint32_t gid);
// True when the filesystem of fd is a local one whose getattr and lookups
// from cache never wait (ext4, xfs, btrfs, tmpfs, f2fs).
bool LocalFs(int fd);
// Name -> id lookups (numeric strings accepted); -1 when unknown.
int64_t UserId(std::string_view name);
int64_t GroupId(std::string_view name);

// The 9P2000.L attributes of a statx.
ninep::Rgetattr GetattrOf(const struct statx& st, uint64_t root_dev);
// A time for 9P2000's 32-bit fields: a time before 1970 is 0 and one at
// or after 2^32 - 1 seconds saturates to 0xFFFFFFFF, never wrapping to an
// unrelated date. (0xFFFFFFFF is also Twstat's "no change", so a client
// that writes back what it read leaves such a time alone.)
uint32_t Time32(int64_t sec);
// A Dir (both dialects' fields) for a statx and a name.
ninep::Dir DirOf(const struct statx& st, std::string name, uint64_t root_dev);

}  // namespace exportfs

#endif  // NINEFOLD_EXPORTFS_FSUTIL_H_
