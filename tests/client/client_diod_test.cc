// client_diod_test: our client against Debian's diod in 9P2000.L, exporting
// a temporary directory on 127.0.0.1. Every result is checked against the
// local file system too, so a client that only agreed with itself would fail.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/listing.h"
#include "diod.h"
#include "ninep/client.h"
#include "testutil.h"

namespace ninep {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using testing::Diod;
using testing::ExpectEachNameOnce;
using testing::ReadFile;
using testing::TempDir;
using testing::WaitFor;
using testing::WriteFile;

constexpr uint32_t kLRdonly = 0;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

class DiodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(diod_.Start(dir_.path())) << "diod did not start";
    client_ = Connect(512 * 1024);
    ASSERT_TRUE(client_);
    auto r = client_->Attach("root", dir_.path(), 0);
    ASSERT_TRUE(r.ok()) << r.status().message();
    root_ = std::move(*r);
  }

  std::unique_ptr<Client> Connect(uint32_t msize, milliseconds timeout = milliseconds(0)) {
    ClientOptions o;
    o.dialect = Dialect::k9P2000L;
    o.msize = msize;
    o.call_timeout = timeout;
    auto c = Client::Connect(diod_.addr(), o);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(*c) : nullptr;
  }
  std::string Local(const std::string& rel) { return dir_.path() + "/" + rel; }

  TempDir dir_;
  Diod diod_;
  std::unique_ptr<Client> client_;
  Fid root_;
};

TEST_F(DiodTest, WalkOpenReadWrite) {
  WriteFile(Local("hello"), "hello, world\n");
  auto f = root_.Walk("hello");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->qid().type, QTFILE);
  ASSERT_TRUE(f->Open(ORDWR).ok());
  std::vector<uint8_t> buf(100);
  auto n = f->Read(0, buf);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + *n), "hello, world\n");
  auto w = f->Write(7, Bytes("there!"));
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(*w, 6u);
  EXPECT_EQ(ReadFile(Local("hello")), "hello, there!");
  // Past the end: 0 bytes, not an error.
  n = f->Read(1000, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  n = f->ReadOnce(7, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + *n), "there!");
  EXPECT_TRUE(f->Clunk().ok());
  EXPECT_FALSE(f->valid());
  EXPECT_EQ(f->Clunk().err(), EBADF);
}

TEST_F(DiodTest, WalkErrorsAndDeepPaths) {
  auto f = root_.Walk("no/such/file");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().err(), ENOENT);
  EXPECT_EQ(f.status().message().rfind("no/such/file: ", 0), 0u) << f.status().message();
  // 20 levels: two Twalks (16 + 4).
  std::string rel;
  for (int i = 0; i < 20; i++) {
    rel += (i ? "/" : "") + std::string("d") + std::to_string(i);
    ASSERT_EQ(mkdir(Local(rel).c_str(), 0755), 0);
  }
  WriteFile(Local(rel + "/leaf"), "deep");
  f = root_.Walk(rel + "/leaf");
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_TRUE(f->Open(OREAD).ok());
  std::vector<uint8_t> buf(10);
  EXPECT_EQ(*f->Read(0, buf), 4u);
  // The walk stops at d19/nothing: a partial walk in the second Twalk.
  auto g = root_.Walk(rel + "/missing");
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().err(), ENOENT);
  // "" clones; ".." goes back up.
  auto clone = root_.Walk("");
  ASSERT_TRUE(clone.ok());
  EXPECT_NE(clone->num(), root_.num());
  EXPECT_EQ(clone->qid(), root_.qid());
  auto up = root_.Walk("d0/d1/../..");
  ASSERT_TRUE(up.ok()) << up.status().message();
  EXPECT_EQ(up->qid().path, root_.qid().path);
}

