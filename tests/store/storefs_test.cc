// storefs_test: bin/storefs over real chunkd processes: file semantics in
// both dialects, then the faults of issue 11: a chunkd killed mid-write, a
// stopped chunkd, a flipped bit in replicas, a stale replica after a
// restart, a full disk, a torn and a corrupted metadata log.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include "store_rig.h"

namespace ninep::testing {
namespace {

namespace fs = std::filesystem;

// Appends records of `rec` bytes to /log until stop, counting the acknowledged ones.
struct Appender {
  Appender(StoreRig* rig, size_t rec, uint64_t seed) : rig_(rig), rec_(rec), seed_(seed) {}
  ~Appender() { Stop(); }
  void Start() {
    t_ = std::thread([this] {
      auto c = rig_->Connect();
      if (!c) return;
      auto f = c->root.Walk("log");
      if (!f.ok() || !f->Open(OWRITE).ok()) return;
      while (!stop_) {
        uint64_t off = acked_ * rec_;
        auto n = f->Write(off, Bytes(Pattern(seed_, off, rec_)));
        if (!n.ok()) {
          error_ = n.status().message();
          failed_++;
          if (failed_ > 3) return;
          continue;
        }
        acked_++;
      }
    });
  }
  void Stop() {
    stop_ = true;
    if (t_.joinable()) t_.join();
  }
  StoreRig* rig_;
  size_t rec_;
  uint64_t seed_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> acked_{0};
  std::atomic<int> failed_{0};
  std::string error_;
  std::thread t_;
};

class StorefsTest : public ::testing::Test {
 protected:
  StoreRig rig;
};

TEST_F(StorefsTest, FileSemanticsInBothDialects) {
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs());
  for (bool dotl : {true, false}) {
    SCOPED_TRACE(dotl ? "9P2000.L" : "9P2000");
    auto c = rig.Connect(dotl);
    ASSERT_TRUE(c);
    std::string d = dotl ? "l" : "u";
    {
      auto dir = c->root.Walk("");
      ASSERT_TRUE(dir.ok());
      ASSERT_TRUE(dir->Create(d, DMDIR | 0755, OREAD).ok());
    }
    // Across several 64 KiB chunks, at an odd offset.
    std::string data = Pattern(1, 0, 300000);
    ASSERT_TRUE(PutFile(c->root, d + "/f", data).ok());
    auto got = GetFile(c->root, d + "/f");
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(*got, data);
    {
      auto f = c->root.Walk(d + "/f");
      ASSERT_TRUE(f.ok() && f->Open(ORDWR).ok());
      ASSERT_TRUE(f->Write(70000, Bytes("HELLO")).ok());
      data.replace(70000, 5, "HELLO");
      // Sparse: far past the end; the gap reads as zeros.
      ASSERT_TRUE(f->Write(1000000, Bytes("TAIL")).ok());
      data.resize(1000000, '\0');
      data += "TAIL";
      auto st = f->Stat();
      ASSERT_TRUE(st.ok());
      EXPECT_EQ(st->length, data.size());
    }
    EXPECT_EQ(*GetFile(c->root, d + "/f"), data);
    // Truncate down into a chunk, then grow again: the cut part reads as zeros.
    {
      auto f = c->root.Walk(d + "/f");
      ASSERT_TRUE(f.ok());
      Dir w;
      w.mode = ~0u;
      w.atime = w.mtime = ~0u;
      w.length = 100000;
      ASSERT_TRUE(f->Wstat(w).ok());
      w.length = 200000;
      ASSERT_TRUE(f->Wstat(w).ok());
    }
    data.resize(100000);
    data.resize(200000, '\0');
    EXPECT_EQ(*GetFile(c->root, d + "/f"), data);
    // Directory listing, rename, remove.
    ASSERT_TRUE(PutFile(c->root, d + "/g", "gee").ok());
    {
      auto dir = c->root.Walk(d);
      ASSERT_TRUE(dir.ok() && dir->Open(OREAD).ok());
      auto ents = dir->ReadDir();
      ASSERT_TRUE(ents.ok());
      ASSERT_EQ(ents->size(), 2u);
      EXPECT_EQ((*ents)[0].name, "f");
      EXPECT_EQ((*ents)[1].name, "g");
    }
    if (dotl) {
      auto dir = c->root.Walk(d);
      ASSERT_TRUE(dir.ok());
      Trenameat t;
      t.olddirfid = dir->num();
      t.oldname = "g";
      t.newdirfid = c->root.num();
      t.newname = "moved";
      ASSERT_TRUE(c->client->CallSync(t).ok());
      EXPECT_EQ(*GetFile(c->root, "moved"), "gee");
      EXPECT_FALSE(c->root.Walk(d + "/g").ok());
      ASSERT_TRUE(c->root.Walk("moved")->Remove().ok());
    } else {
      auto g = c->root.Walk(d + "/g");
      ASSERT_TRUE(g.ok());
      Dir w;
      w.mode = ~0u;
      w.atime = w.mtime = ~0u;
      w.length = ~0ull;
      w.name = "h";
      ASSERT_TRUE(g->Wstat(w).ok());
      EXPECT_EQ(*GetFile(c->root, d + "/h"), "gee");
      ASSERT_TRUE(c->root.Walk(d + "/h")->Remove().ok());
    }
    auto nonempty = c->root.Walk(d);
    ASSERT_TRUE(nonempty.ok());
    EXPECT_FALSE(nonempty->Remove().ok()) << "a directory with a file is not removed";
    ASSERT_TRUE(c->root.Walk(d + "/f")->Remove().ok());
    ASSERT_TRUE(c->root.Walk(d)->Remove().ok());
  }
  auto ctl = rig.Ctl();
  EXPECT_EQ(ctl["alive"], "3");
  EXPECT_EQ(ctl["under-replicated"], "0");
  EXPECT_NE(ctl.count("latency Twrite"), 0u);
  // Removed files' replicas are deleted.
  EXPECT_TRUE(WaitFor([&] { return rig.CtlNum("chunks") == 0; }, 10000));
  EXPECT_FALSE(rig.CtlWrite("frobnicate").ok()) << "unknown ctl messages are errors";
}

TEST_F(StorefsTest, ChunkdKilledMidWriteLosesNoAcknowledgedByte) {
  ASSERT_TRUE(rig.StartChunkds(4));
  ASSERT_TRUE(rig.StartStorefs());
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(PutFile(c->root, "log", "").ok());
  Appender w(&rig, 40000, 7);
  w.Start();
  ASSERT_TRUE(WaitFor([&] { return w.acked_ >= 20; }, 30000));
  rig.chunkd(0).Kill(SIGKILL);
  uint64_t at_kill = w.acked_;
  ASSERT_TRUE(WaitFor([&] { return w.acked_ >= at_kill + 20 || w.failed_ > 3; }, 30000));
  w.Stop();
  EXPECT_EQ(w.failed_.load(), 0) << w.error_;
  ASSERT_TRUE(rig.storefs().Running()) << "storefs exited: status " << rig.storefs().WaitExit(0);
  auto got = GetFile(c->root, "log");
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_GE(got->size(), w.acked_ * 40000);
  EXPECT_TRUE(*got == Pattern(7, 0, got->size())) << "acknowledged bytes intact";
  // Declared dead, and every chunk has 3 replicas again on the 3 others.
  EXPECT_TRUE(WaitFor([&] { return rig.CtlNum("alive") == 3; }, 20000));
  EXPECT_TRUE(WaitFor([&] { return rig.CtlNum("under-replicated") == 0; }, 30000))
      << rig.CtlNum("under-replicated");
}

TEST_F(StorefsTest, StoppedChunkdDoesNotHangAndIsReplaced) {
  ASSERT_TRUE(rig.StartChunkds(4));
  ASSERT_TRUE(rig.StartStorefs());
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  std::string data = Pattern(3, 0, 500000);
  ASSERT_TRUE(PutFile(c->root, "f", data).ok());
  rig.chunkd(1).Signal(SIGSTOP);
  // Writes and reads go on, bounded by the call timeout, not forever.
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(PutFile(c->root, "g", Pattern(4, 0, 300000)).ok());
  auto got = GetFile(c->root, "f");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, data);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
  EXPECT_TRUE(WaitFor([&] { return rig.CtlNum("alive") == 3; }, 20000));
  EXPECT_TRUE(WaitFor([&] { return rig.CtlNum("under-replicated") == 0; }, 30000));
  EXPECT_GT(rig.CtlNum("rereplicated"), 0u);
  EXPECT_EQ(*GetFile(c->root, "g"), Pattern(4, 0, 300000));
  rig.chunkd(1).Signal(SIGCONT);
}

