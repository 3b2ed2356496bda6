// export_dotl.cc: the 9P2000.L hooks that change the namespace (mkdir,
// unlinkat, rename, renameat, symlink, mknod, link), readlink, fsync and
// POSIX record locks. Names are checked with CheckName and every call is
// an *at() call relative to a fid's O_PATH fd, so a name is one component
// looked up in a directory that is inside the root.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "exportfs/export_fs.h"

namespace exportfs {

using ninep::Status;

namespace {

// EXDEV for a request naming one ctl fid and one disk fid.
constexpr int kCrossTree = EXDEV;

}  // namespace

void ExportFs::Mkdir(ninep::MkdirReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Mkdir(std::move(r));
  if (opts_.read_only) return r.Fail(Err(EROFS));
  Off([this, r = std::move(r), x]() mutable {
    if (!As(x, r, r.in.gid)) return;
    Status s = CheckName(r.in.name, true);
    if (!s.ok()) return r.Fail(s);
    std::string name(r.in.name);
    int dfd = x->node()->fd->get();
    if (mkdirat(dfd, name.c_str(), r.in.mode & 07777) != 0) return r.Fail(Err(errno));
    auto q = QidAt(dfd, name);
    if (!q.ok()) return r.Fail(q.status());
    r.Respond(*q);
  });
}

void ExportFs::Unlinkat(ninep::UnlinkatReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Unlinkat(std::move(r));
  if (opts_.read_only) return r.Fail(Err(EROFS));
  Off([r = std::move(r), x]() mutable {
    if (!As(x, r)) return;
    Status s = CheckName(r.in.name, true);
    if (!s.ok()) return r.Fail(s);
    std::string name(r.in.name);
    constexpr uint32_t kRemoveDir = 0x200;  // AT_REMOVEDIR as 9P2000.L numbers it
    int flags = (r.in.flags & kRemoveDir) ? AT_REMOVEDIR : 0;
    if (unlinkat(x->node()->fd->get(), name.c_str(), flags) != 0) return r.Fail(Err(errno));
    r.Respond(ninep::Empty{});
  });
}

void ExportFs::Renameat(ninep::RenameatReq r) {
  ExFid* a = Ex(r.fid);
  ExFid* b = Ex(r.fid2);
  if (!a && !b) return ctl_->Renameat(std::move(r));
  if (!a || !b) return r.Fail(Err(kCrossTree));
  if (opts_.read_only) return r.Fail(Err(EROFS));
  Off([r = std::move(r), a, b]() mutable {
    if (!As(a, r)) return;
    Status s = CheckName(r.in.oldname, true);
    if (s.ok()) s = CheckName(r.in.newname, true);
    if (!s.ok()) return r.Fail(s);
    std::string from(r.in.oldname), to(r.in.newname);
    NodeRef da = a->node(), db = b->node();
    if (!da->IsDir() || !db->IsDir()) return r.Fail(Err(ENOTDIR));
    if (renameat(da->fd->get(), from.c_str(), db->fd->get(), to.c_str()) != 0)
      return r.Fail(Err(errno));
    r.Respond(ninep::Empty{});
  });
}

void ExportFs::Rename(ninep::RenameReq r) {
  ExFid* a = Ex(r.fid);
  ExFid* b = Ex(r.fid2);
  if (!a && !b) return ctl_->Rename(std::move(r));
  if (!a || !b) return r.Fail(Err(kCrossTree));
  if (opts_.read_only) return r.Fail(Err(EROFS));
  Off([this, r = std::move(r), a, b]() mutable {
    if (!As(a, r)) return;
    Status s = CheckName(r.in.name, true);
    if (!s.ok()) return r.Fail(s);
    auto n = WithParent(a);
    if (!n.ok()) return r.Fail(n.status());
    NodeRef dir = b->node();
    if (!dir->IsDir()) return r.Fail(Err(ENOTDIR));
    std::string to(r.in.name);
    const Node& node = **n;
    if (renameat(node.parent->get(), node.name.c_str(), dir->fd->get(), to.c_str()) != 0)
      return r.Fail(Err(errno));
    auto m = std::make_shared<Node>(node);
    m->parent = dir->fd;
    m->name = to;
    a->set_node(m);
    r.Respond(ninep::Empty{});
  });
}

void ExportFs::Symlink(ninep::SymlinkReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Symlink(std::move(r));
  if (opts_.read_only) return r.Fail(Err(EROFS));
  Off([this, r = std::move(r), x]() mutable {
    if (!As(x, r, r.in.gid)) return;
    Status s = CheckName(r.in.name, true);
    if (!s.ok()) return r.Fail(s);
    // The target is only stored: exportfs never follows a symlink, so any
    // target, even "/etc/passwd", leads nowhere through us.
    if (r.in.symtgt.empty() || r.in.symtgt.find('\0') != std::string_view::npos)
      return r.Fail(Err(EINVAL));
    std::string name(r.in.name), target(r.in.symtgt);
    int dfd = x->node()->fd->get();
    if (symlinkat(target.c_str(), dfd, name.c_str()) != 0) return r.Fail(Err(errno));
    auto q = QidAt(dfd, name);
    if (!q.ok()) return r.Fail(q.status());
    r.Respond(*q);
  });
}

void ExportFs::Mknod(ninep::MknodReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Mknod(std::move(r));
  if (opts_.read_only) return r.Fail(Err(EROFS));
  Off([this, r = std::move(r), x]() mutable {
    if (!As(x, r, r.in.gid)) return;
    Status s = CheckName(r.in.name, true);
    if (!s.ok()) return r.Fail(s);
    uint32_t type = r.in.mode & S_IFMT;
    switch (type) {
      case 0:
      case S_IFREG:
      case S_IFIFO:
      case S_IFSOCK:
        break;
      case S_IFCHR:
      case S_IFBLK:
        if (geteuid() != 0) return r.Fail(Err(EPERM));
        break;
      default:
        return r.Fail(Err(EINVAL));
    }
    std::string name(r.in.name);
    int dfd = x->node()->fd->get();
    if (mknodat(dfd, name.c_str(), r.in.mode & (S_IFMT | 07777), makedev(r.in.major, r.in.minor)) !=
        0)
      return r.Fail(Err(errno));
    auto q = QidAt(dfd, name);
    if (!q.ok()) return r.Fail(q.status());
    r.Respond(*q);
  });
}

void ExportFs::Readlink(ninep::ReadlinkReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Readlink(std::move(r));
  Off([r = std::move(r), x]() mutable {
    if (!As(x, r)) return;
    NodeRef n = x->node();
    if (!n->IsLink()) return r.Fail(Err(EINVAL));
    std::string buf(PATH_MAX, '\0');
    ssize_t len = readlinkat(n->fd->get(), "", buf.data(), buf.size());
    if (len < 0) return r.Fail(Err(errno));
    buf.resize(static_cast<size_t>(len));
    r.Respond(std::move(buf));
  });
}

void ExportFs::Link(ninep::LinkReq r) {
  ExFid* dir = Ex(r.fid);    // dfid
  ExFid* file = Ex(r.fid2);  // the existing file
  if (!dir && !file) return ctl_->Link(std::move(r));
  if (!dir || !file) return r.Fail(Err(kCrossTree));
  if (opts_.read_only) return r.Fail(Err(EROFS));
  Off([r = std::move(r), dir, file]() mutable {
    if (!As(dir, r)) return;
    Status s = CheckName(r.in.name, true);
    if (!s.ok()) return r.Fail(s);
    NodeRef d = dir->node(), f = file->node();
    if (!d->IsDir()) return r.Fail(Err(ENOTDIR));
    if (f->IsDir()) return r.Fail(Err(EPERM));
    std::string name(r.in.name);
    // Linking the fid's own inode (AT_EMPTY_PATH) needs no name lookup;
    // without CAP_DAC_READ_SEARCH fall back to its name in its directory,
    // checked to still be the same inode.
    if (linkat(f->fd->get(), "", d->fd->get(), name.c_str(), AT_EMPTY_PATH) == 0)
      return r.Respond(ninep::Empty{});
    int e = errno;
    if ((e != ENOENT && e != EPERM) || !f->parent || f->name.empty()) return r.Fail(Err(e));
    struct statx st;
    if (StatAt(f->parent->get(), f->name.c_str(), &st) != 0 || DevOf(st) != f->dev ||
        st.stx_ino != f->ino)
      return r.Fail(Err(e));
    if (linkat(f->parent->get(), f->name.c_str(), d->fd->get(), name.c_str(), 0) != 0)
      return r.Fail(Err(errno));
    r.Respond(ninep::Empty{});
  });
}

void ExportFs::Fsync(ninep::FsyncReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Fsync(std::move(r));
  Off([this, r = std::move(r), x]() mutable {
    if (!As(x, r)) return;
    FdRef io = x->io();
    if (!io) {
      NodeRef n = x->node();
      if (!n->IsReg() && !n->IsDir()) return r.Respond(ninep::Empty{});
      auto fd = Reopen(*n, O_RDONLY);
      if (!fd.ok()) return r.Fail(fd.status());
      io = *fd;
    }
    int rc = r.in.datasync ? fdatasync(io->get()) : fsync(io->get());
    if (rc != 0) return r.Fail(Err(errno));
    r.Respond(ninep::Empty{});
  });
}

namespace {

// A flock from a 9P lock range; false when the range cannot be represented.
bool FillLock(uint8_t type, uint64_t start, uint64_t length, struct flock* fl) {
  *fl = {};
  switch (type) {
    case ninep::P9_LOCK_TYPE_RDLCK:
      fl->l_type = F_RDLCK;
      break;
    case ninep::P9_LOCK_TYPE_WRLCK:
      fl->l_type = F_WRLCK;
      break;
    case ninep::P9_LOCK_TYPE_UNLCK:
      fl->l_type = F_UNLCK;
      break;
    default:
      return false;
  }
  if (start > static_cast<uint64_t>(INT64_MAX) || length > static_cast<uint64_t>(INT64_MAX))
    return false;
  fl->l_whence = SEEK_SET;
  fl->l_start = static_cast<off_t>(start);
  fl->l_len = static_cast<off_t>(length);  // 0: to the end, as in 9P
  return true;
}

}  // namespace

// Open file description locks: owned by the fid's open file, so two fids
// conflict as two opens would, and closing the fid drops its locks. Never
// F_OFD_SETLKW: a worker must not wait; the client retries BLOCKED.
void ExportFs::Lock(ninep::LockReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Lock(std::move(r));
  Off([r = std::move(r), x]() mutable {
    FdRef io = x->io();
    if (!io) return r.Fail(Err(EBADF));
    struct flock fl;
    if (!FillLock(r.in.type, r.in.start, r.in.length, &fl)) return r.Fail(Err(EINVAL));
    if (fcntl(io->get(), F_OFD_SETLK, &fl) == 0) return r.Respond(ninep::P9_LOCK_SUCCESS);
    if (errno == EAGAIN || errno == EACCES) return r.Respond(ninep::P9_LOCK_BLOCKED);
    r.Fail(Err(errno));
  });
}

void ExportFs::Getlock(ninep::GetlockReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Getlock(std::move(r));
  Off([r = std::move(r), x]() mutable {
    FdRef io = x->io();
    if (!io) return r.Fail(Err(EBADF));
    struct flock fl;
    if (!FillLock(r.in.type, r.in.start, r.in.length, &fl)) return r.Fail(Err(EINVAL));
    if (fcntl(io->get(), F_OFD_GETLK, &fl) != 0) return r.Fail(Err(errno));
    ninep::Rgetlock g;
    g.client_id = r.in.client_id;
    if (fl.l_type == F_UNLCK) {
      g.type = ninep::P9_LOCK_TYPE_UNLCK;
      g.start = r.in.start;
      g.length = r.in.length;
      g.proc_id = r.in.proc_id;
    } else {
      g.type = fl.l_type == F_WRLCK ? ninep::P9_LOCK_TYPE_WRLCK : ninep::P9_LOCK_TYPE_RDLCK;
      g.start = static_cast<uint64_t>(fl.l_start);
      g.length = static_cast<uint64_t>(fl.l_len);
      g.proc_id = fl.l_pid > 0 ? static_cast<uint32_t>(fl.l_pid) : 0;  // OFD locks have no pid
      g.client_id = "";
    }
    r.Respond(g);
  });
}

}  // namespace exportfs
