// cmdline_test: the option parser and the shared flag sets of
// ninep/cmdline.h, without running a command.
#include "ninep/cmdline.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>
#include <vector>

namespace ninep {
namespace {

std::vector<std::string> Args(std::vector<std::string> rest) {
  rest.insert(rest.begin(), "prog");
  return rest;
}

TEST(CmdlineParse, ShortAndLongServerFlags) {
  ServerFlags f;
  std::string root;
  bool ro = false;
  Command cmd("srv");
  cmd.AddServerFlags(&f)
      .Value('r', "root", "ROOT", "root", &root)
      .Flag('R', "read-only", "ro", &ro);
  auto p = cmd.Parse(Args({"-sD", "-m8k", "--addr", "tcp!127.0.0.1!0", "--root=/x", "-R"}));
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_TRUE(p->rest.empty());
  EXPECT_FALSE(p->help);
  EXPECT_TRUE(f.stdio);
  EXPECT_TRUE(f.trace);
  EXPECT_EQ(f.msize, 8192u);
  EXPECT_EQ(f.addr, "tcp!127.0.0.1!0");
  EXPECT_TRUE(f.addr_given);
  EXPECT_TRUE(f.listens());
  EXPECT_EQ(root, "/x");
  EXPECT_TRUE(ro);

  ServerFlags g;
  Command c2("srv");
  c2.AddServerFlags(&g);
  ASSERT_TRUE(c2.Parse(Args({"--msize", "64K", "-a", "unix!/s", "--trace"})).ok());
  EXPECT_EQ(g.msize, 65536u);
  EXPECT_EQ(g.addr, "unix!/s");
  EXPECT_TRUE(g.trace);
}

TEST(CmdlineParse, ServerDefaultsListenOnLoopback) {
  ServerFlags f;
  Command cmd("srv");
  cmd.AddServerFlags(&f);
  ASSERT_TRUE(cmd.Parse(Args({})).ok());
  EXPECT_EQ(f.addr, "tcp!127.0.0.1!564");
  EXPECT_FALSE(f.addr_given);
  EXPECT_EQ(f.msize, 0u);
  EXPECT_TRUE(f.listens());
  // -s alone serves stdin/stdout only; with -a it listens too.
  ServerFlags s;
  Command c2("srv");
  c2.AddServerFlags(&s);
  ASSERT_TRUE(c2.Parse(Args({"-s"})).ok());
  EXPECT_FALSE(s.listens());
}

TEST(CmdlineParse, MissingValueIsAUsageError) {
  for (const auto& args : {Args({"-a"}), Args({"--addr"}), Args({"-D", "-m"})}) {
    ServerFlags f;
    Command cmd("srv");
    cmd.AddServerFlags(&f);
    auto p = cmd.Parse(args);
    ASSERT_FALSE(p.ok()) << args.back();
    EXPECT_NE(p.status().message().find("needs"), std::string::npos) << p.status().message();
  }
}

TEST(CmdlineParse, UnknownFlagsAreUsageErrors) {
  ServerFlags f;
  Command cmd("srv");
  cmd.AddServerFlags(&f);
  auto p = cmd.Parse(Args({"-x"}));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "unknown option -x");
  p = cmd.Parse(Args({"--bogus"}));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "unknown option --bogus");
  p = cmd.Parse(Args({"-sx"}));  // inside a cluster too
  ASSERT_FALSE(p.ok());
  p = cmd.Parse(Args({"--stdio=yes"}));  // a flag takes no value
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("takes no value"), std::string::npos);
}

TEST(CmdlineParse, DoubleDashAndOperandsEndTheOptions) {
  ClientFlags f;
  Command cmd("9p", "verb args...");
  cmd.AddClientFlags(&f);
  auto p = cmd.Parse(Args({"-D", "--", "-a", "x"}));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(f.trace);
  EXPECT_FALSE(f.addr_given);
  EXPECT_EQ(p->rest, (std::vector<std::string>{"-a", "x"}));
  // A verb's own flags stay the verb's.
  p = cmd.Parse(Args({"-L", "ls", "-l", "/"}));
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(f.dotl);
  EXPECT_EQ(p->rest, (std::vector<std::string>{"ls", "-l", "/"}));
  // "-" alone is an operand (standard input, by convention).
  p = cmd.Parse(Args({"-", "x"}));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->rest, (std::vector<std::string>{"-", "x"}));
}

TEST(CmdlineParse, ClientFlagsAndNinepAddr) {
  setenv("NINEP_ADDR", "tcp!env!1", 1);
  ClientFlags f;
  Command cmd("c");
  cmd.AddClientFlags(&f);
  ASSERT_TRUE(cmd.Parse(Args({"-A", "/srv", "-u", "glenda", "-L", "-m", "1m"})).ok());
  EXPECT_EQ(f.addr, "tcp!env!1");
  EXPECT_FALSE(f.addr_given);
  EXPECT_EQ(f.aname, "/srv");
  EXPECT_EQ(f.user, "glenda");
  EXPECT_TRUE(f.dotl);
  EXPECT_EQ(f.msize, 1u << 20);
  // -a wins over the environment.
  ClientFlags g;
  Command c2("c");
  c2.AddClientFlags(&g);
  ASSERT_TRUE(
      c2.Parse(Args({"--addr=tcp!flag!2", "--user", "bootes", "--aname=x", "--dotl"})).ok());
  EXPECT_EQ(g.addr, "tcp!flag!2");
  EXPECT_TRUE(g.addr_given);
  EXPECT_EQ(g.user, "bootes");
  unsetenv("NINEP_ADDR");
  ClientFlags h;
  Command c3("c");
  c3.AddClientFlags(&h);
  ASSERT_TRUE(c3.Parse(Args({})).ok());
  EXPECT_EQ(h.addr, "");
}

