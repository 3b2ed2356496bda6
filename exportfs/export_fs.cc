// export_fs.cc: ExportFs's 9P2000 operations (attach, walk, open, create,
// read, write, directory reads, clunk, remove, stat, wstat) and the
// confinement helpers they share. 9P2000.L hooks are in export_dotl.cc,
// extended attributes in export_xattr.cc, the ctl tree in ctl.cc.
#include "exportfs/export_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "exportfs/ctl.h"

namespace exportfs {

using ninep::Qid;
using ninep::Result;
using ninep::Status;

ExFid::ExFid(FidRegistry* reg, std::shared_ptr<const Tree> t, NodeRef n, IdentityRef i)
    : tree(std::move(t)), id(std::move(i)), node_(std::move(n)), reg_(reg) {
  reg_->Add(this);
}

ExFid::~ExFid() { reg_->Remove(this); }

Result<std::unique_ptr<ExportFs>> ExportFs::Open(const ExportOptions& opts) {
  int fd = open(opts.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ninep::Errno(errno, opts.root);
  auto fs = std::unique_ptr<ExportFs>(new ExportFs(opts));
  struct statx st;
  if (int e = StatFd(fd, &st)) {
    close(fd);
    return ninep::Errno(e, opts.root);
  }
  auto tree = std::make_shared<Tree>();
  tree->fd = MakeFdRef(fd);
  tree->dev = DevOf(st);
  tree->ino = st.stx_ino;
  fs->root_ = tree;
  fs->root_dev_ = tree->dev;
  fs->local_ = LocalFs(fd);
  if (char* rp = realpath(opts.root.c_str(), nullptr)) {
    fs->root_path_ = rp;
    free(rp);
  }
  fs->ctl_ = MakeCtlTree();
  return fs;
}

ExportFs::~ExportFs() = default;

void ExportFs::Started(ninep::Server* srv) {
  srv_ = srv;
  ctl_->Started(srv);
}

void ExportFs::Auth(ninep::AttachReq r) { r.Fail(Status(ENOENT, "authentication not required")); }

// ---- Helpers (worker threads) -----------------------------------------------

namespace {

// A Node for an fd just opened (taken over), found as `name` in `parent`.
Result<NodeRef> MakeNode(int fd, FdRef parent, std::string name, const Tree& tree,
                         uint64_t root_dev, Qid* qid, bool cached_only = false) {
  FdRef f = MakeFdRef(fd);
  struct statx st;
  if (int e = StatFd(fd, &st, cached_only)) return Err(e);
  auto n = std::make_shared<Node>();
  n->fd = std::move(f);
  n->parent = std::move(parent);
  n->name = std::move(name);
  n->mode = st.stx_mode & S_IFMT;
  n->dev = DevOf(st);
  n->ino = st.stx_ino;
  n->is_root = n->dev == tree.dev && n->ino == tree.ino;
  if (n->is_root) {
    n->parent = nullptr;
    n->name = "/";
  }
  if (qid) *qid = QidOf(st, root_dev);
  return NodeRef(std::move(n));
}

// Linux access flags for a 9P2000 open mode.
int AccessFlags(uint8_t mode) {
  switch (mode & 3) {
    case ninep::OWRITE:
      return O_WRONLY;
    case ninep::ORDWR:
      return O_RDWR;
    default:
      return O_RDONLY;
  }
}

// The Linux open flags from Tlopen/Tlcreate that we pass on. O_DIRECT is
// dropped: reads land in the reply frame, which is not block aligned.
constexpr uint32_t kPassFlags = O_APPEND | O_SYNC | O_DSYNC | O_NOATIME;

// Reads or writes a FIFO or device (opened O_NONBLOCK) waiting in poll
// beside an eventfd that a Tflush signals, so a flushed request frees its
// worker instead of blocking it until data comes.
template <class Req, class Op>
void StreamWait(Req r, int fd, short events, Op op) {
  int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return r.Fail(Err(errno));
  FdRef ef = MakeFdRef(efd);
  r.OnFlush([ef] {
    uint64_t one = 1;
    if (write(ef->get(), &one, sizeof one) < 0) {
    }
  });
  for (;;) {
    ssize_t n = op();
    if (n >= 0) return r.Respond(static_cast<uint32_t>(n));
    if (errno == EINTR) continue;
    if (errno != EAGAIN) return r.Fail(Err(errno));
    pollfd p[2] = {{fd, events, 0}, {efd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) return r.Fail(Err(errno));
    if (p[1].revents) return r.Fail(Err(EINTR));
  }
}

}  // namespace

Result<NodeRef> ExportFs::NodeAt(const FdRef& dir, std::string_view name) const {
  Status s = CheckName(name, false);
  if (!s.ok()) return s;
  auto fd = OpenBeneath(dir->get(), name, O_PATH | O_NOFOLLOW);
  if (!fd.ok()) return fd.status();
  return MakeNode(*fd, dir, std::string(name), *root_, root_dev_, nullptr);
}

Result<NodeRef> ExportFs::WalkOne(const Tree& t, const NodeRef& cur, std::string_view name,
                                  Qid* qid, bool cached_only) const {
  if (!cur->IsDir()) return Err(ENOTDIR);
  if (name == "." || (name == ".." && cur->dev == t.dev && cur->ino == t.ino)) {
    auto q = QidOfNode(*cur);
    if (!q.ok()) return q.status();
    *qid = *q;
    return cur;
  }
  if (name == "..") {
    if (cached_only) return Err(EAGAIN);  // IsBeneath walks up: a worker's job
    // RESOLVE_BENEATH refuses ".." outright, so ".." is opened plainly and
    // then proven to be inside the tree: a directory moved out of the root
    // by a local process must not become a way out.
    int up = openat(cur->fd->get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (up < 0) return Err(errno);
    if (!IsBeneath(up, t.dev, t.ino)) {
      close(up);
      return Status(EACCES, "permission denied");
    }
    return MakeNode(up, nullptr, "", t, root_dev_, qid);
  }
  Status s = CheckName(name, false);
  if (!s.ok()) return s;
  auto fd = OpenBeneath(cur->fd->get(), name, O_PATH | O_NOFOLLOW, 0, cached_only);
  if (!fd.ok()) return fd.status();
  return MakeNode(*fd, cur->fd, std::string(name), t, root_dev_, qid, cached_only);
}

Result<Qid> ExportFs::QidOfNode(const Node& n) const {
  struct statx st;
  if (int e = StatFd(n.fd->get(), &st)) return Err(e);
  return QidOf(st, root_dev_);
}

Result<Qid> ExportFs::QidAt(int dirfd, std::string_view name) const {
  std::string nm(name);
  struct statx st;
  if (int e = StatAt(dirfd, nm.c_str(), &st)) return Err(e);
  return QidOf(st, root_dev_);
}

Result<NodeRef> ExportFs::WithParent(ExFid* x) const {
  NodeRef n = x->node();
  if (n->is_root) return Err(EBUSY);
  if (n->parent && !n->name.empty()) return n;
  // Reached by "..": only directories get here, and a directory's ".." is
  // its parent; look its name up there.
  int up = openat(n->fd->get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (up < 0) return Err(errno);
  FdRef upf = MakeFdRef(up);
  auto name = FindName(up, n->dev, n->ino);
  if (!name.ok()) return name.status();
  auto m = std::make_shared<Node>(*n);
  m->parent = upf;
  m->name = *name;
  x->set_node(m);
  return NodeRef(m);
}

// Opening for I/O from an O_PATH fd. The fid's O_PATH fd names the inode
// itself, whatever renames happened since the walk, and opening it through
// its /proc/self/fd magic link resolves no name: nothing can be swapped in
// between. We use that only for regular files and directories: their open
// has no side effects, and as they are not symlinks the kernel lands on
// exactly that inode. (A symlink's O_PATH fd is refused: ELOOP, as a 9P2000
// open of a symlink must fail.) FIFOs and devices are opened by name with
// openat2 beneath their parent, then checked to be the same inode; an open
// of a FIFO may block, which is fine on a worker.
Result<FdRef> ExportFs::Reopen(const Node& n, int flags) const {
  if (n.IsLink()) return Err(ELOOP);
  if (n.IsReg() || n.IsDir()) {
    int fd = open(ProcPath(n.fd->get()).c_str(), flags | O_CLOEXEC);
    if (fd < 0) return Err(errno);
    return MakeFdRef(fd);
  }
  if (!n.parent || n.name.empty()) return Err(ESTALE);
  auto fd = OpenBeneath(n.parent->get(), n.name, flags | O_NOFOLLOW);
  if (!fd.ok()) return fd.status();
  FdRef f = MakeFdRef(*fd);
  struct statx st;
  if (int e = StatFd(*fd, &st)) return Err(e);
  if (DevOf(st) != n.dev || st.stx_ino != n.ino) return Err(ESTALE);
  return f;
}

// ---- 9P2000 -------------------------------------------------------------------

void ExportFs::Attach(ninep::AttachReq r) {
  if (r.aname == "ctl") return ctl_->Attach(std::move(r));
  std::string aname(r.aname), uname(r.uname);
  Off([this, r = std::move(r), aname, uname]() mutable {
    IdentityRef id;
    if (opts_.setuid) {
      auto who = LookupIdentity(uname, r.n_uname);
      if (!who.ok()) return r.Fail(who.status());
      id = *who;
      Status as = ActAs(id.get());
      if (!as.ok()) return r.Fail(as);
    }
    std::string rel = aname;
    // diod's clients name the export by its absolute path; accept that too.
    if (!root_path_.empty() && root_path_ != "/" &&
        (rel == root_path_ || rel.starts_with(root_path_ + "/")))
      rel = rel.substr(root_path_.size());
    rel.erase(0, rel.find_first_not_of('/'));
    if (rel.find('\0') != std::string::npos) return r.Fail(Err(EINVAL));
    auto tree = root_;
    if (!rel.empty()) {
      // One openat2 for the whole path: RESOLVE_BENEATH refuses "..",
      // RESOLVE_NO_SYMLINKS any symlink on the way.
      auto fd = OpenBeneath(root_->fd->get(), rel, O_PATH | O_DIRECTORY);
      if (!fd.ok()) return r.Fail(fd.status());
      struct statx st;
      if (int e = StatFd(*fd, &st)) {
        close(*fd);
        return r.Fail(Err(e));
      }
      auto t = std::make_shared<Tree>();
      t->fd = MakeFdRef(*fd);
      t->dev = DevOf(st);
      t->ino = st.stx_ino;
      tree = t;
    }
    int fd = dup(tree->fd->get());
    if (fd < 0) return r.Fail(Err(errno));
    Qid q;
    auto n = MakeNode(fd, nullptr, "/", *tree, root_dev_, &q);
    if (!n.ok()) return r.Fail(n.status());
    r.fid->aux = std::make_shared<ExFid>(&reg_, tree, *n, std::move(id));
    r.Respond(q);
  });
}

// Fast paths. A request whose answer is in the kernel's caches is answered
// on the loop thread, saving two thread hand-offs: a walk whose lookups
// all hit the dentry cache (openat2 RESOLVE_CACHED, EAGAIN otherwise), a
// getattr or stat of a file on a local filesystem (the fid's O_PATH fd pins
// the inode in memory), a read of a regular file from the page cache
// (preadv2 RWF_NOWAIT, EAGAIN otherwise). Anything else, or any EAGAIN,
// goes to a worker as usual, so the loop never waits on a disk.

bool ExportFs::DoWalk(ninep::WalkReq& r, ExFid* x, bool cached_only) {
  auto tree = x->tree;
  NodeRef cur = x->node();
  std::vector<Qid> qids;
  for (size_t i = 0; i < r.names.size(); i++) {
    Qid q;
    auto nx = WalkOne(*tree, cur, r.names[i], &q, cached_only);
    if (!nx.ok()) {
      if (cached_only && nx.status().err() == EAGAIN) return false;
      if (i == 0) {
        r.Fail(nx.status());
        return true;
      }
      break;
    }
    cur = *nx;
    qids.push_back(q);
  }
  if (qids.size() == r.names.size())
    r.newfid->aux = std::make_shared<ExFid>(&reg_, tree, cur, x->id);
  r.Respond(std::move(qids));
  return true;
}

void ExportFs::Walk(ninep::WalkReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Walk(std::move(r));
  // Lookups check search permission: as the fid's user, on the loop too.
  if (Inline(*x->node()) && ActAs(x->id.get()).ok() && DoWalk(r, x, true)) return;
  Off([this, r = std::move(r), x]() mutable {
    if (As(x, r)) DoWalk(r, x, false);
  });
}

void ExportFs::Stat(ninep::StatReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Stat(std::move(r));
  if (NodeRef n = x->node(); Inline(*n) && !n->name.empty()) {
    struct statx st;
    if (StatFd(n->fd->get(), &st, true) == 0 && NamesCached(st.stx_uid, st.stx_gid))
      return r.Respond(DirOf(st, n->is_root ? "/" : n->name, root_dev_));
  }
  Off([this, r = std::move(r), x]() mutable {
    if (!As(x, r)) return;
    NodeRef n = x->node();
    if (n->name.empty()) {
      auto m = WithParent(x);
      if (m.ok()) n = *m;
    }
    struct statx st;
    if (int e = StatFd(n->fd->get(), &st)) return r.Fail(Err(e));
    r.Respond(DirOf(st, n->is_root ? "/" : n->name, root_dev_));
  });
}

void ExportFs::Open(ninep::OpenReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Open(std::move(r));
  uint8_t acc = r.mode & 3;
  bool writes = acc == ninep::OWRITE || acc == ninep::ORDWR || (r.mode & ninep::OTRUNC) ||
                (r.mode & ninep::ORCLOSE) || (r.lflags & (O_TRUNC | O_APPEND));
  if (opts_.read_only && writes) return r.Fail(Err(EROFS));
  Off([this, r = std::move(r), x]() mutable {
    if (!As(x, r)) return;
    NodeRef n = x->node();
    if (n->IsLink()) return r.Fail(Err(ELOOP));
    uint8_t acc = r.mode & 3;
    int flags = AccessFlags(r.mode) | static_cast<int>(r.lflags & kPassFlags);
    if ((r.mode & ninep::OTRUNC) || (r.lflags & O_TRUNC)) flags |= O_TRUNC;
    if (n->IsDir()) flags |= O_DIRECTORY;
    if (acc == ninep::OEXEC && !n->IsDir() &&
        syscall(SYS_faccessat2, n->fd->get(), "", X_OK, AT_EMPTY_PATH | AT_EACCESS) != 0)
      return r.Fail(Err(errno));
    auto q = QidOfNode(*n);
    if (!q.ok()) return r.Fail(q.status());
    // Plan 9's append-only files append whatever offset a write names.
    if ((q->type & ninep::QTAPPEND) && acc != ninep::OREAD && acc != ninep::OEXEC)
      flags |= O_APPEND;
    auto fd = Reopen(*n, flags);
    if (!fd.ok()) return r.Fail(fd.status());
    bool stream = S_ISFIFO(n->mode) || S_ISCHR(n->mode) || S_ISSOCK(n->mode);
    if (stream) fcntl((*fd)->get(), F_SETFL, fcntl((*fd)->get(), F_GETFL) | O_NONBLOCK);
    if (flags & O_TRUNC) {  // the truncation changed the version
      auto q2 = QidOfNode(*n);
      if (q2.ok()) q = q2;
    }
    x->set_io(*fd, stream);
    r.Respond(ninep::OpenOut{*q, 0});
  });
}

void ExportFs::Create(ninep::CreateReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Create(std::move(r));
  if (opts_.read_only) return r.Fail(Err(EROFS));
  Off([this, r = std::move(r), x]() mutable {
    if (!As(x, r, r.gid)) return;
    Status s = CheckName(r.name, true);
    if (!s.ok()) return r.Fail(s);
    NodeRef dir = x->node();
    if (!dir->IsDir()) return r.Fail(Err(ENOTDIR));
    std::string name(r.name);
    int dfd = dir->fd->get();
    FdRef io;
    int pathfd;
    if (r.perm & ninep::DMDIR) {
      if ((r.mode & 3) != ninep::OREAD && (r.mode & 3) != ninep::OEXEC) return r.Fail(Err(EISDIR));
      if (mkdirat(dfd, name.c_str(), r.perm & 07777) != 0) return r.Fail(Err(errno));
      auto pfd = OpenBeneath(dfd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY);
      if (!pfd.ok()) return r.Fail(pfd.status());
      pathfd = *pfd;
      int d = open(ProcPath(pathfd).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (d < 0) {
        close(pathfd);
        return r.Fail(Err(errno));
      }
      io = MakeFdRef(d);
    } else {
      // Always exclusive: 9P2000 create of an existing name is an error,
      // and Linux sends Tlcreate only for names it found missing.
      int flags = AccessFlags(r.mode) | static_cast<int>(r.lflags & kPassFlags) | O_CREAT | O_EXCL |
                  O_NOFOLLOW;
      auto fd = OpenBeneath(dfd, name, flags, r.perm & 07777);
      if (!fd.ok()) return r.Fail(fd.status());
      io = MakeFdRef(*fd);
      // The O_PATH fd through the new fd's magic link: the same inode for
      // sure (a regular file: see Reopen).
      pathfd = open(ProcPath(*fd).c_str(), O_PATH | O_CLOEXEC);
      if (pathfd < 0) return r.Fail(Err(errno));
    }
    Qid q;
    auto n = MakeNode(pathfd, dir->fd, name, *x->tree, root_dev_, &q);
    if (!n.ok()) return r.Fail(n.status());
    x->set_node(*n);
    x->set_io(io, false);
    r.Respond(ninep::OpenOut{q, 0});
  });
}

void ExportFs::StreamIo(ninep::ReadReq r, const FdRef& fd) {
  int f = fd->get();
  auto buf = r.buf;
  StreamWait(std::move(r), f, POLLIN, [f, buf] { return read(f, buf.data(), buf.size()); });
}

void ExportFs::Read(ninep::ReadReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Read(std::move(r));
  if (FdRef io = x->io(); io && local_ && !x->stream() && r.offset <= INT64_MAX) {
    bool plain;
    {
      std::lock_guard<std::mutex> l(x->xmu);
      plain = x->xkind == ExFid::Xattr::kNone;
    }
    iovec iov{r.buf.data(), r.buf.size()};
    ssize_t n = plain ? preadv2(io->get(), &iov, 1, static_cast<off_t>(r.offset), RWF_NOWAIT) : -1;
    if (n == static_cast<ssize_t>(r.buf.size())) return r.Respond(static_cast<uint32_t>(n));
    // Short: the end of the file, or only part of the range is cached.
    struct statx st;
    if (n >= 0 && StatFd(io->get(), &st, true) == 0 && r.offset + n >= st.stx_size)
      return r.Respond(static_cast<uint32_t>(n));
  }
  Off([this, r = std::move(r), x]() mutable {
    {
      std::lock_guard<std::mutex> l(x->xmu);
      if (x->xkind == ExFid::Xattr::kRead) {
        const std::string& v = x->xvalue;
        if (r.offset >= v.size()) return r.Respond(0);
        size_t n = std::min<size_t>(r.buf.size(), v.size() - r.offset);
        memcpy(r.buf.data(), v.data() + r.offset, n);
        return r.Respond(static_cast<uint32_t>(n));
      }
    }
    FdRef io = x->io();
    if (!io) return r.Fail(Err(EBADF));
    if (x->stream()) return StreamIo(std::move(r), io);
    if (r.offset > static_cast<uint64_t>(INT64_MAX)) return r.Fail(Err(EINVAL));
    for (;;) {
      ssize_t n = pread(io->get(), r.buf.data(), r.buf.size(), static_cast<off_t>(r.offset));
      if (n >= 0) return r.Respond(static_cast<uint32_t>(n));
      if (errno != EINTR) return r.Fail(Err(errno));
    }
  });
}

// Buffered writes to one file serialise on its inode lock in the kernel, so
// two workers writing through one fid at once gain nothing and one of them
// spins on the lock (11% of exportfs's CPU in a 1 GiB write through
// mount9p). One worker at a time writes through a fid, in arrival order; a
// write arriving meanwhile waits in the fid's queue for that worker.
void ExportFs::Write(ninep::WriteReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Write(std::move(r));
  // A pipe's write may wait for a reader; each stays cancellable alone.
  if (x->stream()) return Off([this, r = std::move(r), x]() mutable { WriteNow(std::move(r), x); });
  {
    std::lock_guard<std::mutex> l(x->wmu);
    if (x->writing) {
      x->wq.push_back(std::move(r));
      return;
    }
    x->writing = true;
  }
  // Each answer lets the client clunk the fid, and x dies with its last
  // reference; the worker goes on to x's queue after answering, so it holds
  // a reference of its own (found by make tsan-test and fuzz_server_session).
  ninep::FidRef keep = r.fid;
  Off([this, r = std::move(r), x, keep = std::move(keep)]() mutable {
    for (;;) {
      WriteNow(std::move(r), x);
      std::lock_guard<std::mutex> l(x->wmu);
      if (x->wq.empty()) {
        x->writing = false;
        return;
      }
      r = std::move(x->wq.front());
      x->wq.pop_front();
    }
  });
}

void ExportFs::WriteNow(ninep::WriteReq r, ExFid* x) {
  {
    std::lock_guard<std::mutex> l(x->xmu);
    if (x->xkind == ExFid::Xattr::kWrite) {
      if (r.offset > x->xsize || r.data.size() > x->xsize - r.offset) return r.Fail(Err(ENOSPC));
      if (x->xvalue.size() < r.offset + r.data.size()) x->xvalue.resize(r.offset + r.data.size());
      memcpy(x->xvalue.data() + r.offset, r.data.data(), r.data.size());
      x->xwritten = std::max<uint64_t>(x->xwritten, r.offset + r.data.size());
      return r.Respond(static_cast<uint32_t>(r.data.size()));
    }
    if (x->xkind == ExFid::Xattr::kRead) return r.Fail(Err(EBADF));
  }
  if (opts_.read_only) return r.Fail(Err(EROFS));
  // A write by another user clears the file's set-id bits: as its user.
  if (!As(x, r)) return;
  FdRef io = x->io();
  if (!io) return r.Fail(Err(EBADF));
  int f = io->get();
  if (x->stream()) {
    auto d = r.data;
    return StreamWait(std::move(r), f, POLLOUT, [f, d] { return write(f, d.data(), d.size()); });
  }
  if (r.offset > static_cast<uint64_t>(INT64_MAX)) return r.Fail(Err(EINVAL));
  for (;;) {
    ssize_t n = pwrite(f, r.data.data(), r.data.size(), static_cast<off_t>(r.offset));
    if (n >= 0) return r.Respond(static_cast<uint32_t>(n));
    if (errno != EINTR) return r.Fail(Err(errno));
  }
}

void ExportFs::ReadDir(ninep::ReadDirReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->ReadDir(std::move(r));
  Off([this, r = std::move(r), x]() mutable {
    if (!As(x, r)) return;
    FdRef io = x->io();
    if (!io) return r.Fail(Err(EBADF));
    int d = io->get();
    std::lock_guard<std::mutex> l(x->dir_mu);
    auto& win = x->dir_win;
    // Cookies are getdents64's d_off: lseek to one resumes right after the
    // entry it came with, even in a directory that changed meanwhile.
    size_t at = win.size() + 1;
    if (r.cookie == x->dir_start) {
      at = 0;
    } else {
      for (size_t k = 0; k < win.size(); k++) {
        if (win[k].off == r.cookie) {
          at = k + 1;
          break;
        }
      }
    }
    if (at > win.size()) {
      if (lseek(d, static_cast<off_t>(r.cookie), SEEK_SET) < 0) return r.Fail(Err(errno));
      win.clear();
      x->dir_eof = false;
      at = 0;
    }
    win.erase(win.begin(), win.begin() + static_cast<ptrdiff_t>(at));
    x->dir_start = r.cookie;
    std::vector<ninep::DirEntry> out;
    // Produce about as many entries as fit: DirentSize is the smaller of
    // the two dialects' entry sizes, so this never falls short.
    size_t want = r.count, est = 0;
    std::vector<char> buf;
    for (size_t k = 0; est < want;) {
      if (k == win.size()) {
        if (x->dir_eof) break;
        buf.resize(std::clamp<size_t>(want * 2, 2048, 65536));
        ssize_t n = getdents64(d, buf.data(), buf.size());
        if (n < 0) return r.Fail(Err(errno));
        if (n == 0) {
          x->dir_eof = true;
          break;
        }
        for (ssize_t off = 0; off < n;) {
          auto* e = reinterpret_cast<dirent64*>(buf.data() + off);
          off += e->d_reclen;
          if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            win.push_back({e->d_name, static_cast<uint64_t>(e->d_off)});
        }
        continue;
      }
      const ExFid::DirEnt& e = win[k++];
      struct statx st;
      if (StatAt(d, e.name.c_str(), &st) != 0) continue;  // removed since: skip it
      ninep::DirEntry de;
      de.dir = DirOf(st, e.name, root_dev_);
      de.next = e.off;
      est += ninep::DirentSize(de.dir.name);
      out.push_back(std::move(de));
    }
    r.Respond(std::move(out));
  });
}

void ExportFs::Clunk(ninep::ClunkReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Clunk(std::move(r));
  bool xattr;
  {
    std::lock_guard<std::mutex> l(x->xmu);
    xattr = x->xkind == ExFid::Xattr::kWrite;
  }
  if (!xattr) return r.Respond(ninep::Empty{});
  Off([this, r = std::move(r), x]() mutable {
    if (!As(x, r)) return;
    Status s = XattrClunk(x);
    if (!s.ok()) return r.Fail(s);
    r.Respond(ninep::Empty{});
  });
}

Status ExportFs::DoRemove(ExFid* x) {
  auto n = WithParent(x);
  if (!n.ok()) return n.status();
  const Node& node = **n;
  struct statx st;
  if (int e = StatAt(node.parent->get(), node.name.c_str(), &st)) return Err(e);
  // The name may have been reused for another file since the walk.
  if (DevOf(st) != node.dev || st.stx_ino != node.ino) return Status(ENOENT, "file does not exist");
  if (unlinkat(node.parent->get(), node.name.c_str(), node.IsDir() ? AT_REMOVEDIR : 0) != 0)
    return Err(errno);
  return Status();
}

void ExportFs::Remove(ninep::RemoveReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Remove(std::move(r));
  if (opts_.read_only) return r.Fail(Err(EROFS));
  Off([this, r = std::move(r), x]() mutable {
    if (!As(x, r)) return;
    Status s = DoRemove(x);
    if (!s.ok()) return r.Fail(s);
    r.Respond(ninep::Empty{});
  });
}

void ExportFs::Wstat(ninep::WstatReq r) {
  ExFid* x = Ex(r.fid);
  if (!x) return ctl_->Wstat(std::move(r));
  Off([this, r = std::move(r), x]() mutable {
    if (!As(x, r)) return;
    Status s = DoWstat(x, r.d, r.setattr);
    if (!s.ok()) return r.Fail(s);
    r.Respond(ninep::Empty{});
  });
}

}  // namespace exportfs
