// wal.h: the write-ahead log under storefs's metadata: records with a
// length and a CRC32C, group commit, snapshots that truncate the log, and
// replay on open that cuts a torn or corrupt tail instead of applying it.
//
// On disk (DIR is the log's own directory):
//   DIR/log.G    records appended in generation G, each framed as
//                len[4] crc[4] payload[len]; crc = CRC32C(len[4] payload)
//   DIR/snap.G   "NFWSNAP1" then one framed record: gen[8] state...; the
//                state as of the start of log.G (everything in logs < G)
// Integers are little-endian. A snapshot is written to snap.G.tmp, fsynced
// and renamed; only then are older logs and snapshots deleted, so a crash at
// any point leaves a snapshot plus the logs that follow it.
//
// Replay: the newest snapshot whose checksum holds, then every log from its
// generation on, in order. The first record that is short or fails its
// checksum ends the replay: the log is truncated there (a torn tail from a
// crash mid-append), and any later logs are renamed *.discarded; either is
// reported in recovery(). A record is applied whole or not at all.
//
// Group commit: Write() queues a record and returns its sequence number;
// Sync(seq) returns once it is on disk. The first waiter becomes the leader,
// writes everything queued and fdatasyncs once for all of them while the
// others wait; a failed write or sync is sticky (the log cannot know what
// reached the disk), so every later Sync fails too.
// Thread-safety: all methods are thread-safe.
#ifndef STORE_WAL_H_
#define STORE_WAL_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "ninep/status.h"

namespace store {

// A record longer than this is treated as corruption on replay.
inline constexpr uint32_t kWalMaxRecord = 64u << 20;

// What Open found and did.
struct WalRecovery {
  uint64_t snapshot_gen = 0;    // generation of the snapshot loaded (0: none)
  uint64_t records = 0;         // log records replayed
  uint64_t cut_bytes = 0;       // bytes cut off at a torn or corrupt tail
  uint64_t discarded_logs = 0;  // later logs set aside after a corrupt record
  std::string cut_reason;       // "" when nothing was cut
};

// Live counters.
struct WalStats {
  uint64_t records = 0;     // records made durable since open
  uint64_t syncs = 0;       // fdatasyncs (records/syncs = the group commit's gain)
  uint64_t log_bytes = 0;   // size of the current log
  uint64_t snapshots = 0;   // snapshots written since open
  uint64_t generation = 0;  // current log generation
};

class Wal {
 public:
  struct Options {
    bool sync = true;  // fdatasync each commit (off only for benchmarks of replay)
  };
  // Loads a snapshot's state (called at most once, before any Apply).
  using LoadFn = std::function<ninep::Status(std::string_view state)>;
  // Applies one record; an error stops Open (the record is well-formed on
  // disk, so this is a bug or a version mismatch, not a torn write).
  using ApplyFn = std::function<ninep::Status(std::string_view record)>;

  // Opens (creating DIR if missing) and replays into load/apply.
  static ninep::Result<std::unique_ptr<Wal>> Open(const std::string& dir, const Options& opts,
                                                  const LoadFn& load, const ApplyFn& apply);
  ~Wal();
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // Queues one record (REQUIRES: 0 < size <= kWalMaxRecord); returns its
  // sequence number. Records replay in the order of Write calls, so callers
  // that keep state call Write under the lock that orders their changes.
  uint64_t Write(std::string_view rec);
  // Waits until every record up to seq is durable (group commit).
  ninep::Status Sync(uint64_t seq);
  // Write then Sync.
  ninep::Status Append(std::string_view rec) { return Sync(Write(rec)); }
  // Calls done(status of Sync(seq)) once every record up to seq is durable,
  // without a thread waiting for it: at once on the caller's thread when it
  // already is, else on the log's flusher thread, which flushes for every
  // such waiter together. done must not call back into this Wal's Sync.
  void SyncAsync(uint64_t seq, std::function<void(ninep::Status)> done);
  // Returns once every SyncAsync callback queued so far has run (the
  // records flushed first); call before what the callbacks touch goes away.
  void DrainAsync();

  // Starts a new log generation and returns it: every record written before
  // the call is in an older log, made durable now. Call it while the state
  // cannot change (under the caller's lock), take the state's image there,
  // then WriteSnapshot(gen, image) outside the lock.
  ninep::Result<uint64_t> Rotate();
  // Writes snap.gen durably and deletes the logs and snapshots it replaces.
  ninep::Status WriteSnapshot(uint64_t gen, std::string_view state);

  // What Open found.
  const WalRecovery& recovery() const { return recovery_; }
  // Counters now.
  WalStats stats() const;
  // The directory.
  const std::string& dir() const { return dir_; }

 private:
  Wal(std::string dir, const Options& opts) : dir_(std::move(dir)), opts_(opts) {}
  ninep::Status Replay(const LoadFn& load, const ApplyFn& apply);
  ninep::Status OpenLog(uint64_t gen, bool create);
  // Writes and syncs pending_ as the leader. REQUIRES: mu_ held via lk, !flushing_.
  void Flush(std::unique_lock<std::mutex>& lk);
  // The flusher thread: flushes for SyncAsync waiters and calls them back.
  void FlusherMain();

  const std::string dir_;
  const Options opts_;
  WalRecovery recovery_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;  // framed records not yet written
  uint64_t written_seq_ = 0, durable_seq_ = 0;
  bool flushing_ = false;
  ninep::Status error_;  // sticky
  int fd_ = -1;
  uint64_t gen_ = 0, off_ = 0;
  WalStats stats_;
  // SyncAsync waiters (seq, callback) and the thread that serves them.
  std::vector<std::pair<uint64_t, std::function<void(ninep::Status)>>> async_;
  size_t async_running_ = 0;  // callbacks taken off async_ and not yet finished
  bool stop_flusher_ = false;
  std::thread flusher_;
};

// Frames one record (len, crc, payload) onto *out.
void WalFrame(std::string_view rec, std::string* out);

}  // namespace store

#endif  // STORE_WAL_H_
