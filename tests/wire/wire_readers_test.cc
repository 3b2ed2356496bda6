// wire_readers_test.cc: StatReader and DirentReader on good, truncated and
// oversized data.
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "ninep/wire.h"

namespace ninep {
namespace {

std::vector<uint8_t> ThreeStats() {
  std::vector<uint8_t> v;
  PutStat({1, 2, Qid{QTDIR, 3, 4}, DMDIR | 0755, 10, 20, 0, "usr", "glenda", "sys", "glenda"}, &v);
  PutStat({0, 0, Qid{QTFILE, 1, 5}, 0644, 11, 21, 12, "lib", "bootes", "", ""}, &v);
  PutStat({0, 0, Qid{QTFILE, 0, 6}, 0600, 0, 0, 0, "", "", "", ""}, &v);
  return v;
}

TEST(StatReader, ReadsEveryEntry) {
  std::vector<uint8_t> v = ThreeStats();
  StatReader r(v);
  Stat s;
  ASSERT_TRUE(r.Next(&s));
  EXPECT_EQ(s.name, "usr");
  EXPECT_EQ(s.uid, "glenda");
  EXPECT_EQ(s.gid, "sys");
  EXPECT_EQ(s.mode, DMDIR | 0755);
  EXPECT_EQ(s.qid, (Qid{QTDIR, 3, 4}));
  EXPECT_EQ(s.type, 1);
  EXPECT_EQ(s.dev, 2u);
  ASSERT_TRUE(r.Next(&s));
  EXPECT_EQ(s.name, "lib");
  EXPECT_EQ(s.length, 12u);
  EXPECT_EQ(s.muid, "");
  ASSERT_TRUE(r.Next(&s));
  EXPECT_EQ(s.qid.path, 6u);
  EXPECT_FALSE(r.Next(&s));
  EXPECT_TRUE(r.error().ok());
  EXPECT_FALSE(r.Next(&s));  // stays at the end
}

TEST(StatReader, EmptyDataIsNoEntries) {
  StatReader r({});
  Stat s;
  EXPECT_FALSE(r.Next(&s));
  EXPECT_TRUE(r.error().ok());
}

TEST(StatReader, TruncatedLastEntry) {
  std::vector<uint8_t> v = ThreeStats();
  const size_t first_two = StatSize({0, 0, {}, 0, 0, 0, 0, "usr", "glenda", "sys", "glenda"}) +
                           StatSize({0, 0, {}, 0, 0, 0, 0, "lib", "bootes", "", ""});
  // Cut at every point inside the third entry.
  for (size_t cut = first_two + 1; cut < v.size(); cut++) {
    StatReader r(std::span<const uint8_t>(v).first(cut));
    Stat s;
    int n = 0;
    while (r.Next(&s)) n++;
    EXPECT_EQ(n, 2) << cut;
    EXPECT_EQ(r.error().err(), EBADMSG) << cut;
    EXPECT_EQ(r.error().message().rfind("stat entry at offset " + std::to_string(first_two), 0), 0u)
        << r.error().message();
  }
}

TEST(StatReader, OversizedEntry) {
  std::vector<uint8_t> v = ThreeStats();
  v[0] = 0xff;  // first entry's size[2] claims far more than there is
  v[1] = 0x7f;
  StatReader r(v);
  Stat s;
  EXPECT_FALSE(r.Next(&s));
  EXPECT_EQ(r.error().err(), EBADMSG);
  EXPECT_EQ(r.error().message(), "stat entry at offset 0: stat.size 32767 > " +
                                     std::to_string(v.size() - 2) + " bytes left");
}

TEST(StatReader, EntryWhoseStringsOverrunItsSize) {
  std::vector<uint8_t> v;
  PutStat({0, 0, {}, 0, 0, 0, 0, "abc", "", "", ""}, &v);
  v[2 + 39] = 200;  // name length past the entry (and the data)
  StatReader r(v);
  Stat s;
  EXPECT_FALSE(r.Next(&s));
  EXPECT_EQ(r.error().message(),
            "stat entry at offset 0: stat.name: string length 200 > 9 bytes left");
}

TEST(StatReader, EntryLargerThanItsFields) {
  // size[2] says 2 more than the fields use; the extra bytes are in the
  // data, so only the size disagreement catches it.
  std::vector<uint8_t> v;
  PutStat({0, 0, {}, 0, 0, 0, 0, "a", "", "", ""}, &v);
  v[0] += 2;
  v.push_back(0);
  v.push_back(0);
  StatReader r(v);
  Stat s;
  EXPECT_FALSE(r.Next(&s));
  EXPECT_EQ(r.error().message(), "stat entry at offset 0: stat.size 50 but its fields use 48");
}

std::vector<uint8_t> ThreeDirents() {
  std::vector<uint8_t> v;
  PutDirent({Qid{QTDIR, 1, 0x10}, 1, 4, "."}, &v);
  PutDirent({Qid{QTDIR, 2, 0x11}, 2, 4, ".."}, &v);
  PutDirent({Qid{QTFILE, 3, 0x12}, 3, 8, "hello"}, &v);
  return v;
}

TEST(DirentReader, ReadsEveryEntry) {
  std::vector<uint8_t> v = ThreeDirents();
  EXPECT_EQ(v.size(), DirentSize(".") + DirentSize("..") + DirentSize("hello"));
  DirentReader r(v);
  Dirent d;
  ASSERT_TRUE(r.Next(&d));
  EXPECT_EQ(d, (Dirent{Qid{QTDIR, 1, 0x10}, 1, 4, "."}));
  ASSERT_TRUE(r.Next(&d));
  EXPECT_EQ(d.name, "..");
  ASSERT_TRUE(r.Next(&d));
  EXPECT_EQ(d, (Dirent{Qid{QTFILE, 3, 0x12}, 3, 8, "hello"}));
  EXPECT_FALSE(r.Next(&d));
  EXPECT_TRUE(r.error().ok());
}

TEST(DirentReader, TruncatedLastEntry) {
  std::vector<uint8_t> v = ThreeDirents();
  const size_t first_two = DirentSize(".") + DirentSize("..");
  for (size_t cut = first_two + 1; cut < v.size(); cut++) {
    DirentReader r(std::span<const uint8_t>(v).first(cut));
    Dirent d;
    int n = 0;
    while (r.Next(&d)) n++;
    EXPECT_EQ(n, 2) << cut;
    EXPECT_EQ(r.error().err(), EBADMSG) << cut;
    EXPECT_NE(r.error().message().find("dirent at offset " + std::to_string(first_two)),
              std::string::npos)
        << r.error().message();
  }
}

TEST(DirentReader, OversizedName) {
  std::vector<uint8_t> v = ThreeDirents();
  v[22] = 0xff;  // first name's length
  DirentReader r(v);
  Dirent d;
  EXPECT_FALSE(r.Next(&d));
  EXPECT_EQ(r.error().message(), "dirent at offset 0: name: string length 255 > " +
                                     std::to_string(v.size() - 24) + " bytes left");
  EXPECT_FALSE(r.Next(&d));  // stays failed
}

TEST(DirentReader, ShortQid) {
  const uint8_t v[] = {0x80, 0, 0};
  DirentReader r(v);
  Dirent d;
  EXPECT_FALSE(r.Next(&d));
  EXPECT_EQ(r.error().message(), "dirent at offset 0: qid: need 13 bytes, 3 left");
}

// A directory read in a real Rread frame: decode the frame, then the data.
TEST(StatReader, FromDecodedRread) {
  std::vector<uint8_t> data = ThreeStats();
  std::vector<uint8_t> frame;
  ASSERT_TRUE(Encode(Message{4, Rread{data}}, Dialect::k9P2000, &frame).ok());
  Message m;
  ASSERT_TRUE(Decode(frame, Dialect::k9P2000, &m).ok());
  StatReader r(std::get<Rread>(m.body).data);
  Stat s;
  std::vector<std::string> names;
  while (r.Next(&s)) names.emplace_back(s.name);
  EXPECT_EQ(names, (std::vector<std::string>{"usr", "lib", ""}));
  // The names are views into the frame.
  EXPECT_GE(reinterpret_cast<const uint8_t*>(s.muid.data()), frame.data());
}

}  // namespace
}  // namespace ninep
