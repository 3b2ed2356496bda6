// replica.cc: one chunk replica on disk; the format is in format.h.
#include "replica.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>

namespace chunkd {

using ninep::Errno;
using ninep::Result;
using ninep::Status;
using store::UniqueFd;

namespace {

constexpr uint64_t B = kBlockSize;
uint64_t BlocksFor(uint64_t len) { return (len + B - 1) / B; }
uint32_t Now() { return static_cast<uint32_t>(time(nullptr)); }
// kBlockSize zeros, to extend a CRC over the part of a block past the length.
const uint8_t* ZeroBlock() {
  static const std::vector<uint8_t> z(B, 0);
  return z.data();
}

Status Mismatch(uint64_t id, uint64_t b, int64_t* bad_block) {
  if (bad_block) *bad_block = static_cast<int64_t>(b);
  return Status(EIO, "chunk " + IdName(id) + " block " + std::to_string(b) + ": checksum mismatch");
}

}  // namespace

Status LoadBlock(int fd, const Header& h, uint64_t b, uint8_t* buf) {
  uint64_t start = b * B;
  if (start >= h.length) {
    memset(buf, 0, B);
    return Status::Ok();
  }
  auto n = store::PreadAll(fd, buf, B, static_cast<off_t>(DataOffset(h.max_blocks) + start));
  if (!n.ok()) return n.status();
  // Past the length (and past a short file) the replica reads as zeros.
  size_t valid = std::min<uint64_t>(*n, h.length - start);
  memset(buf + valid, 0, B - valid);
  return Status::Ok();
}

Result<size_t> ReadChecked(int fd, const Header& h, const std::function<BlockCrc(uint64_t)>& crc_of,
                           uint64_t off, std::span<uint8_t> out, int64_t* bad_block) {
  if (off >= h.length || out.empty()) return size_t{0};
  const size_t n = std::min<uint64_t>(out.size(), h.length - off);
  const uint64_t end = off + n, doff = DataOffset(h.max_blocks);
  // The bytes go straight into the reply; blocks the read covers whole (up
  // to the length) are checked there, and only the one or two blocks it
  // covers in part are read whole into a scratch block to be checked.
  auto got = store::PreadAll(fd, out.data(), n, static_cast<off_t>(doff + off));
  if (!got.ok()) return got.status();
  memset(out.data() + *got, 0, n - *got);  // a short file reads as zeros
  std::vector<uint8_t> scratch;
  for (uint64_t b = off / B; b * B < end; b++) {
    const uint64_t bs = b * B, be = std::min(bs + B, h.length);
    const BlockCrc want = crc_of(b);
    if (bs >= off && be <= end) {
      const uint8_t* p = out.data() + (bs - off);
      uint32_t c = store::Crc32c(p, be - bs);
      if (be - bs < B) c = store::Crc32c(ZeroBlock(), B - (be - bs), c);
      if (c != want.cur && c != want.prev) return Mismatch(h.id, b, bad_block);
      continue;
    }
    scratch.resize(B);
    if (Status s = LoadBlock(fd, h, b, scratch.data()); !s.ok()) return s;
    uint32_t c = store::Crc32c(scratch.data(), B);
    if (c != want.cur && c != want.prev) return Mismatch(h.id, b, bad_block);
    // Serve the checked copy, not the first read's bytes.
    const uint64_t from = std::max(bs, off), to = std::min(be, end);
    memcpy(out.data() + (from - off), scratch.data() + (from - bs), to - from);
  }
  return n;
}

Result<size_t> ReadReplicaFile(const std::string& path, uint64_t id, uint64_t want, uint64_t off,
                               std::span<uint8_t> out, int64_t* bad_block) {
  // chunkd makes only plain files: a symlink in a directory someone else
  // can write is not followed by the reader, who may run as root.
  auto fd = store::OpenFile(path, O_RDONLY | O_NOFOLLOW);
  if (!fd.ok()) return fd.status();
  std::vector<uint8_t> head(kCrcTableOffset);
  auto got = store::PreadAll(fd->get(), head.data(), head.size(), 0);
  if (!got.ok()) return got.status();
  auto h = PickHeader(std::span<const uint8_t>(head.data(), *got), id);
  if (!h.ok()) return h.status();
  if (h->version != want)
    return Errno(ESTALE, "chunk " + IdName(id) + " is at version " + std::to_string(h->version) +
                             ", not " + std::to_string(want));
  if (off >= h->length || out.empty()) return size_t{0};
  // Only the table entries of the blocks read, read after the header: a
  // write in flight shows as a mismatch, never as a block past the table.
  const uint64_t end = off + std::min<uint64_t>(out.size(), h->length - off);
  const uint64_t first = off / B, nb = (end - 1) / B - first + 1;
  std::vector<uint8_t> table(nb * 8);
  got = store::PreadAll(fd->get(), table.data(), table.size(),
                        static_cast<off_t>(kCrcTableOffset + first * 8));
  if (!got.ok()) return got.status();
  if (*got != table.size()) return Status(EBADMSG, path + ": short CRC table");
  auto crcs = DecodeCrcs(table);
  if (!crcs.ok()) return crcs.status();
  return ReadChecked(
      fd->get(), *h, [&](uint64_t b) { return (*crcs)[b - first]; }, off, out, bad_block);
}

Replica::Replica(std::string path, UniqueFd fd, Header h, int slot, std::vector<BlockCrc> crcs)
    : path_(std::move(path)), fd_(std::move(fd)), h_(h), slot_(slot), crcs_(std::move(crcs)) {
  struct stat st;
  mtime_ = fstat(fd_.get(), &st) == 0 ? static_cast<uint32_t>(st.st_mtime) : Now();
}

Result<std::unique_ptr<Replica>> Replica::Create(const std::string& dir, uint64_t id,
                                                 uint64_t version, uint32_t max_blocks) {
  std::string path = dir + "/" + IdName(id), tmp = path + ".tmp";
  auto fd = store::OpenFile(tmp, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (!fd.ok()) return fd.status();
  Header h{id, version, 0, 1, max_blocks};
  std::string head(kCrcTableOffset, '\0');
  std::string enc = EncodeHeader(h);
  memcpy(head.data() + kSlotOffset[0], enc.data(), enc.size());
  std::vector<BlockCrc> holes(max_blocks, BlockCrc{ZeroBlockCrc(), ZeroBlockCrc()});
  std::string table = EncodeCrcs(holes);
  table.resize(CrcTableBytes(max_blocks), '\0');
  Status s = store::PwriteAll(fd->get(), head.data(), head.size(), 0);
  if (s.ok()) s = store::PwriteAll(fd->get(), table.data(), table.size(), kCrcTableOffset);
  if (s.ok()) s = store::FsyncFd(fd->get());
  if (s.ok()) s = store::DurableRename(tmp, path);
  if (!s.ok()) {
    unlink(tmp.c_str());  // best effort: a leftover .tmp is deleted at the next start
    return Status(s.err(), "create " + IdName(id) + ": " + s.message());
  }
  return std::unique_ptr<Replica>(new Replica(path, std::move(*fd), h, 0, {}));
}

Result<std::unique_ptr<Replica>> Replica::Open(const std::string& path, uint64_t id) {
  auto fd = store::OpenFile(path, O_RDWR);
  if (!fd.ok()) return fd.status();
  std::vector<uint8_t> head(kCrcTableOffset);
  auto n = store::PreadAll(fd->get(), head.data(), head.size(), 0);
  if (!n.ok()) return n.status();
  int slot = 0;
  auto h = PickHeader(std::span<const uint8_t>(head.data(), *n), id, &slot);
  if (!h.ok()) return h.status();
  // Only the blocks below the length are ever looked up (the rest are
  // holes), so only they are held in memory.
  std::vector<uint8_t> table(BlocksFor(h->length) * 8);
  n = store::PreadAll(fd->get(), table.data(), table.size(), kCrcTableOffset);
  if (!n.ok()) return n.status();
  if (*n != table.size()) return Status(EBADMSG, "short CRC table");
  auto crcs = DecodeCrcs(table);
  if (!crcs.ok()) return crcs.status();
  return std::unique_ptr<Replica>(new Replica(path, std::move(*fd), *h, slot, std::move(*crcs)));
}

ReplicaInfo Replica::Info() const {
  std::shared_lock lk(mu_);
  return ReplicaInfo{h_.id, h_.version, h_.length, mtime_};
}

uint64_t Replica::Capacity() const {
  std::shared_lock lk(mu_);
  return uint64_t{h_.max_blocks} * B;
}

Status Replica::CheckLocked(uint64_t want) const {
  if (removed_) return Errno(ENOENT, "chunk " + IdName(h_.id) + " was removed");
  if (!broken_.ok()) return broken_;
  if (want != h_.version)
    return Errno(ESTALE, "chunk " + IdName(h_.id) + " is at version " + std::to_string(h_.version) +
                             ", not " + std::to_string(want));
  return Status::Ok();
}

Status Replica::LoadBlock(uint64_t b, uint8_t* buf) const {
  return chunkd::LoadBlock(fd_.get(), h_, b, buf);
}

bool Replica::Matches(uint64_t b, const uint8_t* buf) const {
  uint32_t c = store::Crc32c(buf, B);
  return c == crcs_[b].cur || c == crcs_[b].prev;
}

Status Replica::Mismatch(uint64_t b, int64_t* bad_block) const {
  return chunkd::Mismatch(h_.id, b, bad_block);
}

Result<size_t> Replica::Read(uint64_t want, uint64_t off, std::span<uint8_t> out,
                             int64_t* bad_block) {
  std::shared_lock lk(mu_);
  if (Status s = CheckLocked(want); !s.ok()) return s;
  return ReadChecked(
      fd_.get(), h_, [this](uint64_t b) { return crcs_[b]; }, off, out, bad_block);
}

Status Replica::PutHeader(Header* h) {
  h->seq = h_.seq + 1;
  std::string enc = EncodeHeader(*h);
  return store::PwriteAll(fd_.get(), enc.data(), enc.size(),
                          static_cast<off_t>(kSlotOffset[1 - slot_]));
}

void Replica::CommitHeader(const Header& h) {
  h_ = h;
  slot_ = 1 - slot_;
  header_dirty_ = false;  // h was made from h_, with its length
}

void Replica::SetSyncHook(std::function<Status()> hook) { sync_hook_ = std::move(hook); }

Status Replica::SyncThrough(uint64_t seq, bool* synced) {
  std::unique_lock sl(sync_mu_);
  sync_cv_.wait(sl, [&] { return synced_ >= seq || !syncing_; });
  if (synced_ >= seq) return Status::Ok();
  syncing_ = true;
  sl.unlock();
  // Only a running sync writes a header for the writes: the slot it
  // fills is never the one the last durable header is in.
  uint64_t upto = 0, hseq = 0;
  int slot = -1;
  Status s;
  {
    std::unique_lock lk(mu_);
    s = broken_;
    upto = written_;
    if (s.ok() && header_dirty_) {
      Header h = h_;
      s = PutHeader(&h);
      if (s.ok()) {
        slot = 1 - slot_;
        hseq = h_.seq = h.seq;
        header_dirty_ = false;
      }
    }
  }
  if (s.ok() && sync_hook_) s = sync_hook_();
  if (s.ok()) s = store::FdatasyncFd(fd_.get());
  if (synced) *synced = true;
  {
    std::unique_lock lk(mu_);
    if (!s.ok() && broken_.ok())
      broken_ = Status(EIO, "chunk " + IdName(h_.id) + ": " + s.message() +
                                "; the replica is unusable until chunkd restarts");
    if (s.ok() && slot >= 0 && h_.seq == hseq) slot_ = slot;  // else a later header moved it
    if (!broken_.ok()) s = broken_;
  }
  sl.lock();
  syncing_ = false;
  if (s.ok()) synced_ = std::max(synced_, upto);
  sync_cv_.notify_all();
  return s;
}

Status Replica::PutCrcs(uint64_t first, uint64_t n) {
  if (n == 0) return Status::Ok();
  std::string enc = EncodeCrcs(std::span<const BlockCrc>(crcs_.data() + first, n));
  return store::PwriteAll(fd_.get(), enc.data(), enc.size(),
                          static_cast<off_t>(kCrcTableOffset + first * 8));
}

void Replica::GiveBack(uint64_t size) {
  struct stat st;
  if (fstat(fd_.get(), &st) == 0 && static_cast<uint64_t>(st.st_size) > size)
    (void)!ftruncate(fd_.get(), static_cast<off_t>(size));  // best effort: frees the reservation
}

Result<size_t> Replica::Write(uint64_t want, uint64_t off, std::span<const uint8_t> data,
                              int64_t* bad_block, bool* synced) {
  std::unique_lock lk(mu_);
  if (Status s = CheckLocked(want); !s.ok()) return s;
  size_t n = data.size();
  if (n == 0) return size_t{0};  // as write(2) of 0 bytes: nothing changes
  uint64_t cap = uint64_t{h_.max_blocks} * B;
  if (off > cap || n > cap - off)
    return Errno(EFBIG,
                 "chunk " + IdName(h_.id) + ": write past " + std::to_string(cap) + " bytes");
  const uint64_t end = off + n, oldlen = h_.length, newlen = std::max(oldlen, end);
  const uint64_t first = off / B, last = (end - 1) / B, nb = last - first + 1;
  const uint64_t doff = DataOffset(h_.max_blocks);
  struct stat st;
  if (fstat(fd_.get(), &st) != 0) return Errno(errno, path_);
  const uint64_t fsize = static_cast<uint64_t>(st.st_size);

  // Reserve every block this write touches first: a full disk fails here,
  // before any byte of the replica changed.
  if (Status s = store::Preallocate(fd_.get(), static_cast<off_t>(doff + first * B),
                                    static_cast<off_t>(nb * B));
      !s.ok()) {
    GiveBack(fsize);
    return Status(s.err(), "chunk " + IdName(h_.id) + ": " + s.message());
  }

  // Whole blocks go to disk, so each block's CRC covers what is there.
  std::vector<uint8_t> buf(nb * B, 0);
  std::vector<uint32_t> prev(nb);
  for (uint64_t i = 0; i < nb; i++) {
    uint64_t b = first + i, bstart = b * B;
    bool whole = off <= bstart && end >= bstart + B;
    if (bstart >= oldlen) {
      prev[i] = ZeroBlockCrc();  // a hole: its old content is zeros
    } else if (whole) {
      prev[i] = crcs_[b].cur;
    } else {
      uint8_t* p = buf.data() + i * B;
      if (Status s = LoadBlock(b, p); !s.ok()) {
        GiveBack(fsize);
        return s;
      }
      uint32_t c = store::Crc32c(p, B);
      if (c != crcs_[b].cur && c != crcs_[b].prev) {
        GiveBack(fsize);
        return Mismatch(b, bad_block);
      }
      prev[i] = c;
    }
  }
  memcpy(buf.data() + (off - first * B), data.data(), n);

  std::vector<BlockCrc> saved(crcs_);
  if (crcs_.size() < last + 1) crcs_.resize(last + 1, BlockCrc{ZeroBlockCrc(), ZeroBlockCrc()});
  for (uint64_t i = 0; i < nb; i++)
    crcs_[first + i] = BlockCrc{store::Crc32c(buf.data() + i * B, B), prev[i]};
  // Blocks skipped between the old end and this write are holes now: zero
  // their data (punching frees the space) and their CRCs, whatever an
  // earlier truncation left there.
  uint64_t gap = BlocksFor(oldlen);
  if (gap < first) {
    if (fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  static_cast<off_t>(doff + gap * B), static_cast<off_t>((first - gap) * B)) != 0 &&
        errno != EOPNOTSUPP) {
      crcs_ = std::move(saved);
      GiveBack(fsize);
      return Errno(errno, "punch hole");
    }
    for (uint64_t b = gap; b < first; b++) crcs_[b] = BlockCrc{ZeroBlockCrc(), ZeroBlockCrc()};
  }
  // Table, data, then (by the sync) the header: a process killed between
  // two of these leaves, in the page cache, blocks that match their
  // entry's prev (old data) or cur (new data); blocks past the length the
  // header on disk says are not part of the replica. Only a kill inside the
  // data pwrite itself can leave a block part old, part new: reported,
  // never served.
  Status s = PutCrcs(std::min(gap, first), last + 1 - std::min(gap, first));
  if (s.ok())
    s = store::PwriteAll(fd_.get(), buf.data(), buf.size(), static_cast<off_t>(doff + first * B));
  if (!s.ok()) {
    crcs_ = std::move(saved);
    return Status(s.err(), "chunk " + IdName(h_.id) + ": " + s.message());
  }
  if (newlen != oldlen) {
    h_.length = newlen;
    header_dirty_ = true;
  }
  mtime_ = Now();
  uint64_t mine = ++written_;
  lk.unlock();
  if (Status st = SyncThrough(mine, synced); !st.ok()) return st;
  return n;
}

Status Replica::Truncate(uint64_t want, uint64_t len, int64_t* bad_block) {
  std::unique_lock lk(mu_);
  if (Status s = CheckLocked(want); !s.ok()) return s;
  uint64_t cap = uint64_t{h_.max_blocks} * B;
  if (len > cap)
    return Errno(EFBIG, "chunk " + IdName(h_.id) + ": length past " + std::to_string(cap));
  const uint64_t oldlen = h_.length, doff = DataOffset(h_.max_blocks);
  if (len == oldlen) return Status::Ok();
  std::vector<BlockCrc> saved(crcs_);
  Status s;
  if (len < oldlen && len % B != 0) {
    // The new last block keeps its head and reads zeros after len; its CRC
    // is of that, which is the same content whichever header survives a crash.
    uint64_t b = len / B;
    std::vector<uint8_t> blk(B);
    if (s = LoadBlock(b, blk.data()); !s.ok()) return s;
    uint32_t c = store::Crc32c(blk.data(), B);
    if (c != crcs_[b].cur && c != crcs_[b].prev) return Mismatch(b, bad_block);
    memset(blk.data() + len % B, 0, B - len % B);
    crcs_[b] = BlockCrc{store::Crc32c(blk.data(), B), c};
    // The entry first, as in Write: old data then still matches its prev.
    s = PutCrcs(b, 1);
    if (s.ok()) s = store::PwriteAll(fd_.get(), blk.data(), B, static_cast<off_t>(doff + b * B));
    if (s.ok()) s = store::FdatasyncFd(fd_.get());
    if (!s.ok()) {
      crcs_ = std::move(saved);
      return s;
    }
  }
  // Blocks past the new end (shrinking) or between the old and the new
  // end (growing) become holes, before a header names them part of the replica.
  uint64_t from = BlocksFor(std::min(len, oldlen)), to = BlocksFor(std::max(len, oldlen));
  if (from < to) {
    if (crcs_.size() < to) crcs_.resize(to);
    if (fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  static_cast<off_t>(doff + from * B), static_cast<off_t>((to - from) * B)) != 0 &&
        errno != EOPNOTSUPP)
      s = Errno(errno, "punch hole");
    for (uint64_t b = from; b < to; b++) crcs_[b] = BlockCrc{ZeroBlockCrc(), ZeroBlockCrc()};
    if (s.ok()) s = PutCrcs(from, to - from);
    if (s.ok()) s = store::FdatasyncFd(fd_.get());
  }
  Header h = h_;
  h.length = len;
  if (s.ok()) s = PutHeader(&h);
  if (s.ok()) s = store::FdatasyncFd(fd_.get());
  if (!s.ok()) {
    crcs_ = std::move(saved);
    return Status(s.err(), "chunk " + IdName(h_.id) + ": " + s.message());
  }
  CommitHeader(h);
  if (len < oldlen) {  // frees the space; nothing past here is read any more
    (void)!ftruncate(fd_.get(), static_cast<off_t>(doff + BlocksFor(len) * B));
    crcs_.resize(BlocksFor(len));
  }
  mtime_ = Now();
  return Status::Ok();
}

