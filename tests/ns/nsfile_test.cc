// nsfile_test.cc: the namespace-file parser: words, quotes, variables,
// comments, includes and their loops, every error with FILE:LINE, and
// FormatOp reading back as the same Op.
#include "ns/nsfile.h"

#include <gtest/gtest.h>

#include <map>

#include "testutil.h"

namespace ns {
namespace {

using ninep::testing::TempDir;
using ninep::testing::WriteFile;

EnvLookup Env(const std::map<std::string, std::string>& m) {
  return [m](std::string_view name) -> std::optional<std::string> {
    auto it = m.find(std::string(name));
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<std::string> Words(std::string_view line, const EnvLookup& env = Env({})) {
  auto w = SplitWords(line, env);
  EXPECT_TRUE(w.ok()) << w.status().message();
  return w.ok() ? *w : std::vector<std::string>{};
}

TEST(SplitWords, BlanksQuotesAndComments) {
  EXPECT_EQ(Words("  bind\t-a  /a /b  "), (std::vector<std::string>{"bind", "-a", "/a", "/b"}));
  EXPECT_EQ(Words("bind '/a b' /c # a comment"), (std::vector<std::string>{"bind", "/a b", "/c"}));
  EXPECT_EQ(Words("bind 'it''s' x'#'y"), (std::vector<std::string>{"bind", "it's", "x#y"}));
  EXPECT_EQ(Words("bind '' x"), (std::vector<std::string>{"bind", "", "x"}));
  EXPECT_TRUE(Words("# only a comment").empty());
  EXPECT_TRUE(Words("").empty());
  // A # inside a word is part of it, as in rc.
  EXPECT_EQ(Words("a#b"), (std::vector<std::string>{"a#b"}));
}

TEST(SplitWords, Variables) {
  auto env = Env({{"home", "/usr/glenda"}, {"x", "a b"}});
  EXPECT_EQ(Words("bind $home/bin ${home}x", env),
            (std::vector<std::string>{"bind", "/usr/glenda/bin", "/usr/glendax"}));
  // A value is one word even with blanks; quotes stop expansion.
  EXPECT_EQ(Words("$x '$x'", env), (std::vector<std::string>{"a b", "$x"}));
}

TEST(SplitWords, Errors) {
  auto env = Env({});
  auto r = SplitWords("bind 'oops /b", env);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "unclosed quote");
  r = SplitWords("bind $nope /b", env);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "$nope is not set");
  EXPECT_FALSE(SplitWords("bind ${x /b", env).ok());
  EXPECT_FALSE(SplitWords("bind $ /b", env).ok());
  EXPECT_FALSE(SplitWords("bind ${a-b} /b", env).ok());
}

TEST(ParseOp, Flags) {
  auto op = ParseOp({"bind", "-ac", "/n", "/o"});
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->kind, Op::Kind::kBind);
  EXPECT_TRUE(op->after && op->create && !op->before && !op->quiet);
  EXPECT_TRUE(op->Union());
  op = ParseOp({"mount", "-b", "-L", "-q", "tcp!h!1", "/n", "aname"});
  ASSERT_TRUE(op.ok());
  EXPECT_TRUE(op->before && op->dotl && op->quiet);
  EXPECT_EQ(op->args, (std::vector<std::string>{"tcp!h!1", "/n", "aname"}));
  op = ParseOp({"bind", "--", "-odd", "/o"});
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->args[0], "-odd");
  op = ParseOp({"unmount", "/o"});
  ASSERT_TRUE(op.ok());
  EXPECT_EQ(op->kind, Op::Kind::kUnmount);
  EXPECT_TRUE(ParseOp({"clear"}).ok());
  EXPECT_TRUE(ParseOp({"cd", "/x"}).ok());
  EXPECT_FALSE(op->Union());
}

TEST(ParseOp, Errors) {
  auto msg = [](const std::vector<std::string>& w) {
    auto op = ParseOp(w);
    EXPECT_FALSE(op.ok());
    return op.ok() ? std::string() : op.status().message();
  };
  EXPECT_EQ(msg({"bnid", "/a", "/b"}), "unknown operation bnid");
  EXPECT_EQ(msg({"bind", "-x", "/a", "/b"}), "bind: unknown flag -x");
  EXPECT_EQ(msg({"bind", "-L", "/a", "/b"}), "bind: unknown flag -L");
  EXPECT_EQ(msg({"bind", "-ab", "/a", "/b"}), "bind: -a and -b together");
  EXPECT_EQ(msg({"bind", "/a"}), "usage: bind [-abcq] NEW OLD");
  EXPECT_EQ(msg({"mount", "a", "b", "c", "d"}), "usage: mount [-abcqL] ADDR OLD [ANAME]");
  EXPECT_EQ(msg({"clear", "x"}), "usage: clear");
  EXPECT_EQ(msg({"bind", "", "/b"}), "bind: empty operand");
}

