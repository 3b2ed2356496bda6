// server_cmdline.h: what every server's main does with the shared server
// flags of ninep/cmdline.h: apply them to ServerOptions, listen (or serve
// stdin/stdout), print the bound address, and stop on SIGINT/SIGTERM.
//
// The printed-address rule, the same for every server: when it listens on
// TCP port 0, the bound address is the only line on stdout, flushed, once
// the server is ready; otherwise, and always with -s (stdout is then the
// client's connection), nothing is printed. Failures end the process with
// "cmd: what: why" and exit 1, as Command::Fatal.
// Thread-safety: for main's thread, before Server::Run.
#ifndef NINEP_SERVER_CMDLINE_H_
#define NINEP_SERVER_CMDLINE_H_

#include <string>

#include "ninep/cmdline.h"
#include "ninep/server.h"
#include "ninep/transport.h"

namespace ninep {

// Copies the flags into *so: max_msize when -m was given, trace, the
// command's name as the trace prefix, the limits, TLS, --allow, --readonly.
void ApplyServerFlags(const Command& cmd, const ServerFlags& f, ServerOptions* so);

// Raises the soft limit on open files to the hard limit, so a server's
// descriptors are bounded by what the system allows rather than by the
// login default (1024). StartServing calls it; harmless to repeat.
void RaiseFdLimit();

// The exposure rule of every server: OK for unix sockets and loopback
// addresses; beyond loopback only a tls! address with client
// authentication (--ca or --psk), or --insecure. Else EACCES with the
// one-line reason StartServing exits with.
Status CheckExposure(const ServerFlags& f, const DialAddr& d);

// Installs the signal handling of StopOnSignals (SIGINT, SIGTERM and SIGHUP
// stop the server; SIGPIPE is ignored), serves stdin/stdout with -s and
// listens on f.addr unless -s came alone. Exits 1 on failure. Returns the
// bound address, "" when not listening. Prints nothing (see AnnounceBound).
std::string StartServing(const Command& cmd, const ServerFlags& f, Server* srv);

// Prints `bound` as the only line on stdout when the rule above says so.
void AnnounceBound(const ServerFlags& f, const std::string& bound);

// StartServing, AnnounceBound, then Server::Run: a server main's last line.
// Returns the exit status (0 once the server stopped).
int ServeMain(const Command& cmd, const ServerFlags& f, Server* srv);

}  // namespace ninep

#endif  // NINEP_SERVER_CMDLINE_H_
