// store_ec.cc: the erasure-coded chunks of Store (store.h): stripes of K
// 64 KiB cells, fragment j holding cell j of every stripe and fragments
// K..K+M-1 the Reed-Solomon parity of each stripe (ISA-L, storelib/ec.h).
// Chunk offset x lies in stripe x / (K*C), cell (x % (K*C)) / C, at
// fragment offset stripe * C + x % C; every fragment of a chunk has the
// same length, so bytes at one fragment offset form one stripe's column.
#include <algorithm>
#include <cstring>

#include "storefs/store.h"

namespace storefs {

using ninep::Errno;
using ninep::Result;
using ninep::Status;

namespace {

constexpr uint64_t kCell = 64 << 10;

uint8_t* U8(std::string& s) { return reinterpret_cast<uint8_t*>(s.data()); }
const uint8_t* U8c(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// Calls fn(stripe, cell, offset in cell, offset in the range, n) for each
// piece of [coff, coff + len) that lies in one cell.
template <class F>
void Cells(uint64_t k, uint64_t coff, uint64_t len, F fn) {
  uint64_t sd = k * kCell;
  for (uint64_t done = 0; done < len;) {
    uint64_t x = coff + done, s = x / sd, j = (x % sd) / kCell, o = x % kCell;
    uint64_t n = std::min(kCell - o, len - done);
    fn(s, j, o, done, n);
    done += n;
  }
}

}  // namespace

Result<const store::ErasureCode*> Store::Code(uint8_t k, uint8_t m) {
  std::lock_guard<std::mutex> lk(codes_mu_);
  auto& c = codes_[EcLayout(k, m)];
  if (!c) {
    auto made = store::ErasureCode::Make(k, m);
    if (!made.ok()) return made.status();
    c = std::make_unique<store::ErasureCode>(std::move(*made));
  }
  return c.get();
}

Status Store::EcRead(const ChunkRef& c, uint64_t coff, std::span<uint8_t> buf) {
  if (buf.empty()) return Status();
  auto code = Code(c.k, c.m);
  if (!code.ok()) return code.status();
  const size_t n = size_t{c.k} + c.m;
  if (c.replicas.size() != n) return Status(EIO, "erasure-coded chunk with a bad fragment list");
  uint64_t sd = uint64_t{c.k} * kCell, s0 = coff / sd, s1 = (coff + buf.size() - 1) / sd;
  uint64_t flen = (s1 - s0 + 1) * kCell;  // of each fragment, from s0 * kCell
  std::vector<bool> need(n, false);
  Cells(c.k, coff, buf.size(),
        [&](uint64_t, uint64_t j, uint64_t, uint64_t, uint64_t) { need[j] = true; });
  std::vector<std::string> frag(n);
  std::vector<Status> res(n, Status(ENOENT, "not read"));
  auto read = [&](size_t j) {
    auto s = c.replicas[j] != 0 && Live(c.replicas[j]) ? cluster_->Get(c.replicas[j]) : nullptr;
    if (!s) {
      res[j] = Status(EIO, "fragment lost");
      return;
    }
    frag[j].assign(flen, '\0');
    auto r = s->Read(c.id, c.version, s0 * kCell, std::span<uint8_t>(U8(frag[j]), flen));
    res[j] = r.ok() ? Status() : r.status();  // short: never written there, zeros
  };
  std::vector<size_t> first;
  for (size_t j = 0; j < n; j++)
    if (need[j]) first.push_back(j);
  ForAll(first.size(), [&](size_t i) { read(first[i]); });
  auto note = [&](size_t j) {
    if (res[j].ok()) return;
    c_.failovers++;
    if (res[j].err() == EIO && c.replicas[j] != 0 && Live(c.replicas[j])) {
      // 9P2000.L carries only the errno: an EIO may be a bad block.
      c_.corrupt_reads++;
      {
        std::lock_guard<std::mutex> lk(mu_);
        corrupt_.insert({c.id, c.replicas[j]});
      }
      std::lock_guard<std::mutex> lk(loop_mu_);
      kick_ = true;
      loop_cv_.notify_all();
    }
  };
  bool whole = true;
  for (size_t j : first)
    if (!res[j].ok()) {
      if (res[j].err() == ESTALE) return res[j];  // a grant moved on: read the metadata again
      note(j);
      whole = false;
    }
  if (!whole) {
    // Degraded: read the other fragments (at once), then rebuild from K.
    std::vector<size_t> more;
    for (size_t j = 0; j < n; j++)
      if (!need[j] && c.replicas[j] != 0) more.push_back(j);
    ForAll(more.size(), [&](size_t i) { read(more[i]); });
    size_t good = 0;
    for (size_t j = 0; j < n; j++) good += res[j].ok();
    for (size_t j : more) note(j);
    if (good < c.k)
      return Status(EIO, "chunk " + ReplicaFile(c.id, c.version) + ": " + std::to_string(good) +
                             " of " + std::to_string(n) + " fragments readable, " +
                             std::to_string(c.k) + " needed");
    std::vector<uint8_t*> ptrs(n);
    std::unique_ptr<bool[]> pr(new bool[n]);
    for (size_t j = 0; j < n; j++) {
      if (!res[j].ok()) frag[j].assign(flen, '\0');
      ptrs[j] = U8(frag[j]);
      pr[j] = res[j].ok();
    }
    if (Status s = (*code)->Reconstruct(ptrs, std::span<const bool>(pr.get(), n), flen); !s.ok())
      return s;
  }
  Cells(c.k, coff, buf.size(), [&](uint64_t s, uint64_t j, uint64_t o, uint64_t at, uint64_t len) {
    memcpy(buf.data() + at, frag[j].data() + (s - s0) * kCell + o, len);
  });
  return Status();
}

Status Store::EcWriteChunk(InodeId ino, uint16_t layout, uint64_t idx, uint64_t coff,
                           std::span<const uint8_t> data, Txn* t, std::vector<uint64_t>* fresh) {
  uint8_t k = LayoutK(layout), m = LayoutM(layout);
  auto code = Code(k, m);
  if (!code.ok()) return code.status();
  const size_t n = size_t{k} + m;
  auto old = meta_->Chunk(ino, idx);
  if (!old && !meta_->ReadStatus().ok()) return meta_->ReadStatus();
  ChunkRef c;
  bool made = !old;
  if (made) {
    auto nc = EcNewChunk(k, m, fresh);
    if (!nc.ok()) return nc.status();
    c = std::move(*nc);
  } else {
    c = *old;
    if (c.k != k || c.m != m) return Status(EIO, "chunk layout differs from its file's");
    if (!Granted(c))
      if (Status s = Grant(ino, idx, &c); !s.ok()) return s;
  }
  std::vector<Status> res;
  if (Status s = EcPut(c, coff, data, !made, &res); !s.ok()) return s;
  size_t ok = 0;
  std::vector<Status> errs;
  for (size_t j = 0; j < n; j++) {
    if (res[j].ok()) {
      ok++;
    } else if (c.replicas[j] != 0) {
      c_.write_errors++;
      errs.push_back(res[j]);
    }
  }
  bool changed = made;
  if (!errs.empty()) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      granted_.erase(c.id);
    }
    if (ok < k) {
      SetClean(c.id, false);
      return QuorumError(c.id, ok, k, errs);
    }
    // The fragments that missed this write are stale from now on: the ones
    // that took it move to a new version; repair rebuilds the others.
    ChunkRef nc = c;
    for (size_t j = 0; j < n; j++)
      if (!res[j].ok()) nc.replicas[j] = 0;
    if (Status s = Grant(ino, idx, &nc); !s.ok()) return s;
    c = nc;
    changed = true;
  }
  if (changed) t->SetChunk(ino, idx, c);
  return Status();
}

