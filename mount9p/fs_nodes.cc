// fs_nodes.cc: the node table, attributes, lookup/forget/getattr/setattr,
// statfs, FUSE init, and reconnecting.
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <thread>
#include <type_traits>
#include <unordered_map>

#include "mount9p/fs.h"

namespace ninep::mount9p {
namespace {

// Files whose qid.type differs in kind are different files even with the
// same qid.path (a server that recycles inode numbers).
bool SameKind(const Qid& a, const Qid& b) { return (a.type & QTDIR) == (b.type & QTDIR); }

uint64_t MtimeNs(const Rgetattr& a) { return a.mtime_sec * 1000000000ull + a.mtime_nsec; }

// The id a user or group name stands for, from `cache` (guarded by mu) or
// worked out once: a decimal name is the number itself, else what lookup
// (NSS, run outside the lock) says, else `fallback` (our own id).
template <class Id>
Id IdOf(std::mutex& mu, std::unordered_map<std::string, Id>& cache, const std::string& name,
        Id fallback, std::type_identity_t<bool (*)(const char* name, Id* id)> lookup) {
  {
    std::lock_guard<std::mutex> l(mu);
    auto it = cache.find(name);
    if (it != cache.end()) return it->second;
  }
  Id id = fallback;
  if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit)) {
    id = static_cast<Id>(std::strtoul(name.c_str(), nullptr, 10));
  } else if (Id found = fallback; lookup(name.c_str(), &found)) {
    id = found;
  }
  std::lock_guard<std::mutex> l(mu);
  cache[name] = id;
  return id;
}

// The id ranges a user namespace map file ("/proc/self/uid_map") lets us
// see: "inside outside count" per line. Empty when unreadable.
std::vector<std::pair<uint64_t, uint64_t>> ReadIdMap(const char* path) {
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  std::ifstream in(path);
  uint64_t inside = 0, outside = 0, count = 0;
  while (in >> inside >> outside >> count) ranges.emplace_back(inside, inside + count);
  return ranges;
}

// In a user namespace (ns exec as an ordinary user) an id the namespace
// does not map makes the kernel refuse every change to the file; such a
// file is shown as the mounter's, as other FUSE file systems do.
uint32_t MappedOr(const std::vector<std::pair<uint64_t, uint64_t>>& ranges, uint32_t id,
                  uint32_t mine) {
  if (ranges.empty()) return id;
  for (const auto& [lo, hi] : ranges) {
    if (id >= lo && id < hi) return id;
  }
  return mine;
}

}  // namespace

Fs::Fs(MountOptions opts, ConnPtr conn) : opts_(std::move(opts)), conn_(std::move(conn)) {
  per_user_ = EffectiveAccess(opts_, geteuid()) == Access::kUser;
  base_uid_ = getuid();
  if (!opts_.uname.empty()) {
    struct passwd* pw = getpwnam(opts_.uname.c_str());
    base_uid_ = pw != nullptr ? pw->pw_uid : static_cast<uid_t>(-1);
  }
  conns_.push_back(conn_);
  auto root = std::make_unique<Node>();
  root->ino = FUSE_ROOT_ID;
  root->qid = conn_->root.qid();
  root->nlookup = 1;
  auto clone = conn_->root.Walk("");
  if (clone.ok()) root->fid = std::make_shared<RFid>(conn_, std::move(*clone));
  by_qid_[root->qid.path] = FUSE_ROOT_ID;
  nodes_[FUSE_ROOT_ID] = std::move(root);
}

Fs::~Fs() {
  // Fids first (their destructors send Tclunk), then the connections, once
  // the clunks are answered: a callback still pending would otherwise hold
  // the last reference to its connection and destroy the client from the
  // client's own thread.
  std::unordered_map<uint64_t, std::shared_ptr<Handle>> handles;
  std::unordered_map<uint64_t, std::unique_ptr<Node>> nodes;
  std::vector<ConnPtr> conns;
  {
    std::lock_guard<std::mutex> l(mu_);
    handles.swap(handles_);
    nodes.swap(nodes_);
    conns.swap(conns_);
    conn_.reset();
  }
  handles.clear();
  nodes.clear();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  for (auto& c : conns) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    // Only the count below matters: a dead connection has failed every
    // call, and a timeout leaves some outstanding.
    c->client->WaitIdle(std::max(left, std::chrono::milliseconds(1))).IgnoreError();
    if (c->client->Outstanding() > 0) {
      new ConnPtr(c);  // deliberately leaked: see above
    }
  }
}

