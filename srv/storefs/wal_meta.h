// wal_meta.h: the embedded MetaStore: the whole metadata in memory, every
// Txn one record of a write-ahead log (storelib/wal.h) under METADIR/meta,
// a snapshot once the log passes a size, replay on open.
// Commit applies to memory and queues the record under one lock (so the log
// order is the apply order), then waits for the group commit outside it.
// Thread-safety: thread-safe.
#ifndef STOREFS_WAL_META_H_
#define STOREFS_WAL_META_H_

#include <atomic>
#include <map>
#include <memory>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "storefs/meta.h"
#include "storelib/wal.h"

namespace storefs {

class WalMetaStore : public MetaStore {
 public:
  struct Options {
    std::string owner = "none";             // the root's uid/gid on a new store
    uint64_t snapshot_bytes = 64ull << 20;  // snapshot once the log is this long
    bool sync = true;                       // fdatasync (off only in benchmarks)
  };
  // Opens (or creates) the store in dir, replaying its log.
  static ninep::Result<std::unique_ptr<WalMetaStore>> Open(const std::string& dir,
                                                           const Options& opts);
  ~WalMetaStore() override;

  ninep::Result<uint64_t> Apply(const Txn& t) override;
  ninep::Status Wait(uint64_t ticket) override;
  void WaitAsync(uint64_t ticket, std::function<void(ninep::Status)> done) override;
  void DrainAsync() override;
  std::optional<Inode> Get(InodeId ino) const override;
  std::optional<Inode> Lookup(InodeId dir, std::string_view name) const override;
  std::vector<Inode> List(InodeId dir) const override;
  bool Empty(InodeId dir) const override;
  std::vector<std::pair<uint64_t, ChunkRef>> Chunks(InodeId ino) const override;
  std::optional<ChunkRef> Chunk(InodeId ino, uint64_t index) const override;
  std::optional<ChunkPlace> FindChunk(uint64_t id) const override;
  void ForEachChunk(const std::function<void(const ChunkPlace&)>& fn) const override;
  std::vector<ServerInfo> Servers() const override;
  ninep::Result<InodeId> NewInode() override;
  std::optional<InodeId> TryNewInode() override;
  ninep::Result<uint64_t> NewChunkId() override;
  MetaStats Stats() const override;

  // Writes a snapshot now and drops the log it replaces.
  ninep::Status Snapshot();
  // What replay found (torn tail cut, records replayed).
  const store::WalRecovery& recovery() const { return wal_->recovery(); }

  struct State;  // the in-memory tables (wal_meta.cc)

 private:
  explicit WalMetaStore(const Options& opts);
  void MaybeSnapshot();

  Options opts_;
  std::unique_ptr<store::Wal> wal_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<State> st_;
  std::atomic<uint64_t> commits_{0};
  uint64_t last_ticket_ = 0;  // under mu_
  std::atomic<bool> snapshotting_{false};
  std::thread snapper_;
  std::mutex snap_mu_;  // one snapshot at a time
};

}  // namespace storefs

#endif  // STOREFS_WAL_META_H_
