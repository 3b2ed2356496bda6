// union.h: the union directory server of a namespace (library ns_union).
//
// One FUSE server per namespace serves every union directory in it: the
// mount holds one subdirectory per union, named by its decimal id, and ns
// bind-mounts MOUNTPOINT/ID onto the directory the union covers. A Client
// builds and changes the unions over a control socket; the server lives
// until Stop or until that socket is closed (so it dies with the namespace
// that holds the other end).
//
// Semantics are Plan 9's, not overlayfs's:
//  - A union is an ordered list of member directories. Members are held by
//    directory fds opened before they were covered, so a directory may be a
//    member of the union mounted on itself or on its parent
//    (`bind -a /usr/local/bin /bin`, `bind -b $HOME/bin /bin`).
//  - Walking a name searches the members in order; the first member that
//    has the name serves it. Below that, nothing is a union: a directory
//    found in member k is served from member k alone (Plan 9 unions are one
//    level deep).
//  - Reading the union directory lists each name once, from the first
//    member that has it (shadowed names do not appear twice).
//  - create, mkdir, mknod, symlink and link in the union directory go to
//    the first member bound with create allowed (bind -c); with none, they
//    fail with EROFS ("read-only file system"). A name that already exists
//    in any member is opened where it is found, as Plan 9's create of an
//    existing file.
//  - remove (unlink, rmdir), rename and setattr (chmod, chown, truncate,
//    utimes) act on the member where the name was found; a rename keeps the
//    file in that member, so a rename between members (or unions) whose
//    directories lie on different file systems fails with EXDEV.
//  - stat of the union directory itself gives its first member's
//    attributes, except st_ino, which is the union's own (kUnionInoBase +
//    id) so a member can be recognised as a union of this server; a union
//    with no members is an empty directory, mode 0555.
//  - A member may be a union of the same server; one that would make a
//    union contain itself, directly or through others, is refused with
//    ELOOP.
//  - Permissions: the mount uses default_permissions, so the kernel checks
//    each caller against the attributes shown; when the server runs as
//    root (in its user namespace) the mount is allow_other and files are
//    created, removed and renamed with the caller's fsuid/fsgid, so the
//    member file system checks too and new files belong to the caller.
//  - Caching: attributes and names are cached by the kernel for a second;
//    changes made through the union are seen at once, changes made to a
//    member directly (not through the union) within a second, and changes
//    to a union's member list at once (the kernel's entries are dropped).
//
// Requirements: /dev/fuse usable by the caller (mode 0666, as udev makes
// it) and either root in the current user namespace (mount(2) directly) or
// fusermount3; /proc mounted (files are reopened through /proc/self/fd).
//
// Thread-safety: Client serialises its calls (one request on the socket at
// a time), so one Client may be shared between threads. ServeMain runs the
// server in the calling thread (plus its own threads) until it ends.
#ifndef NINEFOLD_NS_UNION_UNION_H_
#define NINEFOLD_NS_UNION_UNION_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "ninep/status.h"

namespace nsunion {

using ninep::Result;
using ninep::Status;

// st_ino of union directory ID is kUnionInoBase + ID.
inline constexpr uint64_t kUnionInoBase = uint64_t{1} << 62;

// One member of a union: a directory fd opened BEFORE it was covered, so
// `bind -a /usr/local/bin /bin` works. The Client sends a copy of dirfd;
// the caller keeps (and closes) its own. create: the member takes creates
// (bind -c). label: how `ns show` names it (normally its path).
struct Member {
  int dirfd = -1;
  bool create = false;
  std::string label;
};

// What List reports for one member, in union order.
struct MemberInfo {
  std::string label;
  bool create = false;
};

// Runs the FUSE server mounted at mountpoint (an existing directory, which
// the mount covers), serving one subdirectory per union, named by its
// decimal id, until Stop or until the control socket is closed. Meant to be
// called in a child process that ns forks inside the namespace's mount
// namespace; control_fd is one end of a socketpair(AF_UNIX, SOCK_SEQPACKET)
// whose other end a Client holds. Returns a process exit status: 0 after a
// clean stop, 1 when the mount fails (the reason on stderr, "ns: union:
// ..."). On stop it detaches the mount (and so every bind mount of it ends
// with ENOTCONN once the process is gone); if the FUSE connection cannot be
// ended within 3 s it leaves with _exit(status).
int ServeMain(int control_fd, const std::string& mountpoint);

// Client of ServeMain over the control socket. Each call sends one request
// and waits for its answer; a server that is gone gives EPIPE/ECONNRESET.
// Errors carry the server's errno: EINVAL (bad id or label), ENOTDIR (the
// fd is not a directory), ELOOP (the union would contain itself), ENOENT
// (no member with that label).
class Client {
 public:
  // Borrows control_fd (the caller closes it, after the Client is done).
  explicit Client(int control_fd) : fd_(control_fd) {}

  // Makes an empty union; its directory is MOUNTPOINT/<id>.
  Result<int> NewUnion();
  // Adds m to union id: before every member (bind -b) or after them all
  // (bind -a). A member may appear in a union once per label.
  Status Add(int id, const Member& m, bool before);
  // Makes m the only member of union id (a plain bind onto a union).
  Status Replace(int id, const Member& m);
  // Removes the member labelled label (unmount NEW OLD); open files in it
  // stay usable.
  Status Remove(int id, const std::string& label);
  // The members of union id in order.
  Result<std::vector<MemberInfo>> List(int id);
  // Asks the server to unmount and end; answered before it does.
  Status Stop();

 private:
  // Sends fields (joined by NULs) plus fd if >= 0; returns the answer's
  // fields after "ok".
  Result<std::vector<std::string>> Call(const std::vector<std::string>& fields, int fd);

  int fd_;
  std::mutex mu_;  // one request at a time on fd_
};

}  // namespace nsunion

#endif  // NINEFOLD_NS_UNION_UNION_H_
