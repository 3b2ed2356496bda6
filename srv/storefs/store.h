// store.h: the data path of storefs: files cut in chunks, each chunk
// replicated on chunk servers with a version, quorum writes, reads that fail
// over, and the maintenance that keeps the replicas right (re-replication,
// corrupt-replica repair, stale and orphan GC, version reconciliation,
// drain, rebalance, scrub).
//
// Versions (man4/storefs.4): the first write to a chunk in a storefs run,
// and any write after a replica failed, is a new grant: storefs creates
// ID.V+1 on every live replica (chunkd bumps the replica in place) and then
// logs V+1 with the replicas that took it. A replica that missed the bump
// (its chunkd was down) keeps V and is stale: chunkd answers ESTALE to ID.V+1,
// so it is never read or written, and the GC deletes it when it returns. A
// crash between the bump and the log leaves replicas ahead of the log; the GC
// adopts the higher version (the data are the same: no write ran in between).
//
// A write is acknowledged once write_quorum replicas acknowledged it durably
// and the metadata naming it (size, chunk versions) is in the log.
// Writes that only put bytes into chunks already granted in this run go on
// concurrently, each holding its byte range so that overlapping writes reach
// every replica in the same order; anything that changes which replicas or
// versions hold a file's chunks (a new chunk, a grant, a trim, a failed
// replica, repair, GC, moves) waits for them and runs alone on the file.
// Reads are not locked.
// Thread-safety: thread-safe; every method blocks (call from worker threads).
#ifndef STOREFS_STORE_H_
#define STOREFS_STORE_H_

#include <atomic>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "storefs/cluster.h"
#include "storefs/meta.h"
#include "storelib/ec.h"

namespace storefs {

struct StoreOptions {
  // New files' layout where their directory names none (Inode::layout):
  // 0 for `replicas` copies, else EcLayout(K, M).
  uint16_t layout = 0;
  uint32_t replicas = 3;
  uint32_t write_quorum = 2;
  uint64_t chunk_size = 8ull << 20;
  uint64_t repair_bandwidth = 64ull << 20;      // bytes/s for re-replication and rebalance
  std::chrono::milliseconds maintenance{2000};  // period of the repair pass
  // On a shared store (etcd): how long a write waits for another storefs's
  // claim on a chunk, and how long an unused claim of ours is kept.
  std::chrono::milliseconds claim_wait{25000};
  std::chrono::milliseconds claim_idle{1000};
};

// Counters for ctl.
struct StoreCounters {
  std::atomic<uint64_t> corrupt_reads{0};  // reads that met a bad block and failed over
  std::atomic<uint64_t> repairs{0};        // corrupt replicas rewritten from a good one
  std::atomic<uint64_t> rereplicated{0};   // replicas made for under-replicated chunks
  std::atomic<uint64_t> moved{0};          // replicas moved by drain or rebalance
  std::atomic<uint64_t> stale_removed{0};  // stale replicas deleted
  std::atomic<uint64_t> orphans_removed{0};
  std::atomic<uint64_t> adopted{0};       // chunks whose version the GC took from replicas
  std::atomic<uint64_t> grants{0};        // version bumps
  std::atomic<uint64_t> failovers{0};     // replica reads that failed and moved on
  std::atomic<uint64_t> write_errors{0};  // replica writes that failed
  std::atomic<uint64_t> stripe_hits{0};   // EC stripes written in part whose rest was kept here
};

// The error of a write that `got` of the `need` replicas (or fragments)
// it needed took: ENOSPC when every failure was a full disk, else EIO.
ninep::Status QuorumError(uint64_t id, size_t got, uint32_t need,
                          const std::vector<ninep::Status>& errs);

class Store {
 public:
  // meta and cluster must outlive the Store.
  Store(MetaStore* meta, Cluster* cluster, const StoreOptions& opts);
  ~Store();

