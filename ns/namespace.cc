// namespace.cc: applying bind, mount, unmount, cd and clear to the mount
// namespace of the calling process (see namespace.h and namespace(5)).
//
// A replacing bind is a kernel bind mount (MS_BIND|MS_REC: mounts below NEW
// come along, as in Plan 9 where a walk under OLD meets NEW's mounts; and a
// user namespace refuses a non-recursive bind of a tree with locked mounts).
// A union (-a, -b) is a directory of the namespace's one union server,
// bind-mounted on OLD, whose members are directory fds opened before OLD
// was covered, so `bind -a /usr/local/bin /bin` needs no trick.
#include "ns/namespace.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#ifdef NS_HAVE_UNION
#include "ns/union/union.h"
#endif

namespace ns {

std::string CleanPath(const std::string& p, const std::string& cwd) {
  std::string full = (!p.empty() && p[0] == '/') ? p : cwd + "/" + p;
  std::vector<std::string> parts;
  std::stringstream ss(full);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (const auto& q : parts) out += "/" + q;
  return out.empty() ? "/" : out;
}

namespace {

Status Fail(int err, const std::string& what) {
  return Status(err, what + ": " + std::strerror(err));
}

// A mount point's device differs from its parent's once something is
// mounted on it.
[[maybe_unused]] bool MountedOn(const std::string& dir, dev_t parent_dev) {
  struct stat st;
  return stat(dir.c_str(), &st) == 0 && st.st_dev != parent_dev;
}

// mkdir -p, for mount points under a cleared root.
Status MakeDirs(const std::string& path) {
  std::string cur;
  std::stringstream ss(path);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += "/" + part;
    if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return Fail(errno, "mkdir " + cur);
  }
  return Status::Ok();
}

// Lets an unprivileged helper's child keep CAP_SYS_ADMIN across execve
// (mount9p mounts FUSE itself, as root would), through an ambient
// capability: a user namespace's capabilities otherwise end at exec.
void KeepSysAdminAcrossExec() {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2] = {};
  if (syscall(SYS_capget, &h, d) != 0) return;
  d[CAP_SYS_ADMIN / 32].inheritable |= 1U << (CAP_SYS_ADMIN % 32);
  if (syscall(SYS_capset, &h, d) != 0) return;
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_SYS_ADMIN, 0, 0);
}

}  // namespace

// The namespace's union server, started at the first union.
class UnionBackend {
 public:
  explicit UnionBackend(std::string mountpoint) : mnt_(std::move(mountpoint)) {}
  ~UnionBackend() {
    if (fd_ >= 0) close(fd_);
  }

  Status Start() {
#ifdef NS_HAVE_UNION
    if (client_) return Status::Ok();
    if (mkdir(mnt_.c_str(), 0700) != 0 && errno != EEXIST) return Fail(errno, "mkdir " + mnt_);
    struct stat parent;
    if (stat((mnt_ + "/..").c_str(), &parent) != 0) return Fail(errno, mnt_);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
      return Fail(errno, "socketpair");
    }
    pid_t pid = fork();
    if (pid < 0) return Fail(errno, "fork");
    if (pid == 0) {
      close(sv[0]);
      pid_ = 0;
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      _exit(nsunion::ServeMain(sv[1], mnt_));
    }
    close(sv[1]);
    pid_ = pid;
    fd_ = sv[0];
    client_ = std::make_unique<nsunion::Client>(fd_);
    // The server answers once its FUSE mount is up; wait for it anyway, so
    // the first bind never meets an empty mount point.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!MountedOn(mnt_, parent.st_dev)) {
      if (std::chrono::steady_clock::now() > deadline) {
        return Status(EIO, "union server: no mount on " + mnt_);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return Status::Ok();
#else
    return Status(ENOTSUP, "union directories are not built in this ns");
#endif
  }

