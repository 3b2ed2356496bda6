// fs.cc: UnionFs's nodes, attributes and member lists.
#include "ns/union/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>

namespace nsunion::internal {
namespace {

// How long the kernel may trust an entry or attributes it got from us;
// what changes through the mount it learns at once anyway.
constexpr double kTimeout = 1.0;

int Err(int e) { return e != 0 ? e : EIO; }

// Parses a union id: decimal, no sign, no leading zeros.
bool ParseId(const char* s, int* id) {
  if (*s < '1' || *s > '9') return false;
  long v = 0;
  for (const char* p = s; *p != '\0'; p++) {
    if (*p < '0' || *p > '9') return false;
    v = v * 10 + (*p - '0');
    if (v > INT_MAX) return false;
  }
  *id = static_cast<int>(v);
  return true;
}

}  // namespace

std::string ProcPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

MemberRec::~MemberRec() {
  if (fd >= 0) close(fd);
}

UnionFs::UnionFs() {
  root_.kind = Node::Kind::kRoot;
  root_caller_ = geteuid() == 0;
  root_stat_.st_mode = S_IFDIR | 0555;
  root_stat_.st_nlink = 2;
  root_stat_.st_uid = geteuid();
  root_stat_.st_gid = getegid();
  root_stat_.st_ino = FUSE_ROOT_ID;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  root_stat_.st_atim = root_stat_.st_mtim = root_stat_.st_ctim = now;
}

UnionFs::~UnionFs() {
  for (auto& [key, n] : files_) {
    close(n->fd);
    delete n;
  }
  for (auto& [id, u] : unions_) delete u->node;
}

fuse_ino_t UnionFs::Ino(Node* n) {
  return n->kind == Node::Kind::kRoot ? FUSE_ROOT_ID : reinterpret_cast<fuse_ino_t>(n);
}

// ---- Control operations -----------------------------------------------

int UnionFs::NewUnion() {
  std::lock_guard<std::mutex> l(mu_);
  auto u = std::make_unique<Union>();
  u->id = next_id_++;
  u->node = new Node;
  u->node->kind = Node::Kind::kUnion;
  u->node->id = u->id;
  int id = u->id;
  unions_[id] = std::move(u);
  return id;
}

bool UnionFs::Reaches(int from, int to) {
  if (from == to) return true;
  auto it = unions_.find(from);
  if (it == unions_.end()) return false;
  for (const auto& m : it->second->members) {
    if (m->union_id >= 0 && Reaches(m->union_id, to)) return true;
  }
  return false;
}

Status UnionFs::Add(int id, int fd, bool create, const std::string& label, bool before) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return ninep::Errno(e, label);
  }
  if (!S_ISDIR(st.st_mode)) {
    close(fd);
    return Status(ENOTDIR, label + ": not a directory");
  }
  auto m = std::make_shared<MemberRec>(fd, create, label);
  const bool ours = own_dev_ != 0 && st.st_dev == own_dev_;
  if (ours && st.st_ino == FUSE_ROOT_ID) {
    return Status(ELOOP, label + ": the union server's root cannot be a member");
  }
  if (ours && st.st_ino >= kUnionInoBase) m->union_id = static_cast<int>(st.st_ino - kUnionInoBase);
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = unions_.find(id);
    if (it == unions_.end()) return Status(EINVAL, "no union " + std::to_string(id));
    if (m->union_id >= 0 && Reaches(m->union_id, id)) {
      return Status(ELOOP, label + ": the union would contain itself");
    }
    auto& ms = it->second->members;
    for (const auto& o : ms) {
      if (o->label == label) return Status(EEXIST, label + ": already a member");
    }
    ms.insert(before ? ms.begin() : ms.end(), std::move(m));
  }
  Invalidate(id);
  return Status::Ok();
}

Status UnionFs::Replace(int id, int fd, bool create, const std::string& label) {
  std::vector<MemberPtr> old;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = unions_.find(id);
    if (it == unions_.end()) {
      close(fd);
      return Status(EINVAL, "no union " + std::to_string(id));
    }
    old.swap(it->second->members);
  }
  Status s = Add(id, fd, create, label, false);
  if (!s.ok()) {  // put the old members back: a failed bind changes nothing
    std::lock_guard<std::mutex> l(mu_);
    unions_[id]->members.swap(old);
  }
  return s;
}

Status UnionFs::Remove(int id, const std::string& label) {
  MemberPtr gone;  // closed outside the lock
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = unions_.find(id);
    if (it == unions_.end()) return Status(EINVAL, "no union " + std::to_string(id));
    auto& ms = it->second->members;
    for (auto m = ms.begin(); m != ms.end(); ++m) {
      if ((*m)->label == label) {
        gone = *m;
        ms.erase(m);
        break;
      }
    }
  }
  if (!gone) return Status(ENOENT, label + ": not a member of union " + std::to_string(id));
  Invalidate(id);
  return Status::Ok();
}

