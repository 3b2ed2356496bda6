// meta.h: storefs's metadata: the namespace (inodes and directory entries),
// each file's chunk map (chunk id, version, replica locations) and the chunk
// servers, behind one interface, MetaStore, so that the embedded log
// (wal_meta.h, one storefs) and a later etcd store (several storefs on one
// store) are interchangeable.
//
// Changes are transaction-shaped: a Txn is a list of ops that Commit applies
// all together and durably, or not at all; readers see whole transactions.
// The ops carry whole values (an inode's attributes, a chunk's record), never
// deltas, so a Txn maps onto a key-value store's transaction one put or
// delete per op. The caller checks preconditions (a name is free, a
// directory is empty) under its own lock before committing; Commit only
// fails when the change cannot be made durable.
// Thread-safety: MetaStore methods are thread-safe; a Txn is a value.
#ifndef STOREFS_META_H_
#define STOREFS_META_H_

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "ninep/status.h"

namespace storefs {

using InodeId = uint64_t;
inline constexpr InodeId kRootIno = 1;

// A file's or directory's attributes and its place in the tree.
struct Inode {
  InodeId ino = 0;
  InodeId parent = 0;  // the root's parent is 0
  std::string name;    // "/" for the root
  uint32_t mode = 0;   // 9P2000 mode: DMDIR | permission bits
  std::string uid, gid, muid;
  uint32_t atime = 0, mtime = 0;
  uint64_t size = 0;   // bytes; 0 for directories
  uint32_t qvers = 0;  // qid.version: bumped on every content change
  // How the file's chunks are kept: 0 as the store's replicas, else
  // erasure coded with K data and M parity fragments (EcLayout). A
  // directory's is inherited by what is created in it.
  uint16_t layout = 0;
  // The shared store's revision of this record when it was read (etcd's
  // mod_revision), 0 where the store keeps none. Not part of the record: a
  // Txn built from this copy applies only if nobody changed the record since.
  uint64_t rev = 0;
  bool IsDir() const { return (mode & 0x80000000u) != 0; }
};

// The root directory of a new store, owned by owner, made now.
Inode NewRoot(const std::string& owner);

// A chunk server as the metadata knows it (its liveness is not metadata).
enum class ServerState : uint8_t {
  kActive = 0,          // gets new chunks
  kDraining = 1,        // keeps serving; its replicas move elsewhere
  kDecommissioned = 2,  // gone for good; holds nothing
};
struct ServerInfo {
  uint32_t id = 0;
  std::string addr;  // dial string
  ServerState state = ServerState::kActive;
};

// One chunk of a file: replicas named ID.VERSION live on the servers listed.
struct ChunkRef {
  uint64_t id = 0;
  uint64_t version = 0;
  // Server ids, no two alike. Erasure coded (k > 0): k + m entries, the
  // server of fragment j at j, 0 where fragment j is lost.
  std::vector<uint32_t> replicas;
  uint64_t rev = 0;      // as Inode::rev; 0 on a chunk not read from the store
  uint8_t k = 0, m = 0;  // erasure coded with k data and m parity fragments; 0: replicated
};

// Inode::layout for K data and M parity fragments (1 <= K, M; K + M <= 32).
inline uint16_t EcLayout(uint8_t k, uint8_t m) { return static_cast<uint16_t>(k << 8 | m); }
inline uint8_t LayoutK(uint16_t l) { return static_cast<uint8_t>(l >> 8); }
inline uint8_t LayoutM(uint16_t l) { return static_cast<uint8_t>(l & 0xff); }
// Parses "K+M" (or "off"/"replicas", 0) into a layout; EINVAL otherwise.
ninep::Result<uint16_t> ParseLayout(std::string_view v);

// A chunk with where it belongs (for repair, GC and ctl's counts).
struct ChunkPlace {
  InodeId ino = 0;
  uint64_t index = 0;  // chunk number within the file
  ChunkRef chunk;
};

// A list of ops applied together. Build with the methods; MetaStore reads
// `ops` (an encoded form that is also the log's record format).
class Txn {
 public:
  // A new inode in.ino named in.name under in.parent.
  void Create(const Inode& in);
  // Unlinks and forgets ino (a file's chunk map goes with it; its replicas
  // become orphans for the GC).
  void Remove(InodeId ino);
  // Moves ino to newparent/newname (REQUIRES: the target name is free).
  void Rename(InodeId ino, InodeId newparent, std::string_view newname);
  // Replaces the attributes of in.ino (mode, uid, gid, muid, times, size, qvers).
  void SetAttr(const Inode& in);
  // Sets chunk `index` of ino.
  void SetChunk(InodeId ino, uint64_t index, const ChunkRef& c);
  // Sets ino's layout (Inode::layout); Create records a nonzero one itself.
  void SetLayout(InodeId ino, uint16_t layout);
  // Drops every chunk of ino numbered >= first (truncation).
  void DropChunks(InodeId ino, uint64_t first);
  // Adds or replaces a chunk server.
  void SetServer(const ServerInfo& s);
  // Reserves ids below these bounds (so ids handed out are never reused
  // after a crash, even if what used them never reached the log).
  void Reserve(InodeId ino_limit, uint64_t chunk_limit);

