// etcd_meta.h: the shared MetaStore: the metadata as keys in etcd, so that
// several storefs serve one store. Nothing is cached: every read is a
// linearizable etcd read, every Txn one etcd transaction guarded by the
// revisions the caller read (Txn::seen), so two storefs racing on one file
// or directory never lose an update: the loser gets kConflict and retries.
//
// Keys, under a prefix (default "ninefold/store/"):
//   i/INO            the inode (encoded as a Txn Create op: meta.cc)
//   d/PARENT/NAME    the same inode again, so a lookup or a listing is one read
//   c/INO/INDEX      a chunk (a SetChunk op)
//   k/ID             "INO INDEX": where chunk ID lives
//   s/ID             a chunk server (a SetServer op)
//   n/ino, n/chunk   the next unreserved ids (blocks are taken by CAS)
//   l/ID             the storefs writing chunk ID (under that storefs's lease)
//   chunkd/ADDR      a chunk server that registered (chunkd --register; its lease)
//   leader/...       etcd's election of the storefs that runs repair and GC
// Numbers in keys are 16 hex digits, so keys sort as numbers do.
// Thread-safety: thread-safe.
#ifndef STOREFS_ETCD_META_H_
#define STOREFS_ETCD_META_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "storefs/meta.h"
#include "storelib/etcd.h"

namespace storefs {

using store::EtcdClient;
using store::EtcdCompare;
using store::EtcdKv;
using store::EtcdOp;

class EtcdMetaStore : public MetaStore {
 public:
  struct Options {
    std::string prefix = "ninefold/store/";
    std::string owner = "none";               // the root's uid/gid on a new store
    std::string name;                         // this storefs, in l/ values (host:pid)
    int64_t lease_ttl = 10;                   // seconds: chunk claims die this long after us
    std::chrono::milliseconds timeout{5000};  // bound on one etcd request
  };
  // Connects to etcd ("etcd!HOST!PORT[,...]"), creates the root of a new
  // store (once: a CAS), and takes this storefs's lease.
  static ninep::Result<std::unique_ptr<EtcdMetaStore>> Open(std::string_view spec,
                                                            const Options& opts);
  ~EtcdMetaStore() override;

  ninep::Result<uint64_t> Apply(const Txn& t) override;
  ninep::Status Wait(uint64_t ticket) override;
  void WaitAsync(uint64_t ticket, std::function<void(ninep::Status)> done) override;
  void DrainAsync() override {}
  std::optional<Inode> Get(InodeId ino) const override;
  std::optional<Inode> GetToChange(InodeId ino) const override;
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
  bool Remote() const override { return true; }
  ninep::Status ReadStatus() const override;
  ninep::Status ClaimChunk(uint64_t id) override;
  void ReleaseChunk(uint64_t id) override;
  bool Claimed(uint64_t id) const override;
  bool Leading() const override { return leading_.load(); }
  std::optional<std::set<std::string>> Registered() const override;

  // The last error a read met (reads return "absent" on failure, as the
  // interface has no error path there): for ctl and for tests.
  std::string last_error() const;
  EtcdClient* client() { return etcd_.get(); }
  // This storefs's lease (chunk claims hang on it).
  int64_t lease() const { return session_->lease(); }
  const Options& options() const { return opts_; }

  class Builder;  // turns a Txn into an etcd transaction (etcd_meta.cc)

 private:
  EtcdMetaStore(std::unique_ptr<EtcdClient> etcd, const Options& opts);
  ninep::Status Init();
  // Takes a block of ids from counter key n/WHAT.
  ninep::Result<uint64_t> NextId(const std::string& what, uint64_t* next, uint64_t* limit);
  ninep::Result<std::vector<EtcdKv>> RangeAll(const std::string& key, const std::string& end) const;
  void Note(const ninep::Status& s) const;
  // Campaigns (etcd's election API, under our lease) to be the one storefs
  // that runs repair and GC, and leads until the lease is lost.
  void Elect();
  std::string Key(const char* kind, uint64_t a) const;

  std::unique_ptr<EtcdClient> etcd_;
  const Options opts_;
  std::atomic<uint64_t> commits_{0}, conflicts_{0};

  std::mutex id_mu_;  // the id blocks
  uint64_t ino_next_ = 0, ino_limit_ = 0, chunk_next_ = 0, chunk_limit_ = 0;

  // GetToChange's copies: inodes as this storefs's last Txn left them.
  mutable std::mutex guard_mu_;
  std::unordered_map<InodeId, Inode> guard_;

  mutable std::mutex err_mu_;
  mutable std::string last_error_;

  std::unique_ptr<store::EtcdSession> session_;
  std::thread elector_;
  std::atomic<bool> leading_{false};
};

}  // namespace storefs

#endif  // STOREFS_ETCD_META_H_
