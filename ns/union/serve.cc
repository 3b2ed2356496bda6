// serve.cc: ServeMain: mount, serve FUSE on worker threads, answer the
// control socket on the calling thread, and unmount at the end.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ns/union/control.h"
#include "ns/union/fs.h"
#include "ns/union/union.h"

extern char** environ;

namespace nsunion {
namespace {

using internal::Message;
using internal::UnionFs;

// Detaches the mount now (root in its user namespace: umount2; otherwise
// fusermount3, which FUSE mounts made through it need).
void Detach(const std::string& mnt) {
  if (umount2(mnt.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) return;
  const char* argv[] = {"fusermount3", "-u", "-z", "-q", mnt.c_str(), nullptr};
  pid_t pid;
  if (posix_spawnp(&pid, "fusermount3", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    return;
  }
  int st;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
}

// Parses a decimal field that must be a non-negative int.
bool Int(const std::string& s, int* out) {
  if (s.empty() || s.size() > 9) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool Flag(const std::string& s) { return s == "1"; }

// Answers one control request; *stop set when it asks the server to end.
std::vector<std::string> Handle(UnionFs* fs, Message& m, bool* stop) {
  auto err = [](const Status& s) {
    return std::vector<std::string>{"err", std::to_string(s.err()), s.message()};
  };
  auto bad = [&] { return err(Status(EINVAL, "malformed control request")); };
  const auto& f = m.fields;
  const int fd = std::exchange(m.fd, -1);  // handed to fs, which closes it
  auto need_fd = [&]() -> bool { return fd >= 0; };
  auto unused_fd = [fd] {
    if (fd >= 0) close(fd);
  };
  if (f.empty()) {
    unused_fd();
    return bad();
  }
  const std::string& op = f[0];
  int id = 0;
  if (op == "new" && f.size() == 1) {
    unused_fd();
    return {"ok", std::to_string(fs->NewUnion())};
  }
  if (op == "stop" && f.size() == 1) {
    unused_fd();
    *stop = true;
    return {"ok"};
  }
  if (op == "add" && f.size() == 5 && Int(f[1], &id) && need_fd()) {
    Status s = fs->Add(id, fd, Flag(f[3]), f[4], Flag(f[2]));
    return s.ok() ? std::vector<std::string>{"ok"} : err(s);
  }
  if (op == "replace" && f.size() == 4 && Int(f[1], &id) && need_fd()) {
    Status s = fs->Replace(id, fd, Flag(f[2]), f[3]);
    return s.ok() ? std::vector<std::string>{"ok"} : err(s);
  }
  unused_fd();
  if (op == "remove" && f.size() == 3 && Int(f[1], &id)) {
    Status s = fs->Remove(id, f[2]);
    return s.ok() ? std::vector<std::string>{"ok"} : err(s);
  }
  if (op == "list" && f.size() == 2 && Int(f[1], &id)) {
    auto r = fs->List(id);
    if (!r.ok()) return err(r.status());
    std::vector<std::string> out{"ok"};
    for (const auto& mi : *r) {
      out.push_back(mi.create ? "1" : "0");
      out.push_back(mi.label);
    }
    return out;
  }
  return bad();
}

}  // namespace

int ServeMain(int control_fd, const std::string& mountpoint) {
  signal(SIGPIPE, SIG_IGN);
  auto fs = std::make_unique<UnionFs>();
  // default_permissions: the kernel checks every caller against the
  // attributes we show, as for a local file system. allow_other: as root
  // (in our user namespace) we serve every user of the namespace.
  std::string opts = "fsname=ns-union,subtype=union,default_permissions";
  if (geteuid() == 0) opts += ",allow_other";
  const char* argv[] = {"ns-union", "-o", opts.c_str()};
  fuse_args args = FUSE_ARGS_INIT(3, const_cast<char**>(argv));
  fuse_session* se = fuse_session_new(&args, &UnionFs::Ops(), sizeof(fuse_lowlevel_ops), fs.get());
  if (se == nullptr) {
    std::fprintf(stderr, "ns: union: cannot start a FUSE session\n");
    return 1;
  }
  fs->set_session(se);
  if (fuse_session_mount(se, mountpoint.c_str()) != 0) {
    std::fprintf(stderr, "ns: union: mount %s: failed (is /dev/fuse usable?)\n",
                 mountpoint.c_str());
    fuse_session_destroy(se);
    return 1;
  }

  std::mutex mu;
  std::condition_variable cv;
  bool loop_done = false;
  std::thread loop([&] {
    fuse_loop_config* cfg = fuse_loop_cfg_create();
    fuse_loop_cfg_set_max_threads(cfg, 32);
    fuse_loop_cfg_set_idle_threads(cfg, 4);
    fuse_session_loop_mt(se, cfg);
    fuse_loop_cfg_destroy(cfg);
    std::lock_guard<std::mutex> l(mu);
    loop_done = true;
    cv.notify_all();
  });

  // Our own device number, so that a member or a name found on the mount
  // itself is known for one of ours. The stat is answered by the loop.
  int status = 0;
  int wake = open(mountpoint.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (wake < 0 || fstat(wake, &st) != 0) {
    std::fprintf(stderr, "ns: union: %s: %s\n", mountpoint.c_str(), std::strerror(errno));
    status = 1;
  } else {
    fs->set_own_dev(st.st_dev);
    for (;;) {
      auto m = internal::ReceiveMessage(control_fd);
      if (!m.ok()) {
        if (m.status().err() == EMSGSIZE) continue;  // dropped; the peer sees no answer
        break;                                       // closed: the namespace is gone
      }
      bool stop = false;
      auto answer = Handle(fs.get(), *m, &stop);
      if (!internal::SendMessage(control_fd, answer, -1).ok() || stop) break;
    }
  }

  // Stop: no new requests (the mount is gone), and one request to wake a
  // worker so the loop sees the exit flag; libfuse cancels the others.
  fuse_session_exit(se);
  Detach(mountpoint);
  // The wake-up runs on a thread of its own: if some other request ended
  // the loop first, nobody answers it until the session is destroyed
  // (which aborts the connection and so ends the wait).
  if (wake >= 0) {
    std::thread([wake] {
      struct statfs sfs;
      fstatfs(wake, &sfs);
      close(wake);
    }).detach();
  }
  {
    std::unique_lock<std::mutex> l(mu);
    if (!cv.wait_for(l, std::chrono::seconds(3), [&] { return loop_done; })) {
      std::fflush(stderr);
      _exit(status);
    }
  }
  loop.join();
  fuse_session_destroy(se);
  fs.reset();
  return status;
}

}  // namespace nsunion
