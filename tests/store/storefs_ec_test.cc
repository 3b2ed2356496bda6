// Integration tests of erasure-coded files in bin/storefs (--ec K+M and
// ctl's "ec PATH K+M"): bytes on disk per byte stored, reads with chunk
// servers dead and with a corrupt fragment, repair of lost fragments,
// partial-stripe writes and truncation, and the stripes storefs keeps of
// its own writes.
#include <gtest/gtest.h>

#include <thread>

#include "store_rig.h"

namespace ninep::testing {
namespace {

constexpr size_t kMiB = 1 << 20;

class StorefsEcTest : public ::testing::Test {
 protected:
  void SetUp() override { signal(SIGPIPE, SIG_IGN); }
  // Starts n chunkds and a storefs with 1 MiB chunks (4 stripes of 4+2).
  // Reads go through the chunkds: a killed one's files are still on this
  // disk, and a local read would find them.
  void Start(int n, std::vector<std::string> flags = {"--ec", "4+2"}) {
    ASSERT_TRUE(rig_.StartChunkds(n));
    flags.insert(flags.end(), {"--chunk", "1m", "--no-local-reads"});
    ASSERT_TRUE(rig_.StartStorefs(flags));
    c_ = rig_.Connect();
    ASSERT_TRUE(c_);
  }
  // Bytes the chunkds hold, by their ctl.
  uint64_t DiskBytes(int n) {
    uint64_t b = 0;
    for (int i = 0; i < n; i++)
      if (rig_.chunkd(i).Running()) b += rig_.ChunkdCtlNum(i, "bytes");
    return b;
  }

  StoreRig rig_;
  std::unique_ptr<StoreRig::Conn> c_;
};

TEST_F(StorefsEcTest, FourPlusTwoStoresOneAndAHalfBytesPerByte) {
  Start(6);
  std::string data = Pattern(1, 0, 4 * kMiB);
  ASSERT_TRUE(PutFile(c_->root, "f", data).ok());
  auto got = GetFile(c_->root, "f");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data);
  uint64_t disk = DiskBytes(6);
  EXPECT_LE(static_cast<double>(disk) / data.size(), 1.55) << disk;
  EXPECT_GE(static_cast<double>(disk) / data.size(), 1.5) << disk;
  auto ctl = rig_.Ctl();
  EXPECT_EQ(ctl["default-policy"], "ec=4+2 overhead 1.50");
  EXPECT_EQ(ctl["policy ec=4+2"], "chunks 4 fragments 24 overhead 1.50");
  // Every fragment on its own server: each chunkd holds one per chunk.
  for (int i = 0; i < 6; i++) EXPECT_EQ(rig_.ReplicaNames(i)->size(), 4u) << i;
}

TEST_F(StorefsEcTest, ReadsAreRightWithTwoChunkServersDead) {
  Start(6);
  std::string data = Pattern(2, 0, 3 * kMiB + 12345);
  ASSERT_TRUE(PutFile(c_->root, "f", data).ok());
  rig_.chunkd(0).Kill(SIGKILL);
  rig_.chunkd(3).Kill(SIGKILL);
  auto got = GetFile(c_->root, "f");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == data);
  // A third is one too many: the read fails rather than invent bytes.
  rig_.chunkd(5).Kill(SIGKILL);
  auto bad = GetFile(c_->root, "f");
  EXPECT_FALSE(bad.ok());
}

TEST_F(StorefsEcTest, ACorruptFragmentIsRebuiltAndRepaired) {
  Start(6);
  std::string data = Pattern(3, 0, 2 * kMiB);
  ASSERT_TRUE(PutFile(c_->root, "f", data).ok());
  ASSERT_GE(FlipReplicas(rig_.ChunkDir(1)), 2);  // a fragment of each chunk
  auto got = GetFile(c_->root, "f");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == data);
  ASSERT_TRUE(rig_.CtlWrite("scrub").ok());  // finds the bad parity fragments too
  EXPECT_TRUE(WaitFor([&] { return rig_.CtlNum("repairs") >= 2; }, 30000))
      << rig_.CtlNum("repairs");
  // The rebuilt fragments are whole: with two other servers gone, reads
  // need them.
  rig_.chunkd(0).Kill(SIGKILL);
  rig_.chunkd(2).Kill(SIGKILL);
  got = GetFile(c_->root, "f");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == data);
}

