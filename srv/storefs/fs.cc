#include "storefs/fs.h"

#include <cinttypes>
#include <cstring>
#include <ctime>
#include <sstream>

namespace storefs {

using namespace ninep;

namespace {

// What a fid names: an inode of the tree, or the ctl tree's root or file.
struct FidState {
  InodeId ino = 0;
  enum Kind { kTree, kCtlDir, kCtlFile } kind = kTree;
  std::vector<Inode> listing;  // a directory's entries, taken at the first ReadDir
  std::string ctl_text;        // ctl's content, taken at open
};

constexpr uint64_t kCtlDirPath = 1ull << 63, kCtlFilePath = (1ull << 63) | 1;

uint32_t Now() { return static_cast<uint32_t>(time(nullptr)); }
bool BadName(std::string_view n) {
  return n.empty() || n == "." || n == ".." || n.find('/') != std::string_view::npos ||
         n.size() > 255;
}
Qid QidOf(const Inode& in) {
  return Qid{static_cast<uint8_t>(in.IsDir() ? QTDIR : QTFILE), in.qvers, in.ino};
}
Dir DirOf(const Inode& in) {
  Dir d;
  d.qid = QidOf(in);
  d.mode = in.mode;
  d.atime = in.atime;
  d.mtime = in.mtime;
  d.length = in.IsDir() ? 0 : in.size;
  d.name = in.name;
  d.uid = in.uid;
  d.gid = in.gid;
  d.muid = in.muid;
  return d;
}
Dir CtlDir(bool file) {
  Dir d;
  d.qid = Qid{static_cast<uint8_t>(file ? QTFILE : QTDIR), 0, file ? kCtlFilePath : kCtlDirPath};
  d.mode = file ? 0664 : (DMDIR | 0555);
  d.atime = d.mtime = Now();
  d.name = file ? "ctl" : "/";
  d.uid = d.gid = d.muid = "storefs";
  return d;
}
FidState* S(const FidRef& f) { return f->Aux<FidState>(); }

// Set on worker threads that run a handler moved off the loop (Hop).
thread_local bool tls_hopped = false;

}  // namespace

template <class Req>
bool StoreFs::Hop(Req& r, void (StoreFs::*handler)(Req)) {
  if (!meta_->Remote() || tls_hopped) return false;
  auto p = std::make_shared<Req>(std::move(r));
  srv_->Offload([this, p, handler] {
    tls_hopped = true;
    (this->*handler)(std::move(*p));
    tls_hopped = false;
  });
  return true;
}

Status StoreFs::Missing() const {
  Status s = meta_->ReadStatus();
  return s.ok() ? Errno(ENOENT) : s;
}

void StoreFs::Attach(AttachReq r) {
  if (Hop(r, &StoreFs::Attach)) return;
  auto st = std::make_shared<FidState>();
  if (r.aname == "ctl") {
    st->kind = FidState::kCtlDir;
    r.fid->aux = st;
    return r.Respond(CtlDir(false).qid);
  }
  if (!r.aname.empty() && r.aname != "/")
    return r.Fail(Status(ENOENT, "no tree " + std::string(r.aname) + " (try \"\" or \"ctl\")"));
  auto root = meta_->Get(kRootIno);
  if (!root) {
    Status s = meta_->ReadStatus();
    return r.Fail(s.ok() ? Status(EIO, "no root") : s);
  }
  st->ino = kRootIno;
  r.fid->aux = st;
  r.Respond(QidOf(*root));
}

void StoreFs::Walk(WalkReq r) {
  FidState* from = S(r.fid);
  if (r.names.size() == 0) {  // a clone reads nothing
    auto next = std::make_shared<FidState>(*from);
    next->listing.clear();
    next->ctl_text.clear();
    r.newfid->aux = next;
    return r.Respond(std::vector<Qid>{});
  }
  if (Hop(r, &StoreFs::Walk)) return;
  std::vector<Qid> qids;
  auto next = std::make_shared<FidState>(*from);
  next->listing.clear();
  next->ctl_text.clear();
  if (from->kind != FidState::kTree) {
    for (std::string_view n : r.names) {
      if (next->kind == FidState::kCtlDir && n == "ctl") {
        next->kind = FidState::kCtlFile;
        qids.push_back(CtlDir(true).qid);
      } else if (n == "..") {
        next->kind = FidState::kCtlDir;
        qids.push_back(CtlDir(false).qid);
      } else {
        break;
      }
    }
  } else {
    // The start is read only for ".." or to tell ENOTDIR from ENOENT: a
    // lookup under a file finds nothing anyway (one read fewer per walk).
    InodeId at = from->ino;
    std::optional<Inode> cur;
    for (std::string_view n : r.names) {
      std::optional<Inode> nx;
      if (n == "..") {
        if (!cur) cur = meta_->Get(at);
        if (!cur || !cur->IsDir()) break;
        nx = meta_->Get(cur->parent == 0 ? cur->ino : cur->parent);
      } else {
        nx = meta_->Lookup(at, n);
      }
      if (!nx) break;
      cur = std::move(nx);
      at = cur->ino;
      qids.push_back(QidOf(*cur));
    }
    next->ino = at;
    if (qids.empty()) {
      if (Status rs = meta_->ReadStatus(); !rs.ok()) return r.Fail(rs);
      if (!cur) cur = meta_->Get(at);
      return r.Fail(cur && !cur->IsDir() ? Errno(ENOTDIR) : Missing());
    }
  }
  if (qids.empty() && r.names.size() > 0) return r.Fail(Errno(ENOENT));
  if (qids.size() == r.names.size()) r.newfid->aux = next;
  r.Respond(std::move(qids));
}

void StoreFs::Open(OpenReq r) {
  if (Hop(r, &StoreFs::Open)) return;
  FidState* st = S(r.fid);
  if (st->kind == FidState::kCtlDir) {
    if ((r.mode & 3) != OREAD) return r.Fail(Errno(EISDIR));
    return r.Respond(OpenOut{CtlDir(false).qid, 0});
  }
  if (st->kind == FidState::kCtlFile) {
    auto p = std::make_shared<OpenReq>(std::move(r));
    srv_->Offload([this, p] {
      S(p->fid)->ctl_text = CtlText();
      p->Respond(OpenOut{CtlDir(true).qid, 0});
    });
    return;
  }
  auto in = meta_->Get(st->ino);
  if (!in) return r.Fail(Missing());
  if (in->IsDir() && ((r.mode & 3) != OREAD || (r.mode & OTRUNC))) return r.Fail(Errno(EISDIR));
  if (!(r.mode & OTRUNC) || in->size == 0 || (r.mode & 3) == OREAD)
    return r.Respond(OpenOut{QidOf(*in), 0});
  auto p = std::make_shared<OpenReq>(std::move(r));
  srv_->Offload([this, p] {
    InodeId ino = S(p->fid)->ino;
    Status s = store_->SetSize(ino, 0, p->fid->uname);
    if (!s.ok()) return p->Fail(s);
    auto in = meta_->Get(ino);
    if (!in) return p->Fail(Missing());
    p->Respond(OpenOut{QidOf(*in), 0});
  });
}

void StoreFs::Create(CreateReq r) {
  if (Hop(r, &StoreFs::Create)) return;
  if (S(r.fid)->kind != FidState::kTree) return r.Fail(Errno(EACCES));
  if (BadName(r.name)) return r.Fail(Status(EINVAL, "bad file name"));
  auto p = std::make_shared<CreateReq>(std::move(r));
  // Nothing here waits for the disk unless the log must reserve inode
  // numbers first (once per few thousand creates): then a worker does it.
  if (auto ino = meta_->TryNewInode()) return FinishCreate(p, *ino);
  srv_->Offload([this, p] {
    auto ino = meta_->NewInode();
    if (!ino.ok()) return p->Fail(ino.status());
    FinishCreate(p, *ino);
  });
}

void StoreFs::FinishCreate(const std::shared_ptr<CreateReq>& p, InodeId ino) {
  FidState* st = S(p->fid);
  Inode in;
  bool first = true;
  auto tk = RetryConflicts([&]() -> Result<uint64_t> {
    auto lk = NsLock();
    // A stale copy of the directory makes the Txn lose: read fresh then.
    auto dir = first ? meta_->GetToChange(st->ino) : meta_->Get(st->ino);
    if (!dir && first) dir = meta_->Get(st->ino);  // maybe just made elsewhere
    if (!dir) return Missing();
    if (!dir->IsDir()) return Errno(ENOTDIR);
    // A shared store's transaction checks the name is free itself: look
    // only once it says the name was taken (one etcd read fewer per create).
    if ((!meta_->Remote() || !first) && meta_->Lookup(dir->ino, p->name)) return Errno(EEXIST);
    first = false;
    if (Status rs = meta_->ReadStatus(); !rs.ok()) return rs;
    in.ino = ino;
    in.parent = dir->ino;
    in.name = p->name;
    in.mode = p->perm & (DMDIR | DMAPPEND | DMEXCL | 0777);
    in.uid = in.muid = p->fid->uname.empty() ? "none" : p->fid->uname;
    in.gid = p->gid != NONUNAME ? std::to_string(p->gid) : dir->gid;
    in.atime = in.mtime = Now();
    // Erasure coding is inherited from the directory, else the store's.
    in.layout = dir->layout != 0 ? dir->layout : store_->options().layout;
    dir->mtime = in.mtime;
    dir->qvers++;
    Txn t;
    t.Create(in);
    t.SetAttr(*dir);
    return meta_->Apply(t);
  });
  if (!tk.ok()) return p->Fail(tk.status());
  uint64_t ticket = *tk;
  // Answered once durable, by the log's flusher: no thread waits for the disk.
  meta_->WaitAsync(ticket, [p, st, in](const Status& s) {
    if (!s.ok()) return p->Fail(s);
    st->ino = in.ino;
    st->listing.clear();
    p->Respond(OpenOut{QidOf(in), 0});
  });
}

void StoreFs::Read(ReadReq r) {
  FidState* st = S(r.fid);
  if (st->kind == FidState::kCtlFile) {
    const std::string& t = st->ctl_text;
    if (r.offset >= t.size()) return r.Respond(0u);
    size_t n = std::min<size_t>(r.buf.size(), t.size() - r.offset);
    memcpy(r.buf.data(), t.data() + r.offset, n);
    return r.Respond(static_cast<uint32_t>(n));
  }
  auto p = std::make_shared<ReadReq>(std::move(r));
  srv_->Offload([this, p] {
    auto n = store_->Read(S(p->fid)->ino, p->offset, p->buf);
    if (!n.ok()) return p->Fail(n.status());
    p->Respond(static_cast<uint32_t>(*n));
  });
}

void StoreFs::ReadDir(ReadDirReq r) {
  if (Hop(r, &StoreFs::ReadDir)) return;
  FidState* st = S(r.fid);
  std::vector<DirEntry> out;
  if (st->kind == FidState::kCtlDir) {
    if (r.cookie == 0) out.push_back(DirEntry{CtlDir(true), 1});
    return r.Respond(std::move(out));
  }
  if (r.cookie == 0) {
    st->listing = meta_->List(st->ino);
    if (Status s = meta_->ReadStatus(); !s.ok()) return r.Fail(s);
  }
  size_t max = r.count / 24 + 1;
  for (size_t i = r.cookie; i < st->listing.size() && out.size() < max; i++)
    out.push_back(DirEntry{DirOf(st->listing[i]), i + 1});
  r.Respond(std::move(out));
}

void StoreFs::Write(WriteReq r) {
  FidState* st = S(r.fid);
  if (st->kind == FidState::kCtlFile) {
    auto p = std::make_shared<WriteReq>(std::move(r));
    srv_->Offload([this, p] {
      std::string msg(reinterpret_cast<const char*>(p->data.data()), p->data.size());
      auto res = CtlCommand(msg);
      if (!res.ok()) return p->Fail(res.status());
      if (!res->empty()) fprintf(stderr, "storefs: ctl: %s\n", res->c_str());
      p->Respond(static_cast<uint32_t>(p->data.size()));
    });
    return;
  }
  if (st->kind != FidState::kTree) return r.Fail(Errno(EACCES));
  auto p = std::make_shared<WriteReq>(std::move(r));
  srv_->Offload([this, p] {
    InodeId ino = S(p->fid)->ino;
    auto in = meta_->Get(ino);
    bool append = in && (in->mode & DMAPPEND);
    Status s = store_->Write(ino, p->offset, p->data, p->fid->uname, append);
    if (!s.ok()) return p->Fail(s);
    p->Respond(static_cast<uint32_t>(p->data.size()));
  });
}

void StoreFs::Remove(RemoveReq r) {
  if (S(r.fid)->kind != FidState::kTree) return r.Fail(Errno(EACCES));
  auto p = std::make_shared<RemoveReq>(std::move(r));
  srv_->Offload([this, p] {
    InodeId ino = S(p->fid)->ino;
    std::vector<ChunkRef> chunks;
    auto tk = RetryConflicts([&]() -> Result<uint64_t> {
      auto lk = NsLock();
      auto in = meta_->Get(ino);
      if (!in) return Missing();
      if (ino == kRootIno) return Status(EPERM, "cannot remove the root");
      if (in->IsDir() && !meta_->Empty(ino)) {
        Status rs = meta_->ReadStatus();
        return rs.ok() ? Errno(ENOTEMPTY) : rs;
      }
      chunks.clear();
      for (auto& [i, c] : meta_->Chunks(ino)) chunks.push_back(c);
      if (Status rs = meta_->ReadStatus(); !rs.ok()) return rs;
      Txn t;
      t.Remove(ino);
      if (auto dir = meta_->Get(in->parent)) {
        dir->mtime = Now();
        dir->qvers++;
        t.SetAttr(*dir);
      }
      return meta_->Apply(t);
    });
    if (!tk.ok()) return p->Fail(tk.status());
    Status s = meta_->Wait(*tk);
    if (!s.ok()) return p->Fail(s);
    store_->Forget(std::move(chunks));
    p->Respond(Empty{});
  });
}

void StoreFs::Stat(StatReq r) {
  if (Hop(r, &StoreFs::Stat)) return;
  FidState* st = S(r.fid);
  if (st->kind != FidState::kTree) return r.Respond(CtlDir(st->kind == FidState::kCtlFile));
  auto in = meta_->Get(st->ino);
  if (!in) return r.Fail(Missing());
  r.Respond(DirOf(*in));
}

void StoreFs::Wstat(WstatReq r) {
  if (S(r.fid)->kind != FidState::kTree) return r.Fail(Errno(EACCES));
  auto p = std::make_shared<WstatReq>(std::move(r));
  srv_->Offload([this, p] {
    InodeId ino = S(p->fid)->ino;
    const ninep::Stat& d = p->d;
    auto in = meta_->Get(ino);
    if (!in) return p->Fail(Missing());
    // Check everything first: a wstat is all or nothing.
    bool rename = !d.name.empty() && d.name != in->name;
    if (rename && (ino == kRootIno || BadName(d.name))) return p->Fail(Errno(EINVAL));
    if (d.length != ~0ull && in->IsDir() && d.length != 0) return p->Fail(Errno(EISDIR));
    if (d.mode != ~0u && (d.mode & DMDIR) != (in->mode & DMDIR)) return p->Fail(Errno(EINVAL));
    if (rename) {
      Status s = DoRename(ino, in->parent, d.name, false, p->fid->uname);
      if (!s.ok()) return p->Fail(s);
    }
    if (d.length != ~0ull && !in->IsDir()) {
      Status s = store_->SetSize(ino, d.length, p->fid->uname);
      if (!s.ok()) return p->Fail(s);
    }
    // Under the file's attribute lock, so a concurrent write's size is kept.
    auto tk = store_->ChangeAttr(ino, [&](Inode* in) {
      Inode before = *in;
      if (d.mode != ~0u) in->mode = (in->mode & DMDIR) | (d.mode & (DMAPPEND | DMEXCL | 07777));
      if (d.mtime != ~0u) in->mtime = d.mtime;
      if (d.atime != ~0u) in->atime = d.atime;
      if (!d.uid.empty()) in->uid = d.uid;
      if (!d.gid.empty()) in->gid = d.gid;
      const Tsetattr& sa = p->setattr;
      if (sa.valid & P9_SETATTR_UID) in->uid = std::to_string(sa.uid);
      if (sa.valid & P9_SETATTR_GID) in->gid = std::to_string(sa.gid);
      if ((sa.valid & P9_SETATTR_MTIME) && !(sa.valid & P9_SETATTR_MTIME_SET)) in->mtime = Now();
      if ((sa.valid & P9_SETATTR_ATIME) && !(sa.valid & P9_SETATTR_ATIME_SET)) in->atime = Now();
      return in->mode != before.mode || in->mtime != before.mtime || in->atime != before.atime ||
             in->uid != before.uid || in->gid != before.gid;
    });
    if (!tk.ok()) return p->Fail(tk.status());
    if (*tk != 0)
      if (Status s = meta_->Wait(*tk); !s.ok()) return p->Fail(s);
    p->Respond(Empty{});
  });
}

Status StoreFs::DoRename(InodeId ino, InodeId newparent, std::string_view newname, bool replace,
                         const std::string& who) {
  (void)who;
  if (BadName(newname)) return Status(EINVAL, "bad file name");
  std::vector<ChunkRef> dropped;
  auto tk = RetryConflicts([&]() -> Result<uint64_t> {
    auto lk = NsLock();
    dropped.clear();
    auto in = meta_->Get(ino);
    auto np = meta_->Get(newparent);
    if (!in || !np) return Missing();
    if (!np->IsDir()) return Errno(ENOTDIR);
    if (in->parent == newparent && in->name == newname) return uint64_t{0};
    // A directory cannot move under itself.
    for (auto a = np; a; a = a->parent ? meta_->Get(a->parent) : std::nullopt) {
      if (a->ino == ino) return Status(EINVAL, "cannot move a directory under itself");
      if (a->ino == kRootIno) break;
    }
    Txn t;
    if (auto target = meta_->Lookup(newparent, newname)) {
      if (!replace) return Errno(EEXIST);
      if (target->IsDir() != in->IsDir()) return Errno(target->IsDir() ? EISDIR : ENOTDIR);
      if (target->IsDir() && !meta_->Empty(target->ino)) return Errno(ENOTEMPTY);
      for (auto& [i, c] : meta_->Chunks(target->ino)) dropped.push_back(c);
      t.Remove(target->ino);
    }
    uint32_t now = Now();
    for (InodeId d : {in->parent, newparent}) {
      auto dir = meta_->Get(d);
      if (!dir) continue;
      dir->mtime = now;
      dir->qvers++;
      t.SetAttr(*dir);
      if (in->parent == newparent) break;
    }
    t.Rename(ino, newparent, newname);
    if (Status rs = meta_->ReadStatus(); !rs.ok()) return rs;
    return meta_->Apply(t);
  });
  if (!tk.ok()) return tk.status();
  Status s = *tk == 0 ? Status() : meta_->Wait(*tk);
  if (s.ok()) store_->Forget(std::move(dropped));
  return s;
}

void StoreFs::Renameat(RenameatReq r) {
  if (S(r.fid)->kind != FidState::kTree || S(r.fid2)->kind != FidState::kTree)
    return r.Fail(Errno(EACCES));
  auto p = std::make_shared<RenameatReq>(std::move(r));
  srv_->Offload([this, p] {
    auto src = meta_->Lookup(S(p->fid)->ino, p->in.oldname);
    if (!src) return p->Fail(Missing());
    Status s = DoRename(src->ino, S(p->fid2)->ino, p->in.newname, true, p->fid->uname);
    if (!s.ok()) return p->Fail(s);
    p->Respond(Empty{});
  });
}

void StoreFs::Rename(RenameReq r) {
  if (S(r.fid)->kind != FidState::kTree || S(r.fid2)->kind != FidState::kTree)
    return r.Fail(Errno(EACCES));
  auto p = std::make_shared<RenameReq>(std::move(r));
  srv_->Offload([this, p] {
    Status s = DoRename(S(p->fid)->ino, S(p->fid2)->ino, p->in.name, true, p->fid->uname);
    if (!s.ok()) return p->Fail(s);
    p->Respond(Empty{});
  });
}

void StoreFs::Statfs(StatfsReq r) {
  if (Hop(r, &StoreFs::Statfs)) return;
  Rstatfs s;
  s.type = 0x01021997;
  s.bsize = 4096;
  s.namelen = 255;
  uint64_t free = 0;
  for (auto& c : cluster_->All())
    if (c->alive() && c->state() == ServerState::kActive) free += c->free_bytes();
  uint32_t rep = std::max<uint32_t>(1, store_->options().replicas);
  s.bfree = s.bavail = free / rep / s.bsize;
  MetaStats m = meta_->Stats();
  s.blocks = s.bfree + m.bytes / s.bsize;
  s.files = m.inodes + 1000000;
  s.ffree = 1000000;
  r.Respond(s);
}

std::string StoreFs::CtlText() const {
  std::ostringstream o;
  auto h = store_->Check();
  MetaStats m = meta_->Stats();
  const StoreOptions& so = store_->options();
  size_t alive = 0;
  auto servers = cluster_->All();
  for (auto& s : servers) {
    static const char* const kState[] = {"active", "draining", "decommissioned"};
    o << "server " << s->addr() << " " << (s->alive() ? "alive" : "dead") << " "
      << kState[static_cast<int>(s->state())] << " replicas " << h.per_server[s->id()] << " free "
      << s->free_bytes() << " inflight " << s->inflight() << " errors " << s->errors() << " local "
      << (s->local() ? "yes" : "no") << " local-reads " << s->local_reads() << " local-fallbacks "
      << s->local_fallbacks() << "\n";
    if (s->alive()) alive++;
  }
  const StoreCounters& c = store_->counters();
  o << "servers " << servers.size() << "\n"
    << "alive " << alive << "\n"
    << "replication " << so.replicas << "\n"
    << "write-quorum " << so.write_quorum << "\n"
    << "chunk-size " << so.chunk_size << "\n"
    << "files " << m.files << "\n"
    << "dirs " << m.dirs << "\n"
    << "bytes " << m.bytes << "\n"
    << "chunks " << h.chunks << "\n"
    << "under-replicated " << h.under << "\n"
    << "unavailable " << h.unavailable << "\n"
    << "stale " << c.stale_removed << "\n"
    << "orphans " << c.orphans_removed << "\n"
    << "adopted " << c.adopted << "\n"
    << "corrupt-reads " << c.corrupt_reads << "\n"
    << "repairs " << c.repairs << "\n"
    << "rereplicated " << c.rereplicated << "\n"
    << "moved " << c.moved << "\n"
    << "grants " << c.grants << "\n"
    << "failovers " << c.failovers << "\n"
    << "replica-write-errors " << c.write_errors << "\n"
    << "stripe-hits " << c.stripe_hits << "\n"
    << "leader " << (meta_->Leading() ? "yes" : "no") << "\n"
    << PolicyLines(so, h) << "log-commits " << m.commits << "\n"
    << "log-syncs " << m.log_syncs << "\n"
    << "log-bytes " << m.log_bytes << "\n"
    << "snapshots " << m.snapshots << "\n";
  if (!m.recovery.empty()) o << "recovery " << m.recovery << "\n";
  if (srv_) {
    const ServerStats& st = srv_->stats();
    for (int t :
         {kTwalk, kTopen, kTlopen, kTcreate, kTlcreate, kTmkdir, kTread, kTwrite, kTreaddir, kTstat,
          kTgetattr, kTwstat, kTsetattr, kTremove, kTunlinkat, kTrenameat, kTclunk}) {
      uint64_t n = st.count[t];
      if (n == 0) continue;
      o << "latency " << MsgTypeName(static_cast<uint8_t>(t)) << " count " << n << " avg-us "
        << st.latency_us[t] / n << " errors " << st.errors[t] << "\n";
    }
  }
  return o.str();
}

std::string StoreFs::PolicyLines(const StoreOptions& so, const Store::Health& h) {
  // The store's default first, then every layout chunks use.
  auto name = [&](uint16_t l) {
    return l == 0 ? "replicas=" + std::to_string(so.replicas)
                  : "ec=" + std::to_string(LayoutK(l)) + "+" + std::to_string(LayoutM(l));
  };
  auto overhead = [&](uint16_t l) {
    double x = l == 0 ? so.replicas : double(LayoutK(l) + LayoutM(l)) / LayoutK(l);
    char b[32];
    snprintf(b, sizeof b, "%.2f", x);
    return std::string(b);
  };
  std::string out = "default-policy " + name(so.layout) + " overhead " + overhead(so.layout) + "\n";
  for (const auto& [l, p] : h.policies)
    out += "policy " + name(l) + " chunks " + std::to_string(p.chunks) + " fragments " +
           std::to_string(p.fragments) + " overhead " + overhead(l) + "\n";
  return out;
}

Result<std::string> StoreFs::CtlCommand(std::string_view msg) {
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.remove_suffix(1);
  std::string verb(msg.substr(0, msg.find(' ')));
  std::string arg =
      msg.find(' ') == std::string_view::npos ? "" : std::string(msg.substr(msg.find(' ') + 1));
  if (verb == "scrub" && arg.empty()) return store_->Scrub();
  if (verb == "rebalance" && arg.empty()) return store_->Rebalance();
  if (verb == "gc" && arg.empty()) return store_->GcPass();
  if (verb == "repair" && arg.empty()) return store_->RepairPass();
  if (verb == "heartbeat" && arg.empty()) {
    cluster_->BeatAll();
    return std::string("heartbeat");
  }
  if (verb == "ec" && arg.find(' ') != std::string::npos) {
    // ec PATH K+M|off: what is created under directory PATH from now on.
    std::string path = arg.substr(0, arg.rfind(' '));
    auto l = ParseLayout(arg.substr(arg.rfind(' ') + 1));
    if (!l.ok()) return l.status();
    if (*l != 0 && store_->options().chunk_size % (uint64_t{LayoutK(*l)} << 16) != 0)
      return Status(EINVAL, "ec: the chunk size is not a multiple of K x 64k");
    std::optional<Inode> at = meta_->Get(kRootIno);
    std::istringstream names(path);
    for (std::string n; at && std::getline(names, n, '/');)
      if (!n.empty()) at = meta_->Lookup(at->ino, n);
    if (!at) return Missing();
    if (!at->IsDir()) return Status(ENOTDIR, path + ": not a directory");
    return RetryConflicts([&]() -> Result<std::string> {
      Txn t;
      t.SetLayout(at->ino, *l);
      if (Status s = meta_->Commit(t); !s.ok()) return s;
      return "ec " + arg;
    });
  }
  if ((verb == "add" || verb == "drain" || verb == "decommission" || verb == "activate") &&
      !arg.empty()) {
    Status s = verb == "add"        ? store_->AddServer(arg)
               : verb == "drain"    ? store_->SetServerState(arg, ServerState::kDraining)
               : verb == "activate" ? store_->SetServerState(arg, ServerState::kActive)
                                    : store_->SetServerState(arg, ServerState::kDecommissioned);
    if (!s.ok()) return s;
    return verb + " " + arg;
  }
  return Status(EINVAL, "unknown ctl message \"" + std::string(msg) +
                            "\" (scrub, rebalance, gc, repair, heartbeat, add ADDR, drain ADDR, "
                            "decommission ADDR, activate ADDR, ec PATH K+M|off)");
}

}  // namespace storefs