TEST_F(StorefsTest, FlippedBitIsServedFromAnotherReplicaAndRepaired) {
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs());
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  std::string data = Pattern(5, 0, 8 * 65536);  // 8 chunks
  ASSERT_TRUE(PutFile(c->root, "f", data).ok());
  // Two of the three replicas of every chunk go bad.
  ASSERT_GE(FlipReplicas(rig.ChunkDir(0)), 8);
  ASSERT_GE(FlipReplicas(rig.ChunkDir(1)), 8);
  auto got = GetFile(c->root, "f");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, data) << "served from the good replica";
  EXPECT_GT(rig.CtlNum("corrupt-reads"), 0u);
  ASSERT_TRUE(rig.CtlWrite("scrub").ok());
  EXPECT_TRUE(WaitFor([&] { return rig.CtlNum("repairs") >= 16; }, 30000)) << rig.CtlNum("repairs");
  // Only the repaired copies are left to read from.
  rig.chunkd(2).Kill(SIGKILL);
  got = GetFile(c->root, "f");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, data);
}

// storefs keeps replica fids open between calls. One whose replica was
// removed and made again under the same name (a repair that starts over
// from a leftover does that) is dropped, and the call runs on a fresh fid
// rather than failing the replica.
TEST_F(StorefsTest, AKeptReplicaFidThatWentStaleIsOpenedAfresh) {
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs({"--no-local-reads"}));
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(PutFile(c->root, "f", Pattern(7, 0, 1000)).ok());
  auto f = c->root.Walk("f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Open(OWRITE).ok());
  ASSERT_TRUE(f->Write(0, Bytes("first")).ok());  // the fids are kept now
  auto names = rig.ReplicaNames(0);
  ASSERT_TRUE(names && names->size() == 1u);
  const std::string name = names->front();
  auto cd = rig.ConnectChunkd(0);
  ASSERT_TRUE(cd);
  auto old = cd->root.Walk("chunks/" + name);
  ASSERT_TRUE(old.ok());
  ASSERT_TRUE(old->Remove().ok());
  auto dir = cd->root.Walk("chunks");
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(dir->Create(name, 0644, OWRITE).ok());  // empty, same version
  const uint64_t errors = rig.CtlNum("replica-write-errors");
  ASSERT_TRUE(f->Write(0, Bytes("again")).ok());
  EXPECT_EQ(rig.CtlNum("replica-write-errors"), errors) << "a stale kept fid is no failure";
  // The bytes are in the new file.
  auto now = cd->root.Walk("chunks/" + name);
  ASSERT_TRUE(now.ok());
  ASSERT_TRUE(now->Open(OREAD).ok());
  std::string got(5, '\0');
  auto n = now->Read(0, std::span<uint8_t>(reinterpret_cast<uint8_t*>(got.data()), got.size()));
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(got.substr(0, *n), "again");
}

