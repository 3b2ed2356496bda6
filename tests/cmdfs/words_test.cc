// words_test.cc: the ctl tokenizer (rc/sh quoting) and its inverse.
#include "cmdfs/words.h"

#include <gtest/gtest.h>

namespace cmdfs {
namespace {

std::vector<std::string> W(std::string_view s) {
  auto r = Split(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().message();
  return r.ok() ? *r : std::vector<std::string>{};
}

TEST(Words, BlanksSeparate) {
  EXPECT_EQ(W("exec  echo\thello   world"),
            (std::vector<std::string>{"exec", "echo", "hello", "world"}));
  EXPECT_TRUE(W("   ").empty());
}

TEST(Words, RcSingleQuotes) {
  EXPECT_EQ(W("'hello world'"), (std::vector<std::string>{"hello world"}));
  EXPECT_EQ(W("'it''s'"), (std::vector<std::string>{"it's"}));
  EXPECT_EQ(W("''"), (std::vector<std::string>{""}));
  EXPECT_EQ(W("'a\\b \"c\"'"), (std::vector<std::string>{"a\\b \"c\""}));
}

TEST(Words, DoubleQuotesAndBackslash) {
  EXPECT_EQ(W("\"a b\" \"q\\\"x\" \"\\n\""), (std::vector<std::string>{"a b", "q\"x", "\\n"}));
  EXPECT_EQ(W("a\\ b c\\'d"), (std::vector<std::string>{"a b", "c'd"}));
  EXPECT_EQ(W("\"$HOME\""), (std::vector<std::string>{"$HOME"}));  // no expansion
}

TEST(Words, PartsConcatenate) {
  EXPECT_EQ(W("a'b c'\"d\"e"), (std::vector<std::string>{"ab cde"}));
}

TEST(Words, Errors) {
  for (const char* bad : {"'open", "\"open", "trail\\", "a\nb"}) {
    auto r = Split(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().err(), EINVAL);
  }
  EXPECT_FALSE(Split(std::string_view("a\0b", 3)).ok());
}

TEST(Words, QuoteRoundTrips) {
  for (std::string w :
       {"plain", "", "two words", "it's", "a\"b", "tab\there", "x$y", "/usr/bin/env"}) {
    auto r = Split(Quote(w));
    ASSERT_TRUE(r.ok()) << w;
    ASSERT_EQ(r->size(), 1u) << w;
    EXPECT_EQ((*r)[0], w);
  }
  EXPECT_EQ(Quote("plain"), "plain");
  EXPECT_EQ(Quote(""), "''");
  EXPECT_EQ(Quote("it's"), "'it''s'");
  EXPECT_EQ(QuoteLine("a\nb"), "'a?b'");
  EXPECT_EQ(JoinQuoted({"echo", "hello world"}), "echo 'hello world'");
}

}  // namespace
}  // namespace cmdfs