  bool empty() const { return ops.empty(); }
  std::string ops;  // encoded ops (meta.cc)
  // For a shared store (etcd), what these ops replace as the caller read
  // it: the Txn applies only if those records are unchanged (see
  // kConflict). SetAttr records its inode when it carries a revision;
  // SetChunk records the chunk's revision, 0 meaning the chunk must be new.
  // Not part of `ops`: the embedded log, the only writer, ignores them.
  std::vector<Inode> seen;
  struct SeenChunk {
    InodeId ino;
    uint64_t index, rev;
  };
  std::vector<SeenChunk> seen_chunks;
};

// The errno of an Apply that lost a race with another storefs on a shared
// store: nothing was applied; read again, check again, and retry.
inline constexpr int kConflict = EAGAIN;
inline bool IsConflict(const ninep::Status& s) { return s.err() == kConflict; }

// Runs fn (returning Status or Result) again while it fails with
// kConflict, at most 64 more times, backing off after the first few; fn
// must read afresh each time.
template <class F>
auto RetryConflicts(F fn) {
  for (int i = 0;; i++) {
    auto r = fn();
    ninep::Status s;
    if constexpr (std::is_same_v<decltype(r), ninep::Status>)
      s = r;
    else
      s = r.status();
    if (!IsConflict(s) || i == 64) return r;
    if (i > 4) std::this_thread::sleep_for(std::chrono::microseconds(200 * (i - 4)));
  }
}

// Counts for ctl.
struct MetaStats {
  uint64_t inodes = 0, files = 0, dirs = 0, chunks = 0, bytes = 0;
  uint64_t commits = 0, log_syncs = 0, log_bytes = 0, snapshots = 0;
  std::string recovery;  // what opening found ("" when clean)
};

// The metadata store. Reads return copies, so they stay valid after
// concurrent commits.
class MetaStore {
 public:
  virtual ~MetaStore() = default;

  // Applies t atomically (readers see it at once) and returns a ticket for
  // Wait. REQUIRES: preconditions checked (see above). Two steps, so a caller
  // can check and apply under its own lock and wait for the disk outside it
  // (concurrent callers then share one log flush).
  virtual ninep::Result<uint64_t> Apply(const Txn& t) = 0;
  // Returns once the Txn of `ticket` (and every one applied before it) is durable.
  virtual ninep::Status Wait(uint64_t ticket) = 0;
  // Calls done(what Wait(ticket) would return) once the Txn of `ticket` is
  // durable, without parking the calling thread; done may run on another
  // thread, or at once on this one.
  virtual void WaitAsync(uint64_t ticket, std::function<void(ninep::Status)> done) = 0;
  // Returns once every WaitAsync callback queued so far has run.
  virtual void DrainAsync() = 0;
  // Apply then Wait.
  ninep::Status Commit(const Txn& t) {
    auto tk = Apply(t);
    return tk.ok() ? Wait(*tk) : tk.status();
  }

