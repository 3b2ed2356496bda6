// testutil.h: helpers for integration tests that start real binaries.
//
// Process starts a program with its stdout on a pipe (stderr inherited), so
// a server started with `-a tcp!127.0.0.1!0` can be asked for the address it
// printed. The destructor kills the process (by its PID, which only it
// started, and only while unreaped) and reaps it. Thread-safety: one Process per thread.
#ifndef NINEP_TESTS_TESTUTIL_H_
#define NINEP_TESTS_TESTUTIL_H_

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace ninep::testing {

// Path of a binary built by this tree ("exportfs" -> <build>/bin/exportfs).
inline std::string Bin(const std::string& name) { return std::string(NINEP_BIN_DIR) + "/" + name; }

// Polls cond every 5 ms until it holds or timeout_ms pass; returns it.
template <class F>
bool WaitFor(F cond, int timeout_ms = 5000) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// A child process with a pipe from its stdout (and optionally to its stdin).
// It knows when it has been reaped, so it never signals a PID that may
// belong to someone else by then.
class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { Kill(SIGKILL); }

  // Starts later children with SIGPIPE ignored, as systemd starts a
  // service (IgnoreSIGPIPE=yes, its default), rather than with whatever
  // disposition the test process has at the moment.
  void IgnoreSigpipeInChild() { ignore_sigpipe_ = true; }

  // Starts argv[0] (a path) with argv; stdin from a pipe when with_stdin.
  // Returns false when the program cannot be started.
  bool Start(const std::vector<std::string>& argv, bool with_stdin = false) {
    int out[2], in[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) != 0) return false;
    if (with_stdin && pipe2(in, O_CLOEXEC) != 0) return false;
    if (!Spawn(argv, out[1], with_stdin ? in[0] : -1)) return false;
    close(out[1]);
    out_ = out[0];
    if (with_stdin) {
      close(in[0]);
      in_ = in[1];
    }
    return true;
  }
  // Starts argv[0] with its stdin and stdout on one end of a socketpair, as
  // inetd or ssh runs a server; returns the other end (the caller's to
  // close), or -1 when the program cannot be started.
  int StartOnSocket(const std::vector<std::string>& argv) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    const bool ok = Spawn(argv, sv[1], sv[1]);
    close(sv[1]);
    if (!ok) {
      close(sv[0]);
      return -1;
    }
    return sv[0];
  }

  // Reads one line from the child's stdout, waiting at most timeout_ms.
  // Returns "" on timeout or EOF.
  std::string ReadLine(int timeout_ms = 10000) {
    auto deadline = Deadline(timeout_ms);
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      if (!Fill(deadline)) return "";
    }
  }
  // Reads stdout until EOF or timeout_ms; returns what came.
  std::string ReadAll(int timeout_ms) {
    auto deadline = Deadline(timeout_ms);
    while (Fill(deadline)) {
    }
    std::string out;
    out.swap(buf_);
    return out;
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
  // Sends sig if the child still runs.
  void Signal(int sig) {
    if (Running()) kill(pid_, sig);
  }
  // Waits at most timeout_ms for the exit; returns the wait status or -1.
  int WaitExit(int timeout_ms) {
    if (!WaitFor([&] { return !Running(); }, timeout_ms)) return -1;
    return status_;
  }
  // Sends sig to the child (if running) and reaps it; returns the wait status.
  int Kill(int sig = SIGTERM) {
    Signal(sig);
    return Wait();
  }
  // Waits for the child to exit; returns the wait status.
  int Wait() {
    if (pid_ > 0 && !reaped_) {
      while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
    }
    if (out_ >= 0) close(out_), out_ = -1;
    if (in_ >= 0) close(in_), in_ = -1;
    return status_;
  }
  pid_t pid() const { return pid_; }
  int stdin_fd() const { return in_; }
  int stdout_fd() const { return out_; }

 private:
  static std::chrono::steady_clock::time_point Deadline(int timeout_ms) {
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  }
  // Appends what stdout has to buf_, waiting until the deadline; false on
  // timeout or EOF.
  bool Fill(std::chrono::steady_clock::time_point deadline) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0 || out_ < 0) return false;
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) return false;
    char b[4096];
    ssize_t n = read(out_, b, sizeof b);
    if (n <= 0) return false;
    buf_.append(b, static_cast<size_t>(n));
    return true;
  }

  // Forks and execs argv with stdout_fd as its stdout and stdin_fd (when
  // not -1) as its stdin.
  bool Spawn(const std::vector<std::string>& argv, int stdout_fd, int stdin_fd) {
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      dup2(stdout_fd, 1);
      if (stdin_fd >= 0) dup2(stdin_fd, 0);
      if (ignore_sigpipe_) signal(SIGPIPE, SIG_IGN);
      execv(args[0], args.data());
      _exit(127);
    }
    reaped_ = false;
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1, in_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  bool ignore_sigpipe_ = false;
  std::string buf_;
};

// Starts a server binary with the given arguments plus `-a tcp!127.0.0.1!0`
// (with NINEP_TEST_TLS=1, `-a tls!127.0.0.1!0` and mutual TLS: TestTls)
// and returns its bound address (the one line it prints), or "" on failure.
// True when the tests should run over TLS: NINEP_TEST_TLS=1 (ctest's
// *_tls entries set it) makes StartServer serve tls!127.0.0.1!0 with
// mutual TLS, and points $NINEP_CERT, $NINEP_KEY and $NINEP_CA at a client
// certificate for "root", which lib9p's Client (with empty
// ClientOptions::tls) and RawConn then use.
inline bool TestTls() {
  const char* v = getenv("NINEP_TEST_TLS");
  return v != nullptr && std::string(v) == "1";
}

