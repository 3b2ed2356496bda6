// options_test.cc: mount9p's command-line parsing and direct= globs.
#include "mount9p/options.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace ninep::mount9p {
namespace {

Result<MountOptions> Parse(std::vector<std::string> args) {
  std::vector<char*> argv{const_cast<char*>("mount9p")};
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  return ParseArgs(static_cast<int>(argv.size() - 1), argv.data());
}

TEST(Mount9pOptionsTest, AddressAndMountpoint) {
  auto o = Parse({"-L", "-A", "/srv", "-m", "64k", "tcp!h!564", "/mnt/x"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->addr, "tcp!h!564");
  EXPECT_EQ(o->mountpoint, "/mnt/x");
  EXPECT_EQ(o->dialect, Dialect::k9P2000L);
  EXPECT_EQ(o->aname, "/srv");
  EXPECT_EQ(o->msize, 64u * 1024);
  EXPECT_FALSE(o->foreground);
  EXPECT_EQ(o->attr_timeout, 1.0);
  EXPECT_EQ(o->timeout, 0.0);  // calls wait as long as the server takes
  EXPECT_EQ(o->cache, CacheMode::kDefault);
}

TEST(Mount9pOptionsTest, DashUIsTheUserAndDashCapitalUUnmounts) {
  auto o = Parse({"-U", "/mnt/x"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->unmount, "/mnt/x");
  EXPECT_TRUE(o->warning.empty());
  o = Parse({"--unmount=/mnt/y"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->unmount, "/mnt/y");
  EXPECT_FALSE(Parse({"-U", "/mnt/x", "extra"}).ok());
  o = Parse({"-u", "glenda", "tcp!h!1", "/mnt/x"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->unmount.empty());
  EXPECT_EQ(o->uname, "glenda");
  EXPECT_EQ(o->mountpoint, "/mnt/x");
  o = Parse({"-u", "glenda", "-a", "tcp!h!1", "/mnt/x"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->unmount.empty());
  EXPECT_EQ(o->uname, "glenda");
}

TEST(Mount9pOptionsTest, OldDashUUnmountStillWorksWithAWarning) {
  // No address and no mountpoint: -u cannot name a user, so it is the old
  // spelling of -U for one more release.
  auto o = Parse({"-u", "/mnt/x"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->unmount, "/mnt/x");
  EXPECT_NE(o->warning.find("-U"), std::string::npos) << o->warning;
  // With -a it is a user whose mountpoint is missing.
  EXPECT_FALSE(Parse({"-u", "glenda", "-a", "tcp!h!1"}).ok());
}

TEST(Mount9pOptionsTest, HelpAndLongOptions) {
  auto o = Parse({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
  o = Parse({"--dotl", "--user=glenda", "--aname", "/srv", "--msize=64k", "--foreground",
             "--options", "cache=none", "tcp!h!1", "/m"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->dialect, Dialect::k9P2000L);
  EXPECT_EQ(o->uname, "glenda");
  EXPECT_EQ(o->aname, "/srv");
  EXPECT_EQ(o->msize, 64u * 1024);
  EXPECT_TRUE(o->foreground);
  EXPECT_EQ(o->cache, CacheMode::kNone);
  EXPECT_NE(Help().find("-U, --unmount MOUNTPOINT"), std::string::npos) << Help();
  EXPECT_EQ(UsageLine().rfind("usage: mount9p ", 0), 0u);
}

TEST(Mount9pOptionsTest, OptionList) {
  auto o =
      Parse({"-o", "cache=none,allow_other,direct=*/ctl,direct=data", "-o",
             "reconnect,msize=8192,attr_timeout=2.5,timeout=1.5,default_permissions", "a", "m"});
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->cache, CacheMode::kNone);
  EXPECT_EQ(o->attr_timeout, 2.5);
  EXPECT_EQ(o->timeout, 1.5);
  EXPECT_EQ(o->entry_timeout, 0.0);  // cache=none's default
  EXPECT_TRUE(o->reconnect);
  EXPECT_EQ(o->msize, 8192u);
  EXPECT_EQ(o->direct_globs, (std::vector<std::string>{"*/ctl", "data"}));
  EXPECT_EQ(o->fuse_opts, (std::vector<std::string>{"allow_other", "default_permissions"}));
  o = Parse({"-o", "cache=loose", "a", "m"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->attr_timeout, 60.0);
}

TEST(Mount9pOptionsTest, UsageErrors) {
  EXPECT_FALSE(Parse({}).ok());
  EXPECT_FALSE(Parse({"onlyone"}).ok());
  EXPECT_FALSE(Parse({"a", "b", "c"}).ok());
  EXPECT_FALSE(Parse({"-o", "cache=sometimes", "a", "m"}).ok());
  EXPECT_FALSE(Parse({"-o", "attr_timeout=-1", "a", "m"}).ok());
  EXPECT_FALSE(Parse({"-o", "timeout=soon", "a", "m"}).ok());
  EXPECT_FALSE(Parse({"-o", "timeout", "a", "m"}).ok());
  EXPECT_FALSE(Parse({"-o", "direct=", "a", "m"}).ok());
  EXPECT_FALSE(Parse({"-m", "12", "a", "m"}).ok());
  EXPECT_FALSE(Parse({"-x", "a", "m"}).ok());
  EXPECT_FALSE(Parse({"-A"}).ok());
}

TEST(Mount9pOptionsTest, AddressFromFlagOrEnvironment) {
  auto o = Parse({"-a", "unix!/tmp/s", "m"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->addr, "unix!/tmp/s");
  setenv("NINEP_ADDR", "tcp!e!1", 1);
  o = Parse({"m"});
  unsetenv("NINEP_ADDR");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->addr, "tcp!e!1");
  EXPECT_EQ(o->mountpoint, "m");
}

TEST(Mount9pOptionsTest, Globs) {
  EXPECT_TRUE(GlobMatches("ctl", "ctl"));
  EXPECT_TRUE(GlobMatches("ctl", "cmd/3/ctl"));
  EXPECT_FALSE(GlobMatches("ctl", "cmd/3/ctl2"));
  EXPECT_TRUE(GlobMatches("*.log", "a/b/x.log"));
  EXPECT_TRUE(GlobMatches("cmd/*/data", "cmd/7/data"));
  EXPECT_TRUE(GlobMatches("/cmd/*/data", "cmd/7/data"));
  EXPECT_FALSE(GlobMatches("cmd/*/data", "cmd/7/8/data"));
  EXPECT_FALSE(GlobMatches("cmd/*/data", "x/cmd/7/data"));
}

TEST(Mount9pOptionsTest, AccessUserByDefaultForRoot) {
  auto o = Parse({"tcp!h!564", "/mnt/x"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(EffectiveAccess(*o, 0), Access::kUser);
  EXPECT_EQ(EffectiveAccess(*o, 1000), Access::kAny);
  auto fo = FuseOptions(*o, 0);
  EXPECT_NE(std::find(fo.begin(), fo.end(), "allow_other"), fo.end());
  EXPECT_NE(std::find(fo.begin(), fo.end(), "default_permissions"), fo.end());
  EXPECT_TRUE(FuseOptions(*o, 1000).empty());  // unprivileged: FUSE's defaults
  // -u names one identity for everyone; access=any says so outright.
  o = Parse({"-u", "glenda", "tcp!h!564", "/mnt/x"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(EffectiveAccess(*o, 0), Access::kAny);
  o = Parse({"-o", "access=any,allow_other", "tcp!h!564", "/mnt/x"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(EffectiveAccess(*o, 0), Access::kAny);
  EXPECT_EQ(FuseOptions(*o, 0), std::vector<std::string>{"allow_other"});
  o = Parse({"-o", "access=user,default_permissions", "tcp!h!564", "/mnt/x"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(FuseOptions(*o, 0), (std::vector<std::string>{"default_permissions", "allow_other"}));
  auto bad = Parse({"-o", "access=root", "tcp!h!564", "/mnt/x"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("access=root"), std::string::npos);
}

}  // namespace
}  // namespace ninep::mount9p