bool Fs::Alive() const {
  std::lock_guard<std::mutex> l(mu_);
  return conn_->client->alive();
}

std::string Fs::Addr() const {
  std::lock_guard<std::mutex> l(mu_);
  return conn_->addr;
}

FidPtr Fs::NodeFid(uint64_t ino, std::string* path, Qid* qid) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return nullptr;
  if (path) *path = it->second->path;
  if (qid) *qid = it->second->qid;
  return it->second->fid;
}

Result<FidPtr> Fs::UserRoot(uid_t uid) {
  ConnPtr conn;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = user_roots_.find(uid);
    if (it != user_roots_.end() && it->second->conn == conn_) return it->second;
    conn = conn_;
  }
  auto root = AttachAs(conn, opts_, uid);
  if (!root.ok()) return root.status();
  FidPtr old;  // a stale attach: clunked after the lock
  std::lock_guard<std::mutex> l(mu_);
  FidPtr& slot = user_roots_[uid];
  old = std::move(slot);
  slot = *root;
  return slot;
}

Result<FidPtr> Fs::CallerFid(fuse_req_t req, uint64_t ino, std::string* path, Qid* qid) {
  std::string p;
  Qid q;
  if (UsesBase(req)) {
    FidPtr f = NodeFid(ino, path, qid);
    if (!f) return Status(ESTALE, "unknown node");
    return f;
  }
  uid_t uid = fuse_req_ctx(req)->uid;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = nodes_.find(ino);
    if (it == nodes_.end()) return Status(ESTALE, "unknown node");
    p = it->second->path;
    q = it->second->qid;
    for (auto& [u, f] : it->second->ufids) {
      if (u == uid && f->conn == conn_) {
        if (path) *path = p;
        if (qid) *qid = q;
        return f;
      }
    }
  }
  if (path) *path = p;
  if (qid) *qid = q;
  auto root = UserRoot(uid);
  if (!root.ok()) return root.status();
  // The caller's own walk: the server checks its search permissions too.
  auto f = WalkFrom(*root, p);
  if (!f.ok()) return f.status();
  if ((*f)->fid.qid().path != q.path) return Status(ESTALE, p + ": now another file");
  FidPtr old;
  std::lock_guard<std::mutex> l(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return *f;
  auto& uf = it->second->ufids;
  for (auto& [u, fp] : uf) {
    if (u == uid) {
      old = std::move(fp);
      fp = *f;
      return *f;
    }
  }
  if (uf.size() >= kMaxUserFids) {
    old = std::move(uf.front().second);
    uf.erase(uf.begin());
  }
  uf.emplace_back(uid, *f);
  return *f;
}

std::shared_ptr<Handle> Fs::GetHandle(uint64_t fh) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = handles_.find(fh);
  return it == handles_.end() ? nullptr : it->second;
}

FidPtr Fs::HandleFid(const Handle& h) {
  std::lock_guard<std::mutex> l(mu_);
  return h.fid;
}

uint64_t Fs::AddHandle(std::shared_ptr<Handle> h) {
  std::lock_guard<std::mutex> l(mu_);
  uint64_t id = next_fh_++;
  handles_[id] = std::move(h);
  return id;
}

Result<FidPtr> Fs::WalkFrom(const FidPtr& from, std::string_view path) {
  if (!from) return Status(ESTALE, "no fid");
  auto f = from->fid.Walk(path);
  if (!f.ok()) return f.status();
  return std::make_shared<RFid>(from->conn, std::move(*f));
}

