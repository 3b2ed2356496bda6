// exportfs_load.cc: the load driver of bench/exportfs_bench.sh, for any
// 9P2000.L server (exportfs, diod): lib9p's codec on raw sockets for the
// small-operation load, lib9p's client for the read.
//
//   exportfs_load ops  -a ADDR [-A ANAME] [-c CLIENTS] [-n COUNT] [-t SECONDS] [-f FILES]
//     CLIENTS connections (raw sockets on one epoll thread), each repeating
//     walk(one name)+getattr+clunk, the next request written as soon as the
//     previous reply is read, over FILES files named f0..f(FILES-1) in the
//     attach's root.
//     Stops after COUNT chains in all or SECONDS, whichever comes first.
//   exportfs_load read -a ADDR [-A ANAME] [-m MSIZE] -p PATH
//     Reads PATH from start to end, one Tread of msize-24 bytes at a time.
//
// Prints one line of key=value pairs: "mode=ops clients=16 ops=... seconds=...
// rate=..." or "mode=read bytes=... seconds=... mbps=...".
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ninep/client.h"
#include "ninep/cmdline.h"
#include "ninep/transport.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what, const std::string& why) {
  fprintf(stderr, "exportfs_load: %s: %s\n", what.c_str(), why.c_str());
  exit(1);
}

struct Options {
  std::string addr, aname, path;
  std::string uname = "root";  // exportfs serves as itself; the name is a label
  bool trace = false;
  int clients = 1, files = 100;
  uint64_t count = 100000;
  double seconds = 10;
  uint32_t msize = 1 << 20;
};

std::unique_ptr<ninep::Client> Connect(const Options& o, uint32_t msize, ninep::Fid* root) {
  ninep::ClientOptions co;
  co.dialect = ninep::Dialect::k9P2000L;  // always: -L changes nothing here
  co.msize = msize;
  co.trace = o.trace;
  co.call_timeout = std::chrono::milliseconds(30000);
  auto c = ninep::Client::Connect(o.addr, co);
  if (!c.ok()) Die(o.addr, c.status().message());
  auto r = (*c)->Attach(o.uname, o.aname, 0);
  if (!r.ok()) Die("attach " + o.aname, r.status().message());
  *root = std::move(*r);
  return std::move(*c);
}

