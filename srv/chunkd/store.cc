// store.cc: the index of replicas under DIR/chunks.
#include "store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "storelib/fileio.h"

namespace chunkd {

using ninep::Errno;
using ninep::Result;
using ninep::Status;

namespace {

// Makes directory d if missing; a new one is made durable in its parent, so
// replicas acknowledged under it cannot vanish with it in a crash.
Status MakeDir(const std::string& d) {
  if (mkdir(d.c_str(), 0755) != 0) {
    if (errno == EEXIST) return Status::Ok();
    return Errno(errno, d);
  }
  return store::FsyncDir(store::DirName(d));
}

// Chooses a new random word, writes it to dir/token and sets *abs to dir's
// absolute path: a previous run's word must never vouch for this one.
Status NewToken(const std::string& dir, std::string* abs, std::string* token) {
  char* real = realpath(dir.c_str(), nullptr);
  if (!real) return Errno(errno, dir);
  *abs = real;
  free(real);
  uint8_t raw[16];
  if (getrandom(raw, sizeof raw, 0) != static_cast<ssize_t>(sizeof raw))
    return Errno(errno, "getrandom");
  static const char kHex[] = "0123456789abcdef";
  token->clear();
  for (uint8_t c : raw) *token += {kHex[c >> 4], kHex[c & 15]};
  return store::WriteFileAtomic(dir + "/token", *token + "\n");
}

}  // namespace

ChunkStore::ChunkStore(std::string dir, uint64_t max_chunk)
    : dir_(std::move(dir)),
      chunks_(dir_ + "/chunks"),
      damaged_(dir_ + "/damaged"),
      marks_(dir_ + "/bad"),
      max_blocks_(static_cast<uint32_t>((max_chunk + kBlockSize - 1) / kBlockSize)) {}

Status ChunkStore::Load(std::vector<std::string>* warnings) {
  for (const std::string& d : {dir_, chunks_, damaged_, marks_})
    if (Status s = MakeDir(d); !s.ok()) return s;
  if (Status s = NewToken(dir_, &abs_dir_, &token_); !s.ok()) return s;
  DIR* dp = opendir(chunks_.c_str());
  if (!dp) return Errno(errno, chunks_);
  std::vector<std::string> names;
  while (struct dirent* e = readdir(dp)) names.emplace_back(e->d_name);
  closedir(dp);
  std::lock_guard lk(mu_);
  for (const std::string& name : names) {
    if (name == "." || name == "..") continue;
    std::string path = chunks_ + "/" + name;
    uint64_t id;
    if (name.size() == 20 && name.ends_with(".tmp") && ParseId(name.substr(0, 16), &id)) {
      // A create that never reached its rename: it was never acknowledged.
      unlink(path.c_str());
      continue;
    }
    if (!ParseId(name, &id)) {
      warnings->push_back(path + ": not a replica name; ignored");
      continue;
    }
    auto r = Replica::Open(path, id);
    if (r.ok()) {
      replicas_[id] = std::shared_ptr<Replica>(std::move(*r));
      continue;
    }
    std::string aside = damaged_ + "/" + name;
    Status mv = store::DurableRename(path, aside);
    warnings->push_back(path + ": " + r.status().message() + "; " +
                        (mv.ok() ? "moved to " + aside : "not moved: " + mv.message()));
    damaged_names_.push_back(name + ".0");
    counters_.bad++;
  }
  // Replicas found corrupt before the restart stay listed until repaired.
  if (DIR* mp = opendir(marks_.c_str())) {
    while (struct dirent* e = readdir(mp)) {
      uint64_t id;
      if (!ParseId(e->d_name, &id)) continue;
      if (replicas_.count(id))
        bad_.insert(id);
      else
        SetMarkLocked(id, false);  // its replica is gone
    }
    closedir(mp);
  }
  return Status::Ok();
}

void ChunkStore::SetMarkLocked(uint64_t id, bool bad) {
  // Best effort: a lost mark only delays the report until the next read
  // or scrub of the bad block finds it again.
  std::string path = marks_ + "/" + IdName(id);
  if (bad) {
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
  } else {
    unlink(path.c_str());
  }
}

std::shared_ptr<Replica> ChunkStore::Find(uint64_t id) const {
  std::lock_guard lk(mu_);
  auto it = replicas_.find(id);
  return it == replicas_.end() ? nullptr : it->second;
}

std::vector<ReplicaInfo> ChunkStore::List() const {
  std::vector<std::shared_ptr<Replica>> rs;
  {
    std::lock_guard lk(mu_);
    rs.reserve(replicas_.size());
    for (auto& [id, r] : replicas_) rs.push_back(r);
  }
  std::vector<ReplicaInfo> out;
  out.reserve(rs.size());
  for (auto& r : rs) out.push_back(r->Info());
  return out;
}

Result<std::shared_ptr<Replica>> ChunkStore::CreateOrBump(uint64_t id, uint64_t version) {
  // One lock over the check and the create, so two creates of one id cannot
  // both make a file.
  std::lock_guard lk(mu_);
  std::string name = IdName(id) + "." + std::to_string(version);
  if (auto it = replicas_.find(id); it != replicas_.end()) {
    uint64_t cur = it->second->Info().version;
    if (cur == version) return Errno(EEXIST, "chunk " + name + " exists");
    if (cur > version)
      return Errno(ESTALE, "chunk " + IdName(id) + " is at version " + std::to_string(cur) +
                               ", above " + std::to_string(version));
    if (Status s = it->second->SetVersion(version); !s.ok()) return s;
    return it->second;
  }
  auto r = Replica::Create(chunks_, id, version, max_blocks_);
  if (!r.ok()) return r.status();
  auto sp = std::shared_ptr<Replica>(std::move(*r));
  replicas_[id] = sp;
  return sp;
}

Status ChunkStore::Remove(uint64_t id, uint64_t version) {
  std::lock_guard lk(mu_);
  auto it = replicas_.find(id);
  if (it == replicas_.end()) return Errno(ENOENT, "chunk " + IdName(id) + " does not exist");
  uint64_t cur = it->second->Info().version;
  if (cur != version)
    return Errno(ESTALE, "chunk " + IdName(id) + " is at version " + std::to_string(cur) +
                             ", not " + std::to_string(version));
  if (Status s = it->second->Remove(); !s.ok()) return s;
  replicas_.erase(it);
  if (bad_.erase(id)) SetMarkLocked(id, false);
  return Status::Ok();
}

void ChunkStore::MarkBad(uint64_t id) {
  counters_.bad++;
  std::lock_guard lk(mu_);
  if (replicas_.count(id) && bad_.insert(id).second) SetMarkLocked(id, true);
}

Result<size_t> ChunkStore::Read(Replica& r, uint64_t want, uint64_t off, std::span<uint8_t> out) {
  counters_.reads++;
  int64_t bad = -1;
  auto n = r.Read(want, off, out, &bad);
  if (bad >= 0) MarkBad(r.Info().id);
  return n;
}

Result<size_t> ChunkStore::Write(Replica& r, uint64_t want, uint64_t off,
                                 std::span<const uint8_t> data) {
  counters_.writes++;
  int64_t bad = -1;
  bool synced = false;
  auto n = r.Write(want, off, data, &bad, &synced);
  if (synced) counters_.write_syncs++;
  if (bad >= 0) MarkBad(r.Info().id);
  return n;
}

Status ChunkStore::Truncate(Replica& r, uint64_t want, uint64_t len) {
  int64_t bad = -1;
  Status s = r.Truncate(want, len, &bad);
  if (bad >= 0) MarkBad(r.Info().id);
  return s;
}

size_t ChunkStore::Scrub() {
  std::vector<std::shared_ptr<Replica>> rs;
  {
    std::lock_guard lk(mu_);
    for (auto& [id, r] : replicas_) rs.push_back(r);
  }
  std::set<uint64_t> bad, good;
  for (auto& r : rs) {
    int64_t b = -1;
    Status s = r->Verify(&b);
    if (b >= 0) {
      bad.insert(r->Info().id);
      counters_.bad++;
    } else if (s.ok()) {
      good.insert(r->Info().id);
    }
  }
  std::lock_guard lk(mu_);
  for (uint64_t id : good)
    if (bad_.erase(id)) SetMarkLocked(id, false);
  for (uint64_t id : bad)
    if (replicas_.count(id) && bad_.insert(id).second) SetMarkLocked(id, true);
  counters_.scrubs++;
  return bad_.size();
}

Status ChunkStore::Sync() { return store::FsyncDir(chunks_); }

std::string ChunkStore::CtlText() const {
  uint64_t n = 0, bytes = 0;
  for (const ReplicaInfo& i : List()) {
    n++;
    bytes += i.length;
  }
  struct statvfs sv;
  uint64_t free = statvfs(dir_.c_str(), &sv) == 0 ? uint64_t{sv.f_bavail} * sv.f_frsize : 0;
  std::string s;
  auto line = [&s](const char* k, uint64_t v) {
    s += std::string(k) + " " + std::to_string(v) + "\n";
  };
  line("chunks", n);
  line("bytes", bytes);
  line("free", free);
  line("bad", counters_.bad);
  line("reads", counters_.reads);
  line("writes", counters_.writes);
  line("write-syncs", counters_.write_syncs);
  line("scrubs", counters_.scrubs);
  line("stale", counters_.stale);
  line("maxchunk", uint64_t{max_blocks_} * kBlockSize);
  // Last, and not numbers: for a reader on the same machine (store.h).
  s += "dir " + abs_dir_ + "\n";
  s += "token " + token_ + "\n";
  return s;
}

std::string ChunkStore::BadText() const {
  std::vector<std::shared_ptr<Replica>> rs;
  std::string s;
  {
    std::lock_guard lk(mu_);
    for (uint64_t id : bad_)
      if (auto it = replicas_.find(id); it != replicas_.end()) rs.push_back(it->second);
    for (const std::string& d : damaged_names_) s += d + "\n";
  }
  for (auto& r : rs) {
    ReplicaInfo i = r->Info();
    s += IdName(i.id) + "." + std::to_string(i.version) + "\n";
  }
  return s;
}

}  // namespace chunkd
