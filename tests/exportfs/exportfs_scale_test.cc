// exportfs_scale_test.cc: sizes and timing against a real bin/exportfs:
// offsets past 4 GiB in sparse files, files that shrink while read, a
// directory of 100,000 entries read whole with large and with the smallest
// counts (every name exactly once), and a read blocked on a FIFO that must
// not stall another client's stat.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "exportfs/exfs.h"

namespace ninep::testing {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint64_t kGiB = 1ULL << 30;

using ScaleTest = ExportTest;

// The Treads that exportfs has received and not yet answered, from the
// `pending` field of ctl's ops. The ops file is a snapshot taken at its
// open, so the ctl connection's own reads of it are not counted.
uint64_t PendingReads(Conn& ctl) {
  auto t = ctl.ReadFile("ops");
  if (!t.ok()) return 0;
  size_t p = t->find("Tread ");
  if (p == std::string::npos) return 0;
  size_t k = t->find(" pending ", p);
  return k == std::string::npos ? 0 : std::stoull(t->substr(k + 9));
}

TEST_P(ScaleTest, SparseFileOffsetsPastFourGiB) {
  {
    int fd = open(P("sparse").c_str(), O_CREAT | O_RDWR, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, 6 * kGiB), 0);
    ASSERT_EQ(pwrite(fd, "MARK-5G", 7, 5 * kGiB), 7);
    close(fd);
  }
  auto f = c_->Walk("sparse");
  ASSERT_TRUE(f.ok());
  auto d = f->Stat();
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->length, 6 * kGiB);
  ASSERT_TRUE(f->Open(ORDWR).ok());
  std::vector<uint8_t> buf(7);
  auto n = f->ReadOnce(5 * kGiB, buf);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(std::string(buf.begin(), buf.end()), "MARK-5G");
  // A hole reads as zeros.
  std::vector<uint8_t> hole(4096, 0xff);
  n = f->ReadOnce(kGiB + 12345, hole);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4096u);
  EXPECT_EQ(std::count(hole.begin(), hole.end(), 0), 4096);
  // Writes past 4 GiB land where they say.
  uint64_t at = 4 * kGiB + kGiB / 2 + 7;
  ASSERT_TRUE(f->Write(at, Bytes("written")).ok());
  int fd = open(P("sparse").c_str(), O_RDONLY);
  char got[8] = {};
  ASSERT_EQ(pread(fd, got, 7, static_cast<off_t>(at)), 7);
  close(fd);
  EXPECT_STREQ(got, "written");
  // Past the end: EOF.
  n = f->ReadOnce(7 * kGiB, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  // Still sparse: the server did not fill the holes.
  EXPECT_LT(LStat(P("sparse")).st_blocks * 512, 1 << 20);
  // Extending by wstat/setattr to past 8 GiB.
  Dir w = DirFromStat(NullStat());
  w.length = 9 * kGiB;
  ASSERT_TRUE(f->Wstat(w).ok());
  EXPECT_EQ(static_cast<uint64_t>(LStat(P("sparse")).st_size), 9 * kGiB);
}

TEST_P(ScaleTest, FileShrinksWhileRead) {
  WriteFile(P("shrink"), std::string(1 << 20, 'a'));
  auto f = c_->Walk("shrink");
  ASSERT_TRUE(f->Open(OREAD).ok());
  std::vector<uint8_t> buf(65536);
  auto n = f->ReadOnce(0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 65536u);
  ASSERT_EQ(truncate(P("shrink").c_str(), 10), 0);
  n = f->ReadOnce(512 * 1024, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  n = f->ReadOnce(0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 10u);
  auto all = f->Read(0, buf);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, 10u);
}

