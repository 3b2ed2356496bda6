// client_test: the client's protocol rules against a scripted peer on a
// socketpair: version negotiation, error replies, tags, flush races, dead
// connections, timeouts, calls from callbacks, walk splitting and tracing.
//
// These are the cases a real server cannot be made to produce on demand
// (an Rflush held back, a reply racing its flush, a garbage frame); the
// same features are exercised against diod and ramfs in the other tests.
#include "ninep/client.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "conformance/raw9p.h"
#include "ninep/wire.h"

namespace ninep {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The server end of the socketpair, driven by the test.
class Peer {
 public:
  Peer(int fd, Dialect d) : fd_(fd) {
    conn_.Adopt(fd, fd);
    conn_.dialect = d;
  }
  ~Peer() { Close(); }
  void Close() {
    conn_.Close();
    if (fd_ >= 0) close(fd_), fd_ = -1;
  }

  // Reads and decodes the next frame; false on EOF or timeout (a frame
  // that does not decode fails the test).
  bool Next(Message* m, int timeout_ms = 5000) {
    Result<testing::RawReply> r = conn_.Recv(timeout_ms);
    if (!r.ok()) {
      const int e = r.status().err();
      EXPECT_TRUE(e == ECONNRESET || e == ETIMEDOUT) << r.status().message();
      return false;
    }
    *m = r->msg;
    frames_.push_back(std::move(*r));
    return true;
  }
  // Reads the next message, which must be a T of type T.
  template <class T>
  T Expect(uint16_t* tag) {
    Message m;
    EXPECT_TRUE(Next(&m)) << "expected " << MsgTypeName(T::kType);
    EXPECT_EQ(m.type(), T::kType) << FormatMessage(m);
    *tag = m.tag;
    const T* t = std::get_if<T>(&m.body);
    return t ? *t : T{};
  }
  void Send(uint16_t tag, const Body& b) { ASSERT_TRUE(conn_.Send(Message{tag, b}).ok()); }
  void SendRaw(const std::vector<uint8_t>& out) { ASSERT_TRUE(conn_.SendBytes(out).ok()); }
  // Answers the Tversion every connection starts with.
  void Handshake(uint32_t msize, std::string_view version) {
    uint16_t tag;
    auto tv = Expect<Tversion>(&tag);
    EXPECT_EQ(tag, NOTAG);
    asked_msize = tv.msize;
    asked_version = std::string(tv.version);
    Send(NOTAG, Rversion{msize, version});
  }
  uint32_t asked_msize = 0;
  std::string asked_version;

