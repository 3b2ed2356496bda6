// cmd9p_diod_test.cc: bin/9p -L against Debian's diod, a 9P2000.L server
// no one here wrote, exporting a temp directory (its aname, given with -A).
// Results are checked both through bin/9p and on the exported directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <string>
#include <vector>

#include "run9p.h"

namespace ninep::testing {
namespace {

class Cmd9pDiodTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(srv_.Start("diod")); }

  RunResult Run(const std::vector<std::string>& args, const std::string& input = "") {
    std::vector<std::string> v{Bin("9p"), "-L", "-a", srv_.addr(), "-A", srv_.aname()};
    v.insert(v.end(), args.begin(), args.end());
    std::string in = tmp_.path() + "/stdin";
    WriteFile(in, input);
    return RunCmd(v, in);
  }
  std::string Ok(const std::vector<std::string>& args, const std::string& input = "") {
    RunResult r = Run(args, input);
    EXPECT_EQ(r.status, 0) << args[0] << ": " << r.err;
    return r.out;
  }
  std::string Local(const std::string& rel) { return srv_.dir() + "/" + rel; }

  TestServer srv_;
  TempDir tmp_;
};

TEST_F(Cmd9pDiodTest, ListsWhatIsOnDisk) {
  WriteFile(Local("b.txt"), "bbb");
  WriteFile(Local("a.txt"), "a");
  ASSERT_EQ(mkdir(Local("sub").c_str(), 0755), 0);
  EXPECT_EQ(Ok({"ls", "/"}), "a.txt\nb.txt\nsub\n");
  std::string l = Ok({"ls", "-l", "/"});
  std::vector<std::string> lines;
  for (size_t p = 0, nl; (nl = l.find('\n', p)) != std::string::npos; p = nl + 1)
    lines.push_back(l.substr(p, nl - p));
  ASSERT_EQ(lines.size(), 3u) << l;
  EXPECT_EQ(lines[1].rfind("--rw", 0), 0u) << l;
  EXPECT_NE(lines[1].find(" 3 "), std::string::npos) << l;
  EXPECT_TRUE(lines[1].ends_with(" b.txt")) << l;
  EXPECT_EQ(lines[2].rfind("d-rwxr-xr-x", 0), 0u) << l;
  EXPECT_TRUE(lines[2].ends_with(" sub")) << l;
  EXPECT_EQ(Ok({"ls", "-d", "/sub"}), "/sub\n");
}

TEST_F(Cmd9pDiodTest, ReadWriteCreateRemove) {
  Ok({"create", "/new"});
  Ok({"write", "/new"}, "written by 9p\n");
  EXPECT_EQ(ReadFile(Local("new")), "written by 9p\n");
  EXPECT_EQ(Ok({"read", "/new"}), "written by 9p\n");
  Ok({"write", "-a", "/new"}, "appended\n");
  EXPECT_EQ(ReadFile(Local("new")), "written by 9p\nappended\n");
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); i++) big[i] = static_cast<char>(i * 7 + i / 4096);
  WriteFile(Local("big"), big);
  EXPECT_TRUE(Ok({"read", "/big"}) == big);
  Ok({"mkdir", "/d"});
  struct stat st;
  ASSERT_EQ(stat(Local("d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  Ok({"create", "-p", "640", "/d/f"});
  ASSERT_EQ(stat(Local("d/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  Ok({"rm", "-r", "/d"});
  EXPECT_NE(stat(Local("d").c_str(), &st), 0);
  Ok({"rm", "/new"});
  EXPECT_NE(stat(Local("new").c_str(), &st), 0);
  RunResult r = Run({"read", "/new"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("9p: /new: ", 0), 0u) << r.err;
}

TEST_F(Cmd9pDiodTest, StatShowsGetattrFields) {
  WriteFile(Local("s"), "12345");
  ASSERT_EQ(chmod(Local("s").c_str(), 0604), 0);
  std::string s = Ok({"stat", "/s"});
  EXPECT_EQ(s.rfind("'s' ", 0), 0u) << s;
  EXPECT_NE(s.find(" size 5 "), std::string::npos) << s;
  EXPECT_NE(s.find(" mode 0100604 "), std::string::npos) << s;
}

TEST_F(Cmd9pDiodTest, MvRenamesWithinAndAcrossDirectories) {
  WriteFile(Local("m1"), "moved");
  ASSERT_EQ(mkdir(Local("into").c_str(), 0755), 0);
  Ok({"mv", "/m1", "/m2"});
  EXPECT_EQ(ReadFile(Local("m2")), "moved");
  Ok({"mv", "/m2", "/into"});
  EXPECT_EQ(ReadFile(Local("into/m2")), "moved");
  Ok({"mv", "/into/m2", "/m3"});
  EXPECT_EQ(Ok({"read", "/m3"}), "moved");
  EXPECT_EQ(Run({"mv", "/nope", "/x"}).status, 1);
}

// Regression: bin/9p used to hang up with clunks unanswered; diod then
// wrote into a closed socket, logged it, and could die of the SIGPIPE.
TEST_F(Cmd9pDiodTest, HangsUpOnlyAfterEveryReply) {
  for (int i = 0; i < 20; i++) WriteFile(Local("f" + std::to_string(i)), "x");
  for (int i = 0; i < 5; i++) {
    EXPECT_EQ(Ok({"ls", "-l", "/"}).size() > 0, true);
    EXPECT_EQ(Ok({"read", "/f3"}), "x");
  }
  EXPECT_EQ(waitpid(srv_.proc().pid(), nullptr, WNOHANG), 0) << "diod died";
  std::string log = ReadFile(srv_.log());
  EXPECT_EQ(log.find("unclunked"), std::string::npos) << log;
  EXPECT_EQ(log.find("reset"), std::string::npos) << log;
}

}  // namespace
}  // namespace ninep::testing
