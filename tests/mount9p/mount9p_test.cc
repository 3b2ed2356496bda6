// mount9p_test.cc: mount9p's behaviour as a process: synthetic ctl/data
// files, reads that block on the server, the server dying, signals,
// daemon mode and `mount9p -U`, and -o reconnect (to a restarted server,
// and over a list of exportfs to the next one). The synthetic server is
// tests/mount9p/ctlsrv.cc.
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <string>

#include "mount_util.h"

namespace ninep::testing {
namespace {

// Starts ctlsrv with extra arguments; returns its address.
std::string StartCtlsrv(Process* p, std::vector<std::string> args = {}) {
  std::vector<std::string> argv{CTLSRV};
  if (args.empty()) args = {"-a", "tcp!127.0.0.1!0"};
  argv.insert(argv.end(), args.begin(), args.end());
  if (!p->Start(argv)) return "";
  return p->ReadLine(10000);
}

// True when `dir` is an ordinary directory again: not a mount point, and
// on the same device as its parent.
bool PlainDir(const std::string& dir) {
  struct stat a, b;
  if (stat(dir.c_str(), &a) != 0 || stat((dir + "/..").c_str(), &b) != 0) return false;
  return S_ISDIR(a.st_mode) && a.st_dev == b.st_dev && !IsMounted(dir);
}

class Mount9pCtlTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    addr_ = StartCtlsrv(&server_);
    ASSERT_FALSE(addr_.empty());
    std::vector<std::string> args;
    if (GetParam()) args.push_back("-L");
    ASSERT_TRUE(mount_.Start(addr_, args));
    m_ = mount_.path();
  }
  void TearDown() override {
    int st = mount_.Unmount();
    EXPECT_TRUE(Mount::CleanExit(st)) << "mount9p wait status " << st << " after unmount";
  }
  Process server_;
  Mount mount_;
  std::string addr_, m_;
};

TEST_P(Mount9pCtlTest, EchoCtlThenCatData) {
  int st;
  std::string out = Sh("echo hello world > '" + m_ + "/ctl' && cat '" + m_ + "/data'", &st);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(out, "reply: hello world\n");
  // No stale cache: the next command's reply, not the first one's.
  out = Sh("echo second > '" + m_ + "/ctl' && cat '" + m_ + "/data'", &st);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(out, "reply: second\n");
  // An ordinary file of the same tree reads as usual.
  EXPECT_EQ(Sh("cat '" + m_ + "/hello'"), "hello\n");
  EXPECT_EQ(Sh("ls '" + m_ + "'"), "block\nctl\ndata\nhello\n");
}