  // Reads up to buf.size() bytes at off (clamped at the file's size); holes
  // read as zeros.
  ninep::Result<size_t> Read(InodeId ino, uint64_t off, std::span<uint8_t> buf);
  // Writes data at off (at the end of the file when `append`); returns once
  // it is acknowledged (see above). `muid` is recorded as the last modifier.
  ninep::Status Write(InodeId ino, uint64_t off, std::span<const uint8_t> data,
                      const std::string& muid, bool append = false);
  // Applies fn to ino's attributes under the file's attribute lock (so no
  // concurrent write's size or mtime is lost) and, when fn returns true,
  // logs the result; returns the ticket to Wait for, or 0 when fn changed nothing.
  ninep::Result<uint64_t> ChangeAttr(InodeId ino, const std::function<bool(Inode*)>& fn);
  // Sets the file's size (truncating or extending with a hole); durable on return.
  ninep::Status SetSize(InodeId ino, uint64_t size, const std::string& muid);
  // Lets go of the chunk claims (shared store) no write used for a while,
  // so another storefs may write those chunks; the maintenance loop calls it.
  void ReleaseIdle();
  // On a shared store: takes in the servers other storefs added (or
  // changed) and the chunk servers' registrations (new ones are added by
  // the leader; one whose lease expired is dead at once).
  void FollowShared();
  // Deletes the replicas of chunks no longer in the metadata (after a
  // remove), in the background; the GC catches what this misses.
  void Forget(std::vector<ChunkRef> chunks);

  // Starts the maintenance thread (repair pass every opts.maintenance, a GC
  // pass at start and whenever a server comes back).
  void Start();
  // Called by the cluster when a server dies or comes back.
  void ServerChanged(ChunkServer* s);

  // One pass of each job, now (ctl and tests); each returns a summary line.
  std::string RepairPass();
  std::string GcPass();
  std::string Scrub();
  std::string Rebalance();
  // Adds a chunk server, or changes one's state (drain, decommission).
  ninep::Status AddServer(const std::string& addr);
  ninep::Status SetServerState(const std::string& addr, ServerState st);

  // Health for ctl: chunk count, under-replicated, unavailable.
  struct Health {
    uint64_t chunks = 0, under = 0, unavailable = 0, over = 0;
    std::map<uint32_t, uint64_t> per_server;  // replicas per server id
    // Per layout (0: replicated, else EcLayout): chunks, and the live
    // replicas or fragments they have.
    struct Policy {
      uint64_t chunks = 0, fragments = 0;
    };
    std::map<uint16_t, Policy> policies;
  };
  Health Check() const;
  const StoreCounters& counters() const { return c_; }
  const StoreOptions& options() const { return opts_; }

