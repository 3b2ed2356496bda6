// storefs_mount_test: bin/storefs through mount9p (FUSE): cp -a of 1,000
// files, tar, sha256sum and rm -r, and one big file (STORE_BIG_MB, default
// 128; 2048 for the 2 GiB run) compared by sha256.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "mount9p/mount_util.h"
#include "store_rig.h"

namespace ninep::testing {
namespace {

bool HaveFuse() { return access("/dev/fuse", R_OK | W_OK) == 0 && geteuid() == 0; }

class StorefsMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveFuse()) FAIL() << "needs root and /dev/fuse";
    ASSERT_TRUE(rig.StartChunkds(3));
    ASSERT_TRUE(rig.StartStorefs({"--chunk", "8m"}));
    ASSERT_TRUE(mnt.Start(rig.addr(), {"-L"}));
  }
  StoreRig rig;
  Mount mnt;
};

TEST_F(StorefsMountTest, ThousandFilesCopyTarHashRemove) {
  std::string src = rig.dir() + "/src";
  int st;
  // 1,000 files of varied sizes (some empty, some crossing 64 KiB) in 10 dirs.
  Sh("set -e; mkdir -p " + src + "; cd " + src +
         "; for d in $(seq 0 9); do mkdir d$d; for f in $(seq 0 99); do "
         "head -c $(( (d * 100 + f) * 97 % 70000 )) /dev/urandom > d$d/f$f; done; done",
     &st);
  ASSERT_EQ(st, 0);
  Sh("cp -a " + src + " " + mnt.path() + "/src", &st);
  ASSERT_EQ(st, 0);
  std::string sums = "find . -type f | sort | xargs sha256sum";
  std::string local = Sh("cd " + src + " && " + sums, &st);
  ASSERT_EQ(st, 0);
  std::string remote = Sh("cd " + mnt.path() + "/src && " + sums, &st);
  ASSERT_EQ(st, 0);
  EXPECT_EQ(std::count(local.begin(), local.end(), '\n'), 1000);
  EXPECT_EQ(local, remote);
  // tar out of the mount, unpacked locally.
  Sh("cd " + mnt.path() + " && tar cf " + rig.dir() + "/t.tar src && mkdir " + rig.dir() +
         "/untar && tar xf " + rig.dir() + "/t.tar -C " + rig.dir() + "/untar",
     &st);
  ASSERT_EQ(st, 0);
  EXPECT_EQ(Sh("cd " + rig.dir() + "/untar/src && " + sums), local);
  Sh("rm -r " + mnt.path() + "/src", &st);
  ASSERT_EQ(st, 0);
  EXPECT_EQ(Sh("ls -A " + mnt.path()), "");
  EXPECT_TRUE(WaitFor([&] { return rig.CtlNum("files") == 0; }, 10000));
}

TEST_F(StorefsMountTest, BigFileHashMatches) {
  const char* env = getenv("STORE_BIG_MB");
  int mb = env ? atoi(env) : 128;
  ASSERT_GT(mb, 0);
  std::string big = rig.dir() + "/big";
  int st;
  Sh("head -c " + std::to_string(mb) + "M /dev/urandom > " + big, &st);
  ASSERT_EQ(st, 0);
  Sh("cp " + big + " " + mnt.path() + "/big", &st);
  ASSERT_EQ(st, 0);
  std::string a = Sh("sha256sum < " + big), b = Sh("sha256sum < " + mnt.path() + "/big", &st);
  ASSERT_EQ(st, 0);
  EXPECT_EQ(a, b);
  EXPECT_EQ(rig.CtlNum("bytes"), static_cast<uint64_t>(mb) << 20);
  unlink(big.c_str());
}

}  // namespace
}  // namespace ninep::testing
