#include "storelib/wal.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <vector>

#include "storelib/crc.h"
#include "storelib/fileio.h"

namespace store {

using ninep::Errno;
using ninep::Result;
using ninep::Status;

namespace {

constexpr char kSnapMagic[] = "NFWSNAP1";
constexpr size_t kMagicLen = 8;

void Put32(uint32_t v, char* p) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<char>(v >> (8 * i));
}
uint32_t Get32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= static_cast<uint32_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
void Put64(uint64_t v, std::string* out) {
  for (int i = 0; i < 8; i++) out->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t Get64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}

uint32_t FrameCrc(const char* len4, std::string_view payload) {
  return Crc32c(payload.data(), payload.size(), Crc32c(len4, 4));
}

// Parses one framed record at data[off..]; returns its payload, or nullopt
// with *why set when the frame is short or its checksum fails.
bool NextRecord(std::string_view data, size_t off, std::string_view* rec, std::string* why) {
  if (data.size() - off < 8) {
    *why = "short record header";
    return false;
  }
  const char* h = data.data() + off;
  uint32_t len = Get32(h), crc = Get32(h + 4);
  if (len == 0 || len > kWalMaxRecord) {
    *why = "bad record length " + std::to_string(len);
    return false;
  }
  if (data.size() - off - 8 < len) {
    *why = "short record";
    return false;
  }
  std::string_view p(h + 8, len);
  if (FrameCrc(h, p) != crc) {
    *why = "record checksum mismatch";
    return false;
  }
  *rec = p;
  return true;
}

std::string GenName(const char* kind, uint64_t gen) {
  char b[64];
  snprintf(b, sizeof b, "%s.%016" PRIx64, kind, gen);
  return b;
}

// Generations of DIR's files named KIND.<16 hex>, ascending.
std::vector<uint64_t> ListGens(const std::string& dir, const std::string& kind) {
  std::vector<uint64_t> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n.size() != kind.size() + 17 || n.substr(0, kind.size() + 1) != kind + ".") continue;
    std::string hex(n.substr(kind.size() + 1));
    if (hex.find_first_not_of("0123456789abcdef") != std::string::npos) continue;
    out.push_back(strtoull(hex.c_str(), nullptr, 16));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

void WalFrame(std::string_view rec, std::string* out) {
  char h[8];
  Put32(static_cast<uint32_t>(rec.size()), h);
  Put32(FrameCrc(h, rec), h + 4);
  out->append(h, 8);
  out->append(rec);
}

Result<std::unique_ptr<Wal>> Wal::Open(const std::string& dir, const Options& opts,
                                       const LoadFn& load, const ApplyFn& apply) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return Errno(errno, "mkdir " + dir);
  std::unique_ptr<Wal> w(new Wal(dir, opts));
  Status s = w->Replay(load, apply);
  if (!s.ok()) return s;
  return w;
}

Wal::~Wal() {
  DrainAsync();
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_flusher_ = true;
  }
  cv_.notify_all();
  if (flusher_.joinable()) flusher_.join();
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [this] { return !flushing_; });
  if (!pending_.empty() && error_.ok()) Flush(lk);
  if (fd_ >= 0) close(fd_);
}

Status Wal::Replay(const LoadFn& load, const ApplyFn& apply) {
  // Leftovers of a snapshot write that crashed before its rename.
  if (DIR* d = opendir(dir_.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string_view n = e->d_name;
      if (n.size() > 4 && n.substr(n.size() - 4) == ".tmp") unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
  }
  std::vector<uint64_t> snaps = ListGens(dir_, "snap"), logs = ListGens(dir_, "log");
  uint64_t base = 0;
  std::string snap_error;
  for (auto it = snaps.rbegin(); it != snaps.rend(); ++it) {
    std::string path = dir_ + "/" + GenName("snap", *it);
    auto data = ReadWholeFile(path);
    if (!data.ok()) return data.status();
    std::string_view rec;
    std::string why;
    if (data->size() < kMagicLen || data->compare(0, kMagicLen, kSnapMagic) != 0)
      why = "bad magic";
    else if (NextRecord(*data, kMagicLen, &rec, &why) &&
             (rec.size() < 8 || Get64(rec.data()) != *it))
      why = "generation mismatch";
    if (!why.empty()) {
      snap_error = path + ": " + why;
      continue;
    }
    Status s = load(rec.substr(8));
    if (!s.ok()) return Status(s.err(), path + ": " + s.message());
    base = *it;
    break;
  }
  if (!snap_error.empty()) {
    // Fall back to an older snapshot only when the log that follows it is still here.
    uint64_t start = base == 0 ? 1 : base;
    if (std::find(logs.begin(), logs.end(), start) == logs.end())
      return Status(EIO, "wal: " + snap_error + ", and no older snapshot with its logs");
    fprintf(stderr, "wal: %s; fell back to snapshot %" PRIu64 "\n", snap_error.c_str(), base);
  }
  recovery_.snapshot_gen = base;
  uint64_t last = base == 0 ? 1 : base;
  bool cut = false;
  for (uint64_t g : logs) {
    if (g < base) continue;  // replaced by the snapshot; deleted after it was written
    std::string path = dir_ + "/" + GenName("log", g);
    if (cut) {
      rename(path.c_str(), (path + ".discarded").c_str());
      recovery_.discarded_logs++;
      continue;
    }
    auto data = ReadWholeFile(path);
    if (!data.ok()) return data.status();
    size_t off = 0;
    std::string why;
    std::string_view rec;
    while (off < data->size()) {
      if (!NextRecord(*data, off, &rec, &why)) break;
      Status s = apply(rec);
      if (!s.ok())
        return Status(s.err(), path + ": record at " + std::to_string(off) + ": " + s.message());
      recovery_.records++;
      off += 8 + rec.size();
    }
    last = g;
    if (off < data->size()) {
      recovery_.cut_bytes += data->size() - off;
      recovery_.cut_reason = path + " at " + std::to_string(off) + ": " + why;
      if (truncate(path.c_str(), static_cast<off_t>(off)) != 0)
        return Errno(errno, "truncate " + path);
      cut = true;
    }
  }
  if (recovery_.discarded_logs > 0 || cut) {
    Status s = FsyncDir(dir_);
    if (!s.ok()) return s;
  }
  return OpenLog(last, true);
}

Status Wal::OpenLog(uint64_t gen, bool create) {
  std::string path = dir_ + "/" + GenName("log", gen);
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
  if (fd < 0) return Errno(errno, path);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    Status s = Errno(errno, path);
    close(fd);
    return s;
  }
  if (create) {
    // The new name must survive a crash before the first record's sync.
    if (fsync(fd) != 0 || !FsyncDir(dir_).ok()) {
      Status s = Errno(errno, "fsync " + path);
      close(fd);
      return s;
    }
  }
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
  gen_ = gen;
  off_ = static_cast<uint64_t>(st.st_size);
  stats_.generation = gen;
  return Status();
}

