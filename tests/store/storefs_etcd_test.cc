// Integration tests of several bin/storefs serving one store whose
// metadata lives in a real etcd (Debian's, started on 127.0.0.1 by the
// test): races between front ends, a killed or stopped chunk writer, a
// killed etcd member, and etcd out of reach.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "etcd_rig.h"
#include "store_rig.h"

namespace ninep::testing {
namespace {

constexpr size_t kSlot = 16 << 10;  // four slots to a 64 KiB test chunk

class StorefsEtcdTest : public ::testing::Test {
 protected:
  void SetUp() override { signal(SIGPIPE, SIG_IGN); }
  // storefs's flags for the shared store, plus extra.
  std::vector<std::string> Meta(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> f{"--meta", etcd_.Spec()};
    f.insert(f.end(), extra.begin(), extra.end());
    return f;
  }
  // Writes `data` at off of path through c.
  static Status WriteAt(StoreRig::Conn* c, const std::string& path, uint64_t off,
                        const std::string& data) {
    auto f = c->root.Walk(path);
    if (!f.ok()) return f.status();
    if (Status s = f->Open(OWRITE); !s.ok()) return s;
    auto n = f->Write(off, Bytes(data));
    if (!n.ok()) return n.status();
    return *n == data.size() ? Status() : Status(EIO, "short write");
  }
  // One etcd member, n chunkds and two storefs on them (Meta plus these
  // flags: the etcd address is known only once it runs).
  void StartTwo(int n, const std::vector<std::string>& first,
                const std::vector<std::string>& second) {
    ASSERT_TRUE(etcd_.Start(1));
    ASSERT_TRUE(rig_.StartChunkds(n));
    ASSERT_TRUE(rig_.StartStorefs(Meta(first)));
    ASSERT_FALSE(rig_.StartFront(1, Meta(second)).empty());
  }
  // The sum of `key` over the three chunkds' ctl files.
  uint64_t ChunkdSum(const std::string& key) {
    uint64_t n = 0;
    for (int i = 0; i < 3; i++) n += rig_.ChunkdCtlNum(i, key);
    return n;
  }

