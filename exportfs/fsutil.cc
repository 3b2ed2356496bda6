// fsutil.cc: see fsutil.h.
#include "exportfs/fsutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <pwd.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace exportfs {

using ninep::Result;
using ninep::Status;

Fd::~Fd() {
  if (fd_ >= 0) close(fd_);
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.release();
  }
  return *this;
}

FdRef MakeFdRef(int fd) { return std::make_shared<const Fd>(fd); }

Status Err(int e) { return ninep::Errno(e); }

Status CheckName(std::string_view name, bool create) {
  if (name.empty() || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos)
    return Err(EINVAL);
  if (create && (name == "." || name == "..")) return Err(EINVAL);
  if (name.size() > 255) return Err(ENAMETOOLONG);
  return Status();
}

Result<int> OpenBeneath(int dirfd, std::string_view name, uint64_t flags, mode_t mode,
                        bool cached_only) {
  std::string n(name);
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  // openat2 rejects a mode without O_CREAT/O_TMPFILE.
  how.mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  if (cached_only) how.resolve |= RESOLVE_CACHED;
  for (;;) {
    long fd = syscall(SYS_openat2, dirfd, n.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == EAGAIN && cached_only) return Err(EAGAIN);  // not in the dentry cache
    if (errno == EINTR || errno == EAGAIN) continue;         // EAGAIN: a rename raced the lookup
    // EXDEV is RESOLVE_BENEATH refusing an escape: to a client it is simply
    // not permitted.
    if (errno == EXDEV) return Status(EACCES, "permission denied");
    return Err(errno);
  }
}

int StatFd(int fd, struct statx* st, bool cached_only) {
  int flags = AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | (cached_only ? AT_STATX_DONT_SYNC : 0);
  if (statx(fd, "", flags, STATX_BASIC_STATS | STATX_BTIME, st) != 0) return errno;
  return 0;
}

bool LocalFs(int fd) {
  struct statfs sf;
  if (fstatfs(fd, &sf) != 0) return false;
  switch (static_cast<unsigned long>(sf.f_type)) {
    case 0xEF53:      // ext2/3/4
    case 0x58465342:  // xfs
    case 0x9123683E:  // btrfs
    case 0x01021994:  // tmpfs
    case 0xF2F52010:  // f2fs
      return true;
    default:
      return false;
  }
}

int StatAt(int dirfd, const char* name, struct statx* st) {
  if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, st) != 0)
    return errno;
  return 0;
}

namespace {

// splitmix64's finaliser: spreads every input bit over the output.
uint64_t Mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

}  // namespace

ninep::Qid QidOf(const struct statx& st, uint64_t root_dev) {
  ninep::Qid q;
  uint64_t dev = DevOf(st);
  q.path = st.stx_ino;
  // Inode numbers are unique only per filesystem; a file on another
  // filesystem below the root gets its device folded into the top bits.
  if (dev != root_dev) q.path ^= Mix64(dev) & 0xFFFF000000000000ULL;
  uint64_t ct = static_cast<uint64_t>(st.stx_ctime.tv_sec) * 1000000000ULL + st.stx_ctime.tv_nsec;
  q.version = static_cast<uint32_t>(Mix64(ct));
  q.type = ninep::QidTypeFromUnixMode(st.stx_mode);
  if ((st.stx_attributes_mask & STATX_ATTR_APPEND) && (st.stx_attributes & STATX_ATTR_APPEND))
    q.type |= ninep::QTAPPEND;
  return q;
}

std::string ProcPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

bool IsBeneath(int fd, uint64_t root_dev, uint64_t root_ino) {
  Fd owned;
  int cur = fd;
  struct statx st;
  if (StatFd(cur, &st) != 0) return false;
  // Bounded: no real tree is 4096 directories deep below "/".
  for (int i = 0; i < 4096; i++) {
    if (DevOf(st) == root_dev && st.stx_ino == root_ino) return true;
    int up = openat(cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (up < 0) return false;
    Fd upfd(up);
    struct statx ust;
    if (StatFd(up, &ust) != 0) return false;
    if (DevOf(ust) == DevOf(st) && ust.stx_ino == st.stx_ino) return false;  // reached "/"
    owned = std::move(upfd);
    cur = owned.get();
    st = ust;
  }
  return false;
}

Result<std::string> FindName(int dirfd, uint64_t dev, uint64_t ino) {
  int d = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return Err(errno);
  Fd dfd(d);
  std::vector<char> buf(32768);
  for (;;) {
    ssize_t n = getdents64(d, buf.data(), buf.size());
    if (n < 0) return Err(errno);
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      auto* e = reinterpret_cast<dirent64*>(buf.data() + off);
      off += e->d_reclen;
      if (e->d_ino != ino || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      struct statx st;
      if (StatAt(d, e->d_name, &st) == 0 && DevOf(st) == dev && st.stx_ino == ino)
        return std::string(e->d_name);
    }
  }
  return Status(ENOENT, "file does not exist");
}

namespace {

// getpwuid_r and friends can be slow (NSS); names are cached for the
// server's life, which is what ls -l through a mount needs.
struct NameCache {
  std::mutex mu;
  std::unordered_map<uint32_t, std::string> users, groups;
};

NameCache& Cache() {
  static NameCache c;  // a cache, not state: results never change meaning
  return c;
}

std::string LookupUser(uint32_t uid) {
  std::vector<char> buf(16384);
  passwd pw, *res = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == 0 && res) return pw.pw_name;
  return std::to_string(uid);
}

std::string LookupGroup(uint32_t gid) {
  std::vector<char> buf(16384);
  group gr, *res = nullptr;
  if (getgrgid_r(gid, &gr, buf.data(), buf.size(), &res) == 0 && res) return gr.gr_name;
  return std::to_string(gid);
}

// The name of id from the cache, else from lookup (run outside the lock,
// as it may read /etc or ask NSS) and remembered.
std::string CachedName(std::unordered_map<uint32_t, std::string> NameCache::*names, uint32_t id,
                       std::string (*lookup)(uint32_t)) {
  NameCache& c = Cache();
  {
    std::lock_guard<std::mutex> l(c.mu);
    auto it = (c.*names).find(id);
    if (it != (c.*names).end()) return it->second;
  }
  std::string n = lookup(id);
  std::lock_guard<std::mutex> l(c.mu);
  (c.*names).emplace(id, n);
  return n;
}

// A decimal string as an id, or -1.
int64_t Numeric(std::string_view s) {
  uint32_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return -1;
  return v;
}

}  // namespace