// One blocked read (a FIFO with no data) occupies a worker; another
// client's stat, and a stat on the same connection, still answer at once;
// a flush frees the blocked read.
TEST_P(ScaleTest, SlowReadDoesNotStallStat) {
  ASSERT_EQ(mkfifo(P("fifo").c_str(), 0666), 0);
  WriteFile(P("other"), "o");
  // Holding the FIFO open read-write here gives it a writer, so the
  // server's open does not wait; its read then waits for data.
  int local = open(P("fifo").c_str(), O_RDWR | O_NONBLOCK);
  ASSERT_GE(local, 0);
  auto fifo = c_->Walk("fifo");
  ASSERT_TRUE(fifo.ok());
  ASSERT_TRUE(fifo->Open(OREAD).ok());
  Conn ctl(srv_.addr(), GetParam(), "ctl");
  ASSERT_TRUE(ctl.ok()) << ctl.error().message();
  ASSERT_EQ(PendingReads(ctl), 0u);

  // The answer, shared with the callbacks (which may outlive an early return).
  struct Answer {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    Result<Reply> got = Status(EIO, "none");
  };
  auto a = std::make_shared<Answer>();
  auto on_reply = [a](Result<Reply> r) {
    std::lock_guard<std::mutex> l(a->mu);
    a->got = std::move(r);
    a->done = true;
    a->cv.notify_all();
  };
  c_->client().Call(Tread{fifo->num(), 0, 100}, on_reply);
  // The read has reached the server and is not answered: only then does
  // "not done" say that it blocks.
  ASSERT_TRUE(WaitFor([&] { return PendingReads(ctl) == 1; }, 10000)) << "the read never arrived";
  {
    std::lock_guard<std::mutex> l(a->mu);
    ASSERT_FALSE(a->done) << "the FIFO read did not block";
  }
  Conn other(srv_.addr(), GetParam());
  ASSERT_TRUE(other.ok());
  for (Conn* c : {&other, c_.get()}) {
    auto t0 = Clock::now();
    auto f = c->Walk("other");
    ASSERT_TRUE(f.ok());
    auto d = f->Stat();
    ASSERT_TRUE(d.ok());
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
  }
  // Data arrives: the read answers with it.
  ASSERT_EQ(write(local, "data", 4), 4);
  {
    std::unique_lock<std::mutex> l(a->mu);
    ASSERT_TRUE(a->cv.wait_for(l, std::chrono::seconds(10), [&] { return a->done; }));
    ASSERT_TRUE(a->got.ok()) << a->got.status().message();
    EXPECT_EQ(std::get<Rread>(a->got->msg.body).data.size(), 4u);
    a->done = false;
  }
  // A second blocked read, flushed: it ends promptly.
  auto id = c_->client().Call(Tread{fifo->num(), 0, 100}, on_reply);
  // Flush it only once it is in the server's hands, not on its way there.
  ASSERT_TRUE(WaitFor([&] { return PendingReads(ctl) == 1; }, 10000)) << "the read never arrived";
  auto t0 = Clock::now();
  c_->client().Cancel(id);
  {
    std::unique_lock<std::mutex> l(a->mu);
    ASSERT_TRUE(a->cv.wait_for(l, std::chrono::seconds(5), [&] { return a->done; }));
    EXPECT_FALSE(a->got.ok());
  }
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
  // And the server is still fully alive afterwards, with nothing left pending.
  auto f = c_->Walk("other");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(PendingReads(ctl), 0u);
  close(local);
}

INSTANTIATE_TEST_SUITE_P(Dialects, ScaleTest,
                         ::testing::Values(Dialect::k9P2000, Dialect::k9P2000L), DialectName);

// ---- 100,000 entries, made once for the binary --------------------------------

constexpr int kEntries = 100000;

