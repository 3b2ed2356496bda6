// storelib_test: CRC32C against the standard check values, and the durable
// file helpers against a real temp directory.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "storelib/crc.h"
#include "storelib/fileio.h"

namespace {

TEST(Crc32c, StandardCheckValue) {
  // The catalogued check value of CRC-32C (Castagnoli) for "123456789".
  EXPECT_EQ(store::Crc32c("123456789", 9), 0xE3069283u);
}

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(store::Crc32c("", 0), 0u);
  // RFC 3720 appendix B.4: 32 bytes of zeros, of 0xff, ascending.
  std::vector<unsigned char> z(32, 0), f(32, 0xff), a(32);
  for (int i = 0; i < 32; i++) a[i] = static_cast<unsigned char>(i);
  EXPECT_EQ(store::Crc32c(z.data(), z.size()), 0x8A9136AAu);
  EXPECT_EQ(store::Crc32c(f.data(), f.size()), 0x62A8AB43u);
  EXPECT_EQ(store::Crc32c(a.data(), a.size()), 0x46DD794Eu);
}

TEST(Crc32c, Chains) {
  std::string s(store::kBlockSize + 17, 'x');
  for (size_t i = 0; i < s.size(); i++) s[i] = static_cast<char>(i * 131 + 7);
  uint32_t whole = store::Crc32c(s.data(), s.size());
  uint32_t part = store::Crc32c(s.data(), 1000);
  part = store::Crc32c(s.data() + 1000, s.size() - 1000, part);
  EXPECT_EQ(whole, part);
  s[5] ^= 1;  // one flipped bit changes the sum
  EXPECT_NE(whole, store::Crc32c(s.data(), s.size()));
}

class FileIo : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/storelib_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(FileIo, PwritePreadRoundTripAndShortAtEof) {
  auto fd = store::OpenFile(dir_ + "/f", O_RDWR | O_CREAT);
  ASSERT_TRUE(fd.ok()) << fd.status().message();
  std::string data(200000, 'q');
  ASSERT_TRUE(store::PwriteAll(fd->get(), data.data(), data.size(), 100).ok());
  ASSERT_TRUE(store::FdatasyncFd(fd->get()).ok());
  std::string back(300000, '\0');
  auto n = store::PreadAll(fd->get(), back.data(), back.size(), 0);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 200100u);                                  // short only at end of file
  EXPECT_EQ(back.substr(0, 100), std::string(100, '\0'));  // hole reads zero
  EXPECT_EQ(back.substr(100, 200000), data);
}

TEST_F(FileIo, OpenMissingNamesTheFile) {
  auto fd = store::OpenFile(dir_ + "/nope", O_RDONLY);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().err(), ENOENT);
  EXPECT_NE(fd.status().message().find("nope"), std::string::npos);
}

TEST_F(FileIo, WriteFileAtomicReplacesAndLeavesNoTemp) {
  std::string p = dir_ + "/meta";
  ASSERT_TRUE(store::WriteFileAtomic(p, "one").ok());
  ASSERT_TRUE(store::WriteFileAtomic(p, "two two").ok());
  auto s = store::ReadWholeFile(p);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "two two");
  struct stat st;
  EXPECT_NE(stat((p + ".tmp").c_str(), &st), 0);
}

TEST_F(FileIo, DurableRenameAndUnlink) {
  ASSERT_TRUE(store::WriteFileAtomic(dir_ + "/a", "x").ok());
  ASSERT_TRUE(store::DurableRename(dir_ + "/a", dir_ + "/b").ok());
  EXPECT_TRUE(store::ReadWholeFile(dir_ + "/b").ok());
  EXPECT_FALSE(store::ReadWholeFile(dir_ + "/a").ok());
  ASSERT_TRUE(store::DurableUnlink(dir_ + "/b").ok());
  EXPECT_EQ(store::DurableUnlink(dir_ + "/b").err(), ENOENT);
  EXPECT_TRUE(store::FsyncDir(dir_).ok());
  EXPECT_EQ(store::FsyncDir(dir_ + "/missing").err(), ENOENT);
}

TEST_F(FileIo, PreallocateGrowsTheFile) {
  auto fd = store::OpenFile(dir_ + "/p", O_RDWR | O_CREAT);
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(store::Preallocate(fd->get(), 0, 1 << 20).ok());
  struct stat st;
  ASSERT_EQ(fstat(fd->get(), &st), 0);
  EXPECT_EQ(st.st_size, 1 << 20);
  EXPECT_EQ(store::DirName("/a/b"), "/a");
  EXPECT_EQ(store::DirName("b"), ".");
  EXPECT_EQ(store::DirName("/b"), "/");
}

}  // namespace