uint64_t Fs::AddLookup(const std::string& path, FidPtr fid, const Qid& q) {
  FidPtr old;  // released after the lock: its destructor sends Tclunk
  std::lock_guard<std::mutex> l(mu_);
  auto it = by_qid_.find(q.path);
  if (it != by_qid_.end()) {
    auto nit = nodes_.find(it->second);
    if (nit != nodes_.end() && SameKind(nit->second->qid, q)) {
      Node& n = *nit->second;
      n.nlookup++;
      if (fid) {
        old = std::move(n.fid);
        n.fid = std::move(fid);
      }
      if (n.ino != FUSE_ROOT_ID) n.path = path;
      n.qid = q;
      return n.ino;
    }
  }
  auto n = std::make_unique<Node>();
  n->ino = next_ino_++;
  n->fid = std::move(fid);
  n->qid = q;
  n->nlookup = 1;
  n->path = path;
  uint64_t ino = n->ino;
  by_qid_[q.path] = ino;
  nodes_[ino] = std::move(n);
  return ino;
}

void Fs::ReplyEntry(fuse_req_t req, const std::string& path, FidPtr fid, const Dir& d) {
  fuse_entry_param e;
  std::memset(&e, 0, sizeof e);
  FillAttr(d, &e.attr);
  e.ino = AddLookup(path, std::move(fid), d.qid);
  TrackCtime(e.ino, d, &e.attr);
  e.attr_timeout = opts_.attr_timeout;
  e.entry_timeout = opts_.entry_timeout;
  if (fuse_reply_entry(req, &e) != 0) Forget(e.ino, 1);  // the kernel never saw it
}

void Fs::WalkAndReply(fuse_req_t req, const FidPtr& parent, const std::string& ppath,
                      const char* name) {
  auto child = WalkFrom(parent, name);
  if (!child.ok()) return (void)fuse_reply_err(req, ToErrno(child.status()));
  auto d = (*child)->fid.Stat();
  if (!d.ok()) return (void)fuse_reply_err(req, ToErrno(d.status()));
  std::string path = ppath.empty() ? std::string(name) : ppath + "/" + name;
  ReplyEntry(req, path, std::move(*child), *d);
}

uid_t Fs::UidOf(const std::string& name) {
  return IdOf(mu_, uids_, name, getuid(), [](const char* n, uid_t* id) {
    char buf[4096];
    struct passwd pw, *res = nullptr;
    if (getpwnam_r(n, &pw, buf, sizeof buf, &res) != 0 || res == nullptr) return false;
    *id = res->pw_uid;
    return true;
  });
}

gid_t Fs::GidOf(const std::string& name) {
  return IdOf(mu_, gids_, name, getgid(), [](const char* n, gid_t* id) {
    char buf[4096];
    struct group gr, *res = nullptr;
    if (getgrnam_r(n, &gr, buf, sizeof buf, &res) != 0 || res == nullptr) return false;
    *id = res->gr_gid;
    return true;
  });
}

void Fs::FillAttr(const Dir& d, struct stat* st) {
  Rgetattr a = d.ToGetattr();
  std::memset(st, 0, sizeof *st);
  st->st_ino = d.qid.path;
  st->st_mode = a.mode;
  if ((st->st_mode & S_IFMT) == 0) st->st_mode |= (d.qid.type & QTDIR) ? S_IFDIR : S_IFREG;
  // 0 is real (an open file that was unlinked); 9P2000 says 1 (ToGetattr).
  st->st_nlink = a.nlink;
  if (d.l.valid != 0) {
    st->st_uid = a.uid;
    st->st_gid = a.gid;
  } else {
    st->st_uid = UidOf(d.uid);
    st->st_gid = GidOf(d.gid);
  }
  static const auto kUids = ReadIdMap("/proc/self/uid_map");
  static const auto kGids = ReadIdMap("/proc/self/gid_map");
  // Read once: two system calls per entry showed in a find's profile.
  static const uid_t kSelfUid = getuid();
  static const gid_t kSelfGid = getgid();
  st->st_uid = MappedOr(kUids, st->st_uid, kSelfUid);
  st->st_gid = MappedOr(kGids, st->st_gid, kSelfGid);
  st->st_rdev = a.rdev;
  st->st_size = static_cast<off_t>(a.size);
  st->st_blocks = static_cast<blkcnt_t>(a.blocks);
  // The I/O size hint programs such as cp size their buffers by.
  uint32_t bs = 4096;
  while (bs * 2 <= max_io_) bs *= 2;
  st->st_blksize = bs;
  st->st_atim.tv_sec = static_cast<time_t>(a.atime_sec);
  st->st_atim.tv_nsec = static_cast<long>(a.atime_nsec);
  st->st_mtim.tv_sec = static_cast<time_t>(a.mtime_sec);
  st->st_mtim.tv_nsec = static_cast<long>(a.mtime_nsec);
  st->st_ctim.tv_sec = static_cast<time_t>(a.ctime_sec);
  st->st_ctim.tv_nsec = static_cast<long>(a.ctime_nsec);
}