Result<std::vector<MemberInfo>> UnionFs::List(int id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = unions_.find(id);
  if (it == unions_.end()) return Status(EINVAL, "no union " + std::to_string(id));
  std::vector<MemberInfo> out;
  for (const auto& m : it->second->members) out.push_back(MemberInfo{m->label, m->create});
  return out;
}

void UnionFs::Invalidate(int id) {
  std::set<std::string> names;
  Node* node;
  {
    std::lock_guard<std::mutex> l(mu_);
    Union* u = unions_[id].get();
    names.swap(u->names);
    node = u->node;
  }
  if (se_ == nullptr) return;
  // Not under mu_: the kernel may wait for a handler that wants it.
  fuse_ino_t ino = Ino(node);
  fuse_lowlevel_notify_inval_inode(se_, ino, 0, 0);
  for (const auto& n : names) fuse_lowlevel_notify_inval_entry(se_, ino, n.data(), n.size());
}

std::vector<MemberPtr> UnionFs::Members(int id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = unions_.find(id);
  return it == unions_.end() ? std::vector<MemberPtr>{} : it->second->members;
}

// ---- Nodes ------------------------------------------------------------

Status UnionFs::Find(const std::vector<MemberPtr>& ms, const char* name, size_t* index,
                     struct stat* st) {
  int first_err = 0;
  for (size_t i = 0; i < ms.size(); i++) {
    if (fstatat(ms[i]->fd, name, st, AT_SYMLINK_NOFOLLOW) == 0) {
      *index = i;
      return Status::Ok();
    }
    // A member that cannot be searched hides nothing: walk on, as Plan 9.
    if (errno != ENOENT && errno != ENOTDIR && first_err == 0) first_err = errno;
  }
  return Status(first_err != 0 ? first_err : ENOENT, "");
}

Status UnionFs::CreateDir(Node* parent, MemberPtr* keep, int* dirfd) {
  switch (parent->kind) {
    case Node::Kind::kRoot:
      return Status(EPERM, "");
    case Node::Kind::kFile:
      *dirfd = parent->fd;
      return Status::Ok();
    case Node::Kind::kUnion:
      for (const auto& m : Members(parent->id)) {
        if (m->create) {
          *keep = m;
          *dirfd = m->fd;
          return Status::Ok();
        }
      }
      return Status(EROFS, "");
  }
  return Status(EIO, "");
}

Status UnionFs::FoundDir(Node* parent, const char* name, MemberPtr* keep, int* dirfd) {
  switch (parent->kind) {
    case Node::Kind::kRoot:
      return Status(EPERM, "");
    case Node::Kind::kFile:
      *dirfd = parent->fd;
      return Status::Ok();
    case Node::Kind::kUnion: {
      auto ms = Members(parent->id);
      size_t i;
      struct stat st;
      if (Status s = Find(ms, name, &i, &st); !s.ok()) return s;
      *keep = ms[i];
      *dirfd = ms[i]->fd;
      return Status::Ok();
    }
  }
  return Status(EIO, "");
}

Status UnionFs::MakeEntry(int dirfd, const char* name, int from, fuse_entry_param* e) {
  int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status(Err(errno), "");
  struct stat st;
  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
    int err = errno;
    close(fd);
    return Status(Err(err), "");
  }
  std::memset(e, 0, sizeof *e);
  e->attr_timeout = kTimeout;
  e->entry_timeout = kTimeout;
  Node* n = nullptr;
  // One of our own directories (a member that is a union, or a member
  // whose walk crosses a mount of a union): serve the node itself, not a
  // second path through the kernel back to us. The kernel refuses, with
  // ELOOP, a directory that would sit below itself.
  if (own_dev_ != 0 && st.st_dev == own_dev_ &&
      (st.st_ino == FUSE_ROOT_ID || st.st_ino >= kUnionInoBase)) {
    close(fd);
    std::lock_guard<std::mutex> l(mu_);
    if (st.st_ino == FUSE_ROOT_ID) {
      n = &root_;
    } else {
      auto it = unions_.find(static_cast<int>(st.st_ino - kUnionInoBase));
      if (it == unions_.end()) return Status(ENOENT, "");
      n = it->second->node;
    }
    n->nlookup++;
    if (from >= 0) unions_[from]->names.insert(name);
  } else {
    std::lock_guard<std::mutex> l(mu_);
    auto [it, fresh] = files_.try_emplace({st.st_dev, st.st_ino}, nullptr);
    if (fresh) {
      it->second = new Node;
      it->second->fd = fd;
      it->second->dev = st.st_dev;
      it->second->ino = st.st_ino;
    } else {
      close(fd);  // the node's fd is the same file: its inode is held
    }
    n = it->second;
    n->nlookup++;
    if (from >= 0) unions_[from]->names.insert(name);
  }
  e->ino = Ino(n);
  e->attr = st;
  if (n->kind != Node::Kind::kFile) {
    if (Status s = Stat(n, &e->attr); !s.ok()) {
      Forget(e->ino, 1);
      return s;
    }
  }
  return Status::Ok();
}