// Local reads: with every chunkd's directory visible here, storefs reads
// replicas from their files and chunkd serves none of those reads; a
// directory whose token file does not hold the word chunkd shows is not
// trusted, and --no-local-reads turns the path off.
TEST_F(StorefsTest, LocalReadsBypassChunkdOnlyWhenItsTokenMatches) {
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs());
  for (int i = 0; i < 3; i++) EXPECT_EQ(rig.ServerField(i, "local"), "yes") << i;
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  std::string data = Pattern(7, 0, 8 * 65536 + 1000);  // 9 chunks
  ASSERT_TRUE(PutFile(c->root, "f", data).ok());
  auto chunkd_reads = [&] {
    uint64_t sum = 0;
    for (int i = 0; i < 3; i++) sum += rig.ChunkdCtlNum(i, "reads");
    return sum;
  };
  auto local_reads = [&] {
    uint64_t sum = 0;
    for (int i = 0; i < 3; i++)
      sum += strtoull(rig.ServerField(i, "local-reads").c_str(), nullptr, 10);
    return sum;
  };
  const uint64_t before = chunkd_reads();
  auto got = GetFile(c->root, "f");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, data);
  EXPECT_EQ(chunkd_reads(), before) << "a read went to chunkd";
  EXPECT_GE(local_reads(), 9u);

  // Another word in chunkd 0's token file: a different directory, as far
  // as storefs can tell, so chunkd 0 answers its reads itself.
  c.reset();
  WriteFile(rig.ChunkDir(0) + "/token", "00000000000000000000000000000000\n");
  ASSERT_TRUE(rig.StartStorefs());
  EXPECT_EQ(rig.ServerField(0, "local"), "no");
  EXPECT_EQ(rig.ServerField(1, "local"), "yes");
  c = rig.Connect();
  ASSERT_TRUE(c);
  got = GetFile(c->root, "f");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, data);

  c.reset();
  ASSERT_TRUE(rig.StartStorefs({"--no-local-reads"}));
  for (int i = 0; i < 3; i++) EXPECT_EQ(rig.ServerField(i, "local"), "no") << i;
  c = rig.Connect();
  ASSERT_TRUE(c);
  const uint64_t before9p = chunkd_reads();
  got = GetFile(c->root, "f");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, data);
  EXPECT_GE(chunkd_reads(), before9p + 9);
  EXPECT_EQ(local_reads(), 0u);
}

