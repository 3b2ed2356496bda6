// command.cc: one command directory (see command.h).
#include "cmdfs/command.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "cmdfs/cmdfs.h"
#include "cmdfs/owned_handle.h"
#include "cmdfs/words.h"

namespace cmdfs {

using ninep::ReadReq;
using ninep::Status;
using ninep::WriteReq;

namespace {

const char* StateName(Command::State s, bool released) {
  if (released && (s == Command::State::kExecute || s == Command::State::kStarting)) {
    return "Close";
  }
  switch (s) {
    case Command::State::kOpen:
    case Command::State::kStarting:
      return "Open";
    case Command::State::kExecute:
      return "Execute";
    case Command::State::kDone:
      return "Done";
  }
  return "Open";
}

// Always in quotes, as wait records show the status: '' for success.
std::string QuoteStatus(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

uint64_t Ms(const struct timeval& tv) {
  return static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec) / 1000;
}

std::string IsoNow() {
  time_t t = time(nullptr);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

struct Command::Timer {
  uv_timer_t t;
  Command* owner;
};

Command::Command(CmdFs* fs, uint64_t n, ninep::SynthNodeRef dir)
    : fs_(fs),
      n_(n),
      dir_(std::move(dir)),
      out_(fs->loop(), fs->options().stream_cap),
      err_(fs->loop(), fs->options().stream_cap),
      in_(fs->loop()) {}

Command::~Command() {
  StopTimer();
  waiters_->AnswerAllEof();
}

std::string Command::Wdir() const { return wdir_.empty() ? fs_->cwd() : wdir_; }

// ---- opens -----------------------------------------------------------------

void Command::Opened(OpenFile* f) {
  opens_++;
  if (f->kind == FileKind::kCtl) ctl_opens_++;
  if (f->writer) {
    writers_++;
    // A new writer before exec takes back an EOF that was not yet delivered.
    if (state_ == State::kOpen || state_ == State::kStarting) stdin_eof_ = false;
  }
}

void Command::Closed(OpenFile* f) {
  if (f->closed) return;
  f->closed = true;
  auto keep = shared_from_this();
  opens_--;
  if (f->kind == FileKind::kCtl) ctl_opens_--;
  if (f->writer && --writers_ == 0) {
    stdin_eof_ = true;
    if (state_ == State::kExecute || state_ == State::kDone) in_.CloseWhenDrained();
  }
  if (f->kind == FileKind::kCtl && ctl_opens_ == 0 && killonclose_ && state_ == State::kExecute) {
    Kill();
  }
  if (opens_ == 0) {
    released_ = true;
    if (state_ == State::kExecute) {
      Kill();
    } else if (state_ == State::kDone && (out_.open() || err_.open()) && !fs_->stopping()) {
      // The leader is gone but something in its group still holds the pipes.
      KillGroup(SIGKILL);
    }
    MaybeRecycle();
  }
}

void Command::MaybeRecycle() {
  if (!released_ || recycled_) return;
  if (state_ == State::kStarting || state_ == State::kExecute) return;
  recycled_ = true;
  auto keep = shared_from_this();
  StopTimer();
  out_.Finish();
  err_.Finish();
  in_.Abort(Status(EPIPE, "command directory released"));
  waiters_->AnswerAllEof();
  fs_->Recycle(n_);
}

// ---- ctl -------------------------------------------------------------------

void Command::Ctl(WriteReq r) {
  std::string_view msg(reinterpret_cast<const char*>(r.data.data()), r.data.size());
  auto m = ParseCtl(msg);
  if (!m.ok()) return r.Fail(m.status());
  uint32_t count = static_cast<uint32_t>(r.data.size());
  auto not_before = [this](const char* what) -> Status {
    if (state_ == State::kOpen) return Status::Ok();
    return Status(EBUSY, std::string(what) + ": command already started");
  };
  auto running = [this](const char* what) -> Status {
    if (state_ == State::kExecute) return Status::Ok();
    if (state_ == State::kDone) return Status(ESRCH, std::string(what) + ": command has ended");
    return Status(ESRCH, std::string(what) + ": no command running");
  };
  Status s;
  switch (m->kind) {
    case CtlMsg::kExec:
      if (state_ == State::kDone) return r.Fail(Status(EBUSY, "exec: command has already run"));
      if (!(s = not_before("exec")).ok()) return r.Fail(s);
      return Exec(std::move(r), std::move(m->argv));
    case CtlMsg::kKill:
      if (!(s = running("kill")).ok()) return r.Fail(s);
      Kill();
      break;
    case CtlMsg::kSignal:
      if (!(s = running("signal")).ok()) return r.Fail(s);
      KillGroup(m->sig);
      break;
    case CtlMsg::kDir:
      if (!(s = not_before("dir")).ok()) return r.Fail(s);
      wdir_ = m->dir;
      break;
    case CtlMsg::kEnv:
      if (!(s = not_before("env")).ok()) return r.Fail(s);
      for (auto& kv : m->env) {
        auto it = std::find_if(env_.begin(), env_.end(),
                               [&](const auto& e) { return e.first == kv.first; });
        if (it != env_.end()) {
          it->second = kv.second;
        } else {
          env_.push_back(kv);
        }
      }
      break;
    case CtlMsg::kNice:
      if (state_ == State::kExecute) {
        // Already running: lower the whole group from the server's priority.
        errno = 0;
        int base = getpriority(PRIO_PROCESS, 0);
        if (setpriority(PRIO_PGRP, pid_, std::min(19, base + m->nice)) < 0) {
          int e = errno;
          return r.Fail(Status(e, "nice: " + ErrText(e)));
        }
      } else if (!(s = not_before("nice")).ok()) {
        return r.Fail(s);
      }
      nice_ = m->nice;
      break;
    case CtlMsg::kKillOnClose:
      killonclose_ = true;
      break;
    case CtlMsg::kLimit:
      if (!(s = not_before("limit")).ok()) return r.Fail(s);
      if (m->limits_set & 1) limits_.cpu_s = m->limits.cpu_s;
      if (m->limits_set & 2) limits_.mem = m->limits.mem;
      if (m->limits_set & 4) limits_.procs = m->limits.procs;
      if (m->limits_set & 8) limits_.time_ms = m->limits.time_ms;
      break;
  }
  r.Respond(count);
}

void Command::Exec(WriteReq r, std::vector<std::string> argv) {
  state_ = State::kStarting;
  argv_ = std::move(argv);
  uname_ = r.uname();
  peer_ = r.peer();
  if (limits_.time_ms == 0) limits_.time_ms = fs_->options().default_time_ms;

  SpawnSpec spec;
  spec.argv = argv_;
  spec.envp = fs_->Environment(env_);
  spec.dir = wdir_;
  spec.nice = nice_;
  spec.limits = limits_;
  bool want_cg = fs_->cgroups() && (limits_.mem || limits_.procs);
  CmdFs* fs = fs_;
  uint64_t n = n_;
  std::weak_ptr<Command> weak = weak_from_this();
  // Started as root, cmdfs acts for the user the peer proved with TLS.
  std::string run_as = geteuid() == 0 ? r.identity() : "";
  fs->SpawnBegin();
  fs->server()->Offload(
      [fs, weak, n, want_cg, run_as, spec = std::move(spec), r = std::move(r)]() mutable {
        ninep::Status who = run_as.empty() ? ninep::Status::Ok() : RunAs(run_as, &spec);
        if (!who.ok()) want_cg = false;
        CmdCgroup cg;
        if (want_cg) {
          auto g = fs->cgroups()->Create(n, spec.limits);
          if (g.ok()) {
            cg = std::move(*g);
            spec.cgroup_fds = cg.procs_fds;
            spec.procs_in_cgroup = cg.procs;
          }
        }
        uint64_t start = uv_hrtime();
        auto res = who.ok() ? Spawn(spec) : ninep::Result<Spawned>(who);
        CgroupManager::CloseFds(&cg);
        if (!res.ok() && !cg.dirs.empty()) {
          fs->cgroups()->Remove(cg);
          cg.dirs.clear();
        }
        fs->server()->Post([fs, weak, start, cg = std::move(cg), res = std::move(res),
                            r = std::move(r)]() mutable {
          auto self = weak.lock();
          if (self) {
            self->Started(std::move(r), std::move(res), std::move(cg), start);
          } else if (res.ok()) {
            // The directory vanished under a spawn (server exit): end the command.
            kill(-res->pid, SIGKILL);
            for (int fd : {res->in, res->out, res->err}) close(fd);
            r.Fail(Status(ESRCH, "exec: command directory released"));
          } else {
            r.Fail(res.status());
          }
          fs->SpawnEnd();
        });
      });
}

void Command::Started(WriteReq r, ninep::Result<Spawned> res, CmdCgroup cg, uint64_t start_ns) {
  auto keep = shared_from_this();
  if (!res.ok()) {
    state_ = State::kOpen;
    const Status& s = res.status();
    fs_->Audit(IsoNow() + " " + QuoteLine(peer_) + " " + QuoteLine(uname_) + " - " +
               QuoteStatus(s.message()) + " " + JoinQuoted(argv_));
    argv_.clear();
    r.Fail(s);
    MaybeRecycle();
    return;
  }
  state_ = State::kExecute;
  pid_ = res->pid;
  start_ns_ = start_ns;
  cg_ = std::move(cg);
  Status a = out_.Attach(res->out);
  Status b = err_.Attach(res->err);
  Status c = in_.Attach(res->in);
  if (stdin_eof_) in_.CloseWhenDrained();
  if (limits_.time_ms > 0) {
    timer_ = new Timer;
    timer_->owner = this;
    uv_timer_init(fs_->loop(), &timer_->t);
    timer_->t.data = timer_;
    uv_timer_start(
        &timer_->t,
        [](uv_timer_t* t) {
          auto* tm = static_cast<Timer*>(t->data);
          if (tm->owner && tm->owner->state_ == State::kExecute) tm->owner->Kill();
        },
        limits_.time_ms, 0);
  }
  if (!a.ok() || !b.ok() || !c.ok() || released_) Kill();
  r.Respond(static_cast<uint32_t>(r.data.size()));
  fs_->Claim(pid_, keep);
}

// ---- signals ---------------------------------------------------------------

void Command::KillGroup(int sig) {
  if (pid_ > 0) kill(-pid_, sig);
}

void Command::Kill() {
  killed_ = true;
  KillGroup(SIGKILL);
}

void Command::KillForShutdown() {
  if (state_ == State::kExecute) Kill();
}

// ---- end -------------------------------------------------------------------

void Command::Exited(int wstatus, const struct rusage& ru, uint64_t end_ns) {
  auto keep = shared_from_this();
  state_ = State::kDone;
  StopTimer();
  std::string status;
  if (WIFEXITED(wstatus)) {
    if (WEXITSTATUS(wstatus) != 0) status = "exit: " + std::to_string(WEXITSTATUS(wstatus));
  } else if (WIFSIGNALED(wstatus)) {
    int sig = WTERMSIG(wstatus);
    status = (killed_ && sig == SIGKILL) ? "killed" : "signal: " + std::to_string(sig);
  }
  uint64_t real_ms = end_ns > start_ns_ ? (end_ns - start_ns_) / 1000000 : 0;
  char buf[128];
  snprintf(buf, sizeof buf, "%d %" PRIu64 " %" PRIu64 " %" PRIu64 " ", static_cast<int>(pid_),
           Ms(ru.ru_utime), Ms(ru.ru_stime), real_ms);
  wait_record_ = buf + QuoteStatus(status) + "\n";
  while (!waiters_->empty()) {
    ReadReq r = waiters_->Pop();
    auto* sf = ninep::SynthFid::Of(r.fid);
    OpenFile* f = sf ? sf->State<OpenFile>() : nullptr;
    ServeWait(std::move(r), f);
  }
  // stdin stays: something left in the group may still read it; writes get
  // EPIPE from the pipe once nobody can.
  if (!cg_.dirs.empty()) {
    CgroupManager* mgr = fs_->cgroups();
    CmdCgroup cg = std::move(cg_);
    cg_ = CmdCgroup();
    if (fs_->stopping()) {
      mgr->Remove(cg);
    } else {
      fs_->server()->Offload([mgr, cg = std::move(cg)] { mgr->Remove(cg); });
    }
  }
  fs_->Audit(IsoNow() + " " + QuoteLine(peer_) + " " + QuoteLine(uname_) + " " +
             std::to_string(pid_) + " " + QuoteStatus(status) + " " + JoinQuoted(argv_));
  MaybeRecycle();
}

void Command::StopTimer() { ReleaseHandle(timer_, &Timer::t); }

void Command::CloseAll() {
  StopTimer();
  out_.Finish();
  err_.Finish();
  in_.Abort(Status(EPIPE, "cmdfs is exiting"));
  waiters_->AnswerAllEof();
}

// ---- reads and writes ------------------------------------------------------

void Command::ReadData(ReadReq r) { out_.Read(std::move(r)); }

void Command::ReadStderr(ReadReq r) { err_.Read(std::move(r)); }

void Command::WriteData(WriteReq r) { in_.Write(std::move(r)); }

void Command::ReadWait(ReadReq r, OpenFile* f) {
  if (!wait_record_.empty() || recycled_) return ServeWait(std::move(r), f);
  waiters_->Add(std::move(r));
}

void Command::ServeWait(ReadReq r, OpenFile* f) {
  uint64_t off = f ? f->wait_off : 0;
  if (off >= wait_record_.size()) return r.Respond(0);
  size_t k = std::min<size_t>(r.buf.size(), wait_record_.size() - off);
  memcpy(r.buf.data(), wait_record_.data() + off, k);
  if (f) f->wait_off += k;
  r.Respond(static_cast<uint32_t>(k));
}

std::string Command::StatusLine() const {
  return "cmd/" + std::to_string(n_) + " " + std::to_string(opens_) + " " +
         StateName(state_, released_) + " " + QuoteLine(Wdir()) + " " +
         QuoteLine(argv_.empty() ? std::string() : argv_[0]) + "\n";
}

}  // namespace cmdfs
