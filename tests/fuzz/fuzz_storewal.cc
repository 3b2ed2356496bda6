// fuzz_storewal.cc: FuzzStoreWal, the fuzz target of storefs's metadata on
// disk: the write-ahead log and snapshot a crash, a full disk or a rotting
// disk may have left, replayed by WalMetaStore::Open; and the Txn decoder
// alone on the raw input.
// Input: flags[1], then records len[2] payload[len] (little-endian), framed
// here with their true checksums so that the fuzzer reaches the decoder;
// what follows the last whole record is a raw tail (flags & 1: appended
// unframed, as a torn write leaves it). flags & 2 flips one bit of the log
// (bit rot); flags & 4 snapshots after the open; flags & 8 puts the first
// record in a snapshot instead of the log.
// Invariants: nothing crashes, hangs or leaks whatever the log says; no
// more records replay than were framed; a commit after the open is
// durable, and a second open finds it, cuts nothing and, when the first
// saw a sound tree, sees the same one (snapshot and replay are faithful).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "fuzz_targets.h"
#include "storefs/meta.h"
#include "storefs/wal_meta.h"
#include "storelib/wal.h"

namespace ninep::fuzz {
namespace {

using storefs::Inode;
using storefs::InodeId;
using storefs::kRootIno;

const std::string& Dir() { return FuzzScratchDir("fuzz_storewal"); }

void Clear(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      unlinkat(dirfd(d), e->d_name, 0);
  }
  closedir(d);
}

void Put(const std::string& path, const std::string& bytes) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) return ReportFailure("cannot write the fuzz log");
  if (write(fd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
    ReportFailure("short write of the fuzz log");
  close(fd);
}

// The decoder alone: any bytes, any order of ops.
struct NoopVisitor : storefs::TxnVisitor {
  void OnCreate(const Inode&) override {}
  void OnRemove(InodeId) override {}
  void OnRename(InodeId, InodeId, std::string_view) override {}
  void OnSetAttr(const Inode&) override {}
  void OnSetChunk(InodeId, uint64_t, storefs::ChunkRef) override {}
  void OnDropChunks(InodeId, uint64_t) override {}
  void OnSetServer(const storefs::ServerInfo&) override {}
  void OnReserve(InodeId, uint64_t) override {}
};

// What a walk of the tree from the root found.
struct Tree {
  uint64_t inodes = 0;     // reached from the root
  bool consistent = true;  // every entry names its parent, no inode twice, root a directory
};

// Walks the tree from the root. A log the fuzzer wrote can make nonsense
// (a file as root, an inode in two directories, a cycle); the walk still
// ends, and says so.
Tree Walk(const storefs::MetaStore& m) {
  Tree t;
  auto root = m.Get(kRootIno);
  if (!root) {
    ReportFailure("opened store has no root");
    return t;
  }
  t.consistent = root->IsDir();
  std::set<InodeId> seen{kRootIno};
  std::vector<InodeId> todo{kRootIno};
  while (!todo.empty()) {
    InodeId dir = todo.back();
    todo.pop_back();
    for (const Inode& in : m.List(dir)) {
      if (in.parent != dir || !seen.insert(in.ino).second) {
        t.consistent = false;
        continue;
      }
      if (in.IsDir()) todo.push_back(in.ino);
    }
  }
  t.inodes = seen.size();
  return t;
}

}  // namespace

