// exec.cc: `ns exec` (see exec.h for the processes and why there are three).
#include "ns/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <thread>

#include "ns/ctl.h"
#include "ns/namespace.h"
#include "ns/nsfile.h"

namespace ns {
namespace {

std::string Cwd() {
  char buf[PATH_MAX];
  return getcwd(buf, sizeof buf) != nullptr ? std::string(buf) : std::string("/");
}

// The directory ns was run from: mount9p is beside it.
std::string BinDir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}

bool WriteFile(const std::string& path, const std::string& text) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  close(fd);
  return ok;
}

int Fatal(const std::string& msg) {
  std::fprintf(stderr, "ns: %s\n", msg.c_str());
  return 1;
}

// The log of the namespace we are in, when ns exec made it: a nested
// namespace starts as a copy of its parent's view, so its record does too.
std::vector<std::string> ParentLog() {
  std::vector<std::string> lines;
  auto ino = MountNsOf(0);
  if (!ino.ok()) return lines;
  auto log = CallCtl(*ino, {"log"});
  if (!log.ok()) return lines;
  std::stringstream ss(*log);
  std::string l;
  while (std::getline(ss, l)) {
    if (!l.empty()) lines.push_back(l);
  }
  return lines;
}

int ExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Answers one request of `ns bind`, `ns show`, a nested `ns exec`.
void Handle(CtlRequest* r, Namespace* nsx, ino_t self) {
  const std::string verb = r->words.empty() ? "" : r->words[0];
  // Reading the record is `ns show PID`, for whoever may see the process
  // (root outside a user namespace shows here as an unmapped uid).
  if (verb == "log" || verb == "show") {
    ReplyCtl(r, Status::Ok(), nsx->Show());
    return;
  }
  if (r->uid != getuid() && r->uid != 0) {
    ReplyCtl(r, Status(EPERM, "permission denied"), "");
    return;
  }
  if (verb != "op" || r->words.size() < 3) {
    ReplyCtl(r, Status(EINVAL, "bad request"), "");
    return;
  }
  // Only a process in this namespace may change it: another one's
  // `ns bind` would otherwise change a view it does not have.
  auto peer = r->pid > 0 ? MountNsOf(r->pid) : Result<ino_t>(Status(EPERM, ""));
  if (!peer.ok() || *peer != self) {
    ReplyCtl(r, Status(EPERM, "not a process of this namespace"), "");
    return;
  }
  std::vector<std::string> words(r->words.begin() + 2, r->words.end());
  auto op = ParseOp(words);
  if (!op.ok()) {
    ReplyCtl(r, op.status(), "");
    return;
  }
  Status st = nsx->Apply(*op, r->words[1], nullptr);
  if (st.ok()) st = nsx->Finish();
  if (!st.ok() && op->quiet) st = Status::Ok();
  ReplyCtl(r, st, "");
}

// pid 1 of the namespace: builds it, runs cmd, serves requests until cmd
// exits; returns cmd's exit status.
int Helper(const std::vector<Op>& ops, const std::vector<std::string>& cmd,
           const std::string& rundir, const std::string& cwd, std::vector<std::string> parent_log) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (unshare(CLONE_NEWNS) != 0)
    return Fatal(std::string("exec: mount namespace: ") + std::strerror(errno));
  // Nothing done here may reach the namespace we came from.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    return Fatal(std::string("exec: make / private: ") + std::strerror(errno));
  }
  if (mount("ns", rundir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") != 0) {
    return Fatal("exec: tmpfs on " + rundir + ": " + std::strerror(errno));
  }
  // /proc for the new PID namespace, so pids inside (ns show $$) mean what
  // they say; where the kernel refuses (a masked /proc), the old one stays.
  mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);

  auto self = MountNsOf(0);
  if (!self.ok()) return Fatal("exec: " + self.status().message());
  auto lfd = ListenCtl(*self);
  if (!lfd.ok()) return Fatal("exec: " + lfd.status().message());

  Namespace nsx(rundir, BinDir());
  nsx.SetLog(std::move(parent_log));
  ExecState es;
  for (const auto& op : ops) {
    Status st = nsx.Apply(op, cwd, &es);
    if (!st.ok() && !op.quiet) return Fatal(op.Where() + ": " + st.message());
  }
  if (Status st = nsx.Finish(); !st.ok()) return Fatal(st.message());

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) return Fatal(std::string("exec: signalfd: ") + std::strerror(errno));

  pid_t child = fork();
  if (child < 0) return Fatal(std::string("exec: fork: ") + std::strerror(errno));
  if (child == 0) {
    sigprocmask(SIG_UNBLOCK, &chld, nullptr);
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, 0);
    const std::string dir = es.cwd.empty() ? cwd : es.cwd;
    if (chdir(dir.c_str()) != 0) {
      if (!es.cwd.empty()) _exit(Fatal("cd: " + dir + ": " + std::strerror(errno)));
      if (chdir("/") != 0) _exit(Fatal(std::string("exec: chdir /: ") + std::strerror(errno)));
    }
    std::vector<char*> argv;
    argv.reserve(cmd.size() + 1);
    for (const auto& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(Fatal("exec: " + cmd[0] + ": " + std::strerror(errno)));
  }

  for (;;) {
    pollfd p[2] = {{sfd, POLLIN, 0}, {*lfd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return Fatal(std::string("exec: poll: ") + std::strerror(errno));
    }
    if (p[0].revents != 0) {
      signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) > 0) {
      }
      int status = 0;
      pid_t pid;
      // pid 1 reaps every orphan of the namespace (mount9p daemons too).
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        // Returning ends pid 1: the kernel kills the rest of the PID
        // namespace, and the mount namespace goes with its last process.
        if (pid == child) {
          nsx.Shutdown();
          return ExitCode(status);
        }
      }
    }
    if (p[1].revents != 0) {
      auto r = AcceptCtl(*lfd);
      if (r.ok()) Handle(&*r, &nsx, *self);
    }
  }
}

}  // namespace

