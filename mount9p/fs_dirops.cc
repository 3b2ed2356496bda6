// fs_dirops.cc: changing the namespace: mknod, mkdir, unlink, rmdir,
// symlink, readlink, rename, link. 9P2000.L has a message for each; 9P2000
// gets them from create, remove and wstat where it can and EPERM where not.
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "mount9p/fs.h"

namespace ninep::mount9p {
namespace {

// True for errors meaning "the server has no such message".
bool Unsupported(const Status& s) {
  return s.err() == EOPNOTSUPP || s.err() == ENOSYS || s.err() == ENOTSUP;
}

std::string Join(const std::string& dir, const char* name) {
  return dir.empty() ? std::string(name) : dir + "/" + name;
}

// Sends t on f's connection and waits: for requests whose reply carries
// nothing we need.
Status Sync(const FidPtr& f, const Body& t) {
  auto r = f->client()->CallSync(t);
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace

Status Fs::RemoveByWalk(const FidPtr& parent, const char* name) {
  auto f = WalkFrom(parent, name);
  if (!f.ok()) return f.status();
  return (*f)->fid.Remove();
}

Status Fs::CreateByClone(const FidPtr& parent, const char* name, uint32_t perm) {
  auto c = WalkFrom(parent, "");
  if (!c.ok()) return c.status();
  return (*c)->fid.Create(name, perm, OREAD);
}

void Fs::Readlink(fuse_req_t req, fuse_ino_t ino) {
  if (!dotl()) return (void)fuse_reply_err(req, EINVAL);
  FidPtr f = NodeFid(ino);
  if (!f) return (void)fuse_reply_err(req, ESTALE);
  Treadlink t;
  t.fid = f->fid.num();
  auto r = f->client()->CallSync(t);
  if (!r.ok()) return (void)fuse_reply_err(req, ToErrno(r.status()));
  auto* rl = std::get_if<Rreadlink>(&r->msg.body);
  if (rl == nullptr) return (void)fuse_reply_err(req, EIO);
  std::string target(rl->target);
  fuse_reply_readlink(req, target.c_str());
}

void Fs::Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  std::string ppath;
  FidPtr pf = NodeFid(parent, &ppath);
  if (!pf) return (void)fuse_reply_err(req, ESTALE);
  // 9P2000 can make only ordinary files.
  if (!dotl() && !S_ISREG(mode)) return (void)fuse_reply_err(req, EPERM);
  auto uf = CallerFid(req, parent);
  if (!uf.ok()) return (void)fuse_reply_err(req, ToErrno(uf.status()));
  FidPtr up = *uf;
  Status s = dotl() ? Sync(up, Tmknod{up->fid.num(), name, mode, major(rdev), minor(rdev),
                                      fuse_req_ctx(req)->gid})
                    : CreateByClone(up, name, mode & 0777);
  if (!s.ok()) return (void)fuse_reply_err(req, ToErrno(s));
  WalkAndReply(req, pf, ppath, name);
}

void Fs::Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  std::string ppath;
  FidPtr pf = NodeFid(parent, &ppath);
  if (!pf) return (void)fuse_reply_err(req, ESTALE);
  auto uf = CallerFid(req, parent);
  if (!uf.ok()) return (void)fuse_reply_err(req, ToErrno(uf.status()));
  FidPtr up = *uf;
  Status s = dotl() ? Sync(up, Tmkdir{up->fid.num(), name, mode & 07777, fuse_req_ctx(req)->gid})
                    : CreateByClone(up, name, DMDIR | (mode & 0777));
  if (!s.ok()) return (void)fuse_reply_err(req, ToErrno(s));
  WalkAndReply(req, pf, ppath, name);
}

void Fs::Unlink(fuse_req_t req, fuse_ino_t parent, const char* name, bool dir) {
  auto uf = CallerFid(req, parent);
  if (!uf.ok()) return (void)fuse_reply_err(req, ToErrno(uf.status()));
  FidPtr pf = *uf;
  Status s;
  if (dotl()) {
    Tunlinkat t;
    t.dirfd = pf->fid.num();
    t.name = name;
    t.flags = dir ? AT_REMOVEDIR : 0;
    s = Sync(pf, t);
    if (!s.ok() && Unsupported(s)) s = RemoveByWalk(pf, name);
  } else {
    s = RemoveByWalk(pf, name);
  }
  fuse_reply_err(req, s.ok() ? 0 : ToErrno(s));
}

void Fs::Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  if (!dotl()) return (void)fuse_reply_err(req, EPERM);
  std::string ppath;
  FidPtr pf = NodeFid(parent, &ppath);
  if (!pf) return (void)fuse_reply_err(req, ESTALE);
  auto uf = CallerFid(req, parent);
  if (!uf.ok()) return (void)fuse_reply_err(req, ToErrno(uf.status()));
  Tsymlink t;
  t.fid = (*uf)->fid.num();
  t.name = name;
  t.symtgt = link;
  t.gid = fuse_req_ctx(req)->gid;
  Status s = Sync(*uf, t);
  if (!s.ok()) return (void)fuse_reply_err(req, ToErrno(s));
  WalkAndReply(req, pf, ppath, name);
}

