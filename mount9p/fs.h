// fs.h: the FUSE low-level filesystem that mount9p serves: each FUSE inode
// holds a walked 9P fid, each open file a cloned and opened one.
//
// Inodes. A lookup walks the parent's fid to the name and stats the result;
// files are keyed by qid.path, so a file looked up again (or under another
// name) keeps its nodeid and the kernel keeps its page cache. The fresh fid
// of the latest lookup replaces the node's older one: a name that now
// refers to a new file with a recycled qid.path gets a fid for the new one.
// FORGET drops the node and clunks its fid when the kernel's lookup count
// reaches zero. Nodes remember their path from the root for -o direct= and
// for re-walking after a reconnect.
//
// I/O. Reads and writes are sent with the client's async Call and answered
// from its callbacks (fuse_reply_* may run on any thread), split into
// msize-sized Treads/Twrites in flight together; nothing waits for a server
// in a FUSE worker thread, so a read blocked on a pipe-like file stalls
// nothing else. Metadata calls (lookup, getattr, mkdir ...) block their FUSE
// worker (the session runs multi-threaded) but hold no lock while they wait.
//
// Thread-safety: every handler may run on any FUSE worker at once; the node
// and handle tables are guarded by one mutex held only to copy pointers.
#ifndef NINEP_MOUNT9P_FS_H_
#define NINEP_MOUNT9P_FS_H_

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "mount9p/conn.h"
#include "mount9p/options.h"
#include "ninep/dir.h"

namespace ninep::mount9p {

// One FUSE inode.
struct Node {
  uint64_t ino = 0;
  FidPtr fid;  // walked, never opened
  Qid qid;
  uint64_t nlookup = 0;
  std::string path;  // from the root, no leading '/'; "" for the root
  // Close-to-open: what the file looked like when last opened or closed
  // after writing; the page cache is kept only if it still looks so.
  bool have_sig = false;
  uint64_t sig_version = 0, sig_mtime_ns = 0, sig_size = 0;
  // access=user: fids walked for callers other than the mounting user, at
  // most kMaxUserFids (the oldest goes first); each names its connection.
  std::vector<std::pair<uid_t, FidPtr>> ufids;
  // 9P2000 carries no ctime: the time we first saw qid.version change
  // (the server's version follows the change time), else mtime.
  bool have_ct = false;
  uint32_t ct_version = 0;
  struct timespec ctime = {};
};

// Most callers' fids one node keeps (see Node::ufids).
inline constexpr size_t kMaxUserFids = 8;

// One directory entry as readdir hands it to the kernel.
struct DirItem {
  std::string name;
  uint64_t ino = 0;
  uint32_t mode = 0;       // S_IFMT bits
  std::optional<Dir> dir;  // the whole stat, when the listing gave one (9P2000)
};

// One entry of a readdirplus batch: a fid walked to it and its attributes
// (empty when the walk or stat failed).
struct Resolved {
  FidPtr fid;
  std::optional<Dir> dir;
  bool tried = false;  // walked (or found a dot entry)
};

// One open file or directory (fuse_file_info::fh is its id).
struct Handle {
  uint64_t ino = 0;
  std::string path;
  uint32_t lflags = 0;  // Linux flags as opened (re-opened with these)
  uid_t uid = 0;        // who opened it
  bool dir = false;
  bool direct = false;
  std::atomic<bool> wrote{false};
  uint32_t chunk = 0;  // largest Tread/Twrite payload for this fid
  FidPtr fid;          // opened; guarded by Fs::mu_
  // The file as opened (set before the handle is shared): what fstat says
  // of an unlinked file when the server stats by path (diod) and fails.
  std::optional<Dir> opened;
  std::mutex dmu;  // guards items/loaded/ahead
  std::vector<DirItem> items;
  bool loaded = false;
  // readdirplus: entries resolved ahead of the kernel's batches, by index
  // into items (taken as they are handed out).
  std::vector<Resolved> ahead;
};

class Fs {
 public:
  // Serves the tree attached on `conn`.
  Fs(MountOptions opts, ConnPtr conn);
  ~Fs();
  Fs(const Fs&) = delete;
  Fs& operator=(const Fs&) = delete;

