#include "storefs/store.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <sstream>
#include <tuple>

namespace storefs {

using ninep::Errno;
using ninep::Result;
using ninep::Status;

namespace {
uint32_t Now() { return static_cast<uint32_t>(time(nullptr)); }
bool Has(const std::vector<uint32_t>& v, uint32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}
}  // namespace

// A quorum failure's error: ENOSPC when every failure was a full disk.
Status QuorumError(uint64_t id, size_t got, uint32_t need, const std::vector<Status>& errs) {
  bool all_full = !errs.empty();
  std::string first;
  for (const auto& e : errs) {
    if (e.err() != ENOSPC) all_full = false;
    if (first.empty() && !e.ok()) first = e.message();
  }
  char b[96];
  snprintf(b, sizeof b, "chunk %016" PRIx64 ": %zu of %u replicas needed took the write", id, got,
           need);
  return Status(all_full ? ENOSPC : EIO, std::string(b) + (first.empty() ? "" : ": " + first));
}

Store::Store(MetaStore* meta, Cluster* cluster, const StoreOptions& opts)
    : meta_(meta), cluster_(cluster), opts_(opts) {}

Store::~Store() {
  {
    std::lock_guard<std::mutex> lk(loop_mu_);
    stop_ = true;
  }
  loop_cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  if (shared_.joinable()) shared_.join();
}

std::shared_ptr<Store::FileLocks> Store::FileLock(InodeId ino) {
  std::lock_guard<std::mutex> lk(mu_);
  auto& w = locks_[ino];
  auto p = w.lock();
  if (!p) {
    p = std::make_shared<FileLocks>();
    w = p;
  }
  if (locks_.size() > 4096)  // forget unused locks now and then
    for (auto it = locks_.begin(); it != locks_.end();)
      it = it->second.expired() ? locks_.erase(it) : std::next(it);
  return p;
}

// Holds [begin, end) of a file; waits while an overlapping range is held.
class Store::RangeLock {
 public:
  RangeLock(FileLocks* fl, uint64_t begin, uint64_t end) : fl_(fl), r_(begin, end) {
    std::unique_lock<std::mutex> lk(fl_->held_mu);
    fl_->held_cv.wait(lk, [&] {
      for (auto [b, e] : fl_->held)
        if (b < end && begin < e) return false;
      return true;
    });
    fl_->held.push_back(r_);
  }
  ~RangeLock() {
    {
      std::lock_guard<std::mutex> lk(fl_->held_mu);
      fl_->held.erase(std::find(fl_->held.begin(), fl_->held.end(), r_));
    }
    fl_->held_cv.notify_all();
  }
  RangeLock(const RangeLock&) = delete;
  RangeLock& operator=(const RangeLock&) = delete;

 private:
  FileLocks* fl_;
  std::pair<uint64_t, uint64_t> r_;
};

bool Store::Granted(const ChunkRef& c) {
  std::lock_guard<std::mutex> lk(mu_);
  uint64_t id = c.id;
  // Another version than ours: another storefs granted it since.
  if (auto g = granted_.find(id); g == granted_.end() || g->second != c.version) return false;
  if (auto it = claimed_.find(id); it != claimed_.end())
    it->second = std::chrono::steady_clock::now();
  return true;
}

void Store::MarkGranted(const ChunkRef& c) {
  std::lock_guard<std::mutex> lk(mu_);
  granted_[c.id] = c.version;
}

Status Store::Claim(uint64_t id) {
  auto deadline = std::chrono::steady_clock::now() + opts_.claim_wait;
  for (int i = 0;; i++) {
    Status s = meta_->ClaimChunk(id);
    if (s.ok() && meta_->Remote()) {
      std::lock_guard<std::mutex> lk(mu_);
      claimed_[id] = std::chrono::steady_clock::now();
    }
    if (s.err() != EBUSY || std::chrono::steady_clock::now() >= deadline) return s;
    // Another storefs writes this chunk: it lets go once idle, or its
    // lease expires if it died.
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(10 * (i + 1), 200)));
  }
}

void Store::ReleaseIdle() {
  auto idle = std::chrono::steady_clock::now() - opts_.claim_idle;
  std::vector<uint64_t> done;
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto it = claimed_.begin(); it != claimed_.end();) {
      if (it->second < idle && inflight_.count(it->first) == 0) {
        done.push_back(it->first);
        granted_.erase(it->first);  // the next write claims and bumps again
        it = claimed_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (uint64_t id : done) meta_->ReleaseChunk(id);
}

bool Store::Clean(uint64_t id) {
  std::lock_guard<std::mutex> lk(mu_);
  return clean_.count(id) != 0;
}

void Store::SetClean(uint64_t id, bool clean) {
  std::lock_guard<std::mutex> lk(mu_);
  if (clean)
    clean_.insert(id);
  else
    clean_.erase(id);
}

bool Store::Live(uint32_t server) const {
  auto s = cluster_->Get(server);
  return s && s->alive() && s->state() != ServerState::kDecommissioned;
}

bool Store::InFlight(uint64_t id) {
  std::lock_guard<std::mutex> lk(mu_);
  return inflight_.count(id) != 0;
}

// ---- Reads -----------------------------------------------------------------

Result<size_t> Store::Read(InodeId ino, uint64_t off, std::span<uint8_t> buf) {
  auto in = meta_->Get(ino);
  if (!in) return Errno(ENOENT);
  if (off >= in->size) return size_t{0};
  size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), in->size - off));
  size_t done = 0;
  while (done < n) {
    uint64_t pos = off + done, idx = pos / opts_.chunk_size, coff = pos % opts_.chunk_size;
    size_t len = static_cast<size_t>(std::min<uint64_t>(n - done, opts_.chunk_size - coff));
    Status s = ReadChunk(ino, idx, coff, buf.subspan(done, len));
    if (!s.ok()) return s;
    done += len;
  }
  return n;
}