void UnionFs::Forget(fuse_ino_t ino, uint64_t count) {
  Node* n = N(ino);
  std::lock_guard<std::mutex> l(mu_);
  n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
  if (n->kind != Node::Kind::kFile || n->nlookup > 0) return;
  files_.erase({n->dev, n->ino});
  close(n->fd);
  delete n;
}

void UnionFs::UnionStat(Union* u, const std::vector<MemberPtr>& ms, struct stat* st) {
  if (ms.empty() || fstat(ms[0]->fd, st) != 0) {
    *st = root_stat_;
    st->st_nlink = 2;
  }
  st->st_ino = kUnionInoBase + static_cast<ino_t>(u->id);
}

Status UnionFs::Stat(Node* n, struct stat* st) {
  switch (n->kind) {
    case Node::Kind::kRoot: {
      *st = root_stat_;
      return Status::Ok();
    }
    case Node::Kind::kUnion: {
      Union* u;
      std::vector<MemberPtr> ms;
      {
        std::lock_guard<std::mutex> l(mu_);
        u = unions_[n->id].get();
        ms = u->members;
      }
      UnionStat(u, ms, st);
      return Status::Ok();
    }
    case Node::Kind::kFile:
      if (fstatat(n->fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) {
        return Status(Err(errno), "");
      }
      return Status::Ok();
  }
  return Status(EIO, "");
}

void UnionFs::ReplyEntryOrErr(fuse_req_t req, int dirfd, const char* name, int from) {
  fuse_entry_param e;
  Status s = MakeEntry(dirfd, name, from, &e);
  if (!s.ok()) {
    fuse_reply_err(req, s.err());
    return;
  }
  if (fuse_reply_entry(req, &e) != 0) Forget(e.ino, 1);
}

// ---- Handlers ---------------------------------------------------------

void UnionFs::Init(fuse_conn_info* conn) {
  auto want = [conn](unsigned cap) {
    if ((conn->capable & cap) != 0) conn->want |= cap;
  };
  want(FUSE_CAP_ASYNC_READ);
  want(FUSE_CAP_ATOMIC_O_TRUNC);
  want(FUSE_CAP_PARALLEL_DIROPS);
  want(FUSE_CAP_AUTO_INVAL_DATA);
  want(FUSE_CAP_READDIRPLUS);
  want(FUSE_CAP_READDIRPLUS_AUTO);
  want(FUSE_CAP_EXPORT_SUPPORT);
  // Reads are spliced from the member's page cache to /dev/fuse.
  want(FUSE_CAP_SPLICE_WRITE);
  want(FUSE_CAP_SPLICE_MOVE);
  conn->want &= ~FUSE_CAP_SPLICE_READ;
  conn->max_write = 1024 * 1024;
  conn->max_readahead = 1024 * 1024;
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  conn->time_gran = 1;
}

void UnionFs::Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Node* p = N(parent);
  switch (p->kind) {
    case Node::Kind::kRoot: {
      int id;
      Node* n = nullptr;
      if (ParseId(name, &id)) {
        std::lock_guard<std::mutex> l(mu_);
        auto it = unions_.find(id);
        if (it != unions_.end()) {
          n = it->second->node;
          n->nlookup++;
        }
      }
      if (n == nullptr) {
        fuse_reply_err(req, ENOENT);
        return;
      }
      fuse_entry_param e{};
      e.ino = Ino(n);
      e.attr_timeout = kTimeout;
      e.entry_timeout = kTimeout;
      Status s = Stat(n, &e.attr);
      if (!s.ok()) {
        Forget(e.ino, 1);
        fuse_reply_err(req, s.err());
      } else if (fuse_reply_entry(req, &e) != 0) {
        Forget(e.ino, 1);
      }
      return;
    }
    case Node::Kind::kUnion: {
      auto ms = Members(p->id);
      size_t i;
      struct stat st;
      if (Status s = Find(ms, name, &i, &st); !s.ok()) {
        fuse_reply_err(req, s.err());
        return;
      }
      ReplyEntryOrErr(req, ms[i]->fd, name, p->id);
      return;
    }
    case Node::Kind::kFile:
      ReplyEntryOrErr(req, p->fd, name, -1);
      return;
  }
}

