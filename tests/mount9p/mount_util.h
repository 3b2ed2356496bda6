// mount_util.h: helpers for mount9p's integration tests: a RAII mount that
// always unmounts what it mounted, diod on a free port, and bounded waits.
//
// Every Mount makes its own mountpoint under a temporary directory; its
// destructor runs `fusermount3 -u`, then `umount -l` if that failed, stops
// the mount9p it started (by PID), and removes the directory, so a failing
// test leaves no mount behind. Thread-safety: one object per thread.
#ifndef NINEP_TESTS_MOUNT9P_MOUNT_UTIL_H_
#define NINEP_TESTS_MOUNT9P_MOUNT_UTIL_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "testutil.h"

namespace ninep::testing {

// Polls cond every 10 ms until it holds or timeout_ms pass; returns it.
inline bool WaitFor(const std::function<bool()>& cond, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// True when `path` is a mount point in this mount namespace.
inline bool IsMounted(const std::string& path) {
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream ss(line);
    std::string id, parent, dev, root, mnt;
    ss >> id >> parent >> dev >> root >> mnt;
    if (mnt == path) return true;
  }
  return false;
}

// A child process that knows when it has been reaped, so it never signals
// a PID that may belong to someone else by then. Stdout goes to a pipe.
class Child {
 public:
  Child() = default;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (Running()) {
      kill(pid_, SIGKILL);
      WaitExit(5000);
    }
    if (out_ >= 0) close(out_);
  }

  // Starts argv (argv[0] a path).
  bool Start(const std::vector<std::string>& argv) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return false;
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      dup2(p[1], 1);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(p[1]);
    out_ = p[0];
    return true;
  }
  // True until the child has exited (and then reaps it).
  bool Running() {
    if (pid_ <= 0 || reaped_) return false;
    int s;
    if (waitpid(pid_, &s, WNOHANG) == pid_) {
      reaped_ = true;
      status_ = s;
      return false;
    }
    return true;
  }
  // Waits at most timeout_ms for the exit; returns the wait status or -1.
  int WaitExit(int timeout_ms) {
    if (!WaitFor([&] { return !Running(); }, timeout_ms)) return -1;
    return status_;
  }
  // Sends sig if the child still runs.
  void Signal(int sig) {
    if (Running()) kill(pid_, sig);
  }
  // Reads stdout until EOF or timeout_ms; returns what came.
  std::string ReadAll(int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::string out;
    out.swap(buf_);
    for (;;) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (left <= 0) return out;
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, left) <= 0) return out;
      char b[4096];
      ssize_t n = read(out_, b, sizeof b);
      if (n <= 0) return out;
      out.append(b, n);
    }
  }
  // Reads one line of stdout (without the newline); "" on timeout or EOF.
  std::string ReadLine(int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      deadline - std::chrono::steady_clock::now())
                                      .count());
      if (left <= 0) return "";
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, left) <= 0) return "";
      char b[4096];
      ssize_t n = read(out_, b, sizeof b);
      if (n <= 0) return "";
      buf_.append(b, n);
    }
  }
  pid_t pid() const { return pid_; }

 private:
  std::string buf_;
  pid_t pid_ = -1;
  int out_ = -1;
  bool reaped_ = false;
  int status_ = -1;
};

// A mount9p process and the mountpoint it serves.
class Mount {
 public:
  Mount() {
    mnt_ = dir_.path() + "/mnt";
    mkdir(mnt_.c_str(), 0755);
  }
  Mount(const Mount&) = delete;
  Mount& operator=(const Mount&) = delete;
  ~Mount() { Unmount(); }
  // True when a wait status says "exited 0" (sanitizer reports at exit
  // make it nonzero).
  static bool CleanExit(int st) { return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0; }

  // Starts `mount9p -f ARGS... ADDR MNT` and waits until the mount is up.
  bool Start(const std::string& addr, std::vector<std::string> args = {}) {
    std::vector<std::string> argv{Bin("mount9p"), "-f"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(addr);
    argv.push_back(mnt_);
    if (!proc_.Start(argv)) return false;
    bool up = WaitFor([&] { return IsMounted(mnt_) || !proc_.Running(); }, 10000);
    return up && IsMounted(mnt_);
  }

  // Unmounts (if mounted) and waits for mount9p to exit (killing it after
  // 5 s). Returns its wait status, -1 if it had to be killed. Safe to call
  // twice.
  int Unmount() {
    if (IsMounted(mnt_)) {
      int st;
      Sh("fusermount3 -u '" + mnt_ + "' 2>/dev/null", &st);
      if (st != 0 || IsMounted(mnt_)) Sh("umount -l '" + mnt_ + "' 2>/dev/null");
    }
    int st = proc_.WaitExit(5000);
    if (st == -1) {
      proc_.Signal(SIGKILL);
      proc_.WaitExit(5000);
    }
    return st;
  }

  const std::string& path() const { return mnt_; }
  Child& proc() { return proc_; }
  // The temporary directory holding the mountpoint (for side files).
  const std::string& scratch() const { return dir_.path(); }

 private:
  TempDir dir_;
  std::string mnt_;
  Child proc_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
inline int FreePort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

// True when something accepts connections on 127.0.0.1:port.
inline bool Listening(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

// Starts Debian's diod exporting `dir` on a free port; returns its dial
// string ("" on failure). The aname to attach is `dir`.
inline std::string StartDiod(Process* p, const std::string& dir) {
  for (int attempt = 0; attempt < 5; attempt++) {
    int port = FreePort();
    std::string listen = "127.0.0.1:" + std::to_string(port);
    if (!p->Start({"/usr/sbin/diod", "-f", "-n", "-l", listen, "-e", dir, "-L", "/dev/null"})) {
      return "";
    }
    if (WaitFor([&] { return Listening(port); }, 5000)) {
      return "tcp!127.0.0.1!" + std::to_string(port);
    }
    p->Kill(SIGKILL);
  }
  return "";
}

}  // namespace ninep::testing

#endif  // NINEP_TESTS_MOUNT9P_MOUNT_UTIL_H_
