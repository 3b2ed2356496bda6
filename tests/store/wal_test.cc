// wal_test: the metadata write-ahead log: replay, torn tails cut at every
// byte, corruption, snapshots with their log, and group commit under
// concurrent appenders.
#include "storelib/wal.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using store::Wal;

struct Replayed {
  std::string snapshot;
  bool loaded = false;
  std::vector<std::string> recs;
};

class WalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wal_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  ninep::Result<std::unique_ptr<Wal>> Open(Replayed* r, const std::string& dir = "") {
    return Wal::Open(
        dir.empty() ? dir_ : dir, Wal::Options{},
        [r](std::string_view s) {
          r->loaded = true;
          r->snapshot = s;
          return ninep::Status();
        },
        [r](std::string_view rec) {
          r->recs.emplace_back(rec);
          return ninep::Status();
        });
  }
  std::string Log(uint64_t gen) {
    char b[32];
    snprintf(b, sizeof b, "/log.%016llx", static_cast<unsigned long long>(gen));
    return dir_ + b;
  }
  std::string dir_;
};

std::string Rec(int i) { return "record-" + std::to_string(i) + std::string(i % 7, 'x'); }

TEST_F(WalTest, ReplaysEveryRecordInOrder) {
  {
    Replayed r;
    auto w = Open(&r);
    ASSERT_TRUE(w.ok()) << w.status().message();
    EXPECT_TRUE(r.recs.empty());
    for (int i = 0; i < 100; i++) ASSERT_TRUE((*w)->Append(Rec(i)).ok());
  }
  Replayed r;
  auto w = Open(&r);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(r.recs.size(), 100u);
  for (int i = 0; i < 100; i++) EXPECT_EQ(r.recs[i], Rec(i));
  EXPECT_EQ((*w)->recovery().cut_bytes, 0u);
  // Appends after a reopen follow the old records.
  ASSERT_TRUE((*w)->Append("after").ok());
  w->reset();
  Replayed r2;
  ASSERT_TRUE(Open(&r2).ok());
  ASSERT_EQ(r2.recs.size(), 101u);
  EXPECT_EQ(r2.recs.back(), "after");
}

TEST_F(WalTest, TornTailAtEveryByteOfTheLastRecordIsCut) {
  const std::string last = "the last record, torn by a crash";
  uint64_t before = 0, full = 0;
  {
    Replayed r;
    auto w = Open(&r);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("one").ok());
    ASSERT_TRUE((*w)->Append("two").ok());
    before = (*w)->stats().log_bytes;
    ASSERT_TRUE((*w)->Append(last).ok());
    full = (*w)->stats().log_bytes;
  }
  ASSERT_EQ(full - before, 8 + last.size());
  std::string saved = dir_ + ".saved";
  fs::copy_file(Log(1), saved);
  for (uint64_t len = before; len < full; len++) {
    fs::copy_file(saved, Log(1), fs::copy_options::overwrite_existing);
    ASSERT_EQ(truncate(Log(1).c_str(), static_cast<off_t>(len)), 0);
    Replayed r;
    auto w = Open(&r);
    ASSERT_TRUE(w.ok()) << "cut at " << len << ": " << w.status().message();
    ASSERT_EQ(r.recs.size(), 2u) << "cut at " << len;
    EXPECT_EQ((*w)->recovery().cut_bytes, len - before);
    EXPECT_EQ(fs::file_size(Log(1)), before) << "the torn tail is cut off the file";
    // The log goes on cleanly after the cut.
    ASSERT_TRUE((*w)->Append("next").ok());
    w->reset();
    Replayed r2;
    ASSERT_TRUE(Open(&r2).ok());
    ASSERT_EQ(r2.recs.size(), 3u);
    EXPECT_EQ(r2.recs[2], "next");
  }
  fs::remove(saved);
}

TEST_F(WalTest, CorruptRecordEndsReplayThereAndIsNeverApplied) {
  uint64_t second = 0;
  {
    Replayed r;
    auto w = Open(&r);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("first").ok());
    second = (*w)->stats().log_bytes;
    ASSERT_TRUE((*w)->Append("second").ok());
    ASSERT_TRUE((*w)->Append("third").ok());
  }
  // Flip one bit in the payload of "second".
  int fd = open(Log(1).c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  char c;
  ASSERT_EQ(pread(fd, &c, 1, static_cast<off_t>(second + 10)), 1);
  c ^= 0x10;
  ASSERT_EQ(pwrite(fd, &c, 1, static_cast<off_t>(second + 10)), 1);
  close(fd);
  Replayed r;
  auto w = Open(&r);
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(r.recs.size(), 1u);
  EXPECT_EQ(r.recs[0], "first");
  EXPECT_NE((*w)->recovery().cut_reason.find("checksum mismatch"), std::string::npos)
      << (*w)->recovery().cut_reason;
  EXPECT_GT((*w)->recovery().cut_bytes, 0u);
}