Status Store::ReadChunk(InodeId ino, uint64_t idx, uint64_t coff, std::span<uint8_t> buf) {
  Status last(EIO, "no replica");
  for (int attempt = 0; attempt < 8; attempt++) {
    auto c = meta_->Chunk(ino, idx);
    if (!c) {  // a hole
      if (Status rs = meta_->ReadStatus(); !rs.ok()) return rs;
      memset(buf.data(), 0, buf.size());
      return Status();
    }
    if (c->k > 0) {
      last = EcRead(*c, coff, buf);
      if (last.err() != ESTALE) return last;
      std::this_thread::sleep_for(std::chrono::milliseconds(10 << std::min(attempt, 5)));
      continue;
    }
    // Live servers first, the least busy first among them. The keys are
    // read once, before sorting: alive() and inflight() change under other
    // readers, and a comparator whose answers change mid-sort lets the
    // insertion sort walk off the front of the vector (seen as a crash).
    struct Ranked {
      bool dead;
      int busy;
      std::shared_ptr<ChunkServer> server;
    };
    std::vector<Ranked> ranked;
    for (uint32_t r : c->replicas)
      if (auto s = cluster_->Get(r)) ranked.push_back({!s->alive(), s->inflight(), s});
    std::stable_sort(ranked.begin(), ranked.end(), [](const Ranked& a, const Ranked& b) {
      return std::tie(a.dead, a.busy) < std::tie(b.dead, b.busy);
    });
    std::vector<std::shared_ptr<ChunkServer>> order;
    order.reserve(ranked.size());
    for (auto& k : ranked) order.push_back(std::move(k.server));
    bool stale = false;
    for (auto& s : order) {
      auto r = s->Read(c->id, c->version, coff, buf);
      if (r.ok()) {
        if (*r < buf.size()) memset(buf.data() + *r, 0, buf.size() - *r);  // replica shorter: hole
        return Status();
      }
      c_.failovers++;
      last = r.status();
      // 9P2000.L carries only the errno: any EIO of a read may be a bad block.
      if (r.status().err() == EIO) {
        c_.corrupt_reads++;
        {
          std::lock_guard<std::mutex> lk(mu_);
          corrupt_.insert({c->id, s->id()});
        }
        std::lock_guard<std::mutex> lk(loop_mu_);
        kick_ = true;
        loop_cv_.notify_all();
      }
      if (r.status().err() == ESTALE) stale = true;
    }
    if (!stale) break;
    // A grant is moving the replicas to a new version, or a crash left them
    // ahead of the log (the GC adopts that): read the metadata again.
    if (attempt == 2) {
      std::lock_guard<std::mutex> lk(loop_mu_);
      gc_wanted_ = true;
      loop_cv_.notify_all();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10 << std::min(attempt, 5)));
  }
  return last;
}

// ---- Writes ----------------------------------------------------------------

Status Store::Write(InodeId ino, uint64_t off, std::span<const uint8_t> data,
                    const std::string& muid, bool append) {
  return RetryConflicts([&] { return WriteOnce(ino, off, data, muid, append); });
}

Status Store::WriteOnce(InodeId ino, uint64_t off, std::span<const uint8_t> data,
                        const std::string& muid, bool append) {
  auto fl = FileLock(ino);
  if (!append && !data.empty()) {
    std::shared_lock<std::shared_mutex> sl(fl->layout);
    auto tk = WriteGranted(fl.get(), ino, off, data, muid);
    if (tk) {
      sl.unlock();
      return tk->ok() ? meta_->Wait(**tk) : tk->status();
    }
  }
  uint64_t ticket = 0;
  {
    std::unique_lock<std::shared_mutex> xl(fl->layout);
    auto in = meta_->Get(ino);
    if (!in) return Errno(ENOENT);
    if (append) off = in->size;
    if (data.empty()) return Status();
    uint64_t cs = opts_.chunk_size;
    if (off > in->size)
      if (Status s = CleanPastSize(ino, in->size, off); !s.ok()) return s;
    Txn t;
    std::vector<uint64_t> fresh;
    Status s;
    size_t done = 0;
    while (done < data.size() && s.ok()) {
      uint64_t pos = off + done, idx = pos / cs, coff = pos % cs;
      size_t len = static_cast<size_t>(std::min<uint64_t>(data.size() - done, cs - coff));
      s = in->layout != 0
              ? EcWriteChunk(ino, in->layout, idx, coff, data.subspan(done, len), &t, &fresh)
              : WriteChunk(ino, idx, coff, data.subspan(done, len), &t, &fresh);
      done += len;
    }
    if (s.ok()) {
      std::lock_guard<std::mutex> al(fl->attr);
      auto tk = ApplyWriteAttr(ino, off, data.size(), muid, &t);
      if (tk.ok())
        ticket = *tk;
      else
        s = tk.status();
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      for (uint64_t id : fresh) inflight_.erase(id);
    }
    if (!s.ok()) {
      // Replicas that took part of it hold bytes past the size now.
      for (uint64_t idx = off / cs; idx <= (off + data.size() - 1) / cs; idx++)
        if (auto c = meta_->Chunk(ino, idx)) SetClean(c->id, false);
      return s;
    }
  }
  return meta_->Wait(ticket);
}

