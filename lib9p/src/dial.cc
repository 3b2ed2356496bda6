// dial.cc: Plan 9 dial strings (ParseDial, FormatDial) and the blocking
// socket set-up behind Dial and Listen (name resolution, connect with a
// deadline, stale unix socket removal).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dial_internal.h"
#include "ninep/transport.h"

namespace ninep {
namespace {

Status Bad(std::string_view s, std::string_view why) {
  return Status(EINVAL, "bad dial string \"" + std::string(s) + "\": " + std::string(why));
}

// Parses a port: decimal 0..65535, or the service names of 9P.
Result<uint16_t> ParsePort(std::string_view dial, std::string_view p) {
  if (p.empty()) return Bad(dial, "missing port");
  if (p == "9fs" || p == "9pfs" || p == "9p") return kDefaultPort;
  uint32_t v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return Bad(dial, "port \"" + std::string(p) + "\" is not a number");
    v = v * 10 + static_cast<uint32_t>(c - '0');
    if (v > 65535) return Bad(dial, "port " + std::string(p) + " out of range (0-65535)");
  }
  return static_cast<uint16_t>(v);
}

// Strips the brackets of "[::1]" (a bracketed host in tcp!...!... form).
std::string_view Unbracket(std::string_view h) {
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') return h.substr(1, h.size() - 2);
  return h;
}

Result<DialAddr> ParseBang(std::string_view s) {
  size_t b1 = s.find('!');
  std::string_view net = s.substr(0, b1);
  std::string_view rest = s.substr(b1 + 1);
  DialAddr a;
  if (net == "tls") {
    // tls!host!port and tls!unix!/path: the same addresses, under TLS.
    if (rest.empty()) return Bad(s, "tls without an address");
    std::string inner(rest);
    if (inner.find('!') == std::string::npos) inner = "tcp!" + inner;
    if (inner.rfind("tcp!", 0) != 0 && inner.rfind("unix!", 0) != 0) inner = "tcp!" + inner;
    auto r = ParseBang(inner);
    if (!r.ok()) return Bad(s, r.status().message().substr(r.status().message().rfind(": ") + 2));
    r->tls = true;
    return r;
  }
  if (net == "unix") {
    if (rest.empty()) return Bad(s, "unix without a path");
    a.kind = DialAddr::kUnix;
    a.path = std::string(rest);
    return a;
  }
  if (net != "tcp" && net != "net") {
    if (net.empty()) return Bad(s, "missing network before '!'");
    return Bad(s, "unknown network \"" + std::string(net) + "\" (want tcp, net, unix or tls)");
  }
  size_t b2 = rest.find('!');
  std::string_view host = Unbracket(rest.substr(0, b2));
  if (host.empty()) return Bad(s, "missing host");
  a.host = std::string(host);
  if (b2 != std::string_view::npos) {
    std::string_view port = rest.substr(b2 + 1);
    if (port.find('!') != std::string_view::npos) return Bad(s, "too many '!' fields");
    auto p = ParsePort(s, port);
    if (!p.ok()) return p.status();
    a.port = *p;
  }
  return a;
}

}  // namespace

Result<DialAddr> ParseDial(std::string_view s) {
  if (s.empty()) return Status(EINVAL, "bad dial string: empty");
  for (char c : s) {
    if (c == '\0' || c == '\n' || c == ' ' || c == '\t')
      return Bad(s, "contains white space or a NUL");
  }
  if (s.find('!') != std::string_view::npos) return ParseBang(s);
  DialAddr a;
  if (s.front() == '/') {
    a.kind = DialAddr::kUnix;
    a.path = std::string(s);
    return a;
  }
  if (s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos) return Bad(s, "missing ']'");
    a.host = std::string(s.substr(1, close - 1));
    if (a.host.empty()) return Bad(s, "missing host");
    std::string_view tail = s.substr(close + 1);
    if (tail.empty()) return a;
    if (tail.front() != ':') return Bad(s, "expected ':' after ']'");
    auto p = ParsePort(s, tail.substr(1));
    if (!p.ok()) return p.status();
    a.port = *p;
    return a;
  }
  size_t colon = s.find(':');
  if (colon != std::string_view::npos && s.find(':', colon + 1) == std::string_view::npos) {
    a.host = std::string(s.substr(0, colon));
    if (a.host.empty()) return Bad(s, "missing host");
    auto p = ParsePort(s, s.substr(colon + 1));
    if (!p.ok()) return p.status();
    a.port = *p;
    return a;
  }
  // A bare name, or a bare IPv6 address (several colons, no port).
  a.host = std::string(s);
  return a;
}

std::string FormatDial(const DialAddr& a) {
  if (a.kind == DialAddr::kUnix) return (a.tls ? "tls!unix!" : "unix!") + a.path;
  return (a.tls ? "tls!" : "tcp!") + a.host + "!" + std::to_string(a.port);
}

Result<std::vector<std::string>> ParseDialList(std::string_view s) {
  std::vector<std::string> out;
  for (size_t start = 0;;) {
    size_t comma = std::min(s.find(',', start), s.size());
    std::string_view one = s.substr(start, comma - start);
    if (one.empty() && !s.empty()) {
      return Status(EINVAL, "bad address list \"" + std::string(s) + "\": empty address");
    }
    auto a = ParseDial(one);
    if (!a.ok()) return a.status();
    out.emplace_back(one);
    if (comma == s.size()) return out;
    start = comma + 1;
  }
}