  Result<int> NewUnion() {
#ifdef NS_HAVE_UNION
    return client_->NewUnion();
#else
    return Status(ENOTSUP, "no unions");
#endif
  }
  Status Add(int id, int fd, bool create, const std::string& label, bool before) {
#ifdef NS_HAVE_UNION
    nsunion::Member m{fd, create, label};
    Status st = client_->Add(id, m, before);
    close(fd);
    return st;
#else
    (void)id, (void)create, (void)label, (void)before;
    close(fd);
    return Status(ENOTSUP, "no unions");
#endif
  }
  Status Remove(int id, const std::string& label) {
#ifdef NS_HAVE_UNION
    return client_->Remove(id, label);
#else
    (void)id, (void)label;
    return Status(ENOTSUP, "no unions");
#endif
  }
  std::string Dir(int id) const { return mnt_ + "/" + std::to_string(id); }

  void Stop() {
#ifdef NS_HAVE_UNION
    if (!client_ || pid_ <= 0) return;
    // Best effort: the server may be gone already.
    client_->Stop().IgnoreError();
    for (int i = 0; i < 500; ++i) {
      int st = 0;
      pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_ || (r < 0 && errno == ECHILD)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid_ = 0;
#endif
  }

 private:
  std::string mnt_;
  int fd_ = -1;
#ifdef NS_HAVE_UNION
  pid_t pid_ = 0;
  std::unique_ptr<nsunion::Client> client_;
#endif
};

Namespace::Namespace(std::string rundir, std::string bindir)
    : rundir_(std::move(rundir)),
      bindir_(std::move(bindir)),
      unions_(std::make_unique<UnionBackend>(rundir_ + "/u")) {}

Namespace::~Namespace() = default;

std::string Namespace::Target(const std::string& old) const {
  if (pending_root_.empty()) return old;
  return old == "/" ? pending_root_ : pending_root_ + old;
}

Status Namespace::Apply(const Op& op, const std::string& cwd, ExecState* exec) {
  Op logged = op;
  logged.quiet = false;
  Status st;
  switch (op.kind) {
    case Op::Kind::kBind:
      logged.args = {CleanPath(op.args[0], cwd), CleanPath(op.args[1], cwd)};
      st = Bind(op, logged.args[0], logged.args[1]);
      break;
    case Op::Kind::kMount:
      logged.args[1] = CleanPath(op.args[1], cwd);
      st = Mount(op, logged.args[1]);
      break;
    case Op::Kind::kUnmount:
      for (auto& a : logged.args) a = CleanPath(a, cwd);
      if (op.args.size() == 2) {
        // NEW is a path, or the ADDR a mount named: leave an ADDR as it was.
        struct stat sb;
        if (stat(logged.args[0].c_str(), &sb) != 0) logged.args[0] = op.args[0];
        st = Unmount(op, logged.args[0], logged.args[1]);
      } else {
        st = Unmount(op, "", logged.args[0]);
      }
      break;
    case Op::Kind::kCd:
      if (exec == nullptr) return Status(EINVAL, "cd: changes only the command ns exec runs");
      exec->cwd = CleanPath(op.args[0], cwd);
      return Status::Ok();
    case Op::Kind::kClear:
      st = Clear();
      break;
  }
  if (st.ok()) log_.push_back(FormatOp(logged));
  return st;
}

Status Namespace::Bind(const Op& op, const std::string& neu, const std::string& old) {
  struct stat sn, so;
  if (stat(neu.c_str(), &sn) != 0) return Fail(errno, "bind: " + neu);
  const std::string target = Target(old);
  if (!pending_root_.empty() && stat(target.c_str(), &so) != 0) {
    // Under a cleared root, OLD is made to hold what is bound on it.
    if (S_ISDIR(sn.st_mode)) {
      if (auto s = MakeDirs(target); !s.ok()) return s;
    } else {
      if (auto s = MakeDirs(target.substr(0, target.rfind('/'))); !s.ok()) return s;
      int fd = open(target.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) return Fail(errno, "bind: " + old);
      close(fd);
    }
  }
  if (stat(target.c_str(), &so) != 0) return Fail(errno, "bind: " + old);
  if (S_ISDIR(sn.st_mode) != S_ISDIR(so.st_mode)) {
    return Status(ENOTDIR, "bind: " + neu + " and " + old + ": one is a directory, the other not");
  }
  if (op.Union()) {
    if (!S_ISDIR(sn.st_mode))
      return Status(ENOTDIR, "bind: " + old + ": a union needs directories");
    int fd = open(neu.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Fail(errno, "bind: " + neu);
    return AddToUnion(old, fd, neu, op);
  }
  if (mount(neu.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return Fail(errno, "bind: " + neu + " " + old);
  }
  stack_[old].push_back(Entry{neu, -1});
  return Status::Ok();
}

Status Namespace::AddToUnion(const std::string& old, int fd, const std::string& label,
                             const Op& op) {
  if (auto st = unions_->Start(); !st.ok()) {
    close(fd);
    return Status(st.err(), "bind: " + old + ": " + st.message());
  }
  auto& entries = stack_[old];
  if (!entries.empty() && entries.back().union_id >= 0) {
    Status st = unions_->Add(entries.back().union_id, fd, op.create, label, op.before);
    if (!st.ok()) return Status(st.err(), "bind: " + old + ": " + st.message());
    return Status::Ok();
  }
  const std::string target = Target(old);
  int oldfd = open(target.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (oldfd < 0) {
    close(fd);
    return Fail(errno, "bind: " + old);
  }
  auto id = unions_->NewUnion();
  if (!id.ok()) {
    close(fd);
    close(oldfd);
    return Status(id.status().err(), "bind: " + old + ": " + id.status().message());
  }
  // The directory that was at OLD is the first member and, as in Plan 9,
  // takes no creates: only a -c member does.
  Status st = unions_->Add(*id, oldfd, false, old, false);
  if (st.ok())
    st = unions_->Add(*id, fd, op.create, label, op.before);
  else
    close(fd);
  if (!st.ok()) return Status(st.err(), "bind: " + old + ": " + st.message());
  if (mount(unions_->Dir(*id).c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return Fail(errno, "bind: union on " + old);
  }
  entries.push_back(Entry{old, *id});
  return Status::Ok();
}

Status Namespace::RunMount9p(const Op& op, const std::string& dir) {
  const std::string log = rundir_ + "/mount9p." + std::to_string(next_dir_++) + ".log";
  std::vector<std::string> args{bindir_ + "/mount9p"};
  if (op.dotl) args.emplace_back("-L");
  if (op.args.size() == 3) {
    args.emplace_back("-A");
    args.push_back(op.args[2]);
  }
  args.push_back(op.args[0]);
  args.push_back(dir);
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return Fail(errno, "fork");
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    int out = open(log.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (null >= 0) dup2(null, 0);
    if (out >= 0) {
      dup2(out, 1);
      dup2(out, 2);
    }
    if (geteuid() != 0) KeepSysAdminAcrossExec();
    execv(argv[0], argv.data());
    dprintf(2, "mount9p: cannot run %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::Ok();
  // mount9p said why on its last line ("mount9p: ADDR: connection refused").
  std::ifstream in(log);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  if (last.rfind("mount9p: ", 0) == 0) last = last.substr(9);
  return Status(EIO, "mount: " + (last.empty() ? "mount9p failed" : last));
}

Status Namespace::Mount(const Op& op, const std::string& old) {
  const std::string target = Target(old);
  if (!pending_root_.empty()) {
    if (auto s = MakeDirs(target); !s.ok()) return s;
  }
  struct stat so;
  if (stat(target.c_str(), &so) != 0) return Fail(errno, "mount: " + old);
  if (!S_ISDIR(so.st_mode)) return Status(ENOTDIR, "mount: " + old + ": not a directory");
  if (!op.Union()) {
    if (auto st = RunMount9p(op, target); !st.ok()) return st;
    stack_[old].push_back(Entry{op.args[0], -1});
    return Status::Ok();
  }
  const std::string dir = rundir_ + "/m" + std::to_string(next_dir_++);
  if (mkdir(dir.c_str(), 0700) != 0) return Fail(errno, "mkdir " + dir);
  if (auto st = RunMount9p(op, dir); !st.ok()) return st;
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    umount2(dir.c_str(), MNT_DETACH);
    return Fail(errno, "mount: " + op.args[0]);
  }
  Status st = AddToUnion(old, fd, op.args[0], op);
  if (!st.ok()) {
    umount2(dir.c_str(), MNT_DETACH);
    return st;
  }
  private_.push_back(PrivateMount{stack_[old].back().union_id, op.args[0], dir});
  return Status::Ok();
}

void Namespace::DropPrivate(int union_id, const std::string& label) {
  for (auto it = private_.begin(); it != private_.end();) {
    if (it->union_id == union_id && (label.empty() || it->label == label)) {
      umount2(it->dir.c_str(), MNT_DETACH);
      it = private_.erase(it);
    } else {
      ++it;
    }
  }
}

Status Namespace::Unmount(const Op& op, const std::string& neu, const std::string& old) {
  (void)op;
  const std::string target = Target(old);
  auto it = stack_.find(old);
  if (it == stack_.end() || it->second.empty()) {
    // Not ours (an inherited mount, or the system's): as Plan 9, unmount
    // whatever is there, when the kernel lets us.
    if (umount2(target.c_str(), MNT_DETACH) != 0) {
      if (errno == EINVAL) return Status(EINVAL, "unmount: " + old + ": nothing mounted there");
      return Fail(errno, "unmount: " + old);
    }
    return Status::Ok();
  }
  auto& entries = it->second;
  if (!neu.empty()) {
    Entry& top = entries.back();
    if (top.union_id >= 0) {
      Status st = unions_->Remove(top.union_id, neu);
      if (!st.ok()) return Status(st.err(), "unmount: " + neu + " " + old + ": " + st.message());
      DropPrivate(top.union_id, neu);
      return Status::Ok();
    }
    if (top.label != neu) {
      return Status(ENOENT, "unmount: " + neu + " is not bound on " + old);
    }
    if (umount2(target.c_str(), MNT_DETACH) != 0) return Fail(errno, "unmount: " + old);
    entries.pop_back();
    return Status::Ok();
  }
  while (!entries.empty()) {
    if (umount2(target.c_str(), MNT_DETACH) != 0) return Fail(errno, "unmount: " + old);
    if (entries.back().union_id >= 0) DropPrivate(entries.back().union_id, "");
    entries.pop_back();
  }
  stack_.erase(it);
  return Status::Ok();
}

Status Namespace::Clear() {
  if (!pending_root_.empty()) return Status(EINVAL, "clear: twice in one batch");
  const std::string root = rundir_ + "/root" + std::to_string(next_dir_++);
  if (mkdir(root.c_str(), 0755) != 0) return Fail(errno, "clear: mkdir " + root);
  if (mount("none", root.c_str(), "tmpfs", 0, "mode=0755") != 0) return Fail(errno, "clear: tmpfs");
  for (const char* d : {"/proc", "/dev", "/tmp"}) {
    const std::string to = root + d;
    if (mkdir(to.c_str(), 0755) != 0) return Fail(errno, "clear: mkdir " + to);
    if (mount(d, to.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      return Fail(errno, std::string("clear: bind ") + d);
    }
  }
  pending_root_ = root;
  // What was bound before is out of sight once the new root is in place.
  stack_.clear();
  return Status::Ok();
}

Status Namespace::Finish() {
  if (pending_root_.empty()) return Status::Ok();
  const std::string root = pending_root_;
  pending_root_.clear();
  // The new root's /tmp was copied when `clear` ran; mounts made since in
  // the run directory (the union server's, private mount9p ones) join it
  // by copying the run directory again.
  const std::string run = root + rundir_;
  if (auto s = MakeDirs(run); !s.ok()) return s;
  if (mount(rundir_.c_str(), run.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    return Fail(errno, "clear: bind " + rundir_);
  }
  // pivot_root(".", ".") stacks the old root on the new one; detaching it
  // leaves only the new tree (the old stays alive for nothing but fds).
  if (chdir(root.c_str()) != 0) return Fail(errno, "clear: " + root);
  if (syscall(SYS_pivot_root, ".", ".") != 0) return Fail(errno, "clear: pivot_root");
  if (umount2(".", MNT_DETACH) != 0) return Fail(errno, "clear: detach the old root");
  if (chdir("/") != 0) return Fail(errno, "clear: chdir /");
  // The copy of the new root inside the run directory serves no one.
  umount2(root.c_str(), MNT_DETACH);
  return Status::Ok();
}

void Namespace::Shutdown() { unions_->Stop(); }

std::string Namespace::Show() const {
  std::string s;
  for (const auto& l : log_) s += l + "\n";
  return s;
}

}  // namespace ns