Result<ChunkRef> Store::EcNewChunk(uint8_t k, uint8_t m, std::vector<uint64_t>* fresh) {
  const size_t n = size_t{k} + m;
  auto id = FreshChunkId(fresh);
  if (!id.ok()) return id.status();
  auto targets = cluster_->Place(n, {});
  if (targets.size() < n)
    return Status(ENOSPC, "erasure code " + std::to_string(k) + "+" + std::to_string(m) +
                              " needs " + std::to_string(n) + " live chunk servers; " +
                              std::to_string(targets.size()) + " can take a chunk");
  std::vector<Status> res(n);
  ForAll(n, [&](size_t j) { res[j] = targets[j]->Create(*id, 1); });
  for (size_t j = 0; j < n; j++)
    if (!res[j].ok()) {
      for (size_t i = 0; i < n; i++)
        if (res[i].ok()) (void)targets[i]->Remove(*id, 1);  // the GC retries
      return res[j];
    }
  ChunkRef c;
  c.id = *id;
  c.version = 1;
  c.k = k;
  c.m = m;
  for (auto& s : targets) c.replicas.push_back(s->id());
  std::lock_guard<std::mutex> lk(mu_);
  granted_[c.id] = 1;
  clean_.insert(c.id);
  return c;
}

Status Store::EcPut(const ChunkRef& c, uint64_t coff, std::span<const uint8_t> data, bool fill,
                    std::vector<Status>* res) {
  auto code = Code(c.k, c.m);
  if (!code.ok()) return code.status();
  const size_t k = c.k, n = size_t{c.k} + c.m;
  // The stripes written, each fragment's part of them (every byte of it
  // is set below: kept bytes, written bytes, parity).
  const uint64_t end = coff + data.size(), sd = k * kCell, s0 = coff / sd, s1 = (end - 1) / sd;
  const uint64_t flen = (s1 - s0 + 1) * kCell;
  auto stripe_end = [&](uint64_t s) { return std::min((s + 1) * sd, opts_.chunk_size); };
  std::vector<std::unique_ptr<uint8_t[]>> bufs(n);
  std::vector<uint8_t*> frag(n);
  for (size_t j = 0; j < n; j++)
    frag[j] = (bufs[j] = std::make_unique_for_overwrite<uint8_t[]>(flen)).get();
  auto place = [&](uint64_t at, const uint8_t* p, uint64_t len) {
    Cells(k, at, len, [&](uint64_t s, uint64_t j, uint64_t o, uint64_t from, uint64_t m) {
      if (p)
        memcpy(frag[j] + (s - s0) * kCell + o, p + from, m);
      else
        memset(frag[j] + (s - s0) * kCell + o, 0, m);
    });
  };
  // A stripe written in part keeps its other bytes: from the copy of it
  // this storefs wrote last, else read (rebuilt if need be) from the
  // servers; a new chunk (no `fill`) holds zeros there. A stripe cut
  // short by the chunk's end is zeros past it.
  if (stripe_end(s1) < (s1 + 1) * sd)
    place(stripe_end(s1), nullptr, (s1 + 1) * sd - stripe_end(s1));
  std::vector<uint64_t> part;
  if (coff > s0 * sd || end < stripe_end(s0)) part.push_back(s0);
  if (s1 != s0 && end < stripe_end(s1)) part.push_back(s1);
  for (uint64_t s : part) {
    const uint64_t b = s * sd, e = stripe_end(s);
    if (fill &&
        PlaceCachedStripe(c, s, [&](const std::string& kept) { place(b, U8c(kept), e - b); }))
      continue;
    for (auto [x, y] : {std::pair{b, std::min(coff, e)}, std::pair{std::max(end, b), e}}) {
      if (x >= y) continue;
      if (!fill) {
        place(x, nullptr, y - x);
        continue;
      }
      std::string kept(y - x, '\0');
      if (Status st = EcRead(c, x, std::span<uint8_t>(U8(kept), kept.size())); !st.ok()) return st;
      place(x, U8c(kept), y - x);
    }
  }
  place(coff, data.data(), data.size());
  std::vector<const uint8_t*> dp(frag.begin(), frag.begin() + static_cast<ptrdiff_t>(k));
  std::vector<uint8_t*> pp(frag.begin() + static_cast<ptrdiff_t>(k), frag.end());
  (*code)->Encode(dp, pp, flen);
  res->assign(n, Status());
  ForAll(n, [&](size_t j) {
    auto s = c.replicas[j] != 0 ? cluster_->Get(c.replicas[j]) : nullptr;
    (*res)[j] = s ? s->Write(c.id, c.version, s0 * kCell, std::span<const uint8_t>(frag[j], flen))
                  : Status(EIO, "fragment lost");
  });
  bool all = std::all_of(res->begin(), res->end(), [](const Status& r) { return r.ok(); });
  if (all)
    KeepStripes(c, s0, s1, part, frag);
  else
    DropStripes(c.id);  // what the fragments hold is mixed now
  return Status();
}

