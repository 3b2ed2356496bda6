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
  Process& proc() { return proc_; }
  // The temporary directory holding the mountpoint (for side files).
  const std::string& scratch() const { return dir_.path(); }

 private:
  TempDir dir_;
  std::string mnt_;
  Process proc_;
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
