// ctl.h: the messages written to a cmdfs command's ctl file, parsed and
// checked. Parsing knows nothing of the command's state; command.cc decides
// whether a well-formed message is allowed now (e.g. dir after exec).
// Thread-safety: pure functions and plain values.
#ifndef NINEFOLD_SRV_CMDFS_CTL_H_
#define NINEFOLD_SRV_CMDFS_CTL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ninep/status.h"

namespace cmdfs {

// Resource limits of one command; 0 means "no limit".
struct Limits {
  uint64_t cpu_s = 0;    // RLIMIT_CPU, seconds of CPU time
  uint64_t mem = 0;      // bytes: RLIMIT_AS, and the cgroup's memory limit when writable
  uint64_t procs = 0;    // the cgroup's pids limit when writable, and RLIMIT_NPROC
  uint64_t time_ms = 0;  // wall-clock time, then the group is killed
};

// One parsed ctl message.
struct CtlMsg {
  enum Kind { kExec, kKill, kSignal, kDir, kEnv, kNice, kKillOnClose, kLimit } kind = kKill;
  std::vector<std::string> argv;                         // exec
  int sig = 0;                                           // signal
  std::string dir;                                       // dir
  std::vector<std::pair<std::string, std::string>> env;  // env NAME=VALUE...
  int nice = 0;                                          // nice (increment)
  Limits limits;                                         // limit: fields given
  uint32_t limits_set = 0;                               // bits: 1 cpu, 2 mem, 4 procs, 8 time
};

// Parses one ctl message (a single trailing newline is allowed). Errors are
// EINVAL with the reason ("unknown ctl message: foo", "signal: bad signal
// name: FOO", ...).
ninep::Result<CtlMsg> ParseCtl(std::string_view msg);

// Parses a signal name (HUP, SIGHUP, hup) or number (1..64).
ninep::Result<int> ParseSignal(std::string_view s);

// Parses seconds ("10", "1.5") into milliseconds (> 0).
ninep::Result<uint64_t> ParseSeconds(std::string_view s);

}  // namespace cmdfs

#endif  // NINEFOLD_SRV_CMDFS_CTL_H_
