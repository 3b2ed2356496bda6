// cmdline_commands_test: every built command keeps the command-line
// conventions (ninep/cmdline.h, DESIGN.md): -h and --help print usage on
// stdout and exit 0; a bad flag exits 2 with the usage on stderr; a bad
// address exits 1 with one line "cmd: ..."; a server on port 0 prints
// exactly its bound address, a client reaches it, and SIGTERM stops it
// with exit 0.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "testutil.h"

namespace ninep::testing {
namespace {

struct Outcome {
  int status = -1;
  std::string out, err;
};

// Runs a shell command line with stdout and stderr captured apart.
Outcome RunLine(const std::string& line) {
  TempDir d;
  Outcome o;
  Sh(line + " >" + d.path() + "/out 2>" + d.path() + "/err </dev/null", &o.status);
  o.out = ReadFile(d.path() + "/out");
  o.err = ReadFile(d.path() + "/err");
  return o;
}

size_t Lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

bool Built(const std::string& cmd) { return access(Bin(cmd).c_str(), X_OK) == 0; }

// What each command needs after its flags to be a complete command line.
std::string Tail(const std::string& cmd) {
  if (cmd == "9p") return " ls /";
  if (cmd == "mount9p") return " /nonexistent-mountpoint";
  return "";
}

class EveryCommand : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    // Every command is built wherever the tests are (make deps installs
    // libfuse3-dev for mount9p), so a missing one is a failure, not a skip.
    ASSERT_TRUE(Built(GetParam())) << GetParam() << " is not built";
  }
  std::string Cmd() const { return "'" + Bin(GetParam()) + "'"; }
};

TEST_P(EveryCommand, HelpPrintsUsageOnStdoutAndExitsZero) {
  for (const char* flag : {"-h", "--help"}) {
    Outcome o = RunLine(Cmd() + " " + flag);
    EXPECT_EQ(o.status, 0) << flag;
    EXPECT_EQ(o.out.rfind("usage: " + GetParam() + " ", 0), 0u) << flag << ": " << o.out;
    EXPECT_NE(o.out.find("-a, --addr ADDR"), std::string::npos) << o.out;
    EXPECT_NE(o.out.find("-h, --help"), std::string::npos) << o.out;
    EXPECT_EQ(o.err, "") << flag;
  }
}

TEST_P(EveryCommand, BadFlagExitsTwoWithUsageOnStderr) {
  for (const char* flag : {"-Z", "--no-such-flag", "-m 12", "-a"}) {
    Outcome o = RunLine(Cmd() + " " + flag);
    EXPECT_EQ(o.status, 2) << flag << ": " << o.err;
    EXPECT_EQ(o.out, "") << flag;
    EXPECT_EQ(o.err.rfind(GetParam() + ": ", 0), 0u) << flag << ": " << o.err;
    EXPECT_NE(o.err.find("\nusage: " + GetParam() + " "), std::string::npos) << o.err;
    // The reason and the usage line (9p lists its verbs after it).
    if (GetParam() != "9p") {
      EXPECT_EQ(Lines(o.err), 2u) << o.err;
    }
  }
}

TEST_P(EveryCommand, BadAddressExitsOneWithOneLine) {
  for (const char* addr : {"bogus!x", "tcp!127.0.0.1!notaport"}) {
    Outcome o = RunLine(Cmd() + " -a '" + addr + "'" + Tail(GetParam()));
    EXPECT_EQ(o.status, 1) << addr << ": " << o.err;
    EXPECT_EQ(o.err.rfind(GetParam() + ": ", 0), 0u) << o.err;
    EXPECT_NE(o.err.find(addr), std::string::npos) << o.err;
    EXPECT_EQ(Lines(o.err), 1u) << o.err;
    EXPECT_EQ(o.out, "");
  }
}

INSTANTIATE_TEST_SUITE_P(Commands, EveryCommand,
                         ::testing::Values("9p", "exportfs", "ramfs", "cmdfs", "mount9p"),
                         [](const auto& info) { return info.param; });

class EveryServer : public EveryCommand {};

TEST_P(EveryServer, PortZeroPrintsTheBoundAddressAloneAndSigtermStops) {
  TempDir root;
  std::vector<std::string> argv{Bin(GetParam()), "-a", "tcp!127.0.0.1!0"};
  if (GetParam() == "exportfs") argv.insert(argv.end(), {"-r", root.path()});
  Process p;
  ASSERT_TRUE(p.Start(argv));
  std::string addr = p.ReadLine(10000);
  ASSERT_EQ(addr.rfind("tcp!127.0.0.1!", 0), 0u) << addr;
  EXPECT_NE(addr, "tcp!127.0.0.1!0");
  // A client reaches it at the printed address.
  int st = -1;
  Sh("'" + Bin("9p") + "' -a '" + addr + "' ls / >/dev/null", &st);
  EXPECT_EQ(st, 0);
  p.Signal(SIGTERM);
  int ws = p.WaitExit(10000);
  EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0) << ws;
  // Nothing but the address was ever printed.
  EXPECT_EQ(p.ReadAll(1000), "");
}

// The shared limit flags reach the server: with one fid per connection the
// attach takes it, so the walk the 9p command needs next is refused.
TEST_P(EveryServer, MaxFidsFlagLimitsEachConnection) {
  TempDir root;
  std::vector<std::string> argv{Bin(GetParam()), "-a", "tcp!127.0.0.1!0", "--max-fids", "1"};
  if (GetParam() == "exportfs") argv.insert(argv.end(), {"-r", root.path()});
  Process p;
  ASSERT_TRUE(p.Start(argv));
  std::string addr = p.ReadLine(10000);
  ASSERT_EQ(addr.rfind("tcp!127.0.0.1!", 0), 0u) << addr;
  Outcome o = RunLine("'" + Bin("9p") + "' -a '" + addr + "' ls /");
  EXPECT_EQ(o.status, 1) << o.err;
  EXPECT_NE(o.err.find("too many fids"), std::string::npos) << o.err;
  p.Signal(SIGTERM);
  int ws = p.WaitExit(10000);
  EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0) << ws;
}

TEST_P(EveryServer, BadLimitIsAUsageError) {
  for (const char* bad : {"--max-fids x", "--max-conns -1", "--max-queued-bytes 0"}) {
    Outcome o = RunLine(Cmd() + " " + bad);
    EXPECT_EQ(o.status, 2) << bad << ": " << o.err;
    EXPECT_NE(o.err.find("usage: " + GetParam()), std::string::npos) << o.err;
  }
}

TEST_P(EveryServer, DefaultAddressIsLoopback) {
  Outcome o = RunLine(Cmd() + " --help");
  EXPECT_NE(o.out.find("default tcp!127.0.0.1!564"), std::string::npos) << o.out;
}

INSTANTIATE_TEST_SUITE_P(Servers, EveryServer, ::testing::Values("exportfs", "ramfs", "cmdfs"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace ninep::testing
