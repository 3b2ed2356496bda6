// fileio.cc: durable file helpers over POSIX calls.
#include "fileio.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace store {

using ninep::Errno;
using ninep::Result;
using ninep::Status;

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) reset(o.release());
  return *this;
}

int UniqueFd::release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

void UniqueFd::reset(int fd) {
  // close(2) is not retried on EINTR: on Linux the descriptor is gone
  // either way, and a retry could close one another thread just opened.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<UniqueFd> OpenFile(const std::string& path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Errno(errno, path);
  return UniqueFd(fd);
}

Result<size_t> PreadAll(int fd, void* buf, size_t len, off_t off) {
  auto* p = static_cast<char*>(buf);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pread(fd, p + done, len - done, off + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(errno, "pread");
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

Status PwriteAll(int fd, const void* buf, size_t len, off_t off) {
  const auto* p = static_cast<const char*>(buf);
  size_t done = 0;
  while (done < len) {
    ssize_t n = ::pwrite(fd, p + done, len - done, off + static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(errno, "pwrite");
    }
    // A zero-byte pwrite of a nonzero count means no progress is possible;
    // call it out of space rather than loop forever.
    if (n == 0) return Errno(ENOSPC, "pwrite");
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status FsyncFd(int fd) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return Errno(errno, "fsync");
  }
  return Status::Ok();
}

Status FdatasyncFd(int fd) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return Errno(errno, "fdatasync");
  }
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  auto fd = OpenFile(dir, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return fd.status();
  Status s = FsyncFd(fd->get());
  if (!s.ok()) return Errno(s.err(), "fsync " + dir);
  return s;
}

Status Preallocate(int fd, off_t off, off_t len) {
  if (len <= 0) return Status::Ok();
  while (::fallocate(fd, 0, off, len) != 0) {
    if (errno == EINTR) continue;
    // A filesystem without fallocate: the write itself will report ENOSPC.
    if (errno == EOPNOTSUPP) return Status::Ok();
    return Errno(errno, "fallocate");
  }
  return Status::Ok();
}

std::string DirName(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status DurableRename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return Errno(errno, "rename " + from + " to " + to);
  Status s = FsyncDir(DirName(to));
  if (!s.ok()) return s;
  if (DirName(from) != DirName(to)) return FsyncDir(DirName(from));
  return Status::Ok();
}

Status DurableUnlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return Errno(errno, path);
  return FsyncDir(DirName(path));
}

Status WriteFileAtomic(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  auto fd = OpenFile(tmp, O_WRONLY | O_CREAT | O_TRUNC);
  if (!fd.ok()) return fd.status();
  Status s = PwriteAll(fd->get(), data.data(), data.size(), 0);
  if (s.ok()) s = FsyncFd(fd->get());
  fd->reset();
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return Errno(s.err(), tmp);
  }
  return DurableRename(tmp, path);
}

Result<std::string> ReadWholeFile(const std::string& path) {
  auto fd = OpenFile(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  std::string out;
  char buf[65536];
  for (off_t off = 0;;) {
    auto n = PreadAll(fd->get(), buf, sizeof buf, off);
    if (!n.ok()) return Errno(n.status().err(), path);
    out.append(buf, *n);
    if (*n < sizeof buf) break;
    off += static_cast<off_t>(*n);
  }
  return out;
}

}  // namespace store
