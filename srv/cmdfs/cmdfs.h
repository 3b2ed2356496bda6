// cmdfs.h: the cmdfs file server, a synthetic tree modelled on Inferno's
// cmd(3) device:
//
//   /clone      opening it makes a command directory N; the fid becomes N/ctl
//   /ps         one status line per command directory
//   /N/ctl      ctl messages (see ctl.h); reads give N
//   /N/data     stdout of the command (read), its stdin (write)
//   /N/stderr   its stderr
//   /N/wait     blocks until it ends: "pid user_ms sys_ms real_ms 'status'"
//   /N/status   "cmd/N opens state wdir arg0"
//
// CmdFs owns the command directories, reaps every child (it is a child
// subreaper, so orphaned grandchildren are reaped too) and writes the audit
// log. See man4/cmdfs.4 and command.h for the lifetime rules.
// Thread-safety: loop thread only, except where a method says otherwise.
#ifndef NINEFOLD_SRV_CMDFS_CMDFS_H_
#define NINEFOLD_SRV_CMDFS_CMDFS_H_

#include <sys/resource.h>
#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cmdfs/cgroup.h"
#include "cmdfs/command.h"
#include "ninep/server.h"
#include "ninep/synth.h"

namespace cmdfs {

// How cmdfs runs.
struct CmdFsOptions {
  std::string audit_path;         // -l: append one line per command; empty: none
  uint64_t default_time_ms = 0;   // -t: time limit of commands that set none; 0: none
  size_t stream_cap = 64 * 1024;  // bytes buffered per output stream
  bool trace = false;             // -D: also say which cgroup hierarchy is used
};

// The file server.
class CmdFs : public ninep::SynthTree {
 public:
  explicit CmdFs(CmdFsOptions opts);
  ~CmdFs() override;

  // Opens the audit log, becomes a child subreaper and probes cgroups.
  // Call once, before serving. Errors: "audit log PATH: why".
  ninep::Status Init();
  // After Server::Run returns, on the loop's thread: kills every running
  // command, reaps them (bounded wait), logs them and closes all handles.
  void Shutdown();

  void Started(ninep::Server* srv) override;

  // ---- for Command ----
  const CmdFsOptions& options() const { return opts_; }
  uv_loop_t* loop() const { return loop_; }
  // The server's environment with `over` applied (NAME=VALUE each).
  std::vector<std::string> Environment(
      const std::vector<std::pair<std::string, std::string>>& over) const;
  // cmdfs's working directory (a command's default wdir).
  const std::string& cwd() const { return cwd_; }
  // The cgroup hierarchy, or null (any thread).
  CgroupManager* cgroups() const { return cgroups_.get(); }
  // A spawn is starting / has been handed back to the loop.
  void SpawnBegin() { spawns_in_flight_++; }
  void SpawnEnd();
  // The command now owns pid: its end goes to c->Exited (at once if the
  // reaper already saw it).
  void Claim(pid_t pid, const std::shared_ptr<Command>& c);
  // Appends one line to the audit log (no-op without -l).
  void Audit(const std::string& line);
  // Removes a released, ended command directory from the tree and /ps.
  void Recycle(uint64_t n);
  // True once Shutdown began.
  bool stopping() const { return stopping_; }

 private:
  struct Exit {
    int status;
    struct rusage ru;
    uint64_t end_ns;
  };
  struct Signal;
  ninep::Result<std::shared_ptr<Command>> NewCommand();
  ninep::SynthFile FileFor(const std::weak_ptr<Command>& w, FileKind k);
  void Reap();
  std::string Ps() const;

  CmdFsOptions opts_;
  uv_loop_t* loop_ = nullptr;
  std::vector<std::string> environ_;
  std::string cwd_;
  int audit_fd_ = -1;
  std::unique_ptr<CgroupManager> cgroups_;
  Signal* sigchld_ = nullptr;
  bool stopping_ = false;
  uint64_t next_n_ = 0;
  std::map<uint64_t, std::shared_ptr<Command>> cmds_;
  std::unordered_map<pid_t, std::weak_ptr<Command>> by_pid_;
  int spawns_in_flight_ = 0;
  std::unordered_map<pid_t, Exit> unclaimed_;  // reaped while a spawn was in flight
};

}  // namespace cmdfs

#endif  // NINEFOLD_SRV_CMDFS_CMDFS_H_