bool Store::PlaceCachedStripe(const ChunkRef& c, uint64_t s,
                              const std::function<void(const std::string&)>& use) {
  std::lock_guard<std::mutex> lk(stripes_mu_);
  for (const StripeCopy& sc : stripes_)
    if (sc.id == c.id && sc.stripe == s) {
      if (sc.version != c.version) return false;
      use(sc.data);
      c_.stripe_hits++;
      return true;
    }
  return false;
}

void Store::KeepStripes(const ChunkRef& c, uint64_t s0, uint64_t s1,
                        const std::vector<uint64_t>& part, const std::vector<uint8_t*>& frag) {
  const uint64_t sd = uint64_t{c.k} * kCell;
  std::vector<StripeCopy> keep;
  keep.reserve(part.size());
  for (uint64_t s : part) {
    const uint64_t b = s * sd, len = std::min((s + 1) * sd, opts_.chunk_size) - b;
    StripeCopy sc{c.id, c.version, s, std::string(len, '\0')};
    Cells(c.k, b, len, [&](uint64_t, uint64_t j, uint64_t o, uint64_t at, uint64_t m) {
      memcpy(sc.data.data() + at, frag[j] + (s - s0) * kCell + o, m);
    });
    keep.push_back(std::move(sc));
  }
  std::lock_guard<std::mutex> lk(stripes_mu_);
  stripes_.remove_if(
      [&](const StripeCopy& sc) { return sc.id == c.id && sc.stripe >= s0 && sc.stripe <= s1; });
  for (StripeCopy& sc : keep) stripes_.push_front(std::move(sc));
  while (stripes_.size() > kStripesKept) stripes_.pop_back();
}