std::optional<Result<uint64_t>> Store::WriteGranted(FileLocks* fl, InodeId ino, uint64_t off,
                                                    std::span<const uint8_t> data,
                                                    const std::string& muid) {
  auto in = meta_->Get(ino);
  if (!in) return Result<uint64_t>(Errno(ENOENT));
  uint64_t cs = opts_.chunk_size;
  if (off > in->size && !UncleanPastSize(ino, in->size, off).empty()) return std::nullopt;
  if (in->layout != 0) return EcWriteGranted(fl, *in, off, data, muid);
  RangeLock held(fl, off, off + data.size());
  size_t done = 0;
  while (done < data.size()) {
    uint64_t pos = off + done, idx = pos / cs, coff = pos % cs;
    size_t len = static_cast<size_t>(std::min<uint64_t>(data.size() - done, cs - coff));
    auto part = data.subspan(done, len);
    done += len;
    auto c = meta_->Chunk(ino, idx);
    if (!c) {
      bool made = false;
      c = MakeShared(
          fl, ino, idx, [&](std::vector<uint64_t>* fresh) { return NewChunk(coff, part, fresh); },
          &made);
      if (!c) return std::nullopt;  // the exclusive path tries again and reports
      if (made) continue;
    }
    if (!Granted(*c)) return std::nullopt;
    std::vector<std::shared_ptr<ChunkServer>> reps;
    for (uint32_t r : c->replicas)
      if (auto s = cluster_->Get(r)) reps.push_back(s);
    if (reps.size() != c->replicas.size()) return std::nullopt;
    std::vector<Status> res(reps.size());
    ForAll(reps.size(), [&](size_t i) { res[i] = reps[i]->Write(c->id, c->version, coff, part); });
    for (const Status& r : res)
      if (!r.ok()) {
        c_.write_errors++;
        return std::nullopt;
      }
  }
  std::lock_guard<std::mutex> al(fl->attr);
  Txn t;
  return ApplyWriteAttr(ino, off, data.size(), muid, &t);
}

std::optional<ChunkRef> Store::MakeShared(
    FileLocks* fl, InodeId ino, uint64_t idx,
    const std::function<Result<ChunkRef>(std::vector<uint64_t>*)>& make, bool* made) {
  *made = false;
  // Holding idx in `creating` makes this writer the only one that may make
  // the chunk; one that made it before has logged it, so the read below
  // sees it. The read is outside held_mu: on etcd it is a round trip, and
  // every range lock of the file takes held_mu.
  {
    std::unique_lock<std::mutex> lk(fl->held_mu);
    fl->held_cv.wait(lk, [&] { return fl->creating.count(idx) == 0; });
    fl->creating.insert(idx);
  }
  std::optional<ChunkRef> c = meta_->Chunk(ino, idx);
  std::vector<uint64_t> fresh;
  if (!c) {
    auto nc = make(&fresh);
    if (nc.ok()) {
      Txn t;
      t.SetChunk(ino, idx, *nc);
      // Durable with the writer's attributes (a later ticket).
      if (meta_->Apply(t).ok()) {
        c = std::move(*nc);
        *made = true;
      }
    }
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (uint64_t id : fresh) inflight_.erase(id);
  }
  {
    std::lock_guard<std::mutex> lk(fl->held_mu);
    fl->creating.erase(idx);
  }
  fl->held_cv.notify_all();
  return c;
}

std::optional<Result<uint64_t>> Store::EcWriteGranted(FileLocks* fl, const Inode& in, uint64_t off,
                                                      std::span<const uint8_t> data,
                                                      const std::string& muid) {
  // Whole stripes are held: a partial one is read, re-encoded and written
  // back, so no other write may be in it meanwhile.
  uint64_t sd = uint64_t{LayoutK(in.layout)} << 16, cs = opts_.chunk_size;
  RangeLock held(fl, off / sd * sd, (off + data.size() + sd - 1) / sd * sd);
  for (size_t done = 0; done < data.size();) {
    uint64_t pos = off + done, idx = pos / cs, coff = pos % cs;
    size_t len = static_cast<size_t>(std::min<uint64_t>(data.size() - done, cs - coff));
    auto part = data.subspan(done, len);
    auto c = meta_->Chunk(in.ino, idx);
    if (!c) {
      // A hole: made here with this write's stripes (the other writers
      // of the chunk wait for it), so a sequential writer's every new
      // chunk does not drain the others for the exclusive path.
      bool made = false;
      c = MakeShared(
          fl, in.ino, idx,
          [&](std::vector<uint64_t>* fresh) -> Result<ChunkRef> {
            auto nc = EcNewChunk(LayoutK(in.layout), LayoutM(in.layout), fresh);
            if (!nc.ok()) return nc.status();
            std::vector<Status> res;
            if (Status s = EcPut(*nc, coff, part, false, &res); !s.ok()) return s;
            for (const Status& r : res)
              if (!r.ok()) {
                c_.write_errors++;
                return r;
              }
            return nc;
          },
          &made);
      if (!c) return std::nullopt;  // the exclusive path tries again and reports
      if (made) {
        done += len;
        continue;
      }
    }
    if (c->k == 0 || !Granted(*c)) return std::nullopt;  // to grant: alone
    std::vector<Status> res;
    Status s = EcPut(*c, coff, part, true, &res);
    if (!s.ok()) return std::nullopt;
    for (const Status& r : res)
      if (!r.ok()) {
        c_.write_errors++;
        return std::nullopt;  // the exclusive path writes again and marks the lost
      }
    done += len;
  }
  std::lock_guard<std::mutex> al(fl->attr);
  Txn t;
  return ApplyWriteAttr(in.ino, off, data.size(), muid, &t);
}

Result<uint64_t> Store::ApplyWriteAttr(InodeId ino, uint64_t off, size_t n, const std::string& muid,
                                       Txn* t) {
  auto in = meta_->Get(ino);
  if (!in) return Errno(ENOENT);
  in->size = std::max<uint64_t>(in->size, off + n);
  in->mtime = Now();
  in->qvers++;
  if (!muid.empty()) in->muid = muid;
  t->SetAttr(*in);
  return meta_->Apply(*t);
}

Result<uint64_t> Store::ChangeAttr(InodeId ino, const std::function<bool(Inode*)>& fn) {
  return RetryConflicts([&] { return ChangeAttrOnce(ino, fn); });
}

Result<uint64_t> Store::ChangeAttrOnce(InodeId ino, const std::function<bool(Inode*)>& fn) {
  auto fl = FileLock(ino);
  std::lock_guard<std::mutex> al(fl->attr);
  auto in = meta_->Get(ino);
  if (!in) return Errno(ENOENT);
  if (!fn(&*in)) return uint64_t{0};
  Txn t;
  t.SetAttr(*in);
  return meta_->Apply(t);
}