 private:
  int fd_;
  testing::RawConn conn_;
  std::vector<testing::RawReply> frames_;  // decoded views point here
};

// A client connected to a Peer whose handshake runs on a helper thread.
struct Setup {
  std::unique_ptr<Client> client;
  std::unique_ptr<Peer> peer;
  Status status;
};
Setup Connect(const ClientOptions& opts, uint32_t server_msize, std::string server_version) {
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Setup s;
  s.peer = std::make_unique<Peer>(sv[1], opts.dialect);
  std::thread t([&] { s.peer->Handshake(server_msize, server_version); });
  auto c = Client::FromFds(sv[0], sv[0], opts);
  t.join();
  if (c.ok()) {
    s.client = std::move(*c);
  } else {
    s.status = c.status();
  }
  return s;
}

ClientOptions Opts(Dialect d = Dialect::k9P2000, uint32_t msize = 65536) {
  ClientOptions o;
  o.dialect = d;
  o.msize = msize;
  return o;
}

// Collects one callback's result, waitable from the test thread.
struct Outcome {
  std::mutex mu;
  std::condition_variable cv;
  int calls = 0;
  Status st;
  uint8_t type = 0;
  std::thread::id thread;
  Client::Callback Cb() {
    return [this](Result<Reply> r) {
      std::lock_guard<std::mutex> lk(mu);
      calls++;
      thread = std::this_thread::get_id();
      st = r.status();
      if (r.ok()) type = r->msg.type();
      cv.notify_all();
    };
  }
  bool Wait(int ms = 5000) {
    std::unique_lock<std::mutex> lk(mu);
    return cv.wait_for(lk, milliseconds(ms), [&] { return calls > 0; });
  }
  // The number of calls so far, read under the lock the callback writes it
  // under (the client's loop thread may be running it right now).
  int Calls() {
    std::lock_guard<std::mutex> lk(mu);
    return calls;
  }
};

TEST(ClientVersion, AcceptsLowerMsizeAndSendsDialect) {
  auto s = Connect(Opts(Dialect::k9P2000L, 65536), 8192, "9P2000.L");
  ASSERT_TRUE(s.client) << s.status.message();
  EXPECT_EQ(s.peer->asked_msize, 65536u);
  EXPECT_EQ(s.peer->asked_version, "9P2000.L");
  EXPECT_EQ(s.client->msize(), 8192u);
  EXPECT_EQ(s.client->MaxIO(), 8192u - IOHDRSZ);
  EXPECT_EQ(s.client->dialect(), Dialect::k9P2000L);
}

TEST(ClientVersion, LargerServerMsizeIsClampedToOurs) {
  auto s = Connect(Opts(Dialect::k9P2000, 16384), 1 << 20, "9P2000");
  ASSERT_TRUE(s.client) << s.status.message();
  EXPECT_EQ(s.client->msize(), 16384u);
}

TEST(ClientVersion, UnknownVersionFails) {
  auto s = Connect(Opts(Dialect::k9P2000L), 8192, "unknown");
  ASSERT_FALSE(s.client);
  EXPECT_EQ(s.status.err(), EPROTONOSUPPORT);
  EXPECT_EQ(s.status.message(), "version: server does not speak 9P2000.L");
}

TEST(ClientVersion, OtherVersionFails) {
  auto s = Connect(Opts(Dialect::k9P2000L), 8192, "9P2000");
  ASSERT_FALSE(s.client);
  EXPECT_EQ(s.status.message(), "version: server offers 9P2000, asked 9P2000.L");
}

TEST(ClientVersion, TinyServerMsizeFails) {
  auto s = Connect(Opts(), 100, "9P2000");
  ASSERT_FALSE(s.client);
  EXPECT_NE(s.status.message().find("below the minimum"), std::string::npos) << s.status.message();
}

TEST(ClientVersion, MsizeBelowMinimumRejectedBeforeDialing) {
  ClientOptions o = Opts(Dialect::k9P2000, MINMSIZE - 1);
  auto c = Client::Connect("tcp!127.0.0.1!1", o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().err(), EINVAL);
  EXPECT_NE(c.status().message().find("msize"), std::string::npos);
}

TEST(ClientVersion, BadDialStringAndRefusedConnection) {
  auto c = Client::Connect("udp!x!1", Opts());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().err(), EINVAL);
  c = Client::Connect("unix!/nonexistent/sock", Opts());
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind("dial unix!/nonexistent/sock: ", 0), 0u);
}

TEST(ClientCall, ErrorRepliesBecomeStatuses) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  Outcome o;
  s.client->Call(Tstat{1}, o.Cb());
  uint16_t tag;
  s.peer->Expect<Tstat>(&tag);
  EXPECT_NE(tag, NOTAG);
  s.peer->Send(tag, Rerror{"file does not exist"});
  ASSERT_TRUE(o.Wait());
  EXPECT_EQ(o.st.err(), ENOENT);
  EXPECT_EQ(o.st.message(), "file does not exist");
  EXPECT_EQ(s.client->Outstanding(), 0u);
}

