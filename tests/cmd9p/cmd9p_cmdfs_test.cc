// cmd9p_cmdfs_test.cc: bin/9p's rdwr and session driving bin/cmdfs, whose
// command directories live only while one of their files is open: the
// case session mode exists for.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "run9p.h"

namespace ninep::testing {
namespace {

class Cmd9pCmdfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    addr_ = StartServer(&srv_, "cmdfs", {});
    ASSERT_FALSE(addr_.empty());
  }
  RunResult Run(const std::vector<std::string>& args, const std::string& input) {
    std::vector<std::string> v{Bin("9p"), "-a", addr_};
    v.insert(v.end(), args.begin(), args.end());
    std::string in = tmp_.path() + "/stdin";
    WriteFile(in, input);
    return RunCmd(v, in, "", 30);
  }

  Process srv_;
  std::string addr_;
  TempDir tmp_;
};

TEST_F(Cmd9pCmdfsTest, SessionRunsACommandAndReadsItsOutputAndWait) {
  RunResult r = Run({"session"},
                    "open c /clone rw\n"
                    "let n c\n"
                    "open out /$n/data r\n"
                    "writeln c exec echo hello from cmdfs\n"
                    "readall out\n"
                    "open w /$n/wait\n"
                    "read w\n"
                    "echo\n"
                    "echo dir $n\n");
  EXPECT_EQ(r.status, 0) << r.err;
  std::regex want(R"(^hello from cmdfs\n\d+ \d+ \d+ \d+ ''\n?\ndir \d+\n$)");
  EXPECT_TRUE(std::regex_search(r.out, want)) << r.out;
}

TEST_F(Cmd9pCmdfsTest, SessionFeedsStdinThroughData) {
  RunResult r = Run({"session"},
                    "open c /clone rw\n"
                    "let n c\n"
                    "open in /$n/data w\n"
                    "open out /$n/data r\n"
                    "writeln c exec sort\n"
                    "writeln in pear\n"
                    "writeln in apple\n"
                    "writeln in fig\n"
                    "close in\n"
                    "readall out\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "apple\nfig\npear\n");
}

TEST_F(Cmd9pCmdfsTest, SessionReportsABadCtlMessageAndGoesOn) {
  RunResult r = Run({"session"},
                    "open c /clone rw\n"
                    "let n c\n"
                    "writeln c frobnicate now\n"
                    "open out /$n/data r\n"
                    "writeln c exec echo still here\n"
                    "readall out\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.out, "still here\n");
  EXPECT_EQ(r.err.rfind("9p: c: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(Cmd9pCmdfsTest, RdwrWritesCtlMessagesAndPrintsReplies) {
  // Reading a ctl file gives its directory's number, after every message.
  RunResult r = Run({"rdwr", "/clone"}, "dir /tmp\nenv A=1\nexec true\n");
  EXPECT_EQ(r.status, 0) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(r.out, m, std::regex(R"((\d+)\n(\d+)\n(\d+)\n)"))) << r.out;
  EXPECT_EQ(m[1], m[2]);
  EXPECT_EQ(m[2], m[3]);
  r = Run({"rdwr", "/clone"}, "bogus\ndir /tmp\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(std::regex_match(r.out, std::regex(R"(\d+\n)"))) << r.out;
  EXPECT_EQ(r.err.rfind("9p: /clone: ", 0), 0u) << r.err;
}

}  // namespace
}  // namespace ninep::testing
