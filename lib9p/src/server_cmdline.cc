// server_cmdline.cc: the shared server flags put to work.
#include "ninep/server_cmdline.h"

#include <sys/resource.h>

#include <cstdio>

#include "ninep/transport.h"

namespace ninep {

void ApplyServerFlags(const Command& cmd, const ServerFlags& f, ServerOptions* so) {
  if (f.msize != 0) so->max_msize = f.msize;
  so->trace = f.trace;
  so->trace_prefix = cmd.name();
  if (f.max_fids != 0) so->max_fids = f.max_fids;
  if (f.max_conns != 0) so->max_conns = f.max_conns;
  if (f.max_inflight != 0) so->max_inflight = f.max_inflight;
  if (f.max_inflight_bytes != 0) so->max_inflight_bytes = f.max_inflight_bytes;
  if (f.max_queued_bytes != 0) so->max_queued_bytes = f.max_queued_bytes;
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
