// conn_test: Conn framing, backpressure and lifetime over real sockets and
// pipes, and Listen/Dial on TCP (IPv4, IPv6) and unix sockets.
//
// The test thread runs the uv loop itself (RunUntil) and plays the peer on
// the other end of a socketpair or pipe with plain read/write.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ninep/transport.h"
#include "testutil.h"

namespace ninep {
namespace {

using Bytes = std::vector<uint8_t>;
using Clock = std::chrono::steady_clock;

// A frame of `size` bytes: size[4], type 100+seq%50, tag seq, then a pattern.
Bytes MakeFrame(uint32_t size, uint16_t seq) {
  Bytes f(size);
  for (int i = 0; i < 4; i++) f[i] = static_cast<uint8_t>(size >> (8 * i));
  if (size > 4) f[4] = static_cast<uint8_t>(100 + seq % 50);
  if (size > 6) f[5] = static_cast<uint8_t>(seq), f[6] = static_cast<uint8_t>(seq >> 8);
  for (uint32_t i = 7; i < size; i++) f[i] = static_cast<uint8_t>(i * 7 + seq);
  return f;
}

void WriteAll(int fd, const uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    ASSERT_GT(w, 0) << strerror(errno);
    p += w;
    n -= static_cast<size_t>(w);
  }
}
void WriteAll(int fd, const Bytes& b) { WriteAll(fd, b.data(), b.size()); }

// Reads exactly n bytes (blocking); fewer at EOF.
Bytes ReadN(int fd, size_t n) {
  Bytes out(n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, out.data() + got, n - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

// True when fd has reached EOF (readable with nothing to read).
bool AtEof(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  char c;
  return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

// A Buffer adopts a vector without copying, keeps its bytes where they are
// when moved, and gives back exactly what was put in.
TEST(Buffer, AdoptsMovesAndCopies) {
  Bytes v = MakeFrame(5000, 3);
  const uint8_t* at = v.data();
  Buffer b(std::move(v));
  EXPECT_EQ(b.data(), at);
  EXPECT_EQ(b.size(), 5000u);
  Buffer moved(std::move(b));
  EXPECT_EQ(moved.data(), at);
  Buffer c = Buffer::CopyOf(moved);
  EXPECT_NE(c.data(), moved.data());
  std::span<const uint8_t> cs = c, ms = moved;
  EXPECT_TRUE(std::equal(cs.begin(), cs.end(), ms.begin(), ms.end()));
  c.Shrink(7);
  EXPECT_EQ(c.size(), 7u);
  Buffer u = Buffer::Uninit(1 << 20);
  EXPECT_EQ(u.size(), 1u << 20);
  u.data()[(1 << 20) - 1] = 42;  // all of it is ours to write (ASan checks)
  moved = std::move(u);
  EXPECT_EQ(moved.size(), 1u << 20);
  EXPECT_EQ(moved.data()[(1 << 20) - 1], 42);
  EXPECT_TRUE(Buffer::Uninit(0).empty());
}

class ConnTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    // Once every Conn and Listener is gone the loop must wind down by
    // itself: a handle left open would keep it alive and fail the close.
    RunUntil([&] { return !uv_loop_alive(&loop_); }, 5000);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "a uv handle leaked";
    for (int fd : fds_) close(fd);
  }

  // Runs the loop until pred() holds or ms pass; returns pred().
  bool RunUntil(const std::function<bool()>& pred, int ms = 5000) {
    uv_timer_t tick;
    uv_timer_init(&loop_, &tick);
    uv_timer_start(
        &tick, [](uv_timer_t*) {}, 5, 5);
    uv_unref(reinterpret_cast<uv_handle_t*>(&tick));
    auto deadline = Clock::now() + std::chrono::milliseconds(ms);
    while (!pred() && Clock::now() < deadline) {
      if (uv_run(&loop_, UV_RUN_ONCE) == 0 && !uv_loop_alive(&loop_)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
    uv_run(&loop_, UV_RUN_NOWAIT);
    return pred();
  }
  // Runs the loop for ms (to show that something does NOT happen).
  void RunFor(int ms) {
    RunUntil([] { return false; }, ms);
  }

  // A socketpair: [0] goes to a Conn, [1] is the test's end.
  std::unique_ptr<Conn> SocketConn() {
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    peer_ = sv[1];
    fds_.push_back(sv[1]);
    auto c = ConnFromFds(&loop_, sv[0], sv[0]);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // Starts c, collecting frames into frames_ and the end status into end_.
  void Collect(Conn* c) {
    c->Start([this](std::span<const uint8_t> f) { frames_.emplace_back(f.begin(), f.end()); },
             [this](const Status& s) {
               ended_ = true;
               end_ = s;
             });
  }

  uv_loop_t loop_;
  std::vector<int> fds_;
  int peer_ = -1;
  std::vector<Bytes> frames_;
  bool ended_ = false;
  Status end_;
};

TEST_F(ConnTest, PartialFramesByteByByte) {
  auto c = SocketConn();
  Collect(c.get());
  std::vector<Bytes> sent = {MakeFrame(7, 1), MakeFrame(100, 2), MakeFrame(1000, 3)};
  for (auto& f : sent) {
    for (uint8_t b : f) {
      WriteAll(peer_, &b, 1);
      uv_run(&loop_, UV_RUN_NOWAIT);  // let the Conn see every odd boundary
    }
  }
  ASSERT_TRUE(RunUntil([&] { return frames_.size() == sent.size(); }));
  EXPECT_EQ(frames_, sent);
  EXPECT_FALSE(ended_);
}

TEST_F(ConnTest, HundredFramesInOneWrite) {
  auto c = SocketConn();
  Collect(c.get());
  std::vector<Bytes> sent;
  Bytes all;
  for (uint16_t i = 0; i < 100; i++) {
    sent.push_back(MakeFrame(7 + i * 13, i));
    all.insert(all.end(), sent.back().begin(), sent.back().end());
  }
  WriteAll(peer_, all);
  ASSERT_TRUE(RunUntil([&] { return frames_.size() == 100; }));
  EXPECT_EQ(frames_, sent);
}

TEST_F(ConnTest, FrameLargerThanReadBuffer) {
  auto c = SocketConn();
  Collect(c.get());
  // 3 MiB: far past the 64 KiB read buffer, under the 8 MiB default limit.
  Bytes big = MakeFrame(3 << 20, 9), small = MakeFrame(20, 10);
  std::thread w([&] {
    WriteAll(peer_, big);
    WriteAll(peer_, small);
  });
  ASSERT_TRUE(RunUntil([&] { return frames_.size() == 2; }, 10000));
  w.join();
  ASSERT_EQ(frames_.size(), 2u);
  EXPECT_TRUE(frames_[0] == big);
  EXPECT_EQ(frames_[1], small);
}

// The owner takes every frame: large ones leave in the buffer they were
// read into (same address, no copy), small ones as copies; the bytes read
// past a taken frame (the next frames) still arrive whole and in order, and
// a taken Buffer stays intact while later frames are read.
TEST_F(ConnTest, TakeFrameKeepsEveryFrameWhole) {
  auto c = SocketConn();
  std::vector<Buffer> taken;
  std::vector<bool> same_address;
  c->Start(
      [&](std::span<const uint8_t> f) {
        Buffer b = c->TakeFrame();
        same_address.push_back(b.data() == f.data());
        taken.push_back(std::move(b));
      },
      [&](const Status&) { ended_ = true; });
  std::vector<Bytes> sent;
  Bytes all;
  for (uint16_t i = 0; i < 12; i++) {
    sent.push_back(MakeFrame(i % 3 == 0 ? (1 << 20) + 11 * i : 7 + 29 * i, i));
    all.insert(all.end(), sent.back().begin(), sent.back().end());
  }
  std::thread w([&] { WriteAll(peer_, all); });
  ASSERT_TRUE(RunUntil([&] { return taken.size() == sent.size(); }, 10000));
  w.join();
  ASSERT_EQ(taken.size(), sent.size());
  int moved = 0;
  for (size_t i = 0; i < sent.size(); i++) {
    EXPECT_TRUE(Bytes(taken[i].data(), taken[i].data() + taken[i].size()) == sent[i])
        << "frame " << i;
    if (same_address[i]) {
      EXPECT_GT(sent[i].size(), 65536u) << "a small frame was handed out in place";
      moved++;
    }
  }
  // Every 1 MiB frame that began its own read buffer moved; at least the
  // first one must have (nothing precedes it).
  EXPECT_GE(moved, 1);
  EXPECT_TRUE(same_address[0]);
  EXPECT_FALSE(ended_);
}

TEST_F(ConnTest, OversizeFrameClosesWithEmsgsize) {
  auto c = SocketConn();
  c->SetMaxFrame(4096);
  Collect(c.get());
  WriteAll(peer_, MakeFrame(100, 1));
  Bytes hdr = {0, 0, 0, 0x40, 117, 1, 0};  // announces 1 GiB
  WriteAll(peer_, hdr);
  ASSERT_TRUE(RunUntil([&] { return ended_; }));
  EXPECT_EQ(frames_.size(), 1u);  // the good frame before it still arrived
  EXPECT_EQ(end_.err(), EMSGSIZE);
  EXPECT_NE(end_.message().find("exceeds the limit of 4096"), std::string::npos) << end_.message();
  // The Conn hung up on its own: the peer sees EOF.
  EXPECT_TRUE(RunUntil([&] { return AtEof(peer_); }));
}

TEST_F(ConnTest, UndersizeFrameClosesWithEproto) {
  auto c = SocketConn();
  Collect(c.get());
  Bytes hdr = {3, 0, 0, 0, 100, 0, 0};
  WriteAll(peer_, hdr);
  ASSERT_TRUE(RunUntil([&] { return ended_; }));
  EXPECT_EQ(end_.err(), EPROTO);
  EXPECT_TRUE(frames_.empty());
}

TEST_F(ConnTest, PeerEofReportsOk) {
  auto c = SocketConn();
  Collect(c.get());
  WriteAll(peer_, MakeFrame(50, 1));
  shutdown(peer_, SHUT_WR);
  ASSERT_TRUE(RunUntil([&] { return ended_; }));
  EXPECT_TRUE(end_.ok()) << end_.message();
  EXPECT_EQ(frames_.size(), 1u);
}

TEST_F(ConnTest, SendBatchesAndDrains) {
  auto c = SocketConn();
  Collect(c.get());
  int drains = 0;
  c->OnDrain([&] { drains++; });
  // 4 MiB to a peer that does not read yet: more than the socket buffers.
  Bytes expect;
  for (uint16_t i = 0; i < 64; i++) {
    Bytes f = MakeFrame(64 * 1024, i);
    expect.insert(expect.end(), f.begin(), f.end());
    c->Send(std::move(f));
  }
  EXPECT_EQ(c->QueuedBytes(), expect.size());
  RunFor(50);
  EXPECT_GT(c->QueuedBytes(), 0u);
  EXPECT_EQ(drains, 0);
  Bytes got;
  std::thread r([&] { got = ReadN(peer_, expect.size()); });
  ASSERT_TRUE(RunUntil([&] { return drains > 0; }, 10000));
  r.join();
  EXPECT_EQ(c->QueuedBytes(), 0u);
  EXPECT_TRUE(got == expect) << "bytes arrived out of order or damaged";
}

TEST_F(ConnTest, PauseReadingStopsDeliveryAndReading) {
  auto c = SocketConn();
  size_t count = 0;
  c->Start(
      [&](std::span<const uint8_t>) {
        if (++count == 1) c->PauseReading();
      },
      [&](const Status&) { ended_ = true; });
  Bytes ten;
  for (uint16_t i = 0; i < 10; i++) {
    Bytes f = MakeFrame(64, i);
    ten.insert(ten.end(), f.begin(), f.end());
  }
  WriteAll(peer_, ten);
  ASSERT_TRUE(RunUntil([&] { return count >= 1; }));
  RunFor(50);
  EXPECT_EQ(count, 1u) << "frames already buffered were delivered while paused";

  // While paused the kernel buffers fill up: the peer's writes block.
  ASSERT_EQ(fcntl(peer_, F_SETFL, fcntl(peer_, F_GETFL) | O_NONBLOCK), 0);
  const uint32_t kSize = 4096;
  size_t frames = 10, partial_left = 0;
  Bytes last;
  bool blocked = false;
  for (int i = 0; i < 16384 && !blocked; i++) {  // at most 64 MiB
    last = MakeFrame(kSize, static_cast<uint16_t>(frames));
    ssize_t w = write(peer_, last.data(), last.size());
    if (w < 0 && errno == EAGAIN) {
      blocked = true;
      break;
    }
    ASSERT_GT(w, 0);
    frames++;
    if (static_cast<size_t>(w) < last.size()) {
      partial_left = last.size() - static_cast<size_t>(w);
      blocked = true;
    }
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  ASSERT_TRUE(blocked) << "64 MiB went in while reading was paused";
  EXPECT_EQ(count, 1u);

  ASSERT_EQ(fcntl(peer_, F_SETFL, fcntl(peer_, F_GETFL) & ~O_NONBLOCK), 0);
  std::thread w([&] {
    if (partial_left) WriteAll(peer_, last.data() + last.size() - partial_left, partial_left);
  });
  c->ResumeReading();
  EXPECT_TRUE(RunUntil([&] { return count == frames; }, 10000)) << count << " of " << frames;
  w.join();
  EXPECT_FALSE(ended_);
}

TEST_F(ConnTest, CloseFlushesQueuedFramesAndConnMayDieAtOnce) {
  auto c = SocketConn();
  Collect(c.get());
  Bytes expect;
  for (uint16_t i = 0; i < 16; i++) {
    Bytes f = MakeFrame(64 * 1024, i);
    expect.insert(expect.end(), f.begin(), f.end());
    c->Send(std::move(f));
  }
  c->Close();
  c.reset();  // destroying right after Close is allowed
  Bytes got;
  bool eof = false;
  std::thread r([&] {
    got = ReadN(peer_, expect.size());
    char x;
    eof = read(peer_, &x, 1) == 0;
  });
  RunUntil([&] { return !uv_loop_alive(&loop_); }, 10000);
  r.join();
  EXPECT_TRUE(got == expect);
  EXPECT_TRUE(eof);
  EXPECT_FALSE(ended_) << "the close callback is not for closes the owner asked for";
}

// The flush after Close lasts while the peer keeps taking data, even past
// the guard period (5 s): here the reader takes 64 KiB each 200 ms, 6.4 s in
// all.
TEST_F(ConnTest, CloseFlushOutlastsTheGuardWhileThePeerReads) {
  auto c = SocketConn();
  Collect(c.get());
  Bytes expect;
  for (uint16_t i = 0; i < 32; i++) {
    Bytes f = MakeFrame(64 * 1024 - 4, i);
    expect.insert(expect.end(), f.begin(), f.end());
    c->Send(std::move(f));
  }
  c->Close();
  c.reset();
  Bytes got;
  std::thread r([&] {
    while (got.size() < expect.size()) {
      Bytes part = ReadN(peer_, std::min<size_t>(64 * 1024, expect.size() - got.size()));
      if (part.empty()) break;
      got.insert(got.end(), part.begin(), part.end());
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  });
  RunUntil([&] { return !uv_loop_alive(&loop_); }, 20000);
  r.join();
  EXPECT_EQ(got.size(), expect.size());
  EXPECT_TRUE(got == expect);
}

// A peer that takes nothing does not hold the connection: once the guard
// period passes without progress, the fd is closed and the loop ends.
TEST_F(ConnTest, CloseGivesUpOnAPeerThatNeverReads) {
  auto c = SocketConn();
  Collect(c.get());
  for (uint16_t i = 0; i < 64; i++) c->Send(MakeFrame(64 * 1024, i));
  c->Close();
  c.reset();
  EXPECT_TRUE(RunUntil([&] { return !uv_loop_alive(&loop_); }, 20000))
      << "a peer that never reads kept the connection open";
  char x;
  ssize_t n = 0;
  size_t total = 0;
  while ((n = read(peer_, &x, 1)) > 0) total++;
  EXPECT_EQ(n, 0) << "the fd was not closed";
  EXPECT_LT(total, 64u * 64 * 1024) << "everything fit in the buffers; the test proves nothing";
}

TEST_F(ConnTest, DestroyInsideFrameCallback) {
  auto c = SocketConn();
  size_t count = 0;
  c->Start(
      [&](std::span<const uint8_t>) {
        count++;
        c.reset();  // the rest of the buffered frames must not be delivered
      },
      [&](const Status&) { ended_ = true; });
  Bytes five;
  for (uint16_t i = 0; i < 5; i++) {
    Bytes f = MakeFrame(30, i);
    five.insert(five.end(), f.begin(), f.end());
  }
  WriteAll(peer_, five);
  ASSERT_TRUE(RunUntil([&] { return c == nullptr; }));
  RunFor(20);
  EXPECT_EQ(count, 1u);
  EXPECT_FALSE(ended_);
  EXPECT_TRUE(RunUntil([&] { return AtEof(peer_); }));
}

TEST_F(ConnTest, FromFdsOverTwoPipes) {
  int in[2], out[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  fds_.push_back(in[1]);
  fds_.push_back(out[0]);
  auto r = ConnFromFds(&loop_, in[0], out[1]);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto c = std::move(*r);
  EXPECT_EQ(c->Peer(), "fd");
  // Echo each frame back, as a server on stdin/stdout would answer.
  c->Start([&](std::span<const uint8_t> f) { c->Send(Bytes(f.begin(), f.end())); },
           [&](const Status& s) {
             ended_ = true;
             end_ = s;
           });
  Bytes all;
  for (uint16_t i = 0; i < 20; i++) {
    Bytes f = MakeFrame(10 + i * 100, i);
    all.insert(all.end(), f.begin(), f.end());
  }
  WriteAll(in[1], all);
  Bytes got;
  std::atomic<bool> read_all{false};
  std::thread rd([&] {
    got = ReadN(out[0], all.size());
    read_all = true;
  });
  ASSERT_TRUE(RunUntil([&] { return c->QueuedBytes() == 0 && read_all.load(); }));
  rd.join();
  EXPECT_TRUE(got == all);
  close(in[1]);
  fds_.erase(fds_.begin());
  ASSERT_TRUE(RunUntil([&] { return ended_; }));
  EXPECT_TRUE(end_.ok());
}

TEST_F(ConnTest, FromFdsRefusesFilesAndDevices) {
  testing::TempDir dir;
  std::string path = dir.path() + "/plain";
  testing::WriteFile(path, "x");
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  fds_.push_back(fd);
  auto r = ConnFromFds(&loop_, fd, fd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), EINVAL);
  EXPECT_NE(r.status().message().find("regular file"), std::string::npos) << r.status().message();
  int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
  ASSERT_GE(nul, 0);
  fds_.push_back(nul);
  r = ConnFromFds(&loop_, nul, nul);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("character device"), std::string::npos)
      << r.status().message();
}

// Listens on addr, dials what it reports, and checks frames both ways.
void ListenDialRoundTrip(uv_loop_t* loop, const std::string& addr,
                         const std::function<bool(const std::function<bool()>&)>& run,
                         std::string* bound_out) {
  auto a = ParseDial(addr);
  ASSERT_TRUE(a.ok());
  std::vector<std::unique_ptr<Conn>> accepted;
  std::vector<Bytes> at_server, at_client;
  auto l = Listen(loop, *a, [&](std::unique_ptr<Conn> c) {
    Conn* raw = c.get();
    c->Start(
        [&at_server, raw](std::span<const uint8_t> f) {
          at_server.emplace_back(f.begin(), f.end());
          raw->Send(Bytes(f.begin(), f.end()));
        },
        [](const Status&) {});
    accepted.push_back(std::move(c));
  });
  ASSERT_TRUE(l.ok()) << l.status().message();
  std::string bound = (*l)->BoundAddress();
  *bound_out = bound;
  auto b = ParseDial(bound);
  ASSERT_TRUE(b.ok()) << bound;
  auto d = Dial(loop, *b);
  ASSERT_TRUE(d.ok()) << d.status().message();
  auto c = std::move(*d);
  c->Start([&](std::span<const uint8_t> f) { at_client.emplace_back(f.begin(), f.end()); },
           [](const Status&) {});
  Bytes f1 = MakeFrame(77, 1), f2 = MakeFrame(200000, 2);
  c->Send(f1);
  c->Send(f2);
  ASSERT_TRUE(run([&] { return at_client.size() == 2; }));
  EXPECT_EQ(at_server.size(), 2u);
  EXPECT_EQ(at_client[0], f1);
  EXPECT_TRUE(at_client[1] == f2);
  ASSERT_EQ(accepted.size(), 1u);
  if (b->kind == DialAddr::kTcp) {
    EXPECT_EQ(accepted[0]->Peer().rfind("tcp!", 0), 0u) << accepted[0]->Peer();
  }
  (*l)->Close();
  l->reset();
  c.reset();
  accepted.clear();
}

TEST_F(ConnTest, ListenAndDialTcp4) {
  std::string bound;
  ListenDialRoundTrip(
      &loop_, "tcp!127.0.0.1!0", [&](const std::function<bool()>& p) { return RunUntil(p); },
      &bound);
  EXPECT_EQ(bound.rfind("tcp!127.0.0.1!", 0), 0u) << bound;
  EXPECT_NE(bound, "tcp!127.0.0.1!0");
}

TEST_F(ConnTest, ListenAndDialTcp6) {
  std::string bound;
  ListenDialRoundTrip(
      &loop_, "[::1]:0", [&](const std::function<bool()>& p) { return RunUntil(p); }, &bound);
  EXPECT_EQ(bound.rfind("tcp!::1!", 0), 0u) << bound;
}

TEST_F(ConnTest, ListenAndDialUnixReplacingStaleSocket) {
  testing::TempDir dir;
  std::string path = dir.path() + "/sock";
  // A socket file left behind by a dead server.
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  strcpy(un.sun_path, path.c_str());
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&un), sizeof un), 0);
  close(s);
  std::string bound;
  ListenDialRoundTrip(
      &loop_, "unix!" + path, [&](const std::function<bool()>& p) { return RunUntil(p); }, &bound);
  EXPECT_EQ(bound, "unix!" + path);
  struct stat st;
  EXPECT_NE(lstat(path.c_str(), &st), 0) << "Close left the socket file behind";
}

TEST_F(ConnTest, ListenUnixRefusesFilesAndLiveSockets) {
  testing::TempDir dir;
  DialAddr a;
  a.kind = DialAddr::kUnix;
  a.path = dir.path() + "/plain";
  testing::WriteFile(a.path, "keep me");
  auto l = Listen(&loop_, a, [](std::unique_ptr<Conn>) {});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().err(), EEXIST);
  EXPECT_EQ(testing::ReadFile(a.path), "keep me");

  a.path = dir.path() + "/live";
  auto l1 = Listen(&loop_, a, [](std::unique_ptr<Conn>) {});
  ASSERT_TRUE(l1.ok()) << l1.status().message();
  auto l2 = Listen(&loop_, a, [](std::unique_ptr<Conn>) {});
  ASSERT_FALSE(l2.ok());
  EXPECT_EQ(l2.status().err(), EADDRINUSE) << l2.status().message();
  l1->reset();
}

// A port nothing listens on: bind an ephemeral one and let it go.
uint16_t FreePort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(s, reinterpret_cast<sockaddr*>(&in), sizeof in), 0);
  socklen_t len = sizeof in;
  getsockname(s, reinterpret_cast<sockaddr*>(&in), &len);
  close(s);
  return ntohs(in.sin_port);
}