int FuzzStoreWal(const uint8_t* data, size_t size) {
  NoopVisitor nv;
  (void)storefs::DecodeTxn(std::string_view(reinterpret_cast<const char*>(data), size), &nv);
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  std::vector<std::string_view> recs;
  size_t i = 1;
  while (i + 2 <= size) {
    size_t n = data[i] | (size_t{data[i + 1]} << 8);
    if (n == 0 || i + 2 + n > size) break;
    recs.emplace_back(reinterpret_cast<const char*>(data) + i + 2, n);
    i += 2 + n;
  }
  std::string snap, log;
  size_t first = 0;
  if ((flags & 8) && !recs.empty()) {
    // "NFWSNAP1" then one framed record: gen[8] state.
    std::string rec(8, '\0');
    rec[0] = 1;  // generation 1, little-endian
    rec.append(recs[0]);
    snap = "NFWSNAP1";
    store::WalFrame(rec, &snap);
    first = 1;
  }
  for (size_t r = first; r < recs.size(); r++) store::WalFrame(recs[r], &log);
  if (flags & 1) log.append(reinterpret_cast<const char*>(data) + i, size - i);
  if ((flags & 2) && !log.empty()) log[(flags >> 4) * 7919 % log.size()] ^= 0x40;

  const std::string dir = Dir() + "/meta";
  mkdir(dir.c_str(), 0700);
  Clear(dir);
  if (!snap.empty()) Put(dir + "/snap.0000000000000001", snap);
  Put(dir + "/log.0000000000000001", log);

  storefs::WalMetaStore::Options o;
  o.sync = false;  // tmpfs, and a crash is not what this fuzzes
  o.owner = "fuzz";
  Tree before;
  InodeId probe = 0;
  {
    auto m = storefs::WalMetaStore::Open(dir, o);
    if (!m.ok()) return 0;  // refused whole: what a record that does not decode must do
    // (A raw tail may hold frames whose checksums the fuzzer solved.)
    if (!(flags & 1) && (*m)->recovery().records > recs.size() - first)
      ReportFailure("replayed more log records than were framed");
    Walk(**m);
    if (flags & 4) {
      Status s = (*m)->Snapshot();
      if (!s.ok()) ReportFailure("snapshot of an opened store failed");
    }
    auto ino =
        (*m)->Lookup(kRootIno, "fuzz-probe") ? Result<InodeId>(InodeId{0}) : (*m)->NewInode();
    if (!ino.ok() && ino.status().err() != ENOSPC)
      ReportFailure("no inode number for the probe, and not for want of numbers");
    if (ino.ok() && *ino != 0) {
      Inode in;
      in.ino = probe = *ino;
      in.parent = kRootIno;
      in.name = "fuzz-probe";
      in.mode = 0644;
      in.uid = in.gid = in.muid = "fuzz";
      storefs::Txn t;
      t.Create(in);
      Status s = (*m)->Commit(t);
      if (!s.ok()) ReportFailure("commit after open failed");
    }
    before = Walk(**m);
  }
  auto m = storefs::WalMetaStore::Open(dir, o);
  if (!m.ok()) return ReportFailure("a store that opened does not open again"), 0;
  if ((*m)->recovery().cut_bytes != 0) ReportFailure("second open cut bytes the first kept");
  auto p = (*m)->Lookup(kRootIno, "fuzz-probe");
  if (probe != 0 && (!p || p->ino != probe)) ReportFailure("the committed probe is gone");
  // Replay (and a snapshot) must rebuild a sound tree as it was.
  Tree second = Walk(**m);
  if (before.consistent && (!second.consistent || second.inodes != before.inodes))
    ReportFailure("second open sees another tree than the first left");
  return 0;
}

std::vector<std::pair<std::string, std::string>> StoreWalSeeds() {
  auto inode = [](InodeId ino, InodeId parent, const char* name, bool dir) {
    Inode in;
    in.ino = ino;
    in.parent = parent;
    in.name = name;
    in.mode = dir ? 0x80000000u | 0755 : 0644;
    in.uid = in.gid = in.muid = "glenda";
    in.size = dir ? 0 : 9000000;
    return in;
  };
  std::vector<storefs::Txn> txns(6);
  txns[0].Create(inode(kRootIno, 0, "/", true));
  txns[0].Reserve(1024, 1024);
  txns[1].Create(inode(2, kRootIno, "usr", true));
  txns[1].Create(inode(3, 2, "big", false));
  storefs::ChunkRef c;
  c.id = 7;
  c.version = 2;
  txns[2].SetChunk(3, 0, c);
  txns[2].SetChunk(3, 1, c);
  storefs::ServerInfo s;
  s.id = 1;
  s.addr = "tcp!127.0.0.1!5640";
  txns[3].SetServer(s);
  txns[4].Rename(3, kRootIno, "moved");
  txns[4].DropChunks(3, 1);
  txns[5].Remove(2);
  auto rec = [](std::string* out, const std::string& ops) {
    out->push_back(static_cast<char>(ops.size() & 0xff));
    out->push_back(static_cast<char>(ops.size() >> 8));
    out->append(ops);
  };
  std::vector<std::pair<std::string, std::string>> seeds;
  for (uint8_t flags : {0, 1, 4, 8, 12}) {
    std::string in(1, static_cast<char>(flags));
    for (const auto& t : txns) rec(&in, t.ops);
    if (flags & 1) in += std::string("\x40\x00\x00\x00torn", 8);  // a length, then too little
    seeds.emplace_back("log-flags" + std::to_string(flags), in);
  }
  std::string rot(1, '\x32');
  for (const auto& t : txns) rec(&rot, t.ops);
  seeds.emplace_back("log-bitrot", rot);
  return seeds;
}

}  // namespace ninep::fuzz
