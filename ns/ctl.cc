// ctl.cc: the helper's control socket (see ctl.h).
#include "ns/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace ns {
namespace {

constexpr int kTimeoutMs = 30000;      // a live mount may wait for its server
constexpr int kStaleNameTries = 2000;  // 1 ms apart: an ended helper's name

socklen_t Address(ino_t ns, sockaddr_un* a) {
  std::memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  const std::string name = "ninefold-ns." + std::to_string(ns);
  std::memcpy(a->sun_path + 1, name.data(), name.size());  // sun_path[0] = 0: abstract
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

Status WriteAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ninep::Errno(errno, "control socket");
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Result<std::string> ReadAll(int fd) {
  std::string s;
  char buf[8192];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, kTimeoutMs);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return Status(ETIMEDOUT, "control socket: no answer");
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ninep::Errno(errno, "control socket");
    if (n == 0) return s;
    s.append(buf, static_cast<size_t>(n));
    if (s.size() > (16U << 20)) return Status(EMSGSIZE, "control socket: message too long");
  }
}

}  // namespace

Result<ino_t> MountNsOf(pid_t pid) {
  const std::string path =
      pid == 0 ? std::string("/proc/self/ns/mnt") : "/proc/" + std::to_string(pid) + "/ns/mnt";
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    int err = errno;
    if (pid != 0 && err == ENOENT) return Status(ESRCH, std::to_string(pid) + ": no such process");
    return Status(err, (pid == 0 ? path : std::to_string(pid)) + ": " + std::strerror(err));
  }
  return st.st_ino;
}

Result<int> ListenCtl(ino_t ns) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return ninep::Errno(errno, "socket");
  sockaddr_un a;
  socklen_t len = Address(ns, &a);
  // The name of a namespace that has just ended can still be bound: an
  // exiting helper drops its namespace (whose number the kernel may give
  // at once to ours) before its last files are closed. Live namespaces
  // never share a number, so the old socket is about to go; wait for it,
  // a bounded while.
  int rc;
  for (int tries = 0; (rc = bind(fd, reinterpret_cast<sockaddr*>(&a), len)) != 0 &&
                      errno == EADDRINUSE && tries < kStaleNameTries;
       ++tries) {
    usleep(1000);
  }
  if (rc != 0 || listen(fd, 64) != 0) {
    int err = errno;
    close(fd);
    return ninep::Errno(err, "control socket");
  }
  return fd;
}

Result<std::string> CallCtl(ino_t ns, const std::vector<std::string>& words) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ninep::Errno(errno, "socket");
  sockaddr_un a;
  socklen_t len = Address(ns, &a);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) {
    int err = errno;
    close(fd);
    if (err == ECONNREFUSED || err == ENOENT) {
      return Status(ENOENT, "not in a namespace made by ns exec");
    }
    return ninep::Errno(err, "control socket");
  }
  std::string req;
  for (const auto& w : words) req += w + '\0';
  Status st = WriteAll(fd, req);
  shutdown(fd, SHUT_WR);
  Result<std::string> reply = st.ok() ? ReadAll(fd) : Result<std::string>(st);
  close(fd);
  if (!reply.ok()) return reply;
  const std::string& r = *reply;
  if (r.empty()) return Status(EIO, "the namespace's helper hung up");
  if (r[0] == '0') return r.substr(1);
  auto sp = r.find(' ');
  int err = sp == std::string::npos ? EIO : std::atoi(r.substr(1, sp - 1).c_str());
  return Status(err != 0 ? err : EIO, sp == std::string::npos ? r.substr(1) : r.substr(sp + 1));
}

Result<CtlRequest> AcceptCtl(int listen_fd) {
  int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return ninep::Errno(errno, "accept");
  CtlRequest r;
  r.fd = fd;
  ucred cred{};
  socklen_t cl = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0) {
    close(fd);
    return ninep::Errno(errno, "peer credentials");
  }
  r.pid = cred.pid;
  r.uid = cred.uid;
  auto body = ReadAll(fd);
  if (!body.ok()) {
    close(fd);
    return body.status();
  }
  size_t start = 0;
  const std::string& b = *body;
  while (start < b.size()) {
    auto end = b.find('\0', start);
    if (end == std::string::npos) end = b.size();
    r.words.push_back(b.substr(start, end - start));
    start = end + 1;
  }
  return r;
}

void ReplyCtl(CtlRequest* r, const Status& st, const std::string& text) {
  std::string out = st.ok() ? "0" + text : "1" + std::to_string(st.err()) + " " + st.message();
  // The peer may be gone; nothing to do about it then.
  WriteAll(r->fd, out).IgnoreError();
  close(r->fd);
  r->fd = -1;
}

}  // namespace ns
