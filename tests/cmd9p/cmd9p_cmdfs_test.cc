// cmd9p_cmdfs_test.cc: bin/9p's rdwr and session driving bin/cmdfs, whose
// command directories live only while one of their files is open: the
// case session mode exists for.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
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
  // The output, the wait record (pid user sys real 'status'), the number.
  std::vector<std::string> lines;
  for (auto& l : Lines(r.out))
    if (!l.empty()) lines.push_back(l);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], "hello from cmdfs");
  std::vector<std::string> w = Words(lines[1]);
  ASSERT_EQ(w.size(), 5u) << r.out;
  for (int i = 0; i < 4; i++) EXPECT_TRUE(IsNumber(w[i])) << r.out;
  EXPECT_EQ(w[4], "''");
  EXPECT_EQ(lines[2].rfind("dir ", 0), 0u) << r.out;
  EXPECT_TRUE(IsNumber(lines[2].substr(4))) << r.out;
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

// Regression: `read` sent reads ahead on a pipe-like file (data ignores
// offsets), and the stream came back with bytes lost. A file of length 0
// is read one Tread at a time, so every byte arrives once, in order.
TEST_F(Cmd9pCmdfsTest, ReadOfAStreamLosesNothing) {
  RunResult r = Run({"-m", "8k", "session"},
                    "open c /clone rw\n"
                    "let n c\n"
                    "writeln c exec seq 1 100000\n"
                    "read /$n/data\n");
  EXPECT_EQ(r.status, 0) << r.err;
  std::string want;
  for (int i = 1; i <= 100000; i++) want += std::to_string(i) + "\n";
  EXPECT_EQ(r.out.size(), want.size());
  EXPECT_TRUE(r.out == want);
}

// `write` sends several Twrites ahead; into a command's stdin (data ignores
// offsets) the bytes must still arrive whole and in order. A session keeps
// the command directory alive while a second bin/9p writes 20 MiB to it.
TEST_F(Cmd9pCmdfsTest, WriteStreamsIntoACommandsStdin) {
  std::string big = tmp_.path() + "/big";
  {
    std::string block(1 << 20, '\0');
    uint32_t x = 12345;
    FILE* f = fopen(big.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    for (int mb = 0; mb < 20; mb++) {
      for (auto& ch : block) ch = static_cast<char>((x = x * 1103515245 + 12345) >> 16);
      fwrite(block.data(), 1, block.size(), f);
    }
    fclose(f);
  }
  std::string want = Sh("sha256sum < '" + big + "'");
  Process s;
  ASSERT_TRUE(s.Start({Bin("9p"), "-a", addr_, "session"}, true));
  auto say = [&](const std::string& line) {
    return write(s.stdin_fd(), line.data(), line.size()) == static_cast<ssize_t>(line.size());
  };
  ASSERT_TRUE(say("open c /clone rw\nlet n c\necho $n\n"));
  std::string n = s.ReadLine(10000);
  ASSERT_FALSE(n.empty());
  ASSERT_TRUE(say("open out /$n/data r\nwriteln c exec sha256sum\necho started\n"));
  ASSERT_EQ(s.ReadLine(10000), "started");
  RunResult w =
      RunCmd({Bin("9p"), "-a", addr_, "-m", "64k", "write", "/" + n + "/data"}, big, "", 60);
  EXPECT_EQ(w.status, 0) << w.err;
  // The writer's clunk was the last close of data for writing: EOF.
  ASSERT_TRUE(say("readall out\n"));
  EXPECT_EQ(s.ReadLine(20000) + "\n", want);
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
  std::vector<std::string> n = Lines(r.out);
  ASSERT_EQ(n.size(), 3u) << r.out;
  EXPECT_TRUE(IsNumber(n[0])) << r.out;
  EXPECT_EQ(n[0], n[1]);
  EXPECT_EQ(n[1], n[2]);
  r = Run({"rdwr", "/clone"}, "bogus\ndir /tmp\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(r.out.ends_with("\n") && IsNumber(r.out.substr(0, r.out.size() - 1))) << r.out;
  EXPECT_EQ(r.err.rfind("9p: /clone: ", 0), 0u) << r.err;
}

}  // namespace
}  // namespace ninep::testing
