#include "storefs/cluster.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <random>
#include <sstream>

#include "chunkd/replica.h"
#include "storelib/fileio.h"

namespace storefs {

using ninep::Errno;
using ninep::Fid;
using ninep::Result;
using ninep::Status;

std::string ReplicaFile(uint64_t id, uint64_t ver) {
  return chunkd::IdName(id) + "." + std::to_string(ver);
}

namespace {

// The threads ForAll hands calls to. Making a thread per call cost a
// clone, a stack's page faults and a join each time (a tenth of storefs's
// CPU on an erasure-coded write); these are kept. There are as many as
// calls ever ran at once: each call blocks on a chunk server, so a fixed
// few would run them one after another. One idle for a minute ends.
class Helpers {
 public:
  // Never destroyed: idle helpers may still wait in it when the process exits.
  static Helpers& Get() {
    static Helpers* h = new Helpers;
    return *h;
  }
  // Runs task on a helper, starting one when none is idle; false (the
  // task dropped) when kMax are busy.
  bool Run(std::function<void()> task) {
    std::lock_guard<std::mutex> lk(mu_);
    if (idle_ <= q_.size()) {
      if (threads_ >= kMax) return false;
      threads_++;
      std::thread([this] { Serve(); }).detach();
    }
    q_.push_back(std::move(task));
    cv_.notify_one();
    return true;
  }

