// fs_dir.cc: UnionFs's directory operations: listings (merged for a
// union), and making, removing and renaming names in the right member.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <unordered_set>
#include <utility>

#include "ns/union/fs.h"

namespace nsunion::internal {
namespace {

int Err(int e) { return e != 0 ? e : EIO; }

// Makes this thread act as the caller of req for the file system's own
// permission checks and the owner of what it creates, when the server is
// root; restores root's identity when it goes. setfsuid, setfsgid and the
// raw setgroups syscall change only the calling thread (glibc's setgroups
// would change every thread).
class AsCaller {
 public:
  AsCaller(fuse_req_t req, bool on) {
    const fuse_ctx* c = fuse_req_ctx(req);
    if (!on || (c->uid == 0 && c->gid == 0)) return;
    on_ = true;
    gid_t groups[64];
    int n = fuse_req_getgroups(req, 64, groups);
    if (n >= 0 && n <= 64) {
      groups_set_ = syscall(SYS_setgroups, static_cast<size_t>(n), groups) == 0;
    }
    syscall(SYS_setfsgid, c->gid);
    syscall(SYS_setfsuid, c->uid);
  }
  ~AsCaller() {
    if (!on_) return;
    syscall(SYS_setfsuid, 0);
    syscall(SYS_setfsgid, 0);
    if (groups_set_) syscall(SYS_setgroups, 0, nullptr);
  }
  AsCaller(const AsCaller&) = delete;
  AsCaller& operator=(const AsCaller&) = delete;

 private:
  bool on_ = false;
  bool groups_set_ = false;
};

// Reads every entry of the directory open as fd (which it closes).
Status ReadAll(int fd, std::vector<Ent>* out, int member, std::unordered_set<std::string>* seen) {
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    int e = errno;
    close(fd);
    return Status(Err(e), "");
  }
  errno = 0;
  while (dirent* de = readdir(d)) {
    if (seen != nullptr && !seen->insert(de->d_name).second) continue;
    out->push_back(Ent{de->d_name, de->d_type, de->d_ino, member});
  }
  int e = errno;
  closedir(d);
  return e != 0 ? Status(e, "") : Status::Ok();
}

bool DotOrDotdot(const std::string& n) { return n == "." || n == ".."; }

}  // namespace

// ---- Making names -----------------------------------------------------

void UnionFs::Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  Node* p = N(parent);
  MemberPtr keep;
  int dirfd;
  if (Status s = CreateDir(p, &keep, &dirfd); !s.ok()) {
    fuse_reply_err(req, s.err());
    return;
  }
  {
    AsCaller as(req, root_caller_);
    if (mknodat(dirfd, name, mode, rdev) != 0) {
      fuse_reply_err(req, Err(errno));
      return;
    }
  }
  ReplyEntryOrErr(req, dirfd, name, p->kind == Node::Kind::kUnion ? p->id : -1);
}

void UnionFs::Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Node* p = N(parent);
  MemberPtr keep;
  int dirfd;
  if (Status s = CreateDir(p, &keep, &dirfd); !s.ok()) {
    fuse_reply_err(req, s.err());
    return;
  }
  {
    AsCaller as(req, root_caller_);
    if (mkdirat(dirfd, name, mode) != 0) {
      fuse_reply_err(req, Err(errno));
      return;
    }
  }
  ReplyEntryOrErr(req, dirfd, name, p->kind == Node::Kind::kUnion ? p->id : -1);
}

void UnionFs::Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  Node* p = N(parent);
  MemberPtr keep;
  int dirfd;
  if (Status s = CreateDir(p, &keep, &dirfd); !s.ok()) {
    fuse_reply_err(req, s.err());
    return;
  }
  {
    AsCaller as(req, root_caller_);
    if (symlinkat(link, dirfd, name) != 0) {
      fuse_reply_err(req, Err(errno));
      return;
    }
  }
  ReplyEntryOrErr(req, dirfd, name, p->kind == Node::Kind::kUnion ? p->id : -1);
}

