#include "storefs/etcd_meta.h"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <map>

namespace storefs {

using ninep::Result;
using ninep::Status;

namespace {

constexpr uint64_t kIdBlock = 1024;  // ids taken from a counter per CAS
constexpr int64_t kPage = 1000;      // keys per read when walking a whole table

thread_local Status tls_read_status;

std::string Hex(uint64_t v) {
  char b[17];
  snprintf(b, sizeof b, "%016" PRIx64, v);
  return b;
}
bool UnHex(std::string_view s, uint64_t* v) {
  if (s.size() != 16) return false;
  *v = 0;
  for (char ch : s) {
    int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
    if (d < 0) return false;
    *v = (*v << 4) | static_cast<uint64_t>(d);
  }
  return true;
}

std::string EncodeInode(const Inode& in) {
  Txn t;
  t.Create(in);
  return t.ops;
}
std::string EncodeChunk(InodeId ino, uint64_t index, const ChunkRef& c) {
  Txn t;
  t.SetChunk(ino, index, c);
  return t.ops;
}

// Reads back one record written by the encoders above.
struct One : TxnVisitor {
  std::optional<Inode> in;
  std::optional<ChunkPlace> chunk;
  std::optional<ServerInfo> server;
  void OnCreate(const Inode& i) override { in = i; }
  void OnRemove(InodeId) override {}
  void OnRename(InodeId, InodeId, std::string_view) override {}
  void OnSetAttr(const Inode&) override {}
  void OnSetChunk(InodeId ino, uint64_t index, ChunkRef c) override {
    chunk = ChunkPlace{ino, index, std::move(c)};
  }
  void OnDropChunks(InodeId, uint64_t) override {}
  void OnSetServer(const ServerInfo& s) override { server = s; }
  void OnReserve(InodeId, uint64_t) override {}
  void OnSetLayout(InodeId, uint16_t layout) override {
    if (in) in->layout = layout;
  }
};
std::optional<Inode> DecodeInode(const EtcdKv& kv) {
  One o;
  if (!DecodeTxn(kv.value, &o).ok() || !o.in) return std::nullopt;
  o.in->rev = static_cast<uint64_t>(kv.mod_rev);
  return o.in;
}
std::optional<ChunkPlace> DecodeChunk(const EtcdKv& kv) {
  One o;
  if (!DecodeTxn(kv.value, &o).ok() || !o.chunk) return std::nullopt;
  o.chunk->chunk.rev = static_cast<uint64_t>(kv.mod_rev);
  return o.chunk;
}

EtcdCompare Cmp(std::string key, EtcdCompare::Target t, EtcdCompare::Result r, int64_t n,
                std::string end = "") {
  EtcdCompare c;
  c.key = std::move(key);
  c.range_end = std::move(end);
  c.target = t;
  c.result = r;
  c.number = n;
  return c;
}

}  // namespace

std::string EtcdMetaStore::Key(const char* kind, uint64_t a) const {
  return opts_.prefix + kind + "/" + Hex(a);
}

// Turns one Txn into one etcd transaction: the inodes it touches are
// loaded (from Txn::seen when the caller read them, else from etcd), the
// ops applied to those copies, and every record written is guarded by the
// revision it was read at, every name taken by "absent".
class EtcdMetaStore::Builder : public TxnVisitor {
 public:
  Builder(EtcdMetaStore* m, const Txn& t) : m_(m), t_(t) {}

  // Calls fn(ino, its value after the Txn or nullptr if removed) for every
  // inode the Txn touches.
  void ForEachInode(const std::function<void(InodeId, const Inode*)>& fn) const {
    for (const auto& [ino, e] : inodes_) fn(ino, e.removed ? nullptr : &e.now);
  }

  Status Finish(std::vector<EtcdCompare>* cmp, std::vector<EtcdOp>* ops) {
    if (!err_.ok()) return err_;
    // Deletes first, then puts: a rename onto a removed name reuses its key.
    std::map<std::string, std::optional<std::string>> w = std::move(w_);
    for (auto& [ino, e] : inodes_) {
      if (!e.old_dirent.empty() && (e.removed || e.old_dirent != Dirent(e.now)))
        w.emplace(e.old_dirent, std::nullopt);
      if (e.removed) w[m_->Key("i", ino)] = std::nullopt;
    }
    for (auto& [ino, e] : inodes_) {
      if (e.removed) continue;
      std::string v = EncodeInode(e.now);
      w[m_->Key("i", ino)] = v;
      if (e.now.parent != 0) w[Dirent(e.now)] = v;
    }
    for (auto& [k, v] : w) {
      EtcdOp op;
      op.kind = v ? EtcdOp::kPut : EtcdOp::kDelete;
      op.key = k;
      if (v) op.value = std::move(*v);
      ops->push_back(std::move(op));
    }
    for (auto& [k, c] : cmp_) cmp->push_back(std::move(c));
    return Status();
  }