 private:
  static constexpr size_t kMax = 1024;
  void Serve() {
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      idle_++;
      bool got = cv_.wait_for(lk, std::chrono::minutes(1), [&] { return !q_.empty(); });
      idle_--;
      if (!got) break;
      auto task = std::move(q_.front());
      q_.pop_front();
      lk.unlock();
      task();
      lk.lock();
    }
    threads_--;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> q_;
  size_t idle_ = 0, threads_ = 0;
};

}  // namespace

void ForAll(size_t n, const std::function<void(size_t)>& fn) {
  if (n <= 1) {
    if (n == 1) fn(0);
    return;
  }
  // Each index runs once, on whichever thread takes it first: a helper, or
  // the caller once it is done with its own, so a call never waits for a
  // helper that has not started (none may be free when ForAlls nest).
  struct Shared {
    explicit Shared(size_t n) : taken(new std::atomic<bool>[n]), left(n) {
      for (size_t i = 0; i < n; i++) taken[i] = false;
    }
    std::unique_ptr<std::atomic<bool>[]> taken;
    std::mutex mu;
    std::condition_variable cv;
    size_t left;
  };
  auto sh = std::make_shared<Shared>(n);
  // fn is touched only by the thread that takes an index, and the caller
  // waits for every index: a helper that finds its index taken never
  // reaches fn, which may be gone by then.
  auto run = [&fn](Shared* st, size_t i) {
    if (st->taken[i].exchange(true)) return;
    fn(i);
    std::lock_guard<std::mutex> lk(st->mu);
    if (--st->left == 0) st->cv.notify_all();
  };
  for (size_t i = 1; i < n; i++)
    if (!Helpers::Get().Run([sh, i, run] { run(sh.get(), i); })) break;
  for (size_t i = 0; i < n; i++) run(sh.get(), i);
  std::unique_lock<std::mutex> lk(sh->mu);
  sh->cv.wait(lk, [&] { return sh->left == 0; });
}

namespace {
// Counts a call in flight on a server, for placement by load.
struct InFlight {
  explicit InFlight(std::atomic<int>* n) : n_(n) { ++*n_; }
  ~InFlight() { --*n_; }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  std::atomic<int>* n_;
};
// Errors that say the connection, not the request, failed.
bool ConnError(int e) {
  return e == EPIPE || e == ECONNRESET || e == ETIMEDOUT || e == ECONNREFUSED || e == ENOTCONN ||
         e == ECANCELED;
}
}  // namespace

ChunkServer::ChunkServer(uint32_t id, std::string addr, const ClusterOptions& opts)
    : id_(id), addr_(std::move(addr)), opts_(opts), last_ok_(std::chrono::steady_clock::now()) {}

ChunkServer::~ChunkServer() = default;

Status ChunkServer::Fail(const Status& s, const char* what) {
  errors_++;
  if (ConnError(s.err())) {
    // Drop the connection, so the next call (or heartbeat) dials again.
    std::lock_guard<std::mutex> lk(mu_);
    if (conn_ && !conn_->client->alive()) conn_.reset();
  }
  return Status(s.err(), "chunkd " + addr_ + ": " + what + ": " + s.message());
}

Result<std::shared_ptr<ChunkServer::Conn>> ChunkServer::Get(bool for_heartbeat) {
  if (!alive_ && !for_heartbeat) return Status(EHOSTDOWN, "chunkd " + addr_ + ": dead");
  std::lock_guard<std::mutex> lk(mu_);
  if (conn_ && conn_->client->alive()) return conn_;
  conn_.reset();
  ninep::ClientOptions co;
  co.dialect = ninep::Dialect::k9P2000L;
  co.msize = opts_.msize;
  co.connect_timeout = opts_.call_timeout;
  co.call_timeout = opts_.call_timeout;
  auto c = ninep::Client::Connect(addr_, co);
  if (!c.ok()) return Status(c.status().err(), "chunkd " + addr_ + ": " + c.status().message());
  auto conn = std::make_shared<Conn>();
  conn->client = std::move(*c);
  auto root = conn->client->Attach("storefs", "");
  if (!root.ok())
    return Status(root.status().err(), "chunkd " + addr_ + ": attach: " + root.status().message());
  conn->root = std::move(*root);
  if (had_conn_) reconnected_ = true;  // it may have restarted: its replicas need a look
  had_conn_ = true;
  conn_ = conn;
  return conn;
}

Result<ChunkServer::OpenFid> ChunkServer::Open(uint64_t id, uint64_t ver) {
  auto c = Get();
  if (!c.ok()) return c.status();
  Conn& conn = **c;
  {
    std::lock_guard<std::mutex> lk(conn.kept_mu);
    for (auto it = conn.kept.begin(); it != conn.kept.end(); ++it)
      if (it->id == id && it->ver == ver) {
        conn.kept.splice(conn.kept.begin(), conn.kept, it);
        return OpenFid{*c, it->fid, true};
      }
  }
  auto f = conn.root.Walk("chunks/" + ReplicaFile(id, ver));
  if (!f.ok()) return f.status();
  Status s = f->Open(ninep::ORDWR);
  if (!s.ok()) return s;
  auto fid = std::make_shared<ninep::Fid>(std::move(*f));
  std::lock_guard<std::mutex> lk(conn.kept_mu);
  conn.kept.push_front(KeptFid{id, ver, fid});
  if (conn.kept.size() > kKeptFids) conn.kept.pop_back();  // clunked once unused
  return OpenFid{*c, std::move(fid), false};
}

void ChunkServer::Forget(uint64_t id, const ninep::Fid* f) {
  std::shared_ptr<Conn> c;
  {
    std::lock_guard<std::mutex> lk(mu_);
    c = conn_;
  }
  if (!c) return;
  std::lock_guard<std::mutex> lk(c->kept_mu);
  c->kept.remove_if([&](const KeptFid& k) { return k.id == id && (!f || k.fid.get() == f); });
}

template <class T>
Result<T> ChunkServer::OnReplica(uint64_t id, uint64_t ver, const char* what,
                                 const std::function<Result<T>(ninep::Fid&)>& op) {
  for (;;) {
    auto f = Open(id, ver);
    if (!f.ok()) return Fail(f.status(), ("open " + ReplicaFile(id, ver)).c_str());
    auto r = op(*f->fid);
    if (r.ok()) return r;
    Forget(id, f->fid.get());
    if (!f->kept || ConnError(r.status().err()))
      return Fail(r.status(), (std::string(what) + " " + ReplicaFile(id, ver)).c_str());
  }
}

Status ChunkServer::Create(uint64_t id, uint64_t ver) {
  InFlight in(&inflight_);
  Forget(id);  // fids of older versions go stale
  auto c = Get();
  if (!c.ok()) return c.status();
  auto d = (*c)->root.Walk("chunks");
  if (!d.ok()) return Fail(d.status(), "walk chunks");
  Status s = d->Create(ReplicaFile(id, ver), 0644, ninep::OREAD);
  if (!s.ok()) return Fail(s, ("create " + ReplicaFile(id, ver)).c_str());
  return Status();
}

Status ChunkServer::Write(uint64_t id, uint64_t ver, uint64_t off, std::span<const uint8_t> data) {
  InFlight in(&inflight_);
  auto n = OnReplica<size_t>(id, ver, "write", [&](ninep::Fid& f) { return f.Write(off, data); });
  if (!n.ok() && n.status().err() == ENOSPC) NoteFull();
  return n.status();
}

bool ChunkServer::local() const {
  std::lock_guard<std::mutex> lk(local_mu_);
  return !local_chunks_.empty();
}

void ChunkServer::NoteLocal(const std::string& dir, const std::string& token) {
  if (!opts_.local_reads || token == seen_token_) return;
  seen_token_ = token;
  // The token file is read before taking local_mu_, which every Read takes.
  std::string chunks;
  if (!dir.empty() && !token.empty()) {
    auto f = store::ReadWholeFile(dir + "/token");
    if (f.ok() && *f == token + "\n") chunks = dir + "/chunks";
  }
  std::lock_guard<std::mutex> lk(local_mu_);
  local_chunks_ = std::move(chunks);
}

Result<size_t> ChunkServer::Read(uint64_t id, uint64_t ver, uint64_t off, std::span<uint8_t> buf) {
  InFlight in(&inflight_);
  std::string chunks;
  if (alive_) {
    std::lock_guard<std::mutex> lk(local_mu_);
    chunks = local_chunks_;
  }
  if (!chunks.empty()) {
    auto n = chunkd::ReadReplicaFile(chunks + "/" + chunkd::IdName(id), id, ver, off, buf, nullptr);
    if (n.ok()) {
      local_reads_++;
      return *n;
    }
    // Missing, stale, torn or a mismatch (perhaps a write in flight):
    // chunkd answers, and reports what is really wrong.
    local_fallbacks_++;
  }
  return OnReplica<size_t>(id, ver, "read", [&](ninep::Fid& f) { return f.Read(off, buf); });
}

Status ChunkServer::Truncate(uint64_t id, uint64_t ver, uint64_t len) {
  InFlight in(&inflight_);
  auto c = Get();
  if (!c.ok()) return c.status();
  auto f = (*c)->root.Walk("chunks/" + ReplicaFile(id, ver));
  if (!f.ok()) return Fail(f.status(), ("walk " + ReplicaFile(id, ver)).c_str());
  ninep::Dir d;
  d.mode = ~0u;
  d.atime = d.mtime = ~0u;
  d.length = len;
  Status s = f->Wstat(d);
  if (!s.ok()) return Fail(s, ("truncate " + ReplicaFile(id, ver)).c_str());
  return Status();
}

Status ChunkServer::Remove(uint64_t id, uint64_t ver) {
  InFlight in(&inflight_);
  Forget(id);  // a kept fid would hold the removed file's space
  auto c = Get();
  if (!c.ok()) return c.status();
  auto f = (*c)->root.Walk("chunks/" + ReplicaFile(id, ver));
  if (!f.ok()) return Fail(f.status(), ("walk " + ReplicaFile(id, ver)).c_str());
  Status s = f->Remove();
  if (!s.ok()) return Fail(s, ("remove " + ReplicaFile(id, ver)).c_str());
  return Status();
}

Result<std::vector<ReplicaName>> ChunkServer::List() {
  auto c = Get();
  if (!c.ok()) return c.status();
  auto d = (*c)->root.Walk("chunks");
  if (!d.ok()) return Fail(d.status(), "walk chunks");
  Status s = d->Open(ninep::OREAD);
  if (!s.ok()) return Fail(s, "open chunks");
  auto ents = d->ReadDir();
  if (!ents.ok()) return Fail(ents.status(), "list chunks");
  std::vector<ReplicaName> out;
  for (const auto& e : *ents) {
    ReplicaName r;
    char* end = nullptr;
    r.id = strtoull(e.name.c_str(), &end, 16);
    if (!end || *end != '.') continue;
    r.version = strtoull(end + 1, nullptr, 10);
    r.size = e.length;
    out.push_back(r);
  }
  return out;
}

Result<std::string> ChunkServer::ReadFile(const std::string& name) {
  auto c = Get(true);
  if (!c.ok()) return c.status();
  auto f = (*c)->root.Walk(name);
  if (!f.ok()) return Fail(f.status(), ("walk " + name).c_str());
  Status s = f->Open(ninep::OREAD);
  if (!s.ok()) return Fail(s, ("open " + name).c_str());
  std::string out;
  uint8_t buf[8192];
  for (;;) {
    auto n = f->Read(out.size(), buf);
    if (!n.ok()) return Fail(n.status(), ("read " + name).c_str());
    if (*n == 0) break;
    out.append(reinterpret_cast<char*>(buf), *n);
  }
  return out;
}

Status ChunkServer::WriteCtl(const std::string& msg) {
  auto c = Get();
  if (!c.ok()) return c.status();
  auto ctl = (*c)->root.Walk("ctl");
  if (!ctl.ok()) return Fail(ctl.status(), "walk ctl");
  Status s = ctl->Open(ninep::OWRITE);
  if (!s.ok()) return Fail(s, "open ctl");
  auto n = ctl->Write(
      0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(msg.data()), msg.size()));
  if (!n.ok()) return Fail(n.status(), ("ctl " + msg).c_str());
  return Status();
}

