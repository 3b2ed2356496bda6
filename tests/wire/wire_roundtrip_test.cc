// wire_roundtrip_test.cc: every message type encodes, decodes back equal,
// and EncodedSize predicts the bytes, in both dialects; plus the encoder's
// limits and the dialect rules.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <string>

#include "ninep/wire.h"
#include "samples.h"

namespace ninep {
namespace {

using testing::SampleMessages;

std::vector<uint8_t> MustEncode(const Message& m, Dialect d) {
  std::vector<uint8_t> buf;
  Status s = Encode(m, d, &buf);
  EXPECT_TRUE(s.ok()) << FormatMessage(m) << ": " << s.message();
  return buf;
}

void RoundTrip(Dialect d) {
  for (const Message& m : SampleMessages(d)) {
    SCOPED_TRACE(FormatMessage(m));
    std::vector<uint8_t> buf = MustEncode(m, d);
    EXPECT_EQ(buf.size(), EncodedSize(m, d));
    ASSERT_GE(buf.size(), HDRSZ);
    EXPECT_EQ(PeekSize(buf.data()), buf.size());
    EXPECT_EQ(buf[4], m.type());
    Message got;
    Status s = Decode(buf, d, &got);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(got, m) << "decoded: " << FormatMessage(got);
    EXPECT_EQ(got.type(), m.type());
  }
}

TEST(WireRoundTrip, Every9P2000Message) { RoundTrip(Dialect::k9P2000); }
TEST(WireRoundTrip, Every9P2000LMessage) { RoundTrip(Dialect::k9P2000L); }

// The samples cover every alternative of Body (in .L), and every
// alternative that is not .L-only in 9P2000.
TEST(WireRoundTrip, SamplesCoverEveryBodyAlternative) {
  std::set<size_t> seen_l, seen_u, base;
  for (const Message& m : SampleMessages(Dialect::k9P2000L)) {
    seen_l.insert(m.body.index());
    if (m.type() >= 100 || m.type() == kRlerror) base.insert(m.body.index());
  }
  for (const Message& m : SampleMessages(Dialect::k9P2000)) seen_u.insert(m.body.index());
  EXPECT_EQ(seen_l.size(), std::variant_size_v<Body>);
  EXPECT_EQ(seen_u, base);
  EXPECT_EQ(base.size(), 28u);  // the 27 messages of 9P2000, and Rlerror
}

TEST(WireRoundTrip, DotLOnlyMessagesRejectedIn9P2000) {
  int checked = 0;
  for (const Message& m : SampleMessages(Dialect::k9P2000L)) {
    if (m.type() >= 100 || m.type() == kRlerror) continue;
    std::vector<uint8_t> buf = MustEncode(m, Dialect::k9P2000L);
    Message got;
    Status s = Decode(buf, Dialect::k9P2000, &got);
    EXPECT_EQ(s.err(), EPROTO) << FormatMessage(m);
    EXPECT_EQ(s.message(), "message type " + std::string(MsgTypeName(m.type())) + " not in 9P2000");
    checked++;
  }
  EXPECT_GE(checked, 38);
}

TEST(WireRoundTrip, ErrorsDecodeInEitherDialect) {
  for (Dialect d : {Dialect::k9P2000, Dialect::k9P2000L}) {
    for (Body b : {Body(Rerror{"permission denied"}), Body(Rlerror{13})}) {
      Message m{9, b};
      std::vector<uint8_t> buf = MustEncode(m, d == Dialect::k9P2000 ? Dialect::k9P2000L : d);
      Message got;
      ASSERT_TRUE(Decode(buf, d, &got).ok());
      EXPECT_EQ(got, m);
    }
  }
}

// n_uname is on the wire only in 9P2000.L: 4 bytes longer there.
TEST(WireRoundTrip, NunameOnlyInDotL) {
  Message m{1, Tattach{0, NOFID, "u", "", 55}};
  EXPECT_EQ(EncodedSize(m, Dialect::k9P2000L), EncodedSize(m, Dialect::k9P2000) + 4);
  std::vector<uint8_t> buf = MustEncode(m, Dialect::k9P2000);
  Message got;
  ASSERT_TRUE(Decode(buf, Dialect::k9P2000, &got).ok());
  EXPECT_EQ(std::get<Tattach>(got.body).n_uname, NONUNAME);
  buf = MustEncode(m, Dialect::k9P2000L);
  ASSERT_TRUE(Decode(buf, Dialect::k9P2000L, &got).ok());
  EXPECT_EQ(std::get<Tattach>(got.body).n_uname, 55u);
}

// Very old clients send Tfsync with fid only; it decodes with datasync 0.
TEST(WireRoundTrip, TfsyncWithoutDatasync) {
  const uint8_t frame[] = {11, 0, 0, 0, kTfsync, 1, 0, 9, 0, 0, 0};
  Message got;
  Status s = Decode(frame, Dialect::k9P2000L, &got);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(got, (Message{1, Tfsync{9, 0}}));
}

TEST(WireRoundTrip, EncodeAppendsAndFailureLeavesBufferAlone) {
  std::vector<uint8_t> buf;
  ASSERT_TRUE(Encode(Message{1, Tclunk{1}}, Dialect::k9P2000, &buf).ok());
  ASSERT_TRUE(Encode(Message{2, Tclunk{2}}, Dialect::k9P2000, &buf).ok());
  ASSERT_EQ(buf.size(), 22u);
  Message got;
  ASSERT_TRUE(Decode(std::span(buf).subspan(11), Dialect::k9P2000, &got).ok());
  EXPECT_EQ(got, (Message{2, Tclunk{2}}));

  std::string big(65536, 'x');
  Status s = Encode(Message{3, Rerror{big}}, Dialect::k9P2000, &buf);
  EXPECT_EQ(s.err(), EMSGSIZE);
  EXPECT_EQ(s.message(), "Rerror: ename 65536 > 65535");
  EXPECT_EQ(buf.size(), 22u);
}

TEST(WireRoundTrip, LongestStringFits) {
  std::string big(65535, 'y');
  Message m{3, Rerror{big}};
  std::vector<uint8_t> buf = MustEncode(m, Dialect::k9P2000);
  EXPECT_EQ(buf.size(), 7u + 2 + 65535);
  Message got;
  ASSERT_TRUE(Decode(buf, Dialect::k9P2000, &got).ok());
  EXPECT_EQ(got, m);
}

TEST(WireRoundTrip, EncodeRejectsUnrepresentable) {
  std::vector<uint8_t> buf;
  Twalk w{1, 2, {}};
  w.wname.n = MAXWELEM + 1;  // a caller bypassing push_back
  Status s = Encode(Message{1, w}, Dialect::k9P2000, &buf);
  EXPECT_EQ(s.err(), EMSGSIZE);
  EXPECT_EQ(s.message(), "Twalk: nwname 17 > 16");

  Rwalk rw;
  rw.wqid.n = 20;
  s = Encode(Message{1, rw}, Dialect::k9P2000, &buf);
  EXPECT_EQ(s.message(), "Rwalk: nwqid 20 > 16");

  Twalk w2{1, 2, {}};
  std::string big(70000, 'z');
  w2.wname.push_back("ok");
  w2.wname.push_back(big);
  s = Encode(Message{1, w2}, Dialect::k9P2000, &buf);
  EXPECT_EQ(s.message(), "Twalk: wname[1] 70000 > 65535");

  // A stat whose strings together overflow n[2].
  std::string half(40000, 'h');
  Stat st;
  st.name = half;
  st.uid = half;
  s = Encode(Message{1, Rstat{st}}, Dialect::k9P2000, &buf);
  EXPECT_EQ(s.err(), EMSGSIZE);
  EXPECT_NE(s.message().find("Rstat: n "), std::string::npos) << s.message();
  EXPECT_TRUE(buf.empty());
}

TEST(WireRoundTrip, BigPayload) {
  std::vector<uint8_t> data(512 * 1024);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * 7);
  Message m{7, Rread{data}};
  std::vector<uint8_t> buf = MustEncode(m, Dialect::k9P2000);
  EXPECT_EQ(buf.size(), 7u + 4 + data.size());
  Message got;
  ASSERT_TRUE(Decode(buf, Dialect::k9P2000, &got).ok());
  EXPECT_EQ(got, m);
  // The decoded payload is a view into the frame, not a copy.
  EXPECT_EQ(std::get<Rread>(got.body).data.data(), buf.data() + 11);
}

// The encoder copies payloads backward when the destination sits a few
// bytes past the source modulo 4 KiB (a slow case of forward copies); the
// bytes must come out the same whatever the layout and length.
TEST(WireRoundTrip, PayloadCopyAtEveryPageOffset) {
  std::vector<uint8_t> pool(3 * 8192 + 4096);
  for (size_t i = 0; i < pool.size(); i++) pool[i] = static_cast<uint8_t>(i * 13 + 5);
  std::vector<uint8_t> out;
  out.reserve(8192 + 64);
  for (size_t len : {255, 256, 257, 1000, 4096, 8192}) {
    for (size_t delta : {0, 1, 11, 27, 63, 64, 100}) {
      // Pick the source so that (payload destination - source) % 4096 == delta.
      const uintptr_t dst = reinterpret_cast<uintptr_t>(out.data()) + 11;
      const uintptr_t base = reinterpret_cast<uintptr_t>(pool.data()) + 4096;
      const size_t off = (dst - delta - base) & 4095;
      std::span<const uint8_t> data(pool.data() + 4096 + off, len);
      out.clear();
      ASSERT_TRUE(Encode(Message{1, Rread{data}}, Dialect::k9P2000, &out).ok());
      ASSERT_EQ(out.size(), 11 + len);
      EXPECT_TRUE(std::equal(data.begin(), data.end(), out.begin() + 11))
          << "len " << len << " delta " << delta;
    }
  }
}

TEST(WireRoundTrip, PayloadEqualityComparesBytes) {
  const uint8_t a[] = {1, 2, 3}, b[] = {1, 2, 3}, c[] = {1, 2, 4};
  EXPECT_EQ(Rread{a}, Rread{b});
  EXPECT_FALSE(Rread{a} == Rread{c});
  EXPECT_EQ((Twrite{1, 2, a}), (Twrite{1, 2, b}));
  EXPECT_FALSE((Twrite{1, 3, a}) == (Twrite{1, 2, b}));
  EXPECT_FALSE((Twrite{2, 2, a}) == (Twrite{1, 2, b}));
  EXPECT_EQ(Rreaddir{a}, Rreaddir{b});
  EXPECT_FALSE(Rreaddir{a} == Rreaddir{std::span<const uint8_t>(a, 2)});
}

TEST(WireRoundTrip, MsgTypeNames) {
  EXPECT_EQ(MsgTypeName(kTwalk), "Twalk");
  EXPECT_EQ(MsgTypeName(kRlerror), "Rlerror");
  EXPECT_EQ(MsgTypeName(kTunlinkat), "Tunlinkat");
  EXPECT_EQ(MsgTypeName(99), "T?99");
  EXPECT_EQ(MsgTypeName(106), "T?106");
  EXPECT_EQ(MsgTypeName(255), "T?255");
  for (const Message& m : SampleMessages(Dialect::k9P2000L)) {
    std::string_view n = MsgTypeName(m.type());
    ASSERT_GE(n.size(), 5u);
    EXPECT_EQ(n[0], m.type() % 2 ? 'R' : 'T') << n;
  }
}

TEST(WireRoundTrip, NullStatMeansLeaveUnchanged) {
  Stat s = NullStat();
  EXPECT_EQ(s.type, 0xFFFF);
  EXPECT_EQ(s.dev, 0xFFFFFFFFu);
  EXPECT_EQ(s.qid.type, 0xFF);
  EXPECT_EQ(s.qid.version, 0xFFFFFFFFu);
  EXPECT_EQ(s.qid.path, ~uint64_t{0});
  EXPECT_EQ(s.mode, 0xFFFFFFFFu);
  EXPECT_EQ(s.atime, 0xFFFFFFFFu);
  EXPECT_EQ(s.mtime, 0xFFFFFFFFu);
  EXPECT_EQ(s.length, ~uint64_t{0});
  EXPECT_TRUE(s.name.empty() && s.uid.empty() && s.gid.empty() && s.muid.empty());
  EXPECT_EQ(StatSize(s), 49u);
}

}  // namespace
}  // namespace ninep
