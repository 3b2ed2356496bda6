// cmd9p_test.cc: every verb of bin/9p against real servers (bin/ramfs, and
// bin/exportfs when it is built) in both dialects, run as a real process.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "run9p.h"

namespace ninep::testing {
namespace {

struct Target {
  std::string server;
  bool dotl;
};

std::string TargetName(const ::testing::TestParamInfo<Target>& i) {
  return i.param.server + (i.param.dotl ? "_9P2000L" : "_9P2000");
}

class Cmd9pTest : public ::testing::TestWithParam<Target> {
 protected:
  void SetUp() override { ASSERT_TRUE(srv_.Start(GetParam().server)) << GetParam().server; }

  // argv for bin/9p with the global flags for this target, then `args`.
  std::vector<std::string> Argv(const std::vector<std::string>& args,
                                const std::vector<std::string>& global = {}) {
    std::vector<std::string> v{Bin("9p"), "-a", srv_.addr()};
    if (GetParam().dotl) v.push_back("-L");
    if (!srv_.aname().empty()) v.insert(v.end(), {"-A", srv_.aname()});
    v.insert(v.end(), global.begin(), global.end());
    v.insert(v.end(), args.begin(), args.end());
    return v;
  }

  // Runs bin/9p with `input` as its stdin.
  RunResult Run(const std::vector<std::string>& args, const std::string& input = "",
                const std::vector<std::string>& global = {}) {
    std::string in = tmp_.path() + "/stdin";
    WriteFile(in, input);
    return RunCmd(Argv(args, global), in);
  }

  // Runs bin/9p, expects success and returns its stdout.
  std::string Ok(const std::vector<std::string>& args, const std::string& input = "") {
    RunResult r = Run(args, input);
    EXPECT_EQ(r.status, 0) << args[0] << ": " << r.err;
    EXPECT_EQ(r.err, "") << args[0];
    return r.out;
  }

  bool dotl() const { return GetParam().dotl; }