TEST(ClientCall, RlerrorBecomesErrno) {
  auto s = Connect(Opts(Dialect::k9P2000L), 8192, "9P2000.L");
  ASSERT_TRUE(s.client);
  std::thread t([&] {
    uint16_t tag;
    s.peer->Expect<Tgetattr>(&tag);
    s.peer->Send(tag, Rlerror{EACCES});
  });
  auto r = s.client->CallSync(Tgetattr{1, P9_GETATTR_ALL});
  t.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), EACCES);
}

TEST(ClientCall, WrongReplyTypeIsAProtocolError) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  std::thread t([&] {
    uint16_t tag;
    s.peer->Expect<Tclunk>(&tag);
    s.peer->Send(tag, Rremove{});
  });
  auto r = s.client->CallSync(Tclunk{3});
  t.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), EPROTO);
  EXPECT_NE(r.status().message().find("Rremove in reply to Tclunk"), std::string::npos);
}

TEST(ClientCall, RepliesMatchTagsOutOfOrder) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  const int kN = 50;
  std::vector<Outcome> outs(kN);
  for (int i = 0; i < kN; i++) s.client->Call(Tclunk{static_cast<uint32_t>(i)}, outs[i].Cb());
  std::vector<std::pair<uint16_t, uint32_t>> got;  // tag, fid
  for (int i = 0; i < kN; i++) {
    uint16_t tag;
    auto t = s.peer->Expect<Tclunk>(&tag);
    got.push_back({tag, t.fid});
  }
  EXPECT_EQ(s.client->Outstanding(), static_cast<size_t>(kN));
  // Answer in reverse; odd fids fail, so each reply is told apart.
  for (int i = kN - 1; i >= 0; i--) {
    if (got[i].second % 2) {
      s.peer->Send(got[i].first, Rerror{"fid " + std::to_string(got[i].second)});
    } else {
      s.peer->Send(got[i].first, Rclunk{});
    }
  }
  for (int i = 0; i < kN; i++) {
    ASSERT_TRUE(outs[i].Wait());
    EXPECT_EQ(outs[i].Calls(), 1);
    if (i % 2) {
      EXPECT_EQ(outs[i].st.message(), "fid " + std::to_string(i));
    } else {
      EXPECT_TRUE(outs[i].st.ok());
      EXPECT_EQ(outs[i].type, kRclunk);
    }
  }
}

TEST(ClientFlush, CancelThenRflushGivesEcanceledAndTagWaitsForRflush) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  Outcome a;
  auto id = s.client->Call(Tstat{1}, a.Cb());
  uint16_t ta, tf, tb;
  s.peer->Expect<Tstat>(&ta);
  s.client->Cancel(id);
  auto fl = s.peer->Expect<Tflush>(&tf);
  EXPECT_EQ(fl.oldtag, ta);
  EXPECT_NE(tf, ta);
  // While Rflush is outstanding, the old tag must not be reused.
  Outcome b;
  s.client->Call(Tstat{2}, b.Cb());
  s.peer->Expect<Tstat>(&tb);
  EXPECT_NE(tb, ta);
  EXPECT_NE(tb, tf);
  EXPECT_EQ(a.Calls(), 0);
  s.peer->Send(tf, Rflush{});
  ASSERT_TRUE(a.Wait());
  EXPECT_EQ(a.st.err(), ECANCELED);
  s.peer->Send(tb, Rerror{"permission denied"});
  ASSERT_TRUE(b.Wait());
  EXPECT_EQ(b.st.err(), EACCES);
  EXPECT_EQ(s.client->Outstanding(), 0u);
  EXPECT_EQ(a.Calls(), 1);
}

