// exportfs_diod_test.cc: Debian's diod tools (a 9P2000.L client nobody
// here wrote) against a real bin/exportfs on 127.0.0.1: diodls listings,
// diodcat bytes, and a bounded diodload run on the ctl tree, each with
// exit status 0 and nothing on stderr.
#include <sys/stat.h>
#include <unistd.h>

#include <random>
#include <sstream>

#include "exportfs/exfs.h"

namespace ninep::testing {
namespace {

class DiodTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(access("/usr/sbin/diodls", X_OK), 0) << "apt-get install diod";
    ASSERT_EQ(mkdir(srv_.Path("dir").c_str(), 0755), 0);
    for (std::string n : {"alpha", "beta gamma", "ünïcödé", "delta.txt"})
      WriteFile(srv_.Path("dir/" + n), n + "\n");
    ASSERT_EQ(mkdir(srv_.Path("dir/sub").c_str(), 0750), 0);
    std::string data(5 << 20, '\0');
    std::mt19937 rng(3);
    for (auto& c : data) c = static_cast<char>(rng());
    WriteFile(srv_.Path("blob"), data);
    ASSERT_TRUE(srv_.Start());
  }
  // Runs a diod tool against the server: its stdout, status and stderr.
  std::string Run(const std::string& tool, const std::string& args, int* st, std::string* err) {
    std::string errf = srv_.root() + ".err";
    std::string out = Sh("timeout 60 /usr/sbin/" + tool + " -s " + srv_.HostPort() + " " + args +
                             " 2>'" + errf + "'",
                         st);
    *err = ReadFile(errf);
    unlink(errf.c_str());
    return out;
  }
  static std::set<std::string> Lines(const std::string& s) {
    std::set<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) out.insert(l);
    return out;
  }

  ExportServer srv_;
};

TEST_F(DiodTest, DiodlsListsDirectories) {
  int st;
  std::string err;
  std::string out = Run("diodls", "-a / dir", &st, &err);
  EXPECT_EQ(st, 0) << err;
  EXPECT_EQ(err, "");
  EXPECT_EQ(Lines(out),
            (std::set<std::string>{"alpha", "beta gamma", "ünïcödé", "delta.txt", "sub"}));
  // The root, attached by the export's absolute path as diod's own exports are.
  out = Run("diodls", "-a " + srv_.root(), &st, &err);
  EXPECT_EQ(st, 0) << err;
  EXPECT_EQ(Lines(out), (std::set<std::string>{"dir", "blob"}));
}

TEST_F(DiodTest, DiodlsLongListing) {
  int st;
  std::string err;
  std::string out = Run("diodls", "-a / -l dir", &st, &err);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(err, "");
  // "-rw-r--r--.    1 root root            6 Nov 26 01:02 alpha"
  std::istringstream in(out);
  int n = 0;
  for (std::string l; std::getline(in, l); n++) {
    std::istringstream f(l);
    std::string mode, links, user, group, size;
    f >> mode >> links >> user >> group >> size;
    std::string name = l.substr(l.find(':') + 4);
    struct stat s = LStat(srv_.Path("dir/" + name));
    ASSERT_NE(s.st_mode, 0u) << l;
    EXPECT_EQ(mode[0], S_ISDIR(s.st_mode) ? 'd' : '-') << l;
    EXPECT_EQ(std::stoul(size), static_cast<unsigned long>(s.st_size)) << l;
    EXPECT_EQ(user, "root");
  }
  EXPECT_EQ(n, 5) << out;
}

TEST_F(DiodTest, DiodcatGivesTheBytes) {
  int st;
  std::string err;
  std::string out = Run("diodcat", "-a / blob", &st, &err);
  EXPECT_EQ(st, 0) << err;
  EXPECT_EQ(err, "");
  EXPECT_TRUE(out == ReadFile(srv_.Path("blob"))) << "size " << out.size();
  out = Run("diodcat", "-a / dir/alpha 'dir/beta gamma'", &st, &err);
  EXPECT_EQ(st, 0) << err;
  EXPECT_EQ(out, "alpha\nbeta gamma\n");
  // A smaller msize splits the reads; the bytes are the same.
  out = Run("diodcat", "-m 8192 -a " + srv_.root() + " blob", &st, &err);
  EXPECT_EQ(st, 0) << err;
  EXPECT_TRUE(out == ReadFile(srv_.Path("blob")));
  // A missing file is an error, reported by diodcat.
  Run("diodcat", "-a / missing", &st, &err);
  EXPECT_NE(st, 0);
  EXPECT_NE(err.find("No such file"), std::string::npos) << err;
}

TEST_F(DiodTest, DiodcatAndDiodlsOnTheCtlTree) {
  int st;
  std::string err;
  std::string out = Run("diodcat", "version", &st, &err);  // aname defaults to ctl
  EXPECT_EQ(st, 0) << err;
  EXPECT_EQ(out.rfind("exportfs ", 0), 0u) << out;
  out = Run("diodls", "", &st, &err);
  EXPECT_EQ(st, 0) << err;
  EXPECT_EQ(Lines(out),
            (std::set<std::string>{"zero", "null", "version", "connections", "bytes", "ops"}));
}

TEST_F(DiodTest, DiodloadCopiesZeroToNull) {
  int st;
  std::string err;
  // Bounded: 2 seconds, 4 threads.
  Run("diodload", "-r 2 -n 4", &st, &err);
  EXPECT_EQ(st, 0) << err;
  // "diodload: 3600 ops/s, 224 rMB/s, 224 wMB/s"
  ASSERT_EQ(err.rfind("diodload: ", 0), 0u) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  unsigned long ops = std::stoul(err.substr(10));
  EXPECT_GT(ops, 0u) << err;
  size_t r = err.find(" rMB/s");
  ASSERT_NE(r, std::string::npos);
  EXPECT_GT(std::stoul(err.substr(err.rfind(' ', r - 1) + 1)), 0u) << err;
  // The server counted the traffic.
  Conn ctl(srv_.addr(), Dialect::k9P2000L, "ctl");
  ASSERT_TRUE(ctl.ok());
  auto t = ctl.ReadFile("ops");
  ASSERT_TRUE(t.ok());
  EXPECT_NE(t->find("Twrite"), std::string::npos) << *t;
  // And the getattr load.
  Run("diodload", "-r 1 -n 2 -g", &st, &err);
  EXPECT_EQ(st, 0) << err;
  EXPECT_EQ(err.rfind("diodload: ", 0), 0u) << err;
}

}  // namespace
}  // namespace ninep::testing
