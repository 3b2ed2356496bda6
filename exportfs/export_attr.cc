// export_attr.cc: attributes: Twstat and Tsetattr (both arrive as Wstat),
// Tgetattr and Tstatfs. Every change goes through the fid's O_PATH fd with
// AT_EMPTY_PATH, or through its /proc/self/fd magic link for regular files
// and directories (see Reopen in export_fs.cc), never by a name.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "exportfs/export_fs.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452  // Linux 6.6; glibc 2.36's headers predate it
#endif

namespace exportfs {

using ninep::Status;

Status ExportFs::Chmod(const Node& n, uint32_t mode) {
  if (n.IsLink()) return Err(EOPNOTSUPP);
  if (syscall(SYS_fchmodat2, n.fd->get(), "", mode, AT_EMPTY_PATH) == 0) return Status();
  if (errno != ENOSYS) return Err(errno);
  if (!n.IsReg() && !n.IsDir()) return Err(EOPNOTSUPP);
  if (chmod(ProcPath(n.fd->get()).c_str(), mode) != 0) return Err(errno);
  return Status();
}

Status ExportFs::Truncate(const Node& n, uint64_t size) {
  if (n.IsDir()) return Err(EISDIR);
  if (!n.IsReg()) return Err(EINVAL);
  if (size > static_cast<uint64_t>(INT64_MAX)) return Err(EFBIG);
  if (truncate(ProcPath(n.fd->get()).c_str(), static_cast<off_t>(size)) != 0) return Err(errno);
  return Status();
}

Status ExportFs::Utimes(const Node& n, const struct timespec ts[2]) {
  if (utimensat(n.fd->get(), "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return Err(errno);
  return Status();
}

Status ExportFs::DoSetattr(const Node& n, const ninep::Tsetattr& sa) {
  using namespace ninep;
  uint32_t v = sa.valid;
  if (v & (P9_SETATTR_UID | P9_SETATTR_GID)) {
    uid_t uid = (v & P9_SETATTR_UID) ? sa.uid : static_cast<uid_t>(-1);
    gid_t gid = (v & P9_SETATTR_GID) ? sa.gid : static_cast<gid_t>(-1);
    if (fchownat(n.fd->get(), "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
      return Err(errno);
  }
  if (v & P9_SETATTR_MODE) {
    Status s = Chmod(n, sa.mode & 07777);
    if (!s.ok()) return s;
  }
  if (v & P9_SETATTR_SIZE) {
    Status s = Truncate(n, sa.size);
    if (!s.ok()) return s;
  }
  if (v & (P9_SETATTR_ATIME | P9_SETATTR_MTIME)) {
    struct timespec ts[2];
    ts[0].tv_nsec = ts[1].tv_nsec = UTIME_OMIT;
    ts[0].tv_sec = ts[1].tv_sec = 0;
    if (v & P9_SETATTR_ATIME) {
      if (v & P9_SETATTR_ATIME_SET) {
        ts[0].tv_sec = static_cast<time_t>(sa.atime_sec);
        ts[0].tv_nsec = static_cast<long>(sa.atime_nsec);
      } else {
        ts[0].tv_nsec = UTIME_NOW;  // time bits without _SET: "now" on the server
      }
    }
    if (v & P9_SETATTR_MTIME) {
      if (v & P9_SETATTR_MTIME_SET) {
        ts[1].tv_sec = static_cast<time_t>(sa.mtime_sec);
        ts[1].tv_nsec = static_cast<long>(sa.mtime_nsec);
      } else {
        ts[1].tv_nsec = UTIME_NOW;
      }
    }
    Status s = Utimes(n, ts);
    if (!s.ok()) return s;
  }
  if (v == P9_SETATTR_CTIME) {
    // Only "ctime now": a chown to no one changes nothing but the ctime.
    if (fchownat(n.fd->get(), "", -1, -1, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
      return Err(errno);
  }
  return Status();
}

Status ExportFs::DoWstat(ExFid* x, const ninep::Stat& d, const ninep::Tsetattr& sa) {
  using namespace ninep;
  if (sa.valid != 0) {
    // The framework marks a Tsetattr of valid 0 as CTIME alone: nothing to do.
    if (opts_.read_only) return Err(EROFS);
    return DoSetattr(*x->node(), sa);
  }
  constexpr uint32_t kNo32 = 0xFFFFFFFF;
  bool mode = d.mode != kNo32, atime = d.atime != kNo32, mtime = d.mtime != kNo32;
  bool length = d.length != ~0ULL;
  bool rename = !d.name.empty(), uid = !d.uid.empty(), gid = !d.gid.empty();
  if (!(mode || atime || mtime || length || rename || uid || gid)) return Status();  // a sync
  if (opts_.read_only) return Err(EROFS);
  NodeRef n = x->node();
  if (rename && (n->is_root || d.name != n->name)) {
    auto wp = WithParent(x);
    if (!wp.ok()) return wp.status();
    n = *wp;
    rename = d.name != n->name;
  } else {
    rename = false;
  }
  // Check everything first, so a bad field changes nothing.
  if (rename) {
    Status s = CheckName(d.name, true);
    if (!s.ok()) return s;
  }
  int64_t u = -1, g = -1;
  if (uid && (u = UserId(d.uid)) < 0) return Status(EINVAL, "unknown user: invalid argument");
  if (gid && (g = GroupId(d.gid)) < 0) return Status(EINVAL, "unknown group: invalid argument");
  if (length && n->IsDir()) return Err(EISDIR);
  if (uid || gid) {
    if (fchownat(n->fd->get(), "", static_cast<uid_t>(u), static_cast<gid_t>(g),
                 AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
      return Err(errno);
  }
  if (mode) {
    // Set-id and sticky bits travel as DMSETUID, DMSETGID and DMSETVTX
    // (as stat reports them), so a chmod sets and clears them too.
    Status s = Chmod(*n, ninep::UnixModeFromDM(d.mode) & 07777);
    if (!s.ok()) return s;
  }
  if (length) {
    Status s = Truncate(*n, d.length);
    if (!s.ok()) return s;
  }
  if (atime || mtime) {
    struct timespec ts[2];
    ts[0] = {atime ? static_cast<time_t>(d.atime) : 0, atime ? 0 : UTIME_OMIT};
    ts[1] = {mtime ? static_cast<time_t>(d.mtime) : 0, mtime ? 0 : UTIME_OMIT};
    Status s = Utimes(*n, ts);
    if (!s.ok()) return s;
  }
  if (rename) {
    std::string to(d.name);
    // Plan 9 renames never replace an existing file.
    if (renameat2(n->parent->get(), n->name.c_str(), n->parent->get(), to.c_str(),
                  RENAME_NOREPLACE) != 0)
      return Err(errno);
    auto m = std::make_shared<Node>(*n);
    m->name = to;
    x->set_node(m);
  }
  return Status();
}

void ExportFs::Getattr(ninep::GetattrReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Getattr(std::move(r));
  if (NodeRef n = x->node(); Inline(*n)) {  // a fast path: see export_fs.cc
    struct statx st;
    if (StatFd(n->fd->get(), &st, true) == 0) return r.Respond(GetattrOf(st, root_dev_));
  }
  Off([this, r = std::move(r), x]() mutable {
    struct statx st;
    if (int e = StatFd(x->node()->fd->get(), &st)) return r.Fail(Err(e));
    r.Respond(GetattrOf(st, root_dev_));
  });
}

void ExportFs::Statfs(ninep::StatfsReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Statfs(std::move(r));
  Off([r = std::move(r), x]() mutable {
    struct statfs sf;
    if (fstatfs(x->node()->fd->get(), &sf) != 0) return r.Fail(Err(errno));
    ninep::Rstatfs s;
    s.type = static_cast<uint32_t>(sf.f_type);
    s.bsize = static_cast<uint32_t>(sf.f_bsize);
    s.blocks = sf.f_blocks;
    s.bfree = sf.f_bfree;
    s.bavail = sf.f_bavail;
    s.files = sf.f_files;
    s.ffree = sf.f_ffree;
    uint32_t lo, hi;
    memcpy(&lo, &sf.f_fsid.__val[0], 4);
    memcpy(&hi, &sf.f_fsid.__val[1], 4);
    s.fsid = lo | (static_cast<uint64_t>(hi) << 32);
    s.namelen = static_cast<uint32_t>(sf.f_namelen);
    r.Respond(s);
  });
}

}  // namespace exportfs
