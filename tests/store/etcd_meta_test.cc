// Tests of EtcdMetaStore (storefs --meta etcd!...) against a real etcd on
// 127.0.0.1: the records it keeps, the guards that make two storefs on one
// store lose races cleanly instead of corrupting it, chunk claims, and
// errors when etcd is gone.
#include "storefs/etcd_meta.h"

#include <gtest/gtest.h>

#include <thread>

#include "etcd_rig.h"

namespace ninep::testing {
namespace {

using storefs::ChunkRef;
using storefs::EtcdMetaStore;
using storefs::Inode;
using storefs::InodeId;
using storefs::kRootIno;
using storefs::Txn;

class EtcdMetaTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(etcd_.Start(1)); }

  std::unique_ptr<EtcdMetaStore> Open(const std::string& name, int64_t ttl = 10) {
    EtcdMetaStore::Options o;
    o.owner = "glenda";
    o.name = name;
    o.lease_ttl = ttl;
    o.timeout = std::chrono::milliseconds(3000);
    auto m = EtcdMetaStore::Open(etcd_.Spec(), o);
    EXPECT_TRUE(m.ok()) << m.status().message();
    return m.ok() ? std::move(*m) : nullptr;
  }
  // Creates name under dir as a file (or directory) and returns its inode.
  static Inode Make(EtcdMetaStore* m, InodeId dir, const std::string& name, bool isdir = false) {
    auto ino = m->NewInode();
    EXPECT_TRUE(ino.ok());
    Inode in;
    in.ino = *ino;
    in.parent = dir;
    in.name = name;
    in.mode = (isdir ? 0x80000000u : 0) | 0644;
    in.uid = in.gid = in.muid = "glenda";
    Txn t;
    t.Create(in);
    EXPECT_TRUE(m->Commit(t).ok());
    return *m->Get(in.ino);
  }

  EtcdRig etcd_;
};

TEST_F(EtcdMetaTest, KeepsTheTreeChunksAndServers) {
  auto m = Open("a");
  ASSERT_TRUE(m);
  auto root = m->Get(kRootIno);
  ASSERT_TRUE(root);
  EXPECT_TRUE(root->IsDir());
  EXPECT_EQ(root->uid, "glenda");
  Inode d = Make(m.get(), kRootIno, "d", true);
  Inode f = Make(m.get(), d.ino, "f");
  EXPECT_NE(d.ino, f.ino);
  EXPECT_EQ(m->Lookup(kRootIno, "d")->ino, d.ino);
  EXPECT_FALSE(m->Lookup(kRootIno, "nope"));
  EXPECT_TRUE(m->ReadStatus().ok());  // absent, and truly so
  EXPECT_FALSE(m->Empty(d.ino));

  auto id = m->NewChunkId();
  ASSERT_TRUE(id.ok());
  Txn t;
  f.size = 100;
  t.SetAttr(f);
  t.SetChunk(f.ino, 0, ChunkRef{*id, 1, {1, 2, 3}});
  t.SetServer({7, "tcp!127.0.0.1!9", storefs::ServerState::kDraining});
  ASSERT_TRUE(m->Commit(t).ok());
  EXPECT_EQ(m->Get(f.ino)->size, 100u);
  EXPECT_EQ(m->Lookup(d.ino, "f")->size, 100u);  // the listing's copy too
  auto c = m->Chunk(f.ino, 0);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->replicas, (std::vector<uint32_t>{1, 2, 3}));
  auto place = m->FindChunk(*id);
  ASSERT_TRUE(place);
  EXPECT_EQ(place->ino, f.ino);
  auto servers = m->Servers();
  ASSERT_EQ(servers.size(), 1u);
  EXPECT_EQ(servers[0].addr, "tcp!127.0.0.1!9");
  EXPECT_EQ(servers[0].state, storefs::ServerState::kDraining);

  // A second storefs sees all of it, and its ids never collide.
  auto m2 = Open("b");
  ASSERT_TRUE(m2);
  EXPECT_EQ(m2->List(d.ino).size(), 1u);
  EXPECT_NE(*m2->NewInode(), *m->NewInode());

  // Rename, then remove: the chunk records go with the file.
  Txn r;
  r.Rename(f.ino, kRootIno, "g");
  ASSERT_TRUE(m->Commit(r).ok());
  EXPECT_FALSE(m->Lookup(d.ino, "f"));
  EXPECT_EQ(m->Lookup(kRootIno, "g")->ino, f.ino);
  EXPECT_TRUE(m->Empty(d.ino));
  Txn rm;
  rm.Remove(f.ino);
  ASSERT_TRUE(m->Commit(rm).ok());
  EXPECT_FALSE(m->Get(f.ino));
  EXPECT_TRUE(m->Chunks(f.ino).empty());
  EXPECT_FALSE(m->FindChunk(*id));
}

TEST_F(EtcdMetaTest, AStaleCopyLosesAndChangesNothing) {
  auto a = Open("a"), b = Open("b");
  ASSERT_TRUE(a && b);
  Inode f = Make(a.get(), kRootIno, "f");
  auto fa = a->Get(f.ino), fb = b->Get(f.ino);
  fa->size = 10;
  Txn ta;
  ta.SetAttr(*fa);
  ASSERT_TRUE(a->Commit(ta).ok());
  // b read before a's change: its write would lose a's size.
  fb->size = 5;
  fb->mode = 0600;
  Txn tb;
  tb.SetAttr(*fb);
  Status s = b->Commit(tb);
  EXPECT_TRUE(storefs::IsConflict(s)) << s.message();
  EXPECT_EQ(a->Get(f.ino)->size, 10u);
  EXPECT_EQ(a->Get(f.ino)->mode, 0644u);
}

