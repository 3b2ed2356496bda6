// replica.h: one chunk replica on disk (format.h): create, read with CRC
// checks, durable writes and truncations, version bumps, verification.
//
// Durability: every mutating call returns only after its data, CRCs and
// header are on stable storage (fdatasync), so an OK answer may be
// acknowledged. Writes commit as a group: each puts its bytes in the page
// cache under the lock, then waits outside it for one fdatasync that
// covers it and every write before it (the one that finds no sync running
// starts it), so concurrent writes to one replica share their syncs. A
// failed fdatasync breaks the replica: every later call fails EIO until
// chunkd opens it afresh (the page cache may no longer match the disk). A call that fails leaves
// the replica as it was: space is reserved with fallocate before anything is written, so ENOSPC
// comes before the first byte changes. Every call that takes `want` checks the replica's version
// first and fails ESTALE when it differs, so a fid opened on an older version never reads or writes
// a bumped replica. Thread-safety: all methods may be called from any thread; reads share a lock,
// mutations take it exclusively.
#ifndef CHUNKD_REPLICA_H_
#define CHUNKD_REPLICA_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "format.h"
#include "ninep/status.h"
#include "storelib/fileio.h"

namespace chunkd {

// What a replica reports about itself.
struct ReplicaInfo {
  uint64_t id = 0, version = 0, length = 0;
  uint32_t mtime = 0;
};

// Reads block b of the replica with header h in fd as the replica sees it
// (zeros past the length and past a short file) into buf (kBlockSize bytes).
ninep::Status LoadBlock(int fd, const Header& h, uint64_t b, uint8_t* buf);

// Reads up to out.size() bytes at off of the replica with header h in fd,
// checking every block they come from against crc_of(block) first; returns
// the count (0 at or past the length). The one read path of chunkd's own
// reads and of ReadReplicaFile, so both accept exactly the same bytes.
// A mismatch: EIO "chunk ID block N: checksum mismatch", *bad_block = N.
ninep::Result<size_t> ReadChecked(int fd, const Header& h,
                                  const std::function<BlockCrc(uint64_t)>& crc_of, uint64_t off,
                                  std::span<uint8_t> out, int64_t* bad_block);

// Reads a replica file at path (DIR/chunks/ID) without chunkd, as a reader on
// the same machine does (storefs's local reads, storefs(1)): header, the
// CRCs of the blocks read, and the data, each read from the file now and
// checked as Replica::Read checks them. ESTALE when its version is not
// want; EIO on a mismatch, which may also be a write in flight (the data
// and its CRC are two writes), so a caller asks chunkd before believing it.
ninep::Result<size_t> ReadReplicaFile(const std::string& path, uint64_t id, uint64_t want,
                                      uint64_t off, std::span<uint8_t> out, int64_t* bad_block);

class Replica {
 public:
  // Creates DIR/ID durably (written as ID.tmp, fsynced, renamed, dir
  // fsynced) holding version and no data, with room for max_blocks blocks.
  static ninep::Result<std::unique_ptr<Replica>> Create(const std::string& dir, uint64_t id,
                                                        uint64_t version, uint32_t max_blocks);
  // Opens the existing file at path, whose name says id. EBADMSG when its
  // header is torn or its CRC table is short.
  static ninep::Result<std::unique_ptr<Replica>> Open(const std::string& path, uint64_t id);

  // Id, version, length, mtime now.
  ReplicaInfo Info() const;
  // The largest length a write may reach.
  uint64_t Capacity() const;
  // The file on disk.
  const std::string& path() const { return path_; }

  // Reads up to out.size() bytes at off into out after checking the CRC of
  // every block they come from. Returns the count (0 at or past the end).
  // A mismatch: EIO "chunk ID block N: checksum mismatch", *bad_block = N.
  ninep::Result<size_t> Read(uint64_t want, uint64_t off, std::span<uint8_t> out,
                             int64_t* bad_block);
  // Writes data at off (holes between the old end and off read as zeros).
  // EFBIG past Capacity(); EIO when a block it partly overwrites is corrupt
  // (*bad_block says which); ENOSPC when the disk is full.
  // *synced (when given) says whether this call ran the fdatasync.
  ninep::Result<size_t> Write(uint64_t want, uint64_t off, std::span<const uint8_t> data,
                              int64_t* bad_block, bool* synced = nullptr);
  // For tests: runs before each group fdatasync of writes, outside the
  // lock; an error it returns stands for the fdatasync's.
  void SetSyncHook(std::function<ninep::Status()> hook);
  // Sets the length to len (shrinks or grows with zeros).
  ninep::Status Truncate(uint64_t want, uint64_t len, int64_t* bad_block);
  // Sets the version to v durably (a header rewrite).
  ninep::Status SetVersion(uint64_t v);
  // Checks every block's CRC; EIO naming the first bad block.
  ninep::Status Verify(int64_t* bad_block);
  // Unlinks the file durably; later calls fail ENOENT.
  ninep::Status Remove();

 private:
  Replica(std::string path, store::UniqueFd fd, Header h, int slot, std::vector<BlockCrc> crcs);
  ninep::Status CheckLocked(uint64_t want) const;
  // Reads block b as the replica sees it (zeros past length) into buf.
  ninep::Status LoadBlock(uint64_t b, uint8_t* buf) const;
  // Whether buf (block b's content) matches its CRCs.
  bool Matches(uint64_t b, const uint8_t* buf) const;
  ninep::Status Mismatch(uint64_t b, int64_t* bad_block) const;
  // Writes h (seq set here) into the slot not holding the current header;
  // Commit makes it current once it is durable.
  ninep::Status PutHeader(Header* h);
  void CommitHeader(const Header& h);
  // Returns once write number `seq` (counted in written_) is durable,
  // syncing itself unless a sync already running or finished covers it.
  ninep::Status SyncThrough(uint64_t seq, bool* synced);
  ninep::Status PutCrcs(uint64_t first, uint64_t n);
  // Shrinks the file back to size after a failed reservation.
  void GiveBack(uint64_t size);

  mutable std::shared_mutex mu_;
  std::string path_;
  store::UniqueFd fd_;
  Header h_;
  int slot_ = 0;                // the slot holding h_
  std::vector<BlockCrc> crcs_;  // at least one per block below the length
  uint32_t mtime_ = 0;
  bool removed_ = false;
  // Under mu_: writes put in the page cache so far; h_.length is past what
  // either header slot says; the failed fdatasync that broke the replica.
  uint64_t written_ = 0;
  bool header_dirty_ = false;
  ninep::Status broken_;
  // Under sync_mu_: writes known durable, and whether a sync is running.
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  uint64_t synced_ = 0;
  bool syncing_ = false;
  std::function<ninep::Status()> sync_hook_;  // set before any write
};

}  // namespace chunkd

#endif  // CHUNKD_REPLICA_H_
