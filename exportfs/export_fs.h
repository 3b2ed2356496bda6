// export_fs.h: ExportFs, the FileServer that serves a local directory over
// 9P2000 and 9P2000.L, confined to its root, plus the synthetic `ctl` tree.
//
// Each fid holds an O_PATH fd of its file (stable across renames) and, when
// opened, a second fd opened for I/O. Every name is resolved from a fid's
// O_PATH fd with openat2 beneath it, never following a symlink or a magic
// link (fsutil.h). Every system call runs on a worker thread through
// Server::Offload; handlers on the loop thread only dispatch.
// Thread-safety: the FileServer methods are called on the loop thread;
// per-fid state is guarded by the fid's mutex, so requests of different
// fids, and reads of the same fid, run in parallel on workers.
#ifndef NINEFOLD_EXPORTFS_EXPORT_FS_H_
#define NINEFOLD_EXPORTFS_EXPORT_FS_H_

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "exportfs/fsutil.h"
#include "exportfs/identity.h"
#include "ninep/server.h"
#include "ninep/synth.h"

namespace exportfs {

// The root of one attach: ".." never goes above it.
struct Tree {
  FdRef fd;
  uint64_t dev = 0, ino = 0;
};

// One file as a fid sees it. Immutable: a rename or create swaps in a new
// Node, so a worker holding the old one is never surprised.
struct Node {
  FdRef fd;           // O_PATH | O_NOFOLLOW
  FdRef parent;       // O_PATH fd of the directory it was found in; null at
                      // the tree's root and after "..", until looked up
  std::string name;   // its name in parent ("" when unknown)
  uint32_t mode = 0;  // S_IFMT bits: a file's type never changes
  uint64_t dev = 0, ino = 0;
  bool is_root = false;  // the attach's root

  bool IsDir() const { return S_ISDIR(mode); }
  bool IsReg() const { return S_ISREG(mode); }
  bool IsLink() const { return S_ISLNK(mode); }
};
using NodeRef = std::shared_ptr<const Node>;

class FidRegistry;

// The file server's per-fid state (SrvFid::aux of every non-ctl fid).
class ExFid {
 public:
  ExFid(FidRegistry* reg, std::shared_ptr<const Tree> tree, NodeRef node, IdentityRef id);
  ~ExFid();
  ExFid(const ExFid&) = delete;
  ExFid& operator=(const ExFid&) = delete;

  const std::shared_ptr<const Tree> tree;
  // The user this fid's attach acts as; null: the server acts as itself.
  const IdentityRef id;

  // The node now (under mu).
  NodeRef node() const {
    std::lock_guard<std::mutex> l(mu);
    return node_;
  }
  // Replaces the node (rename, create).
  void set_node(NodeRef n) {
    std::lock_guard<std::mutex> l(mu);
    node_ = std::move(n);
  }
  // The fd opened for I/O (null until Open/Create).
  FdRef io() const {
    std::lock_guard<std::mutex> l(mu);
    return io_;
  }
  void set_io(FdRef f, bool stream) {
    std::lock_guard<std::mutex> l(mu);
    io_ = std::move(f);
    stream_ = stream;
  }
  // True when io() is a FIFO or device: read()/write() with cancellation,
  // not pread/pwrite.
  bool stream() const {
    std::lock_guard<std::mutex> l(mu);
    return stream_;
  }

  // Directory reads (under dir_mu: lseek+getdents must not interleave on
  // one fd). dir_win holds the entries getdents gave after cookie
  // dir_start, in order, so a read resuming at any of their cookies, as
  // small-count reads do, needs no lseek (which costs a hash-tree lookup on
  // ext4) and no second getdents. (A vector and a list, not deques: an
  // empty std::deque allocates ~600 bytes, which every fid paid.)
  struct DirEnt {
    std::string name;
    uint64_t off;  // d_off: the cookie after this entry
  };
  std::mutex dir_mu;
  uint64_t dir_start = ~0ULL;
  std::vector<DirEnt> dir_win;
  bool dir_eof = false;  // the fd is at the end after dir_win

  // Extended attributes: an xattr fid (Txattrwalk's newfid, or a fid after
  // Txattrcreate) reads or writes `xvalue` instead of the file.
  enum class Xattr { kNone, kRead, kWrite };
  mutable std::mutex xmu;
  Xattr xkind = Xattr::kNone;
  std::string xname, xvalue;
  uint64_t xsize = 0, xwritten = 0;
  int xflags = 0;

  // Writes through this fid, one worker at a time (see ExportFs::Write):
  // `writing` while a worker writes; it takes the queued ones in turn.
  std::mutex wmu;
  bool writing = false;
  std::list<ninep::WriteReq> wq;

 private:
  mutable std::mutex mu;
  NodeRef node_;
  FdRef io_;
  bool stream_ = false;
  FidRegistry* reg_;
};

// The set of live ExFids: tells a disk fid from a ctl fid (whose aux is
// the SynthTree's SynthFid) without knowing the aux's type.
class FidRegistry {
 public:
  void Add(const void* p) {
    std::lock_guard<std::mutex> l(mu_);
    live_.insert(p);
  }
  void Remove(const void* p) {
    std::lock_guard<std::mutex> l(mu_);
    live_.erase(p);
  }
  bool Contains(const void* p) const {
    std::lock_guard<std::mutex> l(mu_);
    return live_.count(p) != 0;
  }

