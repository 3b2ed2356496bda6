// status.cc: Status::message, Errno, and the one table that maps Linux
// errnos to the texts 9P2000 peers put in Rerror, and back.
//
// The canonical texts use Plan 9's wording where Plan 9 has one, so a Plan 9
// or 9front client shows its usual messages; the reverse map also accepts
// glibc's strerror() texts (what Linux servers such as diod send in 9P2000)
// and a few other spellings seen in the wild, and "context: text" forms.
#include "ninep/status.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace ninep {
namespace {

struct ErrText {
  int err;
  const char* text;
};

// errno -> canonical Rerror text. Every text is distinct, so each maps back
// to its errno. (EOPNOTSUPP == ENOTSUP and EWOULDBLOCK == EAGAIN on Linux.)
constexpr ErrText kTable[] = {
    {EPERM, "operation not permitted"},
    {ENOENT, "file does not exist"},
    {ESRCH, "no such process"},
    {EINTR, "interrupted system call"},
    {EIO, "i/o error"},
    {ENXIO, "no such device or address"},
    {E2BIG, "argument list too long"},
    {ENOEXEC, "exec format error"},
    {EBADF, "unknown fid"},
    {ECHILD, "no child processes"},
    {EAGAIN, "resource temporarily unavailable"},
    {ENOMEM, "out of memory"},
    {EACCES, "permission denied"},
    {EFAULT, "bad address"},
    {EBUSY, "file in use"},
    {EEXIST, "file already exists"},
    {EXDEV, "cross-device link"},
    {ENODEV, "no such device"},
    {ENOTDIR, "not a directory"},
    {EISDIR, "is a directory"},
    {EINVAL, "invalid argument"},
    {ENFILE, "too many open files in system"},
    {EMFILE, "too many open files"},
    {ENOTTY, "inappropriate ioctl for device"},
    {ETXTBSY, "text file busy"},
    {EFBIG, "file too large"},
    {ENOSPC, "no space left on device"},
    {ESPIPE, "illegal seek"},
    {EROFS, "read-only file system"},
    {EMLINK, "too many links"},
    {EPIPE, "broken pipe"},
    {ERANGE, "result out of range"},
    {EDEADLK, "resource deadlock avoided"},
    {ENAMETOOLONG, "file name too long"},
    {ENOLCK, "no locks available"},
    {ENOSYS, "function not implemented"},
    {ENOTEMPTY, "directory not empty"},
    {ELOOP, "too many levels of symbolic links"},
    {ENODATA, "no data available"},
    {EPROTO, "protocol error"},
    {EBADMSG, "bad message format"},
    {EOVERFLOW, "value too large"},
    {EILSEQ, "illegal byte sequence"},
    {ENOTSOCK, "not a socket"},
    {EMSGSIZE, "message too long"},
    {EPROTONOSUPPORT, "protocol not supported"},
    {ENOTSUP, "operation not supported"},
    {EAFNOSUPPORT, "address family not supported"},
    {EADDRINUSE, "address already in use"},
    {EADDRNOTAVAIL, "cannot assign requested address"},
    {ENETDOWN, "network is down"},
    {ENETUNREACH, "network is unreachable"},
    {ECONNABORTED, "connection aborted"},
    {ECONNRESET, "connection reset by peer"},
    {ENOBUFS, "no buffer space available"},
    {EISCONN, "already connected"},
    {ENOTCONN, "not connected"},
    {ESHUTDOWN, "connection shut down"},
    {ETIMEDOUT, "timed out"},
    {ECONNREFUSED, "connection refused"},
    {EHOSTUNREACH, "no route to host"},
    {EALREADY, "operation already in progress"},
    {EINPROGRESS, "operation in progress"},
    {ESTALE, "stale file handle"},
    {EDQUOT, "disk quota exceeded"},
    {ECANCELED, "interrupted"},
    {EOWNERDEAD, "owner died"},
    {ENOTRECOVERABLE, "state not recoverable"},
};

// Other texts peers send, mapped to an errno (read only: never produced).
constexpr ErrText kAliases[] = {
    {ENOENT, "file not found"},
    {ENOENT, "no such file or directory"},
    {ENOENT, "does not exist"},
    {EBADF, "fid unknown or out of range"},
    {EBADF, "duplicate fid"},
    {EBADF, "fid already in use"},
    {EBADF, "bad use of fid"},
    {EBADF, "fid not open"},
    {EBADF, "file not open"},
    {EBADF, "bad fid"},
    {EEXIST, "file exists"},
    {EEXIST, "create prohibited"},
    {ENOTDIR, "walk in non-directory"},
    {ENOTDIR, "not a dir"},
    {EACCES, "access denied"},
    {EROFS, "read only file system"},
    {EROFS, "file system read only"},
    {EROFS, "read-only file server"},
    {ENOSPC, "file system full"},
    {ENOSPC, "device full"},
    {ENOTEMPTY, "directory is not empty"},
    {EBUSY, "device or resource busy"},
    {EBUSY, "file is busy"},
    {EPIPE, "i/o on hungup channel"},
    {EPIPE, "hungup channel"},
    {EINVAL, "bad arg in system call"},
    {EINVAL, "bad offset"},
    {EINVAL, "bad character in file name"},
    {ENAMETOOLONG, "name too long"},
    {ECANCELED, "operation canceled"},
    {ECANCELED, "flushed"},
    {ETIMEDOUT, "connection timed out"},
    {ENOTSUP, "not supported"},
    {ENOSYS, "not implemented"},
    {EIO, "input/output error"},
    {EBADMSG, "bad message"},
    {EPROTO, "unknown message type"},
    {ENOMEM, "cannot allocate memory"},
    // The server framework's own refusals (and Plan 9's words for them), so
    // a 9P2000 client of ours maps them back to what the server meant.
    {EBADF, "fid in use"},
    {EBADF, "fid not of this tree"},
    {EBUSY, "fid already open"},
    {EBUSY, "cannot clone open fid"},
    {ENOTDIR, "create in non-directory"},
    {ENOENT, "bad name in walk"},
    {ENOENT, "file has been removed"},
    {ENOENT, "authentication not required"},
    {EINVAL, "illegal name"},
    {EINVAL, "cannot change the directory bit"},
    {EINVAL, "msize too small"},
    {EINVAL, "not a symlink"},
    {EMSGSIZE, "directory entry too large for count"},
    {EPERM, "cannot create in a synthetic tree"},
    {EPERM, "cannot remove a synthetic file"},
    {EPERM, "cannot remove the root"},
    {EPROTO, "duplicate tag"},
    {EPROTO, "version not negotiated"},
    {EXDEV, "rename across directories not supported"},
};

std::string Lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// The reverse map (lowercased text -> errno), built once; the canonical
// table wins over aliases, aliases over strerror texts.
struct Reverse {
  std::unordered_map<std::string, int> exact;
  // Table and alias texts, longest first, for "text inside a longer
  // message" matches (e.g. Plan 9's "'x' file does not exist").
  std::vector<std::pair<std::string, int>> by_length;

