#include "storefs/wal_meta.h"

#include <algorithm>
#include <ctime>
#include <deque>
#include <limits>
#include <unordered_set>

namespace storefs {

using ninep::Result;
using ninep::Status;

namespace {
constexpr uint64_t kReserveStep = 4096;  // ids reserved per log record
// No id is handed out at or past this: a log that names one (a bad disk, a
// foreign file) exhausts the ids instead of wrapping them to reused ones.
constexpr uint64_t kLastId = std::numeric_limits<uint64_t>::max() - kReserveStep;
// The id after `id`, stopping at kLastId.
uint64_t After(uint64_t id) { return id >= kLastId ? kLastId : id + 1; }
}  // namespace

struct WalMetaStore::State : TxnVisitor {
  struct Node {
    Inode in;
    std::map<std::string, InodeId, std::less<>> kids;  // directories
    std::map<uint64_t, ChunkRef> chunks;               // files: index -> chunk
  };
  std::unordered_map<InodeId, Node> nodes;
  std::unordered_map<uint64_t, std::pair<InodeId, uint64_t>> chunk_at;  // id -> (ino, index)
  std::map<uint32_t, ServerInfo> servers;
  InodeId ino_limit = kRootIno + 1, next_ino = kRootIno + 1;
  uint64_t chunk_limit = 1, next_chunk = 1;

  void OnCreate(const Inode& in) override {
    Node& n = nodes[in.ino];
    n.in = in;
    if (in.parent != 0) {
      auto p = nodes.find(in.parent);
      if (p != nodes.end()) p->second.kids[in.name] = in.ino;
    }
    if (in.ino >= next_ino) next_ino = After(in.ino);
  }
  void OnRemove(InodeId ino) override {
    auto it = nodes.find(ino);
    if (it == nodes.end()) return;
    auto p = nodes.find(it->second.in.parent);
    if (p != nodes.end()) {
      auto k = p->second.kids.find(it->second.in.name);
      if (k != p->second.kids.end() && k->second == ino) p->second.kids.erase(k);
    }
    for (auto& [i, c] : it->second.chunks) chunk_at.erase(c.id);
    nodes.erase(it);
  }
  void OnRename(InodeId ino, InodeId np, std::string_view name) override {
    auto it = nodes.find(ino);
    auto p2 = nodes.find(np);
    if (it == nodes.end() || p2 == nodes.end()) return;
    auto p = nodes.find(it->second.in.parent);
    if (p != nodes.end()) p->second.kids.erase(it->second.in.name);
    it->second.in.parent = np;
    it->second.in.name = name;
    p2->second.kids[std::string(name)] = ino;
  }
  void OnSetAttr(const Inode& in) override {
    auto it = nodes.find(in.ino);
    if (it == nodes.end()) return;
    Inode& d = it->second.in;
    d.mode = in.mode;
    d.uid = in.uid;
    d.gid = in.gid;
    d.muid = in.muid;
    d.atime = in.atime;
    d.mtime = in.mtime;
    d.size = in.size;
    d.qvers = in.qvers;
  }
  void OnSetChunk(InodeId ino, uint64_t index, ChunkRef c) override {
    auto it = nodes.find(ino);
    if (it == nodes.end()) return;
    auto& slot = it->second.chunks[index];
    if (slot.id != 0 && slot.id != c.id) chunk_at.erase(slot.id);
    chunk_at[c.id] = {ino, index};
    if (c.id >= next_chunk) next_chunk = After(c.id);
    slot = std::move(c);
  }
  void OnDropChunks(InodeId ino, uint64_t first) override {
    auto it = nodes.find(ino);
    if (it == nodes.end()) return;
    auto& ch = it->second.chunks;
    for (auto c = ch.lower_bound(first); c != ch.end();) {
      chunk_at.erase(c->second.id);
      c = ch.erase(c);
    }
  }
  void OnSetServer(const ServerInfo& s) override { servers[s.id] = s; }
  void OnSetLayout(InodeId ino, uint16_t layout) override {
    auto it = nodes.find(ino);
    if (it != nodes.end()) it->second.in.layout = layout;
  }
  void OnReserve(InodeId il, uint64_t cl) override {
    ino_limit = std::max(ino_limit, il);
    chunk_limit = std::max(chunk_limit, cl);
  }

