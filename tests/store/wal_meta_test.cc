// wal_meta_test: storefs's embedded metadata store: namespace and chunk-map
// transactions survive reopen, with and without a snapshot; ids are never
// handed out twice across a restart; a torn last transaction is absent.
#include "storefs/wal_meta.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;
using namespace storefs;

class WalMetaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wal_meta_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<WalMetaStore> Open(uint64_t snapshot_bytes = 64 << 20) {
    WalMetaStore::Options o;
    o.owner = "glenda";
    o.snapshot_bytes = snapshot_bytes;
    auto m = WalMetaStore::Open(dir_, o);
    EXPECT_TRUE(m.ok()) << m.status().message();
    return m.ok() ? std::move(*m) : nullptr;
  }
  Inode NewFile(MetaStore* m, InodeId parent, const std::string& name, bool dir = false) {
    Inode in;
    in.ino = *m->NewInode();
    in.parent = parent;
    in.name = name;
    in.mode = (dir ? 0x80000000u : 0) | 0644;
    in.uid = in.gid = in.muid = "glenda";
    Txn t;
    t.Create(in);
    EXPECT_TRUE(m->Commit(t).ok());
    return in;
  }
  std::string dir_;
};

TEST_F(WalMetaTest, NamespaceAndChunksSurviveReopen) {
  InodeId d, f, g;
  uint64_t cid;
  {
    auto m = Open();
    ASSERT_TRUE(m);
    auto root = m->Get(kRootIno);
    ASSERT_TRUE(root && root->IsDir());
    EXPECT_EQ(root->uid, "glenda");
    d = NewFile(m.get(), kRootIno, "dir", true).ino;
    Inode fi = NewFile(m.get(), d, "file");
    f = fi.ino;
    g = NewFile(m.get(), kRootIno, "gone").ino;
    cid = *m->NewChunkId();
    Txn t;
    fi.size = 12345;
    fi.qvers = 3;
    t.SetAttr(fi);
    t.SetChunk(f, 0, ChunkRef{cid, 2, {1, 2, 3}});
    t.SetChunk(f, 5, ChunkRef{cid + 1, 1, {2}});
    t.SetServer(ServerInfo{1, "unix!/tmp/x", ServerState::kDraining});
    ASSERT_TRUE(m->Commit(t).ok());
    Txn r;
    r.Remove(g);
    r.Rename(f, kRootIno, "moved");
    ASSERT_TRUE(m->Commit(r).ok());
    Txn tr;
    tr.DropChunks(f, 1);
    ASSERT_TRUE(m->Commit(tr).ok());
  }
  auto m = Open();
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->Lookup(kRootIno, "gone"));
  EXPECT_FALSE(m->Lookup(d, "file"));
  auto moved = m->Lookup(kRootIno, "moved");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->ino, f);
  EXPECT_EQ(moved->size, 12345u);
  EXPECT_EQ(moved->qvers, 3u);
  auto chunks = m->Chunks(f);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(chunks[0].second.id, cid);
  EXPECT_EQ(chunks[0].second.version, 2u);
  EXPECT_EQ(chunks[0].second.replicas, (std::vector<uint32_t>{1, 2, 3}));
  auto place = m->FindChunk(cid);
  ASSERT_TRUE(place);
  EXPECT_EQ(place->ino, f);
  EXPECT_FALSE(m->FindChunk(cid + 1)) << "dropped by the truncation";
  auto servers = m->Servers();
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_EQ(servers[0].state, ServerState::kDraining);
  EXPECT_TRUE(m->Empty(d));
  // Ids handed out before the restart are never handed out again.
  EXPECT_GT(*m->NewInode(), g);
  EXPECT_GT(*m->NewChunkId(), cid);
}

TEST_F(WalMetaTest, SnapshotThenMoreCommitsReplaysBoth) {
  InodeId a;
  {
    auto m = Open();
    ASSERT_TRUE(m);
    for (int i = 0; i < 50; i++) NewFile(m.get(), kRootIno, "f" + std::to_string(i));
    a = NewFile(m.get(), kRootIno, "a", true).ino;
    Txn t;
    t.SetChunk(m->Lookup(kRootIno, "f7")->ino, 0, ChunkRef{77, 4, {1}});
    ASSERT_TRUE(m->Commit(t).ok());
    ASSERT_TRUE(m->Snapshot().ok());
    NewFile(m.get(), a, "after");
    EXPECT_EQ(m->Stats().snapshots, 1u);
  }
  auto m = Open();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->List(kRootIno).size(), 51u);
  EXPECT_TRUE(m->Lookup(a, "after"));
  auto c = m->Chunk(m->Lookup(kRootIno, "f7")->ino, 0);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->version, 4u);
  EXPECT_EQ(m->recovery().snapshot_gen, 2u);
}

TEST_F(WalMetaTest, AutomaticSnapshotsKeepTheLogShort) {
  {
    auto m = Open(4096);
    ASSERT_TRUE(m);
    for (int i = 0; i < 300; i++) NewFile(m.get(), kRootIno, "file-" + std::to_string(i));
  }
  auto m = Open(4096);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->List(kRootIno).size(), 300u);
  EXPECT_GT(m->recovery().snapshot_gen, 1u);
}

