// exportfs_fdlimit_test.cc: a tree far larger than the open-file limit.
// exportfs runs with RLIMIT_NOFILE 256 (soft and hard, set by prlimit
// before exec) over 10,000 files; a client keeps a fid on every one of
// them at once, in both dialects, and stats and reads each through its
// fid; bin/9p stats every file too; and a mount9p, held to the same limit,
// serves find and stat of every file. Fids cost memory, not descriptors.
// A soft limit below the hard one is raised to it at start.
#include <sys/stat.h>

#include <algorithm>
#include <sstream>

#include "exportfs/exfs.h"
#include "mount9p/mount_util.h"

namespace ninep::testing {
namespace {

constexpr int kDirs = 100, kPerDir = 100;  // 10,000 files
constexpr int kLimit = 256;

std::string Name(int d, int f) { return "d" + std::to_string(d) + "/f" + std::to_string(f); }

class FdLimitTest : public ::testing::TestWithParam<Dialect> {
 protected:
  static void SetUpTestSuite() {
    tree_ = new TempDir();
    for (int d = 0; d < kDirs; d++) {
      mkdir((tree_->path() + "/d" + std::to_string(d)).c_str(), 0755);
      for (int f = 0; f < kPerDir; f++) WriteFile(tree_->path() + "/" + Name(d, f), Name(d, f));
    }
  }
  static void TearDownTestSuite() {
    delete tree_;
    tree_ = nullptr;
  }
  void SetUp() override {
    std::string lim = "--nofile=" + std::to_string(kLimit) + ":" + std::to_string(kLimit);
    ASSERT_TRUE(srv_.Start(
        {"/usr/bin/prlimit", lim, Bin("exportfs"), "-a", "tcp!127.0.0.1!0", "-r", tree_->path()}));
    addr_ = srv_.ReadLine(10000);
    ASSERT_FALSE(addr_.empty());
    // The limit holds in the server (prlimit applied it, and raising the
    // soft limit to the hard one leaves it there).
    std::string limits = ReadFile("/proc/" + std::to_string(srv_.pid()) + "/limits");
    ASSERT_NE(limits.find("Max open files            256                  256"), std::string::npos)
        << limits;
  }
  // Open descriptors of the server now.
  int ServerFds() {
    return std::stoi(Sh("ls /proc/" + std::to_string(srv_.pid()) + "/fd | wc -l"));
  }

  static TempDir* tree_;
  Process srv_;
  std::string addr_;
};
TempDir* FdLimitTest::tree_ = nullptr;

TEST_P(FdLimitTest, AFidOnEveryFileAtOnce) {
  Conn c(addr_, GetParam());
  ASSERT_TRUE(c.ok()) << c.error().message();
  std::vector<Fid> fids;
  fids.reserve(kDirs * kPerDir);
  for (int d = 0; d < kDirs; d++) {
    for (int f = 0; f < kPerDir; f++) {
      auto fid = c.Walk(Name(d, f));
      ASSERT_TRUE(fid.ok()) << Name(d, f) << ": " << fid.status().message();
      fids.push_back(std::move(*fid));
    }
  }
  EXPECT_LT(ServerFds(), kLimit);
  // Every fid still reaches its own file: stat it, then open and read it.
  std::vector<uint8_t> buf(64);
  for (int d = 0; d < kDirs; d++) {
    for (int f = 0; f < kPerDir; f++) {
      Fid& fid = fids[static_cast<size_t>(d) * kPerDir + static_cast<size_t>(f)];
      std::string want = Name(d, f);
      auto st = fid.Stat();
      ASSERT_TRUE(st.ok()) << want << ": " << st.status().message();
      ASSERT_EQ(st->length, want.size()) << want;
      auto dup = fid.Walk("");  // an open needs a fid of its own to keep the walked one
      ASSERT_TRUE(dup.ok()) << want;
      ASSERT_TRUE(dup->Open(OREAD).ok()) << want;
      auto n = dup->ReadOnce(0, buf);
      ASSERT_TRUE(n.ok()) << want;
      ASSERT_EQ(std::string(buf.begin(), buf.begin() + static_cast<ptrdiff_t>(*n)), want);
    }
  }
  // A rename through the server keeps the fids below it reachable even
  // once their descriptors were evicted.
  auto d0 = c.Walk("d0");
  ASSERT_TRUE(d0.ok());
  if (c.L()) {
    auto root = c.Walk("");
    ASSERT_TRUE(root.ok());
    ASSERT_EQ(c.Errno(Trenameat{root->num(), "d0", root->num(), "moved"}), 0);
  } else {
    Dir nd = DirFromStat(NullStat());
    nd.name = "moved";
    ASSERT_TRUE(d0->Wstat(nd).ok());
  }
  // Touch enough other files to evict d0's children.
  for (int d = 50; d < kDirs; d++) ASSERT_TRUE(fids[static_cast<size_t>(d) * kPerDir].Stat().ok());
  for (int f = 0; f < kPerDir; f++) {
    auto st = fids[static_cast<size_t>(f)].Stat();
    ASSERT_TRUE(st.ok()) << "f" << f << " after its directory moved: " << st.status().message();
  }
  EXPECT_LT(ServerFds(), kLimit);
  // The tree is the suite's: put it back.
  ASSERT_EQ(rename((tree_->path() + "/moved").c_str(), (tree_->path() + "/d0").c_str()), 0);
}

TEST_P(FdLimitTest, NinePStatsEveryFile) {
  std::vector<std::string> argv{Bin("9p"), "-a", addr_};
  if (GetParam() == Dialect::k9P2000L) argv.push_back("-L");
  argv.push_back("stat");
  for (int d = 0; d < kDirs; d++)
    for (int f = 0; f < kPerDir; f++) argv.push_back(Name(d, f));
  Process p;
  ASSERT_TRUE(p.Start(argv));
  std::string out = p.ReadAll(30000);
  int st = p.Wait();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), kDirs * kPerDir);
  // And reads one from the far end of the tree.
  Process r;
  std::vector<std::string> rv{Bin("9p"), "-a", addr_};
  if (GetParam() == Dialect::k9P2000L) rv.push_back("-L");
  rv.insert(rv.end(), {"read", Name(kDirs - 1, kPerDir - 1)});
  ASSERT_TRUE(r.Start(rv));
  EXPECT_EQ(r.ReadAll(10000), Name(kDirs - 1, kPerDir - 1));
}

