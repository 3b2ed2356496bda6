// spawn.h: starting one command: fork and exec with its own session and
// process group, its limits, working directory and environment, and pipes
// for stdin, stdout and stderr. Nothing runs through a shell.
//
// Spawn blocks (fork, then a read on a close-on-exec pipe that tells it
// whether execve succeeded), so it runs on a worker thread. The child only
// makes async-signal-safe calls between fork and exec: everything it needs
// is prepared before the fork.
// Thread-safety: Spawn may run on several threads at once.
#ifndef NINEFOLD_SRV_CMDFS_SPAWN_H_
#define NINEFOLD_SRV_CMDFS_SPAWN_H_

#include <sys/types.h>
#include <time.h>

#include <string>
#include <vector>

#include "cmdfs/ctl.h"
#include "ninep/status.h"

namespace cmdfs {

// What to run and how.
struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in the PATH of envp unless it has '/'
  std::vector<std::string> envp;  // NAME=VALUE
  std::string dir;                // working directory; empty: cmdfs's own
  int nice = 0;                   // added to the priority
  Limits limits;                  // cpu, mem and procs become rlimits (time is the caller's)
  std::vector<int> cgroup_fds;    // cgroup.procs files the child joins (borrowed)
  bool procs_in_cgroup = false;   // the pids limit is the cgroup's: skip RLIMIT_NPROC
  // Run as this user (a server started as root acting for a TLS identity):
  // the child takes its groups, gid and uid before chdir and exec.
  // RunAs fills these; run_as false leaves cmdfs's own credentials.
  bool run_as = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

// Sets spec->run_as, uid, gid and groups for the local account `user`
// (its supplementary groups too). ENOENT "no local user USER" when there
// is none. Safe on any thread.
ninep::Status RunAs(const std::string& user, SpawnSpec* spec);

// A started command. The caller owns the three fds (non-blocking, close-on-exec).
struct Spawned {
  pid_t pid = -1;  // also the process group and session id
  int in = -1;     // write end of the child's stdin
  int out = -1;    // read end of its stdout
  int err = -1;    // read end of its stderr
};

// Starts the command; returns once execve succeeded, or fails with the
// reason: "exec prog: No such file or directory" (errno from execve),
// "dir /x: Not a directory" (from chdir), and so on. On failure the child,
// if one was forked, has exited and is left to the caller's reaper.
ninep::Result<Spawned> Spawn(const SpawnSpec& spec);

// strerror text, safe on any thread.
std::string ErrText(int err);

}  // namespace cmdfs

#endif  // NINEFOLD_SRV_CMDFS_SPAWN_H_