TEST_F(DiodTest, ReadDirSeesEveryNameOnce) {
  ASSERT_EQ(mkdir(Local("many").c_str(), 0755), 0);
  for (int i = 0; i < 200; i++) WriteFile(Local("many/file-" + std::to_string(i)), "x");
  ASSERT_EQ(mkdir(Local("many/sub").c_str(), 0755), 0);
  // A small msize forces many Treaddir rounds.
  for (uint32_t msize : {4096u, 512u * 1024}) {
    SCOPED_TRACE(msize);
    auto c = Connect(msize);
    ASSERT_TRUE(c);
    auto root = c->Attach("root", dir_.path(), 0);
    ASSERT_TRUE(root.ok()) << root.status().message();
    auto d = root->Walk("many");
    ASSERT_TRUE(d.ok());
    ASSERT_TRUE(d->Open(OREAD).ok());
    auto ents = d->ReadDir();
    ASSERT_TRUE(ents.ok()) << ents.status().message();
    ExpectEachNameOnce(*ents, 201);
    for (auto& e : *ents) {
      if (e.name == "sub") {
        EXPECT_TRUE(e.qid.type & QTDIR);
        EXPECT_TRUE(e.mode & DMDIR);
      } else {
        EXPECT_FALSE(e.mode & DMDIR) << e.name;
      }
    }
  }
}

TEST_F(DiodTest, StatMatchesTheLocalFile) {
  WriteFile(Local("sized"), std::string(12345, 'z'));
  ASSERT_EQ(chmod(Local("sized").c_str(), 0640), 0);
  struct stat st;
  ASSERT_EQ(stat(Local("sized").c_str(), &st), 0);
  auto f = root_.Walk("sized");
  ASSERT_TRUE(f.ok());
  auto d = f->Stat();
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->name, "sized");
  EXPECT_EQ(d->length, 12345u);
  EXPECT_EQ(d->mode & 0777, 0640u);
  EXPECT_FALSE(d->mode & DMDIR);
  EXPECT_EQ(d->mtime, static_cast<uint32_t>(st.st_mtime));
  EXPECT_EQ(d->l.size, 12345u);
  EXPECT_EQ(d->qid, f->qid());
  auto r = root_.Stat();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->mode & DMDIR);
  EXPECT_EQ(r->name, "/");
}

TEST_F(DiodTest, CreateFilesAndDirectoriesThenRemove) {
  auto f = root_.Walk("");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Create("made", 0644, OWRITE).ok());
  EXPECT_EQ(f->qid().type, QTFILE);
  ASSERT_TRUE(f->Write(0, Bytes("new file")).ok());
  EXPECT_EQ(ReadFile(Local("made")), "new file");
  struct stat st;
  ASSERT_EQ(stat(Local("made").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // Creating an existing name fails, as Tcreate does.
  auto again = root_.Walk("");
  ASSERT_TRUE(again.ok());
  Status s = again->Create("made", 0644, OWRITE);
  EXPECT_EQ(s.err(), EEXIST) << s.message();

  auto d = root_.Walk("");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->Create("newdir", DMDIR | 0755, OREAD).ok());
  EXPECT_TRUE(d->qid().type & QTDIR);
  ASSERT_EQ(stat(Local("newdir").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  auto ents = d->ReadDir();  // the directory fid came back open
  ASSERT_TRUE(ents.ok()) << ents.status().message();
  EXPECT_TRUE(ents->empty());

  auto victim = root_.Walk("made");
  ASSERT_TRUE(victim.ok());
  EXPECT_TRUE(victim->Remove().ok());
  EXPECT_FALSE(victim->valid());
  EXPECT_NE(stat(Local("made").c_str(), &st), 0);
  auto dv = root_.Walk("newdir");
  ASSERT_TRUE(dv.ok());
  EXPECT_TRUE(dv->Remove().ok());
  EXPECT_NE(stat(Local("newdir").c_str(), &st), 0);
}

TEST_F(DiodTest, WstatTruncatesChmodsAndRefusesRename) {
  WriteFile(Local("w"), "0123456789");
  auto f = root_.Walk("w");
  ASSERT_TRUE(f.ok());
  Dir d = DirFromStat(NullStat());
  d.length = 4;
  d.mode = 0600;
  d.mtime = 1000000000;
  ASSERT_TRUE(f->Wstat(d).ok());
  struct stat st;
  ASSERT_EQ(stat(Local("w").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 4);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_mtime, 1000000000);
  Dir r = DirFromStat(NullStat());
  r.name = "renamed";
  Status s = f->Wstat(r);
  EXPECT_EQ(s.err(), EINVAL);
  EXPECT_NE(s.message().find("Trenameat"), std::string::npos) << s.message();
}

uint64_t Fnv(const std::vector<uint8_t>& v) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : v) h = (h ^ b) * 1099511628211ull;
  return h;
}