void Fs::TrackCtime(uint64_t ino, const Dir& d, struct stat* st) {
  if (d.l.valid != 0) return;  // the server said
  std::lock_guard<std::mutex> l(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  Node& n = *it->second;
  if (!n.have_ct) {
    n.have_ct = true;
    n.ct_version = d.qid.version;
    n.ctime = st->st_mtim;
  } else if (n.ct_version != d.qid.version) {
    n.ct_version = d.qid.version;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    // Never backwards, and never before the change's own mtime.
    auto later = [](const timespec& a, const timespec& b) {
      return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
    };
    if (later(st->st_mtim, now)) now = st->st_mtim;
    if (!later(now, n.ctime)) {
      now = n.ctime;
      if (++now.tv_nsec == 1000000000) now.tv_sec++, now.tv_nsec = 0;
    }
    n.ctime = now;
  }
  st->st_ctim = n.ctime;
}

bool Fs::RecordSig(uint64_t ino, const Dir& d) {
  Rgetattr a = d.ToGetattr();
  std::lock_guard<std::mutex> l(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return false;
  Node& n = *it->second;
  bool same = n.have_sig && n.sig_version == d.qid.version && n.sig_mtime_ns == MtimeNs(a) &&
              n.sig_size == a.size;
  n.have_sig = true;
  n.sig_version = d.qid.version;
  n.sig_mtime_ns = MtimeNs(a);
  n.sig_size = a.size;
  return same;
}

void Fs::RefreshSigAsync(uint64_t ino, const FidPtr& fid) {
  // The callback holds the fid, so its Tclunk follows this reply.
  fid->client()->Call(StatBody(fid->fid.num(), P9_GETATTR_BASIC),
                      [this, ino, fid](Result<Reply> r) {
                        if (!r.ok()) return;
                        if (auto d = DirOfStatReply(r->msg, ""); d.ok()) RecordSig(ino, *d);
                      });
}

void Fs::MovePaths(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  std::string prefix = from + "/";
  for (auto& [ino, n] : nodes_) {
    if (n->path == from) {
      n->path = to;
    } else if (n->path.compare(0, prefix.size(), prefix) == 0) {
      n->path = to + n->path.substr(from.size());
    }
  }
  for (auto& [id, h] : handles_) {
    if (h->path == from) {
      h->path = to;
    } else if (h->path.compare(0, prefix.size(), prefix) == 0) {
      h->path = to + h->path.substr(from.size());
    }
  }
}

// ---- FUSE handlers ----------------------------------------------------------

void Fs::Init(fuse_conn_info* conn) {
  uint32_t maxio;
  {
    std::lock_guard<std::mutex> l(mu_);
    maxio = conn_->client->MaxIO();
  }
  // FUSE requests as large as the kernel takes (256 pages), each split
  // into page-aligned msize-sized Treads/Twrites sent together: fewer
  // trips through the kernel than one request per msize (and no 8 KiB
  // tail per MiB when msize is 512 KiB). At most 8 calls per request, so
  // a server with a small msize is not flooded.
  uint32_t pages = std::min<uint32_t>(256, std::max<uint32_t>(1, 8 * (maxio / 4096)));
  max_io_ = pages * 4096;
  conn->max_write = max_io_;
  conn->max_readahead = opts_.readahead != 0 ? opts_.readahead : max_io_;
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  auto want = [conn](unsigned cap) {
    if (conn->capable & cap) conn->want |= cap;
  };
  want(FUSE_CAP_ASYNC_READ);
  want(FUSE_CAP_ATOMIC_O_TRUNC);
  want(FUSE_CAP_PARALLEL_DIROPS);
  want(FUSE_CAP_AUTO_INVAL_DATA);
  // Attributes with listings, when the kernel sees lookups follow them.
  want(FUSE_CAP_READDIRPLUS);
  want(FUSE_CAP_READDIRPLUS_AUTO);
  if (opts_.writeback) want(FUSE_CAP_WRITEBACK_CACHE);
  // Splicing would only add a pipe between our buffers and the kernel's.
  conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
  conn->time_gran = dotl() ? 1 : 1000000000;
}

void Fs::Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  std::string ppath;
  FidPtr pf = NodeFid(parent, &ppath);
  if (!pf) return (void)fuse_reply_err(req, ESTALE);
  if (!UsesBase(req)) {
    // The server checks the caller's search permission too, by a walk of
    // its own; the node keeps the mounting user's fid (walked below).
    auto upf = CallerFid(req, parent);
    if (!upf.ok()) return (void)fuse_reply_err(req, ToErrno(upf.status()));
    auto mine = WalkFrom(*upf, name);
    if (!mine.ok()) return (void)fuse_reply_err(req, ToErrno(mine.status()));
  }
  WalkAndReply(req, pf, ppath, name);
}

void Fs::Forget(fuse_ino_t ino, uint64_t nlookup) {
  std::unique_ptr<Node> dead;  // destroyed after the lock (Tclunk)
  std::lock_guard<std::mutex> l(mu_);
  auto it = nodes_.find(ino);
  if (it == nodes_.end()) return;
  Node& n = *it->second;
  n.nlookup = nlookup >= n.nlookup ? 0 : n.nlookup - nlookup;
  if (n.nlookup > 0 || ino == FUSE_ROOT_ID) return;
  auto q = by_qid_.find(n.qid.path);
  if (q != by_qid_.end() && q->second == ino) by_qid_.erase(q);
  dead = std::move(it->second);
  nodes_.erase(it);
}

void Fs::Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  FidPtr f;
  std::shared_ptr<Handle> h;
  if (fi != nullptr) {
    if ((h = GetHandle(fi->fh))) f = HandleFid(*h);
  }
  if (!f) f = NodeFid(ino);
  if (!f) return (void)fuse_reply_err(req, ESTALE);
  auto d = f->fid.Stat();
  if (!d.ok() && d.status().err() == ENOENT) {
    // A server that stats by path (diod) cannot find an open file that was
    // unlinked; fstat(2) of it (which FUSE sends without the handle) says
    // it has no links left.
    std::lock_guard<std::mutex> l(mu_);
    if (!h) {
      for (auto& [id, oh] : handles_) {
        if (oh->ino == ino && oh->opened) h = oh;
      }
    }
    if (h && h->opened && h->opened->l.valid != 0) {
      Dir gone = *h->opened;
      gone.l.nlink = 0;
      d = std::move(gone);
    }
  }
  if (!d.ok()) return (void)fuse_reply_err(req, ToErrno(d.status()));
  struct stat st;
  FillAttr(*d, &st);
  TrackCtime(ino, *d, &st);
  fuse_reply_attr(req, &st, opts_.attr_timeout);
}