TEST(ClientFlush, ReplyBeforeRflushStands) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  Outcome a;
  auto id = s.client->Call(Tclunk{1}, a.Cb());
  uint16_t ta, tf, tb;
  s.peer->Expect<Tclunk>(&ta);
  s.client->Cancel(id);
  s.client->Cancel(id);  // a second Cancel sends nothing more
  s.peer->Expect<Tflush>(&tf);
  s.peer->Send(ta, Rclunk{});
  ASSERT_TRUE(a.Wait());
  EXPECT_TRUE(a.st.ok()) << a.st.message();
  EXPECT_EQ(a.type, kRclunk);
  // Answered, but its tag stays reserved until Rflush.
  EXPECT_EQ(s.client->Outstanding(), 2u);
  Outcome b;
  s.client->Call(Tclunk{2}, b.Cb());
  s.peer->Expect<Tclunk>(&tb);
  EXPECT_NE(tb, ta);
  s.peer->Send(tf, Rflush{});
  s.peer->Send(tb, Rclunk{});
  ASSERT_TRUE(b.Wait());
  EXPECT_EQ(a.Calls(), 1) << "a flushed call answered first must not be cancelled too";
  EXPECT_TRUE(s.client->WaitIdle(milliseconds(5000)).ok());
  EXPECT_EQ(s.client->Outstanding(), 0u);
}

TEST(ClientFlush, SyncTimeoutFlushesAndFailsEtimedout) {
  ClientOptions o = Opts();
  o.call_timeout = milliseconds(150);
  auto s = Connect(o, 8192, "9P2000");
  ASSERT_TRUE(s.client);
  std::thread t([&] {
    uint16_t ta, tf;
    s.peer->Expect<Tstat>(&ta);
    auto fl = s.peer->Expect<Tflush>(&tf);
    EXPECT_EQ(fl.oldtag, ta);
    s.peer->Send(tf, Rflush{});
  });
  auto start = Clock::now();
  auto r = s.client->CallSync(Tstat{1});
  auto took = Clock::now() - start;
  t.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), ETIMEDOUT);
  EXPECT_GE(took, milliseconds(150));
  EXPECT_LT(took, milliseconds(2000));
}

// call_timeout bounds asynchronous calls too: the call is flushed and its
// callback gets ETIMEDOUT while the server still says nothing.
TEST(ClientFlush, CallTimeoutFailsAnAsyncCall) {
  ClientOptions o = Opts();
  o.call_timeout = milliseconds(100);
  auto s = Connect(o, 8192, "9P2000");
  ASSERT_TRUE(s.client);
  Outcome a;
  s.client->Call(Tstat{1}, a.Cb());
  uint16_t ta, tf;
  s.peer->Expect<Tstat>(&ta);
  auto fl = s.peer->Expect<Tflush>(&tf);
  EXPECT_EQ(fl.oldtag, ta);
  ASSERT_TRUE(a.Wait());
  EXPECT_EQ(a.st.err(), ETIMEDOUT) << a.st.message();
  s.peer->Send(tf, Rflush{});
  EXPECT_TRUE(s.client->WaitIdle(milliseconds(5000)).ok());
}

// connect_timeout bounds the handshake: a peer that never answers Tversion
// cannot hold FromFds (nor Connect) longer.
TEST(ClientVersion, ConnectTimeoutBoundsTheHandshake) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Peer silent(sv[1], Dialect::k9P2000);
  ClientOptions o = Opts();
  o.connect_timeout = milliseconds(100);
  auto start = Clock::now();
  auto c = Client::FromFds(sv[0], sv[0], o);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().err(), ETIMEDOUT) << c.status().message();
  EXPECT_NE(c.status().message().find("version"), std::string::npos) << c.status().message();
  EXPECT_LT(Clock::now() - start, milliseconds(3000));
}

TEST(ClientFlush, SyncTimeoutGivesUpOnAServerThatIgnoresFlush) {
  ClientOptions o = Opts();
  o.call_timeout = milliseconds(100);
  auto s = Connect(o, 8192, "9P2000");
  ASSERT_TRUE(s.client);
  auto start = Clock::now();
  auto r = s.client->CallSync(Tstat{1});
  auto took = Clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().err(), ETIMEDOUT);
  EXPECT_LT(took, milliseconds(2000));
  // A per-call timeout overrides the default.
  start = Clock::now();
  r = s.client->CallSync(Tstat{1}, milliseconds(20));
  EXPECT_EQ(r.status().err(), ETIMEDOUT);
  EXPECT_LT(Clock::now() - start, milliseconds(1500));
}