uint64_t Wal::Write(std::string_view rec) {
  std::lock_guard<std::mutex> lk(mu_);
  WalFrame(rec, &pending_);
  return ++written_seq_;
}

void Wal::Flush(std::unique_lock<std::mutex>& lk) {
  flushing_ = true;
  std::string buf;
  buf.swap(pending_);
  uint64_t upto = written_seq_, off = off_, n = upto - durable_seq_;
  int fd = fd_;
  off_ += buf.size();
  lk.unlock();
  Status s = PwriteAll(fd, buf.data(), buf.size(), static_cast<off_t>(off));
  if (s.ok() && opts_.sync && fdatasync(fd) != 0) s = Errno(errno, "wal fdatasync");
  lk.lock();
  flushing_ = false;
  if (s.ok()) {
    durable_seq_ = upto;
    stats_.records += n;
    stats_.syncs++;
  } else if (error_.ok()) {
    error_ = s;
  }
  cv_.notify_all();
}

Status Wal::Sync(uint64_t seq) {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    if (durable_seq_ >= seq) return Status();
    if (!error_.ok()) return error_;
    if (!flushing_)
      Flush(lk);
    else
      cv_.wait(lk);
  }
}

void Wal::SyncAsync(uint64_t seq, std::function<void(Status)> done) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (durable_seq_ < seq && error_.ok()) {
      async_.emplace_back(seq, std::move(done));
      if (!flusher_.joinable()) flusher_ = std::thread([this] { FlusherMain(); });
      cv_.notify_all();
      return;
    }
  }
  done(Sync(seq));  // durable already, or failed for good: answer now
}

void Wal::FlusherMain() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [this] { return stop_flusher_ || (!async_.empty() && !flushing_); });
    if (async_.empty()) {
      if (stop_flusher_) return;
      continue;
    }
    // Flush unless a leader's flush (ours or a Sync caller's) covered them all.
    uint64_t want = 0;
    for (auto& a : async_) want = std::max(want, a.first);
    if (durable_seq_ < want && error_.ok()) Flush(lk);
    std::vector<std::pair<uint64_t, std::function<void(Status)>>> ready;
    for (auto it = async_.begin(); it != async_.end();) {
      if (it->first <= durable_seq_ || !error_.ok()) {
        ready.push_back(std::move(*it));
        it = async_.erase(it);
      } else {
        ++it;
      }
    }
    Status err = error_;
    uint64_t durable = durable_seq_;
    async_running_ += ready.size();
    lk.unlock();
    for (auto& [seq, done] : ready) done(seq <= durable ? Status() : err);
    lk.lock();
    async_running_ -= ready.size();
    cv_.notify_all();
  }
}

void Wal::DrainAsync() {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [this] { return async_.empty() && async_running_ == 0; });
}

Result<uint64_t> Wal::Rotate() {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [this] { return !flushing_; });
  if (!error_.ok()) return error_;
  if (!pending_.empty()) Flush(lk);
  if (!error_.ok()) return error_;
  // Records written while Flush had the lock released are in pending_ again:
  // they belong to the old generation too.
  while (!pending_.empty()) {
    cv_.wait(lk, [this] { return !flushing_; });
    if (!pending_.empty()) Flush(lk);
    if (!error_.ok()) return error_;
  }
  Status s = OpenLog(gen_ + 1, true);  // under mu_: no leader can write meanwhile
  if (!s.ok()) {
    error_ = s;
    return s;
  }
  return gen_;
}

Status Wal::WriteSnapshot(uint64_t gen, std::string_view state) {
  std::string path = dir_ + "/" + GenName("snap", gen);
  std::string rec;
  rec.reserve(state.size() + 8);
  Put64(gen, &rec);
  rec.append(state);
  std::string file(kSnapMagic, kMagicLen);
  WalFrame(rec, &file);
  // WriteFileAtomic writes path.tmp, fsyncs, renames and fsyncs the directory.
  Status s = WriteFileAtomic(path, file);
  if (!s.ok()) return s;
  for (uint64_t g : ListGens(dir_, "log"))
    if (g < gen) unlink((dir_ + "/" + GenName("log", g)).c_str());
  for (uint64_t g : ListGens(dir_, "snap"))
    if (g < gen) unlink((dir_ + "/" + GenName("snap", g)).c_str());
  std::lock_guard<std::mutex> lk(mu_);
  stats_.snapshots++;
  return Status();
}

WalStats Wal::stats() const {
  std::lock_guard<std::mutex> lk(mu_);
  WalStats s = stats_;
  s.log_bytes = off_;
  return s;
}

}  // namespace store
