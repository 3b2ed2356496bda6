// fs.h: UnionFs, the FUSE low-level file system behind ServeMain
// (internal to ns_union).
//
// Nodes. The mount root (FUSE_ROOT_ID) lists the unions by id; a union's
// node lives as long as the server; every other node holds an O_PATH fd of
// a file in some member, keyed by (st_dev, st_ino) so a file looked up
// twice keeps one node (and its page cache), and the fd keeps its inode
// from being recycled while the kernel knows the node. A nodeid is the
// Node's address. Lookups below a union are plain *at() calls on the
// parent's fd: only a union's own directory merges members.
//
// Files are reopened for I/O through /proc/self/fd/N; reads are spliced
// from the file to /dev/fuse (fuse_reply_data with an fd buffer).
//
// Thread-safety: handlers run on any FUSE worker at once; mu_ guards the
// node table, lookup counts and the unions' member lists, and is held only
// to copy pointers. A member is a shared_ptr, so a request that copied the
// list keeps using a member that Remove dropped meanwhile.
#ifndef NINEFOLD_NS_UNION_FS_H_
#define NINEFOLD_NS_UNION_FS_H_

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312
#endif
#include <dirent.h>
#include <fuse_lowlevel.h>
#include <sys/stat.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "ns/union/union.h"

namespace nsunion::internal {

// A member directory as the server holds it (the fd is closed with it).
struct MemberRec {
  MemberRec(int f, bool c, std::string l) : fd(f), create(c), label(std::move(l)) {}
  ~MemberRec();
  MemberRec(const MemberRec&) = delete;
  MemberRec& operator=(const MemberRec&) = delete;
  int fd;
  bool create;
  std::string label;
  int union_id = -1;  // >= 0 when the member is itself a union of ours
};
using MemberPtr = std::shared_ptr<const MemberRec>;

// One FUSE inode.
struct Node {
  enum class Kind { kRoot, kUnion, kFile };
  Kind kind = Kind::kFile;
  int fd = -1;           // kFile: O_PATH, no follow
  dev_t dev = 0;         // kFile: the key
  ino_t ino = 0;         // kFile: the key
  int id = -1;           // kUnion
  uint64_t nlookup = 0;  // guarded by UnionFs::mu_
};

// One union: its members in order, and the names the kernel may hold
// entries for (dropped when the members change).
struct Union {
  int id = 0;
  std::vector<MemberPtr> members;
  Node* node = nullptr;
  std::set<std::string> names;
};

// "/proc/self/fd/N": how an O_PATH fd is reopened or changed by path.
std::string ProcPath(int fd);

// One directory entry of a listing snapshot.
struct Ent {
  std::string name;
  unsigned char type = DT_UNKNOWN;
  ino_t ino = 0;
  int member = -1;  // union listings: index into DirHandle::members
};

// An open directory: a snapshot of the listing, taken at offset 0.
struct DirHandle {
  Node* node = nullptr;
  std::mutex mu;                   // guards the rest
  std::vector<MemberPtr> members;  // union listings: as when listed
  std::vector<Ent> ents;
  bool fresh = true;  // listed by opendir and not yet read from offset 0
};

class UnionFs {
 public:
  UnionFs();
  ~UnionFs();
  UnionFs(const UnionFs&) = delete;
  UnionFs& operator=(const UnionFs&) = delete;

  // The operations table for fuse_session_new (userdata: this).
  static const fuse_lowlevel_ops& Ops();
  void set_session(fuse_session* se) { se_ = se; }
  // The mount's st_dev, once known: an fd on it is one of our own files.
  void set_own_dev(dev_t d) { own_dev_ = d; }

  // Control operations (ServeMain's control thread).
  int NewUnion();
  Status Add(int id, int fd, bool create, const std::string& label, bool before);
  Status Replace(int id, int fd, bool create, const std::string& label);
  Status Remove(int id, const std::string& label);
  Result<std::vector<MemberInfo>> List(int id);

  // FUSE handlers; each answers req exactly once.
  void Init(fuse_conn_info* conn);
  // True when new files are made as the caller (the server is root).
  bool root_caller() const { return root_caller_; }
  void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
  void Forget(fuse_ino_t ino, uint64_t n);
  void Getattr(fuse_req_t req, fuse_ino_t ino);
  void Setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi);
  void Readlink(fuse_req_t req, fuse_ino_t ino);
  void Mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev);
  void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
  void Symlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name);
  void Link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname);
  void Unlink(fuse_req_t req, fuse_ino_t parent, const char* name, bool dir);
  void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned flags);
  void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi);
  void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Read(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi);
  void WriteBuf(fuse_req_t req, fuse_bufvec* in, off_t off, fuse_file_info* fi);
  void Flush(fuse_req_t req, fuse_file_info* fi);
  void Release(fuse_req_t req, fuse_file_info* fi);
  void Fsync(fuse_req_t req, int datasync, fuse_file_info* fi);
  void Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
  void Readdir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi, bool plus);
  void Releasedir(fuse_req_t req, fuse_file_info* fi);
  void Statfs(fuse_req_t req, fuse_ino_t ino);

 private:
  Node* N(fuse_ino_t ino) {
    return ino == FUSE_ROOT_ID ? &root_ : reinterpret_cast<Node*>(ino);  // NOLINT
  }
  static fuse_ino_t Ino(Node* n);
  std::vector<MemberPtr> Members(int id);
  // The first member holding name: its index and the name's lstat.
  // ENOENT when none has it.
  Status Find(const std::vector<MemberPtr>& ms, const char* name, size_t* index, struct stat* st);
  // The directory fd that a new name in parent goes into: a file node's
  // fd, or the union's first create member (EROFS if none).
  Status CreateDir(Node* parent, MemberPtr* keep, int* dirfd);
  // The directory fd that holds parent/name: a file node's fd, or the
  // first member of the union that has name.
  Status FoundDir(Node* parent, const char* name, MemberPtr* keep, int* dirfd);
  // Looks dirfd/name up as a node (nlookup + 1) and fills e; records name
  // under union `from` (>= 0) for invalidation.
  Status MakeEntry(int dirfd, const char* name, int from, fuse_entry_param* e);
  // Attributes of a node.
  Status Stat(Node* n, struct stat* st);
  void UnionStat(Union* u, const std::vector<MemberPtr>& ms, struct stat* st);
  void ReplyEntryOrErr(fuse_req_t req, int dirfd, const char* name, int from);
  // Fills h->ents from the node's directory (or members).
  Status List(DirHandle* h);
  // Tells the kernel to forget what it cached of union u's directory.
  void Invalidate(int id);
  bool Reaches(int from, int to);  // REQUIRES mu_ held

  fuse_session* se_ = nullptr;
  std::atomic<dev_t> own_dev_{0};
  bool root_caller_ = false;  // run creates as the caller (we are root)
  Node root_;
  std::mutex mu_;
  std::map<std::pair<dev_t, ino_t>, Node*> files_;  // guarded by mu_
  std::map<int, std::unique_ptr<Union>> unions_;    // guarded by mu_
  int next_id_ = 1;                                 // guarded by mu_
  struct stat root_stat_ {};
};

}  // namespace nsunion::internal

#endif  // NINEFOLD_NS_UNION_FS_H_