int RunExec(const std::vector<Source>& sources, std::vector<std::string> cmd) {
  auto env = ProcessEnv();
  std::vector<Op> ops;
  int eline = 0;
  for (const auto& s : sources) {
    auto more = s.file ? ParseFile(s.text, env) : ParseLine(s.text, "-e", ++eline, env);
    if (!more.ok()) return Fatal(more.status().message());
    ops.insert(ops.end(), more->begin(), more->end());
  }
  if (cmd.empty()) {
    const char* sh = getenv("SHELL");
    cmd.emplace_back(sh != nullptr && *sh != '\0' ? sh : "/bin/sh");
  }
  const std::string cwd = Cwd();
  std::vector<std::string> parent_log = ParentLog();

  const char* tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp != nullptr && *tmp == '/' ? tmp : "/tmp") + "/ns.XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr)
    return Fatal("exec: mkdtemp " + tmpl + ": " + std::strerror(errno));
  const std::string rundir = tmpl;

  const uid_t uid = geteuid();
  const gid_t gid = getegid();
  if (uid != 0) {
    // An ordinary user gets the capabilities to mount inside a user
    // namespace of its own, in which it keeps its own uid and gid.
    if (unshare(CLONE_NEWUSER) != 0) {
      int err = errno;
      rmdir(rundir.c_str());
      return Fatal(std::string("exec: user namespace: ") + std::strerror(err) +
                   " (are unprivileged user namespaces enabled?)");
    }
    if (!WriteFile("/proc/self/setgroups", "deny") ||
        !WriteFile("/proc/self/uid_map", std::to_string(uid) + " " + std::to_string(uid) + " 1") ||
        !WriteFile("/proc/self/gid_map", std::to_string(gid) + " " + std::to_string(gid) + " 1")) {
      int err = errno;
      rmdir(rundir.c_str());
      return Fatal(std::string("exec: user namespace map: ") + std::strerror(err));
    }
  }
  if (unshare(CLONE_NEWPID) != 0) {
    int err = errno;
    rmdir(rundir.c_str());
    return Fatal(std::string("exec: PID namespace: ") + std::strerror(err));
  }
  std::fflush(nullptr);
  pid_t helper = fork();
  if (helper < 0) return Fatal(std::string("exec: fork: ") + std::strerror(errno));
  if (helper == 0) {
    int code = Helper(ops, cmd, rundir, cwd, std::move(parent_log));
    std::fflush(nullptr);
    _exit(code);
  }
  // The terminal's ^C and ^\ are for the command.
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  int status = 0;
  while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {
  }
  // The mount namespace is gone with its last process; its tmpfs may take
  // a moment to leave the directory.
  for (int i = 0; i < 200 && rmdir(rundir.c_str()) != 0 && errno == EBUSY; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // This process can no longer make a child: its PID namespace for
  // children lost its init with the helper, and fork or clone now fail
  // with ENOMEM. Exit here, skipping the at-exit handlers, since one of
  // them (LeakSanitizer's tracer thread in a sanitizer build) is such a
  // clone and would turn a clean exit into a fatal error.
  std::fflush(nullptr);
  _exit(ExitCode(status));
}

}  // namespace ns
