// storefs_crash_test: kill -9 of storefs (and of chunkd) under a writer
// that records what was acknowledged; after each restart every acknowledged
// byte is intact and an unacknowledged record is there whole or not at all.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "store_rig.h"

namespace ninep::testing {
namespace {

constexpr size_t kRec = 40000;  // one Twrite: whole or absent
constexpr uint64_t kSeed = 99;

// Appends records to /log from the file's current end until stopped or
// until the connection fails; counts the acknowledged ones.
class Appender {
 public:
  explicit Appender(StoreRig* rig) {
    auto c = rig->Connect();
    if (!c) return;
    auto f = c->root.Walk("log");
    if (!f.ok() || !f->Open(OWRITE).ok()) return;
    auto st = f->Stat();
    if (!st.ok()) return;
    start_ = st->length;
    t_ = std::thread([this, c = std::move(c), f = std::move(*f)]() mutable {
      uint64_t off = start_;
      while (!stop_) {
        if (!f.Write(off, Bytes(Pattern(kSeed, off, kRec))).ok()) break;
        off += kRec;
        acked_end_ = off;
      }
      f = Fid();
      c.reset();
    });
    ok_ = true;
  }
  ~Appender() { Stop(); }
  void Stop() {
    stop_ = true;
    if (t_.joinable()) t_.join();
  }
  bool ok() const { return ok_; }
  uint64_t start() const { return start_; }
  uint64_t acked_end() const { return std::max<uint64_t>(acked_end_, start_); }

 private:
  bool ok_ = false;
  uint64_t start_ = 0;
  std::atomic<uint64_t> acked_end_{0};
  std::atomic<bool> stop_{false};
  std::thread t_;
};

// Checks /log after a restart: at least `acked` bytes, whole records, the pattern.
void Verify(StoreRig* rig, uint64_t acked) {
  auto c = rig->Connect();
  ASSERT_TRUE(c);
  auto got = GetFile(c->root, "log");
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_GE(got->size(), acked) << "acknowledged bytes lost";
  EXPECT_EQ(got->size() % kRec, 0u) << "a record is there in part";
  EXPECT_TRUE(*got == Pattern(kSeed, 0, got->size())) << "content differs";
}

TEST(StorefsCrashTest, KilledMidWriteThenRestartedKeepsAcknowledgedBytes) {
  StoreRig rig;
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs());
  {
    auto c = rig.Connect();
    ASSERT_TRUE(c);
    ASSERT_TRUE(PutFile(c->root, "log", "").ok());
  }
  uint64_t acked;
  {
    Appender w(&rig);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(WaitFor([&] { return w.acked_end() >= 30 * kRec; }, 30000));
    rig.storefs().Kill(SIGKILL);
    w.Stop();
    acked = w.acked_end();
  }
  ASSERT_TRUE(rig.StartStorefs());
  Verify(&rig, acked);
  // It goes on: more writes after the restart land too.
  {
    Appender w(&rig);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(WaitFor([&] { return w.acked_end() >= w.start() + 5 * kRec; }, 30000));
    w.Stop();
    acked = w.acked_end();
  }
  Verify(&rig, acked);
}

TEST(StorefsCrashTest, TwentyRandomKillRestartCyclesUnderAWriter) {
  StoreRig rig;
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs());
  {
    auto c = rig.Connect();
    ASSERT_TRUE(c);
    ASSERT_TRUE(PutFile(c->root, "log", "").ok());
  }
  std::mt19937 rng(12345);
  uint64_t acked = 0;
  int storefs_kills = 0, chunkd_kills = 0;
  for (int cycle = 0; cycle < 20; cycle++) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    Appender w(&rig);
    ASSERT_TRUE(w.ok());
    ASSERT_GE(w.start(), acked);
    // Let a few records through, then a random moment more.
    ASSERT_TRUE(WaitFor([&] { return w.acked_end() >= w.start() + 2 * kRec; }, 30000));
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 100));
    if (rng() % 3 != 0) {
      rig.storefs().Kill(SIGKILL);
      w.Stop();
      storefs_kills++;
      acked = std::max(acked, w.acked_end());
      ASSERT_TRUE(rig.StartStorefs());
    } else {
      int i = static_cast<int>(rng() % 3);
      rig.chunkd(i).Kill(SIGKILL);
      chunkd_kills++;
      ASSERT_TRUE(rig.StartChunkd(i));
      w.Stop();
      acked = std::max(acked, w.acked_end());
    }
  }
  EXPECT_GE(storefs_kills, 5);
  Verify(&rig, acked);
}

}  // namespace
}  // namespace ninep::testing