void Store::DropStripes(uint64_t id) {
  std::lock_guard<std::mutex> lk(stripes_mu_);
  stripes_.remove_if([&](const StripeCopy& sc) { return sc.id == id; });
}

Status Store::EcTrim(InodeId ino, uint64_t idx, uint64_t len, ChunkRef c) {
  DropStripes(c.id);  // the stripes past len go
  if (!Granted(c))
    if (Status s = Grant(ino, idx, &c); !s.ok()) return s;
  uint64_t sd = uint64_t{c.k} * kCell, keep = (len + sd - 1) / sd;  // stripes kept
  if (len % sd != 0) {
    // The stripe holding the cut keeps its head: rewrite it with zeros after.
    uint64_t from = len / sd * sd, end = std::min(from + sd, opts_.chunk_size);
    std::string head(len - from, '\0');
    if (Status s = EcRead(c, from, std::span<uint8_t>(U8(head), head.size())); !s.ok()) return s;
    head.resize(end - from, '\0');
    Txn t;
    std::vector<uint64_t> fresh;
    Status s = EcWriteChunk(ino, EcLayout(c.k, c.m), idx, from,
                            std::span<const uint8_t>(U8(head), head.size()), &t, &fresh);
    if (s.ok() && !t.empty()) s = meta_->Commit(t);
    if (!s.ok()) return s;
    if (auto cur = meta_->Chunk(ino, idx)) c = *cur;
  }
  std::vector<Status> res(c.replicas.size());
  ForAll(c.replicas.size(), [&](size_t j) {
    auto s = c.replicas[j] != 0 ? cluster_->Get(c.replicas[j]) : nullptr;
    res[j] = s ? s->Truncate(c.id, c.version, keep * kCell) : Status();
  });
  for (const Status& r : res)
    if (!r.ok()) return r;  // the data are right; the next trim cuts again
  SetClean(c.id, true);
  return Status();
}

