// meta.cc: the encoding of Txn ops, which is also the metadata log's record
// format: op[1] then the op's fields; integers little-endian, strings len[4]
// bytes. One record of the log is one Txn.
#include "storefs/meta.h"

#include <cstdlib>
#include <ctime>

#include "storelib/ec.h"

namespace storefs {

using ninep::Status;

namespace {

enum Op : uint8_t {
  kCreate = 1,
  kRemove = 2,
  kRename = 3,
  kSetAttr = 4,
  kSetChunk = 5,
  kDropChunks = 6,
  kSetServer = 7,
  kReserve = 8,
  kSetLayout = 9,    // ino, layout[2]
  kSetChunkEc = 10,  // as kSetChunk, then k[1] m[1]
};

void U8(std::string* o, uint8_t v) { o->push_back(static_cast<char>(v)); }
void U32(std::string* o, uint32_t v) {
  for (int i = 0; i < 4; i++) o->push_back(static_cast<char>(v >> (8 * i)));
}
void U64(std::string* o, uint64_t v) {
  for (int i = 0; i < 8; i++) o->push_back(static_cast<char>(v >> (8 * i)));
}
void Str(std::string* o, std::string_view s) {
  U32(o, static_cast<uint32_t>(s.size()));
  o->append(s);
}
void Attrs(std::string* o, const Inode& in) {
  U64(o, in.ino);
  U32(o, in.mode);
  Str(o, in.uid);
  Str(o, in.gid);
  Str(o, in.muid);
  U32(o, in.atime);
  U32(o, in.mtime);
  U64(o, in.size);
  U32(o, in.qvers);
}

// Reads [p, end); once short, every read gives zeros and ok() is false.
class Reader {
 public:
  explicit Reader(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}
  bool ok() const { return ok_; }
  bool done() const { return p_ == end_; }
  uint64_t Int(int n) {
    if (!ok_ || end_ - p_ < n) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= static_cast<uint64_t>(static_cast<uint8_t>(p_[i])) << (8 * i);
    p_ += n;
    return v;
  }
  uint8_t U8() { return static_cast<uint8_t>(Int(1)); }
  uint32_t U32() { return static_cast<uint32_t>(Int(4)); }
  uint64_t U64() { return Int(8); }
  std::string_view Str() {
    uint32_t n = U32();
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) {
      ok_ = false;
      return {};
    }
    std::string_view s(p_, n);
    p_ += n;
    return s;
  }
  void Attrs(Inode* in) {
    in->ino = U64();
    in->mode = U32();
    in->uid = Str();
    in->gid = Str();
    in->muid = Str();
    in->atime = U32();
    in->mtime = U32();
    in->size = U64();
    in->qvers = U32();
  }

 private:
  const char* p_;
  const char* end_;
  bool ok_ = true;
};

struct NullVisitor : TxnVisitor {
  void OnCreate(const Inode&) override {}
  void OnRemove(InodeId) override {}
  void OnRename(InodeId, InodeId, std::string_view) override {}
  void OnSetAttr(const Inode&) override {}
  void OnSetChunk(InodeId, uint64_t, ChunkRef) override {}
  void OnDropChunks(InodeId, uint64_t) override {}
  void OnSetServer(const ServerInfo&) override {}
  void OnReserve(InodeId, uint64_t) override {}
};

Status Decode(std::string_view ops, TxnVisitor* v) {
  Reader r(ops);
  while (r.ok() && !r.done()) {
    uint8_t op = r.U8();
    switch (op) {
      case kCreate: {
        Inode in;
        r.Attrs(&in);
        in.parent = r.U64();
        in.name = r.Str();
        if (r.ok()) v->OnCreate(in);
        break;
      }
      case kRemove: {
        InodeId ino = r.U64();
        if (r.ok()) v->OnRemove(ino);
        break;
      }
      case kRename: {
        InodeId ino = r.U64(), np = r.U64();
        std::string_view n = r.Str();
        if (r.ok()) v->OnRename(ino, np, n);
        break;
      }
      case kSetAttr: {
        Inode in;
        r.Attrs(&in);
        if (r.ok()) v->OnSetAttr(in);
        break;
      }
      case kSetChunk:
      case kSetChunkEc: {
        bool ec = op == kSetChunkEc;
        InodeId ino = r.U64();
        uint64_t index = r.U64();
        ChunkRef c;
        c.id = r.U64();
        c.version = r.U64();
        uint32_t n = r.U32();
        if (n > 64) return Status(EINVAL, "metadata: too many replicas");
        for (uint32_t i = 0; i < n && r.ok(); i++) c.replicas.push_back(r.U32());
        if (ec) {
          c.k = r.U8();
          c.m = r.U8();
          if (r.ok() && (c.k == 0 || c.m == 0 || c.k + c.m != n))
            return Status(EINVAL, "metadata: bad erasure-coded chunk");
        }
        if (r.ok()) v->OnSetChunk(ino, index, std::move(c));
        break;
      }
      case kSetLayout: {
        InodeId ino = r.U64();
        uint16_t l = static_cast<uint16_t>(r.Int(2));
        if (r.ok()) v->OnSetLayout(ino, l);
        break;
      }
      case kDropChunks: {
        InodeId ino = r.U64();
        uint64_t first = r.U64();
        if (r.ok()) v->OnDropChunks(ino, first);
        break;
      }
      case kSetServer: {
        ServerInfo s;
        s.id = r.U32();
        s.addr = r.Str();
        uint8_t st = r.U8();
        if (st > 2) return Status(EINVAL, "metadata: bad server state");
        s.state = static_cast<ServerState>(st);
        if (r.ok()) v->OnSetServer(s);
        break;
      }
      case kReserve: {
        InodeId i = r.U64();
        uint64_t c = r.U64();
        if (r.ok()) v->OnReserve(i, c);
        break;
      }
      default:
        return Status(EINVAL, "metadata: unknown op");
    }
  }
  if (!r.ok()) return Status(EINVAL, "metadata: truncated op");
  return Status();
}

}  // namespace

