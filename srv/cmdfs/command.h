// command.h: one command directory of cmdfs (/N): its state, its ctl
// messages, its pipes and its lifetime, as Inferno's cmd(3) defines them.
//
// Lifetime. Opens of ctl, data, stderr and wait are counted (status is not).
// When the count drops to 0 the directory is released: a running command is
// killed (its whole process group), and once the command has ended (or if it
// never started) the directory is recycled: removed from the tree and /ps.
// With killonclose, closing the last open of ctl kills the command too.
// Closing the last writer of data gives the command EOF on stdin.
// Thread-safety: loop thread only (the spawn runs on a worker and posts back).
#ifndef NINEFOLD_SRV_CMDFS_COMMAND_H_
#define NINEFOLD_SRV_CMDFS_COMMAND_H_

#include <sys/resource.h>
#include <sys/types.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cmdfs/cgroup.h"
#include "cmdfs/ctl.h"
#include "cmdfs/spawn.h"
#include "cmdfs/streams.h"
#include "ninep/server.h"
#include "ninep/synth.h"

namespace cmdfs {

class CmdFs;
class Command;

// Which counted file of a command directory an open is of.
enum class FileKind { kCtl, kData, kStderr, kWait };

// Per-open state, kept in SynthFid::state for the life of the fid.
struct OpenFile {
  std::shared_ptr<Command> cmd;
  FileKind kind = FileKind::kCtl;
  bool writer = false;    // data opened for writing
  bool closed = false;    // Closed already ran
  uint64_t wait_off = 0;  // wait: bytes of the record this open has read
};

// One command directory.
class Command : public std::enable_shared_from_this<Command> {
 public:
  enum class State { kOpen, kStarting, kExecute, kDone };

  // REQUIRES: fs outlives the command; dir is the directory node /N.
  Command(CmdFs* fs, uint64_t n, ninep::SynthNodeRef dir);
  ~Command();
  Command(const Command&) = delete;
  Command& operator=(const Command&) = delete;

  // The directory number N and node.
  uint64_t n() const { return n_; }
  const ninep::SynthNodeRef& dir() const { return dir_; }
  // True once the directory left the tree; no new opens.
  bool recycled() const { return recycled_; }
  State state() const { return state_; }
  pid_t pid() const { return pid_; }

  // An open of a counted file succeeded / that open's fid went away.
  void Opened(OpenFile* f);
  void Closed(OpenFile* f);

  // One ctl message; answered at once, or (exec) when the child started.
  void Ctl(ninep::WriteReq r);
  // data: stdout of the command / stdin to it. stderr. wait.
  void ReadData(ninep::ReadReq r);
  void WriteData(ninep::WriteReq r);
  void ReadStderr(ninep::ReadReq r);
  void ReadWait(ninep::ReadReq r, OpenFile* f);
  // "cmd/N opens state wdir arg0\n".
  std::string StatusLine() const;

  // The reaper saw the command's leader end (wait4 status and rusage;
  // end_ns from uv_hrtime).
  void Exited(int wstatus, const struct rusage& ru, uint64_t end_ns);
  // Server exit: kills a running command (the caller reaps).
  void KillForShutdown();
  // Server exit: closes every handle and answers every waiting request.
  void CloseAll();

 private:
  struct Timer;
  void Exec(ninep::WriteReq r, std::vector<std::string> argv);
  void Started(ninep::WriteReq r, ninep::Result<Spawned> res, CmdCgroup cg, uint64_t start_ns);
  void KillGroup(int sig);
  void Kill();  // SIGKILL to the group, status 'killed'
  void MaybeRecycle();
  void ServeWait(ninep::ReadReq r, OpenFile* f);
  void StopTimer();
  std::string Wdir() const;

  CmdFs* fs_;
  uint64_t n_;
  ninep::SynthNodeRef dir_;
  State state_ = State::kOpen;
  int opens_ = 0, ctl_opens_ = 0, writers_ = 0;
  bool released_ = false, recycled_ = false;
  bool killonclose_ = false, killed_ = false, stdin_eof_ = false;

  // Set by ctl messages before exec.
  std::string wdir_;
  std::vector<std::pair<std::string, std::string>> env_;
  int nice_ = 0;
  Limits limits_;

  // The running command.
  std::vector<std::string> argv_;
  std::string uname_, peer_;
  pid_t pid_ = -1;
  uint64_t start_ns_ = 0;
  CmdCgroup cg_;
  Timer* timer_ = nullptr;
  OutStream out_, err_;
  InStream in_;
  std::string wait_record_;
  std::shared_ptr<ReadQueue> waiters_ = std::make_shared<ReadQueue>();
};

}  // namespace cmdfs

#endif  // NINEFOLD_SRV_CMDFS_COMMAND_H_