// A block that fails its CRC in a local read is not taken as corrupt on
// storefs's word alone (it may be a write in flight): chunkd is asked, and
// it is chunkd that finds, counts and lists the bad block.
TEST_F(StorefsTest, LocalReadMismatchIsConfirmedAndReportedByChunkd) {
  ASSERT_TRUE(rig.StartChunkds(1));
  ASSERT_TRUE(rig.StartStorefs({"-r", "1", "-w", "1"}));
  ASSERT_EQ(rig.ServerField(0, "local"), "yes");
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  std::string data = Pattern(8, 0, 2 * 65536);
  ASSERT_TRUE(PutFile(c->root, "f", data).ok());
  ASSERT_GE(FlipReplicas(rig.ChunkDir(0)), 2);
  auto got = GetFile(c->root, "f");
  ASSERT_FALSE(got.ok()) << "a corrupt block was served";
  EXPECT_EQ(got.status().err(), EIO) << got.status().message();
  EXPECT_GE(strtoull(rig.ServerField(0, "local-fallbacks").c_str(), nullptr, 10), 1u);
  EXPECT_GE(rig.ChunkdCtlNum(0, "bad"), 1u);
  EXPECT_GE(rig.ChunkdCtlNum(0, "reads"), 1u);
  EXPECT_GE(rig.CtlNum("corrupt-reads"), 1u);
}

TEST_F(StorefsTest, StaleReplicaAfterARestartIsNeverServed) {
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs());
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  std::string old = Pattern(10, 0, 50000), fresh = Pattern(11, 0, 50000);
  ASSERT_TRUE(PutFile(c->root, "f", old).ok());
  rig.chunkd(0).Kill(SIGKILL);
  {
    auto f = c->root.Walk("f");
    ASSERT_TRUE(f.ok() && f->Open(OWRITE).ok());
    ASSERT_TRUE(f->Write(0, Bytes(fresh)).ok());
  }
  ASSERT_TRUE(rig.StartChunkd(0));  // comes back with the old version
  // Whichever runs first settles the old replica: the GC deletes it as
  // stale, or the repair pass copies the current version over it.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto m = rig.Ctl();
        return m.count("stale") && m.count("rereplicated") &&
               std::stoull(m["stale"]) + std::stoull(m["rereplicated"]) >= 1;
      },
      20000));
  // With the up-to-date replicas gone, nothing may answer with the old data.
  rig.chunkd(1).Kill(SIGKILL);
  rig.chunkd(2).Kill(SIGKILL);
  for (int i = 0; i < 3; i++) {
    auto got = GetFile(c->root, "f");
    if (got.ok()) {
      EXPECT_NE(*got, old) << "a stale replica was served";
      EXPECT_EQ(*got, fresh);
    }
  }
}

// The replica of the only chunk on chunkd i, as chunkd serves it.
std::string ReplicaOn(StoreRig& rig, int i) {
  auto names = rig.ReplicaNames(i);
  if (!names || names->size() != 1) return "(not one replica)";
  auto c = rig.ConnectChunkd(i);
  if (!c) return "(no connection)";
  auto got = GetFile(c->root, "chunks/" + names->front());
  return got.ok() ? *got : "(unreadable)";
}

