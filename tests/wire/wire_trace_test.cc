// wire_trace_test.cc: FormatMessage, the -D trace line.
#include <gtest/gtest.h>

#include <string>

#include "ninep/wire.h"
#include "samples.h"

namespace ninep {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(FormatMessage, Walk) {
  Twalk w{1, 2, {}};
  w.wname.push_back("usr");
  w.wname.push_back("glenda");
  EXPECT_EQ(FormatMessage({3, w}), "Twalk tag 3 fid 1 newfid 2 nwname 2 usr glenda");
  Rwalk r;
  r.wqid.push_back(Qid{QTDIR, 3, 0x1a});
  r.wqid.push_back(Qid{QTFILE, 0, 2});
  EXPECT_EQ(FormatMessage({3, r}),
            "Rwalk tag 3 nwqid 2 (000000000000001a 3 d) (0000000000000002 0 )");
}

TEST(FormatMessage, DataIsQuotedEscapedAndCut) {
  EXPECT_EQ(FormatMessage({3, Rread{Bytes("hello world\n")}}),
            "Rread tag 3 count 12 'hello world\\n'");
  EXPECT_EQ(FormatMessage({3, Rread{Bytes("0123456789abcdefXYZ")}}),
            "Rread tag 3 count 19 '0123456789abcdef'...");
  const uint8_t bin[] = {0, 0xff, '\'', '\\', '\t'};
  EXPECT_EQ(FormatMessage({4, Twrite{1, 8, bin}}),
            "Twrite tag 4 fid 1 offset 8 count 5 '\\x00\\xff\\'\\\\\\t'");
  EXPECT_EQ(FormatMessage({4, Rread{}}), "Rread tag 4 count 0 ''");
}

TEST(FormatMessage, VersionAttachError) {
  EXPECT_EQ(FormatMessage({NOTAG, Tversion{8192, "9P2000"}}),
            "Tversion tag 65535 msize 8192 version 9P2000");
  EXPECT_EQ(FormatMessage({1, Tattach{0, NOFID, "glenda", "", NONUNAME}}),
            "Tattach tag 1 fid 0 afid 4294967295 uname glenda aname ''");
  EXPECT_EQ(FormatMessage({1, Tattach{0, NOFID, "glenda", "/", 1000}}),
            "Tattach tag 1 fid 0 afid 4294967295 uname glenda aname / n_uname 1000");
  EXPECT_EQ(FormatMessage({2, Rerror{"file does not exist"}}),
            "Rerror tag 2 ename 'file does not exist'");
  EXPECT_EQ(FormatMessage({2, Rlerror{2}}), "Rlerror tag 2 ecode 2 (file does not exist)");
  EXPECT_EQ(FormatMessage({2, Rclunk{}}), "Rclunk tag 2");
}

TEST(FormatMessage, CreateAndStat) {
  EXPECT_EQ(FormatMessage({5, Tcreate{1, "d", DMDIR | 0755, OREAD}}),
            "Tcreate tag 5 fid 1 name d perm drwxr-xr-x mode 0");
  EXPECT_EQ(FormatMessage({5, Tcreate{1, "f", 0640, OWRITE}}),
            "Tcreate tag 5 fid 1 name f perm -rw-r----- mode 1");
  Stat st{0, 0, Qid{QTFILE, 1, 2}, 0644, 10, 20, 3, "x", "u", "g", ""};
  EXPECT_EQ(FormatMessage({1, Rstat{st}}),
            "Rstat tag 1 stat type 0 dev 0 qid (0000000000000002 1 ) mode 0644 atime 10 mtime 20 "
            "length 3 name x uid u gid g muid ''");
  EXPECT_EQ(FormatMessage({1, Twstat{7, st}}),
            "Twstat tag 1 fid 7 stat type 0 dev 0 qid (0000000000000002 1 ) mode 0644 atime 10 "
            "mtime 20 length 3 name x uid u gid g muid ''");
}

TEST(FormatMessage, DotL) {
  EXPECT_EQ(FormatMessage({1, Tlopen{3, 01002}}), "Tlopen tag 1 fid 3 flags 01002");
  EXPECT_EQ(FormatMessage({1, Tgetattr{3, P9_GETATTR_BASIC}}),
            "Tgetattr tag 1 fid 3 request_mask 0x7ff");
  EXPECT_EQ(
      FormatMessage({8, Rreaddir{testing::SampleDirents()}}),
      "Rreaddir tag 8 count " + std::to_string(testing::SampleDirents().size()) + " . .. hello");
  EXPECT_EQ(FormatMessage({1, Tmkdir{1, "new dir", 0755, 100}}),
            "Tmkdir tag 1 dfid 1 name 'new dir' mode 0755 gid 100");
  EXPECT_EQ(FormatMessage({1, Tunlinkat{2, "x", 0x200}}),
            "Tunlinkat tag 1 dirfd 2 name x flags 01000");
}

// Every field of the list is printed, under its protocol name: a field
// the codec carries cannot go missing from the trace.
TEST(FormatMessage, EveryFieldOfGetattrAndStatfs) {
  const Rgetattr g{P9_GETATTR_BASIC,
                   Qid{QTFILE, 0, 9},
                   0100644,
                   0,
                   0,
                   1,
                   0,
                   5,
                   0,
                   0,
                   10,
                   11,
                   20,
                   21,
                   30,
                   31,
                   0,
                   0,
                   7,
                   8};
  EXPECT_EQ(FormatMessage({1, g}),
            "Rgetattr tag 1 valid 0x7ff qid (0000000000000009 0 ) mode 0100644 uid 0 gid 0 "
            "nlink 1 rdev 0 size 5 blksize 0 blocks 0 atime_sec 10 atime_nsec 11 mtime_sec 20 "
            "mtime_nsec 21 ctime_sec 30 ctime_nsec 31 btime_sec 0 btime_nsec 0 gen 7 "
            "data_version 8");
  const Rstatfs fs{0x01021997, 4096, 0, 0, 0, 0, 0, 0xab, 255};
  EXPECT_EQ(FormatMessage({1, fs}),
            "Rstatfs tag 1 type 0x1021997 bsize 4096 blocks 0 bfree 0 bavail 0 files 0 ffree 0 "
            "fsid 0xab namelen 255");
}

// Every sample formats to a line that starts with its name and tag and
// holds no newline (one message, one line).
TEST(FormatMessage, EveryTypeOneLine) {
  for (const Message& m : testing::SampleMessages(Dialect::k9P2000L)) {
    std::string s = FormatMessage(m);
    std::string head = std::string(MsgTypeName(m.type())) + " tag " + std::to_string(m.tag);
    EXPECT_EQ(s.rfind(head, 0), 0u) << s;
    EXPECT_EQ(s.find('\n'), std::string::npos) << s;
  }
}

}  // namespace
}  // namespace ninep
