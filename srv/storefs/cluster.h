// cluster.h: the chunk servers storefs stores replicas on, as 9P2000.L
// clients of bin/chunkd (man4/chunkd.4): one connection each, replica
// operations by name (chunks/ID.VERSION), a heartbeat that reads each
// server's ctl, and placement of new replicas.
//
// A server that answers no heartbeat for dead_after is dead: operations on
// it fail at once (EHOSTDOWN) instead of waiting out a timeout, and the
// on_change callback lets storefs re-replicate.
// Local reads: when a chunkd's ctl names a directory whose token file holds
// the word its ctl shows (the same files, seen from this machine), Read
// reads replicas from that directory itself, with the same CRC and version
// checks chunkd makes (chunkd/replica.h ReadReplicaFile), and asks chunkd
// over 9P only when that fails; a mismatch is chunkd's to confirm and
// report. Every call is bounded by
// call_timeout, so a stopped server (SIGSTOP) costs a write at most that
// long before it counts as a failed replica.
// Thread-safety: thread-safe; operations block the calling thread.
#ifndef STOREFS_CLUSTER_H_
#define STOREFS_CLUSTER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "ninep/client.h"
#include "storefs/meta.h"

namespace storefs {

// Timeouts and transfer size for chunkd connections.
struct ClusterOptions {
  std::chrono::milliseconds call_timeout{5000};  // one 9P call to a chunkd
  std::chrono::milliseconds heartbeat{1000};     // ctl read period
  std::chrono::milliseconds dead_after{10000};   // silence before "dead"
  uint32_t msize = ninep::DEFMSIZE;
  bool local_reads = true;  // read replicas of chunkds on this machine directly
};

// A replica as a chunkd lists it.
struct ReplicaName {
  uint64_t id = 0, version = 0, size = 0;
};

// One chunkd.
class ChunkServer {
 public:
  ChunkServer(uint32_t id, std::string addr, const ClusterOptions& opts);
  ~ChunkServer();

  // Makes replica ID.ver (new, or an older replica bumped to ver).
  ninep::Status Create(uint64_t id, uint64_t ver);
  // Writes data at off in replica ID.ver; durable when OK.
  ninep::Status Write(uint64_t id, uint64_t ver, uint64_t off, std::span<const uint8_t> data);
  // Reads up to buf.size() bytes at off; fewer only at the replica's end.
  // From the replica's file when it is local (see above), else over 9P.
  ninep::Result<size_t> Read(uint64_t id, uint64_t ver, uint64_t off, std::span<uint8_t> buf);
  // Sets the replica's length.
  ninep::Status Truncate(uint64_t id, uint64_t ver, uint64_t len);
  // Deletes the replica.
  ninep::Status Remove(uint64_t id, uint64_t ver);
  // Every replica the server holds.
  ninep::Result<std::vector<ReplicaName>> List();
  // Reads a whole small file of its tree ("ctl", "bad").
  ninep::Result<std::string> ReadFile(const std::string& name);
  // Writes a ctl message ("scrub").
  ninep::Status WriteCtl(const std::string& msg);

  uint32_t id() const { return id_; }
  const std::string& addr() const { return addr_; }
  // Answering heartbeats, and not known gone from the registry.
  bool alive() const { return alive_ && registered_ != 0; }
  // Notes whether the server is registered in the store's registry (etcd):
  // one that was and is no more is dead whatever its heartbeat says (its
  // lease expired). Returns true when that changed alive().
  bool SetRegistered(bool registered);
  uint64_t free_bytes() const { return free_; }
  uint64_t chunks() const { return chunks_; }
  uint64_t bytes() const { return bytes_; }
  int inflight() const { return inflight_; }
  ServerState state() const { return state_; }
  void set_state(ServerState s) { state_ = s; }
  // Marks the disk full until the next heartbeat says otherwise.
  void NoteFull() { free_ = 0; }
  uint64_t errors() const { return errors_; }
  // Whether reads go to the replica files directly now.
  bool local() const;
  // Reads served from the files, and local reads that fell back to 9P.
  uint64_t local_reads() const { return local_reads_; }
  uint64_t local_fallbacks() const { return local_fallbacks_; }

  // One heartbeat: reads ctl; returns true when the alive state changed or
  // the server was dialled again (it may have restarted).
  bool Beat();