bool ChunkServer::Beat() {
  // A heartbeat thread and an `add` (or ctl's heartbeat) may beat one
  // server at once: one at a time, as last_ok_ and the dead verdict assume.
  std::lock_guard<std::mutex> beat(beat_mu_);
  auto now = std::chrono::steady_clock::now();
  auto ctl = ReadFile("ctl");
  bool was = alive_;
  if (ctl.ok()) {
    std::istringstream in(*ctl);
    std::string dir, token;
    for (std::string line; std::getline(in, line);) {
      size_t sp = line.find(' ');
      if (sp == std::string::npos) continue;
      std::string k = line.substr(0, sp), v = line.substr(sp + 1);
      if (k == "dir") dir = v;
      if (k == "token") token = v;
      if (k != "free" && k != "chunks" && k != "bytes") continue;
      uint64_t n = strtoull(v.c_str(), nullptr, 10);
      (k == "free" ? free_ : k == "chunks" ? chunks_ : bytes_) = n;
    }
    NoteLocal(dir, token);
    last_ok_ = now;
    alive_ = true;
  } else if (now - last_ok_ >= opts_.dead_after) {
    alive_ = false;
  }
  return was != alive_ || (alive_ && reconnected_.exchange(false));
}

Cluster::~Cluster() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

bool ChunkServer::SetRegistered(bool registered) {
  bool was = alive();
  if (registered)
    registered_ = 1;
  else if (registered_ == 1)
    registered_ = 0;  // gone: never seen is not gone
  return was != alive();
}