TEST_F(DiodTest, EightMebibyteFileRoundTrip) {
  std::vector<uint8_t> data(8 << 20);
  std::mt19937_64 rng(42);
  for (size_t i = 0; i < data.size(); i += 8) {
    uint64_t x = rng();
    memcpy(&data[i], &x, 8);
  }
  auto f = root_.Walk("");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Create("big", 0644, OWRITE).ok());
  auto t0 = Clock::now();
  auto w = f->Write(0, data);
  auto t1 = Clock::now();
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(*w, data.size());
  ASSERT_TRUE(f->Clunk().ok());
  std::string local = ReadFile(Local("big"));
  ASSERT_EQ(local.size(), data.size());
  EXPECT_EQ(Fnv(std::vector<uint8_t>(local.begin(), local.end())), Fnv(data));

  auto r = root_.Walk("big");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->Open(OREAD).ok());
  std::vector<uint8_t> back(data.size() + 4096);  // asks past EOF too
  auto t2 = Clock::now();
  auto n = r->Read(0, back);
  auto t3 = Clock::now();
  ASSERT_TRUE(n.ok()) << n.status().message();
  ASSERT_EQ(*n, data.size());
  back.resize(*n);
  EXPECT_EQ(Fnv(back), Fnv(data));
  auto mbps = [](auto d) { return 8.0 / std::chrono::duration<double>(d).count(); };
  printf("[ diod 8 MiB ] write %.0f MiB/s, read %.0f MiB/s (msize %u)\n", mbps(t1 - t0),
         mbps(t3 - t2), client_->msize());
}

TEST_F(DiodTest, FiveHundredConcurrentCalls) {
  const int kN = 500;
  std::atomic<int> done{0}, ok{0};
  std::vector<Client::CallId> ids;
  ids.reserve(kN);
  for (int i = 0; i < kN; i++) {
    ids.push_back(client_->Call(Tgetattr{root_.num(), P9_GETATTR_ALL}, [&](Result<Reply> r) {
      if (r.ok() && r->msg.type() == kRgetattr) ok++;
      done++;
    }));
  }
  size_t outstanding = client_->Outstanding();
  ASSERT_TRUE(WaitFor([&] { return done.load() == kN; }, 20000)) << done.load();
  EXPECT_EQ(ok.load(), kN);
  EXPECT_GT(outstanding, 1u) << "calls did not overlap";
  EXPECT_EQ(std::set<Client::CallId>(ids.begin(), ids.end()).size(), static_cast<size_t>(kN));
  EXPECT_TRUE(WaitFor([&] { return client_->Outstanding() == 0; }));
}

// Opens the fifo for writing (without blocking) once a reader has it open
// or is blocked opening it; -1 while there is none.
int TryUnblockFifo(const std::string& path) {
  return open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
}

TEST_F(DiodTest, CancelABlockedOpen) {
  ASSERT_EQ(mkfifo(Local("fifo").c_str(), 0600), 0);
  auto f = root_.Walk("fifo");
  ASSERT_TRUE(f.ok());
  std::atomic<int> calls{0};
  Status got;
  auto id = client_->Call(Tlopen{f->num(), kLRdonly}, [&](Result<Reply> r) {
    got = r.status();
    calls++;
  });
  // diod's worker sits in open(2) until a writer appears, unless the flush
  // reached diod before a worker took the request.
  client_->Cancel(id);
  int wfd = -1;
  ASSERT_TRUE(WaitFor([&] {
    if (wfd < 0) wfd = TryUnblockFifo(Local("fifo"));
    return calls.load() > 0;
  }));
  if (wfd >= 0) close(wfd);
  // Either the flush won (ECANCELED) or the reply came first and stands.
  EXPECT_TRUE(got.err() == ECANCELED || got.ok()) << got.message();
  EXPECT_TRUE(WaitFor([&] { return client_->Outstanding() == 0; }));
  EXPECT_EQ(calls.load(), 1);
  // The connection is still good.
  EXPECT_TRUE(root_.Stat().ok());
}