namespace internal {

std::string FormatSockaddr(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  } else if (sa->sa_family == AF_UNIX) {
    auto* un = reinterpret_cast<const sockaddr_un*>(sa);
    if (un->sun_path[0] == '\0') return "unix";
    return std::string("unix!") + un->sun_path;
  } else {
    return "?";
  }
  return "tcp!" + std::string(host) + "!" + std::to_string(port);
}

Status SysError(int err, std::string_view what) {
  return Status(err, std::string(what) + ": " + strerror(err));
}

namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds left until deadline for poll(2): -1 = no deadline, at least
// 0 otherwise.
int PollMs(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, INT32_MAX));
}

// Connects fd to sa, giving up at deadline (a dead host must not hang a
// tool for minutes). Returns 0 or an errno.
int ConnectWithDeadline(int fd, const sockaddr* sa, socklen_t len, Clock::time_point deadline) {
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return errno;
  int r;
  do {
    r = connect(fd, sa, len);
  } while (r < 0 && errno == EINTR);
  if (r < 0 && errno != EINPROGRESS) return errno;
  if (r < 0) {
    pollfd p{fd, POLLOUT, 0};
    int n;
    do {
      n = poll(&p, 1, PollMs(deadline));
    } while (n < 0 && errno == EINTR);
    if (n < 0) return errno;
    if (n == 0) return ETIMEDOUT;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) return errno;
    if (soerr != 0) return soerr;
  }
  return 0;
}

}  // namespace

Result<int> MakeUnixAddr(const std::string& path, sockaddr_un* un, socklen_t* len) {
  memset(un, 0, sizeof *un);
  un->sun_family = AF_UNIX;
  if (path.size() >= sizeof un->sun_path)
    return Status(ENAMETOOLONG, "unix socket path too long (" + std::to_string(path.size()) +
                                    " bytes, at most " + std::to_string(sizeof un->sun_path - 1) +
                                    "): " + path);
  memcpy(un->sun_path, path.data(), path.size());
  *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
  return 0;
}

Result<int> ConnectSocket(const DialAddr& addr, std::chrono::milliseconds timeout) {
  std::string what = "dial " + FormatDial(addr);
  const Clock::time_point deadline =
      timeout.count() > 0 ? Clock::now() + timeout : Clock::time_point::max();
  if (addr.kind == DialAddr::kUnix) {
    sockaddr_un un;
    socklen_t len;
    auto ok = MakeUnixAddr(addr.path, &un, &len);
    if (!ok.ok()) return Status(ok.status().err(), what + ": " + ok.status().message());
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return SysError(errno, what);
    int err = ConnectWithDeadline(fd, reinterpret_cast<sockaddr*>(&un), len, deadline);
    if (err != 0) {
      close(fd);
      return SysError(err, what);
    }
    return fd;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  std::string port = std::to_string(addr.port);
  int gai = getaddrinfo(addr.host.c_str(), port.c_str(), &hints, &res);
  if (gai == EAI_NONAME || gai == EAI_FAIL || gai == EAI_NODATA) {
    // AI_ADDRCONFIG hides ::1 on hosts with no global IPv6; retry without.
    hints.ai_flags = AI_NUMERICSERV;
    gai = getaddrinfo(addr.host.c_str(), port.c_str(), &hints, &res);
  }
  if (gai != 0) {
    int err = gai == EAI_SYSTEM ? errno : EHOSTUNREACH;
    return Status(err, what + ": " + gai_strerror(gai));
  }
  int last = ECONNREFUSED;
  int fd = -1;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      last = errno;
      continue;
    }
    int err = ConnectWithDeadline(fd, ai->ai_addr, ai->ai_addrlen, deadline);
    if (err == 0) break;
    last = err;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return SysError(last, what);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

Status ResolveListen(const DialAddr& addr, sockaddr_storage* ss) {
  memset(ss, 0, sizeof *ss);
  std::string host = addr.host;
  if (host == "*" || host.empty()) host = "0.0.0.0";
  auto* in = reinterpret_cast<sockaddr_in*>(ss);
  auto* in6 = reinterpret_cast<sockaddr_in6*>(ss);
  if (inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(addr.port);
    return Status::Ok();
  }
  if (inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(addr.port);
    return Status::Ok();
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* res = nullptr;
  int gai = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (gai != 0 || !res)
    return Status(EHOSTUNREACH, "listen " + FormatDial(addr) + ": " + gai_strerror(gai));
  // Prefer IPv4: "localhost" then matches what clients dialing 127.0.0.1 get.
  addrinfo* pick = res;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      pick = ai;
      break;
    }
  }
  memcpy(ss, pick->ai_addr, pick->ai_addrlen);
  if (ss->ss_family == AF_INET) in->sin_port = htons(addr.port);
  if (ss->ss_family == AF_INET6) in6->sin6_port = htons(addr.port);
  freeaddrinfo(res);
  return Status::Ok();
}

Status RemoveStaleSocket(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return Status::Ok();  // nothing there
  std::string what = "listen unix!" + path;
  if (!S_ISSOCK(st.st_mode)) return Status(EEXIST, what + ": file exists and is not a socket");
  // A socket someone still accepts on is not stale: do not steal it.
  sockaddr_un un;
  socklen_t len;
  if (!MakeUnixAddr(path, &un, &len).ok()) return Status::Ok();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    int r = connect(fd, reinterpret_cast<sockaddr*>(&un), len);
    close(fd);
    if (r == 0) return Status(EADDRINUSE, what + ": a server is already listening there");
  }
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return SysError(errno, what + ": unlink");
  return Status::Ok();
}

}  // namespace internal
}  // namespace ninep
