// main.cc: bin/9p, a command-line 9P client in the manner of plan9port's
// 9p(1): global flags, connecting and attaching, and the verb table.
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "cmd.h"

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

int GlobalUsage() {
  fprintf(stderr,
          "usage: 9p [-a addr] [-A aname] [-u user] [-L] [-m msize] [-D] verb args...\n"
          "verbs:\n%s",
          kUsages);
  return kUsage;
}

// Parses an msize: a number with an optional k or m suffix (binary units).
bool ParseSize(const std::string& s, uint32_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  unsigned long long v = strtoull(s.c_str(), &end, 10);
  if (end == s.c_str()) return false;
  std::string suffix(end);
  if (suffix == "k" || suffix == "K") {
    v <<= 10;
  } else if (suffix == "m" || suffix == "M") {
    v <<= 20;
  } else if (!suffix.empty()) {
    return false;
  }
  if (v < MINMSIZE || v > (1ull << 31)) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

// The default user name: $USER, else the password file's, else "none".
std::string DefaultUser() {
  const char* u = getenv("USER");
  if (u != nullptr && *u != '\0') return u;
  struct passwd* pw = getpwuid(getuid());
  if (pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  return "none";
}

}  // namespace

const char* VerbUsages() { return kUsages; }

int RunVerb(Ctx& c, const std::vector<std::string>& args) {
  if (args.empty()) return GlobalUsage();
  const VerbEntry* v = FindVerb(args[0]);
  if (v == nullptr) {
    fprintf(stderr, "9p: %s: unknown verb\n", args[0].c_str());
    return GlobalUsage();
  }
  int rc = v->fn(c, args);
  fflush(stdout);
  return rc;
}

int Main(int argc, char** argv) {
  // A server that hangs up must give an error, not a silent death; the
  // same goes for a closed stdout (reported as EPIPE).
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv, argv + argc);
  Opts o(args, "a:A:u:Lm:D");
  if (!o.ok() || o.rest().empty()) return GlobalUsage();

  ClientOptions opts;
  opts.dialect = o.Has('L') ? Dialect::k9P2000L : Dialect::k9P2000;
  opts.trace = o.Has('D');
  if (o.Has('m') && !ParseSize(o.Value('m'), &opts.msize)) {
    fprintf(stderr, "9p: bad msize %s\n", o.Value('m').c_str());
    return GlobalUsage();
  }
  std::string addr = o.Value('a');
  if (addr.empty()) {
    const char* env = getenv("NINEP_ADDR");
    if (env != nullptr) addr = env;
  }
  if (addr.empty()) {
    fprintf(stderr, "9p: no server address: give -a or set $NINEP_ADDR\n");
    return GlobalUsage();
  }
  // Check the verb and its arguments before dialing, so a typo costs no
  // connection; the verb prints its own usage line.
  const VerbEntry* verb = FindVerb(o.rest()[0]);
  if (verb == nullptr) {
    fprintf(stderr, "9p: %s: unknown verb\n", o.rest()[0].c_str());
    return GlobalUsage();
  }
  Ctx check;
  if (verb->fn(check, o.rest()) != kOk) return kUsage;

  auto client = Client::Connect(addr, opts);
  if (!client.ok()) {
    std::string m = Reason(client.status());
    if (m.find(addr) == std::string::npos && m.find("dial") == std::string::npos)
      m = addr + ": " + m;
    fprintf(stderr, "9p: %s\n", m.c_str());
    return kFail;
  }
  std::string user = o.Has('u') ? o.Value('u') : DefaultUser();
  // 9P2000.L servers such as diod identify the user by number: send ours
  // unless a name was asked for explicitly.
  uint32_t n_uname = (opts.dialect == Dialect::k9P2000L && !o.Has('u'))
                         ? static_cast<uint32_t>(getuid())
                         : NONUNAME;
  int rc;
  {
    auto root = (*client)->Attach(user, o.Value('A'), n_uname);
    if (!root.ok()) {
      std::string what = "attach";
      if (!o.Value('A').empty()) what += " " + o.Value('A');
      return Fail(what, root.status());
    }
    Ctx c;
    c.client = client->get();
    c.root = &*root;
    c.dotl = (*client)->dialect() == Dialect::k9P2000L;
    rc = RunVerb(c, o.rest());
    // The verb's outcome is decided and reported; the root's clunk can
    // change nothing of it.
    root->Clunk().IgnoreError();
  }
  // Fid destructors clunk without waiting for the reply. Hang up only once
  // every reply is in, so the server never writes into a closed socket
  // (diod logs that, and can die of the SIGPIPE); bounded, since a server
  // that stops answering must not keep us. A timeout or a dead connection
  // changes nothing of the exit status either.
  (*client)->WaitIdle(std::chrono::seconds(1)).IgnoreError();
  return rc;
}

}  // namespace ninep::cmd

int main(int argc, char** argv) {
  ninep::KeepFrameBuffersInHeap();  // read and write stream msize-sized frames
  return ninep::cmd::Main(argc, argv);
}