void Fs::Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
                 fuse_file_info* fi) {
  Qid qid;
  FidPtr nf = NodeFid(ino, nullptr, &qid);
  if (!nf) return (void)fuse_reply_err(req, ESTALE);
  FidPtr f;
  if (fi != nullptr) {
    if (auto h = GetHandle(fi->fh)) f = HandleFid(*h);
  }
  bool kill = false;  // a mode change that only clears set-id bits
  if (!UsesBase(req) && (to_set & FUSE_SET_ATTR_MODE)) {
    // The kernel clears set-id bits itself after another user's write or
    // truncate, as a chmod by that user, which the server would refuse
    // to anyone but the owner. Dropping privilege is always allowed: send
    // that one through the mounting user's attach.
    if (auto cur = nf->fid.Stat(); cur.ok()) {
      uint32_t m = cur->ToGetattr().mode & 07777, want = attr->st_mode & 07777;
      uint32_t diff = m ^ want;
      kill = diff != 0 && (diff & ~06000u) == 0 && (want & diff) == 0;
    }
  }
  int user_set = kill ? to_set & ~FUSE_SET_ATTR_MODE : to_set;
  if (!f && user_set != 0) {
    auto cf = CallerFid(req, ino);
    if (!cf.ok()) return (void)fuse_reply_err(req, ToErrno(cf.status()));
    f = *cf;
  }
  if (f) {
    Status s = SendSetattr(f, qid, attr, user_set);
    if (!s.ok()) return (void)fuse_reply_err(req, ToErrno(s));
  }
  if (kill) {
    Status s = SendSetattr(nf, qid, attr, FUSE_SET_ATTR_MODE);
    if (!s.ok()) return (void)fuse_reply_err(req, ToErrno(s));
  }
  if (!f) f = nf;
  auto d = f->fid.Stat();
  if (!d.ok()) return (void)fuse_reply_err(req, ToErrno(d.status()));
  struct stat st;
  FillAttr(*d, &st);
  TrackCtime(ino, *d, &st);
  fuse_reply_attr(req, &st, opts_.attr_timeout);
}