  Reverse() {
    for (const auto& e : kTable) exact.emplace(e.text, e.err);
    for (const auto& e : kAliases) exact.emplace(e.text, e.err);
    for (int e = 1; e < 134; e++) {
      const char* d = strerrordesc_np(e);
      if (d != nullptr) exact.emplace(Lower(d), e);
    }
    for (const auto& e : kTable) by_length.emplace_back(e.text, e.err);
    for (const auto& e : kAliases) by_length.emplace_back(e.text, e.err);
    std::stable_sort(by_length.begin(), by_length.end(),
                     [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  }
};

const Reverse& ReverseMap() {
  static const Reverse r;
  return r;
}

}  // namespace

namespace internal {
void DieValueOfError(const Status& s) {
  fprintf(stderr, "ninep: Result::value() on an error: %s (errno %d)\n", s.message().c_str(),
          s.err());
  abort();
}
}  // namespace internal

std::string Status::message() const {
  if (!msg_.empty() || err_ == 0) return msg_;
  return ErrnoToText(err_);
}

Status Errno(int err) { return Status(err != 0 ? err : EIO, std::string()); }

Status Errno(int err, std::string_view what) {
  if (err == 0) err = EIO;
  std::string m(what);
  m += ": ";
  m += ErrnoToText(err);
  return Status(err, std::move(m));
}

std::string ErrnoToText(int err) {
  for (const auto& e : kTable)
    if (e.err == err) return e.text;
  const char* d = err > 0 ? strerrordesc_np(err) : nullptr;
  if (d != nullptr) return Lower(d);
  std::string t = "error ";
  t += std::to_string(err);
  return t;
}

int TextToErrno(std::string_view text) {
  const Reverse& r = ReverseMap();
  std::string t = Lower(text);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  if (auto it = r.exact.find(t); it != r.exact.end()) return it->second;
  // "context: text" (our own Errno(err, what), and most Unix tools).
  if (size_t colon = t.rfind(": "); colon != std::string::npos) {
    if (auto it = r.exact.find(t.substr(colon + 2)); it != r.exact.end()) return it->second;
  }
  for (const auto& [s, e] : r.by_length)
    if (t.find(s) != std::string::npos) return e;
  return EIO;
}

}  // namespace ninep