TEST_P(Mount9pCtlTest, BlockedReadDoesNotBlockOthers) {
  Process reader;
  ASSERT_TRUE(reader.Start({"/bin/cat", m_ + "/block"}));
  // The read is outstanding at the server: nothing comes and cat runs on.
  EXPECT_EQ(reader.ReadAll(300), "");
  ASSERT_TRUE(reader.Running());
  auto t0 = std::chrono::steady_clock::now();
  struct stat st;
  EXPECT_EQ(stat((m_ + "/hello").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 6);
  int rc;
  EXPECT_EQ(Sh("echo during > '" + m_ + "/ctl' && cat '" + m_ + "/data' && ls '" + m_ + "'", &rc),
            "reply: during\nblock\nctl\ndata\nhello\n");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  // SIGTERM interrupts the blocked read (FUSE interrupt -> Tflush).
  reader.Signal(SIGTERM);
  EXPECT_NE(reader.WaitExit(5000), -1) << "cat stayed blocked after SIGTERM";
}

INSTANTIATE_TEST_SUITE_P(Dialects, Mount9pCtlTest, ::testing::Values(false, true),
                         [](const auto& p) { return p.param ? "L" : "9P2000"; });

TEST(Mount9pTest, CmdfsCommandThroughTheMount) {
  // Inferno cmd(3) through FUSE: clone, ctl and data are size-0 files.
  Process server;
  std::string addr = StartServer(&server, "cmdfs", {});
  ASSERT_FALSE(addr.empty()) << "bin/cmdfs did not start";
  for (bool dotl : {false, true}) {
    Mount mount;
    ASSERT_TRUE(
        mount.Start(addr, dotl ? std::vector<std::string>{"-L"} : std::vector<std::string>{}));
    std::string m = mount.path();
    int st;
    std::string out =
        Sh("exec 3<'" + m + "/clone' && read n <&3 && echo exec echo hello from cmdfs > '" + m +
               "/'$n/ctl && cat '" + m + "/'$n/data",
           &st);
    EXPECT_EQ(st, 0) << (dotl ? "9P2000.L" : "9P2000");
    EXPECT_EQ(out, "hello from cmdfs\n") << (dotl ? "9P2000.L" : "9P2000");
    EXPECT_TRUE(Mount::CleanExit(mount.Unmount()));
  }
}

TEST(Mount9pTest, SmallMsizeSplitsEveryRequest) {
  // msize 8 KiB: each 32 KiB FUSE request becomes 8 Treads/Twrites of one
  // page, gathered in order; odd offsets and sizes must survive that.
  TempDir exp, src;
  Process server;
  std::string addr = StartServer(&server, "exportfs", {"-r", exp.path()});
  ASSERT_FALSE(addr.empty());
  int st;
  Sh("head -c 3000001 /dev/urandom > '" + src.path() + "/f'", &st);
  ASSERT_EQ(st, 0);
  for (bool dotl : {false, true}) {
    Mount mount;
    std::vector<std::string> args{"-m", "8192"};
    if (dotl) args.push_back("-L");
    ASSERT_TRUE(mount.Start(addr, args));
    std::string m = mount.path(), f = src.path() + "/f";
    Sh("dd if='" + f + "' of='" + m + "/f' bs=1M 2>/dev/null && cmp '" + f + "' '" + m +
           "/f' && cmp '" + f + "' '" + exp.path() + "/f'",
       &st);
    EXPECT_EQ(st, 0) << (dotl ? "9P2000.L" : "9P2000");
    // Unaligned pieces, overwriting in place.
    Sh("dd if='" + f + "' of='" + m +
           "/f' bs=7777 skip=11 seek=13 count=50 conv=notrunc 2>/dev/null",
       &st);
    EXPECT_EQ(st, 0);
    std::string want = ReadFile(f);
    std::string piece = want.substr(11 * 7777, 50 * 7777);
    want.replace(13 * 7777, 50 * 7777, piece);
    EXPECT_TRUE(ReadFile(m + "/f") == want) << "data read back through the mount differs";
    EXPECT_TRUE(ReadFile(exp.path() + "/f") == want) << "data on the server differs";
    EXPECT_TRUE(Mount::CleanExit(mount.Unmount()));
  }
}

TEST(Mount9pTest, ServerKilledMidReadFailsQuicklyAndUnmounts) {
  Process server;
  std::string addr = StartCtlsrv(&server);
  ASSERT_FALSE(addr.empty());
  Mount mount;
  ASSERT_TRUE(mount.Start(addr));
  Process reader;
  ASSERT_TRUE(
      reader.Start({"/bin/sh", "-c", "cat '" + mount.path() + "/block' 2>&1; echo status=$?"}));
  EXPECT_EQ(reader.ReadAll(300), "");
  auto t0 = std::chrono::steady_clock::now();
  server.Kill(SIGKILL);
  std::string out = reader.ReadAll(5000);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_NE(out.find("status=1"), std::string::npos) << out;
  EXPECT_TRUE(out.find("Input/output error") != std::string::npos ||
              out.find("Transport endpoint") != std::string::npos ||
              out.find("Interrupted") != std::string::npos)
      << out;
  // mount9p notices the dead connection, unmounts and exits by itself.
  EXPECT_NE(mount.proc().WaitExit(5000), -1);
  EXPECT_TRUE(WaitFor([&] { return PlainDir(mount.path()); }, 5000));
  int st;
  Sh("ls '" + mount.path() + "' >/dev/null", &st);
  EXPECT_EQ(st, 0);
}

TEST(Mount9pTest, SigtermUnmountsCleanly) {
  Process server;
  std::string addr = StartCtlsrv(&server);
  ASSERT_FALSE(addr.empty());
  Mount mount;
  ASSERT_TRUE(mount.Start(addr, {"-L"}));
  EXPECT_EQ(Sh("cat '" + mount.path() + "/hello'"), "hello\n");
  mount.proc().Signal(SIGTERM);
  int st = mount.proc().WaitExit(5000);
  ASSERT_NE(st, -1);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  EXPECT_TRUE(PlainDir(mount.path()));
}

TEST(Mount9pTest, SigintWithBusyReaderStillUnmounts) {
  Process server;
  std::string addr = StartCtlsrv(&server);
  ASSERT_FALSE(addr.empty());
  Mount mount;
  ASSERT_TRUE(mount.Start(addr));
  Process reader;
  ASSERT_TRUE(reader.Start({"/bin/cat", mount.path() + "/block"}));
  EXPECT_EQ(reader.ReadAll(300), "");
  mount.proc().Signal(SIGINT);
  EXPECT_NE(mount.proc().WaitExit(8000), -1);
  EXPECT_TRUE(PlainDir(mount.path()));
  EXPECT_NE(reader.WaitExit(5000), -1) << "reader hung after mount9p stopped";
}

// Finds processes whose command line names `word` (for the daemon test).
int CountProcsWith(const std::string& word) {
  int n = 0;
  DIR* d = opendir("/proc");
  if (d == nullptr) return 0;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string cmd = ReadFile(std::string("/proc/") + e->d_name + "/cmdline");
    for (char& c : cmd) c = c == '\0' ? ' ' : c;
    if (cmd.find("mount9p") != std::string::npos && cmd.find(word) != std::string::npos) n++;
  }
  closedir(d);
  return n;
}