  // The whole state as one Txn (parents before children).
  std::string Image() const {
    Txn t;
    t.Reserve(ino_limit, chunk_limit);
    for (auto& [id, s] : servers) t.SetServer(s);
    std::deque<InodeId> q{kRootIno};
    // Each inode once: a log from a bad disk can hold a directory in its
    // own subtree, and the image must still end.
    std::unordered_set<InodeId> emitted;
    while (!q.empty()) {
      auto it = nodes.find(q.front());
      q.pop_front();
      if (it == nodes.end() || !emitted.insert(it->first).second) continue;
      t.Create(it->second.in);
      for (auto& [i, c] : it->second.chunks) t.SetChunk(it->first, i, c);
      for (auto& [name, k] : it->second.kids) q.push_back(k);
    }
    return std::move(t.ops);
  }
};

WalMetaStore::WalMetaStore(const Options& opts) : opts_(opts), st_(std::make_unique<State>()) {}

WalMetaStore::~WalMetaStore() {
  DrainAsync();  // the callbacks touch this object
  std::lock_guard<std::mutex> lk(snap_mu_);
  if (snapper_.joinable()) snapper_.join();
}

Result<std::unique_ptr<WalMetaStore>> WalMetaStore::Open(const std::string& dir,
                                                         const Options& opts) {
  std::unique_ptr<WalMetaStore> m(new WalMetaStore(opts));
  State* st = m->st_.get();
  store::Wal::Options wo;
  wo.sync = opts.sync;
  auto apply = [st](std::string_view rec) { return DecodeTxn(rec, st); };
  auto w = store::Wal::Open(dir, wo, apply, apply);
  if (!w.ok()) return w.status();
  m->wal_ = std::move(*w);
  // Ids up to the reserved limits may have been handed out before a crash.
  st->next_ino = std::max(st->next_ino, st->ino_limit);
  st->next_chunk = std::max(st->next_chunk, st->chunk_limit);
  if (st->nodes.find(kRootIno) == st->nodes.end()) {
    Txn t;
    t.Create(NewRoot(opts.owner));
    Status s = m->Commit(t);
    if (!s.ok()) return s;
  }
  return m;
}

Result<uint64_t> WalMetaStore::Apply(const Txn& t) {
  std::unique_lock<std::shared_mutex> lk(mu_);
  if (t.empty()) return last_ticket_;
  Status s = DecodeTxn(t.ops, st_.get());
  if (!s.ok()) return s;
  last_ticket_ = wal_->Write(t.ops);
  return last_ticket_;
}

Status WalMetaStore::Wait(uint64_t ticket) {
  Status s = ticket == 0 ? Status() : wal_->Sync(ticket);
  commits_++;
  if (s.ok()) MaybeSnapshot();
  return s;
}

void WalMetaStore::WaitAsync(uint64_t ticket, std::function<void(Status)> done) {
  auto after = [this, done = std::move(done)](const Status& s) {
    commits_++;
    if (s.ok()) MaybeSnapshot();
    done(s);
  };
  if (ticket == 0) return after(Status());
  wal_->SyncAsync(ticket, std::move(after));
}

void WalMetaStore::DrainAsync() {
  if (wal_) wal_->DrainAsync();  // none when Open failed before the log opened
}

void WalMetaStore::MaybeSnapshot() {
  if (wal_->stats().log_bytes < opts_.snapshot_bytes || snapshotting_.exchange(true)) return;
  std::lock_guard<std::mutex> lk(snap_mu_);
  if (snapper_.joinable()) snapper_.join();
  snapper_ = std::thread([this] {
    Status s = Snapshot();
    if (!s.ok()) fprintf(stderr, "storefs: metadata snapshot: %s\n", s.message().c_str());
    snapshotting_ = false;
  });
}

Status WalMetaStore::Snapshot() {
  std::string image;
  uint64_t gen;
  {
    std::unique_lock<std::shared_mutex> lk(mu_);
    auto g = wal_->Rotate();
    if (!g.ok()) return g.status();
    gen = *g;
    image = st_->Image();
  }
  return wal_->WriteSnapshot(gen, image);
}

std::optional<Inode> WalMetaStore::Get(InodeId ino) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  auto it = st_->nodes.find(ino);
  if (it == st_->nodes.end()) return std::nullopt;
  return it->second.in;
}

std::optional<Inode> WalMetaStore::Lookup(InodeId dir, std::string_view name) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  auto it = st_->nodes.find(dir);
  if (it == st_->nodes.end()) return std::nullopt;
  auto k = it->second.kids.find(name);
  if (k == it->second.kids.end()) return std::nullopt;
  auto n = st_->nodes.find(k->second);
  if (n == st_->nodes.end()) return std::nullopt;
  return n->second.in;
}

std::vector<Inode> WalMetaStore::List(InodeId dir) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  std::vector<Inode> out;
  auto it = st_->nodes.find(dir);
  if (it == st_->nodes.end()) return out;
  out.reserve(it->second.kids.size());
  for (auto& [name, k] : it->second.kids) {
    auto n = st_->nodes.find(k);
    if (n != st_->nodes.end()) out.push_back(n->second.in);
  }
  return out;
}

