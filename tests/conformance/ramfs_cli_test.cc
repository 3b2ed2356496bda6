// ramfs_cli_test: bin/ramfs as a command: flags, the printed address,
// serving stdin/stdout, exit statuses and signals.
#include <gtest/gtest.h>

#include <regex>

#include "conformance/p9ops.h"
#include "conformance/raw9p.h"
#include "testutil.h"

namespace ninep::testing {
namespace {

const char kUsage[] =
    "usage: ramfs [-a ADDR] [-s] [-m MSIZE] [-D] [--max-fids N] [--max-conns N] [--max-inflight N] "
    "[--max-inflight-bytes SIZE] [--max-queued-bytes SIZE] [--cert FILE] [--key FILE] [--ca FILE] "
    "[--crl FILE] [--psk FILE] [--allow USERS] [--readonly USERS] [--insecure] "
    "[-u OWNER]\n";

TEST(RamfsCli, UsageErrorsExitTwoWithTheUsageLine) {
  for (const char* args : {"-x", "extra", "-m", "-m nonsense", "-m 12"}) {
    SCOPED_TRACE(args);
    int st = -1;
    std::string out = Sh(Bin("ramfs") + " " + args + " 2>&1", &st);
    EXPECT_EQ(st, 2);
    // The reason on one line, then the usage line.
    std::string reason = out.substr(0, out.find('\n') + 1);
    EXPECT_EQ(reason.rfind("ramfs: ", 0), 0u) << out;
    EXPECT_EQ(out.substr(reason.size()), kUsage) << out;
  }
}

TEST(RamfsCli, RuntimeErrorsExitOneWithOneLine) {
  int st = -1;
  std::string out = Sh(Bin("ramfs") + " -a 'tcp!256.0.0.1!0' 2>&1", &st);
  EXPECT_EQ(st, 1);
  EXPECT_TRUE(std::regex_match(out, std::regex("ramfs: [^\n]+: [^\n]+\n"))) << out;
  // -s needs a pipe or socket, not a terminal or file.
  out = Sh(Bin("ramfs") + " -s </dev/null 2>&1", &st);
  EXPECT_EQ(st, 1);
  EXPECT_TRUE(std::regex_match(out, std::regex("ramfs: -s: [^\n]+\n"))) << out;
}

TEST(RamfsCli, PortZeroPrintsTheBoundAddressOnly) {
  Process p;
  ASSERT_TRUE(p.Start({Bin("ramfs"), "-a", "tcp!127.0.0.1!0"}));
  std::string line = p.ReadLine();
  EXPECT_TRUE(std::regex_match(line, std::regex(R"(tcp!127\.0\.0\.1!\d+)"))) << line;
  RawConn c;
  ASSERT_TRUE(c.Connect(line).ok());
  P9 p9(&c);
  EXPECT_TRUE(p9.Start("9P2000", 1).ok());
  // SIGTERM stops it cleanly; nothing more was printed.
  kill(p.pid(), SIGTERM);
  EXPECT_EQ(p.ReadLine(5000), "");
  int st = p.Wait();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
}

TEST(RamfsCli, SigintStopsAServerWithClients) {
  Process p;
  std::string addr = StartServer(&p, "ramfs", {});
  ASSERT_FALSE(addr.empty());
  RawConn c;
  ASSERT_TRUE(c.Connect(addr).ok());
  P9 p9(&c);
  ASSERT_TRUE(p9.Start("9P2000.L", 1).ok());
  kill(p.pid(), SIGINT);
  int st = p.Wait();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  EXPECT_TRUE(c.WaitClosed(5000)) << "the client's connection was closed";
}

TEST(RamfsCli, ServesStdinAndStdout) {
  // A socketpair stands in for inetd or ssh: the server's stdin and stdout.
  Process srv;
  const int fd = srv.StartOnSocket({Bin("ramfs"), "-s", "-u", "bootes"});
  ASSERT_GE(fd, 0);
  {
    RawConn c;
    c.Adopt(fd, fd);
    P9 p(&c);
    ASSERT_TRUE(p.Start("9P2000", 1).ok());
    ASSERT_TRUE(p.Walk(1, 2, {}).ok());
    ASSERT_TRUE(p.Create(2, "hello", 0644, ORDWR).ok());
    ASSERT_TRUE(p.Write(2, 0, "over a pipe").ok());
    EXPECT_EQ(*p.Read(2, 0, 100), "over a pipe");
    // -u names the owner of the tree.
    EXPECT_EQ(p.Stat(1)->uid, "bootes");
  }
  // The client hanging up ends a -s server.
  close(fd);
  int st = srv.WaitExit(5000);
  ASSERT_NE(st, -1) << "ramfs -s did not exit at EOF";
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
}

TEST(RamfsCli, TraceFlagPrintsEveryMessage) {
  // Tversion msize 8192 "9P2000", as bytes: size 19, type 100, tag NOTAG.
  // Octal escapes, since /bin/sh's printf may not know \\x.
  std::string frame =
      "\\023\\000\\000\\000\\144\\377\\377\\000\\040\\000\\000\\006\\000"
      "9P2000";
  // stdout must be a pipe (the reply goes there); the trace goes to fd 3.
  std::string out =
      Sh("(printf '" + frame + "' | " + Bin("ramfs") + " -s -D 2>&3 | cat >/dev/null) 3>&1");
  EXPECT_NE(out.find("Tversion"), std::string::npos) << out;
  EXPECT_NE(out.find("Rversion"), std::string::npos) << out;
}

}  // namespace
}  // namespace ninep::testing
