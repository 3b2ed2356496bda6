// identity.h: the local user an attach acts as, and switching a thread's
// filesystem credentials to it.
//
// exportfs started as root performs each request with the fsuid, fsgid and
// supplementary groups of the user its attach named, so the kernel's own
// permission checks, ownership of new files, sticky-directory and set-id
// rules apply, as diod and v9fs's access=user do. Credentials are
// per-thread in Linux: setfsuid/setfsgid change only the calling thread,
// and so does the raw setgroups system call (glibc's setgroups() changes
// every thread of the process, which would race with the other workers).
// Each thread remembers the credentials it holds and switches only when a
// request needs different ones, so requests of one user cost nothing.
// Thread-safety: Identity is immutable once made; ActAs affects only the
// calling thread.
#ifndef NINEFOLD_EXPORTFS_IDENTITY_H_
#define NINEFOLD_EXPORTFS_IDENTITY_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ninep/status.h"

namespace exportfs {

// A local user: ids and supplementary groups from the passwd and group
// databases at attach time.
struct Identity {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups, the primary one included

  // True when gid is the primary group or one of the supplementary ones.
  bool InGroup(gid_t g) const;
};
using IdentityRef = std::shared_ptr<const Identity>;

// The user an attach names: n_uname (a uid) when it is set, as diod does,
// else the name uname. Fails EACCES "unknown user NAME" when the passwd
// database has no such user.
ninep::Result<IdentityRef> LookupIdentity(std::string_view uname, uint32_t n_uname);

// Switches the calling thread's fsuid, fsgid and supplementary groups to
// id's, with fsgid replaced by `gid` when gid is not ~0 and id may use it
// (root, or a member of that group: the group a 9P2000.L create names, as
// diod honours it). A null id does nothing: the server acts as itself.
// Fails only if the kernel refuses (the server is not root).
ninep::Status ActAs(const Identity* id, uint32_t gid = ~0U);

// While alive, the calling thread acts as the server itself (the
// credentials the thread started with), for work that re-establishes
// access the user was already granted (reopening a file the user's fid
// holds). Restores the previous identity when destroyed.
class AsServer {
 public:
  AsServer();
  ~AsServer();
  AsServer(const AsServer&) = delete;
  AsServer& operator=(const AsServer&) = delete;

 private:
  bool switched_ = false;
  bool had_ = false;  // the thread's previous credentials were known
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  std::vector<gid_t> groups_;
};

// True when this process may act as other users (it runs as root).
// Call it once from main's thread before serving: it records the
// credentials AsServer returns to.
bool CanSwitchUsers();

}  // namespace exportfs

#endif  // NINEFOLD_EXPORTFS_IDENTITY_H_
