// client_ramfs_test: the Fid facade against bin/ramfs in both dialects
// (9P2000 directly; 9P2000.L through the server framework's translation),
// over TCP and over `ramfs -s` pipes.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "client/listing.h"
#include "ninep/client.h"
#include "testutil.h"

namespace ninep {
namespace {

using Clock = std::chrono::steady_clock;
using testing::ExpectEachNameOnce;
using testing::Process;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string Str(const std::vector<uint8_t>& v, size_t n) {
  return std::string(v.begin(), v.begin() + static_cast<long>(n));
}

// True when the process is stopped by a signal (state T in /proc/PID/stat).
bool Stopped(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t p = s.rfind(')');
  return p != std::string::npos && p + 2 < s.size() && s[p + 2] == 'T';
}

class RamfsTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    addr_ = testing::StartServer(&proc_, "ramfs", {"-u", "glenda"});
    ASSERT_FALSE(addr_.empty()) << "ramfs did not start";
    client_ = Connect(256 * 1024);
    ASSERT_TRUE(client_);
    auto r = client_->Attach("glenda", "");
    ASSERT_TRUE(r.ok()) << r.status().message();
    root_ = std::move(*r);
  }
  std::unique_ptr<Client> Connect(uint32_t msize) {
    ClientOptions o;
    o.dialect = GetParam();
    o.msize = msize;
    auto c = Client::Connect(addr_, o);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(*c) : nullptr;
  }
  bool dotl() const { return GetParam() == Dialect::k9P2000L; }
  // Creates `name` in `dir` and writes data.
  void Put(Fid& dir, const std::string& name, const std::string& data) {
    auto f = dir.Walk("");
    ASSERT_TRUE(f.ok()) << f.status().message();
    ASSERT_TRUE(f->Create(name, 0644, OWRITE).ok()) << name;
    if (!data.empty()) {
      ASSERT_TRUE(f->Write(0, Bytes(data)).ok());
    }
  }

  Process proc_;
  std::string addr_;
  std::unique_ptr<Client> client_;
  Fid root_;
};

TEST_P(RamfsTest, CreateWriteReadStat) {
  Put(root_, "note", "remember the milk");
  auto f = root_.Walk("note");
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_TRUE(f->Open(ORDWR).ok());
  std::vector<uint8_t> buf(64);
  auto n = f->Read(0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(Str(buf, *n), "remember the milk");
  auto d = f->Stat();
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->name, "note");
  EXPECT_EQ(d->length, 17u);
  EXPECT_EQ(d->mode & 0777, 0644u);
  EXPECT_EQ(d->qid.path, f->qid().path);
  if (!dotl()) {
    EXPECT_EQ(d->uid, "glenda");
  }
}

TEST_P(RamfsTest, PipelinedTransfersAcrossManyChunks) {
  // msize 4096: a 1 MiB transfer is ~260 requests, 8 in flight at a time.
  auto c = Connect(4096);
  ASSERT_TRUE(c);
  auto root = c->Attach("glenda", "");
  ASSERT_TRUE(root.ok());
  std::string data(1 << 20, '\0');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>((i * 131) ^ (i >> 9));
  auto f = root->Walk("");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Create("big", 0600, ORDWR).ok());
  auto w = f->Write(0, Bytes(data));
  ASSERT_TRUE(w.ok()) << w.status().message();
  EXPECT_EQ(*w, data.size());
  std::vector<uint8_t> back(data.size() + 100);
  auto n = f->Read(0, back);
  ASSERT_TRUE(n.ok()) << n.status().message();
  ASSERT_EQ(*n, data.size());
  EXPECT_TRUE(Str(back, *n) == data);
  // An unaligned read from the middle.
  std::vector<uint8_t> mid(10000);
  n = f->Read(123457, mid);
  ASSERT_TRUE(n.ok());
  ASSERT_EQ(*n, mid.size());
  EXPECT_TRUE(Str(mid, *n) == data.substr(123457, 10000));
  auto d = f->Stat();
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->length, data.size());
}