// A mountpoint for mount9p run as a daemon (no -f), unmounted whatever
// happens to the test.
class DaemonMountpoint {
 public:
  DaemonMountpoint() : mnt_(dir_.path() + "/m") { mkdir(mnt_.c_str(), 0755); }
  ~DaemonMountpoint() {
    if (IsMounted(mnt_))
      Sh("fusermount3 -u '" + mnt_ + "' 2>/dev/null || umount -l '" + mnt_ + "'");
  }
  const std::string& path() const { return mnt_; }
  // `mount9p -U`, then checks the daemon is gone and the directory plain.
  void UnmountAndCheck() {
    int st;
    Sh(Bin("mount9p") + " -U '" + mnt_ + "'", &st);
    EXPECT_EQ(st, 0);
    EXPECT_TRUE(PlainDir(mnt_));
    EXPECT_TRUE(WaitFor([&] { return CountProcsWith(mnt_) == 0; }, 5000)) << "daemon still runs";
  }

 private:
  TempDir dir_;
  std::string mnt_;
};

TEST(Mount9pTest, DaemonReturnsWhenReadyAndDashUUnmounts) {
  Process server;
  std::string addr = StartCtlsrv(&server);
  ASSERT_FALSE(addr.empty());
  DaemonMountpoint mp;
  const std::string& mnt = mp.path();
  int st;
  // The very next command sees the tree.
  std::string out =
      Sh(Bin("mount9p") + " '" + addr + "' '" + mnt + "' && cat '" + mnt + "/hello'", &st);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(out, "hello\n");
  EXPECT_TRUE(IsMounted(mnt));
  EXPECT_EQ(CountProcsWith(mnt), 1);
  mp.UnmountAndCheck();
}