Result<uint64_t> Store::FreshChunkId(std::vector<uint64_t>* fresh) {
  auto id = meta_->NewChunkId();
  if (!id.ok()) return id.status();
  // A fresh id: the claim is free, and keeps other storefs' GC away.
  if (Status s = Claim(*id); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lk(mu_);
    inflight_.insert(*id);
  }
  fresh->push_back(*id);
  return *id;
}

Result<ChunkRef> Store::NewChunk(uint64_t coff, std::span<const uint8_t> data,
                                 std::vector<uint64_t>* fresh) {
  auto id = FreshChunkId(fresh);
  if (!id.ok()) return id.status();
  std::vector<uint32_t> ok, tried;
  std::vector<Status> errs;
  auto targets = cluster_->Place(opts_.replicas, {});
  while (!targets.empty()) {
    std::vector<Status> res(targets.size());
    ForAll(targets.size(), [&](size_t i) {
      Status s = targets[i]->Create(*id, 1);
      if (s.ok()) s = targets[i]->Write(*id, 1, coff, data);
      res[i] = s;
    });
    for (size_t i = 0; i < targets.size(); i++) {
      tried.push_back(targets[i]->id());
      if (res[i].ok()) {
        ok.push_back(targets[i]->id());
      } else {
        c_.write_errors++;
        errs.push_back(res[i]);
      }
    }
    if (ok.size() >= opts_.replicas) break;
    // A full or failing server: place the missing replicas elsewhere.
    targets = cluster_->Place(opts_.replicas - ok.size(), tried);
  }
  if (ok.size() < opts_.write_quorum) return QuorumError(*id, ok.size(), opts_.write_quorum, errs);
  std::lock_guard<std::mutex> lk(mu_);
  granted_[*id] = 1;
  clean_.insert(*id);  // new replicas: nothing in them but this write
  return ChunkRef{*id, 1, ok};
}

Status Store::WriteChunk(InodeId ino, uint64_t idx, uint64_t coff, std::span<const uint8_t> data,
                         Txn* t, std::vector<uint64_t>* fresh) {
  auto c = meta_->Chunk(ino, idx);
  if (!c) {
    auto nc = NewChunk(coff, data, fresh);
    if (!nc.ok()) return nc.status();
    t->SetChunk(ino, idx, *nc);
    return Status();
  }
  if (!Granted(*c)) {
    Status s = Grant(ino, idx, &*c);
    if (!s.ok()) return s;
  }
  std::vector<std::shared_ptr<ChunkServer>> reps;
  for (uint32_t r : c->replicas)
    if (auto s = cluster_->Get(r)) reps.push_back(s);
  std::vector<Status> res(reps.size());
  ForAll(reps.size(), [&](size_t i) { res[i] = reps[i]->Write(c->id, c->version, coff, data); });
  std::vector<uint32_t> ok;
  std::vector<Status> errs;
  for (size_t i = 0; i < reps.size(); i++) {
    if (res[i].ok()) {
      ok.push_back(reps[i]->id());
    } else {
      c_.write_errors++;
      errs.push_back(res[i]);
    }
  }
  if (ok.size() == c->replicas.size()) return Status();
  {
    std::lock_guard<std::mutex> lk(mu_);
    granted_.erase(c->id);  // the replicas now differ: the next write bumps again
  }
  if (ok.size() < opts_.write_quorum) {
    SetClean(c->id, false);  // some replicas may hold this write past the size
    return QuorumError(c->id, ok.size(), opts_.write_quorum, errs);
  }
  // Some replicas missed this write: move the ones that took it to a new
  // version, so the others are stale from now on.
  ChunkRef nc = *c;
  nc.replicas = ok;
  Status s = Grant(ino, idx, &nc);
  if (!s.ok()) return s;
  t->SetChunk(ino, idx, nc);
  return Status();
}

Status Store::Grant(InodeId ino, uint64_t idx, ChunkRef* c) {
  if (Status s = Claim(c->id); !s.ok()) return s;
  if (c->rev != 0) {
    // Another storefs may have granted it while we waited for the claim.
    auto cur = meta_->Chunk(ino, idx);
    if (!cur || cur->rev != c->rev) {
      Status rs = meta_->ReadStatus();
      return rs.ok() ? Status(kConflict, "chunk changed under another storefs") : rs;
    }
  }
  uint64_t v2 = c->version + 1;
  std::vector<std::shared_ptr<ChunkServer>> reps;
  for (uint32_t r : c->replicas)
    if (auto s = cluster_->Get(r)) reps.push_back(s);
  std::vector<Status> res(reps.size());
  ForAll(reps.size(), [&](size_t i) { res[i] = reps[i]->Create(c->id, v2); });
  std::vector<uint32_t> ok;
  std::vector<Status> errs;
  for (size_t i = 0; i < reps.size(); i++) {
    if (res[i].ok())
      ok.push_back(reps[i]->id());
    else
      errs.push_back(res[i]);
  }
  // Fragments keep their places; one that missed the bump is lost (0).
  size_t need = c->k > 0 ? c->k : 1;
  if (ok.size() < need) return QuorumError(c->id, ok.size(), need, errs);
  c->version = v2;
  if (c->k > 0) {
    for (uint32_t& r : c->replicas)
      if (!Has(ok, r)) r = 0;
  } else {
    c->replicas = ok;
  }
  Txn t;
  t.SetChunk(ino, idx, *c);
  auto tk = meta_->Apply(t);
  if (!tk.ok()) return tk.status();
  if (Status s = meta_->Wait(*tk); !s.ok()) return s;
  // On a shared store the ticket is the revision the record now carries.
  if (meta_->Remote()) c->rev = *tk;
  c_.grants++;
  if (c->k == 0 && ok.size() < opts_.write_quorum)
    return QuorumError(c->id, ok.size(), opts_.write_quorum, errs);
  MarkGranted(*c);
  return Status();
}

