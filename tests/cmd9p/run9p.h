// run9p.h: helpers for the bin/9p tests: run a command with stdin from a
// file and its output captured, with its exit status, wall time and peak
// RSS; start the servers bin/9p is tested against (ramfs, exportfs, diod).
// Thread-safety: one helper object per thread.
#ifndef NINEP_TESTS_CMD9P_RUN9P_H_
#define NINEP_TESTS_CMD9P_RUN9P_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "testutil.h"

namespace ninep::testing {

// What a finished command did.
struct RunResult {
  int status = -1;       // exit status; -1 when killed or not started
  std::string out, err;  // stdout (unless sent to a file) and stderr
  double secs = 0;       // wall time
  long maxrss_kb = 0;    // peak resident set (RunMeasured only)
  bool timed_out = false;
};

// Runs argv with stdin from in_path ("" = /dev/null) and stdout to out_path
// ("" = captured in .out); stderr is captured. `env` entries ("K=V") are
// added to the environment; a "K=" entry removes K. Kills the child after
// timeout_s.
inline RunResult RunCmd(const std::vector<std::string>& argv, const std::string& in_path = "",
                        const std::string& out_path = "", int timeout_s = 60,
                        const std::vector<std::string>& env = {}) {
  RunResult r;
  char out_tmpl[] = "/tmp/ninep-9p-out-XXXXXX", err_tmpl[] = "/tmp/ninep-9p-err-XXXXXX";
  int outfd = out_path.empty() ? mkstemp(out_tmpl)
                               : open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  int errfd = mkstemp(err_tmpl);
  int infd = open(in_path.empty() ? "/dev/null" : in_path.c_str(), O_RDONLY);
  if (outfd < 0 || errfd < 0 || infd < 0) return r;
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(infd, 0);
    dup2(outfd, 1);
    dup2(errfd, 2);
    for (const std::string& e : env) {
      size_t eq = e.find('=');
      if (eq == e.size() - 1) {
        unsetenv(e.substr(0, eq).c_str());
      } else {
        putenv(const_cast<char*>(e.c_str()));
      }
    }
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(infd);
  close(outfd);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  pollfd p{pidfd, POLLIN, 0};
  if (pidfd < 0 || poll(&p, 1, timeout_s * 1000) <= 0) {
    kill(pid, SIGKILL);
    r.timed_out = true;
  }
  if (pidfd >= 0) close(pidfd);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  if (out_path.empty()) {
    r.out = ReadFile(out_tmpl);
    unlink(out_tmpl);
  }
  r.err = ReadFile(err_tmpl);
  close(errfd);
  unlink(err_tmpl);
  return r;
}

// The lines of s, without their newlines (std::regex is avoided in these
// tests: g++ 12 warns inside it under the sanitizer build).
inline std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  for (size_t p = 0, nl; p < s.size(); p = nl + 1) {
    nl = s.find('\n', p);
    if (nl == std::string::npos) nl = s.size();
    out.push_back(s.substr(p, nl - p));
  }
  return out;
}

// The blank-separated words of a line.
inline std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> out;
  for (size_t p = 0; p < line.size();) {
    size_t b = line.find_first_not_of(' ', p);
    if (b == std::string::npos) break;
    size_t e = line.find(' ', b);
    if (e == std::string::npos) e = line.size();
    out.push_back(line.substr(b, e - b));
    p = e;
  }
  return out;
}

// True when s is one or more decimal digits.
inline bool IsNumber(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// RunCmd, also measuring the command's peak RSS. The kernel charges a
// child with its parent's resident pages from before its exec (a forked
// copy of this big test process), so the command is started by
// /usr/bin/time, a small process, and its figure is used.
inline RunResult RunMeasured(const std::vector<std::string>& argv, const std::string& in_path,
                             const std::string& out_path, int timeout_s,
                             const std::vector<std::string>& env = {}) {
  char tmpl[] = "/tmp/ninep-9p-rss-XXXXXX";
  int fd = mkstemp(tmpl);
  if (fd >= 0) close(fd);
  std::vector<std::string> v{"/usr/bin/time", "-f", "%M", "-o", tmpl};
  v.insert(v.end(), argv.begin(), argv.end());
  RunResult r = RunCmd(v, in_path, out_path, timeout_s, env);
  r.maxrss_kb = atol(ReadFile(tmpl).c_str());
  unlink(tmpl);
  return r;
}

// A server for bin/9p to talk to: "ramfs", "exportfs" (serving a temp
// directory) or "diod" (9P2000.L only, exporting a temp directory, which is
// also its aname).
class TestServer {
 public:
  // Starts the server; false on failure.
  bool Start(const std::string& kind) {
    kind_ = kind;
    if (kind == "ramfs") {
      addr_ = StartServer(&proc_, "ramfs", {});
    } else if (kind == "exportfs") {
      addr_ = StartServer(&proc_, "exportfs", {"-r", dir_.path()});
    } else if (kind == "diod") {
      aname_ = dir_.path();
      log_ = logdir_.path() + "/diod.log";
      addr_ = StartDiod(&proc_, dir_.path(), {"-c", "/dev/null", "-L", log_});
    }
    return !addr_.empty();
  }
  const std::string& addr() const { return addr_; }
  // The aname to attach ("" for ramfs and exportfs).
  const std::string& aname() const { return aname_; }
  // The exported directory (exportfs, diod), to check results directly.
  const std::string& dir() const { return dir_.path(); }
  const std::string& kind() const { return kind_; }
  // diod's log file ("" for the others).
  const std::string& log() const { return log_; }
  Process& proc() { return proc_; }

 private:
  std::string kind_, addr_, aname_, log_;
  TempDir dir_, logdir_;
  Process proc_;
};

}  // namespace ninep::testing

#endif  // NINEP_TESTS_CMD9P_RUN9P_H_