void Fs::Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  if (!dotl()) return (void)fuse_reply_err(req, EPERM);
  std::string ppath;
  FidPtr pf = NodeFid(newparent, &ppath);
  if (!pf) return (void)fuse_reply_err(req, ESTALE);
  auto up = CallerFid(req, newparent);
  if (!up.ok()) return (void)fuse_reply_err(req, ToErrno(up.status()));
  auto f = CallerFid(req, ino);
  if (!f.ok()) return (void)fuse_reply_err(req, ToErrno(f.status()));
  Tlink t;
  t.dfid = (*up)->fid.num();
  t.fid = (*f)->fid.num();
  t.name = newname;
  Status s = Sync(*up, t);
  if (!s.ok()) return (void)fuse_reply_err(req, ToErrno(s));
  WalkAndReply(req, pf, ppath, newname);
}

void Fs::Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
                const char* newname, unsigned int flags) {
  if (flags & RENAME_EXCHANGE) return (void)fuse_reply_err(req, EINVAL);
  std::string ppath, npath;
  auto upf = CallerFid(req, parent, &ppath);
  if (!upf.ok()) return (void)fuse_reply_err(req, ToErrno(upf.status()));
  auto unf = CallerFid(req, newparent, &npath);
  if (!unf.ok()) return (void)fuse_reply_err(req, ToErrno(unf.status()));
  FidPtr pf = *upf, nf = *unf;
  if (flags & RENAME_NOREPLACE) {
    // Neither dialect can say "do not replace": check first (racy, but the
    // kernel already checked its own view of the directory).
    if (WalkFrom(nf, newname).ok()) return (void)fuse_reply_err(req, EEXIST);
  }
  Status s;
  if (dotl()) {
    Trenameat t;
    t.olddirfid = pf->fid.num();
    t.oldname = name;
    t.newdirfid = nf->fid.num();
    t.newname = newname;
    s = Sync(pf, t);
    if (!s.ok() && Unsupported(s)) {
      auto f = WalkFrom(pf, name);
      if (!f.ok()) return (void)fuse_reply_err(req, ToErrno(f.status()));
      Trename tr;
      tr.fid = (*f)->fid.num();
      tr.dfid = nf->fid.num();
      tr.name = newname;
      s = Sync(*f, tr);
    }
  } else {
    // 9P2000 renames only within a directory, by wstat of the name; mv
    // falls back to copy and remove on EXDEV.
    if (parent != newparent) return (void)fuse_reply_err(req, EXDEV);
    auto f = WalkFrom(pf, name);
    if (!f.ok()) return (void)fuse_reply_err(req, ToErrno(f.status()));
    Dir d = DirFromStat(NullStat());
    d.name = newname;
    s = (*f)->fid.Wstat(d);
    if (!s.ok() && !(flags & RENAME_NOREPLACE) && WalkFrom(nf, newname).ok()) {
      // Plan 9 servers refuse to rename onto an existing name; rename(2)
      // replaces it.
      Status rm = RemoveByWalk(nf, newname);
      if (rm.ok()) s = (*f)->fid.Wstat(d);
    }
  }
  if (!s.ok()) return (void)fuse_reply_err(req, ToErrno(s));
  std::string from = Join(ppath, name), to = Join(npath, newname);
  MovePaths(from, to);
  // The re-walks below start from the mounting user's fid.
  nf = NodeFid(newparent);
  if (!nf) return (void)fuse_reply_err(req, 0);
  // Servers that keep a path per fid (diod) leave the moved file's fid,
  // and those of everything under a moved directory, behind: walk them
  // again by their new names before the kernel uses them.
  auto moved = WalkFrom(nf, newname);
  if (moved.ok()) {
    FidPtr top = *moved;
    Qid q = top->fid.qid();
    std::vector<std::pair<uint64_t, std::string>> under;
    {
      FidPtr old;
      std::vector<std::pair<uid_t, FidPtr>> dropped;  // clunked after the lock
      std::lock_guard<std::mutex> l(mu_);
      auto it = by_qid_.find(q.path);
      if (it != by_qid_.end()) {
        auto n = nodes_.find(it->second);
        if (n != nodes_.end() && n->first != FUSE_ROOT_ID) {
          old = std::move(n->second->fid);
          n->second->fid = top;
          dropped.swap(n->second->ufids);  // walked again by path when needed
        }
      }
      if (q.type & QTDIR) {
        std::string prefix = to + "/";
        for (auto& [ino, node] : nodes_) {
          if (node->path.compare(0, prefix.size(), prefix) == 0) {
            under.push_back({ino, node->path.substr(prefix.size())});
          }
        }
      }
    }
    for (auto& [ino, rel] : under) {
      auto f = WalkFrom(top, rel);
      if (!f.ok()) continue;
      FidPtr old;
      std::vector<std::pair<uid_t, FidPtr>> dropped;
      std::lock_guard<std::mutex> l(mu_);
      auto n = nodes_.find(ino);
      if (n != nodes_.end()) {
        old = std::move(n->second->fid);
        n->second->fid = std::move(*f);
        dropped.swap(n->second->ufids);
      }
    }
  }
  fuse_reply_err(req, 0);
}

}  // namespace ninep::mount9p
