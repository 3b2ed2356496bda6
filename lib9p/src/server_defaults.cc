// server_defaults.cc: what FileServer does for the methods a file server
// leaves alone. The 9P2000.L defaults are chains of the server's own base
// calls (walk, create, remove, stat, wstat) on temporary fids that never
// enter the fid table, so a server written for 9P2000 serves 9P2000.L too.
#include <cerrno>

#include "server_internal.h"

namespace ninep {

namespace {

constexpr uint32_t V9FS_MAGIC = 0x01021997;

// A temporary fid standing for `from`, for a chain's intermediate steps.
FidRef TempFid(const FidRef& from) {
  auto t = std::make_shared<SrvFid>();
  t->uname = from->uname;
  t->n_uname = from->n_uname;
  t->qid = from->qid;
  return t;
}

// Runs `next` on the loop thread (chain steps call back from any thread).
void OnLoopThread(const std::shared_ptr<internal::ReqState>& st, Task next) {
  st->srv->RunOnLoop(std::move(next));
}

// Clunks a temporary fid; its answer matters to no one.
void DropTemp(FileServer* fs, const std::shared_ptr<internal::ReqState>& st, FidRef t) {
  ClunkReq k(st, [](const Result<Empty>&) {});
  k.fid = std::move(t);
  fs->Clunk(std::move(k));
}

// Walks `dir` by one name (or clones it when name is empty) to a temporary
// fid, then calls then(tempfid) on the loop thread, or fail(status).
template <class Then, class FailFn>
void WalkTemp(FileServer* fs, const std::shared_ptr<internal::ReqState>& st, const FidRef& dir,
              std::string_view name, Then then, FailFn fail) {
  FidRef t = TempFid(dir);
  WalkReq w(st, [st, t, then, fail, has_name = !name.empty()](Result<std::vector<Qid>> q) {
    if (!q.ok()) return fail(q.status());
    if (has_name && q->size() != 1) return fail(Status(ENOENT, "file does not exist"));
    if (has_name) t->qid = q->back();
    OnLoopThread(st, [then, t] { then(t); });
  });
  w.fid = dir;
  w.newfid = t;
  if (!name.empty()) w.names.push_back(name);
  fs->Walk(std::move(w));
}

}  // namespace

void FileServer::Open(OpenReq r) {
  uint8_t acc = r.mode & 3;
  if ((acc != OREAD && acc != OEXEC) || (r.mode & OTRUNC))
    return r.Fail(Status(EACCES, "permission denied"));
  r.Respond(OpenOut{r.fid->qid, 0});
}

void FileServer::Create(CreateReq r) { r.Fail(Status(EACCES, "permission denied")); }
void FileServer::Read(ReadReq r) { r.Fail(Status(EACCES, "permission denied")); }
void FileServer::ReadDir(ReadDirReq r) { r.Respond({}); }
void FileServer::Write(WriteReq r) { r.Fail(Status(EACCES, "permission denied")); }
void FileServer::Clunk(ClunkReq r) { r.Respond(Empty{}); }
void FileServer::Remove(RemoveReq r) { r.Fail(Status(EACCES, "permission denied")); }
void FileServer::Wstat(WstatReq r) { r.Fail(Status(EACCES, "permission denied")); }
// ENOENT, because diod's clients (diodls, diodcat, diodload) take an
// Rlerror of ENOENT (or 0) to Tauth as "no auth needed" and give up on any
// other errno; 9P2000 peers see the Plan 9 text either way.
void FileServer::Auth(AttachReq r) { r.Fail(Status(ENOENT, "authentication not required")); }

void FileServer::Getattr(GetattrReq r) {
  auto p = std::make_shared<GetattrReq>(std::move(r));
  StatReq s(p->state(), [p](Result<Dir> d) {
    if (!d.ok()) return p->Fail(d.status());
    p->Respond(d->ToGetattr());
  });
  s.fid = p->fid;
  Stat(std::move(s));
}

void FileServer::Statfs(StatfsReq r) {
  Rstatfs s;
  s.type = V9FS_MAGIC;
  s.bsize = 4096;
  s.namelen = 255;
  r.Respond(s);
}

void FileServer::Mkdir(MkdirReq r) {
  auto p = std::make_shared<MkdirReq>(std::move(r));
  auto st = p->state();
  auto fail = [p](const Status& s) { p->Fail(s); };
  WalkTemp(
      this, st, p->fid, "",
      [this, p, st, fail](const FidRef& t) {
        CreateReq c(st, [this, p, st, t](Result<OpenOut> o) {
          if (!o.ok()) return p->Fail(o.status());
          t->qid = o->qid;
          t->omode = OREAD;
          Qid q = o->qid;
          OnLoopThread(st, [this, st, t] { DropTemp(this, st, t); });
          p->Respond(q);
        });
        c.fid = t;
        c.name = p->in.name;
        c.perm = DMDIR | (p->in.mode & 0777);
        c.mode = OREAD;
        c.lflags = 0200000;  // O_DIRECTORY
        c.gid = p->in.gid;
        Create(std::move(c));
      },
      fail);
}

void FileServer::Unlinkat(UnlinkatReq r) {
  auto p = std::make_shared<UnlinkatReq>(std::move(r));
  auto st = p->state();
  WalkTemp(
      this, st, p->fid, p->in.name,
      [this, p, st](FidRef t) {
        RemoveReq rm(st, [p](const Result<Empty>& e) {
          if (!e.ok()) return p->Fail(e.status());
          p->Respond(Empty{});
        });
        rm.fid = std::move(t);
        Remove(std::move(rm));
      },
      [p](const Status& s) { p->Fail(s); });
}

void FileServer::Renameat(RenameatReq r) {
  if (r.fid->qid.path != r.fid2->qid.path)
    return r.Fail(Status(EXDEV, "rename across directories not supported"));
  auto p = std::make_shared<RenameatReq>(std::move(r));
  auto st = p->state();
  WalkTemp(
      this, st, p->fid, p->in.oldname,
      [this, p, st](const FidRef& t) {
        WstatReq w(st, [this, p, st, t](const Result<Empty>& e) {
          OnLoopThread(st, [this, st, t] { DropTemp(this, st, t); });
          if (!e.ok()) return p->Fail(e.status());
          p->Respond(Empty{});
        });
        w.fid = t;
        w.d = NullStat();
        w.d.name = p->in.newname;
        Wstat(std::move(w));
      },
      [p](const Status& s) { p->Fail(s); });
}

void FileServer::Rename(RenameReq r) {
  auto p = std::make_shared<RenameReq>(std::move(r));
  WstatReq w(p->state(), [p](const Result<Empty>& e) {
    if (!e.ok()) return p->Fail(e.status());
    p->Respond(Empty{});
  });
  w.fid = p->fid;
  w.d = NullStat();
  w.d.name = p->in.name;
  Wstat(std::move(w));
}

void FileServer::Symlink(SymlinkReq r) { r.Fail(Status(EOPNOTSUPP, "symlinks not supported")); }
void FileServer::Mknod(MknodReq r) { r.Fail(Status(EOPNOTSUPP, "mknod not supported")); }
void FileServer::Readlink(ReadlinkReq r) { r.Fail(Status(EINVAL, "not a symlink")); }
void FileServer::Link(LinkReq r) { r.Fail(Status(EOPNOTSUPP, "links not supported")); }
void FileServer::Fsync(FsyncReq r) { r.Respond(Empty{}); }
void FileServer::Lock(LockReq r) { r.Respond(P9_LOCK_SUCCESS); }
void FileServer::Getlock(GetlockReq r) {
  Rgetlock g;
  g.type = P9_LOCK_TYPE_UNLCK;
  g.start = r.in.start;
  g.length = r.in.length;
  g.proc_id = r.in.proc_id;
  g.client_id = r.in.client_id;
  r.Respond(g);
}
void FileServer::Xattrwalk(XattrwalkReq r) {
  r.Fail(Status(EOPNOTSUPP, "extended attributes not supported"));
}
void FileServer::Xattrcreate(XattrcreateReq r) {
  r.Fail(Status(EOPNOTSUPP, "extended attributes not supported"));
}

}  // namespace ninep