bool WalMetaStore::Empty(InodeId dir) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  auto it = st_->nodes.find(dir);
  return it == st_->nodes.end() || it->second.kids.empty();
}

std::vector<std::pair<uint64_t, ChunkRef>> WalMetaStore::Chunks(InodeId ino) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  std::vector<std::pair<uint64_t, ChunkRef>> out;
  auto it = st_->nodes.find(ino);
  if (it != st_->nodes.end()) out.assign(it->second.chunks.begin(), it->second.chunks.end());
  return out;
}

std::optional<ChunkRef> WalMetaStore::Chunk(InodeId ino, uint64_t index) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  auto it = st_->nodes.find(ino);
  if (it == st_->nodes.end()) return std::nullopt;
  auto c = it->second.chunks.find(index);
  if (c == it->second.chunks.end()) return std::nullopt;
  return c->second;
}

std::optional<ChunkPlace> WalMetaStore::FindChunk(uint64_t id) const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  auto it = st_->chunk_at.find(id);
  if (it == st_->chunk_at.end()) return std::nullopt;
  auto n = st_->nodes.find(it->second.first);
  if (n == st_->nodes.end()) return std::nullopt;
  auto c = n->second.chunks.find(it->second.second);
  if (c == n->second.chunks.end()) return std::nullopt;
  return ChunkPlace{it->second.first, it->second.second, c->second};
}

void WalMetaStore::ForEachChunk(const std::function<void(const ChunkPlace&)>& fn) const {
  std::vector<ChunkPlace> all;
  {
    std::shared_lock<std::shared_mutex> lk(mu_);
    all.reserve(st_->chunk_at.size());
    for (auto& [ino, n] : st_->nodes)
      for (auto& [i, c] : n.chunks) all.push_back(ChunkPlace{ino, i, c});
  }
  for (const auto& p : all) fn(p);
}

std::vector<ServerInfo> WalMetaStore::Servers() const {
  std::shared_lock<std::shared_mutex> lk(mu_);
  std::vector<ServerInfo> out;
  for (auto& [id, s] : st_->servers) out.push_back(s);
  return out;
}

Result<InodeId> WalMetaStore::NewInode() {
  for (;;) {
    InodeId from, climit;
    {
      std::unique_lock<std::shared_mutex> lk(mu_);
      if (st_->next_ino < st_->ino_limit) return st_->next_ino++;
      // From the highest id in use, so one reservation always suffices.
      from = std::max(st_->next_ino, st_->ino_limit);
      climit = st_->chunk_limit;
    }
    if (from >= kLastId) return Status(ENOSPC, "storefs: inode numbers exhausted");
    Txn t;
    t.Reserve(from + kReserveStep, climit);
    Status s = Commit(t);
    if (!s.ok()) return s;
  }
}

std::optional<InodeId> WalMetaStore::TryNewInode() {
  std::unique_lock<std::shared_mutex> lk(mu_);
  if (st_->next_ino < st_->ino_limit) return st_->next_ino++;
  return std::nullopt;
}

Result<uint64_t> WalMetaStore::NewChunkId() {
  for (;;) {
    InodeId limit, from;
    {
      std::unique_lock<std::shared_mutex> lk(mu_);
      if (st_->next_chunk < st_->chunk_limit) return st_->next_chunk++;
      limit = st_->ino_limit;
      from = std::max(st_->next_chunk, st_->chunk_limit);
    }
    if (from >= kLastId) return Status(ENOSPC, "storefs: chunk ids exhausted");
    Txn t;
    t.Reserve(limit, from + kReserveStep);
    Status s = Commit(t);
    if (!s.ok()) return s;
  }
}

MetaStats WalMetaStore::Stats() const {
  MetaStats m;
  {
    std::shared_lock<std::shared_mutex> lk(mu_);
    m.inodes = st_->nodes.size();
    for (auto& [ino, n] : st_->nodes) {
      if (n.in.IsDir())
        m.dirs++;
      else
        m.files++;
      m.bytes += n.in.size;
    }
    m.chunks = st_->chunk_at.size();
  }
  store::WalStats w = wal_->stats();
  m.commits = commits_;
  m.log_syncs = w.syncs;
  m.log_bytes = w.log_bytes;
  m.snapshots = w.snapshots;
  const auto& r = wal_->recovery();
  if (!r.cut_reason.empty())
    m.recovery = "cut " + std::to_string(r.cut_bytes) + " bytes: " + r.cut_reason;
  return m;
}

}  // namespace storefs
