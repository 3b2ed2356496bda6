// wire_malformed_test.cc: a table of malformed frames, each rejected with
// the expected errno and a reason naming the message and field. Frames are
// built with a little writer so the one broken field stands out.
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "ninep/wire.h"

namespace ninep {
namespace {

// Little-endian byte builder.
struct B {
  std::vector<uint8_t> b;
  B& u8(uint8_t v) {
    b.push_back(v);
    return *this;
  }
  B& u16(uint16_t v) { return u8(v & 0xff).u8(v >> 8); }
  B& u32(uint32_t v) { return u16(v & 0xffff).u16(v >> 16); }
  B& u64(uint64_t v) { return u32(static_cast<uint32_t>(v)).u32(v >> 32); }
  B& str(std::string_view s) {
    u16(static_cast<uint16_t>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  B& raw(std::string_view s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  B& qid() { return u8(0).u32(0).u64(1); }
  // A stat entry whose size[2] is `size` (or the true size when ~0).
  B& stat(std::string_view name, uint32_t size = ~0u) {
    B f;
    f.u16(0).u32(0).qid().u32(0644).u32(0).u32(0).u64(0).str(name).str("u").str("g").str("");
    u16(size == ~0u ? static_cast<uint16_t>(f.b.size()) : static_cast<uint16_t>(size));
    b.insert(b.end(), f.b.begin(), f.b.end());
    return *this;
  }
};

// A frame with a correct size field.
std::vector<uint8_t> Frame(uint8_t type, const B& body, uint16_t tag = 1) {
  B f;
  f.u32(static_cast<uint32_t>(HDRSZ + body.b.size())).u8(type).u16(tag);
  f.b.insert(f.b.end(), body.b.begin(), body.b.end());
  return f.b;
}

// A frame whose size field says `size` whatever its length.
std::vector<uint8_t> WithSize(std::vector<uint8_t> f, uint32_t size) {
  f[0] = size & 0xff;
  f[1] = (size >> 8) & 0xff;
  f[2] = (size >> 16) & 0xff;
  f[3] = size >> 24;
  return f;
}

struct Bad {
  const char* what;
  Dialect dialect;
  std::vector<uint8_t> frame;
  int err;
  std::string reason;  // expected message, exactly
};

constexpr Dialect k9P = Dialect::k9P2000, kL = Dialect::k9P2000L;

std::vector<Bad> Table() {
  std::vector<Bad> t;
  t.push_back({"empty", k9P, {}, EBADMSG, "frame: 0 bytes < 7-byte header"});
  t.push_back(
      {"short header", k9P, {6, 0, 0, 0, 120, 1}, EBADMSG, "frame: 6 bytes < 7-byte header"});
  t.push_back({"size field too big", k9P, WithSize(Frame(kTclunk, B().u32(1)), 12), EBADMSG,
               "frame: size field 12 != frame length 11"});
  t.push_back({"size field too small", k9P, WithSize(Frame(kTclunk, B().u32(1)), 7), EBADMSG,
               "frame: size field 7 != frame length 11"});
  t.push_back({"size field huge", k9P, WithSize(Frame(kTclunk, B().u32(1)), 0xffffffff), EBADMSG,
               "frame: size field 4294967295 != frame length 11"});
  t.push_back({"unknown type", k9P, Frame(99, B()), EPROTO, "unknown message type 99"});
  t.push_back({"Terror is never sent", k9P, Frame(106, B()), EPROTO, "unknown message type 106"});
  t.push_back({"Tlerror is never sent", kL, Frame(6, B()), EPROTO, "unknown message type 6"});
  t.push_back({"Tlopen in 9P2000", k9P, Frame(kTlopen, B().u32(1).u32(0)), EPROTO,
               "message type Tlopen not in 9P2000"});
  t.push_back({"Rreaddir in 9P2000", k9P, Frame(kRreaddir, B().u32(0)), EPROTO,
               "message type Rreaddir not in 9P2000"});
  t.push_back({"Tversion msize cut", k9P, Frame(kTversion, B().u16(0)), EBADMSG,
               "Tversion: msize: need 4 bytes, 2 left"});
  t.push_back({"Tversion string past end", k9P,
               Frame(kTversion, B().u32(8192).u16(300).raw("9P2000")), EBADMSG,
               "Tversion: version: string length 300 > 6 bytes left"});
  t.push_back({"Tversion string length cut", k9P, Frame(kTversion, B().u32(8192).u8(6)), EBADMSG,
               "Tversion: version: need 2 bytes, 1 left"});
  t.push_back({"Tauth missing aname", k9P, Frame(kTauth, B().u32(1).str("glenda")), EBADMSG,
               "Tauth: aname: need 2 bytes, 0 left"});
  t.push_back({"Tattach .L missing n_uname", kL,
               Frame(kTattach, B().u32(0).u32(NOFID).str("glenda").str("")), EBADMSG,
               "Tattach: n_uname: need 4 bytes, 0 left"});
  t.push_back({"Tattach 9P2000 with n_uname", k9P,
               Frame(kTattach, B().u32(0).u32(NOFID).str("glenda").str("").u32(0)), EBADMSG,
               "Tattach: 4 trailing bytes after body"});
  t.push_back({"Rerror ename past end", k9P, Frame(kRerror, B().u16(20).raw("oops")), EBADMSG,
               "Rerror: ename: string length 20 > 4 bytes left"});
  t.push_back({"Tflush oldtag cut", k9P, Frame(kTflush, B().u8(1)), EBADMSG,
               "Tflush: oldtag: need 2 bytes, 1 left"});
  {
    B w;
    w.u32(1).u32(2).u16(17);
    for (int i = 0; i < 17; i++) w.str("x");
    t.push_back({"Twalk 17 names", k9P, Frame(kTwalk, w), EBADMSG, "Twalk: nwname 17 > 16"});
  }
  t.push_back({"Twalk nwname 65535", k9P, Frame(kTwalk, B().u32(1).u32(2).u16(65535)), EBADMSG,
               "Twalk: nwname 65535 > 16"});
  t.push_back({"Twalk second name past end", k9P,
               Frame(kTwalk, B().u32(1).u32(2).u16(2).str("usr").u16(10).raw("glenda")), EBADMSG,
               "Twalk: wname[1]: string length 10 > 6 bytes left"});
  t.push_back({"Twalk fewer names than nwname", k9P,
               Frame(kTwalk, B().u32(1).u32(2).u16(3).str("a").str("b")), EBADMSG,
               "Twalk: wname[2]: need 2 bytes, 0 left"});
  t.push_back({"Rwalk 17 qids", k9P, Frame(kRwalk, B().u16(17)), EBADMSG, "Rwalk: nwqid 17 > 16"});
  t.push_back({"Rwalk qid cut", k9P, Frame(kRwalk, B().u16(2).qid().u32(0)), EBADMSG,
               "Rwalk: wqid[1]: need 13 bytes, 4 left"});
  t.push_back({"Topen mode missing", k9P, Frame(kTopen, B().u32(1)), EBADMSG,
               "Topen: mode: need 1 bytes, 0 left"});
  t.push_back({"Tcreate perm cut", k9P, Frame(kTcreate, B().u32(1).str("f").u16(0)), EBADMSG,
               "Tcreate: perm: need 4 bytes, 2 left"});
  t.push_back({"Rread count past end", k9P, Frame(kRread, B().u32(100).raw("hello")), EBADMSG,
               "Rread: count 100 != 5 bytes left in frame"});
  t.push_back({"Rread count short of end", k9P, Frame(kRread, B().u32(3).raw("hello")), EBADMSG,
               "Rread: count 3 != 5 bytes left in frame"});
  t.push_back({"Rread count huge", k9P, Frame(kRread, B().u32(0xffffffff)), EBADMSG,
               "Rread: count 4294967295 != 0 bytes left in frame"});
  t.push_back({"Twrite count past end", k9P, Frame(kTwrite, B().u32(1).u64(0).u32(9).raw("hi")),
               EBADMSG, "Twrite: count 9 != 2 bytes left in frame"});
  t.push_back({"Rreaddir count past end", kL, Frame(kRreaddir, B().u32(40).raw("x")), EBADMSG,
               "Rreaddir: count 40 != 1 bytes left in frame"});
  t.push_back({"Rstat n past end", k9P, Frame(kRstat, B().u16(200).stat("x")), EBADMSG,
               "Rstat: n 200 != 52 bytes left in frame"});
  t.push_back({"Rstat stat size disagrees with n", k9P, Frame(kRstat, B().u16(52).stat("x", 47)),
               EBADMSG, "Rstat: stat.size 47 != n 52 - 2"});
  {
    // n and stat.size agree, but the stat's fields (50 bytes) end 2 bytes
    // before its size says.
    B body;
    body.u16(54).stat("x", 52).u16(0);
    t.push_back({"Rstat fields shorter than stat.size", k9P, Frame(kRstat, body), EBADMSG,
                 "Rstat: stat.size 52 but its fields use 50"});
  }
  {
    // The name's length runs past the stat's own size (but not the frame).
    B body;
    body.u32(3).u16(54);
    B st;
    st.stat("xyz");     // 39 fixed + 5+3+3+2 strings = size 52, 54 in all
    st.b[2 + 39] = 40;  // name length 3 -> 40: past the 52-byte stat
    body.b.insert(body.b.end(), st.b.begin(), st.b.end());
    t.push_back({"Twstat name past stat size", k9P, Frame(kTwstat, body), EBADMSG,
                 "Twstat: stat.name: string length 40 > 11 bytes left"});
  }
  t.push_back({"Twstat n cut", k9P, Frame(kTwstat, B().u32(3).u8(0)), EBADMSG,
               "Twstat: n: need 2 bytes, 1 left"});
  t.push_back({"Tclunk trailing byte", k9P, Frame(kTclunk, B().u32(1).u8(0)), EBADMSG,
               "Tclunk: 1 trailing bytes after body"});
  t.push_back({"Rclunk with a body", k9P, Frame(kRclunk, B().u16(0)), EBADMSG,
               "Rclunk: 2 trailing bytes after body"});
  t.push_back({"Tfsync half a datasync", kL, Frame(kTfsync, B().u32(1).u16(0)), EBADMSG,
               "Tfsync: datasync: need 4 bytes, 2 left"});
  t.push_back({"Tlcreate name past end", kL, Frame(kTlcreate, B().u32(1).u16(9).raw("ab")), EBADMSG,
               "Tlcreate: name: string length 9 > 2 bytes left"});
  t.push_back({"Rgetattr cut", kL, Frame(kRgetattr, B().u64(0x7ff).qid().u32(0644)), EBADMSG,
               "Rgetattr: uid: need 4 bytes, 0 left"});
  t.push_back({"Tlock client_id past end", kL,
               Frame(kTlock, B().u32(1).u8(0).u32(0).u64(0).u64(0).u32(1).u16(5)), EBADMSG,
               "Tlock: client_id: string length 5 > 0 bytes left"});
  t.push_back({"Rlerror cut", kL, Frame(kRlerror, B().u16(2)), EBADMSG,
               "Rlerror: ecode: need 4 bytes, 2 left"});
  t.push_back({"Trenameat newname missing", kL, Frame(kTrenameat, B().u32(1).str("a").u32(2)),
               EBADMSG, "Trenameat: newname: need 2 bytes, 0 left"});
  return t;
}

TEST(WireMalformed, EveryFrameRejectedWithReason) {
  std::vector<Bad> t = Table();
  ASSERT_GE(t.size(), 25u);
  for (const Bad& b : t) {
    SCOPED_TRACE(b.what);
    Message m;
    Status s = Decode(b.frame, b.dialect, &m);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.err(), b.err);
    EXPECT_EQ(s.message(), b.reason);
  }
}

// Every proper prefix of every valid frame is rejected (never a crash, never
// a read past the span: run under ASan to see the latter).
TEST(WireMalformed, EveryTruncationRejected) {
  std::vector<uint8_t> buf;
  Twalk w{1, 2, {}};
  w.wname.push_back("usr");
  w.wname.push_back("glenda");
  ASSERT_TRUE(Encode(Message{3, w}, k9P, &buf).ok());
  for (size_t n = 0; n < buf.size(); n++) {
    std::vector<uint8_t> cut(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    Message m;
    EXPECT_FALSE(Decode(cut, k9P, &m).ok()) << n;
    // Even with the size field fixed up, the body is short.
    if (n >= HDRSZ) {
      cut = WithSize(cut, static_cast<uint32_t>(n));
      Status s = Decode(cut, k9P, &m);
      EXPECT_EQ(s.err(), EBADMSG) << n;
      EXPECT_EQ(s.message().rfind("Twalk: ", 0), 0u) << s.message();
    }
  }
}

}  // namespace
}  // namespace ninep