  void OnCreate(const Inode& in) override {
    Entry& e = inodes_[in.ino];
    e.now = in;
    Guard(Cmp(m_->Key("i", in.ino), EtcdCompare::kVersion, EtcdCompare::kEqual, 0));
    NameFree(Dirent(in));
    ParentExists(in.parent);
  }
  void OnRemove(InodeId ino) override {
    Entry* e = Load(ino);
    if (e == nullptr) return;
    e->removed = true;
    if (e->now.IsDir()) {
      std::string p = DirPrefix(ino);
      Guard(Cmp(p, EtcdCompare::kVersion, EtcdCompare::kEqual, 0, EtcdClient::PrefixEnd(p)));
    }
    DropFrom(ino, ChunkPrefix(ino), EtcdClient::PrefixEnd(ChunkPrefix(ino)));
  }
  void OnRename(InodeId ino, InodeId newparent, std::string_view newname) override {
    Entry* e = Load(ino);
    if (e == nullptr) return;
    e->now.parent = newparent;
    e->now.name = std::string(newname);
    NameFree(Dirent(e->now));
    ParentExists(newparent);
  }
  void OnSetAttr(const Inode& in) override {
    Entry* e = Load(in.ino);
    if (e == nullptr) return;
    Inode& n = e->now;
    n.mode = in.mode;
    n.uid = in.uid;
    n.gid = in.gid;
    n.muid = in.muid;
    n.atime = in.atime;
    n.mtime = in.mtime;
    n.size = in.size;
    n.qvers = in.qvers;
  }
  void OnSetChunk(InodeId ino, uint64_t index, ChunkRef c) override {
    std::string key = ChunkPrefix(ino) + Hex(index);
    uint64_t rev = 0;
    for (const auto& s : t_.seen_chunks)
      if (s.ino == ino && s.index == index) {
        rev = s.rev;
        break;
      }
    if (rev == 0)
      Guard(Cmp(key, EtcdCompare::kVersion, EtcdCompare::kEqual, 0));
    else
      Guard(Cmp(key, EtcdCompare::kMod, EtcdCompare::kEqual, static_cast<int64_t>(rev)));
    ParentExists(ino);  // no chunk for a file another storefs removed
    w_[key] = EncodeChunk(ino, index, c);
    w_[m_->Key("k", c.id)] = Hex(ino) + " " + Hex(index);
  }
  void OnDropChunks(InodeId ino, uint64_t first) override {
    DropFrom(ino, ChunkPrefix(ino) + Hex(first), EtcdClient::PrefixEnd(ChunkPrefix(ino)));
  }
  void OnSetServer(const ServerInfo& s) override {
    // Ids are taken as one more than the largest known: two storefs adding
    // servers at once must not give one id to two addresses.
    std::string key = m_->Key("s", s.id);
    auto kvs = m_->etcd_->Range(key);
    if (!kvs.ok()) {
      err_ = kvs.status();
      return;
    }
    if (kvs->empty()) {
      Guard(Cmp(key, EtcdCompare::kVersion, EtcdCompare::kEqual, 0));
    } else {
      One o;
      if (!DecodeTxn((*kvs)[0].value, &o).ok() || !o.server || o.server->addr != s.addr) {
        err_ = Status(kConflict, "chunk server id taken by another storefs");
        return;
      }
      Guard(Cmp(key, EtcdCompare::kMod, EtcdCompare::kEqual, (*kvs)[0].mod_rev));
    }
    Txn t;
    t.SetServer(s);
    w_[key] = t.ops;
  }
  void OnReserve(InodeId, uint64_t) override {}  // ids come from the n/ counters
  void OnSetLayout(InodeId ino, uint16_t layout) override {
    if (Entry* e = Load(ino)) e->now.layout = layout;
  }

 private:
  struct Entry {
    Inode now;
    std::string old_dirent;  // where it was listed before this Txn ("" if new or the root)
    bool removed = false;
  };

