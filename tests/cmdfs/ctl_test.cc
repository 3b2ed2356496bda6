// ctl_test.cc: parsing of ctl messages: every verb, and malformed ones.
#include "cmdfs/ctl.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace cmdfs {
namespace {

TEST(Ctl, Exec) {
  auto m = ParseCtl("exec sh -c 'echo hi; exit 3'\n");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->kind, CtlMsg::kExec);
  EXPECT_EQ(m->argv, (std::vector<std::string>{"sh", "-c", "echo hi; exit 3"}));
}

TEST(Ctl, Verbs) {
  EXPECT_EQ(ParseCtl("kill")->kind, CtlMsg::kKill);
  EXPECT_EQ(ParseCtl("killgrp")->kind, CtlMsg::kKill);
  EXPECT_EQ(ParseCtl("killonclose")->kind, CtlMsg::kKillOnClose);
  EXPECT_EQ(ParseCtl("signal TERM")->sig, SIGTERM);
  EXPECT_EQ(ParseCtl("signal sighup")->sig, SIGHUP);
  EXPECT_EQ(ParseCtl("signal 10")->sig, 10);
  EXPECT_EQ(ParseCtl("dir '/tmp/a b'")->dir, "/tmp/a b");
  auto e = ParseCtl("env A=1 B= C='x y'");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->env.size(), 3u);
  EXPECT_EQ(e->env[2].second, "x y");
  EXPECT_EQ(ParseCtl("nice")->nice, 10);
  EXPECT_EQ(ParseCtl("nice 5")->nice, 5);
  auto l = ParseCtl("limit cpu=2 mem=64m procs=10 time=1.5");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->limits.cpu_s, 2u);
  EXPECT_EQ(l->limits.mem, 64u << 20);
  EXPECT_EQ(l->limits.procs, 10u);
  EXPECT_EQ(l->limits.time_ms, 1500u);
  EXPECT_EQ(l->limits_set, 15u);
}

TEST(Ctl, MalformedMessagesSayWhy) {
  struct Case {
    const char* msg;
    const char* says;
  } cases[] = {
      {"", "empty"},
      {"frobnicate", "unknown ctl message"},
      {"exec", "missing command"},
      {"exec ''", "empty command"},
      {"exec 'unterminated", "unterminated"},
      {"kill now", "no arguments"},
      {"signal", "missing argument"},
      {"signal FOO", "bad signal name"},
      {"signal 0", "no signal number"},
      {"signal 1 2", "too many"},
      {"dir", "missing argument"},
      {"env", "missing"},
      {"env NOEQUALS", "NAME=VALUE"},
      {"env 1X=y", "bad variable name"},
      {"nice x", "increment"},
      {"nice 40", "increment"},
      {"limit", "missing"},
      {"limit cpu", "NAME=VALUE"},
      {"limit bogus=1", "unknown limit"},
      {"limit cpu=-1", "cpu"},
      {"limit time=abc", "time"},
      {"limit mem=1", "mem"},
  };
  for (const auto& c : cases) {
    auto m = ParseCtl(c.msg);
    ASSERT_FALSE(m.ok()) << c.msg;
    EXPECT_EQ(m.status().err(), EINVAL) << c.msg;
    EXPECT_NE(m.status().message().find(c.says), std::string::npos)
        << c.msg << " -> " << m.status().message();
  }
}

TEST(Ctl, Seconds) {
  EXPECT_EQ(*ParseSeconds("2"), 2000u);
  EXPECT_EQ(*ParseSeconds("0.25"), 250u);
  EXPECT_FALSE(ParseSeconds("0").ok());
  EXPECT_FALSE(ParseSeconds("-1").ok());
  EXPECT_FALSE(ParseSeconds("1x").ok());
}

}  // namespace
}  // namespace cmdfs