void UnionFs::Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Node* n = N(ino);
  Node* p = N(newparent);
  if (n->kind != Node::Kind::kFile) {
    fuse_reply_err(req, EPERM);
    return;
  }
  MemberPtr keep;
  int dirfd;
  if (Status s = CreateDir(p, &keep, &dirfd); !s.ok()) {
    fuse_reply_err(req, s.err());
    return;
  }
  {
    AsCaller as(req, root_caller_);
    if (linkat(AT_FDCWD, ProcPath(n->fd).c_str(), dirfd, newname, AT_SYMLINK_FOLLOW) != 0) {
      fuse_reply_err(req, Err(errno));
      return;
    }
  }
  ReplyEntryOrErr(req, dirfd, newname, p->kind == Node::Kind::kUnion ? p->id : -1);
}

void UnionFs::Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                     fuse_file_info* fi) {
  Node* p = N(parent);
  MemberPtr keep;
  int dirfd;
  if (Status s = CreateDir(p, &keep, &dirfd); !s.ok()) {
    fuse_reply_err(req, s.err());
    return;
  }
  int fd;
  {
    AsCaller as(req, root_caller_);
    fd = openat(dirfd, name, (fi->flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC) & ~O_NOCTTY, mode);
  }
  if (fd < 0) {
    fuse_reply_err(req, Err(errno));
    return;
  }
  fuse_entry_param e;
  if (Status s = MakeEntry(dirfd, name, p->kind == Node::Kind::kUnion ? p->id : -1, &e); !s.ok()) {
    close(fd);
    fuse_reply_err(req, s.err());
    return;
  }
  fi->fh = static_cast<uint64_t>(fd);
  fi->keep_cache = 1;
  if (fuse_reply_create(req, &e, fi) != 0) {
    close(fd);
    Forget(e.ino, 1);
  }
}

// ---- Removing and renaming --------------------------------------------

void UnionFs::Unlink(fuse_req_t req, fuse_ino_t parent, const char* name, bool dir) {
  MemberPtr keep;
  int dirfd;
  if (Status s = FoundDir(N(parent), name, &keep, &dirfd); !s.ok()) {
    fuse_reply_err(req, s.err());
    return;
  }
  AsCaller as(req, root_caller_);
  int rc = unlinkat(dirfd, name, dir ? AT_REMOVEDIR : 0);
  fuse_reply_err(req, rc == 0 ? 0 : Err(errno));
}

void UnionFs::Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
                     const char* newname, unsigned flags) {
  Node* p = N(parent);
  Node* np = N(newparent);
  MemberPtr keep, keep2;
  int from, to;
  if (Status s = FoundDir(p, name, &keep, &from); !s.ok()) {
    fuse_reply_err(req, s.err());
    return;
  }
  if (np == p) {
    to = from;  // within one union: the file stays in its member
  } else if (Status s = FoundDir(np, newname, &keep2, &to); s.ok()) {
  } else if (s.err() != ENOENT || !CreateDir(np, &keep2, &to).ok()) {
    // A new name in a union goes where creates go; without one, EROFS.
    fuse_reply_err(req, s.err() != ENOENT ? s.err() : EROFS);
    return;
  }
  AsCaller as(req, root_caller_);
  int rc =
      flags != 0 ? renameat2(from, name, to, newname, flags) : renameat(from, name, to, newname);
  if (rc == 0 && np->kind == Node::Kind::kUnion) {
    std::lock_guard<std::mutex> l(mu_);
    unions_[np->id]->names.insert(newname);
  }
  fuse_reply_err(req, rc == 0 ? 0 : Err(errno));
}

// ---- Listings ---------------------------------------------------------

