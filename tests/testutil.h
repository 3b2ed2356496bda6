// testutil.h: helpers for integration tests that start real binaries.
//
// Process starts a program with its stdout on a pipe (stderr inherited), so
// a server started with `-a tcp!127.0.0.1!0` can be asked for the address it
// printed. The destructor kills the process (by its PID, which only it
// started, and only while unreaped) and reaps it. Thread-safety: one Process per thread.
#ifndef NINEP_TESTS_TESTUTIL_H_
#define NINEP_TESTS_TESTUTIL_H_

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
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

  // Starts argv[0] (a path) with argv; stdin from a pipe when with_stdin.
  // Returns false when the program cannot be started.
  bool Start(const std::vector<std::string>& argv, bool with_stdin = false) {
    int out[2], in[2] = {-1, -1};
    if (pipe2(out, O_CLOEXEC) != 0) return false;
    if (with_stdin && pipe2(in, O_CLOEXEC) != 0) return false;
    pid_ = fork();
    if (pid_ < 0) return false;
    if (pid_ == 0) {
      dup2(out[1], 1);
      if (with_stdin) dup2(in[0], 0);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    reaped_ = false;
    close(out[1]);
    out_ = out[0];
    if (with_stdin) {
      close(in[0]);
      in_ = in[1];
    }
    return true;
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

  pid_t pid_ = -1;
  int out_ = -1, in_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  std::string buf_;
};

// Starts a server binary with the given arguments plus `-a tcp!127.0.0.1!0`
// and returns its bound address (the one line it prints), or "" on failure.
inline std::string StartServer(Process* p, const std::string& bin, std::vector<std::string> args) {
  std::vector<std::string> argv{Bin(bin), "-a", "tcp!127.0.0.1!0"};
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

}  // namespace ninep::testing

#endif  // NINEP_TESTS_TESTUTIL_H_