 private:
  mutable std::mutex mu_;
  std::unordered_set<const void*> live_;
};

// exportfs's options.
struct ExportOptions {
  std::string root;        // the directory exported
  bool read_only = false;  // -R: every change fails EROFS
  // Perform each request as the user its attach named (see identity.h);
  // requires root. Off: every request runs as the server itself.
  bool setuid = false;
};

// Serves a directory. Construct with Open, then hand to a Server.
class ExportFs : public ninep::FileServer {
 public:
  // Opens the root; fails with "ROOT: why".
  static ninep::Result<std::unique_ptr<ExportFs>> Open(const ExportOptions& opts);
  ~ExportFs() override;

  // FileServer (export_fs.cc).
  void Attach(ninep::AttachReq r) override;
  void Walk(ninep::WalkReq r) override;
  void Stat(ninep::StatReq r) override;
  void Open(ninep::OpenReq r) override;
  void Create(ninep::CreateReq r) override;
  void Read(ninep::ReadReq r) override;
  void ReadDir(ninep::ReadDirReq r) override;
  void Write(ninep::WriteReq r) override;
  void Clunk(ninep::ClunkReq r) override;
  void Remove(ninep::RemoveReq r) override;
  void Wstat(ninep::WstatReq r) override;
  void Started(ninep::Server* srv) override;
  // No authentication: ENOENT, which diod's clients take as "not required".
  void Auth(ninep::AttachReq r) override;

  // 9P2000.L (export_dotl.cc).
  void Getattr(ninep::GetattrReq r) override;
  void Statfs(ninep::StatfsReq r) override;
  void Mkdir(ninep::MkdirReq r) override;
  void Unlinkat(ninep::UnlinkatReq r) override;
  void Renameat(ninep::RenameatReq r) override;
  void Rename(ninep::RenameReq r) override;
  void Symlink(ninep::SymlinkReq r) override;
  void Mknod(ninep::MknodReq r) override;
  void Readlink(ninep::ReadlinkReq r) override;
  void Link(ninep::LinkReq r) override;
  void Fsync(ninep::FsyncReq r) override;
  void Lock(ninep::LockReq r) override;
  void Getlock(ninep::GetlockReq r) override;
  // Extended attributes (export_xattr.cc).
  void Xattrwalk(ninep::XattrwalkReq r) override;
  void Xattrcreate(ninep::XattrcreateReq r) override;

 private:
  explicit ExportFs(const ExportOptions& opts) : opts_(opts) {}

  // The ExFid of a disk fid, or null for a ctl fid.
  ExFid* Ex(const ninep::FidRef& f) const {
    return f && f->aux && reg_.Contains(f->aux.get()) ? f->Aux<ExFid>() : nullptr;
  }
  // Runs fn on a worker.
  void Off(ninep::Task fn) { srv_->Offload(std::move(fn)); }
  // Switches the calling thread to x's user (fsgid `gid` when the user may
  // use it); false, with r answered, when the kernel refuses.
  template <class R>
  static bool As(const ExFid* x, R& r, uint32_t gid = ~0U) {
    ninep::Status s = ActAs(x->id.get(), gid);
    if (s.ok()) return true;
    r.Fail(s);
    return false;
  }
  // Does one write (on a worker; see Write for the order).
  void WriteNow(ninep::WriteReq r, ExFid* x);

  // Helpers run on workers (export_fs.cc).
  ninep::Result<NodeRef> WalkOne(const Tree& t, const NodeRef& cur, std::string_view name,
                                 ninep::Qid* qid, bool cached_only) const;
  // Walks all of r's names; false (r untouched) when cached_only and
  // something was not in the kernel's caches.
  bool DoWalk(ninep::WalkReq& r, ExFid* x, bool cached_only);
  // True when requests on n may run on the loop thread using the kernel's
  // caches only (see "Fast paths" in export_fs.cc).
  bool Inline(const Node& n) const { return local_ && n.dev == root_dev_; }
  ninep::Result<NodeRef> NodeAt(const FdRef& dir, std::string_view name) const;
  ninep::Result<NodeRef> WithParent(ExFid* x) const;
  ninep::Result<ninep::Qid> QidAt(int dirfd, std::string_view name) const;
  ninep::Result<ninep::Qid> QidOfNode(const Node& n) const;
  ninep::Result<FdRef> Reopen(const Node& n, int flags) const;
  ninep::Status DoWstat(ExFid* x, const ninep::Stat& d, const ninep::Tsetattr& sa);
  ninep::Status DoSetattr(const Node& n, const ninep::Tsetattr& sa);
  ninep::Status DoRemove(ExFid* x);
  ninep::Status Chmod(const Node& n, uint32_t mode);
  ninep::Status Truncate(const Node& n, uint64_t size);
  ninep::Status Utimes(const Node& n, const struct timespec ts[2]);
  ninep::Status XattrClunk(ExFid* x);
  void StreamIo(ninep::ReadReq r, const FdRef& fd);

  ExportOptions opts_;
  std::shared_ptr<const Tree> root_;  // the exported directory
  std::string root_path_;             // its absolute path (for diod-style anames)
  uint64_t root_dev_ = 0;             // qids are relative to this device
  bool local_ = false;                // the root's filesystem is a local one (LocalFs)
  mutable FidRegistry reg_;
  ninep::Server* srv_ = nullptr;
  std::unique_ptr<ninep::SynthTree> ctl_;
};

}  // namespace exportfs

#endif  // NINEFOLD_EXPORTFS_EXPORT_FS_H_