  std::string Dirent(const Inode& in) const {
    return in.parent == 0 ? std::string() : DirPrefix(in.parent) + in.name;
  }
  std::string DirPrefix(InodeId dir) const { return m_->Key("d", dir) + "/"; }
  std::string ChunkPrefix(InodeId ino) const { return m_->Key("c", ino) + "/"; }

  void Guard(EtcdCompare c) {
    std::string id = c.key + '\0' + c.range_end;
    cmp_.emplace(std::move(id), std::move(c));
  }
  // The name must be free, unless this Txn frees it (its old owner's
  // removal is guarded by that inode's revision).
  void NameFree(const std::string& dirent) {
    if (dirent.empty()) return;
    for (auto& [ino, e] : inodes_)
      if (e.removed && e.old_dirent == dirent) return;
    Guard(Cmp(dirent, EtcdCompare::kVersion, EtcdCompare::kEqual, 0));
  }
  void ParentExists(InodeId p) {
    if (p == 0 || inodes_.count(p) != 0) return;
    Guard(Cmp(m_->Key("i", p), EtcdCompare::kVersion, EtcdCompare::kGreater, 0));
  }
  Entry* Load(InodeId ino) {
    auto it = inodes_.find(ino);
    if (it != inodes_.end()) return &it->second;
    std::optional<Inode> in;
    for (const Inode& s : t_.seen)
      if (s.ino == ino) {
        in = s;
        break;
      }
    if (!in) {
      in = m_->Get(ino);
      if (!in) {
        Status rs = m_->ReadStatus();
        err_ = rs.ok() ? Status(kConflict, "metadata: inode removed by another storefs") : rs;
        return nullptr;
      }
    }
    Guard(Cmp(m_->Key("i", ino), EtcdCompare::kMod, EtcdCompare::kEqual,
              static_cast<int64_t>(in->rev)));
    Entry& e = inodes_[ino];
    e.now = *in;
    e.old_dirent = Dirent(*in);
    return &e;
  }
  // Deletes the chunk records in [from, end) of ino and their k/ entries,
  // guarded by "nothing there changed since this read".
  void DropFrom(InodeId ino, const std::string& from, const std::string& end) {
    int64_t rev = 0;
    auto kvs = m_->etcd_->Range(from, end, 0, &rev);
    if (!kvs.ok()) {
      err_ = kvs.status();
      return;
    }
    for (const auto& kv : *kvs) {
      w_[kv.key] = std::nullopt;
      if (auto p = DecodeChunk(kv)) w_[m_->Key("k", p->chunk.id)] = std::nullopt;
    }
    Guard(Cmp(from, EtcdCompare::kMod, EtcdCompare::kLess, rev + 1, end));
    (void)ino;
  }

