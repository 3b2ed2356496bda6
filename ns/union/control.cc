// control.cc: the control socket's framing, and Client.
#include "ns/union/control.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "ns/union/union.h"

namespace nsunion {
namespace internal {

ninep::Status SendMessage(int sock, const std::vector<std::string>& fields, int fd) {
  std::string body;
  for (size_t i = 0; i < fields.size(); i++) {
    if (i > 0) body.push_back('\0');
    body += fields[i];
  }
  if (body.size() > kMaxMessage) return Status(EMSGSIZE, "control message too long");
  iovec iov{body.data(), body.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))];
  if (fd >= 0) {
    std::memset(ctl, 0, sizeof ctl);
    msg.msg_control = ctl;
    msg.msg_controllen = sizeof ctl;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  for (;;) {
    if (sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0) return Status::Ok();
    if (errno != EINTR) return ninep::Errno(errno, "control socket");
  }
}

ninep::Result<Message> ReceiveMessage(int sock) {
  std::string buf(kMaxMessage, '\0');
  iovec iov{buf.data(), buf.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(4 * sizeof(int))];
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof ctl;
  ssize_t n;
  while ((n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  if (n < 0) return ninep::Errno(errno, "control socket");
  Message m;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < nfd; i++) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (m.fd < 0) {
        m.fd = fd;
      } else {
        close(fd);  // one fd per message: extras are a confused peer's
      }
    }
  }
  if (n == 0 && m.fd < 0) return Status(ECONNRESET, "control socket closed");
  if ((msg.msg_flags & MSG_TRUNC) != 0) {
    if (m.fd >= 0) close(m.fd);
    return Status(EMSGSIZE, "control message too long");
  }
  buf.resize(static_cast<size_t>(n));
  size_t start = 0;
  for (;;) {
    size_t end = buf.find('\0', start);
    if (end == std::string::npos) {
      m.fields.push_back(buf.substr(start));
      break;
    }
    m.fields.push_back(buf.substr(start, end - start));
    start = end + 1;
  }
  return m;
}

}  // namespace internal

Result<std::vector<std::string>> Client::Call(const std::vector<std::string>& fields, int fd) {
  std::lock_guard<std::mutex> l(mu_);
  if (Status s = internal::SendMessage(fd_, fields, fd); !s.ok()) return s;
  auto m = internal::ReceiveMessage(fd_);
  if (!m.ok()) return m.status();
  if (m->fd >= 0) close(m->fd);
  auto& f = m->fields;
  if (!f.empty() && f[0] == "ok") return std::vector<std::string>(f.begin() + 1, f.end());
  if (f.size() >= 3 && f[0] == "err") {
    int err = std::atoi(f[1].c_str());
    return Status(err > 0 ? err : EIO, f[2]);
  }
  return Status(EPROTO, "union server: malformed answer");
}

Result<int> Client::NewUnion() {
  auto r = Call({"new"}, -1);
  if (!r.ok()) return r.status();
  if (r->size() != 1) return Status(EPROTO, "union server: malformed answer");
  return std::atoi((*r)[0].c_str());
}

Status Client::Add(int id, const Member& m, bool before) {
  if (m.dirfd < 0) return Status(EBADF, "member has no directory fd");
  auto r =
      Call({"add", std::to_string(id), before ? "1" : "0", m.create ? "1" : "0", m.label}, m.dirfd);
  return r.ok() ? Status::Ok() : r.status();
}

Status Client::Replace(int id, const Member& m) {
  if (m.dirfd < 0) return Status(EBADF, "member has no directory fd");
  auto r = Call({"replace", std::to_string(id), m.create ? "1" : "0", m.label}, m.dirfd);
  return r.ok() ? Status::Ok() : r.status();
}

Status Client::Remove(int id, const std::string& label) {
  auto r = Call({"remove", std::to_string(id), label}, -1);
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::vector<MemberInfo>> Client::List(int id) {
  auto r = Call({"list", std::to_string(id)}, -1);
  if (!r.ok()) return r.status();
  if (r->size() % 2 != 0) return Status(EPROTO, "union server: malformed answer");
  std::vector<MemberInfo> out;
  for (size_t i = 0; i + 1 < r->size(); i += 2) {
    out.push_back(MemberInfo{(*r)[i + 1], (*r)[i] == "1"});
  }
  return out;
}

Status Client::Stop() {
  auto r = Call({"stop"}, -1);
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace nsunion
