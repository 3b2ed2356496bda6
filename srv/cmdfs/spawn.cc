// spawn.cc: fork/exec of one command (see spawn.h).
//
// Why not uv_spawn: it runs fork on the loop thread, reaps without rusage
// (wait records need user and system times), and has no hook between fork
// and exec for rlimits, nice and cgroup membership. The classic close-on-exec
// error pipe gives the same "exec failed" answer uv_spawn would.
#include "cmdfs/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>

namespace cmdfs {

namespace {

// What the child reports through the error pipe before it exits.
struct ChildError {
  int stage;  // which step failed
  int err;    // its errno
};
enum Stage { kStageDir = 1, kStageExec, kStageSession, kStageIo, kStageUser };

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

// The directories of PATH to try, as execvp would, from the child's env.
std::vector<std::string> Candidates(const SpawnSpec& spec) {
  const std::string& prog = spec.argv[0];
  if (prog.find('/') != std::string::npos) return {prog};
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& e : spec.envp) {
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  }
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t colon = path.find(':', start);
    std::string d =
        path.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    if (d.empty()) d = ".";
    out.push_back(d + "/" + prog);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

// Writes a decimal number with write(2) only (async-signal-safe).
void WritePid(int fd, pid_t pid) {
  char buf[24];
  int n = 0;
  char tmp[24];
  unsigned long v = static_cast<unsigned long>(pid);
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  for (int i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  ssize_t r = write(fd, buf, n);
  (void)r;
}

void SetLimit(int res, uint64_t soft, uint64_t hard) {
  struct rlimit rl;
  rl.rlim_cur = soft;
  rl.rlim_max = hard;
  setrlimit(res, &rl);  // best effort: an unprivileged server may not raise hard limits
}

[[noreturn]] void ChildFail(int errfd, int stage, int err) {
  ChildError e{stage, err};
  ssize_t r = write(errfd, &e, sizeof e);
  (void)r;
  _exit(127);
}

// The child between fork and exec: async-signal-safe calls only.
[[noreturn]] void Child(const SpawnSpec& spec, char* const* argv, char* const* envp,
                        const std::vector<std::string>& cands, int in_r, int out_w, int err_w,
                        int errfd) {
  // Signal state is inherited from a worker thread of a server that ignores
  // SIGPIPE; the command must start with the defaults.
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, nullptr);

  if (setsid() < 0) ChildFail(errfd, kStageSession, errno);
  // A safety net should cmdfs die without killing its commands.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (int fd : spec.cgroup_fds) WritePid(fd, getpid());

  if (dup2(in_r, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) {
    ChildFail(errfd, kStageIo, errno);
  }
  if (spec.run_as) {
    // Groups first: once the uid is dropped they can no longer change.
    if (setgroups(spec.groups.size(), spec.groups.data()) < 0 || setgid(spec.gid) < 0 ||
        setuid(spec.uid) < 0)
      ChildFail(errfd, kStageUser, errno);
  }
  if (!spec.dir.empty() && chdir(spec.dir.c_str()) < 0) ChildFail(errfd, kStageDir, errno);
  if (spec.nice > 0) {
    errno = 0;
    int cur = getpriority(PRIO_PROCESS, 0);
    if (errno == 0) setpriority(PRIO_PROCESS, 0, cur + spec.nice);
  }
  const Limits& l = spec.limits;
  if (l.cpu_s) SetLimit(RLIMIT_CPU, l.cpu_s, l.cpu_s + 1);
  if (l.mem) SetLimit(RLIMIT_AS, l.mem, l.mem);
  if (l.procs && !spec.procs_in_cgroup) SetLimit(RLIMIT_NPROC, l.procs, l.procs);
    // Every other descriptor of the server (connections, other commands'
    // pipes) must not leak into the command, whatever opened it.
#ifdef SYS_close_range
  syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
#endif

  int best = ENOENT;
  for (const auto& c : cands) {
    execve(c.c_str(), argv, envp);
    int e = errno;
    // As execvp: a permission problem beats "not found" in a later directory.
    if (e == EACCES)
      best = EACCES;
    else if (e != ENOENT && e != ENOTDIR && best != EACCES)
      best = e;
    if (cands.size() == 1) best = e;
  }
  ChildFail(errfd, kStageExec, best);
}

}  // namespace

ninep::Status RunAs(const std::string& user, SpawnSpec* spec) {
  struct passwd pw, *res = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &res) != 0 || res == nullptr)
    return ninep::Status(ENOENT, "exec: no local user " + user + " to run as");
  int n = 64;
  std::vector<gid_t> groups(n);
  if (getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n) < 0) {
    groups.resize(n);
    getgrouplist(pw.pw_name, pw.pw_gid, groups.data(), &n);
  }
  groups.resize(n);
  spec->run_as = true;
  spec->uid = pw.pw_uid;
  spec->gid = pw.pw_gid;
  spec->groups = std::move(groups);
  return ninep::Status::Ok();
}

std::string ErrText(int err) {
  char buf[256];
  // GNU strerror_r returns the text (maybe not in buf).
  const char* s = strerror_r(err, buf, sizeof buf);
  return s ? std::string(s) : std::string("error ") + std::to_string(err);
}

ninep::Result<Spawned> Spawn(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty())
    return ninep::Status(EINVAL, "exec: empty command");
  std::vector<std::string> cands = Candidates(spec);
  std::vector<char*> argv, envp;
  for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : spec.envp) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, ep[2] = {-1, -1};
  auto close_all = [&] {
    for (int* p : {in, out, err, ep}) {
      CloseFd(&p[0]);
      CloseFd(&p[1]);
    }
  };
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
      pipe2(ep, O_CLOEXEC) < 0) {
    int e = errno;
    close_all();
    return ninep::Status(e, "exec: pipe: " + ErrText(e));
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close_all();
    return ninep::Status(e, "exec: fork: " + ErrText(e));
  }
  if (pid == 0) Child(spec, argv.data(), envp.data(), cands, in[0], out[1], err[1], ep[1]);

  CloseFd(&in[0]);
  CloseFd(&out[1]);
  CloseFd(&err[1]);
  CloseFd(&ep[1]);
  ChildError ce{0, 0};
  ssize_t n;
  do {
    n = read(ep[0], &ce, sizeof ce);
  } while (n < 0 && errno == EINTR);
  CloseFd(&ep[0]);
  if (n == static_cast<ssize_t>(sizeof ce)) {
    close_all();
    std::string why = ErrText(ce.err);
    switch (ce.stage) {
      case kStageDir:
        return ninep::Status(ce.err, "dir " + spec.dir + ": " + why);
      case kStageExec:
        return ninep::Status(ce.err, "exec " + spec.argv[0] + ": " + why);
      case kStageSession:
        return ninep::Status(ce.err, "exec: setsid: " + why);
      case kStageUser:
        return ninep::Status(ce.err, "exec: becoming uid " + std::to_string(spec.uid) + ": " + why);
      default:
        return ninep::Status(ce.err, "exec: stdio: " + why);
    }
  }
  // EOF: execve closed the pipe. (A short read cannot happen for a write of
  // a few bytes to a pipe.)
  for (int fd : {in[1], out[0], err[0]}) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  Spawned s;
  s.pid = pid;
  s.in = in[1];
  s.out = out[0];
  s.err = err[0];
  return s;
}

}  // namespace cmdfs