void Txn::Create(const Inode& in) {
  U8(&ops, kCreate);
  Attrs(&ops, in);
  U64(&ops, in.parent);
  Str(&ops, in.name);
  if (in.layout != 0) SetLayout(in.ino, in.layout);
}
void Txn::SetLayout(InodeId ino, uint16_t layout) {
  U8(&ops, kSetLayout);
  U64(&ops, ino);
  U8(&ops, static_cast<uint8_t>(layout));
  U8(&ops, static_cast<uint8_t>(layout >> 8));
}
void Txn::Remove(InodeId ino) {
  U8(&ops, kRemove);
  U64(&ops, ino);
}
void Txn::Rename(InodeId ino, InodeId newparent, std::string_view newname) {
  U8(&ops, kRename);
  U64(&ops, ino);
  U64(&ops, newparent);
  Str(&ops, newname);
}
void Txn::SetAttr(const Inode& in) {
  if (in.rev != 0) seen.push_back(in);
  U8(&ops, kSetAttr);
  Attrs(&ops, in);
}
void Txn::SetChunk(InodeId ino, uint64_t index, const ChunkRef& c) {
  seen_chunks.push_back(SeenChunk{ino, index, c.rev});
  U8(&ops, c.k > 0 ? kSetChunkEc : kSetChunk);
  U64(&ops, ino);
  U64(&ops, index);
  U64(&ops, c.id);
  U64(&ops, c.version);
  U32(&ops, static_cast<uint32_t>(c.replicas.size()));
  for (uint32_t r : c.replicas) U32(&ops, r);
  if (c.k > 0) {
    U8(&ops, c.k);
    U8(&ops, c.m);
  }
}
void Txn::DropChunks(InodeId ino, uint64_t first) {
  U8(&ops, kDropChunks);
  U64(&ops, ino);
  U64(&ops, first);
}
void Txn::SetServer(const ServerInfo& s) {
  U8(&ops, kSetServer);
  U32(&ops, s.id);
  Str(&ops, s.addr);
  U8(&ops, static_cast<uint8_t>(s.state));
}
void Txn::Reserve(InodeId ino_limit, uint64_t chunk_limit) {
  U8(&ops, kReserve);
  U64(&ops, ino_limit);
  U64(&ops, chunk_limit);
}

ninep::Result<uint16_t> ParseLayout(std::string_view v) {
  if (v == "off" || v == "replicas") return uint16_t{0};
  size_t plus = v.find('+');
  if (plus == std::string_view::npos) return ninep::Status(EINVAL, "want K+M or off");
  int k = atoi(std::string(v.substr(0, plus)).c_str()),
      m = atoi(std::string(v.substr(plus + 1)).c_str());
  if (k < 1 || m < 1 || k + m > store::kMaxFragments ||
      v.find_first_not_of("0123456789+") != std::string_view::npos)
    return ninep::Status(EINVAL, "erasure code K+M: 1 <= K, 1 <= M, K + M <= " +
                                     std::to_string(store::kMaxFragments));
  return EcLayout(static_cast<uint8_t>(k), static_cast<uint8_t>(m));
}

Inode NewRoot(const std::string& owner) {
  Inode root;
  root.ino = kRootIno;
  root.name = "/";
  root.mode = 0x80000000u | 0777;
  root.uid = root.gid = root.muid = owner;
  root.atime = root.mtime = static_cast<uint32_t>(time(nullptr));
  return root;
}

Status DecodeTxn(std::string_view ops, TxnVisitor* v) {
  // Check the whole encoding first, so a bad one applies nothing.
  NullVisitor check;
  Status s = Decode(ops, &check);
  if (!s.ok()) return s;
  return Decode(ops, v);
}

}  // namespace storefs