  EtcdMetaStore* m_;
  const Txn& t_;
  std::map<InodeId, Entry> inodes_;
  std::map<std::string, EtcdCompare> cmp_;
  std::map<std::string, std::optional<std::string>> w_;
  Status err_;
};

Result<std::unique_ptr<EtcdMetaStore>> EtcdMetaStore::Open(std::string_view spec,
                                                           const Options& opts) {
  EtcdClient::Options eo;
  eo.timeout = opts.timeout;
  auto c = EtcdClient::Open(spec, eo);
  if (!c.ok()) return c.status();
  if (opts.lease_ttl < 1) return Status(EINVAL, "etcd: the lease TTL must be at least 1 s");
  std::unique_ptr<EtcdMetaStore> m(new EtcdMetaStore(std::move(*c), opts));
  if (Status s = m->Init(); !s.ok()) return s;
  return m;
}

EtcdMetaStore::EtcdMetaStore(std::unique_ptr<EtcdClient> etcd, const Options& opts)
    : etcd_(std::move(etcd)), opts_(opts) {
  if (opts_.name.empty()) {
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    const_cast<Options&>(opts_).name = std::string(host) + ":" + std::to_string(getpid());
  }
}

Status EtcdMetaStore::Init() {
  std::vector<EtcdOp> puts{
      {EtcdOp::kPut, Key("i", kRootIno), EncodeInode(NewRoot(opts_.owner)), "", 0},
      {EtcdOp::kPut, opts_.prefix + "n/ino", std::to_string(kRootIno + 1), "", 0},
      {EtcdOp::kPut, opts_.prefix + "n/chunk", "1", "", 0},
  };
  auto r =
      etcd_->Txn({Cmp(Key("i", kRootIno), EtcdCompare::kVersion, EtcdCompare::kEqual, 0)}, puts);
  if (!r.ok()) return r.status();
  // Claims and the leader key hang on this lease: a new one means they
  // are gone (and the elector campaigns again).
  auto session = store::EtcdSession::Start(etcd_.get(), opts_.lease_ttl, [this](int64_t) {
    leading_ = false;
    fprintf(stderr, "storefs: etcd lease expired: chunk claims and leadership lost\n");
  });
  if (!session.ok()) return session.status();
  session_ = std::move(*session);
  elector_ = std::thread([this] { Elect(); });
  return Status();
}

EtcdMetaStore::~EtcdMetaStore() {
  if (session_) session_->Stop();
  if (elector_.joinable()) elector_.join();
  session_.reset();  // revokes the lease: our claims go now, not after the TTL
}

void EtcdMetaStore::Elect() {
  std::string name = opts_.prefix + "leader";
  for (;;) {
    int64_t lease = session_->lease();
    // etcd answers once we lead, or gives up (and withdraws us) at the
    // timeout; then we ask again, so a stop is noticed within it.
    auto r = etcd_->Campaign(name, opts_.name, lease, std::chrono::milliseconds(3000));
    if (!r.ok()) {
      if (r.status().err() == ETIMEDOUT) {
        if (!session_->Running()) return;
        continue;
      }
      if (!session_->Pause(std::chrono::milliseconds(500))) return;
      continue;
    }
    if (session_->lease() != lease) continue;  // elected under a lease since expired
    leading_ = true;
    fprintf(stderr, "storefs: leading the store's repair and garbage collection\n");
    // Leads until its lease goes (the session then takes a new one).
    bool running = session_->WaitWhile(lease);
    leading_ = false;
    if (!running) return;
  }
}

void EtcdMetaStore::Note(const Status& s) const {
  tls_read_status = s;
  if (s.ok()) return;
  std::lock_guard<std::mutex> lk(err_mu_);
  last_error_ = s.message();
}

std::string EtcdMetaStore::last_error() const {
  std::lock_guard<std::mutex> lk(err_mu_);
  return last_error_;
}

Status EtcdMetaStore::ReadStatus() const { return tls_read_status; }

Result<uint64_t> EtcdMetaStore::Apply(const Txn& t) {
  if (t.empty()) return uint64_t{0};
  Builder b(this, t);
  if (Status s = DecodeTxn(t.ops, &b); !s.ok()) return s;
  std::vector<EtcdCompare> cmp;
  std::vector<EtcdOp> ops;
  if (Status s = b.Finish(&cmp, &ops); !s.ok()) return s;
  auto r = etcd_->Txn(cmp, ops);
  // What this Txn wrote is what the next change to those inodes guards on;
  // after a failure or a lost race the copies may be wrong: forget them.
  bool won = r.ok() && r->succeeded;
  {
    std::lock_guard<std::mutex> lk(guard_mu_);
    if (guard_.size() > 4096) guard_.clear();
    b.ForEachInode([&](InodeId ino, const Inode* now) {
      if (!won || now == nullptr || !now->IsDir()) {  // creates guard on directories
        guard_.erase(ino);
        return;
      }
      Inode c = *now;
      c.rev = static_cast<uint64_t>(r->revision);
      guard_[ino] = std::move(c);
    });
  }
  if (!r.ok()) return r.status();
  if (!r->succeeded) {
    conflicts_++;
    return Status(kConflict, "metadata changed under another storefs; try again");
  }
  commits_++;
  return static_cast<uint64_t>(r->revision);
}

// etcd answered the transaction only once a majority had it on disk.
Status EtcdMetaStore::Wait(uint64_t) { return Status(); }
void EtcdMetaStore::WaitAsync(uint64_t, std::function<void(Status)> done) { done(Status()); }

std::optional<Inode> EtcdMetaStore::Get(InodeId ino) const {
  auto kvs = etcd_->Range(Key("i", ino));
  Note(kvs.status());
  if (!kvs.ok() || kvs->empty()) return std::nullopt;
  return DecodeInode((*kvs)[0]);
}

std::optional<Inode> EtcdMetaStore::GetToChange(InodeId ino) const {
  {
    // This storefs's last write of it, if any: stale only if another
    // storefs changed it since, and then the Txn guarded by it loses.
    std::lock_guard<std::mutex> lk(guard_mu_);
    if (auto it = guard_.find(ino); it != guard_.end()) {
      tls_read_status = Status();
      return it->second;
    }
  }
  auto kvs = etcd_->Range(Key("i", ino), "", 0, nullptr, /*serializable=*/true);
  Note(kvs.status());
  if (!kvs.ok() || kvs->empty()) return std::nullopt;
  return DecodeInode((*kvs)[0]);
}

std::optional<Inode> EtcdMetaStore::Lookup(InodeId dir, std::string_view name) const {
  auto kvs = etcd_->Range(Key("d", dir) + "/" + std::string(name));
  Note(kvs.status());
  if (!kvs.ok() || kvs->empty()) return std::nullopt;
  return DecodeInode((*kvs)[0]);
}

Result<std::vector<EtcdKv>> EtcdMetaStore::RangeAll(const std::string& key,
                                                    const std::string& end) const {
  std::vector<EtcdKv> all;
  std::string from = key;
  for (;;) {
    auto kvs = etcd_->Range(from, end, kPage);
    if (!kvs.ok()) return kvs.status();
    bool more = static_cast<int64_t>(kvs->size()) == kPage;
    for (auto& kv : *kvs) all.push_back(std::move(kv));
    if (!more) return all;
    from = all.back().key + '\0';
  }
}

std::vector<Inode> EtcdMetaStore::List(InodeId dir) const {
  std::string p = Key("d", dir) + "/";
  auto kvs = RangeAll(p, EtcdClient::PrefixEnd(p));
  Note(kvs.status());
  std::vector<Inode> out;
  if (!kvs.ok()) return out;
  out.reserve(kvs->size());
  for (const auto& kv : *kvs)
    if (auto in = DecodeInode(kv)) out.push_back(std::move(*in));
  return out;
}

bool EtcdMetaStore::Empty(InodeId dir) const {
  std::string p = Key("d", dir) + "/";
  auto kvs = etcd_->Range(p, EtcdClient::PrefixEnd(p), 1);
  Note(kvs.status());
  // Unknown counts as not empty: a remove then fails rather than orphaning.
  return kvs.ok() && kvs->empty();
}

std::vector<std::pair<uint64_t, ChunkRef>> EtcdMetaStore::Chunks(InodeId ino) const {
  std::string p = Key("c", ino) + "/";
  auto kvs = RangeAll(p, EtcdClient::PrefixEnd(p));
  Note(kvs.status());
  std::vector<std::pair<uint64_t, ChunkRef>> out;
  if (!kvs.ok()) return out;
  out.reserve(kvs->size());
  for (const auto& kv : *kvs)
    if (auto c = DecodeChunk(kv)) out.emplace_back(c->index, std::move(c->chunk));
  return out;
}

std::optional<ChunkRef> EtcdMetaStore::Chunk(InodeId ino, uint64_t index) const {
  auto kvs = etcd_->Range(Key("c", ino) + "/" + Hex(index));
  Note(kvs.status());
  if (!kvs.ok() || kvs->empty()) return std::nullopt;
  auto c = DecodeChunk((*kvs)[0]);
  if (!c) return std::nullopt;
  return c->chunk;
}

std::optional<ChunkPlace> EtcdMetaStore::FindChunk(uint64_t id) const {
  auto kvs = etcd_->Range(Key("k", id));
  Note(kvs.status());
  if (!kvs.ok() || kvs->empty()) return std::nullopt;
  const std::string& v = (*kvs)[0].value;
  uint64_t ino = 0, index = 0;
  if (v.size() != 33 || !UnHex(std::string_view(v).substr(0, 16), &ino) ||
      !UnHex(std::string_view(v).substr(17), &index))
    return std::nullopt;
  auto c = Chunk(ino, index);
  // k/ID outlives a chunk replaced at its index: the chunk record decides.
  if (!c || c->id != id) return std::nullopt;
  return ChunkPlace{ino, index, std::move(*c)};
}

void EtcdMetaStore::ForEachChunk(const std::function<void(const ChunkPlace&)>& fn) const {
  std::string p = opts_.prefix + "c/";
  auto kvs = RangeAll(p, EtcdClient::PrefixEnd(p));
  Note(kvs.status());
  if (!kvs.ok()) return;
  for (const auto& kv : *kvs)
    if (auto c = DecodeChunk(kv)) fn(*c);
}

std::vector<ServerInfo> EtcdMetaStore::Servers() const {
  std::string p = opts_.prefix + "s/";
  auto kvs = RangeAll(p, EtcdClient::PrefixEnd(p));
  Note(kvs.status());
  std::vector<ServerInfo> out;
  if (!kvs.ok()) return out;
  for (const auto& kv : *kvs) {
    One o;
    if (DecodeTxn(kv.value, &o).ok() && o.server) out.push_back(*o.server);
  }
  return out;
}

Result<uint64_t> EtcdMetaStore::NextId(const std::string& what, uint64_t* next, uint64_t* limit) {
  std::lock_guard<std::mutex> lk(id_mu_);
  while (*next >= *limit) {
    std::string key = opts_.prefix + "n/" + what;
    auto kvs = etcd_->Range(key);
    if (!kvs.ok()) return kvs.status();
    if (kvs->empty()) return Status(EIO, "metadata: counter " + key + " is missing");
    uint64_t from = strtoull((*kvs)[0].value.c_str(), nullptr, 10);
    auto r = etcd_->Txn({Cmp(key, EtcdCompare::kMod, EtcdCompare::kEqual, (*kvs)[0].mod_rev)},
                        {{EtcdOp::kPut, key, std::to_string(from + kIdBlock), "", 0}});
    if (!r.ok()) return r.status();
    if (r->succeeded) {
      *next = from;
      *limit = from + kIdBlock;
    }
  }
  return (*next)++;
}

Result<InodeId> EtcdMetaStore::NewInode() { return NextId("ino", &ino_next_, &ino_limit_); }

std::optional<InodeId> EtcdMetaStore::TryNewInode() {
  std::lock_guard<std::mutex> lk(id_mu_);
  if (ino_next_ >= ino_limit_) return std::nullopt;
  return ino_next_++;
}

Result<uint64_t> EtcdMetaStore::NewChunkId() {
  return NextId("chunk", &chunk_next_, &chunk_limit_);
}

MetaStats EtcdMetaStore::Stats() const {
  MetaStats m;
  m.commits = commits_.load();
  std::string p = opts_.prefix + "i/";
  auto kvs = RangeAll(p, EtcdClient::PrefixEnd(p));
  if (!kvs.ok()) {
    m.recovery = kvs.status().message();
    return m;
  }
  for (const auto& kv : *kvs) {
    auto in = DecodeInode(kv);
    if (!in) continue;
    m.inodes++;
    (in->IsDir() ? m.dirs : m.files)++;
    m.bytes += in->IsDir() ? 0 : in->size;
  }
  std::string c = opts_.prefix + "c/";
  auto n = etcd_->Count(c, EtcdClient::PrefixEnd(c));
  if (n.ok()) m.chunks = static_cast<uint64_t>(*n);
  return m;
}

Status EtcdMetaStore::ClaimChunk(uint64_t id) {
  std::string key = Key("l", id);
  int64_t lease = session_->lease();
  EtcdOp put{EtcdOp::kPut, key, opts_.name, "", lease};
  EtcdOp get{EtcdOp::kRange, key, "", "", 0};
  EtcdCompare absent = Cmp(key, EtcdCompare::kVersion, EtcdCompare::kEqual, 0);
  auto r = etcd_->Txn({absent}, {put}, {get});
  if (!r.ok()) return r.status();
  if (r->succeeded) return Status();
  const auto& held = r->ranges.empty() ? std::vector<EtcdKv>() : r->ranges[0];
  if (!held.empty() && held[0].value == opts_.name && held[0].lease == lease) return Status();
  std::string who = held.empty() ? "another storefs" : held[0].value;
  return Status(EBUSY, "chunk " + Hex(id) + " is being written through " + who);
}

std::optional<std::set<std::string>> EtcdMetaStore::Registered() const {
  std::string p = opts_.prefix + "chunkd/";
  auto kvs = RangeAll(p, EtcdClient::PrefixEnd(p));
  Note(kvs.status());
  if (!kvs.ok()) return std::nullopt;
  std::set<std::string> out;
  for (const auto& kv : *kvs) out.insert(kv.value);
  return out;
}

bool EtcdMetaStore::Claimed(uint64_t id) const {
  auto kvs = etcd_->Range(Key("l", id));
  Note(kvs.status());
  return !kvs.ok() || !kvs->empty();
}

void EtcdMetaStore::ReleaseChunk(uint64_t id) {
  std::string key = Key("l", id);
  // Only our own claim: a compare on the value and lease we put.
  EtcdCompare mine = Cmp(key, EtcdCompare::kValue, EtcdCompare::kEqual, 0);
  mine.value = opts_.name;
  auto r = etcd_->Txn({mine}, {{EtcdOp::kDelete, key, "", "", 0}});
  if (!r.ok()) Note(r.status());
}

}  // namespace storefs