Status Store::EcRebuild(const ChunkRef& c, size_t j, ChunkServer* target) {
  auto code = Code(c.k, c.m);
  if (!code.ok()) return code.status();
  const size_t n = size_t{c.k} + c.m;
  uint64_t sd = uint64_t{c.k} * kCell, flen = (opts_.chunk_size + sd - 1) / sd * kCell;
  std::vector<std::string> frag(n);
  std::vector<Result<size_t>> got(n, Result<size_t>(Status(EIO, "not read")));
  // Every other fragment at once; K good ones are enough.
  ForAll(n, [&](size_t i) {
    if (i == j || c.replicas[i] == 0 || !Live(c.replicas[i])) return;
    auto s = cluster_->Get(c.replicas[i]);
    frag[i].assign(flen, '\0');
    got[i] = s->Read(c.id, c.version, 0, std::span<uint8_t>(U8(frag[i]), flen));
  });
  size_t good = 0, len = 0;
  std::unique_ptr<bool[]> present(new bool[n]);
  std::vector<uint8_t*> ptrs(n);
  for (size_t i = 0; i < n; i++) {
    present[i] = got[i].ok();
    if (got[i].ok()) {
      good++;
      len = std::max(len, *got[i]);
    } else {
      frag[i].assign(flen, '\0');
    }
    ptrs[i] = U8(frag[i]);
  }
  if (good < c.k)
    return Status(EIO, "rebuild of " + ReplicaFile(c.id, c.version) + ": only " +
                           std::to_string(good) + " fragments readable");
  Status s = (*code)->Reconstruct(ptrs, std::span<const bool>(present.get(), n), flen);
  if (!s.ok()) return s;
  s = PutWhole(c, target, std::span<const uint8_t>(ptrs[j], len));
  if (s.ok()) Throttle(len * c.k);  // what it read
  return s;
}

void Store::EcRepair(const ChunkPlace& place, uint64_t* made, uint64_t* failed) {
  ChunkRef c = place.chunk;
  {
    std::lock_guard<std::mutex> g(mu_);
    inflight_.insert(c.id);
  }
  std::vector<uint32_t> exclude;
  for (uint32_t r : c.replicas)
    if (r != 0) exclude.push_back(r);
  std::vector<uint32_t> leaving;  // draining but readable: dropped once rebuilt elsewhere
  bool changed = false;
  for (size_t j = 0; j < c.replicas.size(); j++) {
    uint32_t r = c.replicas[j];
    auto s = r != 0 ? cluster_->Get(r) : nullptr;
    if (s && s->alive() && s->state() == ServerState::kActive) continue;
    auto t = cluster_->Place(1, exclude);
    if (t.empty()) break;
    exclude.push_back(t[0]->id());
    if (!EcRebuild(c, j, t[0].get()).ok()) {
      (*failed)++;
      continue;
    }
    if (s && s->alive()) leaving.push_back(r);
    c.replicas[j] = t[0]->id();
    (*made)++;
    changed = true;
  }
  if (changed) {
    Txn t;
    t.SetChunk(place.ino, place.index, c);
    if (meta_->Commit(t).ok())
      for (uint32_t r : leaving)
        if (auto s = cluster_->Get(r)) {
          (void)s->Remove(c.id, c.version);  // the GC retries
          c_.moved++;
        }
  }
  std::lock_guard<std::mutex> g(mu_);
  inflight_.erase(c.id);
  granted_.erase(c.id);
}

}  // namespace storefs
