// testutil.h: helpers for integration tests that start real binaries.
//
// Process starts a program with its stdout on a pipe (stderr inherited), so
// a server started with `-a tcp!127.0.0.1!0` can be asked for the address it
// printed. The destructor kills the process (by its PID, which only it
// started) and reaps it. Thread-safety: one Process per thread.
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
#include <vector>

namespace ninep::testing {

// Path of a binary built by this tree ("exportfs" -> <build>/bin/exportfs).
inline std::string Bin(const std::string& name) { return std::string(NINEP_BIN_DIR) + "/" + name; }

// A child process with a pipe from its stdout (and optionally to its stdin).
class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process() { Kill(SIGKILL); }

  // Starts argv[0] (a path) with argv; stdin from a pipe when with_stdin.
  // Returns false (and sets error()) when the program cannot be started.
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
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::string line;
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        line = buf_.substr(0, nl);
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

  // Sends sig to the child (if running) and reaps it; returns the wait status.
  int Kill(int sig = SIGTERM) {
    if (pid_ <= 0) return status_;
    kill(pid_, sig);
    return Wait();
  }
  // Waits for the child to exit; returns the wait status.
  int Wait() {
    if (pid_ > 0) {
      while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
      }
      pid_ = -1;
    }
    if (out_ >= 0) close(out_), out_ = -1;
    if (in_ >= 0) close(in_), in_ = -1;
    return status_;
  }
  pid_t pid() const { return pid_; }
  int stdin_fd() const { return in_; }
  int stdout_fd() const { return out_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1, in_ = -1;
  int status_ = 0;
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
