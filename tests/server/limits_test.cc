// limits_test.cc: the limits a peer cannot push past (ServerOptions
// max_fids, max_conns, max_inflight, max_inflight_bytes, max_queued_bytes),
// tried with raw frames against an in-process Server on 127.0.0.1: at each
// limit the peer gets a clear error or waits, the connection (or, for
// max_conns, the server) goes on serving, and what was freed is usable again.
#include <sys/socket.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "conformance/raw9p.h"
#include "gtest/gtest.h"
#include "ninep/server.h"
#include "testutil.h"

namespace ninep {
namespace {

using testing::M;
using testing::RawConn;
using testing::RawReply;
using testing::WaitFor;

constexpr size_t kFileSize = 64 * 1024;

// A flat tree: "file" (kFileSize bytes, answered at once) and "hold", whose
// reads and writes wait until the test calls Release (as a slow disk or a
// blocked pipe would), without regard to flushes.
class LimitFs : public FileServer {
 public:
  void Attach(AttachReq r) override { r.Respond(Qid{QTDIR, 0, 1}); }
  void Walk(WalkReq r) override {
    std::vector<Qid> qids;
    for (auto n : r.names) {
      if (n == "file") {
        qids.push_back(Qid{QTFILE, 0, 2});
      } else if (n == "hold") {
        qids.push_back(Qid{QTFILE, 0, 3});
      } else {
        break;
      }
    }
    if (qids.empty() && r.names.size() > 0) return r.Fail(Status(ENOENT, "file does not exist"));
    r.Respond(qids);
  }
  void Stat(StatReq r) override {
    Dir d;
    d.qid = r.fid->qid;
    d.name = "x";
    d.mode = r.fid->IsDir() ? (DMDIR | 0755) : 0644;
    d.uid = d.gid = d.muid = "test";
    r.Respond(d);
  }
  void Open(OpenReq r) override { r.Respond(OpenOut{r.fid->qid, 0}); }
  void Read(ReadReq r) override {
    if (r.fid->qid.path == 3) {
      auto p = std::make_shared<ReadReq>(std::move(r));
      return Hold([p] { p->Respond(0); });
    }
    size_t n = r.offset >= kFileSize ? 0 : std::min<size_t>(r.buf.size(), kFileSize - r.offset);
    memset(r.buf.data(), 'a', n);
    r.Respond(static_cast<uint32_t>(n));
  }
  void Write(WriteReq r) override {
    auto n = static_cast<uint32_t>(r.data.size());
    if (r.fid->qid.path != 3) return r.Respond(n);
    auto p = std::make_shared<WriteReq>(std::move(r));
    Hold([p, n] { p->Respond(n); });
  }

  // Requests held now.
  size_t held() {
    std::lock_guard<std::mutex> l(mu_);
    return held_.size();
  }
  // Answers the `n` oldest held requests.
  void Release(size_t n) {
    std::deque<std::function<void()>> out;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (; n > 0 && !held_.empty(); n--) {
        out.push_back(std::move(held_.front()));
        held_.pop_front();
      }
    }
    for (auto& f : out) f();
  }

 private:
  void Hold(std::function<void()> answer) {
    std::lock_guard<std::mutex> l(mu_);
    held_.push_back(std::move(answer));
  }
  std::mutex mu_;
  std::deque<std::function<void()>> held_;
};

// A Server with the given limits on its own thread.
class LimitsTest : public ::testing::Test {
 protected:
  void Start(const ServerOptions& o) {
    srv_ = std::make_unique<Server>(&fs_, o);
    auto a = srv_->Listen("tcp!127.0.0.1!0");
    ASSERT_TRUE(a.ok()) << a.status().message();
    addr_ = *a;
    thread_ = std::thread([this] { srv_->Run(); });
  }
  void TearDown() override {
    fs_.Release(~size_t{0});
    if (srv_) {
      srv_->Stop();
      thread_.join();
      srv_.reset();
    }
  }
  // A connection that has negotiated `version` and attached fid 0.
  void Open(RawConn* c, std::string_view version = "9P2000") {
    ASSERT_TRUE(c->Connect(addr_).ok());
    auto v = c->Version(64 * 1024, version);
    ASSERT_TRUE(v.ok() && v->type() == kRversion);
    auto a = c->Call(Tattach{0, NOFID, "glenda", "", NONUNAME});
    ASSERT_TRUE(a.ok() && a->type() == kRattach) << (a.ok() ? a->Describe() : "");
  }
  // Twalk of fid to newfid through names.
  static Result<RawReply> Walk(RawConn* c, uint32_t fid, uint32_t newfid,
                               const std::vector<std::string_view>& names = {}) {
    Twalk w{fid, newfid, {}};
    for (auto n : names) w.wname.push_back(n);
    return c->Call(w);
  }
  static uint8_t Type(const Result<RawReply>& r) { return r.ok() ? r->type() : 0; }
  static std::string Text(const Result<RawReply>& r) {
    if (!r.ok()) return "no reply: " + r.status().message();
    return r->Describe();
  }