Status Fs::SendSetattr(const FidPtr& f, const Qid& qid, const struct stat* attr, int to_set) {
  bool atime = to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW);
  bool mtime = to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW);
  if (dotl()) {
    Tsetattr t;
    t.fid = f->fid.num();
    if (to_set & FUSE_SET_ATTR_MODE) t.valid |= P9_SETATTR_MODE, t.mode = attr->st_mode & 07777;
    if (to_set & FUSE_SET_ATTR_UID) t.valid |= P9_SETATTR_UID, t.uid = attr->st_uid;
    if (to_set & FUSE_SET_ATTR_GID) t.valid |= P9_SETATTR_GID, t.gid = attr->st_gid;
    if (to_set & FUSE_SET_ATTR_SIZE) t.valid |= P9_SETATTR_SIZE, t.size = attr->st_size;
    if (atime) {
      t.valid |= P9_SETATTR_ATIME;
      if (!(to_set & FUSE_SET_ATTR_ATIME_NOW)) {
        t.valid |= P9_SETATTR_ATIME_SET;
        t.atime_sec = attr->st_atim.tv_sec;
        t.atime_nsec = attr->st_atim.tv_nsec;
      }
    }
    if (mtime) {
      t.valid |= P9_SETATTR_MTIME;
      if (!(to_set & FUSE_SET_ATTR_MTIME_NOW)) {
        t.valid |= P9_SETATTR_MTIME_SET;
        t.mtime_sec = attr->st_mtim.tv_sec;
        t.mtime_nsec = attr->st_mtim.tv_nsec;
      }
    }
    if (to_set & FUSE_SET_ATTR_CTIME) t.valid |= P9_SETATTR_CTIME;
    if (t.valid == 0) return Status::Ok();
    auto r = f->client()->CallSync(t);
    return r.ok() ? Status::Ok() : r.status();
  }
  // 9P2000: a stat's times are unsigned 32-bit seconds and ~0 means "no
  // change"; a time outside that fails as a local filesystem with 32-bit
  // times fails, rather than being cut.
  auto fits = [](time_t t) { return t >= 0 && t < static_cast<time_t>(0xFFFFFFFFu); };
  if (atime && !(to_set & FUSE_SET_ATTR_ATIME_NOW) && !fits(attr->st_atim.tv_sec)) {
    return Status(EOVERFLOW, "atime does not fit 9P2000");
  }
  if (mtime && !(to_set & FUSE_SET_ATTR_MTIME_NOW) && !fits(attr->st_mtim.tv_sec)) {
    return Status(EOVERFLOW, "mtime does not fit 9P2000");
  }
  Dir d = DirFromStat(NullStat());
  bool any = false;
  if (to_set & FUSE_SET_ATTR_MODE) {
    uint32_t kind = 0;
    if (qid.type & QTAPPEND) kind |= DMAPPEND;
    if (qid.type & QTEXCL) kind |= DMEXCL;
    if (qid.type & QTDIR) kind |= DMDIR;
    // Set-id and sticky bits travel as DMSETUID, DMSETGID and DMSETVTX.
    d.mode = DMFromUnixMode(attr->st_mode & 07777) | kind;
    any = true;
  }
  if (to_set & FUSE_SET_ATTR_UID) {
    struct passwd* pw = getpwuid(attr->st_uid);
    d.uid = pw ? pw->pw_name : std::to_string(attr->st_uid);
    any = true;
  }
  if (to_set & FUSE_SET_ATTR_GID) {
    struct group* gr = getgrgid(attr->st_gid);
    d.gid = gr ? gr->gr_name : std::to_string(attr->st_gid);
    any = true;
  }
  if (to_set & FUSE_SET_ATTR_SIZE) d.length = attr->st_size, any = true;
  time_t now = time(nullptr);
  if (atime) {
    d.atime = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? now : attr->st_atim.tv_sec;
    any = true;
  }
  if (mtime) {
    d.mtime = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now : attr->st_mtim.tv_sec;
    any = true;
  }
  if (!any) return Status::Ok();
  return f->fid.Wstat(d);
}