Status Store::TrimChunk(InodeId ino, uint64_t idx, uint64_t len, uint64_t seen_size) {
  auto c = meta_->Chunk(ino, idx);
  if (!c) return Status();
  if (!Granted(*c)) {
    Status s = Grant(ino, idx, &*c);
    if (!s.ok()) return s;
  }
  if (meta_->Remote()) {
    // Another storefs may have written there and grown the file while we
    // waited for its claim: what we would cut is then acknowledged data.
    auto in = meta_->Get(ino);
    if (!in || in->size != seen_size)
      return Status(kConflict, "file size changed under another storefs");
  }
  if (c->k > 0) return EcTrim(ino, idx, len, *c);
  std::vector<std::shared_ptr<ChunkServer>> reps;
  for (uint32_t r : c->replicas)
    if (auto s = cluster_->Get(r)) reps.push_back(s);
  std::vector<Status> res(reps.size());
  ForAll(reps.size(), [&](size_t i) { res[i] = reps[i]->Truncate(c->id, c->version, len); });
  std::vector<uint32_t> ok;
  std::vector<Status> errs;
  for (size_t i = 0; i < reps.size(); i++) {
    if (res[i].ok())
      ok.push_back(reps[i]->id());
    else
      errs.push_back(res[i]);
  }
  if (ok.size() == c->replicas.size()) {
    SetClean(c->id, true);
    return Status();
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    granted_.erase(c->id);
  }
  if (ok.size() < opts_.write_quorum)
    return QuorumError(c->id, ok.size(), opts_.write_quorum, errs);
  ChunkRef nc = *c;
  nc.replicas = ok;
  Status s = Grant(ino, idx, &nc);
  if (s.ok()) SetClean(c->id, true);
  return s;
}

std::vector<uint64_t> Store::UncleanPastSize(InodeId ino, uint64_t size, uint64_t end) {
  std::vector<uint64_t> out;
  uint64_t cs = opts_.chunk_size;
  for (auto& [idx, c] : meta_->Chunks(ino)) {
    if (idx * cs >= end) break;
    if ((idx + 1) * cs > size && !Clean(c.id)) out.push_back(idx);
  }
  return out;
}

Status Store::CleanPastSize(InodeId ino, uint64_t size, uint64_t end) {
  uint64_t cs = opts_.chunk_size;
  for (uint64_t idx : UncleanPastSize(ino, size, end)) {
    uint64_t keep = idx == size / cs ? size % cs : 0;
    if (Status s = TrimChunk(ino, idx, keep, size); !s.ok()) return s;
  }
  return Status();
}

Status Store::SetSize(InodeId ino, uint64_t size, const std::string& muid) {
  return RetryConflicts([&] { return SetSizeOnce(ino, size, muid); });
}

Status Store::SetSizeOnce(InodeId ino, uint64_t size, const std::string& muid) {
  auto lock = FileLock(ino);
  std::unique_lock<std::shared_mutex> lk(lock->layout);
  auto in = meta_->Get(ino);
  if (!in) return Errno(ENOENT);
  if (in->IsDir()) return Errno(EISDIR);
  if (size == in->size) return Status();
  // A shrink cuts the chunk holding the new end there; a growth first cuts
  // what an unacknowledged or failed write may have left past the old size.
  Txn t;
  std::vector<ChunkRef> gone;
  if (size < in->size) {
    uint64_t keep = (size + opts_.chunk_size - 1) / opts_.chunk_size;
    for (auto& [i, c] : meta_->Chunks(ino))
      if (i >= keep) gone.push_back(c);
    t.DropChunks(ino, keep);
    if (size % opts_.chunk_size != 0) {
      Status s = TrimChunk(ino, size / opts_.chunk_size, size % opts_.chunk_size, in->size);
      if (!s.ok()) return s;
    }
  } else if (Status s = CleanPastSize(ino, in->size, size); !s.ok()) {
    return s;
  }
  uint64_t ticket;
  {
    std::lock_guard<std::mutex> al(lock->attr);
    in = meta_->Get(ino);
    if (!in) return Errno(ENOENT);
    in->size = size;
    in->mtime = Now();
    in->qvers++;
    if (!muid.empty()) in->muid = muid;
    t.SetAttr(*in);
    auto tk = meta_->Apply(t);
    if (!tk.ok()) return tk.status();
    ticket = *tk;
  }
  lk.unlock();
  Status s = meta_->Wait(ticket);
  if (s.ok()) Forget(std::move(gone));
  return s;
}

void Store::Forget(std::vector<ChunkRef> chunks) {
  if (chunks.empty()) return;
  std::thread([this, chunks = std::move(chunks)] {
    for (const auto& c : chunks)
      for (uint32_t r : c.replicas)
        if (auto s = cluster_->Get(r); s && s->alive())
          if (s->Remove(c.id, c.version).ok()) c_.orphans_removed++;
  }).detach();
}

// ---- Maintenance ------------------------------------------------------------

void Store::Start() {
  loop_ = std::thread([this] { Loop(); });
  if (meta_->Remote()) {
    auto period = std::min(opts_.claim_idle / 2, opts_.maintenance / 2);
    shared_ = std::thread([this, period] {
      std::unique_lock<std::mutex> lk(loop_mu_);
      while (!loop_cv_.wait_for(lk, period, [this] { return stop_; })) {
        lk.unlock();
        ReleaseIdle();
        FollowShared();
        lk.lock();
      }
    });
  }
}

void Store::ServerChanged(ChunkServer* s) {
  fprintf(stderr, "storefs: chunkd %s is %s\n", s->addr().c_str(), s->alive() ? "up" : "dead");
  std::lock_guard<std::mutex> lk(loop_mu_);
  if (s->alive()) gc_wanted_ = true;
  kick_ = true;
  loop_cv_.notify_all();
}

