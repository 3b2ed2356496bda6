// main.cc: the cmdfs command: flags, the loopback-only safety rule, and the
// server's life from listen to a clean exit that kills every command.
#include <arpa/inet.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cstdlib>
#include <string>

#include "cmdfs/cmdfs.h"
#include "cmdfs/ctl.h"
#include "ninep/server.h"
#include "ninep/transport.h"

namespace {

const char kUsage[] =
    "usage: cmdfs [-a ADDR] [-s] [-l AUDITLOG] [-m MSIZE] [-D] [--insecure] [-t TIMEOUT]\n";

[[noreturn]] void Usage(const char* why) {
  if (why) fprintf(stderr, "cmdfs: %s\n", why);
  fputs(kUsage, stderr);
  exit(2);
}

[[noreturn]] void Fatal(const std::string& what, const std::string& why) {
  fprintf(stderr, "cmdfs: %s: %s\n", what.c_str(), why.c_str());
  exit(1);
}

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
  std::string addr, audit;
  bool stdio = false, insecure = false, trace = false;
  uint32_t msize = 0;
  uint64_t timeout_ms = 0;
  static const option longopts[] = {{"insecure", no_argument, nullptr, 'I'},
                                    {"help", no_argument, nullptr, 'h'},
                                    {nullptr, 0, nullptr, 0}};
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, "+a:sl:m:Dt:h", longopts, nullptr)) != -1) {
    switch (c) {
      case 'a':
        addr = optarg;
        break;
      case 's':
        stdio = true;
        break;
      case 'l':
        audit = optarg;
        break;
      case 'm': {
        auto m = ninep::ParseSize(optarg);
        if (!m.ok() || *m < ninep::MINMSIZE) Usage("-m: want a size >= 256 (k/m suffix allowed)");
        msize = *m;
        break;
      }
      case 'D':
        trace = true;
        break;
      case 't': {
        auto t = cmdfs::ParseSeconds(optarg);
        if (!t.ok()) Usage(("-t: " + t.status().message()).c_str());
        timeout_ms = *t;
        break;
      }
      case 'I':
        insecure = true;
        break;
      case 'h':
        fputs(kUsage, stdout);
        return 0;
      default:
        if (optopt) {
          std::string why = std::string("bad option -") + static_cast<char>(optopt);
          Usage(why.c_str());
        }
        Usage("bad option");
    }
  }
  if (optind != argc) Usage("unexpected argument");
  if (!stdio && addr.empty()) addr = "tcp!127.0.0.1!564";

  if (!addr.empty()) {
    auto d = ninep::ParseDial(addr);
    if (!d.ok()) Fatal("listen " + addr, d.status().message());
    if (d->kind == ninep::DialAddr::kTcp && !insecure && !IsLoopback(d->host)) {
      Fatal("listen " + addr,
            "refusing to run commands for a non-loopback address without --insecure "
            "(there is no authentication)");
    }
  }

  cmdfs::CmdFsOptions o;
  o.audit_path = audit;
  o.default_time_ms = timeout_ms;
  o.trace = trace;
  cmdfs::CmdFs fs(o);
  ninep::ServerOptions so;
  if (msize) so.max_msize = msize;
  so.trace = trace;
  so.trace_prefix = "cmdfs";
  ninep::Server srv(&fs, so);
  ninep::StopOnSignals(&srv);
  std::string bound;
  ninep::Status s;
  if (stdio) {
    s = srv.ServeFds(0, 1);
    if (!s.ok()) Fatal("serve stdin", s.message());
  }
  if (!addr.empty()) {
    auto b = srv.Listen(addr);
    if (!b.ok()) Fatal("listen " + addr, b.status().message());
    bound = *b;
  }
  // Last, as it makes cgroups that an early exit would leave behind.
  s = fs.Init();
  if (!s.ok()) {
    fprintf(stderr, "cmdfs: %s\n", s.message().c_str());  // "audit log PATH: why"
    return 1;
  }
  auto d = ninep::ParseDial(addr);
  // With -s, standard output is the client's connection: print nothing.
  if (!stdio && d.ok() && d->kind == ninep::DialAddr::kTcp && d->port == 0) {
    printf("%s\n", bound.c_str());
    fflush(stdout);
  }
  srv.Run();
  fs.Shutdown();
  return 0;
}
