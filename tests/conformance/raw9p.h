// raw9p.h: a blocking 9P connection that sends and receives raw frames with
// the codec, for tests that must control what the client library hides
// (tags, fid numbers, Tversion mid-session, malformed frames, replies out of
// order). Every receive has a deadline, so a missing reply fails the test
// instead of hanging it.
// Thread-safety: one RawConn per thread.
#ifndef NINEP_TESTS_CONFORMANCE_RAW9P_H_
#define NINEP_TESTS_CONFORMANCE_RAW9P_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "ninep/status.h"
#include "ninep/transport.h"
#include "ninep/wire.h"

namespace ninep::testing {

// A decoded frame that owns its bytes (msg's views point into *frame).
struct RawReply {
  std::unique_ptr<std::vector<uint8_t>> frame;
  Message msg;
  // The message type number.
  uint8_t type() const { return msg.type(); }
  // True when this is Rerror or Rlerror.
  bool IsError() const { return type() == kRerror || type() == kRlerror; }
  // The error text (Rerror) or errno as text (Rlerror), for messages.
  std::string Describe() const { return FormatMessage(msg); }
};

// Builds a message with a tag.
inline Message M(uint16_t tag, Body b) {
  Message m;
  m.tag = tag;
  m.body = std::move(b);
  return m;
}

// A raw 9P client over TCP.
class RawConn {
 public:
  RawConn() = default;
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;
  ~RawConn() { Close(); }

  // Connects to a tcp dial string ("tcp!127.0.0.1!4711"). A tls! one goes
  // through `openssl s_client` with $NINEP_CA and the glenda certificate
  // beside $NINEP_CERT (NINEP_TEST_TLS), so the bytes written still reach
  // the server as they are, inside TLS.
  Status Connect(const std::string& dial) {
    Result<DialAddr> a = ParseDial(dial);
    if (!a.ok()) return a.status();
    if (a->tls) return ConnectTls(*a);
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Errno(errno, "socket");
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(a->port);
    if (inet_pton(AF_INET, a->host.c_str(), &sin.sin_addr) != 1)
      return Status(EINVAL, "not an IPv4 address: " + a->host);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0)
      return Errno(errno, "connect " + dial);
    wfd_ = fd_;
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return Status::Ok();
  }
  // Uses an already open pair of fds (a server's stdin/stdout pipes); the
  // RawConn does not close them.
  void Adopt(int rfd, int wfd) {
    fd_ = rfd;
    wfd_ = wfd;
    owned_ = false;
  }
  // Closes the socket (an abrupt disconnect, as far as the server knows).
  void Close() {
    if (fd_ >= 0 && owned_) close(fd_);
    fd_ = wfd_ = -1;
    if (proxy_ > 0) {
      kill(proxy_, SIGKILL);  // our own child, not yet reaped
      while (waitpid(proxy_, nullptr, 0) < 0 && errno == EINTR) {
      }
      proxy_ = -1;
    }
  }

  Dialect dialect = Dialect::k9P2000;

