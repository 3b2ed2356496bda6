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

// diod in the foreground, no authentication, exporting one directory. The
// aname to attach with is that directory; we run as root, so uname "root".
class Diod {
 public:
  // Starts diod (see StartDiod in testutil.h).
  bool Start(const std::string& dir) {
    dir_ = dir;
    proc_ = std::make_unique<Process>();
    addr_ = StartDiod(proc_.get(), dir, {"-d", "0", "-L", "stderr"});
    return !addr_.empty();
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