std::string UserName(uint32_t uid) { return CachedName(&NameCache::users, uid, LookupUser); }

std::string GroupName(uint32_t gid) { return CachedName(&NameCache::groups, gid, LookupGroup); }

bool NamesCached(uint32_t uid, uint32_t gid) {
  auto& c = Cache();
  std::lock_guard<std::mutex> l(c.mu);
  return c.users.count(uid) && c.groups.count(gid);
}

int64_t UserId(std::string_view name) {
  if (int64_t v = Numeric(name); v >= 0) return v;
  std::string n(name);
  std::vector<char> buf(16384);
  passwd pw, *res = nullptr;
  if (getpwnam_r(n.c_str(), &pw, buf.data(), buf.size(), &res) == 0 && res) return pw.pw_uid;
  return -1;
}

int64_t GroupId(std::string_view name) {
  if (int64_t v = Numeric(name); v >= 0) return v;
  std::string n(name);
  std::vector<char> buf(16384);
  group gr, *res = nullptr;
  if (getgrnam_r(n.c_str(), &gr, buf.data(), buf.size(), &res) == 0 && res) return gr.gr_gid;
  return -1;
}

ninep::Rgetattr GetattrOf(const struct statx& st, uint64_t root_dev) {
  ninep::Rgetattr a;
  a.valid = ninep::P9_GETATTR_BASIC;
  a.qid = QidOf(st, root_dev);
  a.mode = st.stx_mode;
  a.uid = st.stx_uid;
  a.gid = st.stx_gid;
  a.nlink = st.stx_nlink;
  a.rdev = makedev(st.stx_rdev_major, st.stx_rdev_minor);
  a.size = st.stx_size;
  a.blksize = st.stx_blksize;
  a.blocks = st.stx_blocks;
  a.atime_sec = st.stx_atime.tv_sec;
  a.atime_nsec = st.stx_atime.tv_nsec;
  a.mtime_sec = st.stx_mtime.tv_sec;
  a.mtime_nsec = st.stx_mtime.tv_nsec;
  a.ctime_sec = st.stx_ctime.tv_sec;
  a.ctime_nsec = st.stx_ctime.tv_nsec;
  if (st.stx_mask & STATX_BTIME) {
    a.valid |= ninep::P9_GETATTR_BTIME;
    a.btime_sec = st.stx_btime.tv_sec;
    a.btime_nsec = st.stx_btime.tv_nsec;
  }
  return a;
}

uint32_t Time32(int64_t sec) {
  if (sec < 0) return 0;
  return sec >= 0xFFFFFFFF ? 0xFFFFFFFF : static_cast<uint32_t>(sec);
}

ninep::Dir DirOf(const struct statx& st, std::string name, uint64_t root_dev) {
  ninep::Dir d;
  d.l = GetattrOf(st, root_dev);
  d.qid = d.l.qid;
  d.mode = ninep::DMFromUnixMode(st.stx_mode);
  if (d.qid.type & ninep::QTAPPEND) d.mode |= ninep::DMAPPEND;
  d.atime = Time32(st.stx_atime.tv_sec);
  d.mtime = Time32(st.stx_mtime.tv_sec);
  // Plan 9 directories have length 0; the real size stays in l.size.
  d.length = S_ISDIR(st.stx_mode) ? 0 : st.stx_size;
  d.name = std::move(name);
  d.uid = UserName(st.stx_uid);
  d.gid = GroupName(st.stx_gid);
  d.muid = d.uid;
  return d;
}

}  // namespace exportfs
