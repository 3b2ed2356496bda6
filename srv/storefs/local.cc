#include "storefs/local.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

namespace storefs {

using ninep::Errno;
using ninep::Result;
using ninep::Status;

namespace {
// True once something accepts connections on the unix socket at path.
bool Listening(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}
}  // namespace

LocalChunkds::~LocalChunkds() {
  for (pid_t p : pids_)
    if (p > 0) kill(p, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (pid_t p : pids_) {
    if (p <= 0) continue;
    int st;
    while (waitpid(p, &st, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(p, SIGKILL);
        waitpid(p, &st, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

Result<std::vector<std::string>> LocalChunkds::Start(const std::string& metadir, int n) {
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  if (len < 0) return Errno(errno, "/proc/self/exe");
  self[len] = 0;
  std::string bin = self;
  bin = bin.substr(0, bin.rfind('/') + 1) + "chunkd";
  if (access(bin.c_str(), X_OK) != 0) return Errno(errno, bin);
  std::vector<std::string> addrs;
  std::vector<std::string> socks;
  for (int i = 0; i < n; i++) {
    std::string dir = metadir + "/chunkd." + std::to_string(i);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Errno(errno, "mkdir " + dir);
    std::string sock = dir + "/sock";
    unlink(sock.c_str());  // a leftover of a killed run
    std::string addr = "unix!" + sock;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) return Errno(errno, "fork");
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(1);
      // stdout is storefs's (its bound address); the children keep quiet there.
      int devnull = open("/dev/null", O_WRONLY);
      if (devnull >= 0) dup2(devnull, 1);
      execl(bin.c_str(), "chunkd", "-a", addr.c_str(), "-d", dir.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    pids_.push_back(pid);
    addrs.push_back(addr);
    socks.push_back(sock);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (size_t i = 0; i < socks.size(); i++) {
    while (!Listening(socks[i])) {
      int st;
      if (waitpid(pids_[i], &st, WNOHANG) == pids_[i]) {
        pids_[i] = -1;
        return Status(EIO, "chunkd " + addrs[i] + " exited at start");
      }
      if (std::chrono::steady_clock::now() > deadline)
        return Status(ETIMEDOUT, "chunkd " + addrs[i] + " did not start listening");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return addrs;
}

}  // namespace storefs
