// chunkfs.cc: chunkd's 9P tree.
#include "chunkfs.h"

#include <cerrno>
#include <cstring>
#include <ctime>

#include "ctl.h"

namespace chunkd {

using namespace ninep;

namespace {

// Qid paths of the fixed files; replicas use their chunk id.
constexpr uint64_t kQRoot = ~0ull, kQChunks = ~0ull - 1, kQCtl = ~0ull - 2, kQBad = ~0ull - 3;

enum class Kind { kRoot, kChunks, kCtl, kBad, kReplica };

std::string ReplicaName(uint64_t id, uint64_t version) {
  return IdName(id) + "." + std::to_string(version);
}

}  // namespace

// What a fid points at. Each fid has its own Node (walks copy it).
struct ChunkFs::Node {
  Kind kind = Kind::kRoot;
  uint64_t id = 0, version = 0;      // kReplica: the version the fid was walked to
  std::shared_ptr<Replica> rep;      // kReplica
  std::string snapshot;              // kCtl, kBad: the text at open
  std::vector<ReplicaInfo> listing;  // kChunks: the listing a directory read started
};

ChunkFs::ChunkFs(ChunkStore* store, std::string owner) : store_(store), owner_(std::move(owner)) {}

Dir ChunkFs::DirOf(const Node& n) const {
  Dir d;
  d.uid = d.gid = d.muid = owner_;
  d.atime = d.mtime = static_cast<uint32_t>(time(nullptr));
  switch (n.kind) {
    case Kind::kRoot:
      d.qid = Qid{QTDIR, 0, kQRoot}, d.mode = DMDIR | 0555, d.name = "/";
      break;
    case Kind::kChunks:
      d.qid = Qid{QTDIR, 0, kQChunks}, d.mode = DMDIR | 0755, d.name = "chunks";
      break;
    case Kind::kCtl:
      d.qid = Qid{QTFILE, 0, kQCtl}, d.mode = 0644, d.name = "ctl";
      break;
    case Kind::kBad:
      d.qid = Qid{QTFILE, 0, kQBad}, d.mode = 0444, d.name = "bad";
      break;
    case Kind::kReplica: {
      ReplicaInfo i = n.rep->Info();
      d.qid = Qid{QTFILE, static_cast<uint32_t>(i.version), i.id};
      d.mode = 0644;
      d.name = ReplicaName(i.id, i.version);
      d.length = i.length;
      d.atime = d.mtime = i.mtime;
      break;
    }
  }
  return d;
}

void ChunkFs::Attach(AttachReq r) {
  r.fid->aux = std::make_shared<Node>();
  r.Respond(Qid{QTDIR, 0, kQRoot});
}

void ChunkFs::Walk(WalkReq r) {
  Off([this, r = std::move(r)]() mutable {
    Node n = *r.fid->Aux<Node>();
    std::vector<Qid> qids;
    Status err;
    for (std::string_view name : r.names) {
      if (n.kind == Kind::kRoot) {
        if (name == "..") {
        } else if (name == "chunks") {
          n.kind = Kind::kChunks;
        } else if (name == "ctl") {
          n.kind = Kind::kCtl;
        } else if (name == "bad") {
          n.kind = Kind::kBad;
        } else {
          err = Errno(ENOENT);
          break;
        }
      } else if (n.kind == Kind::kChunks) {
        uint64_t id, v;
        if (name == "..") {
          n.kind = Kind::kRoot;
        } else if (!ParseReplicaName(name, &id, &v) || !(n.rep = store_->Find(id))) {
          err = Errno(ENOENT);
          break;
        } else if (uint64_t cur = n.rep->Info().version; cur != v) {
          // Naming another version is a stale client or a stale replica: say so.
          err = Errno(ESTALE, "chunk " + IdName(id) + " is at version " + std::to_string(cur) +
                                  ", not " + std::to_string(v));
          break;
        } else {
          n.kind = Kind::kReplica, n.id = id, n.version = v;
        }
      } else {
        err = Errno(ENOTDIR);
        break;
      }
      qids.push_back(DirOf(n).qid);
    }
    // A stale version fails the whole walk, not just its last name, so a
    // client walking /chunks/ID.VERSION in one Twalk learns ESTALE rather
    // than the "file does not exist" a short Rwalk would mean.
    if (err.err() == ESTALE) store_->counters().stale++;
    if ((qids.empty() && r.names.size() > 0) || err.err() == ESTALE) return r.Fail(err);
    if (qids.size() == r.names.size()) r.newfid->aux = std::make_shared<Node>(std::move(n));
    r.Respond(std::move(qids));
  });
}

void ChunkFs::Stat(StatReq r) {
  Off([this, r = std::move(r)]() mutable { r.Respond(DirOf(*r.fid->Aux<Node>())); });
}

void ChunkFs::Open(OpenReq r) {
  Off([this, r = std::move(r)]() mutable {
    Node* n = r.fid->Aux<Node>();
    uint8_t acc = r.mode & 3;
    bool trunc = (r.mode & OTRUNC) != 0;
    switch (n->kind) {
      case Kind::kRoot:
      case Kind::kChunks:
        if (acc != OREAD || trunc) return r.Fail(Errno(EISDIR));
        break;
      case Kind::kBad:
        if (acc != OREAD) return r.Fail(Errno(EACCES));
        n->snapshot = store_->BadText();
        break;
      case Kind::kCtl:
        n->snapshot = store_->CtlText();
        break;
      case Kind::kReplica: {
        uint64_t cur = n->rep->Info().version;
        if (cur != n->version) {
          store_->counters().stale++;
          return r.Fail(Errno(ESTALE, "chunk " + IdName(n->id) + " is at version " +
                                          std::to_string(cur) + ", not " +
                                          std::to_string(n->version)));
        }
        if (trunc && acc != OREAD)
          if (Status s = store_->Truncate(*n->rep, n->version, 0); !s.ok()) return r.Fail(s);
        break;
      }
    }
    r.Respond(OpenOut{DirOf(*n).qid, 0});
  });
}

void ChunkFs::Create(CreateReq r) {
  Off([this, r = std::move(r)]() mutable {
    Node* dir = r.fid->Aux<Node>();
    if (dir->kind != Kind::kChunks)
      return r.Fail(Errno(EPERM, "replicas are created in /chunks only"));
    if (r.perm & DMDIR) return r.Fail(Errno(EPERM, "no directories in /chunks"));
    uint64_t id, v;
    if (!ParseReplicaName(r.name, &id, &v))
      return r.Fail(Errno(EINVAL, "bad replica name '" + std::string(r.name.substr(0, 64)) +
                                      "'; want ID.VERSION (16 hex digits, a version >= 1)"));
    auto rep = store_->CreateOrBump(id, v);
    if (!rep.ok()) return r.Fail(rep.status());
    auto n = std::make_shared<Node>();
    n->kind = Kind::kReplica, n->id = id, n->version = v, n->rep = *rep;
    if ((r.mode & OTRUNC) && (r.mode & 3) != OREAD)
      if (Status s = store_->Truncate(*n->rep, v, 0); !s.ok()) return r.Fail(s);
    Qid q = DirOf(*n).qid;
    r.fid->aux = n;
    r.Respond(OpenOut{q, 0});
  });
}

void ChunkFs::Read(ReadReq r) {
  Off([this, r = std::move(r)]() mutable {
    Node* n = r.fid->Aux<Node>();
    if (n->kind == Kind::kReplica) {
      auto got = store_->Read(*n->rep, n->version, r.offset, r.buf);
      if (!got.ok() && got.status().err() == ESTALE) store_->counters().stale++;
      if (!got.ok()) return r.Fail(got.status());
      return r.Respond(static_cast<uint32_t>(*got));
    }
    const std::string& s = n->snapshot;
    if (r.offset >= s.size()) return r.Respond(0u);
    size_t k = std::min<uint64_t>(r.buf.size(), s.size() - r.offset);
    memcpy(r.buf.data(), s.data() + r.offset, k);
    r.Respond(static_cast<uint32_t>(k));
  });
}

void ChunkFs::ReadDir(ReadDirReq r) {
  Off([this, r = std::move(r)]() mutable {
    Node* n = r.fid->Aux<Node>();
    std::vector<DirEntry> out;
    if (n->kind == Kind::kRoot) {
      Kind kids[] = {Kind::kChunks, Kind::kCtl, Kind::kBad};
      for (uint64_t i = r.cookie; i < 3; i++) {
        Node k;
        k.kind = kids[i];
        out.push_back(DirEntry{DirOf(k), i + 1});
      }
      return r.Respond(std::move(out));
    }
    // Cookies index the listing taken when the read started, so replicas
    // created or removed meanwhile neither repeat nor hide others.
    if (r.cookie == 0) n->listing = store_->List();
    size_t max = r.count / 24 + 1;
    for (uint64_t i = r.cookie; i < n->listing.size() && out.size() < max; i++) {
      const ReplicaInfo& ri = n->listing[i];
      Dir d;
      d.qid = Qid{QTFILE, static_cast<uint32_t>(ri.version), ri.id};
      d.mode = 0644;
      d.name = ReplicaName(ri.id, ri.version);
      d.length = ri.length;
      d.atime = d.mtime = ri.mtime;
      d.uid = d.gid = d.muid = owner_;
      out.push_back(DirEntry{std::move(d), i + 1});
    }
    r.Respond(std::move(out));
  });
}

void ChunkFs::Write(WriteReq r) {
  Off([this, r = std::move(r)]() mutable {
    Node* n = r.fid->Aux<Node>();
    if (n->kind == Kind::kReplica) {
      auto got = store_->Write(*n->rep, n->version, r.offset, r.data);
      if (!got.ok() && got.status().err() == ESTALE) store_->counters().stale++;
      if (!got.ok()) return r.Fail(got.status());
      return r.Respond(static_cast<uint32_t>(*got));
    }
    if (n->kind != Kind::kCtl) return r.Fail(Errno(EACCES));
    std::string_view text(reinterpret_cast<const char*>(r.data.data()), r.data.size());
    auto cmds = ParseCtl(text);
    if (!cmds.ok()) return r.Fail(cmds.status());
    for (CtlCmd c : *cmds) {
      if (c == CtlCmd::kScrub) {
        store_->Scrub();
      } else if (Status s = store_->Sync(); !s.ok()) {
        return r.Fail(s);
      }
    }
    r.Respond(static_cast<uint32_t>(r.data.size()));
  });
}

void ChunkFs::Remove(RemoveReq r) {
  Off([this, r = std::move(r)]() mutable {
    Node* n = r.fid->Aux<Node>();
    if (n->kind != Kind::kReplica) return r.Fail(Errno(EPERM, "only replicas can be removed"));
    Status s = store_->Remove(n->id, n->version);
    if (!s.ok()) return r.Fail(s);
    r.Respond(Empty{});
  });
}

void ChunkFs::Wstat(WstatReq r) {
  Off([this, r = std::move(r)]() mutable {
    Node* n = r.fid->Aux<Node>();
    const ninep::Stat& s = r.d;
    Dir cur = DirOf(*n);
    if (!s.name.empty() && s.name != cur.name) return r.Fail(Errno(EPERM, "cannot rename"));
    if (s.mode != ~0u && (s.mode & DMDIR) != (cur.mode & DMDIR)) return r.Fail(Errno(EINVAL));
    if (s.length != ~0ull) {
      if (n->kind == Kind::kReplica) {
        if (Status st = store_->Truncate(*n->rep, n->version, s.length); !st.ok())
          return r.Fail(st);
      } else if (n->kind != Kind::kCtl || s.length != 0) {
        // A shell's `>` truncates ctl to 0 before writing; anything else is wrong.
        return r.Fail(Errno(n->kind == Kind::kCtl || n->kind == Kind::kBad ? EACCES : EISDIR));
      }
    }
    // Times, permissions and groups are not kept; changing them is a no-op
    // rather than an error, so cp -p and touch through a mount work.
    r.Respond(Empty{});
  });
}

}  // namespace chunkd
