// diod.h: starts Debian's diod (a 9P2000.L server nobody here wrote) on
// 127.0.0.1 exporting a directory, for the client's interop tests.
// Thread-safety: one Diod per test thread.
#ifndef NINEP_TESTS_CLIENT_DIOD_H_
#define NINEP_TESTS_CLIENT_DIOD_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "testutil.h"

namespace ninep::testing {

inline constexpr const char* kDiodPath = "/usr/sbin/diod";

// A port nothing listens on right now: bind an ephemeral one, let it go.
inline uint16_t FreeLoopbackPort() {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof in;
  if (bind(s, reinterpret_cast<sockaddr*>(&in), sizeof in) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(&in), &len) != 0) {
    close(s);
    return 0;
  }
  close(s);
  return ntohs(in.sin_port);
}

// True when something accepts TCP connections on 127.0.0.1:port.
inline bool Accepting(uint16_t port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(s, reinterpret_cast<sockaddr*>(&in), sizeof in) == 0;
  close(s);
  return ok;
}

// diod in the foreground, no authentication, exporting one directory. The
// aname to attach with is that directory; we run as root, so uname "root".
class Diod {
 public:
  // Starts diod; retries once on a fresh port (another process may take
  // the free port between our probe and diod's bind).
  bool Start(const std::string& dir) {
    dir_ = dir;
    for (int attempt = 0; attempt < 2; attempt++) {
      uint16_t port = FreeLoopbackPort();
      if (port == 0) continue;
      proc_ = std::make_unique<Process>();
      if (!proc_->Start({kDiodPath, "-f", "-n", "-d", "0", "-L", "stderr", "-l",
                         "127.0.0.1:" + std::to_string(port), "-e", dir}))
        continue;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (std::chrono::steady_clock::now() < deadline) {
        if (Accepting(port)) {
          addr_ = "tcp!127.0.0.1!" + std::to_string(port);
          return true;
        }
        // Exited already? (WNOWAIT: Process reaps it, so its pid is never
        // signalled after reuse.)
        siginfo_t si{};
        if (waitid(P_PID, proc_->pid(), &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0)
          break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      proc_.reset();
    }
    return false;
  }
  // Kills diod now (SIGKILL), as a crash would.
  void Kill() {
    if (proc_) proc_->Kill(SIGKILL);
  }
  const std::string& addr() const { return addr_; }
  const std::string& aname() const { return dir_; }

 private:
  std::unique_ptr<Process> proc_;
  std::string addr_, dir_;
};

}  // namespace ninep::testing

#endif  // NINEP_TESTS_CLIENT_DIOD_H_