TEST_F(ConnTest, DialErrorsNameTheAddress) {
  uint16_t port = FreePort();
  auto a = ParseDial("tcp!127.0.0.1!" + std::to_string(port));
  ASSERT_TRUE(a.ok());
  auto d = Dial(&loop_, *a);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().err(), ECONNREFUSED);
  EXPECT_EQ(d.status().message(),
            "dial tcp!127.0.0.1!" + std::to_string(port) + ": Connection refused");

  a = ParseDial("unix!/nonexistent/ninep.sock");
  d = Dial(&loop_, *a);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().err(), ENOENT);
  EXPECT_EQ(d.status().message().rfind("dial unix!/nonexistent/ninep.sock: ", 0), 0u);

  a = ParseDial("tcp!no-such-host.invalid!564");
  d = Dial(&loop_, *a);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message().rfind("dial tcp!no-such-host.invalid!564: ", 0), 0u)
      << d.status().message();
}

TEST_F(ConnTest, ListenBadAddressFails) {
  auto a = ParseDial("tcp!192.0.2.1!0");  // TEST-NET: not ours to bind
  ASSERT_TRUE(a.ok());
  auto l = Listen(&loop_, *a, [](std::unique_ptr<Conn>) {});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.status().err(), EADDRNOTAVAIL) << l.status().message();
}

}  // namespace
}  // namespace ninep