TEST(CmdlineParse, BadMsizeNamesTheOption) {
  for (const char* bad : {"12", "1q", "", "k", "5000000000", "4194304k", "-1"}) {
    ServerFlags f;
    Command cmd("srv");
    cmd.AddServerFlags(&f);
    auto p = cmd.Parse(Args({"-m", bad}));
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().message().rfind(std::string("-m ") + bad + ": ", 0), 0u)
        << p.status().message();
  }
  ServerFlags f;
  Command cmd("srv");
  cmd.AddServerFlags(&f);
  auto p = cmd.Parse(Args({"--msize=12"}));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message().rfind("--msize 12: ", 0), 0u) << p.status().message();
}

TEST(CmdlineParse, SizesTakeBinarySuffixes) {
  EXPECT_EQ(*ParseSize("0"), 0u);
  EXPECT_EQ(*ParseSize("8192"), 8192u);
  EXPECT_EQ(*ParseSize("8k"), 8192u);
  EXPECT_EQ(*ParseSize("2M"), 2u << 20);
  EXPECT_EQ(*ParseSize("4294967295"), 4294967295u);
  EXPECT_FALSE(ParseSize("4294967296").ok());
  EXPECT_FALSE(ParseSize("4096m").ok());
  EXPECT_FALSE(ParseSize("8kb").ok());
  EXPECT_FALSE(ParseSize(" 8").ok());
  EXPECT_FALSE(ParseMsize("255").ok());
  EXPECT_EQ(*ParseMsize("256"), 256u);
}

TEST(CmdlineParse, HelpIsAskedForNotAnError) {
  for (const auto& args : {Args({"-h"}), Args({"--help"}), Args({"-Dh"})}) {
    ServerFlags f;
    Command cmd("srv");
    cmd.AddServerFlags(&f);
    auto p = cmd.Parse(args);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->help);
  }
}

TEST(CmdlineUsage, EveryOptionIsInTheUsageAndTheHelp) {
  ServerFlags f;
  bool verbose = false;
  Command cmd("srv", "[file]");
  cmd.AddServerFlags(&f).Flag('v', "verbose", "say more", &verbose).Epilog("notes\n");
  EXPECT_EQ(
      cmd.UsageLine(),
      "usage: srv [-a ADDR] [-s] [-m MSIZE] [-D] [--max-fids N] [--max-conns N] [--max-inflight N] "
      "[--max-inflight-bytes SIZE] [--max-queued-bytes SIZE] [--cert FILE] [--key FILE] [--ca "
      "FILE] [--crl FILE] [--psk FILE] [--allow USERS] [--readonly USERS] [--insecure] [-v] "
      "[file]\n");
  std::string h = cmd.Help();
  EXPECT_EQ(h.rfind(cmd.UsageLine(), 0), 0u);
  for (const char* want : {"-a, --addr ADDR", "-s, --stdio", "-m, --msize MSIZE", "-D, --trace",
                           "--insecure", "-h, --help", "tcp!127.0.0.1!564", "notes\n"}) {
    EXPECT_NE(h.find(want), std::string::npos) << want << "\n" << h;
  }
  ASSERT_TRUE(cmd.Parse(Args({"--insecure", "-v", "--ca", "c.pem", "--allow", "a,b"})).ok());
  EXPECT_TRUE(f.insecure);
  EXPECT_TRUE(verbose);
  EXPECT_EQ(f.tls.ca, "c.pem");
  EXPECT_EQ(f.allow, "a,b");
}

TEST(CmdlineUsage, ASetterErrorIsAUsageErrorNamingTheOption) {
  Command cmd("t");
  cmd.Add({'t', "timeout", "SECS", "t",
           [](std::string_view v) { return v == "1" ? Status::Ok() : Status(EINVAL, "want 1"); }});
  auto p = cmd.Parse(Args({"-t", "2"}));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "-t 2: want 1");
  EXPECT_TRUE(cmd.Parse(Args({"-t1"})).ok());
}

TEST(CmdlineExit, UsageErrorAndFatalFollowTheConventions) {
  Command cmd("demo", "file");
  EXPECT_EXIT(cmd.UsageError("unknown option -x"), ::testing::ExitedWithCode(2),
              "^demo: unknown option -x\nusage: demo file\n$");
  EXPECT_EXIT(cmd.Fatal("listen tcp!x!1", "no such host"), ::testing::ExitedWithCode(1),
              "^demo: listen tcp!x!1: no such host\n$");
  std::vector<std::string> argv{"demo", "--help"};
  std::vector<char*> raw;
  raw.reserve(argv.size());
  for (auto& a : argv) raw.push_back(a.data());
  EXPECT_EXIT(cmd.ParseOrExit(2, raw.data()), ::testing::ExitedWithCode(0), "^$");
}

TEST(CmdlineParse, CountsAndSeconds) {
  uint64_t n = 0;
  double secs = 0;
  Command cmd("bench");
  cmd.Count('n', "count", "N", "n", &n).Seconds('t', "seconds", "SECS", "t", &secs);
  ASSERT_TRUE(cmd.Parse(Args({"-n", "42", "--seconds=0.5"})).ok());
  EXPECT_EQ(n, 42u);
  EXPECT_EQ(secs, 0.5);
  for (const char* bad : {"-n x", "-n -1", "-n 4k", "-t -1", "-t soon", "-t nan"}) {
    std::string flag(bad, 2), value(bad + 3);
    EXPECT_FALSE(cmd.Parse(Args({flag, value})).ok()) << bad;
  }
}

}  // namespace
}  // namespace ninep