Status UnionFs::List(DirHandle* h) {
  h->ents.clear();
  h->members.clear();
  Node* n = h->node;
  switch (n->kind) {
    case Node::Kind::kRoot: {
      h->ents.push_back(Ent{".", DT_DIR, FUSE_ROOT_ID, -1});
      h->ents.push_back(Ent{"..", DT_DIR, 0, -1});
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& [id, u] : unions_) {
        h->ents.push_back(Ent{std::to_string(id), DT_DIR, kUnionInoBase + id, -1});
      }
      return Status::Ok();
    }
    case Node::Kind::kFile: {
      int fd = openat(n->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return Status(Err(errno), "");
      return ReadAll(fd, &h->ents, -1, nullptr);
    }
    case Node::Kind::kUnion: {
      h->members = Members(n->id);
      std::unordered_set<std::string> seen;
      h->ents.push_back(Ent{".", DT_DIR, kUnionInoBase + n->id, -1});
      h->ents.push_back(Ent{"..", DT_DIR, 0, -1});
      seen.insert(".");
      seen.insert("..");
      for (size_t i = 0; i < h->members.size(); i++) {
        int fd = openat(h->members[i]->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        // A member that cannot be read adds nothing, as one that cannot be
        // walked hides nothing.
        if (fd < 0) continue;
        Status s = ReadAll(fd, &h->ents, static_cast<int>(i), &seen);
        if (!s.ok()) continue;
      }
      return Status::Ok();
    }
  }
  return Status(EIO, "");
}

void UnionFs::Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto h = std::make_unique<DirHandle>();
  h->node = N(ino);
  if (Status s = List(h.get()); !s.ok()) {
    fuse_reply_err(req, s.err());
    return;
  }
  fi->fh = reinterpret_cast<uint64_t>(h.get());  // NOLINT: FUSE's handle is a u64
  fi->cache_readdir = 0;
  if (fuse_reply_open(req, fi) == 0) (void)h.release();  // fi->fh owns it until releasedir
}

void UnionFs::Releasedir(fuse_req_t req, fuse_file_info* fi) {
  delete reinterpret_cast<DirHandle*>(fi->fh);  // NOLINT
  fuse_reply_err(req, 0);
}

void UnionFs::Readdir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi, bool plus) {
  auto* h = reinterpret_cast<DirHandle*>(fi->fh);  // NOLINT
  std::lock_guard<std::mutex> l(h->mu);
  if (off == 0 && !std::exchange(h->fresh, false)) {
    // A rewind sees the directory as it is now.
    if (Status s = List(h); !s.ok()) {
      fuse_reply_err(req, s.err());
      return;
    }
  }
  std::string buf(size, '\0');
  size_t used = 0;
  const Node* n = h->node;
  const int from = n->kind == Node::Kind::kUnion ? n->id : -1;
  for (size_t i = static_cast<size_t>(off); i < h->ents.size(); i++) {
    const Ent& ent = h->ents[i];
    const off_t next = static_cast<off_t>(i + 1);
    size_t len;
    if (!plus || DotOrDotdot(ent.name)) {
      struct stat st {};
      st.st_ino = ent.ino;
      st.st_mode = static_cast<mode_t>(DTTOIF(ent.type));
      if (!plus) {
        len = fuse_add_direntry(req, buf.data() + used, size - used, ent.name.c_str(), &st, next);
      } else {
        fuse_entry_param e{};
        e.attr = st;
        len =
            fuse_add_direntry_plus(req, buf.data() + used, size - used, ent.name.c_str(), &e, next);
      }
      if (len > size - used) break;
      used += len;
      continue;
    }
    int dirfd;
    if (n->kind == Node::Kind::kUnion) {
      dirfd = h->members[static_cast<size_t>(ent.member)]->fd;
    } else if (n->kind == Node::Kind::kFile) {
      dirfd = n->fd;
    } else {
      dirfd = -1;
    }
    fuse_entry_param e{};
    if (dirfd >= 0) {
      if (!MakeEntry(dirfd, ent.name.c_str(), from, &e).ok()) continue;  // gone since listed
    } else {
      // The root's entries are unions.
      int id = std::atoi(ent.name.c_str());
      Node* un;
      {
        std::lock_guard<std::mutex> ul(mu_);
        auto it = unions_.find(id);
        if (it == unions_.end()) continue;
        un = it->second->node;
        un->nlookup++;
      }
      e.ino = Ino(un);
      e.attr_timeout = e.entry_timeout = 1.0;
      if (!Stat(un, &e.attr).ok()) {
        Forget(e.ino, 1);
        continue;
      }
    }
    len = fuse_add_direntry_plus(req, buf.data() + used, size - used, ent.name.c_str(), &e, next);
    if (len > size - used) {
      Forget(e.ino, 1);  // not sent: the kernel holds no reference
      break;
    }
    used += len;
  }
  fuse_reply_buf(req, buf.data(), used);
}

}  // namespace nsunion::internal
