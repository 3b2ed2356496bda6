// cmdfs.cc: the tree, the reaper and the audit log (see cmdfs.h).
#include "cmdfs/cmdfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "cmdfs/owned_handle.h"
#include "cmdfs/spawn.h"
#include "cmdfs/words.h"

extern char** environ;

namespace cmdfs {

using ninep::OpenOut;
using ninep::OpenReq;
using ninep::ReadReq;
using ninep::Status;
using ninep::SynthFid;
using ninep::SynthFile;
using ninep::WriteReq;

namespace {

// A read or write hook of a command file: hands the request and the open
// file's state to fn; a fid with no state (never opened) fails EBADF.
template <class Req, class Fn>
auto ToCommand(const char* file, Fn fn) {
  return [file, fn](Req r, SynthFid& f) {
    auto* of = f.State<OpenFile>();
    if (!of) return r.Fail(Status(EBADF, std::string(file) + " is not open"));
    fn(of, std::move(r));
  };
}

}  // namespace

struct CmdFs::Signal {
  uv_signal_t h;
  CmdFs* owner;
};

CmdFs::CmdFs(CmdFsOptions opts) : SynthTree("cmdfs", 0555), opts_(std::move(opts)) {
  for (char** e = environ; e && *e; e++) environ_.emplace_back(*e);
  char buf[PATH_MAX];
  cwd_ = getcwd(buf, sizeof buf) ? buf : "/";

  SynthFile clone;
  // The clone file itself is never read or written: its open turns the fid
  // into the new directory's ctl. These make the permission check pass.
  clone.text = [] { return std::string(); };
  clone.write = [](WriteReq r, SynthFid&) { r.Fail(Status(EBADF, "clone is not open")); };
  clone.open = [this](OpenReq r, SynthFid&) {
    // Refuse what ctl would refuse before making a directory nobody holds.
    if ((r.mode & 3) == ninep::OEXEC) return r.Fail(Status(EACCES, "permission denied"));
    if (r.mode & ninep::ORCLOSE) return r.Fail(Status(EPERM, "cannot remove a synthetic file"));
    auto c = NewCommand();
    if (!c.ok()) return r.Fail(c.status());
    auto ctl = Lookup((*c)->dir(), "ctl");
    OpenAs(std::move(r), ctl);
  };
  // Two distinct names in a fresh tree: a failure would be a bug here, and
  // value() aborts naming it.
  AddFile(root(), "clone", 0666, std::move(clone)).value();
  AddText(root(), "ps", 0444, [this] { return Ps(); }).value();
}

CmdFs::~CmdFs() {
  if (audit_fd_ >= 0) close(audit_fd_);
}

Status CmdFs::Init() {
  if (!opts_.audit_path.empty()) {
    audit_fd_ = open(opts_.audit_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (audit_fd_ < 0) {
      int e = errno;
      return Status(e, "audit log " + opts_.audit_path + ": " + ErrText(e));
    }
  }
  // Orphans of our commands (a daemonizing child) come to us, so their
  // zombies are reaped here rather than left to init.
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  cgroups_ = CgroupManager::Detect();
  if (opts_.trace) {
    fprintf(stderr, "cmdfs: limits mem and procs via %s\n",
            cgroups_ ? cgroups_->Describe().c_str() : "rlimits only (no writable cgroup)");
  }
  return Status::Ok();
}

void CmdFs::Started(ninep::Server* srv) {
  SynthTree::Started(srv);
  loop_ = srv->loop();
  sigchld_ = new Signal;
  sigchld_->owner = this;
  uv_signal_init(loop_, &sigchld_->h);
  sigchld_->h.data = sigchld_;
  uv_signal_start(
      &sigchld_->h,
      [](uv_signal_t* s, int) {
        auto* sg = static_cast<Signal*>(s->data);
        if (sg->owner) sg->owner->Reap();
      },
      SIGCHLD);
  // Reaping must not keep the loop alive on its own.
  uv_unref(reinterpret_cast<uv_handle_t*>(&sigchld_->h));
}

// ---- the tree --------------------------------------------------------------

ninep::Result<std::shared_ptr<Command>> CmdFs::NewCommand() {
  uint64_t n = next_n_++;
  auto dir = AddDir(root(), std::to_string(n), 0555);
  if (!dir.ok()) return dir.status();
  auto c = std::make_shared<Command>(this, n, *dir);
  std::weak_ptr<Command> w = c;
  SynthFile ctl = FileFor(w, FileKind::kCtl);
  ctl.text = [n] { return std::to_string(n) + "\n"; };
  ctl.write =
      ToCommand<WriteReq>("ctl", [](OpenFile* of, WriteReq r) { of->cmd->Ctl(std::move(r)); });
  SynthFile data = FileFor(w, FileKind::kData);
  data.read =
      ToCommand<ReadReq>("data", [](OpenFile* of, ReadReq r) { of->cmd->ReadData(std::move(r)); });
  data.write = ToCommand<WriteReq>(
      "data", [](OpenFile* of, WriteReq r) { of->cmd->WriteData(std::move(r)); });
  SynthFile err = FileFor(w, FileKind::kStderr);
  err.read = ToCommand<ReadReq>("stderr",
                                [](OpenFile* of, ReadReq r) { of->cmd->ReadStderr(std::move(r)); });
  SynthFile wait = FileFor(w, FileKind::kWait);
  wait.read = ToCommand<ReadReq>(
      "wait", [](OpenFile* of, ReadReq r) { of->cmd->ReadWait(std::move(r), of); });
  SynthFile status = SynthFile::Text([w] {
    auto c = w.lock();
    return c ? c->StatusLine() : std::string();
  });
  for (auto& [name, perm, file] : std::vector<std::tuple<const char*, uint32_t, SynthFile>>{
           {"ctl", 0666, std::move(ctl)},
           {"data", 0666, std::move(data)},
           {"stderr", 0444, std::move(err)},
           {"wait", 0444, std::move(wait)},
           {"status", 0444, std::move(status)}}) {
    auto f = AddFile(*dir, name, perm, std::move(file));
    if (!f.ok()) {
      // Undo the half-made directory; the AddFile error is the one to
      // report, and removing a fresh non-root node cannot fail.
      RemoveNode(*dir).IgnoreError();
      return f.status();
    }
  }
  cmds_.emplace(n, c);
  return c;
}

SynthFile CmdFs::FileFor(const std::weak_ptr<Command>& w, FileKind k) {
  SynthFile f;
  f.open = [w, k](OpenReq r, SynthFid& fid) {
    auto c = w.lock();
    if (!c || c->recycled()) return r.Fail(Status(ENOENT, "command directory has been released"));
    auto st = std::make_shared<OpenFile>();
    st->cmd = c;
    st->kind = k;
    uint8_t acc = r.mode & 3;
    st->writer = k == FileKind::kData && (acc == ninep::OWRITE || acc == ninep::ORDWR);
    fid.state = st;
    c->Opened(st.get());
    r.Respond(OpenOut{fid.node()->qid(), 0});
  };
  f.clunk = [](SynthFid& fid) {
    if (auto* st = fid.State<OpenFile>()) st->cmd->Closed(st);
  };
  return f;
}

std::string CmdFs::Ps() const {
  std::string out;
  for (const auto& [n, c] : cmds_) out += c->StatusLine();
  return out;
}

void CmdFs::Recycle(uint64_t n) {
  auto it = cmds_.find(n);
  if (it == cmds_.end()) return;
  std::shared_ptr<Command> c = std::move(it->second);
  cmds_.erase(it);
  // A live command directory is never the root: removing it cannot fail.
  if (c->dir() && !c->dir()->removed()) RemoveNode(c->dir()).IgnoreError();
}

std::vector<std::string> CmdFs::Environment(
    const std::vector<std::pair<std::string, std::string>>& over) const {
  std::vector<std::string> env;
  for (const auto& e : environ_) {
    size_t eq = e.find('=');
    std::string name = e.substr(0, eq);
    bool replaced = false;
    for (const auto& [k, v] : over) replaced = replaced || k == name;
    if (!replaced) env.push_back(e);
  }
  for (const auto& [k, v] : over) env.push_back(k + "=" + v);
  return env;
}

// ---- children --------------------------------------------------------------

void CmdFs::Claim(pid_t pid, const std::shared_ptr<Command>& c) {
  auto it = unclaimed_.find(pid);
  if (it != unclaimed_.end()) {
    Exit e = it->second;
    unclaimed_.erase(it);
    c->Exited(e.status, e.ru, e.end_ns);
    return;
  }
  by_pid_[pid] = c;
}

void CmdFs::SpawnEnd() {
  // Nothing reaped from now on can be a spawn that is not yet claimed.
  if (--spawns_in_flight_ == 0) unclaimed_.clear();
}

void CmdFs::Reap() {
  for (;;) {
    int st = 0;
    struct rusage ru {};
    pid_t p = wait4(-1, &st, WNOHANG, &ru);
    if (p < 0 && errno == EINTR) continue;
    if (p <= 0) return;
    uint64_t now = uv_hrtime();
    auto it = by_pid_.find(p);
    if (it != by_pid_.end()) {
      auto c = it->second.lock();
      by_pid_.erase(it);
      if (c) c->Exited(st, ru, now);
    } else if (spawns_in_flight_ > 0) {
      unclaimed_[p] = Exit{st, ru, now};
    }
  }
}

void CmdFs::Audit(const std::string& line) {
  if (audit_fd_ < 0) return;
  std::string l = line + "\n";
  int fd = audit_fd_;
  auto write_line = [fd, l] {
    // One write per line: O_APPEND keeps lines whole between writers.
    ssize_t n = write(fd, l.data(), l.size());
    (void)n;
  };
  if (stopping_ || !server()) {
    write_line();
  } else {
    server()->Offload(write_line);
  }
}

// ---- exit ------------------------------------------------------------------

void CmdFs::Shutdown() {
  stopping_ = true;
  std::vector<std::shared_ptr<Command>> all;
  for (const auto& [n, c] : cmds_) all.push_back(c);
  for (auto& c : all) c->KillForShutdown();
  // Reap what we killed, for a bounded time (SIGKILL is prompt).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    Reap();
    bool running = false;
    for (auto& c : all) running = running || c->state() == Command::State::kExecute;
    if (!running || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  for (auto& c : all) c->CloseAll();
  ReleaseHandle(sigchld_, &Signal::h);
  // Let the close callbacks run (and free their handles).
  uv_run(loop_, UV_RUN_NOWAIT);
}

}  // namespace cmdfs