TEST(ClientDeath, PeerCloseFailsPendingAndLaterCallsPromptly) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  std::vector<Outcome> outs(3);
  for (auto& o : outs) s.client->Call(Tstat{1}, o.Cb());
  uint16_t tag;
  for (int i = 0; i < 3; i++) s.peer->Expect<Tstat>(&tag);
  auto start = Clock::now();
  s.peer->Close();
  for (auto& o : outs) {
    ASSERT_TRUE(o.Wait(5000));
    EXPECT_EQ(o.st.err(), ECONNRESET) << o.st.message();
  }
  EXPECT_LT(Clock::now() - start, milliseconds(5000));
  EXPECT_FALSE(s.client->alive());
  EXPECT_EQ(s.client->Outstanding(), 0u);
  Outcome later;
  s.client->Call(Tstat{1}, later.Cb());
  ASSERT_TRUE(later.Wait(1000));
  EXPECT_EQ(later.st.err(), EPIPE);
  start = Clock::now();
  auto r = s.client->CallSync(Tstat{1});
  EXPECT_EQ(r.status().err(), EPIPE);
  EXPECT_LT(Clock::now() - start, milliseconds(100));
}

TEST(ClientDeath, GarbageFrameKillsTheConnection) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  Outcome o;
  s.client->Call(Tstat{1}, o.Cb());
  uint16_t tag;
  s.peer->Expect<Tstat>(&tag);
  s.peer->SendRaw({2, 0, 0, 0, 125, 0, 0});  // size 2: not a frame
  ASSERT_TRUE(o.Wait());
  EXPECT_EQ(o.st.err(), ECONNRESET);
  EXPECT_NE(o.st.message().find("smaller than the 7-byte header"), std::string::npos)
      << o.st.message();
}

TEST(ClientDeath, DestroyingTheClientFailsPendingCalls) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  Outcome o;
  s.client->Call(Tstat{1}, o.Cb());
  uint16_t tag;
  s.peer->Expect<Tstat>(&tag);
  s.client.reset();
  EXPECT_EQ(o.Calls(), 1);
  EXPECT_FALSE(o.st.ok());
}

// WaitIdle returns once every reply is in: not while one call (or a Tflush)
// is unanswered, at once when nothing is outstanding.
TEST(ClientIdle, WaitIdleWaitsForEveryReply) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  EXPECT_TRUE(s.client->WaitIdle().ok());
  Outcome a, b;
  s.client->Call(Tclunk{1}, a.Cb());
  auto id = s.client->Call(Tclunk{2}, b.Cb());
  uint16_t ta, tb, tf;
  s.peer->Expect<Tclunk>(&ta);
  s.peer->Expect<Tclunk>(&tb);
  s.client->Cancel(id);
  s.peer->Expect<Tflush>(&tf);
  s.peer->Send(ta, Rclunk{});
  ASSERT_TRUE(a.Wait());
  // b and its Tflush are unanswered: a bounded wait must give up.
  Status st = s.client->WaitIdle(milliseconds(50));
  EXPECT_EQ(st.err(), ETIMEDOUT) << st.message();
  std::atomic<int> idle_err{-1};
  std::thread waiter([&] { idle_err = s.client->WaitIdle().err(); });
  s.peer->Send(tb, Rclunk{});
  s.peer->Send(tf, Rflush{});
  waiter.join();
  EXPECT_EQ(idle_err.load(), 0);
  EXPECT_EQ(s.client->Outstanding(), 0u);
  ASSERT_TRUE(b.Wait());
  EXPECT_TRUE(b.st.ok()) << b.st.message();
}

