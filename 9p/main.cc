// main.cc: bin/9p, a command-line 9P client in the manner of plan9port's
// 9p(1): global flags, connecting and attaching, and the verb table.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cmd.h"
#include "ninep/cmdline.h"

namespace ninep::cmd {
namespace {

struct VerbEntry {
  const char* name;
  int (*fn)(Ctx&, const std::vector<std::string>&);
};

constexpr VerbEntry kVerbs[] = {
    {"ls", VerbLs},           {"stat", VerbStat},       {"read", VerbRead}, {"readfd", VerbReadfd},
    {"write", VerbWrite},     {"writefd", VerbWritefd}, {"rdwr", VerbRdwr}, {"create", VerbCreate},
    {"mkdir", VerbMkdir},     {"rm", VerbRm},           {"mv", VerbMv},     {"chmod", VerbChmod},
    {"session", VerbSession},
};

const VerbEntry* FindVerb(const std::string& name) {
  for (const VerbEntry& v : kVerbs)
    if (name == v.name) return &v;
  return nullptr;
}

constexpr char kUsages[] =
    "\tls [-ldn] [path...]\n"
    "\tstat path...\n"
    "\tread path\n"
    "\treadfd path\n"
    "\twrite [-a] path\n"
    "\twritefd path\n"
    "\trdwr path\n"
    "\tcreate [-d] [-p perm] path...\n"
    "\tmkdir [-p] [-m perm] path...\n"
    "\trm [-rf] path...\n"
    "\tmv old new\n"
    "\tchmod mode path...\n"
    "\tsession [-e]\n";

// The global flags: the shared client set, nothing of our own.
Command MakeCommand(ClientFlags* f) {
  Command cmd("9p", "verb args...");
  cmd.AddClientFlags(f).Epilog(std::string("verbs:\n") + kUsages);
  return cmd;
}

// Prints the reason (if any), the usage line and the verbs to stderr.
int GlobalUsage(const std::string& why = "") {
  ClientFlags unused;
  Command cmd = MakeCommand(&unused);
  if (!why.empty()) fprintf(stderr, "9p: %s\n", why.c_str());
  fprintf(stderr, "%sverbs:\n%s", cmd.UsageLine().c_str(), kUsages);
  return kUsage;
}

}  // namespace

const char* VerbUsages() { return kUsages; }

int RunVerb(Ctx& c, const std::vector<std::string>& args) {
  if (args.empty()) return GlobalUsage();
  const VerbEntry* v = FindVerb(args[0]);
  if (v == nullptr) {
    return GlobalUsage(args[0] + ": unknown verb");
  }
  int rc = v->fn(c, args);
  fflush(stdout);
  return rc;
}

int Main(int argc, char** argv) {
  // A server that hangs up must give an error, not a silent death; the
  // same goes for a closed stdout (reported as EPIPE).
  signal(SIGPIPE, SIG_IGN);
  ClientFlags f;
  Command cmd = MakeCommand(&f);
  Result<Command::Parsed> parsed = cmd.Parse(std::vector<std::string>(argv, argv + argc));
  if (!parsed.ok()) return GlobalUsage(parsed.status().message());
  if (parsed->help) {
    fputs(cmd.Help().c_str(), stdout);
    return kOk;
  }
  const std::vector<std::string>& rest = parsed->rest;
  if (rest.empty()) return GlobalUsage();

  ClientOptions opts;
  opts.dialect = f.dotl ? Dialect::k9P2000L : Dialect::k9P2000;
  opts.trace = f.trace;
  opts.tls = f.tls;
  if (f.msize != 0) opts.msize = f.msize;
  const std::string& addr = f.addr;
  if (addr.empty()) return GlobalUsage("no server address: give -a or set $NINEP_ADDR");
  // Check the verb and its arguments before dialing, so a typo costs no
  // connection; the verb prints its own usage line.
  const VerbEntry* verb = FindVerb(rest[0]);
  if (verb == nullptr) return GlobalUsage(rest[0] + ": unknown verb");
  Ctx check;
  if (verb->fn(check, rest) != kOk) return kUsage;

  std::string user = f.user.empty() ? DefaultUser() : f.user;
  // 9P2000.L servers such as diod identify the user by number: send ours
  // unless a name was asked for explicitly.
  uint32_t n_uname = (opts.dialect == Dialect::k9P2000L && f.user.empty())
                         ? static_cast<uint32_t>(getuid())
                         : NONUNAME;
  // addr may list several servers of one tree: the first that answers and
  // attaches is used; the error names each one that did not.
  auto conn = Client::ConnectAny(addr, opts, {user, f.aname, n_uname});
  if (!conn.ok()) {
    std::string m = Reason(conn.status());
    if (m.find(addr) == std::string::npos && m.find("dial") == std::string::npos)
      m = addr + ": " + m;
    fprintf(stderr, "9p: %s\n", m.c_str());
    return kFail;
  }
  Ctx c;
  c.client = conn->client.get();
  c.root = &conn->root;
  c.dotl = conn->client->dialect() == Dialect::k9P2000L;
  int rc = RunVerb(c, rest);
  // The verb's outcome is decided and reported; the root's clunk can
  // change nothing of it.
  conn->root.Clunk().IgnoreError();
  // Fid destructors clunk without waiting for the reply. Hang up only once
  // every reply is in, so the server never writes into a closed socket
  // (diod logs that, and can die of the SIGPIPE); bounded, since a server
  // that stops answering must not keep us. A timeout or a dead connection
  // changes nothing of the exit status either.
  conn->client->WaitIdle(std::chrono::seconds(1)).IgnoreError();
  return rc;
}

}  // namespace ninep::cmd

int main(int argc, char** argv) {
  ninep::KeepFrameBuffersInHeap();  // read and write stream msize-sized frames
  return ninep::cmd::Main(argc, argv);
}
