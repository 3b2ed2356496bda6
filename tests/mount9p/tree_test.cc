// tree_test.cc: unmodified programs through mount9p, each result compared
// with the same command on a local directory. Runs against bin/exportfs in
// both dialects and against
// Debian's diod (9P2000.L).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "mount_util.h"

namespace ninep::testing {
namespace {

struct ServerParam {
  const char* server;  // "exportfs" or "diod"
  bool dotl;
};

std::string ParamName(const ::testing::TestParamInfo<ServerParam>& p) {
  return std::string(p.param.server) + (p.param.dotl ? "_L" : "_9P2000");
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Replaces every occurrence of `from` in s by `to`.
std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) {
    s.replace(p, from.size(), to);
  }
  return s;
}

class Mount9pTreeTest : public ::testing::TestWithParam<ServerParam> {
 protected:
  void SetUp() override {
    const ServerParam& p = GetParam();
    std::vector<std::string> margs;
    std::string addr;
    if (std::string(p.server) == "diod") {
      addr = StartDiod(&server_, export_.path());
      margs = {"-A", export_.path()};
    } else {
      ASSERT_TRUE(Exists(Bin("exportfs"))) << "bin/exportfs is not built";
      addr = StartServer(&server_, "exportfs", {"-r", export_.path()});
    }
    ASSERT_FALSE(addr.empty()) << "server did not start";
    if (p.dotl) margs.push_back("-L");
    ASSERT_TRUE(mount_.Start(addr, margs)) << "mount9p did not mount " << addr;
    addr_ = addr;
    margs_ = margs;
    m_ = mount_.path();
    l_ = local_.path();
  }

  void TearDown() override {
    int st = mount_.Unmount();
    EXPECT_TRUE(Mount::CleanExit(st)) << "mount9p wait status " << st << " after unmount";
  }

  // Runs cmd (sh) in dir; returns its output (stdout and stderr) with dir
  // written as $D, and its exit status.
  static std::string RunIn(const std::string& dir, const std::string& cmd) {
    int st = 0;
    std::string out = Sh("cd '" + dir + "' && { " + cmd + "\n} 2>&1", &st);
    return ReplaceAll(out, dir, "$D") + "exit " + std::to_string(st) + "\n";
  }

  // Runs cmd in the local directory and in the mount: same output wanted.
  void Same(const std::string& cmd) {
    std::string want = RunIn(l_, cmd);
    std::string got = RunIn(m_, cmd);
    EXPECT_EQ(want, got) << "command: " << cmd;
  }

  bool dotl() const { return GetParam().dotl; }

  // A tree to copy in: files of awkward sizes, modes and times, nested
  // directories, and (9P2000.L) symlinks.
  std::string MakeSource() {
    std::string s = src_.path() + "/src";
    std::string cmd = "set -e; mkdir -p '" + s + "/d1/d2/d3' '" + s + "/empty'; cd '" + s +
                      "'; : > zero; echo hi > d1/small; head -c 4095 /dev/urandom > d1/p4095;"
                      " head -c 4096 /dev/urandom > d1/d2/p4096;"
                      " head -c 100000 /dev/urandom > d1/d2/d3/p100k;"
                      " head -c 1048583 /dev/urandom > big1m; chmod 600 d1/small;"
                      " chmod 755 big1m; touch -d '2020-05-06 07:08:09' d1/p4095";
    if (dotl()) cmd += "; ln -s d1/small link; ln -s /nonexistent dangling";
    int st;
    Sh(cmd, &st);
    EXPECT_EQ(st, 0);
    return s;
  }