void Store::Loop() {
  bool led = false;
  std::unique_lock<std::mutex> lk(loop_mu_);
  while (!stop_) {
    loop_cv_.wait_for(lk, opts_.maintenance, [this] { return stop_ || kick_ || gc_wanted_; });
    if (stop_) break;
    // A GC pass now and then catches what the triggers missed.
    bool gc = gc_wanted_ || ++rounds_ % 30 == 0;
    gc_wanted_ = kick_ = false;
    lk.unlock();
    std::set<std::pair<uint64_t, uint32_t>> bad;
    {
      std::lock_guard<std::mutex> g(mu_);
      bad.swap(corrupt_);
    }
    for (auto [id, server] : bad) RepairCorrupt(id, server);
    // Several storefs on one store: only the elected one repairs and
    // collects, starting with a GC pass when it takes over.
    bool leading = meta_->Leading();
    if (leading) {
      if (gc || !led) GcPass();
      RepairPass();
    }
    led = leading;
    lk.lock();
  }
}

void Store::Throttle(uint64_t bytes) {
  if (opts_.repair_bandwidth == 0) return;
  auto us = bytes * 1000000 / opts_.repair_bandwidth;
  std::this_thread::sleep_for(std::chrono::microseconds(us));
}

Result<std::string> Store::Fetch(const ChunkRef& c, uint32_t not_from, uint32_t from) {
  Status last(EIO, "no live replica");
  for (uint32_t r : c.replicas) {
    if (r == 0 || r == not_from || !Live(r) || (from != 0 && r != from)) continue;
    auto s = cluster_->Get(r);
    std::string buf(opts_.chunk_size, '\0');
    auto n = s->Read(c.id, c.version, 0,
                     std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size()));
    if (n.ok()) {
      buf.resize(*n);
      return buf;
    }
    last = n.status();
    if (n.status().err() == EIO) {
      std::lock_guard<std::mutex> lk(mu_);
      corrupt_.insert({c.id, r});
    }
  }
  return last;
}

Status Store::PutWhole(const ChunkRef& c, ChunkServer* target, std::span<const uint8_t> data) {
  Status s = target->Create(c.id, c.version);
  if (s.err() == EEXIST) {  // a leftover copy at this version: start over
    (void)target->Remove(c.id, c.version);
    s = target->Create(c.id, c.version);
  }
  if (!s.ok()) return s;
  if (!data.empty()) s = target->Write(c.id, c.version, 0, data);
  // A stale replica bumped in place may be longer than the copy.
  if (s.ok()) s = target->Truncate(c.id, c.version, data.size());
  if (!s.ok()) (void)target->Remove(c.id, c.version);  // best effort; the GC removes it otherwise
  return s;
}

Status Store::CopyTo(const ChunkRef& c, ChunkServer* target, uint32_t from) {
  auto data = Fetch(c, target->id(), from);
  if (!data.ok()) return data.status();
  Status s = PutWhole(
      c, target,
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data->data()), data->size()));
  if (s.ok()) Throttle(data->size());
  return s;
}

void Store::RepairCorrupt(uint64_t id, uint32_t server) {
  auto place = meta_->FindChunk(id);
  if (!place) return;
  auto lock = FileLock(place->ino);
  std::unique_lock<std::shared_mutex> lk(lock->layout);
  place = meta_->FindChunk(id);
  auto s = cluster_->Get(server);
  if (!place || !s || !Has(place->chunk.replicas, server)) return;
  const ChunkRef& c = place->chunk;
  // Reported twice (a read and a scrub), or repaired already: check first.
  std::string buf(opts_.chunk_size, '\0');
  if (s->Read(c.id, c.version, 0,
              std::span<uint8_t>(reinterpret_cast<uint8_t*>(buf.data()), buf.size()))
          .ok())
    return;
  (void)s->Remove(c.id, c.version);  // the bad copy; CopyTo makes it again
  size_t pos = std::find(c.replicas.begin(), c.replicas.end(), server) - c.replicas.begin();
  Status st = c.k > 0 ? EcRebuild(c, pos, s.get()) : CopyTo(c, s.get());
  if (st.ok()) {
    c_.repairs++;
    fprintf(stderr, "storefs: repaired %s on %s\n", ReplicaFile(c.id, c.version).c_str(),
            s->addr().c_str());
  } else {
    fprintf(stderr, "storefs: repair of %s on %s: %s\n", ReplicaFile(c.id, c.version).c_str(),
            s->addr().c_str(), st.message().c_str());
    // Drop the replica from the set; the repair pass places a new one.
    ChunkRef nc = c;
    if (c.k > 0)
      nc.replicas[pos] = 0;  // lost; the repair pass rebuilds it elsewhere
    else
      nc.replicas.erase(nc.replicas.begin() + static_cast<ptrdiff_t>(pos));
    Txn t;
    t.SetChunk(place->ino, place->index, nc);
    (void)meta_->Commit(t);  // a failed log write is sticky and reported by every later write
  }
}