TEST_F(DiodTest, TimeoutOnABlockedOpen) {
  ASSERT_EQ(mkfifo(Local("fifo").c_str(), 0600), 0);
  auto c = Connect(64 * 1024, milliseconds(300));
  ASSERT_TRUE(c);
  auto root = c->Attach("root", dir_.path(), 0);
  ASSERT_TRUE(root.ok());
  auto f = root->Walk("fifo");
  ASSERT_TRUE(f.ok());
  auto start = Clock::now();
  Status s = f->OpenFlags(kLRdonly);
  auto took = Clock::now() - start;
  EXPECT_EQ(s.err(), ETIMEDOUT) << s.message();
  EXPECT_GE(took, milliseconds(300));
  EXPECT_LT(took, milliseconds(2500));
  // Release diod's worker; its late answers then free the tags.
  int wfd = -1;
  EXPECT_TRUE(WaitFor([&] {
    if (wfd < 0) wfd = TryUnblockFifo(Local("fifo"));
    return c->Outstanding() == 0;
  }));
  if (wfd >= 0) close(wfd);
  EXPECT_TRUE(root->Stat().ok());
}

TEST_F(DiodTest, KillingDiodFailsPendingAndLaterCallsPromptly) {
  ASSERT_EQ(mkfifo(Local("fifo").c_str(), 0600), 0);
  auto f = root_.Walk("fifo");
  ASSERT_TRUE(f.ok());
  std::atomic<int> calls{0};
  Status got;
  client_->Call(Tlopen{f->num(), kLRdonly}, [&](Result<Reply> r) {
    got = r.status();
    calls++;
  });
  ASSERT_TRUE(WaitFor([&] { return client_->Outstanding() == 1; }));
  auto start = Clock::now();
  diod_.Kill();
  ASSERT_TRUE(WaitFor([&] { return calls.load() > 0; }, 5000));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(got.err(), ECONNRESET) << got.message();
  EXPECT_FALSE(client_->alive());
  start = Clock::now();
  auto d = root_.Stat();
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().err(), EPIPE);
  std::vector<uint8_t> buf(10);
  EXPECT_FALSE(f->Read(0, buf).ok());
  EXPECT_LT(Clock::now() - start, milliseconds(500));
}

TEST_F(DiodTest, ClunkedFidNumbersAreReused) {
  auto a = root_.Walk("");
  ASSERT_TRUE(a.ok());
  uint32_t n = a->num();
  ASSERT_TRUE(a->Clunk().ok());
  auto b = root_.Walk("");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->num(), n);
  // A dropped handle clunks in the background; its number comes back too.
  uint32_t m = b->num();
  *b = Fid();
  EXPECT_TRUE(WaitFor([&] { return client_->Outstanding() == 0; }));
  auto c = root_.Walk("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->num(), m);
}

TEST_F(DiodTest, BlockingStatRoundTrip) {
  const int kN = 2000;
  for (int i = 0; i < 100; i++) ASSERT_TRUE(root_.Stat().ok());  // warm up
  auto t0 = Clock::now();
  for (int i = 0; i < kN; i++) ASSERT_TRUE(root_.Stat().ok());
  double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kN;
  printf("[ diod stat ] %.1f us per blocking Tgetattr round trip\n", us);
  // Generous: catches a lost wake-up or a Nagle delay (tens of ms), not noise.
  EXPECT_LT(us, 2000.0);
}

}  // namespace
}  // namespace ninep