// Large Twrites leave from the caller's buffer when the socket takes them
// at once, and are copied when it does not. With the server stopped the
// socket fills mid-frame; the caller reuses its one buffer as soon as each
// Call returns, so a write that kept pointing at it would store the wrong
// bytes. Every byte must arrive as it was when its Call was made.
TEST_P(RamfsTest, LargeWritesSurviveAFullSocket) {
  auto c = Connect(512 * 1024);
  ASSERT_TRUE(c);
  auto root = c->Attach("glenda", "");
  ASSERT_TRUE(root.ok());
  auto f = root->Walk("");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Create("big", 0600, ORDWR).ok());
  const size_t chunk = 256 * 1024, chunks = 48;  // 12 MiB: more than the socket holds
  auto byte = [](size_t at) { return static_cast<uint8_t>((at * 131) ^ (at >> 11)); };
  std::vector<uint8_t> buf(chunk);
  std::atomic<int> done{0}, failed{0};
  ASSERT_EQ(kill(proc_.pid(), SIGSTOP), 0);
  // SIGSTOP takes effect asynchronously: wait until the server is stopped,
  // so none of the writes below can be read before the socket fills.
  ASSERT_TRUE(testing::WaitFor([&] { return Stopped(proc_.pid()); }));
  for (size_t i = 0; i < chunks; i++) {
    for (size_t j = 0; j < chunk; j++) buf[j] = byte(i * chunk + j);
    c->Call(Twrite{f->num(), i * chunk, buf}, [&](Result<Reply> r) {
      if (!r.ok() || std::get<Rwrite>(r->msg.body).count != chunk) failed++;
      done++;
    });
    std::fill(buf.begin(), buf.end(), 0xEE);  // the caller's buffer is its own again
  }
  // A stopped server answers nothing: every write is still the client's.
  EXPECT_EQ(done.load(), 0);
  EXPECT_EQ(c->Outstanding(), chunks);
  ASSERT_EQ(kill(proc_.pid(), SIGCONT), 0);
  ASSERT_TRUE(testing::WaitFor([&] { return done.load() == static_cast<int>(chunks); }, 20000));
  EXPECT_EQ(failed.load(), 0);
  std::vector<uint8_t> back(chunk * chunks);
  auto n = f->Read(0, back);
  ASSERT_TRUE(n.ok()) << n.status().message();
  ASSERT_EQ(*n, back.size());
  size_t bad = 0;
  for (size_t at = 0; at < back.size(); at++) bad += back[at] != byte(at);
  EXPECT_EQ(bad, 0u);
}

// call_timeout: against a server that is stopped (its connection open, no
// answers), an asynchronous call and a blocking one both fail ETIMEDOUT
// after about the timeout; when the server runs again the client still
// works and every flushed tag comes back.
TEST_P(RamfsTest, CallTimeoutFailsCallsToAHungServer) {
  ClientOptions o;
  o.dialect = GetParam();
  o.call_timeout = std::chrono::milliseconds(300);
  auto c = Client::Connect(addr_, o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto root = (*c)->Attach("glenda", "");
  ASSERT_TRUE(root.ok());
  ASSERT_EQ(kill(proc_.pid(), SIGSTOP), 0);
  std::atomic<int> err{0};
  auto t0 = Clock::now();
  (*c)->Call(Tclunk{9999}, [&](Result<Reply> r) { err = r.ok() ? -1 : r.status().err(); });
  auto st = root->Stat();
  auto blocked = Clock::now() - t0;
  ASSERT_TRUE(testing::WaitFor([&] { return err.load() != 0; }, 5000));
  ASSERT_EQ(kill(proc_.pid(), SIGCONT), 0);
  EXPECT_EQ(err.load(), ETIMEDOUT);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().err(), ETIMEDOUT) << st.status().message();
  EXPECT_GE(blocked, std::chrono::milliseconds(250));
  EXPECT_LT(blocked, std::chrono::seconds(3));
  auto again = root->Stat();
  EXPECT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(testing::WaitFor([&] { return (*c)->Outstanding() == 0; }, 5000))
      << (*c)->Outstanding() << " tags still held";
  root = Status(EIO, "done");  // the root fid goes before the client
}