  virtual std::optional<Inode> Get(InodeId ino) const = 0;
  // Get for a record whose copy will guard a Txn (Txn::seen): a shared
  // store may answer from a replica that is behind, since a stale copy
  // only makes the Txn lose (kConflict) and the caller read again.
  virtual std::optional<Inode> GetToChange(InodeId ino) const { return Get(ino); }
  virtual std::optional<Inode> Lookup(InodeId dir, std::string_view name) const = 0;
  // The entries of dir, ordered by name.
  virtual std::vector<Inode> List(InodeId dir) const = 0;
  // True when dir has no entries.
  virtual bool Empty(InodeId dir) const = 0;
  // ino's chunk map (index -> chunk), in index order; absent indices are holes.
  virtual std::vector<std::pair<uint64_t, ChunkRef>> Chunks(InodeId ino) const = 0;
  virtual std::optional<ChunkRef> Chunk(InodeId ino, uint64_t index) const = 0;
  // Where chunk id lives, if any file holds it.
  virtual std::optional<ChunkPlace> FindChunk(uint64_t id) const = 0;
  // Calls fn for every chunk (a copy of the map taken first, so fn may commit).
  virtual void ForEachChunk(const std::function<void(const ChunkPlace&)>& fn) const = 0;
  virtual std::vector<ServerInfo> Servers() const = 0;

  // Fresh ids, never handed out before (reserving more in the log as needed).
  virtual ninep::Result<InodeId> NewInode() = 0;
  // A fresh inode id if one is reserved already (no disk wait), else nullopt:
  // then call NewInode, which may wait for the log.
  virtual std::optional<InodeId> TryNewInode() = 0;
  virtual ninep::Result<uint64_t> NewChunkId() = 0;

  virtual MetaStats Stats() const = 0;

  // True when calls may wait on the network (etcd): the file server then
  // answers even namespace reads from worker threads.
  virtual bool Remote() const { return false; }
  // The error of the calling thread's last read, OK when it succeeded: a
  // read that found nothing then truly found nothing (on a shared store a
  // read can fail, and the reads above answer "absent" then).
  virtual ninep::Status ReadStatus() const { return ninep::Status(); }
  // Makes this storefs the one writer of chunk id until ReleaseChunk (or
  // its death): on a shared store it holds a key under this storefs's
  // lease, and EBUSY names the storefs that holds it now. The embedded log
  // has one storefs, so there it always succeeds.
  virtual ninep::Status ClaimChunk(uint64_t id) {
    (void)id;
    return ninep::Status();
  }
  virtual void ReleaseChunk(uint64_t id) { (void)id; }
  // The dial strings of the chunk servers registered in a shared store
  // (chunkd --register, each under its own lease), or nullopt where the
  // store keeps none or the read failed.
  virtual std::optional<std::set<std::string>> Registered() const { return std::nullopt; }
  // True while this storefs is the one that runs repair and garbage
  // collection (on a shared store, elected through etcd; alone, always).
  virtual bool Leading() const { return true; }
  // True while some storefs holds a claim on chunk id (or when that cannot
  // be known): the GC leaves such a chunk alone.
  virtual bool Claimed(uint64_t id) const {
    (void)id;
    return false;
  }
};

// Applies the encoded ops of one Txn to a visitor; EINVAL for a malformed
// encoding (the log's checksum makes that a bug or a version mismatch).
struct TxnVisitor {
  virtual ~TxnVisitor() = default;
  virtual void OnCreate(const Inode& in) = 0;
  virtual void OnRemove(InodeId ino) = 0;
  virtual void OnRename(InodeId ino, InodeId newparent, std::string_view newname) = 0;
  virtual void OnSetAttr(const Inode& in) = 0;
  virtual void OnSetChunk(InodeId ino, uint64_t index, ChunkRef c) = 0;
  virtual void OnDropChunks(InodeId ino, uint64_t first) = 0;
  virtual void OnSetServer(const ServerInfo& s) = 0;
  virtual void OnReserve(InodeId ino_limit, uint64_t chunk_limit) = 0;
  // Only visitors that keep inodes need it: the others ignore layouts.
  virtual void OnSetLayout(InodeId ino, uint16_t layout) {
    (void)ino;
    (void)layout;
  }
};
ninep::Status DecodeTxn(std::string_view ops, TxnVisitor* v);

}  // namespace storefs

#endif  // STOREFS_META_H_
