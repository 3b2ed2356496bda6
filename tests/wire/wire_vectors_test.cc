// wire_vectors_test.cc: byte-exact frames worked out by hand from the
// protocol tables (PROTOCOL.md), so the codec is checked against the
// protocol and not only against itself. Each frame is
// size[4] type[1] tag[2] body, little-endian; the size arithmetic is written
// beside each vector.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ninep/wire.h"

namespace ninep {
namespace {

struct Vector {
  const char* what;
  Dialect dialect;
  Message msg;
  std::vector<uint8_t> bytes;
};

constexpr Dialect k9P = Dialect::k9P2000, kL = Dialect::k9P2000L;

std::vector<Vector> Vectors() {
  static const uint8_t kHello[] = {'h', 'e', 'l', 'l', 'o'};
  static const uint8_t kHi[] = {'h', 'i'};
  std::vector<Vector> v;

  // size = 4+1+2 + msize 4 + version 2+6 = 19
  v.push_back({"Tversion",
               k9P,
               {NOTAG, Tversion{8192, "9P2000"}},
               {19, 0, 0, 0, 100, 0xff, 0xff,  // size 19, type 100, tag NOTAG
                0x00, 0x20, 0, 0,              // msize 8192 = 0x2000
                6, 0, '9', 'P', '2', '0', '0', '0'}});

  // size = 7 + msize 4 + version 2+8 = 21
  v.push_back({"Rversion",
               kL,
               {NOTAG, Rversion{65536, "9P2000.L"}},
               {21,   0,    0,    0,    101, 0xff, 0xff,  //
                0x00, 0x00, 0x01, 0x00,                   // msize 65536 = 0x10000
                8,    0,    '9',  'P',  '2', '0',  '0',  '0', '.', 'L'}});

  // size = 7 + fid 4 + afid 4 + uname 2+6 + aname 2+0 = 25
  v.push_back({"Tattach 9P2000",
               k9P,
               {1, Tattach{0, NOFID, "glenda", "", NONUNAME}},
               {25,   0,    0,    0,    104, 1,   0,         //
                0,    0,    0,    0,                         // fid 0
                0xff, 0xff, 0xff, 0xff,                      // afid NOFID
                6,    0,    'g',  'l',  'e', 'n', 'd', 'a',  // uname
                0,    0}});                                  // aname ""

  // size = 25 + n_uname 4 = 29
  v.push_back(
      {"Tattach 9P2000.L",
       kL,
       {1, Tattach{0, NOFID, "glenda", "", 1000}},
       {29, 0, 0,   0,   104,  1,    0,                                      //
        0,  0, 0,   0,   0xff, 0xff, 0xff, 0xff,                             //
        6,  0, 'g', 'l', 'e',  'n',  'd',  'a',  0, 0, 0xe8, 0x03, 0, 0}});  // n_uname 1000 = 0x3e8

  // size = 7 + fid 4 + newfid 4 + nwname 2 + "usr" 2+3 + "glenda" 2+6 = 30
  {
    Twalk w{1, 2, {}};
    w.wname.push_back("usr");
    w.wname.push_back("glenda");
    v.push_back({"Twalk", k9P, {3, w}, {30, 0, 0,   0,   110, 3, 0,     //
                                        1,  0, 0,   0,   2,   0, 0, 0,  // fid 1, newfid 2
                                        2,  0,                          // nwname 2
                                        3,  0, 'u', 's', 'r', 6, 0, 'g', 'l', 'e', 'n', 'd', 'a'}});
  }

  // size = 7 + nwqid 2 + qid 13 = 22
  {
    Rwalk r;
    r.wqid.push_back(Qid{QTDIR, 5, 0x0807060504030201ULL});
    v.push_back({"Rwalk", k9P, {3, r}, {22,   0, 0, 0, 111, 3, 0,        //
                                        1,    0,                         // nwqid 1
                                        0x80,                            // qid.type QTDIR
                                        5,    0, 0, 0,                   // qid.version 5
                                        1,    2, 3, 4, 5,   6, 7, 8}});  // qid.path, low byte first
  }

  // size = 7 + fid 4 + offset 8 + count 4 = 23
  v.push_back(
      {"Tread", k9P, {5, Tread{7, 0x100, 4096}}, {23, 0,    0, 0, 116, 5, 0,     //
                                                  7,  0,    0, 0,                // fid 7
                                                  0,  1,    0, 0, 0,   0, 0, 0,  // offset 0x100
                                                  0,  0x10, 0, 0}});  // count 4096 = 0x1000

  // size = 7 + count 4 + data 5 = 16
  v.push_back({"Rread",
               k9P,
               {5, Rread{kHello}},
               {16, 0, 0, 0, 117, 5, 0, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'}});

  // size = 7 + fid 4 + offset 8 + count 4 + data 2 = 25
  v.push_back({"Twrite", k9P, {6, Twrite{7, 1, kHi}}, {25, 0, 0, 0, 118, 6, 0,  //
                                                       7,  0, 0, 0, 1,   0, 0, 0,   0,
                                                       0,  0, 0, 2, 0,   0, 0, 'h', 'i'}});

  // size = 7 + ename 2+11 = 20
  v.push_back({"Rerror", k9P, {2, Rerror{"unknown fid"}}, {20,  0,   0,   0,   107, 2,   0,
                                                           11,  0,   'u', 'n', 'k', 'n', 'o',
                                                           'w', 'n', ' ', 'f', 'i', 'd'}});

  // size = 7 + ecode 4 = 11
  v.push_back({"Rlerror", kL, {2, Rlerror{2}}, {11, 0, 0, 0, 7, 2, 0, 2, 0, 0, 0}});

  // size = 7 + fid 4 = 11; bodiless reply: size = 7
  v.push_back({"Tclunk", k9P, {9, Tclunk{4}}, {11, 0, 0, 0, 120, 9, 0, 4, 0, 0, 0}});
  v.push_back({"Rclunk", k9P, {9, Rclunk{}}, {7, 0, 0, 0, 121, 9, 0}});

  // stat size = type 2 + dev 4 + qid 13 + mode 4 + atime 4 + mtime 4 +
  //   length 8 + name 2+1 + uid 2+1 + gid 2+1 + muid 2+0 = 39 + 11 = 50;
  // n = 2 + 50 = 52; size = 7 + n[2] 2 + 52 = 61
  v.push_back({"Rstat",
               k9P,
               {1, Rstat{Stat{0, 0, Qid{QTFILE, 1, 2}, 0644, 10, 20, 3, "x", "u", "g", ""}}},
               {61,   0,    0,   0, 125, 1,   0,                      //
                52,   0,                                              // n 52
                50,   0,                                              // stat.size 50
                0,    0,                                              // type
                0,    0,    0,   0,                                   // dev
                0,    1,    0,   0, 0,   2,   0, 0, 0,   0, 0, 0, 0,  // qid (0, 1, 2)
                0xa4, 0x01, 0,   0,                                   // mode 0644 = 0x1a4
                10,   0,    0,   0, 20,  0,   0, 0,                   // atime 10, mtime 20
                3,    0,    0,   0, 0,   0,   0, 0,                   // length 3
                1,    0,    'x', 1, 0,   'u', 1, 0, 'g', 0, 0}});

  // size = 7 + fid 4 + flags 4 = 15; flags O_RDWR|O_TRUNC = 02|01000 = 0x202
  v.push_back(
      {"Tlopen", kL, {1, Tlopen{3, 01002}}, {15, 0, 0, 0, 12, 1, 0, 3, 0, 0, 0, 0x02, 0x02, 0, 0}});

  // size = 7 + fid 4 + request_mask 8 = 19; mask BASIC = 0x7ff
  v.push_back({"Tgetattr",
               kL,
               {4, Tgetattr{1, P9_GETATTR_BASIC}},
               {19, 0, 0, 0, 24, 4, 0, 1, 0, 0, 0, 0xff, 0x07, 0, 0, 0, 0, 0, 0}});

  // dirent = qid 13 + offset 8 + type 1 + name 2+1 = 25;
  // size = 7 + count 4 + 25 = 36
  {
    static std::vector<uint8_t> ents;
    ents.clear();
    PutDirent(Dirent{Qid{QTDIR, 0, 9}, 1, 4, "."}, &ents);
    v.push_back({"Rreaddir", kL, {8, Rreaddir{ents}}, {36,   0, 0,  0, 41, 8, 0,  //
                                                       25,   0, 0,  0,            // count 25
                                                       0x80, 0, 0,  0, 0,  9, 0, 0,
                                                       0,    0, 0,  0, 0,  // qid (QTDIR, 0, 9)
                                                       1,    0, 0,  0, 0,  0, 0, 0,  // offset 1
                                                       4,                            // type DT_DIR
                                                       1,    0, '.'}});
  }

  // size = 7 + dfid 4 + name 2+3 + mode 4 + gid 4 = 24; mode 0755 = 0x1ed
  v.push_back(
      {"Tmkdir", kL, {2, Tmkdir{1, "dir", 0755, 100}}, {24,   0,    0, 0, 72,  2,   0,   1,
                                                        0,    0,    0, 3, 0,   'd', 'i', 'r',
                                                        0xed, 0x01, 0, 0, 100, 0,   0,   0}});
  return v;
}

TEST(WireVectors, EncodeGivesTheExactBytes) {
  std::vector<Vector> vs = Vectors();
  ASSERT_GE(vs.size(), 10u);
  for (const Vector& v : vs) {
    SCOPED_TRACE(v.what);
    // The hand-worked size equals the vector's length.
    ASSERT_EQ(PeekSize(v.bytes.data()), v.bytes.size());
    std::vector<uint8_t> got;
    ASSERT_TRUE(Encode(v.msg, v.dialect, &got).ok());
    EXPECT_EQ(got, v.bytes);
    EXPECT_EQ(EncodedSize(v.msg, v.dialect), v.bytes.size());
  }
}

TEST(WireVectors, DecodeGivesTheMessage) {
  for (const Vector& v : Vectors()) {
    SCOPED_TRACE(v.what);
    Message m;
    Status s = Decode(v.bytes, v.dialect, &m);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(m, v.msg) << FormatMessage(m);
  }
}

TEST(WireVectors, StatAndDirentWriters) {
  // The stat of the Rstat vector on its own: its 52 bytes, size[2] first.
  Stat st{0, 0, Qid{QTFILE, 1, 2}, 0644, 10, 20, 3, "x", "u", "g", ""};
  EXPECT_EQ(StatSize(st), 52u);
  std::vector<uint8_t> buf = {0xAA};  // PutStat appends
  PutStat(st, &buf);
  ASSERT_EQ(buf.size(), 53u);
  EXPECT_EQ(buf[0], 0xAA);
  EXPECT_EQ(buf[1], 50);  // stat.size
  EXPECT_EQ(buf[2], 0);
  EXPECT_EQ(buf[52], 0);  // muid length high byte
  uint8_t at[52];
  PutStatAt(st, at);
  EXPECT_TRUE(std::equal(at, at + 52, buf.begin() + 1));

  Dirent d{Qid{QTFILE, 2, 3}, 77, 8, "ab"};
  EXPECT_EQ(DirentSize("ab"), 13u + 8 + 1 + 2 + 2);
  std::vector<uint8_t> db;
  PutDirent(d, &db);
  ASSERT_EQ(db.size(), 26u);
  EXPECT_EQ(db[13], 77);  // offset follows the qid
  EXPECT_EQ(db[21], 8);   // type
  EXPECT_EQ(db[22], 2);   // name length
  EXPECT_EQ(db[24], 'a');
}

}  // namespace
}  // namespace ninep