TEST_F(WalTest, GarbageLengthIsCutNotAllocated) {
  {
    Replayed r;
    auto w = Open(&r);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("ok").ok());
  }
  std::ofstream(Log(1), std::ios::app) << std::string("\xff\xff\xff\x7f\0\0\0\0junk", 12);
  Replayed r;
  auto w = Open(&r);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(r.recs.size(), 1u);
  EXPECT_NE((*w)->recovery().cut_reason.find("bad record length"), std::string::npos);
}

TEST_F(WalTest, SnapshotReplacesOlderLogsAndLaterRecordsFollowIt) {
  {
    Replayed r;
    auto w = Open(&r);
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < 10; i++) ASSERT_TRUE((*w)->Append(Rec(i)).ok());
    auto gen = (*w)->Rotate();
    ASSERT_TRUE(gen.ok());
    EXPECT_EQ(*gen, 2u);
    ASSERT_TRUE((*w)->Append("after snapshot 1").ok());  // goes to log 2
    ASSERT_TRUE((*w)->WriteSnapshot(*gen, "STATE-of-10").ok());
    ASSERT_TRUE((*w)->Append("after snapshot 2").ok());
    EXPECT_FALSE(fs::exists(Log(1))) << "the snapshot replaces log 1";
  }
  Replayed r;
  auto w = Open(&r);
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_TRUE(r.loaded);
  EXPECT_EQ(r.snapshot, "STATE-of-10");
  ASSERT_EQ(r.recs.size(), 2u);
  EXPECT_EQ(r.recs[0], "after snapshot 1");
  EXPECT_EQ(r.recs[1], "after snapshot 2");
  EXPECT_EQ((*w)->recovery().snapshot_gen, 2u);
}

TEST_F(WalTest, CrashBeforeTheSnapshotLandsReplaysTheOldLogs) {
  {
    Replayed r;
    auto w = Open(&r);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("a").ok());
    auto gen = (*w)->Rotate();
    ASSERT_TRUE(gen.ok());
    ASSERT_TRUE((*w)->Append("b").ok());
    // A snapshot write that died before its rename.
    std::ofstream(dir_ + "/snap.0000000000000002.tmp") << "half";
  }
  Replayed r;
  auto w = Open(&r);
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(r.loaded);
  ASSERT_EQ(r.recs.size(), 2u);
  EXPECT_EQ(r.recs[0], "a");
  EXPECT_EQ(r.recs[1], "b");
  EXPECT_FALSE(fs::exists(dir_ + "/snap.0000000000000002.tmp"));
}

TEST_F(WalTest, CorruptSnapshotWithoutItsPredecessorIsAClearError) {
  {
    Replayed r;
    auto w = Open(&r);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("a").ok());
    auto gen = (*w)->Rotate();
    ASSERT_TRUE(gen.ok());
    ASSERT_TRUE((*w)->WriteSnapshot(*gen, "STATE").ok());
  }
  std::string snap = dir_ + "/snap.0000000000000002";
  int fd = open(snap.c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "Z", 1, 20), 1);
  close(fd);
  Replayed r;
  auto w = Open(&r);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().err(), EIO);
  EXPECT_NE(w.status().message().find("snap.0000000000000002"), std::string::npos)
      << w.status().message();
}

TEST_F(WalTest, ConcurrentAppendersAreAllDurableAndShareSyncs) {
  constexpr int kThreads = 8, kEach = 200;
  store::WalStats st;
  {
    Replayed r;
    auto w = Open(&r);
    ASSERT_TRUE(w.ok());
    std::atomic<int> failures{0};
    std::vector<std::thread> ts;
    ts.reserve(kThreads);
    for (int t = 0; t < kThreads; t++)
      ts.emplace_back([&, t] {
        for (int i = 0; i < kEach; i++)
          if (!(*w)->Append("t" + std::to_string(t) + "-" + std::to_string(i)).ok()) failures++;
      });
    for (auto& t : ts) t.join();
    EXPECT_EQ(failures.load(), 0);
    st = (*w)->stats();
  }
  EXPECT_EQ(st.records, static_cast<uint64_t>(kThreads * kEach));
  EXPECT_LT(st.syncs, st.records) << "group commit shares fdatasyncs between appenders";
  Replayed r;
  ASSERT_TRUE(Open(&r).ok());
  ASSERT_EQ(r.recs.size(), static_cast<size_t>(kThreads * kEach));
  // Each appender's records replay in its own order.
  std::vector<int> next(kThreads, 0);
  for (const auto& rec : r.recs) {
    int t = std::stoi(rec.substr(1));
    int i = std::stoi(rec.substr(rec.find('-') + 1));
    EXPECT_EQ(i, next[t]++);
  }
}

