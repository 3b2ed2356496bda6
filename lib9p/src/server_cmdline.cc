// server_cmdline.cc: the shared server flags put to work.
#include "ninep/server_cmdline.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <cstdio>

#include "ninep/transport.h"

namespace ninep {
namespace {

bool LoopbackSockaddr(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return in6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

// True when every address the host names is a loopback address.
bool IsLoopback(const std::string& host) {
  if (host.empty() || host == "*") return false;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) return false;
  bool all = true;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) all = all && LoopbackSockaddr(a->ai_addr);
  freeaddrinfo(res);
  return all;
}

}  // namespace

Status CheckExposure(const ServerFlags& f, const DialAddr& d) {
  if (d.kind == DialAddr::kUnix || f.insecure || IsLoopback(d.host)) return Status::Ok();
  if (d.tls && f.tls.AuthenticatesClients()) return Status::Ok();
  return Status(EACCES, d.tls
                            ? "refusing to listen beyond loopback without client "
                              "authentication: add --ca or --psk (or --insecure)"
                            : "refusing to listen beyond loopback without TLS client "
                              "authentication: listen on tls! with --ca or --psk (or --insecure)");
}

void ApplyServerFlags(const Command& cmd, const ServerFlags& f, ServerOptions* so) {
  if (f.msize != 0) so->max_msize = f.msize;
  so->trace = f.trace;
  so->trace_prefix = cmd.name();
  if (f.max_fids != 0) so->max_fids = f.max_fids;
  if (f.max_conns != 0) so->max_conns = f.max_conns;
  if (f.max_inflight != 0) so->max_inflight = f.max_inflight;
  if (f.max_inflight_bytes != 0) so->max_inflight_bytes = f.max_inflight_bytes;
  if (f.max_queued_bytes != 0) so->max_queued_bytes = f.max_queued_bytes;
  so->tls = f.tls;
  so->allow = SplitUserList(f.allow);
  so->readonly = SplitUserList(f.readonly);
}

void RaiseFdLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

std::string StartServing(const Command& cmd, const ServerFlags& f, Server* srv) {
  RaiseFdLimit();
  StopOnSignals(srv);
  if (f.stdio) {
    Status s = srv->ServeFds(0, 1);
    if (!s.ok()) cmd.Fatal("-s", s.message());
  }
  if (!f.listens()) return "";
  // Parse first, so a malformed address reads the same in every command.
  Result<DialAddr> d = ParseDial(f.addr);
  if (!d.ok()) cmd.Fatal("listen", d.status().message());  // it names the address
  if (Status s = CheckExposure(f, *d); !s.ok()) cmd.Fatal("listen " + f.addr, s.message());
  Result<std::string> bound = srv->Listen(f.addr);
  if (!bound.ok()) cmd.Fatal("listen " + f.addr, bound.status().message());
  return *bound;
}

void AnnounceBound(const ServerFlags& f, const std::string& bound) {
  if (f.stdio || bound.empty()) return;
  Result<DialAddr> d = ParseDial(f.addr);
  if (!d.ok() || d->kind != DialAddr::kTcp || d->port != 0) return;
  printf("%s\n", bound.c_str());
  fflush(stdout);
}

int ServeMain(const Command& cmd, const ServerFlags& f, Server* srv) {
  AnnounceBound(f, StartServing(cmd, f, srv));
  srv->Run();
  return kExitOk;
}

}  // namespace ninep