// One connection of the ops load: a raw socket driven by the one epoll loop
// of Ops, repeating walk(one name)+getattr+clunk. The driver does nothing but
// encode, write, read and check, so the server, not the driver, is what the
// figure measures (16 lib9p Clients, each with its own loop thread, spent
// more CPU per chain than exportfs did serving it).
class OpsConn {
 public:
  // Dials, negotiates 9P2000.L and attaches fid 0 (blocking); dies on error.
  OpsConn(const Options& o, int files) : files_(files) {
    auto a = ninep::ParseDial(o.addr);
    if (!a.ok()) Die(o.addr, a.status().message());
    if (a->kind != ninep::DialAddr::kTcp) Die(o.addr, "ops needs a tcp address");
    sockaddr_storage ss{};
    socklen_t len;
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (inet_pton(AF_INET, a->host.c_str(), &s4->sin_addr) == 1) {
      s4->sin_family = AF_INET;
      s4->sin_port = htons(a->port);
      len = sizeof *s4;
    } else if (inet_pton(AF_INET6, a->host.c_str(), &s6->sin6_addr) == 1) {
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons(a->port);
      len = sizeof *s6;
    } else {
      Die(o.addr, "ops needs a numeric address");
    }
    fd_ = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0)
      Die(o.addr, strerror(errno));
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Call(ninep::Tversion{65536, "9P2000.L"}, ninep::kRversion, "version");
    Call(ninep::Tattach{0, ninep::NOFID, o.uname, o.aname, 0}, ninep::kRattach,
         "attach " + o.aname);
  }
  ~OpsConn() {
    if (fd_ >= 0) close(fd_);
  }
  int fd() const { return fd_; }
  uint64_t chains() const { return chains_; }

  // Sends the first request of a chain.
  void Begin() {
    name_ = "f" + std::to_string(chains_ % files_);
    ninep::Twalk w{0, 1, {}};
    w.wname.push_back(name_);
    Send(w);
    step_ = 0;
  }
  // Reads what arrived and answers every whole reply with the chain's next
  // request. Returns false when a chain ended and `more` says to stop.
  bool OnReadable(const std::function<bool()>& more) {
    size_t old = in_.size();
    in_.resize(old + 65536);
    ssize_t n = read(fd_, in_.data() + old, 65536);
    if (n <= 0) Die("read", n == 0 ? "server hung up" : strerror(errno));
    in_.resize(old + static_cast<size_t>(n));
    size_t at = 0;
    bool go_on = true;
    while (in_.size() - at >= 4) {
      uint32_t size = in_[at] | in_[at + 1] << 8 | in_[at + 2] << 16 | uint32_t(in_[at + 3]) << 24;
      if (in_.size() - at < size) break;
      ninep::Message m;
      ninep::Status s = ninep::Decode({in_.data() + at, size}, ninep::Dialect::k9P2000L, &m);
      if (!s.ok()) Die("decode", s.message());
      at += size;
      static constexpr uint8_t kWant[] = {ninep::kRwalk, ninep::kRgetattr, ninep::kRclunk};
      Expect(m, kWant[step_], "chain");
      if (step_ == 0) {
        if (std::get<ninep::Rwalk>(m.body).wqid.size() != 1) Die("walk", "no such file");
        Send(ninep::Tgetattr{1, ninep::P9_GETATTR_BASIC});
        step_ = 1;
      } else if (step_ == 1) {
        Send(ninep::Tclunk{1});
        step_ = 2;
      } else {
        chains_++;
        if (more()) {
          Begin();
        } else {
          go_on = false;
        }
      }
    }
    in_.erase(in_.begin(), in_.begin() + static_cast<long>(at));
    return go_on;
  }

 private:
  void Send(const ninep::Body& b) {
    ninep::Message m;
    m.tag = 1;
    m.body = b;
    out_.clear();
    ninep::Status s = ninep::Encode(m, ninep::Dialect::k9P2000L, &out_);
    if (!s.ok()) Die("encode", s.message());
    for (size_t off = 0; off < out_.size();) {
      ssize_t n = write(fd_, out_.data() + off, out_.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) Die("write", strerror(errno));
      off += static_cast<size_t>(n);
    }
  }
  // Sends b and reads its reply, which must be of type want (blocking;
  // setup only).
  void Call(const ninep::Body& b, uint8_t want, const std::string& what) {
    Send(b);
    in_.resize(4);
    ReadFull(in_.data(), 4);
    uint32_t size = in_[0] | in_[1] << 8 | in_[2] << 16 | uint32_t(in_[3]) << 24;
    if (size < 7 || size > 65536) Die("setup", "bad reply size");
    in_.resize(size);
    ReadFull(in_.data() + 4, size - 4);
    ninep::Message m;
    ninep::Status s = ninep::Decode(in_, ninep::Dialect::k9P2000L, &m);
    if (!s.ok()) Die("decode", s.message());
    Expect(m, want, what);
    in_.clear();
  }
  void ReadFull(uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t r = read(fd_, p, n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) Die("read", r == 0 ? "server hung up" : strerror(errno));
      p += r;
      n -= static_cast<size_t>(r);
    }
  }
  static void Expect(const ninep::Message& m, uint8_t type, const std::string& what) {
    if (m.type() == type) return;
    if (auto* e = std::get_if<ninep::Rlerror>(&m.body))
      Die(what, ninep::ErrnoToText(static_cast<int>(e->ecode)));
    Die(what, "unexpected reply type " + std::to_string(m.type()));
  }

  int fd_ = -1;
  int files_;
  int step_ = 0;
  uint64_t chains_ = 0;
  std::string name_;
  std::vector<uint8_t> in_, out_;
};