// The directory of tests/tls/mkcerts.sh's certificates, made once per
// process (and removed at exit); "" when that fails.
inline const std::string& TestCerts() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/ninep-certs-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return std::string();
    std::string d = tmpl;
    std::string cmd =
        "bash '" NINEP_SOURCE_DIR "/tests/tls/mkcerts.sh' '" + d + "' >/dev/null 2>&1";
    if (system(cmd.c_str()) != 0) return std::string();
    setenv("NINEP_CERT", (d + "/root.pem").c_str(), 1);
    setenv("NINEP_KEY", (d + "/root.key").c_str(), 1);
    setenv("NINEP_CA", (d + "/ca.pem").c_str(), 1);
    static std::string remove = "rm -rf '" + d + "'";
    atexit([] {
      if (system(remove.c_str()) != 0) {
      }
    });
    return d;
  }();
  return dir;
}

inline std::string StartServer(Process* p, const std::string& bin, std::vector<std::string> args) {
  std::vector<std::string> argv{Bin(bin), "-a", "tcp!127.0.0.1!0"};
  if (TestTls()) {
    const std::string& c = TestCerts();
    argv = {Bin(bin),          "-a",   "tls!127.0.0.1!0", "--cert", c + "/server.pem", "--key",
            c + "/server.key", "--ca", c + "/ca.pem"};
  }
  argv.insert(argv.end(), args.begin(), args.end());
  if (!p->Start(argv)) return "";
  return p->ReadLine(10000);
}

// A temporary directory removed (recursively) on destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ninep-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::string cmd = "rm -rf '" + path_ + "'";
    if (system(cmd.c_str()) != 0) {
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs a shell command; returns its stdout, and its exit status in *status.
inline std::string Sh(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char b[4096];
  size_t n;
  while ((n = fread(b, 1, sizeof b, f)) > 0) out.append(b, n);
  int st = pclose(f);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

// Writes a whole file.
inline void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}
// Reads a whole file ("" when missing).
inline std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// True when process pid itself listens on TCP 127.0.0.1:port (or the
// wildcard address): some socket among its fds is that listener in
// /proc/net/tcp. A connect() alone cannot tell our server from another
// test's that took the same port a moment earlier.
inline bool ListensOn(pid_t pid, int port) {
  char want[16];
  snprintf(want, sizeof want, ":%04X", port);
  std::ifstream tcp("/proc/net/tcp");
  std::string line, inode;
  std::getline(tcp, line);  // the header
  while (std::getline(tcp, line)) {
    std::istringstream ss(line);
    std::string sl, local, remote, state, queues, tr, retr, uid, timeout, ino;
    ss >> sl >> local >> remote >> state >> queues >> tr >> retr >> uid >> timeout >> ino;
    bool addr_ok = local.rfind("0100007F:", 0) == 0 || local.rfind("00000000:", 0) == 0;
    if (state == "0A" && addr_ok && local.size() >= 5 && local.substr(local.size() - 5) == want) {
      inode = ino;
      break;
    }
  }
  if (inode.empty()) return false;
  std::string target = "socket:[" + inode + "]";
  std::string fddir = "/proc/" + std::to_string(pid) + "/fd";
  for (int fd = 0; fd < 1024; fd++) {
    char buf[64];
    std::string link = fddir + "/" + std::to_string(fd);
    ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
    if (n > 0 && std::string(buf, static_cast<size_t>(n)) == target) return true;
  }
  return false;
}

// A TCP port on 127.0.0.1 that was free a moment ago (-1 if none).
inline int FreePort() {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  close(s);
  return port;
}

// A TCP socket listening on 127.0.0.1 at a port the kernel picks, stored
// in *port: a peer the test plays itself. Returns the fd (the caller's to
// close), or -1.
inline int ListenLoopback(int* port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s, 8) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (s >= 0) close(s);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return s;
}

// Starts Debian's diod in p, exporting dir on 127.0.0.1 (plus `extra`
// arguments), and returns its dial string, or "" when it would not start.
// diod cannot report the port it bound, so a free port is chosen first;
// another process may take it in between, so success means diod itself
// listens there, and a lost race is retried on a new port.
inline std::string StartDiod(Process* p, const std::string& dir,
                             const std::vector<std::string>& extra = {"-L", "/dev/null"}) {
  for (int attempt = 0; attempt < 5; attempt++) {
    int port = FreePort();
    if (port < 0) continue;
    // Debian's diod dies of SIGPIPE when a client hangs up while a reply is
    // on its way (seen in CI: the next dial is refused). Under systemd, as
    // packaged, SIGPIPE is ignored and it logs "Broken pipe" instead; a test
    // process that has not yet ignored SIGPIPE itself would pass on the
    // default, so say it here.
    p->IgnoreSigpipeInChild();
    std::vector<std::string> argv{
        "/usr/sbin/diod", "-f", "-n", "-l", "127.0.0.1:" + std::to_string(port), "-e", dir};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!p->Start(argv)) return "";
    if (WaitFor([&] { return ListensOn(p->pid(), port) || !p->Running(); }, 5000) && p->Running())
      return "tcp!127.0.0.1!" + std::to_string(port);
    p->Kill(SIGKILL);
  }
  return "";
}

}  // namespace ninep::testing

#endif  // NINEP_TESTS_TESTUTIL_H_
