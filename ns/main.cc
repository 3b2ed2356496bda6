// main.cc: the ns command: `ns exec` makes a namespace; `ns bind`, `ns
// mount`, `ns unmount`, `ns clear` change the caller's, live, through its
// helper; `ns show` prints one as a namespace file. See ns(1).
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "ninep/cmdline.h"
#include "ns/ctl.h"
#include "ns/exec.h"
#include "ns/nsfile.h"

namespace {

constexpr char kVerbs[] =
    "verbs:\n"
    "  exec [-f NSFILE]... [-e 'OP ARGS']... [--] [CMD ARGS...]\n"
    "                       run CMD (default $SHELL) in a namespace of its own\n"
    "  bind [-abcq] NEW OLD NEW also at OLD: replace, -b before, -a after, -c create\n"
    "  mount [-abcqL] ADDR OLD [ANAME]\n"
    "                       the 9P tree at ADDR at OLD (mount9p; -L 9P2000.L)\n"
    "  unmount [NEW] OLD    undo one member, or everything at OLD\n"
    "  clear                an empty root with only /proc, /dev and /tmp\n"
    "  show [PID]           the namespace as a namespace file (namespace(5))\n"
    "bind, mount, unmount and clear change the namespace of the calling shell\n"
    "and its children; they work inside a namespace made by ns exec.\n";

int Live(const ninep::Command& top, const std::vector<std::string>& words) {
  for (const auto& w : words) {
    if (w == "-h" || w == "--help") {
      std::printf("%s", top.Help().c_str());
      return ninep::kExitOk;
    }
    if (w == "--") break;
  }
  auto op = ns::ParseOp(words);
  if (!op.ok()) top.UsageError(op.status().message());
  auto self = ns::MountNsOf(0);
  if (!self.ok()) top.Fatal(words[0], self.status().message());
  char cwd[PATH_MAX];
  std::vector<std::string> req{"op", getcwd(cwd, sizeof cwd) != nullptr ? cwd : "/"};
  req.insert(req.end(), words.begin(), words.end());
  auto r = ns::CallCtl(*self, req);
  if (!r.ok()) {
    std::fprintf(stderr, "ns: %s\n", r.status().message().c_str());
    return ninep::kExitFail;
  }
  return ninep::kExitOk;
}

int Show(const ninep::Command& top, const std::vector<std::string>& args) {
  if (args.size() > 1) top.UsageError("usage: ns show [PID]");
  pid_t pid = 0;
  if (args.size() == 1) {
    char* end = nullptr;
    long v = std::strtol(args[0].c_str(), &end, 10);
    if (*end != '\0' || v <= 0 || v > INT_MAX) top.UsageError("show: bad PID " + args[0]);
    pid = static_cast<pid_t>(v);
  }
  auto ino = ns::MountNsOf(pid);
  if (!ino.ok()) top.Fatal("show", ino.status().message());
  std::string log;
  if (auto r = ns::CallCtl(*ino, {"show"}); r.ok()) {
    log = *r;
  } else if (r.status().err() != ENOENT) {
    top.Fatal("show", r.status().message());
  }
  // As Plan 9's ns, the working directory closes the description.
  std::string cwd;
  char buf[PATH_MAX];
  if (pid == 0) {
    if (getcwd(buf, sizeof buf) != nullptr) cwd = buf;
  } else {
    ssize_t n = readlink(("/proc/" + std::to_string(pid) + "/cwd").c_str(), buf, sizeof buf - 1);
    if (n > 0) cwd.assign(buf, static_cast<size_t>(n));
  }
  std::printf("%s", log.c_str());
  if (!cwd.empty()) std::printf("cd %s\n", ns::Quote(cwd).c_str());
  return ninep::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  ninep::Command top("ns", "verb [args...]");
  top.Epilog(kVerbs);
  std::vector<std::string> rest = top.ParseOrExit(argc, argv);
  if (rest.empty()) top.UsageError("no verb");
  const std::string verb = rest[0];
  if (verb == "exec") {
    std::vector<ns::Source> sources;
    ninep::Command ex("ns exec", "[CMD ARGS...]");
    ex.Add({'f', "file", "NSFILE", "apply the namespace file NSFILE (namespace(5))",
            [&sources](std::string_view v) {
              sources.push_back({true, std::string(v)});
              return ninep::Status::Ok();
            }});
    ex.Add({'e', "op", "'OP ARGS'", "apply one operation, as a line of a namespace file",
            [&sources](std::string_view v) {
              sources.push_back({false, std::string(v)});
              return ninep::Status::Ok();
            }});
    std::vector<std::string> args(rest.begin(), rest.end());
    args[0] = "exec";
    auto parsed = ex.Parse(args);
    if (!parsed.ok()) ex.UsageError(parsed.status().message());
    if (parsed->help) {
      std::printf("%s", ex.Help().c_str());
      return ninep::kExitOk;
    }
    return ns::RunExec(sources, parsed->rest);
  }
  if (verb == "show") return Show(top, {rest.begin() + 1, rest.end()});
  if (verb == "bind" || verb == "mount" || verb == "unmount" || verb == "clear") {
    return Live(top, rest);
  }
  top.UsageError("unknown verb " + verb);
}
