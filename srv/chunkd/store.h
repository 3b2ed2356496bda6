// store.h: ChunkStore, the replicas under one directory: the index rebuilt
// at start, creation and version bumps, removal, scrubbing, the bad list
// and the counters that /ctl shows.
//
// DIR/chunks/ID holds each replica (format.h); DIR/token holds a random
// word chosen at each Load, which /ctl shows with DIR's absolute path, so a
// reader that finds the same word at that path knows it sees this store's
// files and may read replicas itself (ReadReplicaFile); DIR/damaged/ holds files
// moved aside at start because their header was torn or their table short.
// Replicas found corrupt (a block whose CRC does not match) stay where they
// are, so their good blocks can still be read, and are listed in BadText()
// until a scrub finds them whole again or they are removed; an empty file
// DIR/bad/ID keeps that listing across restarts.
// Every method may block on the disk: call them off the loop thread.
// Thread-safety: all methods are safe from any thread.
#ifndef CHUNKD_STORE_H_
#define CHUNKD_STORE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "ninep/status.h"
#include "replica.h"

namespace chunkd {

// The counters /ctl reports.
struct StoreCounters {
  std::atomic<uint64_t> bad{0};          // checksum mismatches and torn replicas found
  std::atomic<uint64_t> reads{0};        // read requests on replicas
  std::atomic<uint64_t> writes{0};       // write requests on replicas
  std::atomic<uint64_t> write_syncs{0};  // fdatasyncs they ran (concurrent ones share)
  std::atomic<uint64_t> scrubs{0};       // scrubs finished
  std::atomic<uint64_t> stale{0};        // requests refused for naming an old version
};

class ChunkStore {
 public:
  // A store in dir with replicas of at most max_chunk bytes (rounded up to
  // whole blocks). Call Load before anything else.
  ChunkStore(std::string dir, uint64_t max_chunk);

  // Creates DIR/chunks, DIR/damaged and DIR/bad when missing, deletes leftover
  // *.tmp files of interrupted creates, and opens every replica. A replica
  // that cannot be opened is moved to DIR/damaged, counted bad and listed
  // as ID.0; *warnings gets one line for each. Ids marked in DIR/bad are
  // listed bad again.
  ninep::Status Load(std::vector<std::string>* warnings);

  // The replica of id, or null.
  std::shared_ptr<Replica> Find(uint64_t id) const;
  // Every replica, by id.
  std::vector<ReplicaInfo> List() const;

  // Creates replica id at version, or bumps an existing lower version to it
  // (keeping the data). EEXIST for the same version, ESTALE for a higher one.
  ninep::Result<std::shared_ptr<Replica>> CreateOrBump(uint64_t id, uint64_t version);
  // Removes the replica id at version (ESTALE when not current).
  ninep::Status Remove(uint64_t id, uint64_t version);

  // Reads, writes and truncates through r at version want, counting and
  // recording a checksum mismatch as a bad replica.
  ninep::Result<size_t> Read(Replica& r, uint64_t want, uint64_t off, std::span<uint8_t> out);
  ninep::Result<size_t> Write(Replica& r, uint64_t want, uint64_t off,
                              std::span<const uint8_t> data);
  ninep::Status Truncate(Replica& r, uint64_t want, uint64_t len);

  // Verifies every replica now: corrupt ones join the bad list, whole ones
  // leave it. Returns how many are bad.
  size_t Scrub();
  // fsyncs the chunks directory (every replica is durable already).
  ninep::Status Sync();

  // /ctl's text: "key value" lines.
  std::string CtlText() const;
  // /bad's text: one ID.VERSION line per corrupt replica (ID.0: damaged).
  std::string BadText() const;
  // The counters.
  StoreCounters& counters() { return counters_; }

 private:
  void MarkBad(uint64_t id);
  // Creates or deletes DIR/bad/ID, which keeps the bad list across restarts.
  // REQUIRES: mu_ held.
  void SetMarkLocked(uint64_t id, bool bad);

  const std::string dir_, chunks_, damaged_, marks_;
  const uint32_t max_blocks_;
  std::string abs_dir_, token_;  // set by Load
  mutable std::mutex mu_;        // guards the maps; replicas lock themselves
  std::map<uint64_t, std::shared_ptr<Replica>> replicas_;
  std::set<uint64_t> bad_;                  // ids of corrupt replicas still held
  std::vector<std::string> damaged_names_;  // ID.0 lines of moved-aside files
  StoreCounters counters_;
};

}  // namespace chunkd

#endif  // CHUNKD_STORE_H_