// A connection that dies ends the wait with its error; so does one that is
// dead already.
TEST(ClientIdle, WaitIdleEndsWhenTheConnectionDies) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  Outcome a;
  s.client->Call(Tstat{1}, a.Cb());
  uint16_t ta;
  s.peer->Expect<Tstat>(&ta);
  Status st;
  std::thread waiter([&] { st = s.client->WaitIdle(); });
  s.peer->Close();
  waiter.join();
  EXPECT_EQ(st.err(), EPIPE) << st.message();
  EXPECT_NE(st.message().find("closed"), std::string::npos) << st.message();
  ASSERT_TRUE(a.Wait());
  EXPECT_EQ(a.st.err(), ECONNRESET);
  EXPECT_EQ(s.client->WaitIdle().err(), EPIPE);
}

// On the client's own loop thread WaitIdle would wait for itself: refused.
TEST(ClientIdle, WaitIdleFromACallbackIsRefused) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  Client* c = s.client.get();
  std::atomic<int> err{-1};
  Outcome done;
  auto cb = done.Cb();
  c->Call(Tclunk{1}, [&, cb](Result<Reply> r) {
    err = c->WaitIdle().err();
    cb(std::move(r));
  });
  uint16_t t;
  s.peer->Expect<Tclunk>(&t);
  s.peer->Send(t, Rclunk{});
  ASSERT_TRUE(done.Wait());
  EXPECT_EQ(err.load(), EDEADLK);
}

TEST(ClientLoop, CallsFromCallbacksRunOnTheLoopThread) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  Client* c = s.client.get();
  Outcome second;
  std::atomic<int> sync_err{0};
  std::thread::id first_thread;
  c->Call(Tclunk{1}, [&](Result<Reply>) {
    first_thread = std::this_thread::get_id();
    sync_err = c->CallSync(Tclunk{9}).status().err();  // would deadlock: refused
    c->Call(Tclunk{2}, second.Cb());
  });
  uint16_t t1, t2;
  s.peer->Expect<Tclunk>(&t1);
  s.peer->Send(t1, Rclunk{});
  auto t = s.peer->Expect<Tclunk>(&t2);
  EXPECT_EQ(t.fid, 2u);
  s.peer->Send(t2, Rclunk{});
  ASSERT_TRUE(second.Wait());
  EXPECT_EQ(sync_err.load(), EDEADLK);
  EXPECT_EQ(second.thread, first_thread);
  EXPECT_NE(second.thread, std::this_thread::get_id());
}

TEST(ClientFid, WalkSplitsAt16NamesAndSkipsDotsAndEmpties) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  Fid root = s.client->Adopt(s.client->AllocFid(), Qid{QTDIR, 0, 1});
  std::string path = "./";
  for (int i = 0; i < 20; i++) path += "d" + std::to_string(i) + "//./";
  std::vector<std::vector<std::string>> walks;
  std::vector<std::pair<uint32_t, uint32_t>> fids;
  std::thread t([&] {
    for (int w = 0; w < 2; w++) {
      uint16_t tag;
      auto tw = s.peer->Expect<Twalk>(&tag);
      fids.push_back({tw.fid, tw.newfid});
      walks.emplace_back();
      Rwalk rw;
      for (auto n : tw.wname) {
        walks.back().push_back(std::string(n));
        rw.wqid.push_back(Qid{QTDIR, 0, 100 + walks.back().size()});
      }
      s.peer->Send(tag, rw);
    }
  });
  auto f = root.Walk(path);
  t.join();
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_EQ(walks.size(), 2u);
  EXPECT_EQ(walks[0].size(), 16u);
  EXPECT_EQ(walks[1].size(), 4u);
  EXPECT_EQ(walks[0][0], "d0");
  EXPECT_EQ(walks[1][3], "d19");
  EXPECT_EQ(fids[0].first, root.num());
  EXPECT_EQ(fids[0].second, f->num());
  EXPECT_EQ(fids[1].first, f->num());  // the second hop walks newfid in place
  EXPECT_EQ(fids[1].second, f->num());
  EXPECT_EQ(f->qid().path, 104u);
  // Release both handles without a server: the clunks fail when we go.
  root = Fid();
}

