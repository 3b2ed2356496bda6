// main.cc: mount9p, mount a 9P tree on a local directory with FUSE.
//
// The process forks before it starts any thread (unless -f): the child
// dials, mounts and serves; the parent waits until the mount answers a
// stat and exits 0, or exits 1 with the child's error, so a script may use
// the mountpoint on its next line. SIGINT, SIGTERM and SIGHUP (and, without
// -o reconnect, the connection dying) detach the mount and end the process;
// the mountpoint is then an ordinary directory again.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "mount9p/conn.h"
#include "mount9p/fs.h"
#include "mount9p/options.h"
#include "ninep/cmdline.h"
#include "ninep/transport.h"

extern char** environ;

namespace ninep::mount9p {
namespace {

[[noreturn]] void Die(int ready_fd, const std::string& what) {
  std::fprintf(stderr, "mount9p: %s\n", what.c_str());
  if (ready_fd >= 0) {
    char c = '1';
    if (write(ready_fd, &c, 1) < 0) {
    }
  }
  std::fflush(stderr);
  _exit(1);
}

// Runs fusermount3 with args; returns its exit status (or -1).
int RunFusermount(std::initializer_list<const char*> args) {
  std::vector<char*> argv{const_cast<char*>("fusermount3")};
  for (const char* a : args) argv.push_back(const_cast<char*>(a));
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, "fusermount3", nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Detaches the mount now; the kernel ends the FUSE connection once no one
// uses it any more.
void Detach(const std::string& mnt) {
  if (geteuid() == 0) {
    umount2(mnt.c_str(), MNT_DETACH);
  } else {
    RunFusermount({"-u", "-z", "-q", mnt.c_str()});
  }
}

// `mount9p -U MOUNTPOINT`.
int Unmount(const std::string& mnt) {
  if (geteuid() == 0) {
    if (umount2(mnt.c_str(), 0) == 0) return 0;
    std::fprintf(stderr, "mount9p: unmount %s: %s\n", mnt.c_str(), std::strerror(errno));
    return 1;
  }
  int st = RunFusermount({"-u", mnt.c_str()});
  if (st == 0) return 0;
  if (st < 0) std::fprintf(stderr, "mount9p: unmount %s: cannot run fusermount3\n", mnt.c_str());
  return 1;
}

// FUSE's -o syntax treats ',' and '\' specially.
std::string EscapeOpt(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Raises the kernel's readahead for the mount (root only; best effort).
void TuneReadahead(dev_t dev, uint32_t bytes) {
  char path[128];
  std::snprintf(path, sizeof path, "/sys/class/bdi/%u:%u/read_ahead_kb", major(dev), minor(dev));
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  std::string v = std::to_string(bytes / 1024) + "\n";
  if (write(fd, v.data(), v.size()) < 0) {
  }
  close(fd);
}

// What the signal and watchdog threads share with the main thread.
struct Supervisor {
  std::mutex mu;
  std::condition_variable cv;
  bool loop_done = false;                 // guarded by mu
  std::atomic<bool> stop_thread{false};   // the helper threads should end
  std::atomic<bool> stopping{false};      // stop() has begun
  std::atomic<bool> reconnecting{false};  // the watchdog is dialling
  std::atomic<int> status{0};
};

int Run(MountOptions o) {
  char resolved[PATH_MAX];
  if (realpath(o.mountpoint.c_str(), resolved) == nullptr) {
    std::fprintf(stderr, "mount9p: %s: %s\n", o.mountpoint.c_str(), std::strerror(errno));
    return 1;
  }
  o.mountpoint = resolved;

  int ready_fd = -1;
  if (!o.foreground) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) Die(-1, std::string("pipe: ") + std::strerror(errno));
    pid_t pid = fork();
    if (pid < 0) Die(-1, std::string("fork: ") + std::strerror(errno));
    if (pid > 0) {
      close(p[1]);
      char c = '1';
      ssize_t n;
      while ((n = read(p[0], &c, 1)) < 0 && errno == EINTR) {
      }
      return n == 1 && c == '0' ? 0 : 1;
    }
    close(p[0]);
    ready_fd = p[1];
    setsid();
  }
  // In the process that serves, after the fork: pages touched before it
  // would be copy-on-write here and fault again.
  ninep::PrefaultHeap(ninep::kServerHeapPrefault);

  // Signals go to the signal thread alone: every thread started from here on
  // inherits this mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto conn = Dial(o);
  if (!conn.ok()) Die(ready_fd, o.addr + ": " + conn.status().message());
  if (auto st = (*conn)->root.Walk(""); !st.ok() || !st->Stat().ok()) {
    Die(ready_fd, (*conn)->addr + ": cannot stat the root");
  }
  auto fs = std::make_unique<Fs>(o, *conn);

  std::vector<std::string> argstore{"mount9p", "-o", "fsname=" + EscapeOpt(o.addr) + ",subtype=9p"};
  for (const auto& f : FuseOptions(o, geteuid())) {
    argstore.push_back("-o");
    argstore.push_back(f);
  }
  fuse_args args = FUSE_ARGS_INIT(0, nullptr);
  for (auto& a : argstore) fuse_opt_add_arg(&args, a.c_str());
  fuse_session* se = fuse_session_new(&args, &Fs::Ops(), sizeof(fuse_lowlevel_ops), fs.get());
  fuse_opt_free_args(&args);
  if (se == nullptr) Die(ready_fd, "bad FUSE options (see mount9p(1))");
  fs->set_session(se);
  if (fuse_session_mount(se, o.mountpoint.c_str()) != 0) {
    Die(ready_fd, "mount " + o.mountpoint + " failed");
  }

  Supervisor sup;
  // Ready once the kernel has our INIT answer and a stat works.
  std::thread ready([&o, &sup, se, ready_fd, &fs] {
    struct stat st;
    if (stat(o.mountpoint.c_str(), &st) != 0) {
      std::fprintf(stderr, "mount9p: %s: %s\n", o.mountpoint.c_str(), std::strerror(errno));
      sup.status = 1;
      Detach(o.mountpoint);
      fuse_session_exit(se);
      if (ready_fd >= 0) {
        char c = '1';
        if (write(ready_fd, &c, 1) < 0) {
        }
        close(ready_fd);
      }
      return;
    }
    uint32_t ra = o.readahead != 0 ? o.readahead : 4 * 1024 * 1024;
    if (o.cache != CacheMode::kNone) TuneReadahead(st.st_dev, ra);
    (void)fs;
    if (ready_fd >= 0) {
      if (chdir("/") != 0) {
      }
      int null = open("/dev/null", O_RDWR | O_CLOEXEC);
      if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        if (!o.trace) dup2(null, 2);
        close(null);
      }
      char c = '0';
      if (write(ready_fd, &c, 1) < 0) {
      }
      close(ready_fd);
    }
  });