TEST_F(StorefsEcTest, LostFragmentsAreRebuiltOnAnotherServer) {
  Start(7);
  std::string data = Pattern(4, 0, 2 * kMiB);
  ASSERT_TRUE(PutFile(c_->root, "f", data).ok());
  int victim = -1;
  for (int i = 0; i < 7 && victim < 0; i++)
    if (rig_.ReplicaNames(i)->size() == 2) victim = i;
  ASSERT_GE(victim, 0);
  rig_.chunkd(victim).Kill(SIGKILL);
  // The counter is added to once the pass ends, after the records change.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto m = rig_.Ctl();
        return m["alive"] == "6" && m["under-replicated"] == "0" &&
               strtoull(m["rereplicated"].c_str(), nullptr, 10) >= 2;
      },
      30000));
  // Two more die: the rebuilt fragments carry the reads.
  int killed = 0;
  for (int i = 0; i < 7 && killed < 2; i++)
    if (i != victim) {
      rig_.chunkd(i).Kill(SIGKILL);
      killed++;
    }
  auto got = GetFile(c_->root, "f");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == data);
}

TEST_F(StorefsEcTest, PartialStripeWritesAndTruncationKeepTheBytesRight) {
  Start(6);
  std::string data = Pattern(5, 0, kMiB + 70000);
  ASSERT_TRUE(PutFile(c_->root, "f", data).ok());
  // A write inside one cell, and one across cells and stripes.
  auto f = c_->root.Walk("f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Open(ORDWR).ok());
  std::string a = Pattern(6, 70000, 1000), b = Pattern(7, 250000, 300000);
  ASSERT_TRUE(f->Write(70000, Bytes(a)).ok());
  ASSERT_TRUE(f->Write(250000, Bytes(b)).ok());
  data.replace(70000, a.size(), a);
  data.replace(250000, b.size(), b);
  auto got = GetFile(c_->root, "f");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data);
  // Shrink into a stripe, then grow by writing further on: the cut bytes
  // read as zeros, also when rebuilt from parity.
  Dir w;
  w.mode = ~0u;
  w.atime = w.mtime = ~0u;
  w.length = 300000;
  ASSERT_TRUE(f->Wstat(w).ok());
  std::string tail = Pattern(8, 900000, 1000);
  ASSERT_TRUE(f->Write(900000, Bytes(tail)).ok());
  std::string want = data.substr(0, 300000) + std::string(600000, '\0') + tail;
  got = GetFile(c_->root, "f");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == want);
  rig_.chunkd(0).Kill(SIGKILL);
  rig_.chunkd(1).Kill(SIGKILL);
  got = GetFile(c_->root, "f");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == want);
}

TEST_F(StorefsEcTest, ConcurrentWritesSharingStripesKeepEveryByte) {
  Start(6);
  // Writes of a size that is no multiple of a stripe, from 4 connections
  // at once: neighbours share a stripe, which each reads and re-encodes.
  constexpr size_t kPiece = 100003, kPieces = 24;
  ASSERT_TRUE(PutFile(c_->root, "f", std::string(kPiece * kPieces, '\0')).ok());
  std::vector<std::thread> ts;
  ts.reserve(4);
  std::vector<Status> res(4);
  for (int t = 0; t < 4; t++)
    ts.emplace_back([&, t] {
      auto c = rig_.Connect();
      auto f = c ? c->root.Walk("f") : Result<Fid>(Status(EIO, "connect"));
      if (!f.ok() || !f->Open(OWRITE).ok()) {
        res[t] = Status(EIO, "open");
        return;
      }
      for (size_t i = t; i < kPieces && res[t].ok(); i += 4) {
        auto n = f->Write(i * kPiece, Bytes(Pattern(i, i * kPiece, kPiece)));
        if (!n.ok()) res[t] = n.status();
      }
    });
  for (auto& t : ts) t.join();
  for (const Status& r : res) ASSERT_TRUE(r.ok()) << r.message();
  std::string want;
  for (size_t i = 0; i < kPieces; i++) want += Pattern(i, i * kPiece, kPiece);
  auto got = GetFile(c_->root, "f");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == want);
  // And through parity.
  rig_.chunkd(2).Kill(SIGKILL);
  rig_.chunkd(3).Kill(SIGKILL);
  got = GetFile(c_->root, "f");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == want);
}

