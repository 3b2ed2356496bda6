// concurrency_test: many requests on one connection (answered exactly once,
// out of order where the server allows), many connections at once with the
// lib9p client, and clients that vanish mid-request.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "conformance/p9ops.h"
#include "conformance/raw9p.h"
#include "ninep/client.h"
#include "testutil.h"

namespace ninep::testing {
namespace {

constexpr uint32_t kRoot = 1;

std::string StartSynth(Process* p) {
  if (!p->Start({std::string(NINEP_TEST_DIR) + "/synthsrv", "-a", "tcp!127.0.0.1!0"})) return "";
  return p->ReadLine(10000);
}

class OneConnection : public ::testing::TestWithParam<Dialect> {};

TEST_P(OneConnection, ThousandOutstandingRequestsAllAnsweredOnce) {
  Process srv;
  std::string addr = StartServer(&srv, "ramfs", {});
  ASSERT_FALSE(addr.empty());
  RawConn c;
  ASSERT_TRUE(c.Connect(addr).ok());
  P9 p(&c);
  ASSERT_TRUE(p.Start(VersionOf(GetParam()), kRoot).ok());
  ASSERT_TRUE(p.Walk(kRoot, 2, {}).ok());
  ASSERT_TRUE(p.Create(2, "f", 0644, ORDWR).ok());
  ASSERT_TRUE(p.Write(2, 0, "0123456789").ok());
  // 1,000 requests in one write: reads at every offset, stats, walks.
  std::vector<Message> batch;
  for (uint16_t tag = 1; tag <= 1000; tag++) {
    switch (tag % 3) {
      case 0:
        batch.push_back(M(tag, Tread{2, tag % 10u, 4}));
        break;
      case 1:
        batch.push_back(p.L() ? M(tag, Tgetattr{kRoot, P9_GETATTR_BASIC}) : M(tag, Tstat{kRoot}));
        break;
      default: {
        WalkArray<std::string_view> names;
        names.push_back("f");
        batch.push_back(M(tag, Twalk{kRoot, 10000u + tag, names}));
      }
    }
  }
  ASSERT_TRUE(c.SendAll(batch).ok());
  std::map<uint16_t, int> seen;
  for (int i = 0; i < 1000; i++) {
    Result<RawReply> r = c.Recv(20000);
    ASSERT_TRUE(r.ok()) << "after " << i << " replies: " << r.status().message();
    uint16_t tag = r->msg.tag;
    ASSERT_GE(tag, 1);
    ASSERT_LE(tag, 1000);
    seen[tag]++;
    ASSERT_FALSE(r->IsError()) << "tag " << tag << ": " << r->Describe();
    if (tag % 3 == 0) {
      auto d = std::get<Rread>(r->msg.body).data;
      EXPECT_EQ(std::string(d.begin(), d.end()), std::string("0123456789").substr(tag % 10, 4));
    }
  }
  EXPECT_EQ(seen.size(), 1000u);
  for (auto& [tag, n] : seen) EXPECT_EQ(n, 1) << "tag " << tag;
  // Every walk made its fid.
  EXPECT_TRUE(p.Stat(10002).ok());
  EXPECT_TRUE(p.Stat(10998).ok());
}

TEST_P(OneConnection, ThousandOutstandingAnsweredOutOfOrder) {
  Process srv;
  std::string addr = StartSynth(&srv);
  ASSERT_FALSE(addr.empty());
  RawConn c;
  ASSERT_TRUE(c.Connect(addr).ok());
  P9 p(&c);
  ASSERT_TRUE(p.Start(VersionOf(GetParam()), kRoot).ok());
  ASSERT_TRUE(p.Walk(kRoot, 2, {"delay"}).ok());
  ASSERT_TRUE(p.Open(2, OREAD).ok());
  // A read at offset D is answered after D ms: the first 500 sent wait
  // longest, so they come back last.
  std::vector<Message> batch;
  std::map<uint16_t, uint64_t> delay;
  for (uint16_t tag = 1; tag <= 1000; tag++) {
    delay[tag] = tag <= 500 ? 60 + tag % 7 : tag % 5;
    batch.push_back(M(tag, Tread{2, delay[tag], 16}));
  }
  ASSERT_TRUE(c.SendAll(batch).ok());
  std::vector<uint16_t> order;
  std::set<uint16_t> seen;
  for (int i = 0; i < 1000; i++) {
    Result<RawReply> r = c.Recv(20000);
    ASSERT_TRUE(r.ok()) << "after " << i << " replies: " << r.status().message();
    uint16_t tag = r->msg.tag;
    ASSERT_EQ(r->type(), kRread) << r->Describe();
    ASSERT_TRUE(seen.insert(tag).second) << "tag " << tag << " answered twice";
    auto d = std::get<Rread>(r->msg.body).data;
    EXPECT_EQ(std::string(d.begin(), d.end()), std::to_string(delay[tag])) << "tag " << tag;
    order.push_back(tag);
  }
  EXPECT_EQ(seen.size(), 1000u);
  // Out of order: the later, shorter reads overtook the earlier ones.
  EXPECT_GT(order.front(), 500);
  EXPECT_LE(order.back(), 500);
}

INSTANTIATE_TEST_SUITE_P(Dialects, OneConnection,
                         ::testing::Values(Dialect::k9P2000, Dialect::k9P2000L),
                         [](const auto& i) { return DialectName(i.param); });

TEST(ManyConnections, TwoHundredClientsAtOnce) {
  Process srv;
  std::string addr = StartServer(&srv, "ramfs", {});
  ASSERT_FALSE(addr.empty());
  constexpr int kClients = 200;
  std::atomic<int> ok{0};
  std::vector<std::string> errors(kClients);
  std::vector<std::thread> threads;
  threads.reserve(kClients);
  for (int i = 0; i < kClients; i++) {
    threads.emplace_back([&, i] {
      ClientOptions o;
      o.dialect = i % 2 ? Dialect::k9P2000L : Dialect::k9P2000;
      o.call_timeout = std::chrono::milliseconds(30000);
      auto fail = [&](const std::string& what, const Status& s) {
        errors[i] = what + ": " + s.message();
      };
      auto c = Client::Connect(addr, o);
      if (!c.ok()) return fail("connect", c.status());
      Result<Fid> root = (*c)->Attach("user" + std::to_string(i), "");
      if (!root.ok()) return fail("attach", root.status());
      Result<Fid> f = root->Walk("");
      if (!f.ok()) return fail("walk", f.status());
      std::string name = "c" + std::to_string(i);
      std::string data = "client " + std::to_string(i) + " was here";
      if (Status s = f->Create(name, 0644, ORDWR); !s.ok()) return fail("create", s);
      auto w = f->Write(0, {reinterpret_cast<const uint8_t*>(data.data()), data.size()});
      if (!w.ok()) return fail("write", w.status());
      std::vector<uint8_t> buf(100);
      auto r = f->Read(0, buf);
      if (!r.ok()) return fail("read", r.status());
      if (std::string(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*r)) != data)
        return fail("read", Status(EIO, "wrong data"));
      if (Status s = f->Clunk(); !s.ok()) return fail("clunk", s);
      if (Status s = root->Clunk(); !s.ok()) return fail("clunk root", s);
      ok++;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; i++) EXPECT_EQ(errors[i], "") << "client " << i;
  EXPECT_EQ(ok.load(), kClients);
  // Everything they made is there.
  auto c = Client::Connect(addr, {});
  ASSERT_TRUE(c.ok()) << c.status().message();
  Result<Fid> root = (*c)->Attach("check", "");
  ASSERT_TRUE(root.ok());
  Result<Fid> d = root->Walk("");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->Open(OREAD).ok());
  Result<std::vector<Dir>> list = d->ReadDir();
  ASSERT_TRUE(list.ok());
  std::set<std::string> names;
  for (auto& e : *list) names.insert(e.name);
  EXPECT_EQ(names.size(), static_cast<size_t>(kClients));
  EXPECT_TRUE(names.count("c0") && names.count("c199"));
}

TEST(Disconnect, ClientVanishingMidRequestReleasesItsFids) {
  Process srv;
  std::string addr = StartServer(&srv, "ramfs", {});
  ASSERT_FALSE(addr.empty());
  for (int round = 0; round < 5; round++) {
    RawConn c;
    ASSERT_TRUE(c.Connect(addr).ok());
    P9 p(&c);
    ASSERT_TRUE(p.Start(round % 2 ? "9P2000.L" : "9P2000", kRoot).ok());
    // A file that lives only while a fid is open: ORCLOSE, so on a 9P2000
    // connection of its own.
    RawConn c9;
    ASSERT_TRUE(c9.Connect(addr).ok());
    P9 p9(&c9);
    ASSERT_TRUE(p9.Start("9P2000", kRoot).ok());
    ASSERT_TRUE(p9.Walk(kRoot, 2, {}).ok());
    std::string tmp = "tmp" + std::to_string(round);
    ASSERT_TRUE(p9.Create(2, tmp, 0644, ORDWR | ORCLOSE).ok());
    // Leave a heap of requests unread on both connections, then hang up.
    std::vector<Message> batch;
    for (uint16_t tag = 1; tag <= 200; tag++) batch.push_back(M(tag, Tread{2, 0, 8192}));
    ASSERT_TRUE(c9.SendAll(batch).ok());
    WalkArray<std::string_view> names;
    names.push_back(tmp);
    std::vector<Message> b2;
    for (uint16_t tag = 1; tag <= 200; tag++) b2.push_back(M(tag, Twalk{kRoot, 100u + tag, names}));
    ASSERT_TRUE(c.SendAll(b2).ok());
    c9.Close();
    c.Close();
    // The server clunks the ORCLOSE fid, so the file goes away.
    RawConn check;
    ASSERT_TRUE(check.Connect(addr).ok());
    P9 pc(&check);
    ASSERT_TRUE(pc.Start("9P2000", kRoot).ok());
    Status gone;
    for (int i = 0; i < 500; i++) {
      gone = pc.Walk(kRoot, 2, {tmp}).status();
      if (gone.err() == ENOENT) break;
      if (gone.ok()) {
        EXPECT_TRUE(pc.Clunk(2).ok());
      }
      usleep(10000);
    }
    EXPECT_EQ(gone.err(), ENOENT) << "round " << round << ": the dropped fid was never clunked";
  }
}

}  // namespace
}  // namespace ninep::testing