std::string Store::RepairPass() {
  uint64_t made = 0, failed = 0;
  std::vector<ChunkPlace> todo;
  meta_->ForEachChunk([&](const ChunkPlace& p) {
    size_t good = 0;
    bool misplaced = false;
    for (uint32_t r : p.chunk.replicas) {
      auto s = cluster_->Get(r);
      if (s && s->alive() && s->state() == ServerState::kActive)
        good++;
      else
        misplaced = true;
    }
    if (good < opts_.replicas || misplaced) todo.push_back(p);
  });
  for (auto& p0 : todo) {
    auto lock = FileLock(p0.ino);
    std::unique_lock<std::shared_mutex> lk(lock->layout);
    auto p = meta_->FindChunk(p0.chunk.id);
    if (!p) continue;
    if (p->chunk.k > 0) {  // fragments are rebuilt, not copied
      EcRepair(*p, &made, &failed);
      continue;
    }
    ChunkRef c = p->chunk;
    std::vector<uint32_t> good, leaving;
    for (uint32_t r : c.replicas) {
      auto s = cluster_->Get(r);
      if (s && s->alive() && s->state() == ServerState::kActive)
        good.push_back(r);
      else if (s && s->alive() && s->state() == ServerState::kDraining)
        leaving.push_back(r);  // still readable: a source, dropped once copied
    }
    if (good.empty() && leaving.empty()) continue;  // nothing to copy from
    {
      std::lock_guard<std::mutex> g(mu_);
      inflight_.insert(c.id);
    }
    std::vector<uint32_t> exclude = c.replicas;
    bool changed = false;
    while (good.size() < opts_.replicas) {
      auto t = cluster_->Place(1, exclude);
      if (t.empty()) break;
      exclude.push_back(t[0]->id());
      Status s = CopyTo(c, t[0].get());
      if (!s.ok()) {
        failed++;
        continue;
      }
      good.push_back(t[0]->id());
      made++;
      changed = true;
    }
    // Dead and draining servers leave the set once enough copies exist
    // elsewhere (or when they hold nothing readable anyway).
    std::vector<uint32_t> next = good;
    if (good.size() < opts_.replicas)
      for (uint32_t r : leaving) next.push_back(r);
    if (next != c.replicas && !next.empty()) {
      std::vector<uint32_t> dropped;
      for (uint32_t r : c.replicas)
        if (!Has(next, r)) dropped.push_back(r);
      c.replicas = next;
      Txn t;
      t.SetChunk(p->ino, p->index, c);
      if (meta_->Commit(t).ok()) {
        changed = true;
        for (uint32_t r : dropped)
          if (auto s = cluster_->Get(r); s && s->alive()) {
            (void)s->Remove(c.id, c.version);  // a drained copy; the GC retries
            c_.moved++;
          }
      }
    }
    (void)changed;
    {
      std::lock_guard<std::mutex> g(mu_);
      inflight_.erase(c.id);
      granted_.erase(c.id);
    }
  }
  c_.rereplicated += made;
  // A decommissioned server holding nothing more is done. Under loop_mu_,
  // which SetServerState holds too: an activate or drain that comes while
  // this runs is not overwritten by a retirement decided before it, and a
  // draining server gets no new replica between the count and the retirement.
  std::lock_guard<std::mutex> ll(loop_mu_);
  auto h = Check();
  std::set<uint32_t> retiring;
  {
    std::lock_guard<std::mutex> g(mu_);
    retiring = decommission_;
  }
  for (auto& info : meta_->Servers())
    if (info.state == ServerState::kDraining && h.per_server[info.id] == 0 &&
        retiring.count(info.id)) {
      ServerInfo s = info;
      s.state = ServerState::kDecommissioned;
      Txn t;
      t.SetServer(s);
      if (meta_->Commit(t).ok()) cluster_->Add(s);
    }
  return "repair: " + std::to_string(made) + " replicas made, " + std::to_string(failed) +
         " failed";
}

std::string Store::GcPass() {
  std::map<uint64_t, std::vector<std::pair<uint32_t, uint64_t>>> seen;  // id -> (server, version)
  for (auto& s : cluster_->All()) {
    if (!s->alive() || s->state() == ServerState::kDecommissioned) continue;
    auto l = s->List();
    if (!l.ok()) continue;
    for (auto& r : *l) seen[r.id].push_back({s->id(), r.version});
  }
  uint64_t orphans = 0, stale = 0, adopted = 0;
  for (auto& [id, reps] : seen) {
    // Claimed: some storefs is making or granting it (its record may not
    // be written yet).
    if (InFlight(id) || meta_->Claimed(id)) continue;
    auto place = meta_->FindChunk(id);
    if (!place && !meta_->ReadStatus().ok()) continue;  // unknown is not an orphan
    if (!place) {
      if (InFlight(id)) continue;
      for (auto [sid, ver] : reps)
        if (auto s = cluster_->Get(sid); s && s->Remove(id, ver).ok()) orphans++;
      continue;
    }
    auto lock = FileLock(place->ino);
    std::unique_lock<std::shared_mutex> lk(lock->layout);
    place = meta_->FindChunk(id);
    if (!place) continue;
    ChunkRef c = place->chunk;
    uint64_t maxv = 0;
    for (auto [sid, ver] : reps)
      if (Has(c.replicas, sid)) maxv = std::max(maxv, ver);
    if (maxv > c.version) {
      // A grant reached the replicas but not the log (a crash between):
      // the replicas that took it are the current ones.
      std::vector<uint32_t> at;
      for (auto [sid, ver] : reps)
        if (ver == maxv && Has(c.replicas, sid)) at.push_back(sid);
      c.version = maxv;
      if (c.k > 0) {
        for (uint32_t& r : c.replicas)
          if (!Has(at, r)) r = 0;  // fragments keep their places
      } else {
        c.replicas = at;
      }
      Txn t;
      t.SetChunk(place->ino, place->index, c);
      if (meta_->Commit(t).ok()) adopted++;
    }
    for (auto [sid, ver] : reps) {
      if (ver == c.version && Has(c.replicas, sid)) continue;
      if (ver > c.version) continue;  // newer than the log: never delete data we do not understand
      if (auto s = cluster_->Get(sid); s && s->Remove(id, ver).ok()) stale++;
    }
  }
  c_.orphans_removed += orphans;
  c_.stale_removed += stale;
  c_.adopted += adopted;
  return "gc: " + std::to_string(orphans) + " orphans, " + std::to_string(stale) + " stale, " +
         std::to_string(adopted) + " adopted";
}

