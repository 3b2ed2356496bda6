// cgroup.h: per-command control groups for the mem and procs limits, when
// the machine lets cmdfs write to a cgroup hierarchy (v2, else v1's pids and
// memory hierarchies). Without one, cmdfs falls back to rlimits only.
//
// Layout: <cmdfs's own cgroup>/cmdfs-<pid>/cmd-<N> in each usable
// hierarchy. Every method touches the filesystem, so it runs on a worker.
// Thread-safety: all methods may be called from any thread at once.
#ifndef NINEFOLD_SRV_CMDFS_CGROUP_H_
#define NINEFOLD_SRV_CMDFS_CGROUP_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cmdfs/ctl.h"
#include "ninep/status.h"

namespace cmdfs {

// One command's cgroup(s): the directories and their open cgroup.procs files.
struct CmdCgroup {
  std::vector<std::string> dirs;
  std::vector<int> procs_fds;  // close with CgroupManager::CloseFds
  bool procs = false;          // a pids limit is in force
  bool mem = false;            // a memory limit is in force
};

// Finds and manages the hierarchy.
class CgroupManager {
 public:
  // Probes /proc/self/mountinfo and /proc/self/cgroup for a writable
  // hierarchy with the pids or memory controller and makes cmdfs-<pid> in
  // it. Null when there is none (not an error: limits fall back to rlimits).
  static std::unique_ptr<CgroupManager> Detect();
  // Removes the cmdfs-<pid> directories (and leftover command groups).
  ~CgroupManager();

  // Makes cmd-<id> with the limits that a cgroup can hold (mem, procs).
  ninep::Result<CmdCgroup> Create(uint64_t id, const Limits& l);
  // Closes the procs files (after the child has joined).
  static void CloseFds(CmdCgroup* g);
  // Removes the command's directories; ones still busy are retried later.
  void Remove(const CmdCgroup& g);
  // "cgroup v2 /sys/fs/cgroup/...", "cgroup v1 pids,memory", for -D.
  std::string Describe() const;

 private:
  struct Hier {
    std::string base;  // .../cmdfs-<pid>
    bool v2 = false;
    bool pids = false, memory = false;
  };
  std::vector<Hier> hiers_;
  std::mutex mu_;
  std::set<std::string> leftover_;
};

}  // namespace cmdfs

#endif  // NINEFOLD_SRV_CMDFS_CGROUP_H_