TEST(ClientFid, ReadOnceIntoAnEmptyBuffer) {
  // Found by fuzz_client_replies: ReadOnce copied the reply with memcpy into
  // an empty buffer's null data() (undefined behaviour, which UBSan reports;
  // make asan-test runs this under it), even with nothing to copy.
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  Fid f = s.client->Adopt(s.client->AllocFid(), Qid{0, 0, 7});
  std::thread t([&] {
    uint16_t tag;
    auto tr = s.peer->Expect<Tread>(&tag);
    EXPECT_EQ(0u, tr.count);
    static const uint8_t kData[] = {'x', 'y'};
    s.peer->Send(tag, Rread{kData});  // more than asked for
  });
  std::vector<uint8_t> none;
  auto n = f.ReadOnce(0, none);
  t.join();
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(0u, *n);
  f = Fid();
}

TEST(ClientFid, PartialWalkFailsEnoentAndClunksWhatItMade) {
  auto s = Connect(Opts(), 8192, "9P2000");
  ASSERT_TRUE(s.client);
  Fid root = s.client->Adopt(s.client->AllocFid(), Qid{QTDIR, 0, 1});
  std::string path;
  for (int i = 0; i < 18; i++) path += "x/";
  uint32_t clunked = NOFID, newfid = NOFID;
  std::thread t([&] {
    uint16_t tag;
    auto tw = s.peer->Expect<Twalk>(&tag);
    newfid = tw.newfid;
    Rwalk all;
    for (size_t i = 0; i < tw.wname.size(); i++) all.wqid.push_back(Qid{QTDIR, 0, i});
    s.peer->Send(tag, all);
    tw = s.peer->Expect<Twalk>(&tag);
    Rwalk part;  // one of two names: a partial walk
    part.wqid.push_back(Qid{QTDIR, 0, 99});
    s.peer->Send(tag, part);
    auto tc = s.peer->Expect<Tclunk>(&tag);
    clunked = tc.fid;
    s.peer->Send(tag, Rclunk{});
  });
  auto f = root.Walk(path);
  t.join();
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().err(), ENOENT);
  EXPECT_EQ(f.status().message(), path + ": file does not exist");
  EXPECT_EQ(clunked, newfid);
  root = Fid();
}

TEST(ClientTrace, PrintsEachMessage) {
  fflush(stderr);
  char tmpl[] = "/tmp/ninep-trace-XXXXXX";
  int tfd = mkstemp(tmpl);
  ASSERT_GE(tfd, 0);
  int saved = dup(2);
  dup2(tfd, 2);
  {
    ClientOptions o = Opts();
    o.trace = true;
    auto s = Connect(o, 8192, "9P2000");
    ASSERT_TRUE(s.client);
    std::thread t([&] {
      uint16_t tag;
      s.peer->Expect<Tclunk>(&tag);
      s.peer->Send(tag, Rclunk{});
    });
    EXPECT_TRUE(s.client->CallSync(Tclunk{7}).ok());
    t.join();
  }
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::string out(4096, '\0');
  ssize_t n = pread(tfd, out.data(), out.size(), 0);
  out.resize(n > 0 ? n : 0);
  close(tfd);
  unlink(tmpl);
  EXPECT_NE(out.find("-> Tversion tag 65535"), std::string::npos) << out;
  EXPECT_NE(out.find("<- Rversion tag 65535"), std::string::npos) << out;
  EXPECT_NE(out.find("-> Tclunk tag "), std::string::npos) << out;
  EXPECT_NE(out.find("fid 7"), std::string::npos) << out;
  EXPECT_NE(out.find("<- Rclunk tag "), std::string::npos) << out;
}

}  // namespace
}  // namespace ninep