TEST_P(RamfsTest, ReadDirSeesEveryNameOnce) {
  auto dir = root_.Walk("");
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(dir->Create("d", DMDIR | 0755, OREAD).ok());
  auto d0 = root_.Walk("d");  // an open fid cannot be walked: take a fresh one
  ASSERT_TRUE(d0.ok());
  for (int i = 0; i < 200; i++) Put(*d0, "entry-with-a-longish-name-" + std::to_string(i), "");
  auto c = Connect(1024);  // a few entries per read
  ASSERT_TRUE(c);
  auto root = c->Attach("glenda", "");
  ASSERT_TRUE(root.ok());
  auto d = root->Walk("d");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->Open(OREAD).ok());
  auto ents = d->ReadDir();
  ASSERT_TRUE(ents.ok()) << ents.status().message();
  ExpectEachNameOnce(*ents, 200);
}

TEST_P(RamfsTest, DirectoriesNestDeeperThanOneTwalk) {
  std::string path;
  Qid last;
  for (int i = 0; i < 20; i++) {
    auto parent = root_.Walk(path);  // open fids cannot walk: start afresh
    ASSERT_TRUE(parent.ok()) << parent.status().message();
    std::string name = "level" + std::to_string(i);
    ASSERT_TRUE(parent->Create(name, DMDIR | 0755, OREAD).ok()) << name;
    EXPECT_TRUE(parent->qid().type & QTDIR);
    last = parent->qid();
    path += (i ? "/" : "") + name;
  }
  auto deep = root_.Walk(path);
  ASSERT_TRUE(deep.ok()) << deep.status().message();
  EXPECT_EQ(deep->qid(), last);
  auto back = deep->Walk("../../..");
  ASSERT_TRUE(back.ok());
  auto three_up = root_.Walk(path.substr(0, path.rfind("/level17")));
  ASSERT_TRUE(three_up.ok());
  EXPECT_EQ(back->qid(), three_up->qid());
  auto missing = root_.Walk(path + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().err(), ENOENT);
}

// Refusals the server framework makes itself reach the caller as the errno
// meant, in 9P2000 too (where only the Rerror text travels).
TEST_P(RamfsTest, FrameworkRefusalsKeepTheirErrno) {
  Put(root_, "plain", "x");
  auto file = root_.Walk("plain");
  ASSERT_TRUE(file.ok());
  auto through = file->Walk("below");  // from the file itself: refused whole
  ASSERT_FALSE(through.ok());
  EXPECT_EQ(through.status().err(), ENOTDIR) << through.status().message();
  Status in_file = file->Create("child", 0644, OWRITE);
  EXPECT_EQ(in_file.err(), ENOTDIR) << in_file.message();
  for (const char* bad : {"a/b", "..", "."}) {
    auto dir = root_.Walk("");
    ASSERT_TRUE(dir.ok());
    Status s = dir->Create(bad, 0644, OWRITE);
    EXPECT_EQ(s.err(), EINVAL) << bad << ": " << s.message();
  }
}

