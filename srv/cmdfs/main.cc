// main.cc: the cmdfs command: flags and the server's life from listen to a
// clean exit that kills every command. The exposure rule (no listener
// beyond loopback without TLS client authentication or --insecure) is
// every server's, in ninep/server_cmdline.h.
#include <stdio.h>
#include <string.h>

#include <cstdlib>
#include <string>

#include "cmdfs/cmdfs.h"
#include "cmdfs/ctl.h"
#include "ninep/cmdline.h"
#include "ninep/server.h"
#include "ninep/server_cmdline.h"
#include "ninep/transport.h"

int main(int argc, char** argv) {
  ninep::ServerFlags flags;
  cmdfs::CmdFsOptions o;
  ninep::Command cmd("cmdfs");
  cmd.AddServerFlags(&flags)
      .Value('l', "audit", "AUDITLOG", "append a line per command to AUDITLOG", &o.audit_path)
      .Add({'t', "timeout", "TIMEOUT", "kill each command after TIMEOUT seconds (default none)",
            [&o](std::string_view v) {
              auto t = cmdfs::ParseSeconds(v);
              if (!t.ok()) return t.status();
              o.default_time_ms = *t;
              return ninep::Status::Ok();
            }});
  if (!cmd.ParseOrExit(argc, argv).empty()) cmd.UsageError("unexpected operand");

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