  EtcdRig etcd_;
  StoreRig rig_;
};

TEST_F(StorefsEtcdTest, TwoStorefsCreateInOneDirectory) {
  ASSERT_NO_FATAL_FAILURE(StartTwo(3, {}, {}));
  {
    auto c = rig_.Connect();
    ASSERT_TRUE(c);
    auto d = c->root.Walk("");
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE(d->Create("shared", DMDIR | 0755, OREAD).ok());
  }
  constexpr int kThreads = 4, kFiles = 25;
  std::atomic<int> won[kFiles] = {};
  std::vector<std::string> errors[kThreads];
  std::vector<std::thread> ts;
  ts.reserve(kThreads);
  for (int t = 0; t < kThreads; t++)
    ts.emplace_back([&, t] {
      auto c = rig_.ConnectAt(rig_.front_addr(t % 2));
      if (!c) return errors[t].push_back("connect");
      for (int i = 0; i < kFiles; i++) {
        // A name of its own, and one every thread tries to take.
        for (const std::string& n :
             {"t" + std::to_string(t) + "-" + std::to_string(i), "race" + std::to_string(i)}) {
          auto d = c->root.Walk("shared");
          if (!d.ok()) return errors[t].push_back("walk: " + d.status().message());
          Status s = d->Create(n, 0644, OWRITE);
          if (s.ok() && n[0] == 'r') won[i]++;
          if (!s.ok() && !(n[0] == 'r' && s.err() == EEXIST))
            errors[t].push_back(n + ": " + s.message());
        }
      }
    });
  for (auto& t : ts) t.join();
  for (auto& e : errors) EXPECT_TRUE(e.empty()) << e[0];
  for (int i = 0; i < kFiles; i++) EXPECT_EQ(won[i].load(), 1) << "race" << i;
  // Both front ends list every name once.
  for (size_t fe = 0; fe < 2; fe++) {
    auto c = rig_.ConnectAt(rig_.front_addr(fe));
    ASSERT_TRUE(c);
    auto d = c->root.Walk("shared");
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE(d->Open(OREAD).ok());
    auto ents = d->ReadDir();
    ASSERT_TRUE(ents.ok());
    std::set<std::string> names;
    for (const auto& e : *ents) EXPECT_TRUE(names.insert(e.name).second) << e.name;
    EXPECT_EQ(names.size(), static_cast<size_t>(kThreads * kFiles + kFiles));
  }
}

TEST_F(StorefsEtcdTest, TwoStorefsWriteOneFile) {
  ASSERT_NO_FATAL_FAILURE(StartTwo(3, {}, {}));
  auto a = rig_.Connect();
  ASSERT_TRUE(a);
  ASSERT_TRUE(PutFile(a->root, "f", "").ok());
  // Front end 0 writes the even slots, 1 the odd ones, at once: every
  // chunk is written by both, so their claims take turns.
  constexpr int kSlots = 8;
  Status res[2];
  std::thread ts[2];
  for (int fe = 0; fe < 2; fe++)
    ts[fe] = std::thread([&, fe] {
      auto c = rig_.ConnectAt(rig_.front_addr(fe));
      if (!c) {
        res[fe] = Status(EIO, "connect");
        return;
      }
      for (int s = fe; s < kSlots && res[fe].ok(); s += 2)
        res[fe] = WriteAt(c.get(), "f", s * kSlot, Pattern(fe + 1, s * kSlot, kSlot));
    });
  for (auto& t : ts) t.join();
  ASSERT_TRUE(res[0].ok()) << res[0].message();
  ASSERT_TRUE(res[1].ok()) << res[1].message();
  std::string want;
  for (int s = 0; s < kSlots; s++) want += Pattern(s % 2 + 1, s * kSlot, kSlot);
  for (size_t fe = 0; fe < 2; fe++) {
    auto c = rig_.ConnectAt(rig_.front_addr(fe));
    ASSERT_TRUE(c);
    auto got = GetFile(c->root, "f");
    ASSERT_TRUE(got.ok());
    size_t bad = 0;
    while (bad < std::min(got->size(), want.size()) && (*got)[bad] == want[bad]) bad++;
    EXPECT_TRUE(*got == want) << "front end " << fe << " size " << got->size()
                              << " first difference at " << bad;
  }
}

TEST_F(StorefsEtcdTest, KilledChunkWriterIsTakenOverAfterItsLease) {
  ASSERT_NO_FATAL_FAILURE(StartTwo(3, {"--lease-ttl", "2", "--claim-idle", "60"}, {}));
  {
    auto a = rig_.Connect();
    ASSERT_TRUE(a);
    ASSERT_TRUE(PutFile(a->root, "f", "").ok());
  }
  // Front end 0 writes 4 KiB pieces of the first chunk until killed.
  constexpr size_t kPiece = 4096, kPieces = 16;
  std::atomic<size_t> acked{0};
  std::thread writer([&] {
    auto a = rig_.Connect();
    if (!a) return;
    for (size_t i = 0; i < kPieces; i++) {
      if (!WriteAt(a.get(), "f", i * kPiece, Pattern(1, i * kPiece, kPiece)).ok()) return;
      acked = i + 1;
    }
  });
  ASSERT_TRUE(WaitFor([&] { return acked.load() >= 4; }, 30000));
  rig_.front(0).Kill(SIGKILL);
  writer.join();
  size_t kept = acked.load();
  ASSERT_GE(kept, 4u);
  // Front end 1 writes the same chunk: it waits out the dead one's claim,
  // then takes the chunk to a new version.
  auto b = rig_.ConnectAt(rig_.front_addr(1));
  ASSERT_TRUE(b);
  std::string tail = Pattern(2, kPieces * kPiece, kPiece);
  Status s = WriteAt(b.get(), "f", kPieces * kPiece, tail);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_GE(strtoull(rig_.Ctl(rig_.front_addr(1))["grants"].c_str(), nullptr, 10), 1u);
  auto got = GetFile(b->root, "f");
  ASSERT_TRUE(got.ok());
  ASSERT_GE(got->size(), kept * kPiece);
  // Every acknowledged byte of the dead writer is there.
  EXPECT_TRUE(got->substr(0, kept * kPiece) == Pattern(1, 0, kept * kPiece));
  EXPECT_TRUE(got->substr(kPieces * kPiece) == tail);
}

TEST_F(StorefsEtcdTest, AStoppedWritersChunkIsTakenOverAndItsOldVersionRefused) {
  ASSERT_NO_FATAL_FAILURE(StartTwo(3, {"--lease-ttl", "2", "--claim-idle", "60"}, {}));
  auto a = rig_.Connect();
  ASSERT_TRUE(a);
  ASSERT_TRUE(PutFile(a->root, "f", Pattern(1, 0, kSlot)).ok());  // front 0 holds chunk 0
  auto before = rig_.ReplicaNames(0);
  ASSERT_TRUE(before && before->size() == 1);
  auto fa = a->root.Walk("f");
  ASSERT_TRUE(fa.ok());
  ASSERT_TRUE(fa->Open(OWRITE).ok());
  rig_.front(0).Signal(SIGSTOP);
  // A write front 0 will only see once it runs again.
  std::string late = Pattern(3, kSlot, kSlot);
  Result<size_t> late_res(Status(EIO, "not run"));
  std::thread writer([&] { late_res = fa->Write(kSlot, Bytes(late)); });
  // Front 1 takes the chunk over once front 0's lease has run out, and
  // moves it to a new version.
  auto b = rig_.ConnectAt(rig_.front_addr(1));
  ASSERT_TRUE(b);
  std::string mine = Pattern(2, 0, 2 * kSlot);
  Status s = WriteAt(b.get(), "f", 0, mine);
  ASSERT_TRUE(s.ok()) << s.message();
  auto after = rig_.ReplicaNames(0);
  ASSERT_TRUE(after && after->size() == 1);
  EXPECT_NE((*before)[0], (*after)[0]);
  // What front 0 would send for a write it had under way when stopped:
  // the old version. Every chunk server refuses it.
  uint64_t stale = ChunkdSum("stale");
  for (int i = 0; i < 3; i++) {
    auto c = rig_.ConnectChunkd(i);
    ASSERT_TRUE(c);
    auto r = c->root.Walk("chunks/" + (*before)[0]);
    EXPECT_FALSE(r.ok());
    if (!r.ok()) {
      EXPECT_EQ(r.status().err(), ESTALE) << r.status().message();
    }
  }
  EXPECT_EQ(ChunkdSum("stale"), stale + 3);
  // Front 0, running again, reads the new version from etcd, claims the
  // chunk anew and writes after front 1.
  rig_.front(0).Signal(SIGCONT);
  writer.join();
  ASSERT_TRUE(late_res.ok()) << late_res.status().message();
  auto got = GetFile(b->root, "f");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == mine.substr(0, kSlot) + late);
}

TEST_F(StorefsEtcdTest, AnotherStorefsRepairsOnceTheLeaderIsKilled) {
  // Four chunkds: room to re-replicate onto.
  ASSERT_NO_FATAL_FAILURE(StartTwo(4, {"--lease-ttl", "2"}, {"--lease-ttl", "2"}));
  auto leads = [&](size_t fe) {
    std::string addr = rig_.front_addr(fe);
    return rig_.Ctl(addr)["leader"] == "yes";
  };
  ASSERT_TRUE(WaitFor([&] { return leads(0) != leads(1); }, 20000));
  size_t leader = leads(0) ? 0 : 1, other = 1 - leader;
  auto c = rig_.ConnectAt(rig_.front_addr(other));
  ASSERT_TRUE(c);
  std::string data = Pattern(5, 0, 4 * kSlot);
  ASSERT_TRUE(PutFile(c->root, "f", data).ok());
  rig_.front(leader).Kill(SIGKILL);
  ASSERT_TRUE(WaitFor([&] { return leads(other); }, 20000));
  // A chunk server holding replicas dies: the new leader copies them.
  int victim = -1;
  for (int i = 0; i < 4 && victim < 0; i++)
    if (auto n = rig_.ReplicaNames(i); n && !n->empty()) victim = i;
  ASSERT_GE(victim, 0);
  rig_.chunkd(victim).Kill(SIGKILL);
  std::string addr = rig_.front_addr(other);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto m = rig_.Ctl(addr);
        return strtoull(m["rereplicated"].c_str(), nullptr, 10) >= 1 &&
               m["under-replicated"] == "0";
      },
      30000));
  auto got = GetFile(c->root, "f");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data);
}