// -o timeout: a server that stops answering but keeps its connection open
// makes operations fail with ETIMEDOUT instead of hanging; once it answers
// again the same mount works, and it unmounts cleanly. (mount9p runs as a
// daemon here: it returns only once its own check of the mount is done,
// so the stopped server times out the prober alone.)
TEST(Mount9pTest, TimeoutFailsCallsToAHungServer) {
  TempDir dir;
  WriteFile(dir.path() + "/f", "still here\n");
  Process server;
  std::string addr = StartServer(&server, "exportfs", {"-r", dir.path()});
  ASSERT_FALSE(addr.empty());
  DaemonMountpoint mp;
  const std::string& mnt = mp.path();
  int st;
  Sh(Bin("mount9p") + " -L -o timeout=1 '" + addr + "' '" + mnt + "'", &st);
  ASSERT_EQ(st, 0);
  ASSERT_EQ(kill(server.pid(), SIGSTOP), 0);
  Process prober;
  ASSERT_TRUE(prober.Start({"/bin/sh", "-c", "stat '" + mnt + "/nothere' 2>&1; echo status=$?"}));
  auto t0 = std::chrono::steady_clock::now();
  std::string out = prober.ReadAll(6000);
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_EQ(kill(server.pid(), SIGCONT), 0);
  EXPECT_LT(took, std::chrono::seconds(5)) << out;
  EXPECT_GE(took, std::chrono::milliseconds(900)) << out;  // not before the timeout
  EXPECT_NE(out.find("Connection timed out"), std::string::npos) << out;
  EXPECT_NE(out.find("status=1"), std::string::npos) << out;
  EXPECT_EQ(ReadFile(mnt + "/f"), "still here\n");
  mp.UnmountAndCheck();
}

TEST(Mount9pTest, ErrorsAndUsage) {
  int st;
  std::string out = Sh(Bin("mount9p") + " 2>&1", &st);
  EXPECT_EQ(st, 2);
  EXPECT_NE(out.find("usage: mount9p"), std::string::npos);
  TempDir dir;
  out = Sh(Bin("mount9p") + " 'tcp!127.0.0.1!1' '" + dir.path() + "' 2>&1", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out.rfind("mount9p: ", 0), 0u) << out;
  EXPECT_FALSE(IsMounted(dir.path()));
  out = Sh(Bin("mount9p") + " 'tcp!127.0.0.1!1' /nonexistent/dir 2>&1", &st);
  EXPECT_EQ(st, 1);
  EXPECT_NE(out.find("No such file or directory"), std::string::npos) << out;
  out = Sh(Bin("mount9p") + " -o cache=bogus x y 2>&1", &st);
  EXPECT_EQ(st, 2);
}

// A list of servers none of which answers: one line naming each, nothing
// mounted; a malformed list fails before anything is dialled.
TEST(Mount9pTest, AListOfDeadServersNamesEach) {
  TempDir dir;
  int p1 = FreePort(), p2 = FreePort();
  ASSERT_TRUE(WaitFor([&] { return p1 != p2 || (p2 = FreePort()) != p1; }, 1000));
  const std::string a1 = "tcp!127.0.0.1!" + std::to_string(p1);
  const std::string a2 = "tcp!127.0.0.1!" + std::to_string(p2);
  int st;
  std::string out = Sh(Bin("mount9p") + " '" + a1 + "," + a2 + "' '" + dir.path() + "' 2>&1", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out.rfind("mount9p: ", 0), 0u) << out;
  EXPECT_NE(out.find(a1 + ": "), std::string::npos) << out;
  EXPECT_NE(out.find(a2 + ": "), std::string::npos) << out;
  EXPECT_FALSE(IsMounted(dir.path()));
  out = Sh(Bin("mount9p") + " '" + a1 + ",' '" + dir.path() + "' 2>&1", &st);
  EXPECT_EQ(st, 1);
  EXPECT_NE(out.find("empty address"), std::string::npos) << out;
  EXPECT_FALSE(IsMounted(dir.path()));
}

