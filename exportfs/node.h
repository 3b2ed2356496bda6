// node.h: Node, one file as exportfs's fids see it, and NodeCache, the
// bounded set of O_PATH descriptors that nodes hold.
//
// A fid must not cost a descriptor: mount9p keeps a fid for every inode
// the kernel caches, and a tree may be far larger than the open-file
// limit. So a node keeps its O_PATH descriptor only while it is among the
// `cap` most recently used; an evicted node is reopened on demand by its
// name beneath its directory's node (itself reopened the same way up to
// the root), with openat2 and RESOLVE_BENEATH as every lookup, and must
// be the same inode (st_dev, st_ino) or the use fails ESTALE. A node that
// cannot be found again by name (the root, a directory reached by ".."
// whose name is not known yet) or that a fid has open is pinned: never
// evicted. Renames made through exportfs update the node's directory and
// name (Moved), so its descendants stay reachable; a rename made by a
// local process is followed while the node is cached and gives ESTALE
// after an eviction, as an NFS file handle would.
// Thread-safety: Node's fixed fields are immutable; its mutable state and
// every NodeCache method are guarded by the cache's mutex, and no system
// call runs under it.
#ifndef NINEFOLD_EXPORTFS_NODE_H_
#define NINEFOLD_EXPORTFS_NODE_H_

#include <sys/stat.h>

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "exportfs/fsutil.h"

namespace exportfs {

class NodeCache;
class Node;
using NodeRef = std::shared_ptr<const Node>;

// One file. A file's type never changes; where it was found may (Moved).
class Node {
 public:
  // Takes fd (an O_PATH | O_NOFOLLOW descriptor) into cache c. `up` is the
  // node of the directory it was found in as `name`; null and "" when
  // unknown (the node is then pinned until Moved names it). is_root nodes
  // are pinned for good.
  Node(NodeCache* c, FdRef fd, NodeRef up, std::string name, uint32_t mode, uint64_t dev,
       uint64_t ino, bool is_root);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const uint32_t mode;  // S_IFMT bits
  const uint64_t dev, ino;
  const bool is_root;  // the attach's root

  bool IsDir() const { return S_ISDIR(mode); }
  bool IsReg() const { return S_ISREG(mode); }
  bool IsLink() const { return S_ISLNK(mode); }

  // Its name in its directory now ("" when unknown; "/" for the root).
  std::string name() const;
  // The node of its directory (null at the root or when unknown).
  NodeRef up() const;
  // Records a rename (or the parent found for a ".." node).
  void Moved(NodeRef up, std::string name) const;
  // The cache holding its descriptor.
  NodeCache* cache() const { return cache_; }

 private:
  friend class NodeCache;
  NodeCache* const cache_;
  // Guarded by cache_->mu_.
  mutable FdRef fd_;
  mutable NodeRef up_;
  mutable std::string name_;
  mutable std::list<const Node*>::iterator pos_;
  mutable bool listed_ = false;
  mutable int pins_ = 0;
};

// The descriptors of nodes: at most cap() of the evictable ones open.
class NodeCache {
 public:
  explicit NodeCache(size_t cap) : cap_(cap < 1 ? 1 : cap) {}

  // n's O_PATH descriptor, reopened beneath its directory if it was
  // evicted (as the server itself: the fid already had this access).
  // ESTALE when the name now holds another file or none.
  ninep::Result<FdRef> Fd(const Node& n);
  // n's descriptor if it is open now, else null (no system call: for the
  // loop thread's fast paths).
  FdRef Cached(const Node& n);
  // Keeps n's descriptor open until Unpin (an open fid's node).
  ninep::Status Pin(const Node& n);
  void Unpin(const Node& n);

  // Records that the file (dev, ino) named `from` in directory `olddir`
  // is now `to` in `newdir`, in every node that knew it by that name.
  void Renamed(uint64_t dev, uint64_t ino, const Node& olddir, std::string_view from,
               const NodeRef& newdir, const std::string& to);

  size_t cap() const { return cap_; }
  // Descriptors held now (pinned ones included).
  size_t open() const;
  // Reopens done since the start.
  uint64_t reopens() const;

 private:
  friend class Node;
  // Fd, and with pin also Pin, atomically with the descriptor's install.
  ninep::Result<FdRef> Get(const Node& n, bool pin);
  // Under mu_: n was used; put it at the front if it is evictable.
  void TouchLocked(const Node& n);
  // Under mu_: evicts beyond cap into *drop (closed after unlocking).
  void TrimLocked(std::vector<FdRef>* drop);
  void Forget(const Node& n);

  mutable std::mutex mu_;
  const size_t cap_;
  std::list<const Node*> lru_;  // evictable nodes with a descriptor, most recent first
  std::unordered_multimap<uint64_t, const Node*> by_ino_;  // every node, by inode number
  size_t open_ = 0;                                        // nodes with fd_ set
  uint64_t reopens_ = 0;
};

// The cache size for a process whose soft open-file limit is `soft`: half
// of it, leaving the rest to open files, sockets and the I/O descriptors
// of open fids, and at most 65536.
size_t NodeCacheSize(uint64_t soft);

}  // namespace exportfs

#endif  // NINEFOLD_EXPORTFS_NODE_H_