TEST_F(StorefsEtcdTest, RegisteredChunkServersAreFoundAndTheirDeathHeardThroughTheLease) {
  ASSERT_TRUE(etcd_.Start(1));
  for (int i = 0; i < 4; i++)
    ASSERT_TRUE(rig_.StartChunkd(i, {"--register", etcd_.Spec(), "--register-ttl", "2"}));
  // No -c: the servers come from etcd. Dead after a minute of silence, so
  // only the expired lease can tell of a death within the test.
  rig_.set_list_chunkds(false);
  ASSERT_TRUE(rig_.StartStorefs(Meta({"--dead-after", "60"})));
  ASSERT_TRUE(WaitFor([&] { return rig_.Ctl()["alive"] == "4"; }, 20000));
  auto c = rig_.Connect();
  ASSERT_TRUE(c);
  std::string data = Pattern(9, 0, 3 * kSlot);
  ASSERT_TRUE(PutFile(c->root, "f", data).ok());
  int victim = -1;
  for (int i = 0; i < 4 && victim < 0; i++)
    if (auto n = rig_.ReplicaNames(i); n && !n->empty()) victim = i;
  ASSERT_GE(victim, 0);
  rig_.chunkd(victim).Kill(SIGKILL);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto m = rig_.Ctl();
        return m["alive"] == "3" && m["under-replicated"] == "0" &&
               strtoull(m["rereplicated"].c_str(), nullptr, 10) >= 1;
      },
      30000));
  auto got = GetFile(c->root, "f");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data);
  // Back again: it registers anew and is alive.
  ASSERT_TRUE(rig_.StartChunkd(victim, {"--register", etcd_.Spec(), "--register-ttl", "2"}));
  EXPECT_TRUE(WaitFor([&] { return rig_.Ctl()["alive"] == "4"; }, 20000));
}

