// dial_test: ParseDial and FormatDial on good and bad dial strings, and
// ParseDialList on the clients' comma-separated address lists.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ninep/transport.h"

namespace ninep {
namespace {

struct Good {
  const char* in;
  DialAddr::Kind kind;
  const char* host;
  uint16_t port;
  const char* path;
  const char* formatted;
};

TEST(ParseDial, GoodStrings) {
  const Good cases[] = {
      {"tcp!127.0.0.1!5640", DialAddr::kTcp, "127.0.0.1", 5640, "", "tcp!127.0.0.1!5640"},
      {"tcp!example.org", DialAddr::kTcp, "example.org", 564, "", "tcp!example.org!564"},
      {"net!fs!9fs", DialAddr::kTcp, "fs", 564, "", "tcp!fs!564"},
      {"tcp!fs!564", DialAddr::kTcp, "fs", 564, "", "tcp!fs!564"},
      {"tcp!*!0", DialAddr::kTcp, "*", 0, "", "tcp!*!0"},
      {"tcp!::1!99", DialAddr::kTcp, "::1", 99, "", "tcp!::1!99"},
      {"tcp![::1]!99", DialAddr::kTcp, "::1", 99, "", "tcp!::1!99"},
      {"tcp!h!65535", DialAddr::kTcp, "h", 65535, "", "tcp!h!65535"},
      {"unix!/tmp/ns.glenda/fs", DialAddr::kUnix, "", 564, "/tmp/ns.glenda/fs",
       "unix!/tmp/ns.glenda/fs"},
      {"unix!relative/sock", DialAddr::kUnix, "", 564, "relative/sock", "unix!relative/sock"},
      {"localhost:5640", DialAddr::kTcp, "localhost", 5640, "", "tcp!localhost!5640"},
      {"127.0.0.2:9fs", DialAddr::kTcp, "127.0.0.2", 564, "", "tcp!127.0.0.2!564"},
      {"[::1]:5640", DialAddr::kTcp, "::1", 5640, "", "tcp!::1!5640"},
      {"[fe80::1]", DialAddr::kTcp, "fe80::1", 564, "", "tcp!fe80::1!564"},
      {"::1", DialAddr::kTcp, "::1", 564, "", "tcp!::1!564"},
      {"fileserver", DialAddr::kTcp, "fileserver", 564, "", "tcp!fileserver!564"},
      {"unix", DialAddr::kTcp, "unix", 564, "", "tcp!unix!564"},  // a host, not a network
      {"/run/9p.sock", DialAddr::kUnix, "", 564, "/run/9p.sock", "unix!/run/9p.sock"},
  };
  for (const Good& c : cases) {
    SCOPED_TRACE(c.in);
    auto r = ParseDial(c.in);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->kind, c.kind);
    if (c.kind == DialAddr::kTcp) {
      EXPECT_EQ(r->host, c.host);
      EXPECT_EQ(r->port, c.port);
    } else {
      EXPECT_EQ(r->path, c.path);
    }
    EXPECT_EQ(FormatDial(*r), c.formatted);
    // What FormatDial prints parses back to the same address.
    auto again = ParseDial(FormatDial(*r));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(FormatDial(*again), c.formatted);
  }
}

struct Bad {
  const char* in;
  const char* why;  // a substring of the error message
};

// Expects parse (returning a Result) to fail EINVAL on each case, giving
// its reason.
template <class Parse, size_t N>
void ExpectEinval(const Bad (&cases)[N], Parse parse) {
  for (const Bad& c : cases) {
    SCOPED_TRACE(c.in);
    Status s = parse(c.in).status();
    EXPECT_EQ(s.err(), EINVAL);
    EXPECT_NE(s.message().find(c.why), std::string::npos) << s.message();
  }
}

TEST(ParseDial, BadStringsGiveEinvalWithReason) {
  const Bad cases[] = {
      {"", "empty"},
      {"udp!host!53", "unknown network \"udp\""},
      {"il!host!17008", "unknown network"},
      {"!host!1", "missing network"},
      {"unix!", "unix without a path"},
      {"tcp!!564", "missing host"},
      {"tcp!host!", "missing port"},
      {"tcp!host!http", "not a number"},
      {"tcp!host!65536", "out of range"},
      {"tcp!host!99999999999", "out of range"},
      {"tcp!host!-1", "not a number"},
      {"tcp!a!1!2", "too many '!'"},
      {"host:", "missing port"},
      {":564", "missing host"},
      {"host:70000", "out of range"},
      {"[::1", "missing ']'"},
      {"[::1]x", "expected ':'"},
      {"[]:1", "missing host"},
      {"host name", "white space"},
  };
  ExpectEinval(cases, ParseDial);
}

TEST(ParseDialList, SplitsAtCommasKeepingEachSpelling) {
  auto one = ParseDialList("tcp!127.0.0.1!5640");
  ASSERT_TRUE(one.ok()) << one.status().message();
  EXPECT_EQ(*one, std::vector<std::string>{"tcp!127.0.0.1!5640"});
  auto three = ParseDialList("tcp!127.0.0.1!5640,h:5650,unix!/run/9p.sock");
  ASSERT_TRUE(three.ok()) << three.status().message();
  EXPECT_EQ(*three,
            (std::vector<std::string>{"tcp!127.0.0.1!5640", "h:5650", "unix!/run/9p.sock"}));
}

TEST(ParseDialList, AnyBadEntryFailsTheWholeList) {
  const Bad cases[] = {
      {"", "empty"},
      {"tcp!h!1,", "empty address"},
      {",tcp!h!1", "empty address"},
      {"tcp!h!1,,tcp!h!2", "empty address"},
      {"tcp!h!1,tcp!!564", "bad dial string \"tcp!!564\": missing host"},
      {"udp!h!53,tcp!h!1", "unknown network"},
  };
  ExpectEinval(cases, ParseDialList);
}

}  // namespace
}  // namespace ninep
