// protocol_test: the session rules that need a request to stay pending
// (Tflush, Tversion aborting work, duplicate tags) against synthsrv's
// blocking pipe, and malformed frames against bin/ramfs. Both dialects.
#include <gtest/gtest.h>

#include "conformance/p9ops.h"
#include "conformance/raw9p.h"
#include "testutil.h"

namespace ninep::testing {
namespace {

constexpr uint32_t kRoot = 1;

std::string SynthSrv() { return std::string(NINEP_TEST_DIR) + "/synthsrv"; }

// Starts synthsrv and returns its address.
std::string StartSynth(Process* p) {
  if (!p->Start({SynthSrv(), "-a", "tcp!127.0.0.1!0"})) return "";
  return p->ReadLine(10000);
}

// Reads a synthsrv text file (stats, fids) on a connection of its own.
std::string ReadText(const std::string& addr, const std::string& name) {
  RawConn c;
  if (!c.Connect(addr).ok()) return "<connect>";
  P9 p(&c);
  if (!p.Start("9P2000", 1).ok()) return "<start>";
  if (!p.Walk(1, 2, {name}).ok() || !p.Open(2, OREAD).ok()) return "<open>";
  Result<std::string> r = p.Read(2, 0, 4096);
  return r.ok() ? *r : "<read>";
}

// Polls a synthsrv text file until it equals want (bounded); returns the
// last value read.
std::string PollText(const std::string& addr, const std::string& name, const std::string& want) {
  std::string got;
  for (int i = 0; i < 500; i++) {
    got = ReadText(addr, name);
    if (got == want) break;
    usleep(10000);
  }
  return got;
}

class Pending : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    addr_ = StartSynth(&srv_);
    ASSERT_FALSE(addr_.empty()) << "synthsrv did not start";
    ASSERT_TRUE(c_.Connect(addr_).ok());
    ASSERT_TRUE(p_.Start(VersionOf(GetParam()), kRoot).ok());
    // fid 2: the pipe, open for reading; fid 3: the pipe, open for writing.
    ASSERT_TRUE(p_.Walk(kRoot, 2, {"pipe"}).ok());
    ASSERT_TRUE(p_.Open(2, OREAD).ok());
    ASSERT_TRUE(p_.Walk(kRoot, 3, {"pipe"}).ok());
    ASSERT_TRUE(p_.Open(3, OWRITE).ok());
  }
  Process srv_;
  std::string addr_;
  RawConn c_;
  P9 p_{&c_};
};

TEST_P(Pending, ReadWaitsForAWriter) {
  ASSERT_TRUE(c_.Send(M(100, Tread{2, 0, 64})).ok());
  // Nothing comes back while the pipe is empty: a stat on the same
  // connection overtakes the read.
  Result<RawReply> st = c_.Rpc(M(101, Tclunk{12345}));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->msg.tag, 101) << "the pending read answered first: " << st->Describe();
  EXPECT_EQ(PollText(addr_, "stats", "pending 1 flushed 0 clunks 0\n"),
            "pending 1 flushed 0 clunks 0\n");
  ASSERT_TRUE(c_.Send(M(102, Twrite{3, 0, {reinterpret_cast<const uint8_t*>("ping"), 4}})).ok());
  bool got_read = false, got_write = false;
  for (int i = 0; i < 2; i++) {
    Result<RawReply> r = c_.Recv();
    ASSERT_TRUE(r.ok()) << r.status().message();
    if (r->msg.tag == 100) {
      ASSERT_EQ(r->type(), kRread) << r->Describe();
      auto d = std::get<Rread>(r->msg.body).data;
      EXPECT_EQ(std::string(d.begin(), d.end()), "ping");
      got_read = true;
    } else {
      EXPECT_EQ(r->msg.tag, 102);
      got_write = true;
    }
  }
  EXPECT_TRUE(got_read && got_write);
}