 private:
  // The locks of one file (see the top of this file). `layout` is exclusive
  // for layout changes, shared for writes into granted chunks, which also
  // hold [begin, end) in `held`; `attr` orders read-modify-writes of the inode.
  struct FileLocks {
    std::shared_mutex layout;
    std::mutex attr;
    std::mutex held_mu;
    std::condition_variable held_cv;
    std::vector<std::pair<uint64_t, uint64_t>> held;
    std::set<uint64_t> creating;  // chunk indices a shared writer is making
  };
  class RangeLock;
  std::shared_ptr<FileLocks> FileLock(InodeId ino);
  // The write path that leaves the layout alone but for new chunks in holes:
  // every chunk written exists and is granted or is made by this write, and
  // nothing needs trimming. Returns the log ticket of the
  // new attributes, or nullopt when the write must take the exclusive path
  // (it did not apply, or a replica failed: that path writes again).
  std::optional<ninep::Result<uint64_t>> WriteGranted(FileLocks* fl, InodeId ino, uint64_t off,
                                                      std::span<const uint8_t> data,
                                                      const std::string& muid);
  // For a shared writer that found chunk idx of ino missing: waits while
  // another writer makes it; if it is still missing, makes it with `make`
  // (which puts the writer's bytes in it) and applies its record, and sets
  // *made. nullopt when making or applying failed (the exclusive path
  // tries again and reports).
  std::optional<ChunkRef> MakeShared(
      FileLocks* fl, InodeId ino, uint64_t idx,
      const std::function<ninep::Result<ChunkRef>(std::vector<uint64_t>*)>& make, bool* made);
  // Adds the attribute change of a write of n bytes at off to t and applies
  // t; REQUIRES the file's attr lock.
  ninep::Result<uint64_t> ApplyWriteAttr(InodeId ino, uint64_t off, size_t n,
                                         const std::string& muid, Txn* t);
  // The Once variants do one try; the public ones retry it on kConflict.
  ninep::Status WriteOnce(InodeId ino, uint64_t off, std::span<const uint8_t> data,
                          const std::string& muid, bool append);
  ninep::Result<uint64_t> ChangeAttrOnce(InodeId ino, const std::function<bool(Inode*)>& fn);
  ninep::Status SetSizeOnce(InodeId ino, uint64_t size, const std::string& muid);
  ninep::Status AddServerOnce(const std::string& addr);
  // True when this storefs granted c's version of the chunk in this run (and
  // marks its claim used).
  bool Granted(const ChunkRef& c);
  void MarkGranted(const ChunkRef& c);
  // Claims chunk id for this storefs (MetaStore::ClaimChunk), waiting up to
  // claim_wait while another storefs holds it.
  ninep::Status Claim(uint64_t id);
  // Indices of ino's chunks that reach past size and start before end, and
  // may hold bytes past size (not Clean): a write or truncate that grows the
  // file to end would show those bytes where a hole must read as zeros.
  std::vector<uint64_t> UncleanPastSize(InodeId ino, uint64_t size, uint64_t end);
  // Trims those chunks to size; REQUIRES the layout lock, exclusive.
  ninep::Status CleanPastSize(InodeId ino, uint64_t size, uint64_t end);
  // True when no replica of chunk id holds bytes past the file's size
  // (so a write past the end need not trim it first).
  bool Clean(uint64_t id);
  void SetClean(uint64_t id, bool clean);
  ninep::Status WriteChunk(InodeId ino, uint64_t idx, uint64_t coff, std::span<const uint8_t> data,
                           Txn* t, std::vector<uint64_t>* fresh);
  // A new chunk id, claimed, and kept away from the GC (in inflight_ and
  // *fresh) until the caller has applied it and erases it.
  ninep::Result<uint64_t> FreshChunkId(std::vector<uint64_t>* fresh);
  // Makes a chunk at version 1 holding data at coff on up to `replicas`
  // servers (write_quorum at least); its id goes in *fresh, and stays in
  // inflight_ (away from the GC) until the caller has applied it and erases it.
  ninep::Result<ChunkRef> NewChunk(uint64_t coff, std::span<const uint8_t> data,
                                   std::vector<uint64_t>* fresh);
  ninep::Status Grant(InodeId ino, uint64_t idx, ChunkRef* c);
  ninep::Status ReadChunk(InodeId ino, uint64_t idx, uint64_t coff, std::span<uint8_t> buf);
  // Cuts chunk idx of ino to len bytes, a decision taken when the file was
  // seen_size long (on a shared store, kConflict if it no longer is).
  ninep::Status TrimChunk(InodeId ino, uint64_t idx, uint64_t len, uint64_t seen_size);
  // Reads a whole replica from the first good source among c's replicas
  // (only server `from` when not 0: a fragment lives on one server).
  ninep::Result<std::string> Fetch(const ChunkRef& c, uint32_t not_from, uint32_t from = 0);
  // Makes target's replica of c hold exactly data (starting over from a
  // leftover at that version); removes it again if that fails.
  ninep::Status PutWhole(const ChunkRef& c, ChunkServer* target, std::span<const uint8_t> data);
  // Copies chunk id (of place) to target; REQUIRES the file lock.
  ninep::Status CopyTo(const ChunkRef& c, ChunkServer* target, uint32_t from = 0);