std::string Store::Scrub() {
  uint64_t bad = 0;
  for (auto& s : cluster_->All()) {
    if (!s->alive()) continue;
    if (!s->WriteCtl("scrub").ok()) continue;
    auto b = s->ReadFile("bad");
    if (!b.ok()) continue;
    std::istringstream in(*b);
    std::string line;
    while (std::getline(in, line)) {
      char* end = nullptr;
      uint64_t id = strtoull(line.c_str(), &end, 16);
      if (end == line.c_str()) continue;
      std::lock_guard<std::mutex> lk(mu_);
      corrupt_.insert({id, s->id()});
      bad++;
    }
  }
  {
    std::lock_guard<std::mutex> lk(loop_mu_);
    kick_ = true;
    loop_cv_.notify_all();
  }
  return "scrub: " + std::to_string(bad) + " bad replicas queued for repair";
}

std::string Store::Rebalance() {
  uint64_t moves = 0;
  for (int round = 0; round < 10000; round++) {
    auto h = Check();
    std::shared_ptr<ChunkServer> hi, lo;
    for (auto& s : cluster_->All()) {
      if (!s->alive() || s->state() != ServerState::kActive) continue;
      uint64_t n = h.per_server[s->id()];
      if (!hi || n > h.per_server[hi->id()]) hi = s;
      if (!lo || n < h.per_server[lo->id()]) lo = s;
    }
    if (!hi || !lo || h.per_server[hi->id()] <= h.per_server[lo->id()] + 1) break;
    // Move one chunk that lo does not hold from hi to lo.
    std::optional<ChunkPlace> pick;
    meta_->ForEachChunk([&](const ChunkPlace& p) {
      if (!pick && Has(p.chunk.replicas, hi->id()) && !Has(p.chunk.replicas, lo->id())) pick = p;
    });
    if (!pick) break;
    auto lock = FileLock(pick->ino);
    std::unique_lock<std::shared_mutex> lk(lock->layout);
    auto p = meta_->FindChunk(pick->chunk.id);
    if (!p || !Has(p->chunk.replicas, hi->id()) || Has(p->chunk.replicas, lo->id())) continue;
    // A fragment moves from hi itself: the others hold other fragments.
    if (!CopyTo(p->chunk, lo.get(), p->chunk.k > 0 ? hi->id() : 0).ok()) break;
    ChunkRef c = p->chunk;
    std::replace(c.replicas.begin(), c.replicas.end(), hi->id(), lo->id());
    Txn t;
    t.SetChunk(p->ino, p->index, c);
    if (!meta_->Commit(t).ok()) break;
    (void)hi->Remove(c.id, c.version);  // the GC retries a failed removal
    moves++;
    c_.moved++;
  }
  return "rebalance: " + std::to_string(moves) + " replicas moved";
}

void Store::FollowShared() {
  // Servers another storefs added, or whose state it changed.
  auto servers = meta_->Servers();
  if (meta_->ReadStatus().ok())
    for (const auto& s : servers) {
      auto known = cluster_->Get(s.id);
      if (!known || known->state() != s.state) cluster_->Add(s);
    }
  auto reg = meta_->Registered();
  if (!reg) return;
  // The leader adds servers that registered; everyone hears of the dead.
  if (meta_->Leading())
    for (const auto& addr : *reg)
      if (!cluster_->Find(addr)) {
        Status s = AddServer(addr);
        if (s.ok()) fprintf(stderr, "storefs: chunkd %s registered\n", addr.c_str());
      }
  cluster_->FollowRegistry(*reg);
}

Status Store::AddServer(const std::string& addr) {
  return RetryConflicts([&] { return AddServerOnce(addr); });
}

Status Store::AddServerOnce(const std::string& addr) {
  std::shared_ptr<ChunkServer> added;
  {
    // Two adds at once (ctl writes run on worker threads) would both take
    // the next id, and the second would replace the first in the log while
    // the cluster kept the first: one server lost, both answered OK.
    std::lock_guard<std::mutex> ll(loop_mu_);
    if (cluster_->Find(addr)) return Status(EEXIST, "chunk server " + addr + " exists");
    uint32_t id = 1;
    for (auto& s : meta_->Servers()) id = std::max(id, s.id + 1);
    ServerInfo s{id, addr, ServerState::kActive};
    Txn t;
    t.SetServer(s);
    Status st = meta_->Commit(t);
    if (!st.ok()) return st;
    added = cluster_->Add(s);
  }
  added->Beat();  // outside the lock: it may wait out the call timeout
  return Status();
}

Status Store::SetServerState(const std::string& addr, ServerState st) {
  auto s = cluster_->Find(addr);
  if (!s) return Status(ENOENT, "no chunk server " + addr);
  ServerInfo info{s->id(), addr, st == ServerState::kDecommissioned ? ServerState::kDraining : st};
  std::lock_guard<std::mutex> ll(loop_mu_);  // see the end of RepairPass
  Txn t;
  t.SetServer(info);
  Status r = meta_->Commit(t);
  if (!r.ok()) return r;
  {
    // Anything but decommission cancels one in progress: a later drain
    // must not retire the server once it is empty.
    std::lock_guard<std::mutex> lk(mu_);
    if (st == ServerState::kDecommissioned)
      decommission_.insert(s->id());
    else
      decommission_.erase(s->id());
  }
  s->set_state(info.state);
  kick_ = true;
  loop_cv_.notify_all();
  return Status();
}

Store::Health Store::Check() const {
  Health h;
  meta_->ForEachChunk([&](const ChunkPlace& p) {
    h.chunks++;
    size_t live = 0;
    for (uint32_t r : p.chunk.replicas) {
      if (r == 0) continue;
      h.per_server[r]++;
      if (Live(r)) live++;
    }
    const ChunkRef& c = p.chunk;
    size_t want = c.k > 0 ? size_t{c.k} + c.m : opts_.replicas;
    if (live < (c.k > 0 ? c.k : 1))
      h.unavailable++;
    else if (live < want)
      h.under++;
    if (c.k == 0 && c.replicas.size() > opts_.replicas) h.over++;
    auto& pol = h.policies[c.k > 0 ? EcLayout(c.k, c.m) : 0];
    pol.chunks++;
    pol.fragments += live;
  });
  return h;
}

}  // namespace storefs