class BigDirTest : public ::testing::Test {
 protected:
  // The directory lives on tmpfs when there is one: making and removing
  // 100,000 files on a busy ext4 takes a minute, on tmpfs seconds. (The
  // cookie logic on ext4's hashed offsets is tested at a smaller size in
  // exportfs_dotl_test.)
  static void SetUpTestSuite() {
    char tmpl[] = "/dev/shm/ninep-bigdir-XXXXXX";
    char tmpl2[] = "/tmp/ninep-bigdir-XXXXXX";
    const char* base = mkdtemp(tmpl);
    if (base == nullptr) base = mkdtemp(tmpl2);
    ASSERT_NE(base, nullptr);
    root_ = new std::string(base);
    std::string dir = *root_ + "/big";
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
    int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(dfd, 0);
    char name[32];
    for (int i = 0; i < kEntries; i++) {
      snprintf(name, sizeof name, "f%06d", i);
      int fd = openat(dfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      ASSERT_GE(fd, 0) << name;
      close(fd);
    }
    close(dfd);
    proc_ = new Process;
    addr_ = new std::string(StartServer(proc_, "exportfs", {"-r", *root_}));
    ASSERT_FALSE(addr_->empty());
  }
  static void TearDownTestSuite() {
    delete proc_;
    if (root_ && root_->find("/ninep-bigdir-") != std::string::npos) Sh("rm -rf '" + *root_ + "'");
    delete root_;
    delete addr_;
  }

  // Reads the whole of "big" with Treaddir (9P2000.L) or Tread (9P2000) of
  // `count` bytes; fails the test on any repeated name.
  static std::set<std::string> ReadAll(Conn& c, uint32_t count, int* replies) {
    std::set<std::string> names;
    auto d = c.Walk("big");
    EXPECT_TRUE(d.ok());
    if (!d.ok()) return names;
    EXPECT_TRUE(d->Open(OREAD).ok());
    uint64_t off = 0;
    *replies = 0;
    for (int guard = 0; guard < 2 * kEntries + 10; guard++) {
      auto r = c.L() ? c.Call(Treaddir{d->num(), off, count}) : c.Call(Tread{d->num(), off, count});
      EXPECT_TRUE(r.ok()) << r.status().message();
      if (!r.ok()) break;
      auto data = c.L() ? std::get<Rreaddir>(r->msg.body).data : std::get<Rread>(r->msg.body).data;
      if (data.empty()) break;
      ++*replies;
      if (c.L()) {
        DirentReader rd(data);
        Dirent e;
        while (rd.Next(&e)) {
          EXPECT_TRUE(names.insert(std::string(e.name)).second) << "repeated " << e.name;
          off = e.offset;
        }
        EXPECT_TRUE(rd.error().ok());
      } else {
        StatReader rd(data);
        Stat s;
        while (rd.Next(&s)) EXPECT_TRUE(names.insert(std::string(s.name)).second) << s.name;
        EXPECT_TRUE(rd.error().ok());
        off += data.size();
      }
    }
    return names;
  }
  static void ExpectAll(const std::set<std::string>& names) {
    EXPECT_EQ(names.size(), static_cast<size_t>(kEntries));
    char name[32];
    for (int i = 0; i < kEntries; i += 997) {
      snprintf(name, sizeof name, "f%06d", i);
      EXPECT_EQ(names.count(name), 1u) << name;
    }
    EXPECT_EQ(*names.begin(), "f000000");
    EXPECT_EQ(*names.rbegin(), "f099999");
  }

  static Process* proc_;
  static std::string* root_;
  static std::string* addr_;
};
Process* BigDirTest::proc_ = nullptr;
std::string* BigDirTest::root_ = nullptr;
std::string* BigDirTest::addr_ = nullptr;

// One test for all four reads: ctest runs each test in its own process,
// and the 100,000 files should be made once.
TEST_F(BigDirTest, EveryNameExactlyOnceAtLargeAndSmallestCounts) {
  int replies;
  {
    Conn c(*addr_, Dialect::k9P2000L);
    ASSERT_TRUE(c.ok());
    ExpectAll(ReadAll(c, 65536, &replies));
    EXPECT_LT(replies, 100);
    // The smallest count that fits one entry: one entry per reply.
    ExpectAll(ReadAll(c, static_cast<uint32_t>(DirentSize("f000000")), &replies));
    EXPECT_EQ(replies, kEntries);
  }
  {
    Conn c(*addr_, Dialect::k9P2000);
    ASSERT_TRUE(c.ok());
    ExpectAll(ReadAll(c, 65536, &replies));
    auto f = c.Walk("big/f000000");
    ASSERT_TRUE(f.ok());
    auto d = f->Stat();
    ASSERT_TRUE(d.ok());
    ExpectAll(ReadAll(c, static_cast<uint32_t>(StatSize(d->ToStat())), &replies));
    EXPECT_EQ(replies, kEntries);
  }
}

}  // namespace
}  // namespace ninep::testing