 private:
  // A replica fid kept open (ORDWR) on a connection.
  struct KeptFid {
    uint64_t id, ver;
    std::shared_ptr<ninep::Fid> fid;
  };
  struct Conn {
    std::unique_ptr<ninep::Client> client;
    ninep::Fid root;  // destroyed before client
    // Replica fids, newest first, at most kKeptFids: a chunk's writes and
    // reads reuse one instead of a walk, an open and a clunk each (three
    // more round trips per replica write). Gone with the connection.
    std::mutex kept_mu;
    std::list<KeptFid> kept;
    ~Conn() {
      kept.clear();
      (void)root.Clunk();
    }
  };
  static constexpr size_t kKeptFids = 64;
  ninep::Result<std::shared_ptr<Conn>> Get(bool for_heartbeat = false);
  // An open replica fid with the connection it lives on (the fid goes
  // first), and whether it was kept from an earlier call.
  struct OpenFid {
    std::shared_ptr<Conn> conn;
    std::shared_ptr<ninep::Fid> fid;
    bool kept = false;
  };
  // Replica ID.ver open for reading and writing: a kept fid, or one walked
  // and opened now (and kept).
  ninep::Result<OpenFid> Open(uint64_t id, uint64_t ver);
  // Stops keeping fids of replica id (every version), or only the one f.
  void Forget(uint64_t id, const ninep::Fid* f = nullptr);
  // Runs op on replica ID.ver's fid; when a kept fid fails (the replica
  // may have been removed and made again since), forgets it and runs op
  // once more on a fresh one. `what` names the operation in errors.
  template <class T>
  ninep::Result<T> OnReplica(uint64_t id, uint64_t ver, const char* what,
                             const std::function<ninep::Result<T>(ninep::Fid&)>& op);
  ninep::Status Fail(const ninep::Status& s, const char* what);
  // Takes the dir and token lines of a ctl read: checks the token file when
  // the token is new, and turns local reads on or off. REQUIRES: beat_mu_.
  void NoteLocal(const std::string& dir, const std::string& token);

  const uint32_t id_;
  const std::string addr_;
  const ClusterOptions opts_;
  std::mutex mu_;
  std::shared_ptr<Conn> conn_;
  std::atomic<bool> alive_{true};
  std::atomic<int> registered_{-1};  // -1 never seen in the registry, else 0 or 1
  std::atomic<ServerState> state_{ServerState::kActive};
  std::atomic<uint64_t> free_{0}, chunks_{0}, bytes_{0}, errors_{0};
  std::atomic<int> inflight_{0};
  std::atomic<uint64_t> local_reads_{0}, local_fallbacks_{0};
  mutable std::mutex local_mu_;
  std::string local_chunks_;              // under local_mu_: DIR/chunks, or "" when not local
  std::string seen_token_;                // under beat_mu_: the token last checked
  bool had_conn_ = false;                 // under mu_
  std::atomic<bool> reconnected_{false};  // dialled again since the last Beat
  std::mutex beat_mu_;                    // one Beat at a time
  std::chrono::steady_clock::time_point last_ok_;  // under beat_mu_
};

// All chunk servers, with heartbeats and placement.
class Cluster {
 public:
  explicit Cluster(const ClusterOptions& opts) : opts_(opts) {}
  ~Cluster();

  // Adds a server (from the metadata or `add`).
  std::shared_ptr<ChunkServer> Add(const ServerInfo& s);
  std::shared_ptr<ChunkServer> Get(uint32_t id) const;
  std::shared_ptr<ChunkServer> Find(const std::string& addr) const;
  std::vector<std::shared_ptr<ChunkServer>> All() const;

  // Starts heartbeats; on_change(server) runs on a heartbeat thread when a
  // server is declared dead or comes back.
  void Start(std::function<void(ChunkServer*)> on_change);
  // Runs one heartbeat round on every server now (tests, ctl).
  void BeatAll();

  // Follows the registry (chunkd --register): marks each server
  // registered or not (ChunkServer::SetRegistered) and reports the changes
  // to on_change, as a heartbeat would.
  void FollowRegistry(const std::set<std::string>& registered);

  // Up to n alive, active servers not in `exclude`, spread by free space
  // and load (weighted at random, so a burst does not land on one server).
  std::vector<std::shared_ptr<ChunkServer>> Place(size_t n, const std::vector<uint32_t>& exclude);

  const ClusterOptions& options() const { return opts_; }

 private:
  void Loop(const std::shared_ptr<ChunkServer>& s);
  const ClusterOptions opts_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<uint32_t, std::shared_ptr<ChunkServer>> servers_;
  std::function<void(ChunkServer*)> on_change_;
  std::vector<std::thread> threads_;
  bool started_ = false;
};

// Runs fn(0..n-1) at once, fn(0) on the calling thread, the rest on kept
// helper threads; returns when all are done.
void ForAll(size_t n, const std::function<void(size_t)>& fn);

// "%016x" of a chunk id and the replica file name ID.VERSION.
std::string ReplicaFile(uint64_t id, uint64_t ver);

}  // namespace storefs

#endif  // STOREFS_CLUSTER_H_