void Fs::Statfs(fuse_req_t req, fuse_ino_t ino) {
  struct statvfs sv;
  std::memset(&sv, 0, sizeof sv);
  sv.f_bsize = sv.f_frsize = 4096;
  sv.f_namemax = 255;
  if (dotl()) {
    FidPtr f = NodeFid(ino);
    if (!f) f = NodeFid(FUSE_ROOT_ID);
    if (!f) return (void)fuse_reply_err(req, ESTALE);
    Tstatfs t;
    t.fid = f->fid.num();
    auto r = f->client()->CallSync(t);
    if (!r.ok()) return (void)fuse_reply_err(req, ToErrno(r.status()));
    if (auto* s = std::get_if<Rstatfs>(&r->msg.body)) {
      sv.f_bsize = sv.f_frsize = s->bsize != 0 ? s->bsize : 4096;
      sv.f_blocks = s->blocks;
      sv.f_bfree = s->bfree;
      sv.f_bavail = s->bavail;
      sv.f_files = s->files;
      sv.f_ffree = s->ffree;
      sv.f_favail = s->ffree;
      sv.f_fsid = s->fsid;
      if (s->namelen != 0) sv.f_namemax = s->namelen;
    }
  }
  fuse_reply_statfs(req, &sv);
}

// ---- Reconnecting -----------------------------------------------------------

Status Fs::Reconnect() {
  size_t next;
  {
    std::lock_guard<std::mutex> l(mu_);
    next = conn_->index + 1;
  }
  auto c = Dial(opts_, next);
  if (!c.ok()) return c.status();
  ConnPtr conn = *c;
  auto rootclone = conn->root.Walk("");
  if (!rootclone.ok()) return rootclone.status();
  FidPtr root = std::make_shared<RFid>(conn, std::move(*rootclone));

  struct Want {
    uint64_t id;
    std::string path;
    uint32_t lflags;
    bool dir;
  };
  std::vector<Want> nodes, handles;
  FidPtr old_root;
  {
    std::lock_guard<std::mutex> l(mu_);
    conns_.push_back(conn);
    conn_ = conn;
    old_root = std::move(nodes_[FUSE_ROOT_ID]->fid);
    nodes_[FUSE_ROOT_ID]->fid = root;
    for (auto& [ino, n] : nodes_) {
      if (ino != FUSE_ROOT_ID) nodes.push_back({ino, n->path, 0, false});
    }
    for (auto& [id, h] : handles_) handles.push_back({id, h->path, h->lflags, h->dir});
  }
  // Files that vanished while we were away keep their dead fids: their
  // operations fail with EIO until the kernel forgets them.
  for (const Want& w : nodes) {
    auto f = WalkFrom(root, w.path);
    if (!f.ok()) continue;
    FidPtr old;
    std::lock_guard<std::mutex> l(mu_);
    auto it = nodes_.find(w.id);
    if (it == nodes_.end()) continue;
    old = std::move(it->second->fid);
    it->second->fid = std::move(*f);
  }
  for (const Want& w : handles) {
    auto nf = WalkFrom(root, w.path);
    if (!nf.ok()) continue;
    auto f = CloneOpen(*nf, w.lflags & ~(O_TRUNC | O_CREAT | O_EXCL), w.dir);
    if (!f.ok()) continue;
    FidPtr old;
    std::lock_guard<std::mutex> l(mu_);
    auto it = handles_.find(w.id);
    if (it == handles_.end()) continue;
    old = std::move(it->second->fid);
    it->second->fid = std::move(*f);
  }
  return Status::Ok();
}

}  // namespace ninep::mount9p