TEST_F(StorefsTest, ConcurrentWritesToOneFileAllLandAndReplicasAgree) {
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs());
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  // One granted chunk (64 KiB in the rig), then 16 writers past its end at
  // once: each block must land and the size must cover them all.
  ASSERT_TRUE(PutFile(c->root, "f", Pattern(30, 0, 4096)).ok());
  constexpr int kWriters = 16;
  std::atomic<int> failed{0};
  auto run = [&](const std::function<void(Fid&, int)>& body, uint8_t mode = OWRITE) {
    std::vector<std::thread> ts;
    ts.reserve(kWriters);
    for (int w = 0; w < kWriters; w++)
      ts.emplace_back([&, w] {
        auto cw = rig.Connect();
        if (!cw) return (void)failed++;
        auto f = cw->root.Walk("f");
        if (!f.ok() || !f->Open(mode).ok()) return (void)failed++;
        body(*f, w);
      });
    for (auto& t : ts) t.join();
  };
  run([&](Fid& f, int w) {
    uint64_t off = 4096 + static_cast<uint64_t>(w) * 3840;
    if (!f.Write(off, Bytes(Pattern(30, off, 3840))).ok()) failed++;
  });
  ASSERT_EQ(failed, 0);
  std::string want = Pattern(30, 0, 4096 + kWriters * 3840);
  auto got = GetFile(c->root, "f");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), want.size());
  EXPECT_TRUE(*got == want);
  // Overlapping writes of different data: whatever order they land in, it
  // is the same on every replica, and it is what a read returns.
  run([&](Fid& f, int w) {
    for (int i = 0; i < 20; i++) {
      uint64_t off = static_cast<uint64_t>((w * 7919 + i * 104729) % 60000);
      if (!f.Write(off, Bytes(Pattern(100 + w, off, 1500 + (i * 37) % 3000))).ok()) failed++;
    }
  });
  ASSERT_EQ(failed, 0);
  got = GetFile(c->root, "f");
  ASSERT_TRUE(got.ok());
  std::string r0 = ReplicaOn(rig, 0);
  EXPECT_TRUE(r0.substr(0, got->size()) == *got) << "replica 0 differs from what storefs reads";
  EXPECT_TRUE(ReplicaOn(rig, 1) == r0) << "replicas 0 and 1 differ";
  EXPECT_TRUE(ReplicaOn(rig, 2) == r0) << "replicas 0 and 2 differ";
  EXPECT_EQ(rig.CtlNum("replica-write-errors"), 0u);
  // Readers at once, in small pieces: each picks its replica while the
  // others' calls come and go, and each sees the same bytes.
  const std::string& final = *got;
  run(
      [&](Fid& f, int) {
        std::vector<uint8_t> buf(4096);
        for (int pass = 0; pass < 5; pass++)
          for (size_t off = 0; off < final.size(); off += buf.size()) {
            auto n = f.Read(off, buf);
            size_t want = std::min(buf.size(), final.size() - off);
            if (!n.ok() || *n != want || memcmp(buf.data(), final.data() + off, want) != 0)
              return (void)failed++;
          }
      },
      OREAD);
  EXPECT_EQ(failed, 0);
}

// Writes data at off into every replica chunkd i holds, as an
// unacknowledged write that reached the replicas and not the log leaves them.
bool ScribbleOnReplicas(StoreRig& rig, int i, uint64_t off, const std::string& data) {
  auto names = rig.ReplicaNames(i);
  auto c = rig.ConnectChunkd(i);
  if (!names || names->empty() || !c) return false;
  for (const auto& name : *names) {
    auto f = c->root.Walk("chunks/" + name);
    if (!f.ok() || !f->Open(OWRITE).ok() || !f->Write(off, Bytes(data)).ok()) return false;
  }
  return true;
}

TEST_F(StorefsTest, BytesPastTheEndFromBeforeARestartNeverShowThroughAHole) {
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs());
  std::string head = Pattern(40, 0, 10000);
  {
    auto c = rig.Connect();
    ASSERT_TRUE(c);
    ASSERT_TRUE(PutFile(c->root, "w", head).ok());
    ASSERT_TRUE(PutFile(c->root, "t", head).ok());
  }
  rig.storefs().Kill(SIGKILL);
  for (int i = 0; i < 3; i++) ASSERT_TRUE(ScribbleOnReplicas(rig, i, 20000, Pattern(41, 0, 9000)));
  ASSERT_TRUE(rig.StartStorefs());
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  std::string want = head + std::string(40000, '\0');
  {
    // Two writers past the end at once: a sparse write, and one inside the hole.
    auto f = c->root.Walk("w");
    auto g = c->root.Walk("w");
    ASSERT_TRUE(f.ok() && f->Open(OWRITE).ok() && g.ok() && g->Open(OWRITE).ok());
    std::thread t([&] { EXPECT_TRUE(g->Write(35000, Bytes("MID")).ok()); });
    EXPECT_TRUE(f->Write(50000, Bytes("END")).ok());
    t.join();
  }
  std::string wwant = want + "END";
  wwant.replace(35000, 3, "MID");
  auto got = GetFile(c->root, "w");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == wwant) << "bytes past the old end showed through the hole";
  {
    auto f = c->root.Walk("t");
    ASSERT_TRUE(f.ok());
    Dir d = ninep::DirFromStat(ninep::NullStat());
    d.length = 50000;
    ASSERT_TRUE(f->Wstat(d).ok());
  }
  got = GetFile(c->root, "t");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == want) << "bytes past the old end showed after a truncate that grows";
}