  TestServer srv_;
  TempDir tmp_;
};

TEST_P(Cmd9pTest, WriteTruncatesAndReadReturnsTheBytes) {
  Ok({"create", "/f"});
  Ok({"write", "/f"}, "hello, world\n");
  EXPECT_EQ(Ok({"read", "/f"}), "hello, world\n");
  Ok({"write", "/f"}, "bye\n");  // shorter: the old tail must be gone
  EXPECT_EQ(Ok({"read", "/f"}), "bye\n");
  Ok({"write", "-a", "/f"}, "more\n");
  EXPECT_EQ(Ok({"read", "/f"}), "bye\nmore\n");
  EXPECT_EQ(Ok({"readfd", "/f"}), "bye\nmore\n");
  Ok({"write", "/f"}, "");
  EXPECT_EQ(Ok({"read", "/f"}), "");
  if (srv_.kind() == "exportfs") {
    EXPECT_EQ(ReadFile(srv_.dir() + "/f"), "");
  }
  // A missing file is created, as the shell's > would.
  Ok({"write", "/fresh"}, "new\n");
  EXPECT_EQ(Ok({"read", "/fresh"}), "new\n");
  Ok({"write", "-a", "/fresh2"}, "appended\n");
  EXPECT_EQ(Ok({"read", "/fresh2"}), "appended\n");
}

TEST_P(Cmd9pTest, WritefdSendsStdin) {
  Ok({"create", "/w"});
  std::string data(100000, 'x');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>('a' + i % 26);
  Ok({"writefd", "/w"}, data);
  EXPECT_EQ(Ok({"read", "/w"}), data);
}

TEST_P(Cmd9pTest, LsListsSortedNamesAndLongForm) {
  Ok({"create", "/b", "/a"});
  Ok({"mkdir", "/d"});
  Ok({"write", "/a"}, "12345");
  EXPECT_EQ(Ok({"ls"}), "a\nb\nd\n");
  EXPECT_EQ(Ok({"ls", "/"}), "a\nb\nd\n");
  std::string n = Ok({"ls", "-n", "/"});
  EXPECT_EQ(n.size(), 6u);
  EXPECT_NE(n.find("a\n"), std::string::npos);
  EXPECT_EQ(Ok({"ls", "-d", "/d"}), "/d\n");
  EXPECT_EQ(Ok({"ls", "/a"}), "/a\n");
  EXPECT_EQ(Ok({"ls", "/d"}), "");
  EXPECT_EQ(Ok({"ls", "/a", "/b"}), "/a\n/b\n");
  // Plan 9's long form: mode, M, dev, uid, gid, length, a three-word date
  // (time of day or year last), name.
  std::vector<std::string> l = Lines(Ok({"ls", "-l", "/"}));
  ASSERT_EQ(l.size(), 3u);
  auto check = [](const std::string& line, const std::string& mode_prefix, const std::string& name,
                  const std::string& len) {
    std::vector<std::string> w = Words(line);
    ASSERT_EQ(w.size(), 10u) << line;
    EXPECT_EQ(w[0].size(), 11u) << line;
    EXPECT_EQ(w[0].rfind(mode_prefix, 0), 0u) << line;
    EXPECT_EQ(w[1], "M") << line;
    EXPECT_TRUE(IsNumber(w[2])) << line;
    if (!len.empty()) {
      EXPECT_EQ(w[5], len) << line;
    }
    EXPECT_TRUE(IsNumber(w[5])) << line;
    EXPECT_EQ(w[6].size(), 3u) << line;
    EXPECT_TRUE(IsNumber(w[7])) << line;
    EXPECT_TRUE(w[8].size() == 5 ? w[8][2] == ':' : IsNumber(w[8])) << line;
    EXPECT_EQ(w[9], name) << line;
  };
  check(l[0], "--rw-", "a", "5");
  check(l[2], "d-rwx", "d", "");
  std::vector<std::string> ld = Lines(Ok({"ls", "-ld", "/a"}));
  ASSERT_EQ(ld.size(), 1u);
  check(ld[0], "--rw-", "/a", "5");
}

TEST_P(Cmd9pTest, StatPrintsTheDialectsFields) {
  Ok({"create", "/s"});
  Ok({"write", "/s"}, "12345");
  std::string s = Ok({"stat", "/s"});
  EXPECT_EQ(s.rfind("'s' ", 0), 0u) << s;
  if (dotl()) {
    EXPECT_NE(s.find(" size 5 "), std::string::npos) << s;
    EXPECT_NE(s.find(" mode 0100"), std::string::npos) << s;
    EXPECT_NE(s.find(" mtime "), std::string::npos) << s;
  } else {
    EXPECT_NE(s.find(" l 5 "), std::string::npos) << s;
    EXPECT_NE(s.find(" q ("), std::string::npos) << s;
    EXPECT_NE(s.find(" mt "), std::string::npos) << s;
  }
  std::string d = Ok({"stat", "/"});
  EXPECT_NE(d.find(dotl() ? " mode 040" : " m 020000000"), std::string::npos) << d;
}

TEST_P(Cmd9pTest, CreateWithPermAndDirectories) {
  Ok({"create", "-p", "600", "/p"});
  Ok({"create", "-d", "/dd"});
  Ok({"create", "/dd/inner"});
  std::string s = Ok({"stat", "/p"});
  EXPECT_NE(s.find(dotl() ? " mode 0100600 " : " m 0600 "), std::string::npos) << s;
  EXPECT_EQ(Ok({"ls", "/dd"}), "inner\n");
  RunResult r = Run({"create", "-p", "999", "/q"});
  EXPECT_EQ(r.status, 2);
  if (srv_.kind() == "exportfs") {
    struct stat st;
    ASSERT_EQ(stat((srv_.dir() + "/p").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
  }
}

TEST_P(Cmd9pTest, MkdirParentsAndRecursiveRemove) {
  Ok({"mkdir", "-p", "/x/y/z"});
  Ok({"mkdir", "-p", "/x/y/z"});  // existing directories are fine
  Ok({"create", "/x/y/z/f", "/x/g"});
  EXPECT_EQ(Ok({"ls", "/x"}), "g\ny\n");
  RunResult r = Run({"rm", "/x"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err.rfind("9p: /x: ", 0), 0u) << r.err;
  Ok({"rm", "-r", "/x"});
  EXPECT_EQ(Ok({"ls", "/"}), "");
  Ok({"rm", "-f", "/x"});
  EXPECT_EQ(Run({"rm", "/x"}).status, 1);
}

TEST_P(Cmd9pTest, MvRenamesAndMovesAcrossDirectoriesInDotL) {
  Ok({"create", "/m1"});
  Ok({"write", "/m1"}, "payload");
  Ok({"mv", "/m1", "/m2"});
  EXPECT_EQ(Ok({"read", "/m2"}), "payload");
  EXPECT_EQ(Run({"read", "/m1"}).status, 1);
  Ok({"mkdir", "/dir"});
  RunResult r = Run({"mv", "/m2", "/dir"});
  if (dotl() && srv_.kind() == "ramfs") {
    // ramfs renames only within a directory and says so (EXDEV).
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "9p: /m2: cross-device link\n");
  } else if (dotl()) {
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(Ok({"read", "/dir/m2"}), "payload");
    Ok({"mv", "/dir/m2", "/m3"});
    EXPECT_EQ(Ok({"ls", "/"}), "dir\nm3\n");
  } else {
    EXPECT_EQ(r.status, 1);
    EXPECT_NE(r.err.find("another directory"), std::string::npos) << r.err;
    EXPECT_EQ(Ok({"ls", "/"}), "dir\nm2\n");
  }
}

TEST_P(Cmd9pTest, ChmodOctalAndSymbolic) {
  Ok({"create", "/c"});
  Ok({"chmod", "640", "/c"});
  EXPECT_NE(Ok({"stat", "/c"}).find(dotl() ? " mode 0100640 " : " m 0640 "), std::string::npos);
  Ok({"chmod", "u+x,o+r", "/c"});
  EXPECT_NE(Ok({"stat", "/c"}).find(dotl() ? " mode 0100744 " : " m 0744 "), std::string::npos);
  EXPECT_EQ(Run({"chmod", "zz", "/c"}).status, 2);
  EXPECT_EQ(Run({"chmod", "600", "/none"}).status, 1);
}

TEST_P(Cmd9pTest, MissingFileIsOneLineAndExitOne) {
  for (const char* verb : {"read", "readfd", "stat", "ls", "rm"}) {
    RunResult r = Run({verb, "/nope"});
    EXPECT_EQ(r.status, 1) << verb;
    EXPECT_EQ(r.err, "9p: /nope: file does not exist\n") << verb;
    EXPECT_EQ(r.out, "") << verb;
  }
  RunResult r = Run({"write", "/no/such"}, "x");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "9p: /no/such: file does not exist\n");
}

TEST_P(Cmd9pTest, RdwrWritesEachLineAndPrintsTheReply) {
  Ok({"create", "/ctl"});
  // ramfs echoes back what was written at offset 0: a ctl-style exchange.
  EXPECT_EQ(Ok({"rdwr", "/ctl"}, "ping\npong\nabcd\n"), "ping\npong\nabcd\n");
  EXPECT_EQ(Run({"rdwr", "/nope"}, "x\n").status, 1);
}

TEST_P(Cmd9pTest, SessionKeepsFidsAcrossLines) {
  Ok({"create", "/num"});
  Ok({"write", "/num"}, "42\n");
  std::string script =
      "# a comment, then a blank line\n"
      "\n"
      "create /s1\n"
      "open h /s1 rw\n"
      "write h hello\n"
      "seek h 0\n"
      "read h\n"
      "echo\n"
      "writeln h  there\n"
      "seek h 0\n"
      "readall h\n"
      "open n /num\n"
      "let v n\n"
      "close n\n"
      "mkdir '/dir'$v\n"
      "echo got $v \"${v}x\"\n"
      "ls /\n"
      "read /s1\n"
      "close h\n"
      "write /s1 replaced\n"
      "read /s1\n";
  RunResult r = Run({"session"}, script, {"-D"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "hello\n"
            "hellothere\n"
            "got 42 42x\n"
            "dir42\nnum\ns1\n"
            "hellothere\n"
            "replaced");
  // One connection, and the handle was opened once however often it was
  // used: the fid lived across lines.
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t p = 0; (p = r.err.find(what, p)) != std::string::npos; p++) n++;
    return n;
  };
  EXPECT_EQ(count("Tversion"), 1u);
  EXPECT_EQ(count("Tattach"), 1u);
  // /s1 is walked to once for the handle, then once each for the read,
  // write and read by path: using the handle walks nothing.
  EXPECT_EQ(count("nwname 1 s1"), 4u) << r.err;
}

TEST_P(Cmd9pTest, SessionReportsErrorsAndGoesOnUnlessE) {
  std::string script = "readall zz\nopen f /nope\nmkdir /made\n";
  RunResult r = Run({"session"}, script);
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "9p: zz: not open\n9p: /nope: file does not exist\n");
  EXPECT_EQ(Ok({"ls", "/"}), "made\n");
  r = Run({"session", "-e"}, "readall zz\nmkdir /later\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(Ok({"ls", "/"}), "made\n");
}

TEST_P(Cmd9pTest, TraceAndMsizeAndAddressFromEnvironment) {
  RunResult r = Run({"ls", "/"}, "", {"-D", "-m", "64k"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("Tversion"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("msize 65536"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Rattach"), std::string::npos) << r.err;
  std::vector<std::string> argv{Bin("9p")};
  if (dotl()) argv.push_back("-L");
  argv.insert(argv.end(), {"mkdir", "/viaenv"});
  r = RunCmd(argv, "", "", 30, {"NINEP_ADDR=" + srv_.addr()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Ok({"ls", "/"}), "viaenv\n");
  r = RunCmd({Bin("9p"), "ls"}, "", "", 30, {"NINEP_ADDR="});
  EXPECT_EQ(r.status, 2);
}

// The most requests of one kind outstanding at once in a -D trace.
size_t MaxInFlight(const std::string& trace, const std::string& t, const std::string& r) {
  size_t now = 0, most = 0;
  for (size_t p = 0, nl; (nl = trace.find('\n', p)) != std::string::npos; p = nl + 1) {
    std::string line = trace.substr(p, nl - p);
    if (line.find("-> " + t + " ") != std::string::npos) most = std::max(most, ++now);
    if (line.find("<- " + r + " ") != std::string::npos && now > 0) now--;
  }
  return most;
}

TEST_P(Cmd9pTest, ReadAndWritePipelineWhileReadfdAndWritefdDoOneAtATime) {
  std::string data(3 << 20, '\0');
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<char>(i % 251);
  RunResult w = Run({"write", "/p"}, data, {"-D", "-m", "64k"});
  ASSERT_EQ(w.status, 0);
  EXPECT_GT(MaxInFlight(w.err, "Twrite", "Rwrite"), 1u);
  RunResult r = Run({"read", "/p"}, "", {"-D", "-m", "64k"});
  ASSERT_EQ(r.status, 0);
  EXPECT_TRUE(r.out == data);
  EXPECT_GT(MaxInFlight(r.err, "Tread", "Rread"), 1u);
  RunResult rf = Run({"readfd", "/p"}, "", {"-D", "-m", "64k"});
  ASSERT_EQ(rf.status, 0);
  EXPECT_TRUE(rf.out == data);
  EXPECT_EQ(MaxInFlight(rf.err, "Tread", "Rread"), 1u);
  RunResult wf = Run({"writefd", "/p"}, data, {"-D", "-m", "64k"});
  ASSERT_EQ(wf.status, 0);
  EXPECT_EQ(MaxInFlight(wf.err, "Twrite", "Rwrite"), 1u);
  EXPECT_TRUE(Ok({"read", "/p"}) == data);
}

// 200 MiB in and out through pipes at msize 1 MiB: the bytes survive and
// bin/9p's memory stays bounded whatever the file's size.
TEST_P(Cmd9pTest, StreamsLargeFilesInConstantMemory) {
#ifdef __SANITIZE_THREAD__
  // Under ThreadSanitizer the code runs 5 to 15 times slower and carries
  // shadow memory of its own: stream 16 MiB for the races, and leave the
  // memory bound to the other builds.
  const int kMiB = 16;
#else
  const int kMiB = 200;
#endif
  const std::string src = tmp_.path() + "/big.in", dst = tmp_.path() + "/big.out";
  {
    std::vector<uint64_t> block(1 << 17);  // 1 MiB of xorshift
    uint64_t x = 88172645463325252ull;
    FILE* f = fopen(src.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    for (int mb = 0; mb < kMiB; mb++) {
      for (auto& w : block) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        w = x;
      }
      ASSERT_EQ(fwrite(block.data(), 8, block.size(), f), block.size());
    }
    fclose(f);
  }
  // Under AddressSanitizer, freed buffers wait in a quarantine (256 MiB by
  // default): shrink it, so the same bound holds (about 26 MiB measured).
  std::vector<std::string> env;
  [[maybe_unused]] const long limit_kb = 64 * 1024;  // not checked under TSan
#ifdef __SANITIZE_ADDRESS__
  const char* asan = getenv("ASAN_OPTIONS");
  env.push_back(std::string("ASAN_OPTIONS=") + (asan ? asan : "") +
                ":quarantine_size_mb=4:thread_local_quarantine_size_kb=256");
#endif
  Ok({"create", "/big"});
  RunResult w = RunMeasured(Argv({"write", "/big"}, {"-m", "1m"}), src, "", 120, env);
  EXPECT_EQ(w.status, 0) << w.err;
  EXPECT_GT(w.maxrss_kb, 0) << "no RSS figure";
  RunResult r = RunMeasured(Argv({"read", "/big"}, {"-m", "1m"}), "", dst, 120, env);
  EXPECT_EQ(r.status, 0) << r.err;
#ifndef __SANITIZE_THREAD__
  EXPECT_LT(w.maxrss_kb, limit_kb) << "write peak RSS";
  EXPECT_LT(r.maxrss_kb, limit_kb) << "read peak RSS";
#endif
  int st = -1;
  Sh("cmp -s '" + src + "' '" + dst + "'", &st);
  EXPECT_EQ(st, 0) << "bytes read back differ";
  if (srv_.kind() == "exportfs") {
    Sh("cmp -s '" + src + "' '" + srv_.dir() + "/big'", &st);
    EXPECT_EQ(st, 0) << "bytes on disk differ";
  }
  fprintf(stderr,
          "[ stream ] %d MiB write %.2fs (%.0f MB/s, %ld KiB RSS), read %.2fs (%.0f MB/s, %ld KiB "
          "RSS)\n",
          kMiB, w.secs, kMiB * 1.048576 / w.secs, w.maxrss_kb, r.secs, kMiB * 1.048576 / r.secs,
          r.maxrss_kb);
}

std::vector<Target> Targets() {
  std::vector<Target> t{{"ramfs", false}, {"ramfs", true}};
#ifdef NINEP_HAVE_EXPORTFS
  t.push_back({"exportfs", false});
  t.push_back({"exportfs", true});
#endif
  return t;
}

INSTANTIATE_TEST_SUITE_P(Servers, Cmd9pTest, ::testing::ValuesIn(Targets()), TargetName);

}  // namespace
}  // namespace ninep::testing