void UnionFs::Getattr(fuse_req_t req, fuse_ino_t ino) {
  struct stat st;
  if (Status s = Stat(N(ino), &st); !s.ok()) {
    fuse_reply_err(req, s.err());
    return;
  }
  fuse_reply_attr(req, &st, kTimeout);
}

void UnionFs::Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
                      fuse_file_info* fi) {
  Node* n = N(ino);
  MemberPtr keep;
  int fd = -1;
  if (n->kind == Node::Kind::kFile) {
    fd = n->fd;
  } else if (n->kind == Node::Kind::kUnion) {
    // The union directory's attributes are its first member's.
    auto ms = Members(n->id);
    if (!ms.empty()) {
      keep = ms[0];
      fd = keep->fd;
    }
  }
  if (fd < 0) {
    fuse_reply_err(req, EPERM);
    return;
  }
  const int ofd = fi != nullptr ? static_cast<int>(fi->fh) : -1;
  const std::string path = ProcPath(fd);
  int rc = 0;
  if ((to_set & FUSE_SET_ATTR_MODE) != 0) {
    rc = ofd >= 0 ? fchmod(ofd, attr->st_mode) : fchmodat(AT_FDCWD, path.c_str(), attr->st_mode, 0);
  }
  if (rc == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) != 0) {
    uid_t uid = (to_set & FUSE_SET_ATTR_UID) != 0 ? attr->st_uid : static_cast<uid_t>(-1);
    gid_t gid = (to_set & FUSE_SET_ATTR_GID) != 0 ? attr->st_gid : static_cast<gid_t>(-1);
    rc = fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
  }
  if (rc == 0 && (to_set & FUSE_SET_ATTR_SIZE) != 0) {
    rc = ofd >= 0 ? ftruncate(ofd, attr->st_size) : truncate(path.c_str(), attr->st_size);
  }
  if (rc == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) != 0) {
    timespec tv[2];
    tv[0].tv_nsec = tv[1].tv_nsec = UTIME_OMIT;
    if ((to_set & FUSE_SET_ATTR_ATIME_NOW) != 0) {
      tv[0].tv_nsec = UTIME_NOW;
    } else if ((to_set & FUSE_SET_ATTR_ATIME) != 0) {
      tv[0] = attr->st_atim;
    }
    if ((to_set & FUSE_SET_ATTR_MTIME_NOW) != 0) {
      tv[1].tv_nsec = UTIME_NOW;
    } else if ((to_set & FUSE_SET_ATTR_MTIME) != 0) {
      tv[1] = attr->st_mtim;
    }
    // By the O_PATH fd itself, so a symlink's own times change, not
    // its target's (AT_EMPTY_PATH: Linux 5.8).
    rc = ofd >= 0 ? futimens(ofd, tv) : utimensat(fd, "", tv, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
  }
  if (rc != 0) {
    fuse_reply_err(req, Err(errno));
    return;
  }
  Getattr(req, ino);
}

void UnionFs::Readlink(fuse_req_t req, fuse_ino_t ino) {
  Node* n = N(ino);
  if (n->kind != Node::Kind::kFile) {
    fuse_reply_err(req, EINVAL);
    return;
  }
  char buf[PATH_MAX + 1];
  ssize_t len = readlinkat(n->fd, "", buf, sizeof buf);
  if (len < 0) {
    fuse_reply_err(req, Err(errno));
    return;
  }
  if (static_cast<size_t>(len) == sizeof buf) {
    fuse_reply_err(req, ENAMETOOLONG);
    return;
  }
  buf[len] = '\0';
  fuse_reply_readlink(req, buf);
}

void UnionFs::Statfs(fuse_req_t req, fuse_ino_t ino) {
  Node* n = N(ino);
  struct statvfs sv {};
  int fd = -1;
  MemberPtr keep;
  if (n->kind == Node::Kind::kFile) {
    fd = n->fd;
  } else if (n->kind == Node::Kind::kUnion) {
    auto ms = Members(n->id);
    if (!ms.empty()) {
      keep = ms[0];
      fd = keep->fd;
    }
  }
  if (fd >= 0 && fstatvfs(fd, &sv) != 0) {
    fuse_reply_err(req, Err(errno));
    return;
  }
  if (fd < 0) {
    sv.f_bsize = sv.f_frsize = 4096;
    sv.f_namemax = 255;
  }
  fuse_reply_statfs(req, &sv);
}

}  // namespace nsunion::internal