  // The FUSE operations; their userdata must be this Fs.
  static const fuse_lowlevel_ops& Ops();
  // Sets the session (for notifications). REQUIRES: before the loop runs.
  void set_session(fuse_session* se) { se_ = se; }

  // True while the current connection is up.
  bool Alive() const;
  // The address the current connection was dialled at (one of opts.addr's).
  std::string Addr() const;
  // Dials again, trying opts.addr's list from the address after the
  // current connection's (so a dead server is skipped at once), and
  // re-walks every node and re-opens every open file by path on the new
  // connection. On failure nothing changes.
  Status Reconnect();
  // Async reads and writes whose FUSE request is not answered yet.
  int64_t InFlight() const { return inflight_.load(); }
  // Flushes every read and write still waiting on the server, so their
  // callers get EINTR now (used when stopping).
  void CancelAll();

  // ---- FUSE handlers (called through Ops()) ----
  void Init(fuse_conn_info* conn);
  void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Forget(fuse_ino_t ino, uint64_t nlookup);
  void Getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi);
  void Readlink(fuse_req_t req, fuse_ino_t ino);
  void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev);
  void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
  void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name, bool dir);
  void Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name);
  void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags);
  void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname);
  void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi);
  void Read(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi);
  void Write(fuse_req_t req, const char* buf, size_t size, off_t off, fuse_file_info* fi);
  void Release(fuse_req_t req, fuse_file_info* fi);
  void Fsync(fuse_req_t req, int datasync, fuse_file_info* fi);
  void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Readdir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi);
  void Readdirplus(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi);
  void Statfs(fuse_req_t req, fuse_ino_t ino);

 private:
  struct IoOp;
  static void OnInterrupt(fuse_req_t req, void* data);
  void FinishIo(const std::shared_ptr<IoOp>& op);
  // Sends one FUSE read (wbuf null) or write of `size` bytes at `off` as
  // Tread/Twrite parts of at most h.chunk, all at once; FinishIo answers req.
  void SplitIo(fuse_req_t req, const Handle& h, FidPtr f, size_t size, off_t off, const char* wbuf);

  bool dotl() const { return opts_.dialect == Dialect::k9P2000L; }
  // The stat request of this dialect for fid: Tgetattr (asking for `mask`)
  // or Tstat.
  Body StatBody(uint32_t fid, uint64_t mask) const {
    if (dotl()) return Tgetattr{fid, mask};
    return Tstat{fid};
  }
  // The file an answer to StatBody describes (name: the file's name, which
  // Rgetattr does not carry); EIO for any other answer.
  static Result<Dir> DirOfStatReply(const Message& m, std::string name) {
    if (auto* s = std::get_if<Rstat>(&m.body)) return DirFromStat(s->stat);
    if (auto* g = std::get_if<Rgetattr>(&m.body)) return DirFromGetattr(*g, std::move(name));
    return Status(EIO, "unexpected reply to a stat");
  }
  // The node's fid (null when the nodeid is unknown); path/qid on request.
  // It is the mounting user's: for reading attributes and names, and for
  // everything when access=any.
  FidPtr NodeFid(uint64_t ino, std::string* path = nullptr, Qid* qid = nullptr);
  // True when req's caller acts through the mounting user's attach.
  bool UsesBase(fuse_req_t req) const { return !per_user_ || fuse_req_ctx(req)->uid == base_uid_; }
  // The node's fid for req's caller (access=user): walked from the caller's
  // own attach by the node's path, once, then kept in Node::ufids. ESTALE
  // when the path now names another file.
  Result<FidPtr> CallerFid(fuse_req_t req, uint64_t ino, std::string* path = nullptr,
                           Qid* qid = nullptr);
  // The root fid attached as uid on the current connection (attached on
  // first use, and again after a reconnect).
  Result<FidPtr> UserRoot(uid_t uid);
  // Sends the changes of one FUSE setattr on f (Tsetattr, or a Twstat).
  Status SendSetattr(const FidPtr& f, const Qid& qid, const struct stat* attr, int to_set);
  // 9P2000: fills st's ctime from what the node has seen (see Node::ctime).
  void TrackCtime(uint64_t ino, const Dir& d, struct stat* st);
  std::shared_ptr<Handle> GetHandle(uint64_t fh);
  FidPtr HandleFid(const Handle& h);
  uint64_t AddHandle(std::shared_ptr<Handle> h);
  // Walks `from` by a relative path to a new fid on the same connection.
  static Result<FidPtr> WalkFrom(const FidPtr& from, std::string_view path);
  // Sends a stat of f now; the future holds its answer.
  std::future<Result<Dir>> StatLater(const FidPtr& f);
  // Clones `node` and opens the clone with Linux flags.
  Result<FidPtr> CloneOpen(const FidPtr& node, uint32_t lflags, bool dir);
  // Registers a looked-up file and answers req with its entry.
  void ReplyEntry(fuse_req_t req, const std::string& path, FidPtr fid, const Dir& d);
  // Walks parent/name, stats it, and answers req with the entry.
  void WalkAndReply(fuse_req_t req, const FidPtr& parent, const std::string& ppath,
                    const char* name);
  uint64_t AddLookup(const std::string& path, FidPtr fid, const Qid& q);
  void FillAttr(const Dir& d, struct stat* st);
  uid_t UidOf(const std::string& name);
  gid_t GidOf(const std::string& name);
  // Remembers what an opened file looked like; true if unchanged since the
  // last time (so the page cache may be kept).
  bool RecordSig(uint64_t ino, const Dir& d);
  void RefreshSigAsync(uint64_t ino, const FidPtr& fid);
  void MovePaths(const std::string& from, const std::string& to);
  Status RemoveByWalk(const FidPtr& parent, const char* name);
  // 9P2000's way to make a file or directory: Tcreate through a clone of
  // parent, dropped after (the clone is left open on the new file, and an
  // open fid cannot be walked).
  Status CreateByClone(const FidPtr& parent, const char* name, uint32_t perm);
  // Reads the whole listing of an open directory into h.items.
  Status LoadDir(Handle& h, const FidPtr& f);
  // Begins a readdir or readdirplus at `off`: *h is fh's handle with its
  // listing loaded and its dmu held by *lock. 0, or the errno to answer.
  int OpenListing(uint64_t fh, off_t off, std::shared_ptr<Handle>* h,
                  std::unique_lock<std::mutex>* lock);
  // Walks dir to each of items[win[k]] and stats it, all calls in flight at
  // once; waits for them. Failed entries are left empty.
  void ResolveEntries(const FidPtr& dir, const std::vector<DirItem>& items,
                      const std::vector<size_t>& win, std::vector<Resolved>* out);

  MountOptions opts_;
  bool per_user_ = false;  // access=user
  uid_t base_uid_ = 0;     // the mounting user: served by conn_->root
  fuse_session* se_ = nullptr;
  uint32_t max_io_ = 0;  // kernel max_write / read size, set at Init

  mutable std::mutex mu_;                                      // guards everything below
  ConnPtr conn_;                                               // current connection
  std::vector<ConnPtr> conns_;                                 // every connection made (see conn.h)
  std::unordered_map<uint64_t, std::unique_ptr<Node>> nodes_;  // by nodeid
  std::unordered_map<uint64_t, uint64_t> by_qid_;              // qid.path -> nodeid
  uint64_t next_ino_ = FUSE_ROOT_ID + 1;
  std::unordered_map<uint64_t, std::shared_ptr<Handle>> handles_;
  uint64_t next_fh_ = 1;
  std::unordered_map<std::string, uid_t> uids_;
  std::unordered_map<std::string, gid_t> gids_;
  std::unordered_map<uid_t, FidPtr> user_roots_;  // access=user attaches

  std::atomic<int64_t> inflight_{0};
  std::mutex io_mu_;  // guards live_io_
  std::unordered_set<IoOp*> live_io_;
};

}  // namespace ninep::mount9p

#endif  // NINEP_MOUNT9P_FS_H_