TEST_F(EtcdMetaTest, TwoCreatesOfOneNameOneWins) {
  auto a = Open("a"), b = Open("b");
  ASSERT_TRUE(a && b);
  for (int round = 0; round < 20; round++) {
    std::string name = "n" + std::to_string(round);
    Status res[2];
    std::thread ts[2];
    EtcdMetaStore* ms[2] = {a.get(), b.get()};
    for (int i = 0; i < 2; i++)
      ts[i] = std::thread([&, i] {
        Inode in;
        in.ino = *ms[i]->NewInode();
        in.parent = kRootIno;
        in.name = name;
        in.mode = 0644;
        Txn t;
        t.Create(in);
        res[i] = ms[i]->Commit(t);
      });
    for (auto& t : ts) t.join();
    EXPECT_NE(res[0].ok(), res[1].ok()) << round;
    EXPECT_TRUE(storefs::IsConflict(res[0].ok() ? res[1] : res[0]));
  }
  EXPECT_EQ(a->List(kRootIno).size(), 20u);
}

TEST_F(EtcdMetaTest, RemovingADirectorySomeoneFilledLoses) {
  auto a = Open("a"), b = Open("b");
  ASSERT_TRUE(a && b);
  Inode d = Make(a.get(), kRootIno, "d", true);
  ASSERT_TRUE(a->Empty(d.ino));  // a checked: empty
  Make(b.get(), d.ino, "late");  // b fills it meanwhile
  Txn t;
  t.Remove(d.ino);
  EXPECT_TRUE(storefs::IsConflict(a->Commit(t)));
  EXPECT_TRUE(a->Get(d.ino));
  EXPECT_TRUE(a->Lookup(d.ino, "late"));
}

TEST_F(EtcdMetaTest, ACreateUnderARemovedDirectoryLoses) {
  auto a = Open("a");
  ASSERT_TRUE(a);
  Inode d = Make(a.get(), kRootIno, "d", true);
  Txn rm;
  rm.Remove(d.ino);
  ASSERT_TRUE(a->Commit(rm).ok());
  Inode in;
  in.ino = *a->NewInode();
  in.parent = d.ino;
  in.name = "orphan";
  Txn t;
  t.Create(in);
  EXPECT_TRUE(storefs::IsConflict(a->Commit(t)));
  EXPECT_FALSE(a->Get(in.ino));
}

TEST_F(EtcdMetaTest, ChunkClaimsHaveOneHolder) {
  auto a = Open("a"), b = Open("b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->ClaimChunk(42).ok());
  EXPECT_TRUE(a->ClaimChunk(42).ok());  // again: still ours
  Status s = b->ClaimChunk(42);
  EXPECT_EQ(s.err(), EBUSY);
  EXPECT_NE(s.message().find("through a"), std::string::npos) << s.message();
  EXPECT_TRUE(b->Claimed(42));
  b->ReleaseChunk(42);  // not b's to release
  EXPECT_EQ(b->ClaimChunk(42).err(), EBUSY);
  a->ReleaseChunk(42);
  EXPECT_FALSE(b->Claimed(42));
  ASSERT_TRUE(b->ClaimChunk(42).ok());
  // A storefs that ends lets go of its claims at once (its lease is revoked).
  b.reset();
  EXPECT_TRUE(a->ClaimChunk(42).ok());
}

TEST_F(EtcdMetaTest, EtcdGoneGivesAClearErrorAndLosesNothing) {
  auto a = Open("a");
  ASSERT_TRUE(a);
  Inode f = Make(a.get(), kRootIno, "kept");
  etcd_.Kill(0);
  auto g = a->Get(f.ino);
  EXPECT_FALSE(g);
  Status rs = a->ReadStatus();
  EXPECT_FALSE(rs.ok());
  EXPECT_NE(rs.message().find("etcd unreachable"), std::string::npos) << rs.message();
  Inode in;
  in.ino = f.ino + 1000;
  in.parent = kRootIno;
  in.name = "lost";
  Txn t;
  t.Create(in);
  Status s = a->Commit(t);
  EXPECT_EQ(s.err(), ECONNREFUSED) << s.message();
  ASSERT_TRUE(etcd_.Restart(0));
  EXPECT_TRUE(a->Get(f.ino));
  EXPECT_FALSE(a->Lookup(kRootIno, "lost"));
  EXPECT_TRUE(a->Commit(t).ok());
  EXPECT_TRUE(a->Lookup(kRootIno, "lost"));

  // No etcd at all: opening says so.
  EtcdMetaStore::Options o;
  o.timeout = std::chrono::milliseconds(1000);
  auto none = EtcdMetaStore::Open("etcd!127.0.0.1!" + std::to_string(FreePort()), o);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("etcd unreachable"), std::string::npos);
  EXPECT_EQ(EtcdMetaStore::Open("etcd!nonsense", o).status().err(), EINVAL);
}

}  // namespace
}  // namespace ninep::testing