TEST_F(WalTest, SyncAsyncCallsBackOnceDurableAndSharesFlushes) {
  constexpr int kThreads = 4, kEach = 300;
  std::atomic<int> calls{0}, early{0}, failed{0};
  store::WalStats st;
  {
    Replayed r;
    auto w = Open(&r);
    ASSERT_TRUE(w.ok());
    Wal* wal = w->get();
    std::vector<std::thread> ts;
    ts.reserve(kThreads);
    for (int t = 0; t < kThreads; t++)
      ts.emplace_back([&, t] {
        for (int i = 0; i < kEach; i++) {
          uint64_t seq = wal->Write("a" + std::to_string(t) + "-" + std::to_string(i));
          wal->SyncAsync(seq, [&, seq, wal](const ninep::Status& s) {
            if (!s.ok()) failed++;
            // Records are counted once their flush is on disk.
            if (wal->stats().records < seq) early++;
            calls++;
          });
        }
      });
    for (auto& t : ts) t.join();
    wal->DrainAsync();
    EXPECT_EQ(calls.load(), kThreads * kEach) << "every callback runs once DrainAsync returns";
    st = wal->stats();
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(early.load(), 0) << "a callback ran before its record was durable";
  EXPECT_EQ(calls.load(), kThreads * kEach) << "no callback runs twice";
  EXPECT_LT(st.syncs, st.records / 4) << "the flusher shares one fdatasync among many waiters";
  Replayed r;
  ASSERT_TRUE(Open(&r).ok());
  EXPECT_EQ(r.recs.size(), static_cast<size_t>(kThreads * kEach));
}

TEST_F(WalTest, SyncAsyncReportsAFailedLogToEveryWaiter) {
  std::string small = dir_ + "/small";
  ASSERT_EQ(mkdir(small.c_str(), 0755), 0);
  // CI runs as root: a missing precondition fails, as everywhere in tests/.
  ASSERT_EQ(mount("tmpfs", small.c_str(), "tmpfs", 0, "size=64k"), 0)
      << "cannot mount a small tmpfs at " << small << ": " << strerror(errno)
      << " (this test needs root)";
  struct Unmount {
    std::string p;
    ~Unmount() { umount2(p.c_str(), MNT_DETACH); }
  } um{small};
  Replayed r;
  auto w = Open(&r, small + "/wal");
  ASSERT_TRUE(w.ok());
  // Fill the disk: some flush fails ENOSPC, and every waiter hears of it.
  std::atomic<int> ok{0}, nospace{0};
  std::string big(4000, 'z');
  for (int i = 0; i < 64; i++)
    (*w)->SyncAsync((*w)->Write(big), [&](const ninep::Status& s) {
      if (s.ok())
        ok++;
      else if (s.err() == ENOSPC)
        nospace++;
    });
  (*w)->DrainAsync();
  EXPECT_GT(nospace.load(), 0);
  EXPECT_EQ(ok.load() + nospace.load(), 64) << "each waiter is answered once, OK or ENOSPC";
  // The failure is sticky: a later waiter is answered at once, with it.
  ninep::Status later;
  bool called = false;
  (*w)->SyncAsync((*w)->Write("after"), [&](const ninep::Status& s) {
    called = true;
    later = s;
  });
  EXPECT_TRUE(called);
  EXPECT_EQ(later.err(), ENOSPC);
}

TEST_F(WalTest, ApplyErrorStopsOpen) {
  {
    Replayed r;
    auto w = Open(&r);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("bad").ok());
  }
  auto w = Wal::Open(
      dir_, Wal::Options{}, [](std::string_view) { return ninep::Status(); },
      [](std::string_view) { return ninep::Status(EINVAL, "unknown op"); });
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.status().message().find("unknown op"), std::string::npos);
}

}  // namespace