TEST_F(StorefsTest, FullDiskSendsWritesElsewhereAndQuorumLossIsAClearError) {
  ASSERT_TRUE(rig.StartChunkds(3));
  mkdir(rig.ChunkDir(3).c_str(), 0755);
  if (mount("tmpfs", rig.ChunkDir(3).c_str(), "tmpfs", 0, "size=256k") != 0)
    FAIL() << "cannot mount a small tmpfs here";
  struct Unmount {
    std::string p;
    ~Unmount() { umount2(p.c_str(), MNT_DETACH); }
  } um{rig.ChunkDir(3)};
  ASSERT_TRUE(rig.StartChunkd(3));
  ASSERT_TRUE(rig.StartStorefs());
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  // 4 MiB over 64 chunks: the full server fails some; others take them.
  std::string data = Pattern(20, 0, 4 << 20);
  Status s = PutFile(c->root, "big", data);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(*GetFile(c->root, "big"), data);
  // With two healthy servers gone, a write cannot reach 2 replicas.
  rig.chunkd(0).Kill(SIGKILL);
  rig.chunkd(1).Kill(SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return rig.CtlNum("alive") == 2; }, 20000));
  s = PutFile(c->root, "more", Pattern(21, 0, 1 << 20));
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.err() == ENOSPC || s.err() == EIO) << s.message();
}

TEST_F(StorefsTest, TornAndCorruptMetadataLogsAreCutAtTheBadRecord) {
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs());
  {
    auto c = rig.Connect();
    ASSERT_TRUE(c);
    for (int i = 0; i < 10; i++) ASSERT_TRUE(PutFile(c->root, "f" + std::to_string(i), "x").ok());
  }
  rig.storefs().Kill(SIGKILL);
  std::string log;
  for (auto& e : fs::directory_iterator(rig.dir() + "/meta/meta"))
    if (e.path().filename().string().rfind("log.", 0) == 0) log = e.path();
  ASSERT_FALSE(log.empty());
  // Torn: the last record loses its end.
  ASSERT_EQ(truncate(log.c_str(), static_cast<off_t>(fs::file_size(log) - 3)), 0);
  ASSERT_TRUE(rig.StartStorefs());
  auto ctl = rig.Ctl();
  EXPECT_NE(ctl["recovery"].find("cut"), std::string::npos) << ctl["recovery"];
  {
    auto c = rig.Connect();
    ASSERT_TRUE(c);
    for (int i = 0; i < 9; i++) EXPECT_TRUE(c->root.Walk("f" + std::to_string(i)).ok()) << i;
    ASSERT_TRUE(PutFile(c->root, "after", "y").ok());
  }
  rig.storefs().Kill(SIGKILL);
  // Corrupt: a flipped byte inside the last record.
  size_t size = fs::file_size(log);
  int fd = open(log.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char b;
  ASSERT_EQ(pread(fd, &b, 1, static_cast<off_t>(size - 2)), 1);
  b ^= 0x40;
  ASSERT_EQ(pwrite(fd, &b, 1, static_cast<off_t>(size - 2)), 1);
  close(fd);
  ASSERT_TRUE(rig.StartStorefs());
  EXPECT_NE(rig.Ctl()["recovery"].find("checksum mismatch"), std::string::npos);
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  for (int i = 0; i < 9; i++) EXPECT_TRUE(c->root.Walk("f" + std::to_string(i)).ok()) << i;
  EXPECT_EQ(*GetFile(c->root, "f0"), "x");
}

}  // namespace
}  // namespace ninep::testing
