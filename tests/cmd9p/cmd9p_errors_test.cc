// cmd9p_errors_test.cc: bin/9p's usage errors, refused dials and servers
// that die: each gives one line on stderr and the documented exit status,
// quickly.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "run9p.h"

namespace ninep::testing {
namespace {

size_t CountLines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(Cmd9pUsage, NoArgumentsPrintsUsageAndExitsTwo) {
  RunResult r = RunCmd({Bin("9p")});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err.rfind("usage: 9p [-a ADDR]", 0), 0u) << r.err;
  EXPECT_NE(r.err.find("rdwr path"), std::string::npos) << r.err;
}

TEST(Cmd9pUsage, BadFlagsExitTwoWithoutDialing) {
  // Port 1 refuses: a usage error must win over the dial, so none happens.
  const std::string a = "tcp!127.0.0.1!1";
  struct Case {
    std::vector<std::string> args;
    std::string want;  // in the usage line
  } cases[] = {
      {{"-z", "ls"}, "usage: 9p"},
      {{"-a", a, "ls", "-z", "/"}, "ls [-ldn]"},
      {{"-a", a, "write", "-x", "/f"}, "write [-a] path"},
      {{"-a", a, "read"}, "read path"},
      {{"-a", a, "read", "/a", "/b"}, "read path"},
      {{"-a", a, "mv", "/a"}, "mv old new"},
      {{"-a", a, "create", "-p", "9", "/a"}, "create [-d] [-p perm]"},
      {{"-a", a, "chmod", "u+q", "/a"}, "chmod mode"},
      {{"-a", a, "session", "extra"}, "session [-e]"},
      {{"-a", a, "frobnicate"}, "usage: 9p"},
      {{"-a", a, "-m", "12", "ls"}, "usage: 9p"},
      {{"-a", a, "-m", "1q", "ls"}, "usage: 9p"},
      {{"-a", a}, "usage: 9p"},
  };
  for (auto& c : cases) {
    std::vector<std::string> argv{Bin("9p")};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    RunResult r = RunCmd(argv, "", "", 10, {"NINEP_ADDR="});
    std::string shown = argv.size() > 3 ? argv[3] : argv.back();
    EXPECT_EQ(r.status, 2) << shown << ": " << r.err;
    EXPECT_NE(r.err.find("usage: 9p"), std::string::npos) << shown << ": " << r.err;
    EXPECT_NE(r.err.find(c.want), std::string::npos) << shown << ": " << r.err;
    EXPECT_EQ(r.err.find("dial"), std::string::npos) << shown << ": " << r.err;
  }
}

TEST(Cmd9pDial, RefusedDialFailsQuicklyWithOneLine) {
  int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string addr = "tcp!127.0.0.1!" + std::to_string(port);
  for (auto& v : std::vector<std::vector<std::string>>{{"ls", "/"}, {"read", "/x"}}) {
    std::vector<std::string> argv{Bin("9p"), "-a", addr};
    argv.insert(argv.end(), v.begin(), v.end());
    RunResult r = RunCmd(argv, "", "", 10);
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_FALSE(r.timed_out);
    EXPECT_LT(r.secs, 3.0);
    EXPECT_EQ(CountLines(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("9p: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(std::to_string(port)), std::string::npos) << r.err;
  }
  // host:port shorthand and unix sockets dial too, and fail the same way.
  RunResult r = RunCmd({Bin("9p"), "-a", "127.0.0.1:" + std::to_string(port), "ls"});
  EXPECT_EQ(r.status, 1) << r.err;
  r = RunCmd({Bin("9p"), "-a", "unix!/nonexistent/9p.sock", "ls"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(CountLines(r.err), 1u) << r.err;
  r = RunCmd({Bin("9p"), "-a", "tcp!!!", "ls"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(CountLines(r.err), 1u) << r.err;
}

TEST(Cmd9pDial, UnixSocketsAndHostPortShorthand) {
  TempDir d;
  const std::string sock = "unix!" + d.path() + "/9p.sock";
  Process u;
  ASSERT_TRUE(u.Start({Bin("ramfs"), "-a", sock}));
  // Only port 0 prints an address: wait until the socket answers.
  RunResult r;
  ASSERT_TRUE(WaitFor(
      [&] {
        r = RunCmd({Bin("9p"), "-a", sock, "mkdir", "/overunix"});
        return r.status == 0;
      },
      10000))
      << r.err;
  r = RunCmd({Bin("9p"), "-a", sock, "-L", "ls", "/"});
  EXPECT_EQ(r.out, "overunix\n") << r.err;
  Process t;
  std::string addr = StartServer(&t, "ramfs", {});
  ASSERT_EQ(addr.rfind("tcp!127.0.0.1!", 0), 0u) << addr;
  std::string shorthand = "127.0.0.1:" + addr.substr(strlen("tcp!127.0.0.1!"));
  r = RunCmd({Bin("9p"), "-a", shorthand, "mkdir", "/short"});
  EXPECT_EQ(r.status, 0) << r.err;
  r = RunCmd({Bin("9p"), "-a", addr, "ls"});
  EXPECT_EQ(r.out, "short\n") << r.err;
}

#ifdef NINEP_HAVE_EXPORTFS
// -a lists several servers of one tree: a dead first one is skipped and the
// next serves the command; $NINEP_ADDR takes the same list.
TEST(Cmd9pDial, AListSkipsADeadServer) {
  TestServer live;
  ASSERT_TRUE(live.Start("exportfs"));
  WriteFile(live.dir() + "/file", "served by the second\n");
  int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string list = "tcp!127.0.0.1!" + std::to_string(port) + "," + live.addr();
  RunResult r = RunCmd({Bin("9p"), "-a", list, "read", "/file"}, "", "", 10);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "served by the second\n");
  EXPECT_EQ(r.err, "");
  r = RunCmd({Bin("9p"), "read", "/file"}, "", "", 10, {"NINEP_ADDR=" + list});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "served by the second\n");
}
#endif

// When every server of the list is dead, one line names each and why.
TEST(Cmd9pDial, AListOfDeadServersNamesEach) {
  int p1 = FreePort(), p2 = FreePort();
  ASSERT_TRUE(WaitFor([&] { return p1 != p2 || (p2 = FreePort()) != p1; }, 1000));
  ASSERT_GT(p1, 0);
  ASSERT_GT(p2, 0);
  const std::string a1 = "tcp!127.0.0.1!" + std::to_string(p1);
  const std::string a2 = "tcp!127.0.0.1!" + std::to_string(p2);
  RunResult r = RunCmd({Bin("9p"), "-a", a1 + "," + a2, "read", "/file"}, "", "", 10);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(r.secs, 3.0);
  EXPECT_EQ(CountLines(r.err), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("9p: ", 0), 0u) << r.err;
  size_t at1 = r.err.find(a1 + ": "), at2 = r.err.find(a2 + ": ");
  EXPECT_NE(at1, std::string::npos) << r.err;
  EXPECT_NE(at2, std::string::npos) << r.err;
  EXPECT_LT(at1, at2) << "tried out of order: " << r.err;
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
}

// A peer that accepts and hangs up at once (a server dying at start-up):
// bin/9p reports it and exits 1, without hanging.
TEST(Cmd9pDial, PeerThatHangsUpFailsQuickly) {
  int port = 0;
  int ls = ListenLoopback(&port);
  ASSERT_GE(ls, 0);
  std::thread t([ls] {
    int c = accept(ls, nullptr, nullptr);
    if (c >= 0) close(c);
  });
  RunResult r =
      RunCmd({Bin("9p"), "-a", "tcp!127.0.0.1!" + std::to_string(port), "ls", "/"}, "", "", 10);
  t.join();
  close(ls);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_FALSE(r.timed_out);
  EXPECT_LT(r.secs, 3.0);
  EXPECT_EQ(CountLines(r.err), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("9p: ", 0), 0u) << r.err;
}

// The server dies in the middle of a session: the next verb fails with one
// line and the session ends with status 1 as soon as its input does.
TEST(Cmd9pDial, ServerDeathMidSessionIsReported) {
  Process srv;
  std::string addr = StartServer(&srv, "ramfs", {});
  ASSERT_FALSE(addr.empty());
  Process s;
  std::string errpath = "/tmp/ninep-9p-session-" + std::to_string(getpid()) + ".err";
  ASSERT_TRUE(
      s.Start({"/bin/sh", "-c", Bin("9p") + " -a '" + addr + "' session 2>" + errpath}, true));
  auto say = [&](const std::string& line) {
    return write(s.stdin_fd(), line.data(), line.size()) == static_cast<ssize_t>(line.size());
  };
  ASSERT_TRUE(say("mkdir /alive\nls /\n"));
  EXPECT_EQ(s.ReadLine(10000), "alive");
  srv.Kill(SIGKILL);
  ASSERT_TRUE(say("ls /\n"));
  // End the script: /dev/null over the pipe's write end closes it while the
  // fd number stays Process's to close.
  int devnull = open("/dev/null", O_WRONLY);
  dup2(devnull, s.stdin_fd());
  close(devnull);
  auto start = std::chrono::steady_clock::now();
  int st = s.Wait();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 1);
  EXPECT_LT(secs, 5.0);
  std::string err = ReadFile(errpath);
  unlink(errpath.c_str());
  EXPECT_EQ(CountLines(err), 1u) << err;
  EXPECT_EQ(err.rfind("9p: /: ", 0), 0u) << err;
}

}  // namespace
}  // namespace ninep::testing