void Cluster::FollowRegistry(const std::set<std::string>& registered) {
  for (auto& s : All()) {
    if (!s->SetRegistered(registered.count(s->addr()) != 0)) continue;
    std::function<void(ChunkServer*)> fn;
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn = on_change_;
    }
    if (fn) fn(s.get());
  }
}

std::shared_ptr<ChunkServer> Cluster::Add(const ServerInfo& s) {
  std::lock_guard<std::mutex> lk(mu_);
  auto& p = servers_[s.id];
  if (!p) {
    p = std::make_shared<ChunkServer>(s.id, s.addr, opts_);
    if (started_) threads_.emplace_back([this, sp = p] { Loop(sp); });
  }
  p->set_state(s.state);
  return p;
}

std::shared_ptr<ChunkServer> Cluster::Get(uint32_t id) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = servers_.find(id);
  return it == servers_.end() ? nullptr : it->second;
}

std::shared_ptr<ChunkServer> Cluster::Find(const std::string& addr) const {
  std::lock_guard<std::mutex> lk(mu_);
  for (auto& [id, s] : servers_)
    if (s->addr() == addr) return s;
  return nullptr;
}

std::vector<std::shared_ptr<ChunkServer>> Cluster::All() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<std::shared_ptr<ChunkServer>> out;
  for (auto& [id, s] : servers_) out.push_back(s);
  return out;
}

void Cluster::Start(std::function<void(ChunkServer*)> on_change) {
  std::lock_guard<std::mutex> lk(mu_);
  on_change_ = std::move(on_change);
  started_ = true;
  for (auto& [id, s] : servers_) threads_.emplace_back([this, sp = s] { Loop(sp); });
}

void Cluster::BeatAll() {
  for (auto& s : All())
    if (s->Beat() && on_change_) on_change_(s.get());
}

void Cluster::Loop(const std::shared_ptr<ChunkServer>& s) {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    if (s->state() == ServerState::kDecommissioned) {
      cv_.wait_for(lk, opts_.heartbeat);
      continue;
    }
    lk.unlock();
    bool changed = s->Beat();
    lk.lock();
    if (changed && on_change_ && !stop_) {
      auto fn = on_change_;
      lk.unlock();
      fn(s.get());
      lk.lock();
    }
    cv_.wait_for(lk, opts_.heartbeat);
  }
}

std::vector<std::shared_ptr<ChunkServer>> Cluster::Place(size_t n,
                                                         const std::vector<uint32_t>& exclude) {
  std::vector<std::shared_ptr<ChunkServer>> cand;
  for (auto& s : All()) {
    if (!s->alive() || s->state() != ServerState::kActive) continue;
    if (std::find(exclude.begin(), exclude.end(), s->id()) != exclude.end()) continue;
    cand.push_back(s);
  }
  thread_local std::mt19937_64 rng(std::random_device{}());
  std::vector<std::shared_ptr<ChunkServer>> out;
  while (out.size() < n && !cand.empty()) {
    // Weight: free space (a server not yet heard from counts as 1 GiB),
    // divided by the calls it has in flight.
    std::vector<double> w;
    for (auto& s : cand) {
      double f = s->free_bytes() == 0 ? 1.0 : static_cast<double>(s->free_bytes());
      w.push_back(f / (1.0 + s->inflight()));
    }
    std::discrete_distribution<size_t> pick(w.begin(), w.end());
    size_t i = pick(rng);
    out.push_back(cand[i]);
    cand.erase(cand.begin() + static_cast<long>(i));
  }
  return out;
}

}  // namespace storefs