Status Replica::SetVersion(uint64_t v) {
  std::unique_lock lk(mu_);
  if (removed_) return Errno(ENOENT, "chunk " + IdName(h_.id) + " was removed");
  if (!broken_.ok()) return broken_;
  Header h = h_;
  h.version = v;
  Status s = PutHeader(&h);
  if (s.ok()) s = store::FdatasyncFd(fd_.get());
  if (!s.ok()) return Status(s.err(), "chunk " + IdName(h_.id) + ": " + s.message());
  CommitHeader(h);
  return Status::Ok();
}

Status Replica::Verify(int64_t* bad_block) {
  std::shared_lock lk(mu_);
  if (removed_) return Errno(ENOENT, "chunk " + IdName(h_.id) + " was removed");
  std::vector<uint8_t> blk(B);
  for (uint64_t b = 0; b < BlocksFor(h_.length); b++) {
    if (Status s = LoadBlock(b, blk.data()); !s.ok()) return s;
    if (!Matches(b, blk.data())) return Mismatch(b, bad_block);
  }
  return Status::Ok();
}

Status Replica::Remove() {
  std::unique_lock lk(mu_);
  if (removed_) return Errno(ENOENT, "chunk " + IdName(h_.id) + " was removed");
  if (Status s = store::DurableUnlink(path_); !s.ok()) return s;
  removed_ = true;
  return Status::Ok();
}

}  // namespace chunkd