  LimitFs fs_;
  std::unique_ptr<Server> srv_;
  std::thread thread_;
  std::string addr_;
};

TEST_F(LimitsTest, FidsPerConnection9P2000) {
  ServerOptions o;
  o.max_fids = 8;
  Start(o);
  RawConn c;
  Open(&c);
  for (uint32_t f = 1; f < 8; f++) ASSERT_EQ(kRwalk, Type(Walk(&c, 0, f))) << f;
  // The ninth fid, by walk and by attach: a clear Rerror, nothing created.
  auto r = Walk(&c, 0, 8, {"file"});
  ASSERT_EQ(kRerror, Type(r)) << Text(r);
  EXPECT_EQ("too many fids (the limit is 8 per connection)",
            std::string(std::get<Rerror>(r->msg.body).ename));
  r = c.Call(Tattach{8, NOFID, "glenda", "", NONUNAME});
  ASSERT_EQ(kRerror, Type(r)) << Text(r);
  EXPECT_NE(std::string::npos, std::string(std::get<Rerror>(r->msg.body).ename).find("too many"));
  EXPECT_EQ(kRerror, Type(c.Call(Tstat{8})));  // not created
  // The session goes on: the fids it has still work, and a walk that
  // replaces its own fid needs no room.
  EXPECT_EQ(kRstat, Type(c.Call(Tstat{7})));
  ASSERT_EQ(kRwalk, Type(Walk(&c, 7, 7, {"file"})));
  // A clunk makes room again.
  ASSERT_EQ(kRclunk, Type(c.Call(Tclunk{7})));
  ASSERT_EQ(kRwalk, Type(Walk(&c, 0, 8, {"file"})));
  EXPECT_EQ(kRstat, Type(c.Call(Tstat{8})));
  EXPECT_EQ(kRerror, Type(Walk(&c, 0, 9)));
  // The limit is per connection: another one has its own eight.
  RawConn c2;
  Open(&c2);
  for (uint32_t f = 1; f < 8; f++) ASSERT_EQ(kRwalk, Type(Walk(&c2, 0, f))) << f;
}

TEST_F(LimitsTest, FidsPerConnection9P2000L) {
  ServerOptions o;
  o.max_fids = 4;
  Start(o);
  RawConn c;
  Open(&c, "9P2000.L");
  ASSERT_EQ(Dialect::k9P2000L, c.dialect);
  for (uint32_t f = 1; f < 4; f++) ASSERT_EQ(kRwalk, Type(Walk(&c, 0, f))) << f;
  // Every message that makes a fid gets Rlerror EMFILE at the limit.
  std::vector<Body> makers = {
      Twalk{0, 10, {}},
      Tattach{10, NOFID, "glenda", "", NONUNAME},
      Tauth{10, "glenda", "", NONUNAME},
      Txattrwalk{0, 10, "user.x"},
  };
  for (auto& b : makers) {
    auto r = c.Call(b);
    ASSERT_EQ(kRlerror, Type(r)) << Text(r);
    EXPECT_EQ(static_cast<uint32_t>(EMFILE), std::get<Rlerror>(r->msg.body).ecode) << Text(r);
  }
  EXPECT_EQ(kRgetattr, Type(c.Call(Tgetattr{3, P9_GETATTR_BASIC})));
  ASSERT_EQ(kRclunk, Type(c.Call(Tclunk{3})));
  EXPECT_EQ(kRwalk, Type(Walk(&c, 0, 10)));
}

TEST_F(LimitsTest, ConnectionsPerServer) {
  ServerOptions o;
  o.max_conns = 2;
  Start(o);
  RawConn a, b;
  Open(&a);
  Open(&b);
  ::testing::internal::CaptureStderr();
  // The third is closed at once, before any answer, with one line on stderr.
  RawConn c;
  ASSERT_TRUE(c.Connect(addr_).ok());
  ASSERT_TRUE(c.Send(M(NOTAG, Tversion{8192, "9P2000"})).ok());
  EXPECT_TRUE(c.WaitClosed(5000));
  std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(std::string::npos, log.find("lib9p: refusing connection from tcp!127.0.0.1!")) << log;
  EXPECT_NE(std::string::npos, log.find("already serving 2, the limit")) << log;
  EXPECT_EQ(1u, srv_->stats().refused.load());
  // The server goes on serving the two it has.
  EXPECT_EQ(kRstat, Type(a.Call(Tstat{0})));
  EXPECT_EQ(kRstat, Type(b.Call(Tstat{0})));
  // Once one leaves, a new one is served.
  a.Close();
  ASSERT_TRUE(WaitFor([&] { return srv_->stats().connections.load() == 1; }));
  RawConn d;
  Open(&d);
  EXPECT_EQ(kRstat, Type(d.Call(Tstat{0})));
}

// Requests whose handler has not answered count against max_inflight even
// after a Tversion abandoned them: otherwise Tversion after Tversion would
// pile up work for the file server without bound.
TEST_F(LimitsTest, AbandonedRequestsStillCount) {
  ServerOptions o;
  o.max_inflight = 4;
  Start(o);
  RawConn c;
  Open(&c);
  ASSERT_EQ(kRwalk, Type(Walk(&c, 0, 1, {"hold"})));
  ASSERT_EQ(kRopen, Type(c.Call(Topen{1, OREAD})));
  ASSERT_TRUE(c.SendAll({M(10, Tread{1, 0, 10}), M(11, Tread{1, 0, 10})}).ok());
  ASSERT_TRUE(WaitFor([&] { return fs_.held() == 2; }));
  // Tversion abandons both (no answer will go out for them) ...
  auto v = c.Version(64 * 1024, "9P2000");
  ASSERT_EQ(kRversion, Type(v));
  ASSERT_EQ(kRattach, Type(c.Call(Tattach{0, NOFID, "glenda", "", NONUNAME})));
  ASSERT_EQ(kRwalk, Type(Walk(&c, 0, 1, {"hold"})));
  ASSERT_EQ(kRopen, Type(c.Call(Topen{1, OREAD})));
  // ... but their work is not done, so two more reach the limit of four.
  ASSERT_TRUE(c.SendAll({M(20, Tread{1, 0, 10}), M(21, Tread{1, 0, 10})}).ok());
  ASSERT_TRUE(WaitFor([&] { return fs_.held() == 4; }));
  uint64_t stats_before = srv_->stats().count[kTstat].load();
  ASSERT_TRUE(c.Send(M(30, Tstat{0})).ok());
  // Not read while four are being handled (a broken limit answers at once).
  EXPECT_EQ(ETIMEDOUT, c.Recv(300).status().err());
  EXPECT_EQ(stats_before, srv_->stats().count[kTstat].load());
  // When the abandoned two finish, reading resumes; their answers are
  // dropped, so the Rstat comes next.
  fs_.Release(2);
  auto r = c.Recv();
  ASSERT_EQ(kRstat, Type(r)) << Text(r);
  EXPECT_EQ(30, r->msg.tag);
  fs_.Release(2);
  for (uint16_t tag : {20, 21}) {
    r = c.Recv();
    ASSERT_EQ(kRread, Type(r)) << Text(r);
    EXPECT_EQ(tag, r->msg.tag);
  }
}

// Twrite frames whose data waits in the file server, and the answer buffers
// reserved for Treads, are held to max_inflight_bytes: the peer waits.
TEST_F(LimitsTest, InflightBytes) {
  ServerOptions o;
  o.max_inflight_bytes = 64 * 1024;
  Start(o);
  RawConn c;
  Open(&c);
  ASSERT_EQ(kRwalk, Type(Walk(&c, 0, 1, {"hold"})));
  ASSERT_EQ(kRopen, Type(c.Call(Topen{1, ORDWR})));
  std::vector<uint8_t> data(20 * 1024, 'w');
  std::vector<Message> writes;
  for (uint16_t t = 10; t < 20; t++) writes.push_back(M(t, Twrite{1, 0, data}));
  ASSERT_TRUE(c.SendAll(writes).ok());
  // 4 x 20 KiB passes 64 KiB: the fifth is not read until some finish.
  ASSERT_TRUE(WaitFor([&] { return fs_.held() == 4; }));
  EXPECT_EQ(ETIMEDOUT, c.Recv(300).status().err());
  EXPECT_EQ(4u, fs_.held());
  // Answering lets the rest through, each answered once.
  std::vector<int> seen(20, 0);
  for (int got = 0; got < 10; got++) {
    ASSERT_TRUE(WaitFor([&] { return fs_.held() > 0; }));
    fs_.Release(1);
    auto r = c.Recv();
    ASSERT_EQ(kRwrite, Type(r)) << Text(r);
    seen[r->msg.tag]++;
  }
  for (int t = 10; t < 20; t++) EXPECT_EQ(1, seen[t]) << t;
  // A Tread's answer buffer counts too: 60 KiB reserved each.
  std::vector<Message> reads;
  for (uint16_t t = 40; t < 44; t++) reads.push_back(M(t, Tread{1, 0, 60 * 1024}));
  ASSERT_TRUE(c.SendAll(reads).ok());
  ASSERT_TRUE(WaitFor([&] { return fs_.held() == 2; }));
  EXPECT_EQ(ETIMEDOUT, c.Recv(300).status().err());
  EXPECT_EQ(2u, fs_.held());
  for (int got = 0; got < 4; got++) {
    ASSERT_TRUE(WaitFor([&] { return fs_.held() > 0; }));
    fs_.Release(1);
    ASSERT_EQ(kRread, Type(c.Recv()));
  }
}

// A peer that sends Treads and never reads the answers: the server stops
// reading once max_queued_bytes of answers wait, so what it holds stays
// near that limit plus the sockets' buffers, not the whole flood.
TEST_F(LimitsTest, ReadFloodHeldToQueuedBytes) {
  ServerOptions o;
  o.max_queued_bytes = 1 << 20;
  Start(o);
  RawConn c;
  Open(&c);
  ASSERT_EQ(kRwalk, Type(Walk(&c, 0, 1, {"file"})));
  ASSERT_EQ(kRopen, Type(c.Call(Topen{1, OREAD})));
  constexpr uint32_t kCount = 32 * 1024;
  constexpr int kReads = 8000;  // 250 MiB of answers
  std::vector<Message> reads;
  reads.reserve(kReads);
  for (int i = 0; i < kReads; i++)
    reads.push_back(M(static_cast<uint16_t>(100 + i), Tread{1, 0, kCount}));
  ASSERT_TRUE(c.SendAll(reads).ok());
  ASSERT_TRUE(WaitFor([&] { return srv_->stats().pauses.load() > 0; }));
  // Let the kernel's buffers fill; the server must not go on reading.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  uint64_t served = srv_->stats().count[kTread].load();
  EXPECT_LT(served * kCount, 40ull << 20) << served << " reads answered unread";
  // Reading the answers lets the whole flood through, each tag once.
  std::vector<int> seen(100 + kReads, 0);
  for (int i = 0; i < kReads; i++) {
    auto r = c.Recv();
    ASSERT_EQ(kRread, Type(r)) << Text(r);
    ASSERT_EQ(kCount, std::get<Rread>(r->msg.body).data.size());
    seen[r->msg.tag]++;
  }
  for (int t = 100; t < 100 + kReads; t++) ASSERT_EQ(1, seen[t]) << t;
}

}  // namespace
}  // namespace ninep