int Ops(const Options& o) {
  std::vector<std::unique_ptr<OpsConn>> conns;
  conns.reserve(o.clients);
  for (int i = 0; i < o.clients; i++) conns.push_back(std::make_unique<OpsConn>(o, o.files));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) Die("epoll", strerror(errno));
  for (int i = 0; i < o.clients; i++) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(i);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i]->fd(), &ev) != 0) Die("epoll", strerror(errno));
  }
  auto t0 = Clock::now();
  auto deadline =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  uint64_t started = 0;
  // Whether another chain may start (and counts it when so).
  auto more = [&] {
    if (started >= o.count || Clock::now() >= deadline) return false;
    started++;
    return true;
  };
  int running = 0;
  for (auto& c : conns) {
    if (!more()) break;
    c->Begin();
    running++;
  }
  std::vector<epoll_event> evs(static_cast<size_t>(o.clients));
  while (running > 0) {
    int n = epoll_wait(ep, evs.data(), o.clients, 30000);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Die("ops", n == 0 ? "no reply for 30 s" : strerror(errno));
    for (int i = 0; i < n; i++) {
      if (!conns[evs[i].data.u32]->OnReadable(more)) running--;
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  close(ep);
  uint64_t total = 0;
  for (auto& c : conns) total += c->chains();
  printf("mode=ops clients=%d ops=%llu seconds=%.3f rate=%.0f\n", o.clients,
         static_cast<unsigned long long>(total), secs, static_cast<double>(total) / secs);
  return 0;
}

int Read(const Options& o) {
  ninep::Fid root;
  auto c = Connect(o, o.msize, &root);
  auto f = root.Walk(o.path);
  if (!f.ok()) Die(o.path, f.status().message());
  ninep::Status s = f->Open(ninep::OREAD);
  if (!s.ok()) Die(o.path, s.message());
  std::vector<uint8_t> buf(c->MaxIO());
  uint64_t off = 0;
  auto t0 = Clock::now();
  for (;;) {
    auto n = f->ReadOnce(off, buf);
    if (!n.ok()) Die(o.path, n.status().message());
    if (*n == 0) break;
    off += *n;
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  printf("mode=read msize=%u bytes=%llu seconds=%.3f mbps=%.1f\n", c->msize(),
         static_cast<unsigned long long>(off), secs, static_cast<double>(off) / secs / 1e6);
  *f = ninep::Fid();
  root = ninep::Fid();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  ninep::ClientFlags cf;
  cf.msize = o.msize;
  uint64_t clients = 1, files = 100;
  ninep::Command cmd("exportfs_load", "ops|read");
  cmd.AddClientFlags(&cf)
      .Count('c', "clients", "CLIENTS", "ops: connections, one op in flight each", &clients)
      .Count('n', "count", "COUNT", "ops: stop after COUNT operations", &o.count)
      .Seconds('t', "seconds", "SECONDS", "ops: stop after SECONDS", &o.seconds)
      .Count('f', "files", "FILES", "ops: files to make and stat", &files)
      .Value('p', "path", "PATH", "read: the file to read", &o.path);
  // The mode comes first (exportfs_load ops -a ...), its flags after it.
  std::vector<std::string> args(argv, argv + argc);
  std::string mode = args.size() > 1 ? args[1] : "";
  if (!mode.empty()) args.erase(args.begin() + 1);
  auto p = cmd.Parse(args);
  if (!p.ok()) cmd.UsageError(p.status().message());
  if (p->help) {
    fputs(cmd.Help().c_str(), stdout);
    return 0;
  }
  if (!p->rest.empty()) cmd.UsageError("unexpected operand");
  o.addr = cf.addr;
  o.aname = cf.aname;
  o.msize = cf.msize;
  o.trace = cf.trace;
  if (!cf.user.empty()) o.uname = cf.user;
  if (o.addr.empty()) cmd.UsageError("no address: give -a or set $NINEP_ADDR");
  if (clients < 1 || clients > 4096 || files < 1 || files > 1000000)
    cmd.UsageError("want 1..4096 clients and 1..1000000 files");
  o.clients = static_cast<int>(clients);
  o.files = static_cast<int>(files);
  if (mode == "ops") return Ops(o);
  if (mode == "read" && !o.path.empty()) return Read(o);
  cmd.UsageError("want ops, or read with -p PATH");
}