TEST(Mount9pTest, ReconnectAfterServerRestart) {
  Process server;
  std::string addr = StartCtlsrv(&server);
  ASSERT_FALSE(addr.empty());
  Mount mount;
  ASSERT_TRUE(mount.Start(addr, {"-o", "reconnect"}));
  std::string m = mount.path();
  EXPECT_EQ(Sh("cat '" + m + "/hello'"), "hello\n");
  // A file held open across the restart: it must be reopened, not dead.
  std::string fifo = mount.scratch() + "/go";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  Process holder;
  ASSERT_TRUE(holder.Start({"/bin/sh", "-c",
                            "exec 3<'" + m + "/data' && echo opened && read go <'" + fifo +
                                "' && cat <&3; echo status=$?"}));
  ASSERT_EQ(holder.ReadLine(5000), "opened");
  server.Kill(SIGKILL);
  // Same address again (the listener sets SO_REUSEADDR).
  Process again;
  ASSERT_TRUE(again.Start({CTLSRV, "-a", addr}));
  // A fixed port prints nothing (only port 0 does): wait for the listener.
  int port = std::stoi(addr.substr(addr.rfind('!') + 1));
  ASSERT_TRUE(WaitFor([&] { return ListensOn(again.pid(), port); }, 10000));
  EXPECT_TRUE(WaitFor(
      [&] {
        return Sh("{ echo back > '" + m + "/ctl' && cat '" + m + "/data'; } 2>/dev/null") ==
               "reply: back\n";
      },
      10000));
  EXPECT_TRUE(IsMounted(m));
  EXPECT_TRUE(mount.proc().Running());
  WriteFile(fifo, "go\n");
  std::string out = holder.ReadAll(5000);
  EXPECT_EQ(out.rfind("reply: ", 0), 0u) << out;
  EXPECT_NE(out.find("status=0"), std::string::npos) << out;
}

#ifdef NINEP_HAVE_EXPORTFS
// -o reconnect with a list of servers of one tree (several front ends of
// one store): when the server in use dies, the mount goes on at the next.
TEST(Mount9pTest, ReconnectFailsOverToTheNextServer) {
  TempDir tree;
  WriteFile(tree.path() + "/file", "before\n");
  Process first, second;
  std::string a1 = StartServer(&first, "exportfs", {"-r", tree.path()});
  std::string a2 = StartServer(&second, "exportfs", {"-r", tree.path()});
  ASSERT_FALSE(a1.empty());
  ASSERT_FALSE(a2.empty());
  Mount mount;
  // cache=none: every read below reaches a server, none is a cached page.
  ASSERT_TRUE(mount.Start(a1 + "," + a2, {"-o", "reconnect,cache=none"}));
  const std::string f = mount.path() + "/file";
  EXPECT_EQ(Sh("cat '" + f + "'"), "before\n");
  first.Kill(SIGKILL);
  // Changed behind the mount: only a live server can show the new content,
  // and the second is the only one left.
  WriteFile(tree.path() + "/file", "after\n");
  EXPECT_TRUE(WaitFor([&] { return Sh("cat '" + f + "' 2>/dev/null") == "after\n"; }, 10000));
  EXPECT_TRUE(IsMounted(mount.path()));
  EXPECT_TRUE(mount.proc().Running());
}

// The reconnect tries the list from the address after the one that died,
// not from the top: here the first address comes to life only after the
// mount was made on the second, and serves a tree of its own, so a
// reconnect that started from the top would show its content.
TEST(Mount9pTest, ReconnectStartsAfterTheServerThatDied) {
  TempDir tree, other;
  WriteFile(tree.path() + "/file", "shared\n");
  WriteFile(other.path() + "/file", "the first address\n");
  int port = FreePort();
  ASSERT_GT(port, 0);
  const std::string late = "tcp!127.0.0.1!" + std::to_string(port);
  Process first, second, third;
  std::string a2 = StartServer(&second, "exportfs", {"-r", tree.path()});
  std::string a3 = StartServer(&third, "exportfs", {"-r", tree.path()});
  ASSERT_FALSE(a2.empty());
  ASSERT_FALSE(a3.empty());
  Mount mount;
  ASSERT_TRUE(mount.Start(late + "," + a2 + "," + a3, {"-o", "reconnect,cache=none"}));
  const std::string f = mount.path() + "/file";
  EXPECT_EQ(Sh("cat '" + f + "'"), "shared\n");
  // A fixed port prints nothing (only port 0 does): wait for the listener.
  ASSERT_TRUE(first.Start({Bin("exportfs"), "-a", late, "-r", other.path()}));
  ASSERT_TRUE(WaitFor([&] { return ListensOn(first.pid(), port); }, 10000));
  second.Kill(SIGKILL);
  std::string got;
  EXPECT_TRUE(WaitFor(
      [&] {
        got = Sh("cat '" + f + "' 2>/dev/null");
        return !got.empty();
      },
      10000));
  EXPECT_EQ(got, "shared\n");
}
#endif

}  // namespace
}  // namespace ninep::testing
