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

}  // namespace ninep::testing

#endif  // NINEP_TESTS_MOUNT9P_MOUNT_UTIL_H_
