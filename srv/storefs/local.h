// local.h: --local N: chunkd children for a store on one machine. Each
// child serves METADIR/chunkd.I on the unix socket METADIR/chunkd.I/sock,
// dies with its parent (PR_SET_PDEATHSIG) and is stopped by ~LocalChunkds.
// Thread-safety: for main's thread.
#ifndef STOREFS_LOCAL_H_
#define STOREFS_LOCAL_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "ninep/status.h"

namespace storefs {

class LocalChunkds {
 public:
  LocalChunkds() = default;
  LocalChunkds(const LocalChunkds&) = delete;
  LocalChunkds& operator=(const LocalChunkds&) = delete;
  // Stops (SIGTERM, then SIGKILL after 5 s) and reaps every child.
  ~LocalChunkds();

  // Starts n chunkd (the binary next to /proc/self/exe) under metadir and
  // waits until each listens; returns their dial strings.
  ninep::Result<std::vector<std::string>> Start(const std::string& metadir, int n);

 private:
  std::vector<pid_t> pids_;
};

}  // namespace storefs

#endif  // STOREFS_LOCAL_H_