// The failure: find through a mount of a large tree ran out of
// descriptors in the server ("Too many open files") part way. mount9p keeps
// a fid for every inode the kernel caches, so both ends are held to 256.
TEST_P(FdLimitTest, FindAndStatThroughMount9p) {
  Mount m;
  std::vector<std::string> margs;
  if (GetParam() == Dialect::k9P2000L) margs.push_back("-L");
  ASSERT_TRUE(m.Start(addr_, margs)) << "mount9p did not mount " << addr_;
  std::string lim = "--nofile=" + std::to_string(kLimit) + ":" + std::to_string(kLimit);
  int st = 0;
  Sh("/usr/bin/prlimit --pid " + std::to_string(m.proc().pid()) + " " + lim, &st);
  ASSERT_EQ(st, 0);
  // Every file by size and name: 10,000 lines, each file's size its name's length.
  std::string out = Sh("cd '" + m.path() + "' && find . -type f -printf '%s %P\\n' 2>&1", &st);
  EXPECT_EQ(st, 0) << out.substr(0, 500);
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), kDirs * kPerDir) << out.substr(0, 500);
  size_t bad = 0;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    size_t sp = line.find(' ');
    if (sp == std::string::npos || std::stoul(line.substr(0, sp)) != line.size() - sp - 1) bad++;
  }
  EXPECT_EQ(bad, 0u) << out.substr(0, 500);
  // stat(1) of every file, and a read from the far end, after the find
  // filled mount9p's fids.
  std::string stats = Sh("cd '" + m.path() + "' && find . -type f | xargs stat -c %s | wc -l", &st);
  EXPECT_EQ(std::stoi(stats), kDirs * kPerDir);
  EXPECT_EQ(ReadFile(m.path() + "/" + Name(kDirs - 1, kPerDir - 1)), Name(kDirs - 1, kPerDir - 1));
  EXPECT_LT(ServerFds(), kLimit);
  int mfds = std::stoi(Sh("ls /proc/" + std::to_string(m.proc().pid()) + "/fd | wc -l"));
  EXPECT_LT(mfds, kLimit);
  EXPECT_TRUE(Mount::CleanExit(m.Unmount()));
}

INSTANTIATE_TEST_SUITE_P(Dialects, FdLimitTest,
                         ::testing::Values(Dialect::k9P2000, Dialect::k9P2000L), DialectName);

// Started with a soft limit below its hard one (a login's 1,024 under a
// larger hard limit), exportfs raises the soft limit to the hard one.
TEST(FdLimit, SoftLimitIsRaisedToTheHardOne) {
  TempDir tree;
  Process srv;
  ASSERT_TRUE(srv.Start({"/usr/bin/prlimit", "--nofile=256:4096", Bin("exportfs"), "-a",
                         "tcp!127.0.0.1!0", "-r", tree.path()}));
  ASSERT_FALSE(srv.ReadLine(10000).empty());
  std::string limits = ReadFile("/proc/" + std::to_string(srv.pid()) + "/limits");
  EXPECT_NE(limits.find("Max open files            4096                 4096"), std::string::npos)
      << limits;
}

}  // namespace
}  // namespace ninep::testing