  // ---- Erasure coding (store_ec.cc): a chunk of an EcLayout(K, M) file is
  // cut in stripes of K 64 KiB cells; fragment j holds cell j of every
  // stripe, fragments K.. hold their Reed-Solomon parity (storelib/ec.h).
  // The code for (k, m), made once.
  ninep::Result<const store::ErasureCode*> Code(uint8_t k, uint8_t m);
  // Reads buf.size() bytes at coff of EC chunk c from its data fragments,
  // rebuilding what lost or bad ones hold from any K others.
  ninep::Status EcRead(const ChunkRef& c, uint64_t coff, std::span<uint8_t> buf);
  // Writes data at coff of chunk idx of an EC file (making the chunk on
  // K+M servers if new), rewriting the parity of every stripe it touches
  // (reading the rest of a stripe it covers in part); adds the chunk's
  // record to t when it changed. REQUIRES the layout lock, exclusive.
  ninep::Status EcWriteChunk(InodeId ino, uint16_t layout, uint64_t idx, uint64_t coff,
                             std::span<const uint8_t> data, Txn* t, std::vector<uint64_t>* fresh);
  // Makes a new chunk of k+m empty fragments on k+m servers, granted at
  // version 1; its id is added to *fresh (in flight until logged).
  ninep::Result<ChunkRef> EcNewChunk(uint8_t k, uint8_t m, std::vector<uint64_t>* fresh);
  // Writes data at coff of EC chunk c: encodes the stripes it touches
  // (reading the rest of a partial one first when `fill`, else taking it
  // as zeros: a new chunk) and writes every fragment's part; (*res)[j] is
  // fragment j's outcome. Fails only when the stripes cannot be read.
  ninep::Status EcPut(const ChunkRef& c, uint64_t coff, std::span<const uint8_t> data, bool fill,
                      std::vector<ninep::Status>* res);
  // Calls use with stripe s of EC chunk c as this storefs last wrote it
  // (its bytes up to the chunk's end); false when it keeps no copy of that
  // version.
  bool PlaceCachedStripe(const ChunkRef& c, uint64_t s,
                         const std::function<void(const std::string&)>& use);
  // Keeps the stripes in `part` from frag (fragment cells from stripe s0
  // on) and forgets the other stripes of [s0, s1] of c: called once a write
  // of them reached every fragment, under their range lock.
  void KeepStripes(const ChunkRef& c, uint64_t s0, uint64_t s1, const std::vector<uint64_t>& part,
                   const std::vector<uint8_t*>& frag);
  // Forgets every stripe kept of chunk id (its fragments changed otherwise).
  void DropStripes(uint64_t id);
  // WriteGranted for an EC file: writes into granted chunks and makes
  // chunks in holes, holding the whole stripes it touches; nullopt when
  // the exclusive path must run (an ungranted chunk, a failed fragment).
  std::optional<ninep::Result<uint64_t>> EcWriteGranted(FileLocks* fl, const Inode& in,
                                                        uint64_t off, std::span<const uint8_t> data,
                                                        const std::string& muid);
  // Zeroes EC chunk c (chunk idx of ino) from len on and cuts its
  // fragments there. REQUIRES the layout lock, exclusive.
  ninep::Status EcTrim(InodeId ino, uint64_t idx, uint64_t len, ChunkRef c);
  // Rebuilds fragment j of c from K others and writes it to target.
  ninep::Status EcRebuild(const ChunkRef& c, size_t j, ChunkServer* target);
  // Rebuilds every fragment of place's chunk that is lost or on a server
  // not alive and active onto another server, and logs the new places.
  // REQUIRES the layout lock, exclusive.
  void EcRepair(const ChunkPlace& place, uint64_t* made, uint64_t* failed);
  void RepairCorrupt(uint64_t id, uint32_t server);
  void Throttle(uint64_t bytes);
  void Loop();
  bool Live(uint32_t server) const;
  bool InFlight(uint64_t id);

  MetaStore* meta_;
  Cluster* cluster_;
  const StoreOptions opts_;
  StoreCounters c_;

  std::mutex codes_mu_;
  std::map<uint16_t, std::unique_ptr<store::ErasureCode>> codes_;  // by EcLayout
  std::mutex mu_;                                                  // guards the maps below
  std::unordered_map<InodeId, std::weak_ptr<FileLocks>> locks_;
  std::unordered_map<uint64_t, uint64_t> granted_;  // chunk id -> version granted in this run
  // Chunk claims held on a shared store, with their last use.
  std::unordered_map<uint64_t, std::chrono::steady_clock::time_point> claimed_;
  std::unordered_set<uint64_t> clean_;               // see Clean()
  std::unordered_set<uint64_t> inflight_;            // chunk ids being created or copied
  std::set<std::pair<uint64_t, uint32_t>> corrupt_;  // (chunk id, server) to repair
  std::set<uint32_t> decommission_;                  // servers to retire once drained

  // Stripes of EC chunks written in part, as written, newest first (at most
  // kStripesKept): the write that fills the rest of one (a sequential
  // writer's next: 9P writes seldom line up with stripes) takes the bytes it
  // keeps from here instead of reading them back from K servers. A copy
  // names the chunk version: one granted elsewhere or again is a miss.
  struct StripeCopy {
    uint64_t id, version, stripe;
    std::string data;
  };
  static constexpr size_t kStripesKept = 64;
  std::mutex stripes_mu_;
  std::list<StripeCopy> stripes_;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stop_ = false, gc_wanted_ = true, kick_ = false;
  uint64_t rounds_ = 0;
  std::thread loop_;
  std::thread shared_;  // ReleaseIdle and FollowShared, on a shared store
};

}  // namespace storefs

#endif  // STOREFS_STORE_H_