TEST(ParseFile, IncludesVariablesAndLines) {
  TempDir d;
  WriteFile(d.path() + "/main.ns",
            "# the main file\n"
            "bind -a $dir/bin /bin\n"
            "\n"
            ". inc.ns\n"
            "mount -L 'tcp!127.0.0.1!5640' /n/remote   # a comment\n");
  WriteFile(d.path() + "/inc.ns", "bind -bc '/with space' /tmp\ncd /\n");
  auto ops = ParseFile(d.path() + "/main.ns", Env({{"dir", "/opt"}}));
  ASSERT_TRUE(ops.ok()) << ops.status().message();
  ASSERT_EQ(ops->size(), 4U);
  EXPECT_EQ((*ops)[0].args, (std::vector<std::string>{"/opt/bin", "/bin"}));
  EXPECT_EQ((*ops)[0].Where(), d.path() + "/main.ns:2");
  EXPECT_EQ((*ops)[1].args[0], "/with space");
  EXPECT_EQ((*ops)[1].Where(), d.path() + "/inc.ns:1");
  EXPECT_EQ((*ops)[2].kind, Op::Kind::kCd);
  EXPECT_EQ((*ops)[3].Where(), d.path() + "/main.ns:5");
  EXPECT_TRUE((*ops)[3].dotl);
}

TEST(ParseFile, ErrorsNameFileAndLine) {
  TempDir d;
  const std::string f = d.path() + "/bad.ns";
  WriteFile(f, "bind /a /b\n\nbind -z /a /b\n");
  auto ops = ParseFile(f, Env({}));
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(ops.status().message(), f + ":3: bind: unknown flag -z");

  WriteFile(f, "bind /a /b\nbind $undefined /b\n");
  ops = ParseFile(f, Env({}));
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(ops.status().message(), f + ":2: $undefined is not set");

  WriteFile(f, "bind 'x /b\n");
  ops = ParseFile(f, Env({}));
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(ops.status().message(), f + ":1: unclosed quote");

  WriteFile(f, "bind /a /b\n. nothere.ns\n");
  ops = ParseFile(f, Env({}));
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(ops.status().message(),
            f + ":2: " + d.path() + "/nothere.ns: No such file or directory");

  ops = ParseFile(d.path() + "/missing.ns", Env({}));
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(ops.status().err(), ENOENT);
}

TEST(ParseFile, IncludeLoopIsAnError) {
  TempDir d;
  WriteFile(d.path() + "/a.ns", "bind /a /b\n. b.ns\n");
  WriteFile(d.path() + "/b.ns", "\n\n. a.ns\n");
  auto ops = ParseFile(d.path() + "/a.ns", Env({}));
  ASSERT_FALSE(ops.ok());
  EXPECT_EQ(ops.status().err(), ELOOP);
  EXPECT_NE(ops.status().message().find("/b.ns:3: include loop: "), std::string::npos)
      << ops.status().message();
  // A file including itself is the shortest loop.
  WriteFile(d.path() + "/self.ns", ". self.ns\n");
  EXPECT_EQ(ParseFile(d.path() + "/self.ns", Env({})).status().err(), ELOOP);
  // Including one file twice, not nested, is no loop.
  WriteFile(d.path() + "/twice.ns", ". c.ns\n. c.ns\n");
  WriteFile(d.path() + "/c.ns", "bind /x /y\n");
  auto twice = ParseFile(d.path() + "/twice.ns", Env({}));
  ASSERT_TRUE(twice.ok()) << twice.status().message();
  EXPECT_EQ(twice->size(), 2U);
}

TEST(ParseLine, CommandLineOps) {
  auto ops = ParseLine("bind -b /a /b", "-e", 2, Env({}));
  ASSERT_TRUE(ops.ok());
  ASSERT_EQ(ops->size(), 1U);
  EXPECT_EQ((*ops)[0].Where(), "-e:2");
  auto bad = ParseLine("bind /a", "-e", 3, Env({}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "-e:3: usage: bind [-abcq] NEW OLD");
  EXPECT_TRUE(ParseLine("  # nothing", "-e", 1, Env({}))->empty());
}

TEST(FormatOp, ReadsBackTheSame) {
  for (const std::vector<std::string>& words : {
           std::vector<std::string>{"bind", "-bc", "/a b", "/it's"},
           std::vector<std::string>{"mount", "-aL", "tcp!127.0.0.1!5640", "/n/$x", "#aname"},
           std::vector<std::string>{"unmount", "/a", "/b"},
           std::vector<std::string>{"bind", "--", "-dash", "/b"},
           std::vector<std::string>{"clear"},
       }) {
    auto op = ParseOp(words);
    ASSERT_TRUE(op.ok()) << op.status().message();
    const std::string line = FormatOp(*op);
    auto back = ParseLine(line, "-e", 1, Env({}));
    ASSERT_TRUE(back.ok()) << line << ": " << back.status().message();
    ASSERT_EQ(back->size(), 1U) << line;
    const Op& b = (*back)[0];
    EXPECT_EQ(b.args, op->args) << line;
    EXPECT_EQ(FormatOp(b), line);
  }
  EXPECT_EQ(Quote("plain/path"), "plain/path");
  EXPECT_EQ(Quote("it's"), "'it''s'");
  EXPECT_EQ(Quote(""), "''");
}

}  // namespace
}  // namespace ns