TEST_P(RamfsTest, WstatAndRemove) {
  Put(root_, "old", "0123456789");
  auto f = root_.Walk("old");
  ASSERT_TRUE(f.ok());
  Dir d = DirFromStat(NullStat());
  d.length = 3;
  ASSERT_TRUE(f->Wstat(d).ok());
  auto st = f->Stat();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->length, 3u);
  Dir r = DirFromStat(NullStat());
  r.name = "new";
  Status s = f->Wstat(r);
  if (dotl()) {
    EXPECT_EQ(s.err(), EINVAL);  // needs the parent: see Fid::Wstat
  } else {
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_FALSE(root_.Walk("old").ok());
    auto g = root_.Walk("new");
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->qid().path, f->qid().path);
    EXPECT_EQ(f->Stat()->name, "new");
  }
  auto victim = root_.Walk(dotl() ? "old" : "new");
  ASSERT_TRUE(victim.ok());
  ASSERT_TRUE(victim->Remove().ok());
  EXPECT_FALSE(victim->valid());
  EXPECT_EQ(root_.Walk(dotl() ? "old" : "new").status().err(), ENOENT);
}

TEST_P(RamfsTest, ThreadsShareOneClient) {
  Put(root_, "shared", std::string(100000, 's'));
  std::atomic<int> failures{0};
  std::vector<std::thread> ts;
  ts.reserve(4);
  for (int t = 0; t < 4; t++) {
    ts.emplace_back([&, t] {
      auto f = root_.Walk("shared");
      if (!f.ok() || !f->Open(OREAD).ok()) {
        failures++;
        return;
      }
      std::vector<uint8_t> buf(100000);
      for (int i = 0; i < 100; i++) {
        auto n = (t % 2) ? f->Read(0, buf) : Result<size_t>(f->Stat().ok() ? 1 : 0);
        if (!n.ok() || *n == 0) failures++;
        if (t % 2 && n.ok() && (*n != buf.size() || buf[99999] != 's')) failures++;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures.load(), 0);
  // The threads' fids clunk in the background as they go.
  for (int i = 0; i < 2500 && client_->Outstanding() != 0; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  EXPECT_EQ(client_->Outstanding(), 0u);
}

TEST_P(RamfsTest, BlockingStatRoundTrip) {
  const int kN = 2000;
  for (int i = 0; i < 100; i++) ASSERT_TRUE(root_.Stat().ok());
  auto t0 = Clock::now();
  for (int i = 0; i < kN; i++) ASSERT_TRUE(root_.Stat().ok());
  double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / kN;
  printf("[ ramfs %s stat ] %.1f us per blocking round trip\n", dotl() ? "9P2000.L" : "9P2000", us);
  EXPECT_LT(us, 2000.0);
}

INSTANTIATE_TEST_SUITE_P(Dialects, RamfsTest,
                         ::testing::Values(Dialect::k9P2000, Dialect::k9P2000L),
                         [](const auto& info) {
                           return info.param == Dialect::k9P2000L ? "L" : "Plain";
                         });

// `ramfs -s` serves one client on its stdin/stdout: the client on two pipes.
TEST(RamfsStdio, ClientOverPipes) {
  Process p;
  ASSERT_TRUE(p.Start({testing::Bin("ramfs"), "-s", "-u", "glenda"}, true));
  // The client takes its fds; Process keeps (and closes) its own.
  int rfd = dup(p.stdout_fd()), wfd = dup(p.stdin_fd());
  ClientOptions o;
  o.msize = 8192;
  auto c = Client::FromFds(rfd, wfd, o);
  ASSERT_TRUE(c.ok()) << c.status().message();
  auto root = (*c)->Attach("glenda", "");
  ASSERT_TRUE(root.ok()) << root.status().message();
  auto f = root->Walk("");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Create("piped", 0644, ORDWR).ok());
  std::string data(50000, 'p');
  ASSERT_TRUE(f->Write(0, Bytes(data)).ok());
  std::vector<uint8_t> buf(60000);
  auto n = f->Read(0, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, data.size());
  // The server exiting ends the session: calls fail, none hang.
  p.Kill(SIGKILL);
  auto d = root->Stat();
  EXPECT_FALSE(d.ok());
  EXPECT_TRUE(d.status().err() == ECONNRESET || d.status().err() == EPIPE) << d.status().message();
}

}  // namespace
}  // namespace ninep