  Process server_;
  TempDir export_, local_, src_;
  Mount mount_;
  std::string m_, l_;
  std::string addr_;                // the server's address
  std::vector<std::string> margs_;  // the mount9p flags the fixture used
};

TEST_P(Mount9pTreeTest, FilesAndErrors) {
  Same("mkdir -p a/b/c && echo made");
  Same("echo hello > a/f && cat a/f");
  Same("printf 'line1\\nline2\\n' > a/b/g && cat a/b/g && wc -c a/b/g");
  Same("ls a && ls a/b");
  Same("touch a/new && stat -c '%n %s %F' a/new");
  Same("touch -d '2021-02-03 04:05:06' a/f && stat -c '%n %Y' a/f");
  Same("chmod 640 a/f && stat -c '%n %a' a/f && chmod 755 a/b && stat -c '%n %a' a/b");
  // Without times: the trees were made seconds apart (times: stat above).
  Same("ls -l --time-style=+ a/f a/b/g a/new");
  if (dotl()) Same("ls -l --time-style=+ a");
  Same(
      "truncate -s 1000 a/f && stat -c %s a/f && truncate -s 3 a/f && cat a/f; echo; stat -c %s "
      "a/f");
  Same("echo one >> ap && echo two >> ap && cat ap && wc -l < ap");
  Same("sh -c 'for i in 1 2 3; do echo line $i >> s.txt; done; cat s.txt; wc -l < s.txt'");
  Same("printf abc > over && printf XY > over && cat over");
  // Errors, with the text of the errno.
  Same("ls missing");
  Same("cat a/missing");
  Same("mkdir a");
  Same("rmdir a");
  Same("rm a/b");
  Same("cat a/b");
  Same("mkdir missing/x");
  Same("echo x > missing/y");
}

TEST_P(Mount9pTreeTest, TreesAndTools) {
  std::string src = MakeSource();
  Same("cp -a '" + src + "' copy && echo copied");
  Same("find copy | sort");
  Same("find copy -type f | sort | xargs stat -c '%n %s %a %Y'");
  Same("find copy -type d | sort | xargs stat -c '%n %a %Y'");
  Same("cd copy && find . -type f | sort | xargs sha256sum");
  Same("find copy -type f | sort | xargs du -b");
  Same("find copy -name 'p4*' -size +1k | sort");
  if (dotl()) Same("du -s copy && du -a copy | sort -k2");
  if (dotl()) Same("readlink copy/link copy/dangling && cat copy/link");
  // tar c through the mount, then tar x into it.
  Same("tar -C copy -cf - . | tar -tvf - | sort -k6");
  std::string tarball = src_.path() + "/src.tar";
  int st;
  Sh("tar -C '" + src + "' -cf '" + tarball + "' .", &st);
  ASSERT_EQ(st, 0);
  Same("mkdir untar && tar -C untar -xf '" + tarball + "' && echo untarred");
  Same(
      "cd untar && find . | sort | xargs stat -c '%n %F %a' && find . -type f | sort | xargs "
      "sha256sum");
  // mv within a directory and across directories, rm -r.
  Same("mv copy/d1/small copy/d1/small2 && ls copy/d1");
  Same("mv copy/d1/small2 copy/moved && ls copy && cat copy/moved");
  Same("mv copy/d1 renamed && find renamed | sort");
  Same("rm -r renamed untar && ls");
  Same("mkdir -p x/y/z && rm -r x && ls");
}

TEST_P(Mount9pTreeTest, ManyEntriesListedWithAttributes) {
  // Several readdir(plus) batches, names of every length up to 200.
  Same(
      "mkdir big && cd big && for i in $(seq 1 250); do n=$(printf 'f%0*d' $((i % 200 + 1)) $i);"
      " echo $i > $n; done; ls | wc -l");
  // (The "total" line counts blocks, which 9P2000 does not carry; times
  // are left out: the two trees were made seconds apart, maybe across a
  // minute boundary, and times are compared by the timestamp tests.)
  Same("ls -l --time-style=+ big | sed 1d | md5sum");
  Same("find big -type f -printf '%P %s %m %y\\n' | sort | md5sum");
  Same("cat big/* | sort -n | tail -1");
  Same("rm -r big && ls");
}

TEST_P(Mount9pTreeTest, SymlinksAndLinks) {
  if (!dotl()) {
    // 9P2000 has no symlinks: the attempt fails cleanly.
    int st;
    Sh("cd '" + m_ + "' && ln -s target lnk 2>/dev/null", &st);
    EXPECT_NE(st, 0);
    return;
  }
  Same("echo data > t && ln -s t lnk && readlink lnk && cat lnk && stat -c '%N' lnk");
  Same("ln -s ../elsewhere/x dangling && readlink dangling && cat dangling");
  Same("mkdir d && ln -s d dl && ls dl/ && echo in > dl/f && cat d/f");
  Same("rm lnk && ls");
}

TEST_P(Mount9pTreeTest, LargeFileBothWays) {
  // 256 MiB keeps the suite fast; the benchmark moves 1 GiB.
  std::string big = src_.path() + "/big";
  int st;
  Sh("head -c 268435456 /dev/urandom > '" + big + "'", &st);
  ASSERT_EQ(st, 0);
  Sh("dd if='" + big + "' of='" + m_ + "/big' bs=1M 2>/dev/null", &st);
  ASSERT_EQ(st, 0) << "dd into the mount";
  Sh("dd if='" + m_ + "/big' of='" + l_ + "/big2' bs=1M 2>/dev/null", &st);
  ASSERT_EQ(st, 0) << "dd out of the mount";
  Sh("cmp '" + big + "' '" + l_ + "/big2'", &st);
  EXPECT_EQ(st, 0) << "data read back differs";
  struct stat sb;
  ASSERT_EQ(stat((m_ + "/big").c_str(), &sb), 0);
  EXPECT_EQ(sb.st_size, 268435456);
  // Odd sizes and offsets: dd with a block size that is not a page multiple.
  Sh("dd if='" + big + "' of='" + m_ + "/odd' bs=100003 count=37 skip=3 2>/dev/null && dd if='" +
         big + "' of='" + l_ + "/odd' bs=100003 count=37 skip=3 2>/dev/null && cmp '" + m_ +
         "/odd' '" + l_ + "/odd'",
     &st);
  EXPECT_EQ(st, 0);
}

TEST_P(Mount9pTreeTest, CloseToOpenSeesChangesMadeOnTheServer) {
  std::string e = export_.path(), m = m_;
  WriteFile(e + "/c2o", "first version\n");
  EXPECT_EQ(ReadFile(m + "/c2o"), "first version\n");
  EXPECT_EQ(ReadFile(m + "/c2o"), "first version\n");  // now from the page cache
  // Same size, new bytes, changed behind the mount's back.
  WriteFile(e + "/c2o", "other version\n");
  int st;
  Sh("touch -d '2001-01-01' '" + e + "/c2o'", &st);  // a different mtime whatever the clock
  EXPECT_EQ(ReadFile(m + "/c2o"), "other version\n");
  // Grown: the next open sees every byte, though attributes were cached.
  struct stat sb;
  ASSERT_EQ(stat((m + "/c2o").c_str(), &sb), 0);
  WriteFile(e + "/c2o", "other version\nand a second line\n");
  EXPECT_EQ(ReadFile(m + "/c2o"), "other version\nand a second line\n");
}

TEST_P(Mount9pTreeTest, DirectIoSeesServerChangesWhileOpen) {
  // With direct I/O every read goes to the server, even on a file held
  // open: -o direct=GLOB for matching files, -o cache=none for all.
  std::string f = export_.path() + "/live.log";
  for (const char* opt : {"direct=*.log", "cache=none"}) {
    WriteFile(f, "aaaa\n");
    Mount m2;
    std::vector<std::string> args = margs_;
    args.push_back("-o");
    args.push_back(opt);
    ASSERT_TRUE(m2.Start(addr_, args)) << opt;
    int fd = open((m2.path() + "/live.log").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0) << opt;
    char buf[16] = {};
    EXPECT_EQ(pread(fd, buf, sizeof buf, 0), 5) << opt;
    EXPECT_EQ(std::string(buf, 5), "aaaa\n") << opt;
    WriteFile(f, "bbbb\n");
    EXPECT_EQ(pread(fd, buf, sizeof buf, 0), 5) << opt;
    EXPECT_EQ(std::string(buf, 5), "bbbb\n") << opt;
    close(fd);
    EXPECT_TRUE(Mount::CleanExit(m2.Unmount())) << opt;
  }
}

INSTANTIATE_TEST_SUITE_P(Servers, Mount9pTreeTest,
                         ::testing::Values(ServerParam{"exportfs", false},
                                           ServerParam{"exportfs", true},
                                           ServerParam{"diod", true}),
                         ParamName);

}  // namespace
}  // namespace ninep::testing