TEST_F(StorefsEcTest, KeptStripesNeverServeStaleBytes) {
  Start(6);
  // Sequential writes of a size no stripe divides, as 9p and FUSE make:
  // each shares a stripe with the one before, whose rest storefs keeps
  // from that write instead of reading it back.
  constexpr size_t kPiece = 100003;
  ASSERT_TRUE(PutFile(c_->root, "f", "").ok());
  auto f = c_->root.Walk("f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Open(ORDWR).ok());
  std::string want;
  auto put = [&](uint64_t off, const std::string& p) {
    ASSERT_TRUE(f->Write(off, Bytes(p)).ok());
    if (want.size() < off + p.size()) want.resize(off + p.size(), '\0');
    want.replace(off, p.size(), p);
  };
  auto check = [&](const char* what) {
    auto got = GetFile(c_->root, "f");
    ASSERT_TRUE(got.ok()) << what << ": " << got.status().message();
    EXPECT_TRUE(*got == want) << what;
  };
  for (size_t i = 0; i < 20; i++) put(want.size(), Pattern(10 + i, want.size(), kPiece));
  EXPECT_GT(rig_.CtlNum("stripe-hits"), 0u);
  check("sequential");
  // Stripe 1 ([256K, 512K)) was last written in part; written whole, the
  // copy kept must go, or a write into part of it brings old bytes back.
  put(262144, Pattern(40, 262144, 262144));
  put(300000, Pattern(41, 300000, 100));
  check("whole stripe, then part of it");
  // Cut inside stripe 2: the copies of it and of stripe 3 are stale now.
  Dir w;
  w.mode = ~0u;
  w.atime = w.mtime = ~0u;
  w.length = 600000;
  ASSERT_TRUE(f->Wstat(w).ok());
  want.resize(600000);
  put(900000, Pattern(42, 900000, 10));
  put(610000, Pattern(43, 610000, 5000));
  check("after a cut");
  // A fragment write that fails moves the chunk to a new version; the
  // writes after it read their stripes afresh.
  rig_.chunkd(4).Kill(SIGKILL);
  put(700000, Pattern(44, 700000, 30000));
  put(730000, Pattern(45, 730000, 30000));
  check("a server dead");
  rig_.chunkd(5).Kill(SIGKILL);
  check("rebuilt from parity");
}

TEST_F(StorefsEcTest, ADirectorysPolicyIsInheritedAndOthersStayReplicated) {
  Start(6, {});
  ASSERT_TRUE(PutFile(c_->root, "plain", Pattern(9, 0, kMiB)).ok());
  {  // fids go before their connection does, below
    auto d = c_->root.Walk("");
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE(d->Create("cold", DMDIR | 0755, OREAD).ok());
    ASSERT_TRUE(rig_.CtlWrite("ec /cold 4+2").ok());
    auto sub = c_->root.Walk("cold");
    ASSERT_TRUE(sub.ok());
    ASSERT_TRUE(sub->Create("deeper", DMDIR | 0755, OREAD).ok());
  }
  ASSERT_TRUE(PutFile(c_->root, "cold/deeper/f", Pattern(10, 0, kMiB)).ok());
  auto ctl = rig_.Ctl();
  EXPECT_EQ(ctl["default-policy"], "replicas=3 overhead 3.00");
  EXPECT_EQ(ctl["policy replicas=3"], "chunks 1 fragments 3 overhead 3.00");
  EXPECT_NE(ctl["policy ec=4+2"].find("chunks 1 fragments 6 overhead 1.50"), std::string::npos)
      << ctl["policy ec=4+2"];
  EXPECT_EQ(*GetFile(c_->root, "cold/deeper/f"), Pattern(10, 0, kMiB));
  // The log keeps the policy and the fragments' places over a restart
  // (the snapshot too: replay reads what the log holds either way).
  c_.reset();
  ASSERT_TRUE(rig_.StartStorefs({"--chunk", "1m", "--no-local-reads"}));
  c_ = rig_.Connect();
  ASSERT_TRUE(c_);
  ASSERT_TRUE(PutFile(c_->root, "cold/deeper/g", Pattern(11, 0, kMiB)).ok());
  ctl = rig_.Ctl();
  EXPECT_EQ(ctl["policy ec=4+2"], "chunks 2 fragments 12 overhead 1.50");
  rig_.chunkd(0).Kill(SIGKILL);
  rig_.chunkd(1).Kill(SIGKILL);
  EXPECT_EQ(*GetFile(c_->root, "cold/deeper/f"), Pattern(10, 0, kMiB));
  // Bad policies are refused and change nothing.
  EXPECT_EQ(rig_.CtlWrite("ec /cold 0+2").err(), EINVAL);
  EXPECT_EQ(rig_.CtlWrite("ec /cold 3+1").err(),
            EINVAL);  // 1 MiB chunks are no whole 3-cell stripes
  EXPECT_EQ(rig_.CtlWrite("ec /plain 4+2").err(), ENOTDIR);
  EXPECT_EQ(rig_.CtlWrite("ec /nope 4+2").err(), ENOENT);
}

TEST_F(StorefsEcTest, TooFewServersForKPlusMIsAClearError) {
  Start(5);
  auto d = c_->root.Walk("");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->Create("f", 0644, OWRITE).ok());
  auto n = d->Write(0, Bytes(std::string(1000, 'x')));
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().err(), ENOSPC);
}

}  // namespace
}  // namespace ninep::testing