  // Stops the mount: detach, let the loop end, and if it cannot end within
  // a few seconds (a worker stuck on a server that does not answer, a shell
  // whose cwd is in the mount) leave anyway: exiting aborts the connection.
  auto stop = [&](int status) {
    if (sup.stopping.exchange(true)) return;
    sup.status = status;
    Detach(o.mountpoint);
    // Readers blocked on the server would keep the detached mount busy:
    // fail them so they close their files and the kernel ends the
    // connection, which ends the loop (the session is not told to exit,
    // so the closes are still answered).
    fs->CancelAll();
    std::unique_lock<std::mutex> l(sup.mu);
    if (!sup.cv.wait_for(l, std::chrono::seconds(3), [&] { return sup.loop_done; })) {
      std::fflush(stderr);
      _exit(status);
    }
  };
  // Signals: a thread of their own, so a slow dial never delays them.
  std::thread signals([&] {
    while (!sup.stop_thread) {
      timespec ts{0, 100 * 1000 * 1000};
      if (sigtimedwait(&sigs, nullptr, &ts) > 0) return stop(0);
    }
  });
  // The connection: unmount when it dies, or dial again with -o reconnect.
  std::thread watchdog([&] {
    auto last_try = std::chrono::steady_clock::now() - std::chrono::seconds(10);
    for (;;) {
      {
        std::unique_lock<std::mutex> l(sup.mu);
        sup.cv.wait_for(l, std::chrono::milliseconds(100), [&] { return sup.loop_done; });
      }
      if (sup.stop_thread || sup.stopping) return;
      if (fs->Alive()) continue;
      if (!o.reconnect) {
        std::fprintf(stderr, "mount9p: %s: connection lost\n", fs->Addr().c_str());
        return stop(1);
      }
      auto now = std::chrono::steady_clock::now();
      if (now - last_try < std::chrono::seconds(1)) continue;
      last_try = now;
      sup.reconnecting = true;
      if (sup.stop_thread) {  // pairs with main's stop_thread-then-reconnecting
        sup.reconnecting = false;
        return;
      }
      std::string lost = fs->Addr();
      Status s = fs->Reconnect();
      sup.reconnecting = false;
      if (o.trace || !s.ok()) {
        std::string now = fs->Addr();
        std::string how = !s.ok() ? s.message() : now == lost ? "ok" : "ok, now " + now;
        std::fprintf(stderr, "mount9p: %s: reconnect: %s\n", lost.c_str(), how.c_str());
      }
    }
  });

  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_max_threads(cfg, 64);
  fuse_loop_cfg_set_idle_threads(cfg, 8);
  int err = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  {
    std::lock_guard<std::mutex> l(sup.mu);
    sup.loop_done = true;
  }
  sup.stop_thread = true;
  sup.cv.notify_all();
  signals.join();
  ready.join();
  fuse_session_unmount(se);
  int status = sup.status != 0 ? sup.status.load() : (err < 0 ? 1 : 0);
  if (sup.reconnecting || fs->InFlight() != 0) {
    // A dial that may take minutes, or a reply that may still arrive for a
    // request of this session: do not free what they would touch.
    std::fflush(stderr);
    _exit(status);
  }
  watchdog.join();
  fuse_session_destroy(se);
  fs.reset();
  return status;
}

}  // namespace
}  // namespace ninep::mount9p

int main(int argc, char** argv) {
  using namespace ninep::mount9p;
  ninep::KeepFrameBuffersInHeap();  // every FUSE read and write is a large frame
  auto o = ParseArgs(argc, argv);
  if (!o.ok()) {
    std::fprintf(stderr, "mount9p: %s\n%s", o.status().message().c_str(), UsageLine().c_str());
    return ninep::kExitUsage;
  }
  if (o->help) {
    std::fputs(Help().c_str(), stdout);
    return ninep::kExitOk;
  }
  if (!o->warning.empty()) std::fprintf(stderr, "mount9p: %s\n", o->warning.c_str());
  if (!o->unmount.empty()) return Unmount(o->unmount);
  // A malformed address (or list) fails here, before the fork, in the same
  // words as every command's.
  if (auto d = ninep::ParseDialList(o->addr); !d.ok()) {
    std::fprintf(stderr, "mount9p: %s\n", d.status().message().c_str());
    return ninep::kExitFail;
  }
  return Run(std::move(*o));
}