TEST_F(StorefsEtcdTest, ErasureCodedFilesOverEtcdReadWithTwoServersDead) {
  std::vector<std::string> ec{"--ec", "4+2", "--chunk", "1m", "--no-local-reads"};
  ASSERT_NO_FATAL_FAILURE(StartTwo(6, ec, ec));
  auto a = rig_.Connect();
  ASSERT_TRUE(a);
  std::string data = Pattern(12, 0, 2 * (1 << 20) + 777);
  ASSERT_TRUE(PutFile(a->root, "f", data).ok());
  rig_.chunkd(1).Kill(SIGKILL);
  rig_.chunkd(4).Kill(SIGKILL);
  // The other front end reads the fragments' places from etcd.
  auto b = rig_.ConnectAt(rig_.front_addr(1));
  ASSERT_TRUE(b);
  auto got = GetFile(b->root, "f");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == data);
}

TEST_F(StorefsEtcdTest, KeepsWorkingWithOneEtcdMemberOfThreeKilled) {
  ASSERT_TRUE(etcd_.Start(3));
  ASSERT_TRUE(rig_.StartChunkds(3));
  ASSERT_TRUE(rig_.StartStorefs(Meta()));
  auto c = rig_.Connect();
  ASSERT_TRUE(c);
  for (int i = 0; i < 5; i++)
    ASSERT_TRUE(PutFile(c->root, "f" + std::to_string(i), Pattern(i, 0, 3 * kSlot)).ok());
  etcd_.Kill(0);
  for (int i = 5; i < 10; i++) {
    Status s = PutFile(c->root, "f" + std::to_string(i), Pattern(i, 0, 3 * kSlot));
    ASSERT_TRUE(s.ok()) << i << ": " << s.message();
  }
  for (int i = 0; i < 10; i++) {
    auto got = GetFile(c->root, "f" + std::to_string(i));
    ASSERT_TRUE(got.ok()) << i;
    EXPECT_TRUE(*got == Pattern(i, 0, 3 * kSlot)) << i;
  }
}

TEST_F(StorefsEtcdTest, EtcdOutOfReachFailsClearlyAndResumes) {
  ASSERT_TRUE(etcd_.Start(1));
  ASSERT_TRUE(rig_.StartChunkds(3));
  ASSERT_TRUE(rig_.StartStorefs(Meta()));
  auto c = rig_.Connect();
  ASSERT_TRUE(c);
  std::string data = Pattern(7, 0, 5 * kSlot);
  ASSERT_TRUE(PutFile(c->root, "kept", data).ok());
  // 9P2000 carries the message; 9P2000.L only the errno.
  auto c9 = rig_.Connect(false);
  ASSERT_TRUE(c9);
  etcd_.Kill(0);
  // An attach needs the root's record, so it fails too.
  EXPECT_FALSE(rig_.Connect());
  Status s = PutFile(c9->root, "new", "x");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("etcd unreachable"), std::string::npos) << s.message();
  auto r = GetFile(c9->root, "kept");
  EXPECT_FALSE(r.ok());
  if (!r.ok()) {
    EXPECT_NE(r.status().message().find("etcd unreachable"), std::string::npos);
  }
  r = GetFile(c->root, "kept");
  EXPECT_EQ(r.status().err(), ECONNREFUSED);
  ASSERT_TRUE(etcd_.Restart(0));
  auto got = GetFile(c->root, "kept");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == data);
  EXPECT_TRUE(PutFile(c->root, "new", "x").ok());
  auto n = GetFile(c->root, "new");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, "x");
}

}  // namespace
}  // namespace ninep::testing
