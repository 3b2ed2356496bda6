// main.cc: the cmdfs command: flags, the loopback-only safety rule, and the
// server's life from listen to a clean exit that kills every command.
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cstdlib>
#include <string>

#include "cmdfs/cmdfs.h"
#include "cmdfs/ctl.h"
#include "ninep/cmdline.h"
#include "ninep/server.h"
#include "ninep/server_cmdline.h"
#include "ninep/transport.h"

namespace {

bool LoopbackSockaddr(const sockaddr* sa) {
  if (sa->sa_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) return in6->sin6_addr.s6_addr[12] == 127;
  }
  return false;
}

// True when every address the host names is a loopback address.
bool IsLoopback(const std::string& host) {
  if (host.empty() || host == "*") return false;
  std::string h = host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(h.c_str(), nullptr, &hints, &res) != 0 || !res) return false;
  bool all = true;
  for (addrinfo* a = res; a; a = a->ai_next) all = all && LoopbackSockaddr(a->ai_addr);
  freeaddrinfo(res);
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  ninep::ServerFlags flags;
  cmdfs::CmdFsOptions o;
  bool insecure = false;
  ninep::Command cmd("cmdfs");
  cmd.AddServerFlags(&flags)
      .Value('l', "audit", "AUDITLOG", "append a line per command to AUDITLOG", &o.audit_path)
      .Add({'t', "timeout", "TIMEOUT", "kill each command after TIMEOUT seconds (default none)",
            [&o](std::string_view v) {
              auto t = cmdfs::ParseSeconds(v);
              if (!t.ok()) return t.status();
              o.default_time_ms = *t;
              return ninep::Status::Ok();
            }})
      .Flag(0, "insecure", "listen beyond loopback (there is no authentication)", &insecure);
  if (!cmd.ParseOrExit(argc, argv).empty()) cmd.UsageError("unexpected operand");

  if (flags.listens()) {
    auto d = ninep::ParseDial(flags.addr);
    if (!d.ok()) cmd.Fatal("listen", d.status().message());
    if (d->kind == ninep::DialAddr::kTcp && !insecure && !IsLoopback(d->host)) {
      cmd.Fatal("listen " + flags.addr,
                "refusing to run commands for a non-loopback address without --insecure "
                "(there is no authentication)");
    }
  }

  o.trace = flags.trace;
  cmdfs::CmdFs fs(o);
  ninep::ServerOptions so;
  ninep::ApplyServerFlags(cmd, flags, &so);
  ninep::Server srv(&fs, so);
  std::string bound = ninep::StartServing(cmd, flags, &srv);
  // Last, as it makes cgroups that an early exit would leave behind.
  ninep::Status s = fs.Init();
  if (!s.ok()) {
    fprintf(stderr, "cmdfs: %s\n", s.message().c_str());  // "audit log PATH: why"
    return ninep::kExitFail;
  }
  ninep::AnnounceBound(flags, bound);
  srv.Run();
  fs.Shutdown();
  return ninep::kExitOk;
}