 private:
  // The TLS end: openssl s_client on one end of a socketpair, we on the
  // other. The handshake is over once the proxy has said nothing for a
  // moment; a refused client sees EOF on its first read.
  Status ConnectTls(const DialAddr& a) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      return Errno(errno, "socketpair");
    auto env = [](const char* n) {
      const char* v = getenv(n);
      return std::string(v != nullptr ? v : "");
    };
    std::vector<std::string> argv{"openssl",
                                  "s_client",
                                  "-quiet",
                                  "-no_ign_eof",
                                  "-tls1_3",
                                  "-connect",
                                  a.host + ":" + std::to_string(a.port),
                                  "-verify_return_error",
                                  "-CAfile",
                                  env("NINEP_CA")};
    // The raw tests attach as glenda (P9::Start): her certificate, beside
    // $NINEP_CERT (tests/tls/mkcerts.sh makes both).
    std::string cert = env("NINEP_CERT");
    if (!cert.empty()) {
      std::string dir = cert.substr(0, cert.rfind('/') + 1);
      argv.insert(argv.end(), {"-cert", dir + "glenda.pem", "-key", dir + "glenda.key"});
    }
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (auto& s : argv) args.push_back(s.data());
    args.push_back(nullptr);
    proxy_ = fork();
    if (proxy_ < 0) return Errno(errno, "fork");
    if (proxy_ == 0) {
      dup2(sv[1], 0);
      dup2(sv[1], 1);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
      execvp("openssl", args.data());
      _exit(127);
    }
    close(sv[1]);
    fd_ = wfd_ = sv[0];
    return Status::Ok();
  }
  pid_t proxy_ = -1;

 public:
  // Writes bytes as they are (for malformed frames).
  Status SendBytes(const std::vector<uint8_t>& b) {
    size_t off = 0;
    while (off < b.size()) {
      ssize_t n = owned_ ? send(wfd_, b.data() + off, b.size() - off, MSG_NOSIGNAL)
                         : write(wfd_, b.data() + off, b.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Errno(errno, "send");
      off += n;
    }
    return Status::Ok();
  }
  // Encodes m in the current dialect and writes it.
  Status Send(const Message& m) {
    std::vector<uint8_t> b;
    Status s = Encode(m, dialect, &b);
    if (!s.ok()) return s;
    return SendBytes(b);
  }
  // Encodes many messages into one write (so the server sees them at once).
  Status SendAll(const std::vector<Message>& ms) {
    std::vector<uint8_t> b;
    for (auto& m : ms) {
      Status s = Encode(m, dialect, &b);
      if (!s.ok()) return s;
    }
    return SendBytes(b);
  }
  // Reads one whole frame and decodes it. ETIMEDOUT after timeout_ms,
  // ECONNRESET at EOF.
  Result<RawReply> Recv(int timeout_ms = 10000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      if (buf_.size() >= 4) {
        uint32_t size = PeekSize(buf_.data());
        if (size < HDRSZ) return Status(EPROTO, "frame size too small");
        if (buf_.size() >= size) {
          RawReply r;
          r.frame = std::make_unique<std::vector<uint8_t>>(buf_.begin(), buf_.begin() + size);
          buf_.erase(buf_.begin(), buf_.begin() + size);
          Status s = Decode(*r.frame, dialect, &r.msg);
          if (!s.ok()) return s;
          return r;
        }
      }
      Status s = Fill(deadline);
      if (!s.ok()) return s;
    }
  }
  // True when the server closes the connection within timeout_ms (any
  // frames before the EOF are discarded).
  bool WaitClosed(int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      Status s = Fill(deadline);
      if (s.err() == ECONNRESET) return true;
      if (!s.ok()) return false;
      buf_.clear();
    }
  }
  // Sends m and receives the next frame.
  Result<RawReply> Rpc(const Message& m, int timeout_ms = 10000) {
    Status s = Send(m);
    if (!s.ok()) return s;
    return Recv(timeout_ms);
  }
  // Tversion; sets the dialect from the answer. Returns the Rversion (or
  // whatever came back).
  Result<RawReply> Version(uint32_t msize, std::string_view version) {
    Result<RawReply> r = Rpc(M(NOTAG, Tversion{msize, version}));
    if (r.ok() && r->type() == kRversion)
      dialect = std::get<Rversion>(r->msg.body).version == "9P2000.L" ? Dialect::k9P2000L
                                                                      : Dialect::k9P2000;
    return r;
  }
  // A fresh tag (never NOTAG), cycling.
  uint16_t Tag() {
    if (next_tag_ == NOTAG) next_tag_ = 1;
    return next_tag_++;
  }
  // Sends b with a fresh tag and returns the reply, failing (EPROTO) when
  // the reply's tag differs. An Rerror/Rlerror is returned as a reply.
  Result<RawReply> Call(Body b, int timeout_ms = 10000) {
    uint16_t tag = Tag();
    Result<RawReply> r = Rpc(M(tag, std::move(b)), timeout_ms);
    if (r.ok() && r->msg.tag != tag)
      return Status(EPROTO,
                    "reply tag " + std::to_string(r->msg.tag) + " for " + std::to_string(tag));
    return r;
  }
  // Tattach of fid to the root as uname (no afid).
  Result<RawReply> Attach(uint16_t tag, uint32_t fid, std::string_view uname = "glenda") {
    return Rpc(M(tag, Tattach{fid, NOFID, uname, "", NONUNAME}));
  }

 private:
  Status Fill(std::chrono::steady_clock::time_point deadline) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) return Status(ETIMEDOUT, "no reply in time");
    pollfd p{fd_, POLLIN, 0};
    int pr = poll(&p, 1, left);
    if (pr == 0) return Status(ETIMEDOUT, "no reply in time");
    if (pr < 0) return Errno(errno, "poll");
    uint8_t b[65536];
    ssize_t n = read(fd_, b, sizeof b);
    if (n == 0) return Status(ECONNRESET, "connection closed by server");
    if (n < 0) return errno == ECONNRESET ? Status(ECONNRESET, "reset") : Errno(errno, "recv");
    buf_.insert(buf_.end(), b, b + n);
    return Status::Ok();
  }

  int fd_ = -1, wfd_ = -1;
  bool owned_ = true;
  uint16_t next_tag_ = 1;
  std::vector<uint8_t> buf_;
};

}  // namespace ninep::testing

#endif  // NINEP_TESTS_CONFORMANCE_RAW9P_H_