TEST_F(WalMetaTest, TornLastTransactionIsAbsentWhole) {
  {
    auto m = Open();
    ASSERT_TRUE(m);
    NewFile(m.get(), kRootIno, "kept");
    Inode x = NewFile(m.get(), kRootIno, "x");
    Txn t;  // one transaction of two ops: torn, neither may apply
    t.Rename(x.ino, kRootIno, "y");
    x.size = 99;
    t.SetAttr(x);
    ASSERT_TRUE(m->Commit(t).ok());
  }
  std::string log = dir_ + "/log.0000000000000001";
  ASSERT_EQ(truncate(log.c_str(), static_cast<off_t>(fs::file_size(log) - 3)), 0);
  auto m = Open();
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->Lookup(kRootIno, "kept"));
  auto x = m->Lookup(kRootIno, "x");
  ASSERT_TRUE(x);
  EXPECT_EQ(x->size, 0u);
  EXPECT_FALSE(m->Lookup(kRootIno, "y"));
  EXPECT_NE(m->Stats().recovery, "");
}

}  // namespace

namespace {

// A log that names an inode or chunk id far past every reservation (a bad
// disk, a foreign file: found by fuzz_storewal, where it hung NewInode in
// a loop of 4,096-id reservations) hands out ids past it, in one step; at
// the very end of the id space it says so instead of wrapping to ids in use.
TEST_F(WalMetaTest, IdsFarPastTheReservationsAreNeverReused) {
  for (uint64_t far : {uint64_t{1} << 40, ~uint64_t{0}}) {
    SCOPED_TRACE(far);
    fs::remove_all(dir_);
    {
      auto m = Open();
      ASSERT_NE(m, nullptr);
      Inode in;
      in.ino = far;
      in.parent = kRootIno;
      in.name = "far";
      in.mode = 0644;
      in.uid = in.gid = in.muid = "glenda";
      ChunkRef c;
      c.id = far;
      c.version = 1;
      Txn t;
      t.Create(in);
      t.SetChunk(far, 0, c);
      ASSERT_TRUE(m->Commit(t).ok());
    }
    auto m = Open();
    ASSERT_NE(m, nullptr);
    auto ino = m->NewInode();
    auto cid = m->NewChunkId();
    if (far == ~uint64_t{0}) {
      EXPECT_EQ(ino.status().err(), ENOSPC);
      EXPECT_EQ(cid.status().err(), ENOSPC);
    } else {
      ASSERT_TRUE(ino.ok()) << ino.status().message();
      ASSERT_TRUE(cid.ok()) << cid.status().message();
      EXPECT_GT(*ino, far);
      EXPECT_GT(*cid, far);
      EXPECT_LE(m->Stats().log_syncs, 4u);  // one reservation each, not 2^28
    }
  }
}

}  // namespace

// Found by fuzz_storewal: an Open that failed before the log was open
// called into the missing log while it cleaned up.
TEST_F(WalMetaTest, AnOpenThatFailsEarlyReportsAndCleansUp) {
  std::string file = dir_ + "/not-a-dir";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  auto m = WalMetaStore::Open(file + "/meta", {});
  EXPECT_FALSE(m.ok());
}

// The layout of an erasure-coded file and its chunks' fragment places
// survive a reopen (ops SetLayout and SetChunkEc) and a snapshot.
TEST_F(WalMetaTest, ErasureCodedLayoutsSurviveReopenAndSnapshot) {
  InodeId ino;
  {
    auto m = Open();
    ASSERT_TRUE(m);
    Inode in;
    in.ino = ino = *m->NewInode();
    in.parent = kRootIno;
    in.name = "f";
    in.layout = EcLayout(4, 2);
    Txn t;
    t.Create(in);
    ChunkRef c{*m->NewChunkId(), 3, {1, 2, 0, 4, 5, 6}, 0, 4, 2};
    t.SetChunk(ino, 0, c);
    ASSERT_TRUE(m->Commit(t).ok());
    ASSERT_TRUE(m->Snapshot().ok());
    Txn t2;
    t2.SetLayout(kRootIno, EcLayout(6, 3));
    ASSERT_TRUE(m->Commit(t2).ok());
  }
  auto m = Open();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->Get(ino)->layout, EcLayout(4, 2));
  EXPECT_EQ(m->Get(kRootIno)->layout, EcLayout(6, 3));
  auto c = m->Chunk(ino, 0);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->k, 4);
  EXPECT_EQ(c->m, 2);
  EXPECT_EQ(c->replicas, (std::vector<uint32_t>{1, 2, 0, 4, 5, 6}));
  // A malformed one is refused whole: k + m must be the fragment count.
  Txn bad;
  bad.SetChunk(ino, 1, ChunkRef{*m->NewChunkId(), 1, {1, 2}, 0, 4, 2});
  EXPECT_EQ(DecodeTxn(bad.ops, nullptr).err(), EINVAL);
}