TEST_P(Pending, FlushOfAPendingReadAnswersRflushAndNothingAfter) {
  ASSERT_TRUE(c_.Send(M(200, Tread{2, 0, 64})).ok());
  ASSERT_TRUE(c_.Send(M(201, Tflush{200})).ok());
  // Either the read's error and then Rflush, or Rflush alone; never the
  // read's answer after Rflush.
  bool flushed = false;
  for (int i = 0; i < 2 && !flushed; i++) {
    Result<RawReply> r = c_.Recv();
    ASSERT_TRUE(r.ok()) << r.status().message();
    if (r->msg.tag == 201) {
      EXPECT_EQ(r->type(), kRflush);
      flushed = true;
    } else {
      EXPECT_EQ(r->msg.tag, 200);
      EXPECT_TRUE(r->IsError()) << "a flushed read got data: " << r->Describe();
    }
  }
  ASSERT_TRUE(flushed);
  // Data written now must not go to the flushed read: a new read gets it.
  ASSERT_TRUE(p_.Write(3, 0, "late").ok());
  Result<RawReply> r = c_.Rpc(M(202, Tread{2, 0, 64}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->msg.tag, 202) << "the flushed tag was answered after Rflush: " << r->Describe();
  ASSERT_EQ(r->type(), kRread);
  auto d = std::get<Rread>(r->msg.body).data;
  EXPECT_EQ(std::string(d.begin(), d.end()), "late");
  EXPECT_EQ(ReadText(addr_, "stats"), "pending 0 flushed 1 clunks 0\n");
}

TEST_P(Pending, DuplicateTagIsAnErrorAndTheFirstRequestStands) {
  ASSERT_TRUE(c_.Send(M(300, Tread{2, 0, 64})).ok());
  Result<RawReply> dup = c_.Rpc(M(300, Tstat{kRoot}));
  ASSERT_TRUE(dup.ok());
  EXPECT_EQ(dup->msg.tag, 300);
  EXPECT_TRUE(dup->IsError()) << "duplicate tag accepted: " << dup->Describe();
  ASSERT_TRUE(c_.Send(M(301, Twrite{3, 0, {reinterpret_cast<const uint8_t*>("x"), 1}})).ok());
  bool read_done = false;
  for (int i = 0; i < 2; i++) {
    Result<RawReply> r = c_.Recv();
    ASSERT_TRUE(r.ok());
    if (r->msg.tag == 300) {
      EXPECT_EQ(r->type(), kRread) << r->Describe();
      read_done = true;
    }
  }
  EXPECT_TRUE(read_done);
}

TEST_P(Pending, VersionAbortsPendingWorkAndClunksFids) {
  std::string base = ReadText(addr_, "fids");
  ASSERT_TRUE(c_.Send(M(400, Tread{2, 0, 64})).ok());
  EXPECT_EQ(PollText(addr_, "stats", "pending 1 flushed 0 clunks 0\n"),
            "pending 1 flushed 0 clunks 0\n");
  Result<RawReply> v = c_.Version(65536, VersionOf(GetParam()));
  // The aborted read may or may not be answered before Rversion.
  while (v.ok() && v->type() != kRversion) v = c_.Recv();
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(PollText(addr_, "stats", "pending 0 flushed 1 clunks 2\n"),
            "pending 0 flushed 1 clunks 2\n");
  EXPECT_EQ(p_.Stat(2).status().err(), EBADF);
  // No fid of this connection remains: only the reader's own two (its root
  // and `fids`) are counted.
  EXPECT_EQ(PollText(addr_, "fids", "2\n"), "2\n") << "was " << base;
}

TEST_P(Pending, DisconnectMidRequestReleasesEverything) {
  ASSERT_TRUE(c_.Send(M(500, Tread{2, 0, 64})).ok());
  for (uint32_t f = 10; f < 20; f++) ASSERT_TRUE(p_.Walk(kRoot, f, {"version"}).ok());
  EXPECT_EQ(PollText(addr_, "stats", "pending 1 flushed 0 clunks 0\n"),
            "pending 1 flushed 0 clunks 0\n");
  c_.Close();
  // The pending read is flushed, both pipe fids clunked, and no fid of the
  // dead connection remains (the reader of `fids` holds its own two only
  // while reading, then hangs up).
  EXPECT_EQ(PollText(addr_, "stats", "pending 0 flushed 1 clunks 2\n"),
            "pending 0 flushed 1 clunks 2\n");
  EXPECT_EQ(PollText(addr_, "fids", "2\n"), "2\n");
}

TEST_P(Pending, FlushOfTheFlushItselfIsHarmless) {
  // A Tflush naming its own tag has nothing to wait for.
  Result<RawReply> r = c_.Rpc(M(600, Tflush{600}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type(), kRflush);
  // Two flushes of one pending read: both answered.
  ASSERT_TRUE(c_.SendAll({M(601, Tread{2, 0, 8}), M(602, Tflush{601}), M(603, Tflush{601})}).ok());
  int rflush = 0;
  for (int i = 0; i < 3 && rflush < 2; i++) {
    Result<RawReply> x = c_.Recv();
    ASSERT_TRUE(x.ok()) << x.status().message();
    if (x->type() == kRflush) rflush++;
  }
  EXPECT_EQ(rflush, 2);
}

INSTANTIATE_TEST_SUITE_P(Dialects, Pending, ::testing::Values(Dialect::k9P2000, Dialect::k9P2000L),
                         [](const auto& i) { return DialectName(i.param); });

// ---- Malformed frames -----------------------------------------------------------

// Little-endian frame builder.
struct Frame {
  std::vector<uint8_t> b;
  Frame& u8(uint8_t v) { return b.push_back(v), *this; }
  Frame& u16(uint16_t v) { return u8(v & 0xff).u8(v >> 8); }
  Frame& u32(uint32_t v) { return u16(v & 0xffff).u16(v >> 16); }
  Frame& u64(uint64_t v) { return u32(v & 0xffffffff).u32(v >> 32); }
  Frame& str(std::string_view s) {
    u16(s.size());
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  // Prepends size[4] as the real length plus `delta`.
  std::vector<uint8_t> Done(int delta = 0) {
    std::vector<uint8_t> out;
    uint32_t n = b.size() + 4 + delta;
    out.reserve(4 + b.size());
    for (int i = 0; i < 4; i++) out.push_back(n >> (8 * i));
    out.insert(out.end(), b.begin(), b.end());
    return out;
  }
};

class Malformed : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    addr_ = StartServer(&srv_, "ramfs", {});
    ASSERT_FALSE(addr_.empty());
  }
  Process srv_;
  std::string addr_;
};

TEST_P(Malformed, BadFramesGetAnErrorOrACloseAndTheServerLivesOn) {
  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
  };
  std::vector<Case> cases = {
      {"unknown type", Frame().u8(250).u16(1).Done()},
      {"Rversion sent to a server", Frame().u8(kRversion).u16(2).u32(8192).str("9P2000").Done()},
      {"string past the end", Frame().u8(kTwalk).u16(3).u32(1).u32(2).u16(1).u16(500).Done()},
      {"trailing garbage", Frame().u8(kTclunk).u16(4).u32(1).u32(0xdead).Done()},
      {"short Tread", Frame().u8(kTread).u16(5).u32(1).u32(0).Done()},
      {"nwname 17 with no names", Frame().u8(kTwalk).u16(6).u32(1).u32(2).u16(17).Done()},
      {"Twstat stat size lies", Frame().u8(kTwstat).u16(7).u32(1).u16(2).u16(900).Done()},
      {"Twrite count past the end",
       Frame().u8(kTwrite).u16(8).u32(1).u64(0).u32(1000).u8('x').Done()},
      {"Tattach uname cut", Frame().u8(kTattach).u16(9).u32(2).u32(NOFID).u16(10).u8('a').Done()},
  };
  for (auto& k : cases) {
    SCOPED_TRACE(k.what);
    RawConn c;
    ASSERT_TRUE(c.Connect(addr_).ok());
    P9 p(&c);
    ASSERT_TRUE(p.Start(VersionOf(GetParam()), kRoot).ok());
    ASSERT_TRUE(c.SendBytes(k.bytes).ok());
    Result<RawReply> r = c.Recv(5000);
    if (r.ok()) {
      EXPECT_TRUE(r->IsError()) << "accepted: " << r->Describe();
      // The session survives an answered bad frame.
      EXPECT_TRUE(p.Stat(kRoot).ok());
    } else {
      EXPECT_EQ(r.status().err(), ECONNRESET) << r.status().message();
    }
  }
  // Frames whose size cannot be trusted end the connection: smaller than a
  // header, or larger than msize.
  for (auto bytes : {std::vector<uint8_t>{3, 0, 0, 0}, Frame().u8(kTclunk).u16(1).Done(1 << 24)}) {
    RawConn c;
    ASSERT_TRUE(c.Connect(addr_).ok());
    P9 p(&c);
    ASSERT_TRUE(p.Start(VersionOf(GetParam()), kRoot, 8192).ok());
    ASSERT_TRUE(c.SendBytes(bytes).ok());
    EXPECT_TRUE(c.WaitClosed(5000)) << "a frame of size " << PeekSize(bytes.data());
  }
  // The server still serves new connections.
  RawConn c;
  ASSERT_TRUE(c.Connect(addr_).ok());
  P9 p(&c);
  ASSERT_TRUE(p.Start(VersionOf(GetParam()), kRoot).ok());
  EXPECT_TRUE(p.Stat(kRoot).ok());
}

INSTANTIATE_TEST_SUITE_P(Dialects, Malformed,
                         ::testing::Values(Dialect::k9P2000, Dialect::k9P2000L),
                         [](const auto& i) { return DialectName(i.param); });

}  // namespace
}  // namespace ninep::testing
