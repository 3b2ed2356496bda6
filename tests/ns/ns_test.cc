// ns_test.cc: bin/ns end to end, as root and as an unprivileged user the
// test makes (nf_nsuser), each through real processes: binds and mounts
// seen inside and never outside, live `ns bind`, nesting, namespace files
// with their errors, `ns show` read back by `ns exec -f`, clear, servers
// that die, and nothing of ours left once the command exits.
#include <dirent.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>

#include <fstream>
#include <regex>

#include "testutil.h"

namespace {

using ninep::testing::Bin;
using ninep::testing::Process;
using ninep::testing::ReadFile;
using ninep::testing::Sh;
using ninep::testing::StartServer;
using ninep::testing::TempDir;
using ninep::testing::WaitFor;
using ninep::testing::WriteFile;

constexpr char kUser[] = "nf_nsuser";

// True once the unprivileged test user exists and may use FUSE and user
// namespaces; makes what is missing (the user, /dev/fuse's udev mode).
bool PrepareUser() {
  if (getpwnam(kUser) == nullptr) {
    Sh(std::string("useradd -r -M -s /usr/sbin/nologin ") + kUser + " 2>&1");
  }
  // A standard Debian system has 0666 from udev; a container may not.
  chmod("/dev/fuse", 0666);
  return getpwnam(kUser) != nullptr;
}

// The lines of s, without empty ones.
std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string l;
  while (std::getline(ss, l)) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

class NsTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0U) << "the ns tests run as root (and make their own user)";
    if (Unprivileged()) {
      ASSERT_TRUE(PrepareUser()) << "cannot make user " << kUser;
      int st = 0;
      Sh(Prefix() + "unshare -U -m true 2>&1", &st);
      ASSERT_EQ(st, 0) << "unprivileged user namespaces are disabled here; ns needs them";
    }
    chmod(d_.path().c_str(), 0755);
    for (const char* dir : {"a", "b", "c", "n", "home"}) Mkdir(dir);
    Write("a/fa", "A\n");
    Write("b/fb", "B\n");
    Write("c/fc", "C\n");
    if (Unprivileged()) Sh("chown -R " + std::string(kUser) + ": " + d_.path());
  }
  bool Unprivileged() const { return GetParam(); }
  std::string Prefix() const {
    return Unprivileged()
               ? std::string("setpriv --reuid=") + kUser + " --regid=" + kUser + " --clear-groups "
               : "";
  }
  std::string P(const std::string& rel) const { return d_.path() + "/" + rel; }
  void Mkdir(const std::string& rel) { mkdir(P(rel).c_str(), 0755); }
  void Write(const std::string& rel, const std::string& text) { WriteFile(P(rel), text); }

  // Runs script with bash as the test's user, with $NS (bin/ns), $D (the
  // test directory) and PATH including bin/; stdout and stderr together.
  std::string Run(const std::string& script, int* status = nullptr) {
    const std::string file = P("script." + std::to_string(++scripts_) + ".sh");
    WriteFile(file, script);
    chmod(file.c_str(), 0755);
    return Sh(Prefix() + "env HOME=" + P("home") + " NS=" + Bin("ns") + " D=" + d_.path() +
                  " PATH=" + NINEP_BIN_DIR + ":/usr/sbin:/usr/bin:/sbin:/bin bash " + file +
                  " 2>&1",
              status);
  }

  // The pid of the one process whose command line is exactly cmdline
  // (NUL-separated), "" when none.
  static std::string PidOf(const std::string& cmdline) {
    std::string found;
    DIR* proc = opendir("/proc");
    while (dirent* e = proc != nullptr ? readdir(proc) : nullptr) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      if (ReadFile(std::string("/proc/") + e->d_name + "/cmdline") == cmdline) found = e->d_name;
    }
    if (proc != nullptr) closedir(proc);
    return found;
  }

  // Nothing of this test's is left: no process names the test directory,
  // and no mount lies under it, in our namespace or another's.
  void ExpectNoLeaks() {
    std::vector<std::string> left;
    DIR* proc = opendir("/proc");
    ASSERT_NE(proc, nullptr);
    while (dirent* e = readdir(proc)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      // The servers the test itself runs are its children; they may stay.
      std::string stat = ReadFile(std::string("/proc/") + e->d_name + "/stat");
      auto rp = stat.rfind(')');
      if (rp != std::string::npos && std::atoi(stat.c_str() + rp + 4) == getpid()) continue;
      std::string cmd = ReadFile(std::string("/proc/") + e->d_name + "/cmdline");
      for (char& c : cmd) c = c == '\0' ? ' ' : c;
      if (cmd.find(d_.path()) != std::string::npos)
        left.push_back(std::string(e->d_name) + " " + cmd);
    }
    closedir(proc);
    EXPECT_TRUE(left.empty()) << "processes left: " << left[0];
    EXPECT_EQ(ReadFile("/proc/self/mountinfo").find(d_.path()), std::string::npos);
  }

  TempDir d_;
  int scripts_ = 0;
};

TEST_P(NsTest, BindReplaceIsSeenInsideOnly) {
  int st = -1;
  std::string out =
      Run("$NS exec -e \"bind $D/a $D/b\" -- sh -c 'ls $D/b; cat $D/b/fa; sh -c \"ls $D/b\"'", &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out, "fa\nA\nfa\n");
  // Outside, b is as it was.
  EXPECT_EQ(Sh("ls " + P("b")), "fb\n");
  // A file bound on a file.
  out = Run("$NS exec -e \"bind $D/a/fa $D/b/fb\" -- cat $D/b/fb", &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out, "A\n");
  ExpectNoLeaks();
}

TEST_P(NsTest, ExitStatusAndDefaultShell) {
  int st = -1;
  Run("$NS exec -- sh -c 'exit 7'", &st);
  EXPECT_EQ(st, 7);
  std::string out = Run("echo 'ls $D/b' | SHELL=/bin/sh $NS exec -e \"bind $D/a $D/b\"", &st);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(out, "fa\n");
  out = Run("$NS exec -- /no/such/program", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out, "ns: exec: /no/such/program: No such file or directory\n");
  // The command runs as the caller, not as root of its user namespace.
  out = Run("$NS exec -- id -u; id -u");
  auto ids = Lines(out);
  ASSERT_EQ(ids.size(), 2U) << out;
  EXPECT_EQ(ids[0], ids[1]);
}

// Namespaces ending while others start: an ended namespace's number comes
// back at once, and its helper's control socket name must not stop the new
// one (before the fix, about 1 in 40 of these failed with "control socket:
// address already in use").
TEST_P(NsTest, NamespacesStartWhileOthersEnd) {
  int st = -1;
  std::string out = Run(R"(
    for j in 1 2 3; do
      (for i in $(seq 100); do $NS exec -- true || echo "failed: $i"; done) &
    done
    wait
    echo done)",
                        &st);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(out, "done\n");
  ExpectNoLeaks();
}

TEST_P(NsTest, LiveBindChangesOnlyThisNamespace) {
  int st = -1;
  std::string out = Run(R"(
$NS exec -- sh -c '
  ls $D/b
  $NS bind $D/a $D/b || echo bind failed
  ls $D/b
  sh -c "ls $D/b"                     # children see it
  $NS exec -- sh -c "ls $D/b; $NS bind $D/c $D/b; ls $D/b"   # nested: a copy
  ls $D/b                             # the nested bind did not leak out
'
ls $D/b
)",
                        &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out, "fb\nfa\nfa\nfa\nfc\nfa\nfb\n");
  // A second namespace at the same time does not see the first one's bind.
  out = Run(R"(
mkfifo $D/f1 $D/f2
$NS exec -- sh -c "$NS bind $D/a $D/b; echo > $D/f1; cat $D/f2 > /dev/null; ls $D/b" &
$NS exec -- sh -c "cat $D/f1 > /dev/null; ls $D/b; echo > $D/f2"
wait
)",
            &st);
  EXPECT_EQ(out, "fb\nfa\n");
  ExpectNoLeaks();
}

TEST_P(NsTest, LiveOpsOutsideANamespaceFail) {
  int st = -1;
  std::string out = Run("$NS bind $D/a $D/b", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out, "ns: not in a namespace made by ns exec\n");
  out = Run("$NS bind $D/a", &st);
  EXPECT_EQ(st, 2);
  EXPECT_NE(out.find("ns: usage: bind [-abcq] NEW OLD"), std::string::npos) << out;
  out = Run("$NS frob", &st);
  EXPECT_EQ(st, 2);
  out = Run("$NS exec -- $NS bind $D/nothere $D/b", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out, "ns: bind: " + P("nothere") + ": No such file or directory\n");
  out = Run("$NS exec -- $NS unmount $D/b", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out, "ns: unmount: " + P("b") + ": nothing mounted there\n");
}

TEST_P(NsTest, UnmountUndoesBinds) {
  int st = -1;
  std::string out = Run(R"(
$NS exec -e "bind $D/a $D/b" -e "bind $D/c $D/b" -- sh -c '
  ls $D/b
  $NS unmount $D/c $D/b; ls $D/b
  $NS bind $D/c $D/b; $NS unmount $D/b; ls $D/b
  $NS unmount $D/a $D/b 2>&1
'
)",
                        &st);
  EXPECT_EQ(st, 1) << out;
  EXPECT_EQ(out, "fc\nfa\nfb\nns: unmount: " + P("b") + ": nothing mounted there\n");
  // Unmounting a member that is not on top names both.
  out = Run("$NS exec -e \"bind $D/a $D/b\" -- $NS unmount $D/c $D/b", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out, "ns: unmount: " + P("c") + " is not bound on " + P("b") + "\n");
}

TEST_P(NsTest, NamespaceFile) {
  Mkdir("with space");
  Write("with space/ws", "W\n");
  Write("inc.ns", "# included\nbind $D/c '" + P("with space") + "'   # a comment\n");
  Write("main.ns",
        "# a namespace file\n"
        "\n"
        "bind ${D}/a $D/b\n"
        ". inc.ns\n"
        "bind -q $D/nothere $D/b   # -q: a failure is no error\n"
        "cd $D/b\n");
  if (Unprivileged()) Sh("chown -R " + std::string(kUser) + ": " + d_.path());
  int st = -1;
  std::string out = Run("$NS exec -f $D/main.ns -- sh -c 'pwd; ls; ls \"$D/with space\"'", &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out, P("b") + "\nfa\nfc\n");
  // -f and -e apply in command-line order: the last bind wins.
  out = Run("$NS exec -e \"bind $D/c $D/b\" -f $D/main.ns -- ls $D/b", &st);
  EXPECT_EQ(out, "fa\n");
}

TEST_P(NsTest, ErrorsNameFileAndLine) {
  Write("bad.ns", "bind $D/a $D/b\n\nbind $D/missing $D/b\n");
  Write("loop1.ns", "bind $D/a $D/b\n. loop2.ns\n");
  Write("loop2.ns", ". loop1.ns\n");
  Write("syntax.ns", "bind $D/a $D/b\nbind -z $D/a $D/b\n");
  Write("unset.ns", "bind $NOT_SET_ANYWHERE $D/b\n");
  if (Unprivileged()) Sh("chown -R " + std::string(kUser) + ": " + d_.path());
  int st = -1;
  std::string out = Run("$NS exec -f $D/bad.ns -- echo ran", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out,
            "ns: " + P("bad.ns") + ":3: bind: " + P("missing") + ": No such file or directory\n");
  out = Run("$NS exec -f $D/syntax.ns -- echo ran", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out, "ns: " + P("syntax.ns") + ":2: bind: unknown flag -z\n");
  out = Run("$NS exec -f $D/unset.ns -- echo ran", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out, "ns: " + P("unset.ns") + ":1: $NOT_SET_ANYWHERE is not set\n");
  out = Run("$NS exec -f $D/loop1.ns -- echo ran", &st);
  EXPECT_EQ(st, 1);
  EXPECT_NE(out.find("ns: " + P("loop2.ns") + ":1: include loop: "), std::string::npos) << out;
  out = Run("$NS exec -f $D/none.ns -- echo ran", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out, "ns: " + P("none.ns") + ": No such file or directory\n");
  out = Run("$NS exec -e 'bind /a' -- echo ran", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out, "ns: -e:1: usage: bind [-abcq] NEW OLD\n");
  out = Run("$NS exec -e \"bind $D/a $D/a/fa\" -- echo ran", &st);
  EXPECT_EQ(st, 1);
  EXPECT_NE(out.find("one is a directory, the other not"), std::string::npos) << out;
  ExpectNoLeaks();
}

TEST_P(NsTest, ShowRoundTrips) {
  int st = -1;
  std::string out = Run(R"(
cd $D
$NS exec -e "bind $D/a $D/b" -- sh -c '$NS bind c $D/a; $NS show > $D/shown.ns; ls $D/b $D/a'
cat $D/shown.ns
cd /
$NS exec -f $D/shown.ns -- sh -c 'pwd; ls $D/b $D/a'
)",
                        &st);
  EXPECT_EQ(st, 0) << out;
  const std::string listing = P("a") + ":\nfc\n\n" + P("b") + ":\nfa\n";
  EXPECT_EQ(out, listing + "bind " + P("a") + " " + P("b") + "\nbind " + P("c") + " " + P("a") +
                     "\ncd " + d_.path() + "\n" + d_.path() + "\n" + listing);
  // ns show PID, from outside the namespace.
  Process p;
  ASSERT_TRUE(p.Start({"/bin/sh", "-c",
                       Prefix() + Bin("ns") + " exec -e 'bind " + P("a") + " " + P("b") +
                           "' -- sh -c 'echo up; read x || true'"},
                      true));
  ASSERT_EQ(p.ReadLine(), "up");
  static const char kCmdline[] = "sh\0-c\0echo up; read x || true";
  const std::string pid = PidOf(std::string(kCmdline, sizeof kCmdline));
  ASSERT_FALSE(pid.empty());
  out = Run("$NS show " + pid, &st);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(Lines(out)[0], "bind " + P("a") + " " + P("b")) << out;
  close(p.stdin_fd());
  EXPECT_EQ(p.Wait(), 0);
  ExpectNoLeaks();
}

TEST_P(NsTest, Clear) {
  int st = -1;
  std::string out =
      Run("$NS exec -e clear -e 'bind /usr /usr' -e 'bind /lib /lib' -e 'bind /lib64 /lib64' "
          "-e \"bind $D/a /data\" -- /usr/bin/ls / /data",
          &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out, "/:\ndata\ndev\nlib\nlib64\nproc\ntmp\nusr\n\n/data:\nfa\n");
  ExpectNoLeaks();
}

TEST_P(NsTest, MountServersInBothDialects) {
  Process ramfs, exportfs;
  const std::string ra = StartServer(&ramfs, "ramfs", {});
  ASSERT_FALSE(ra.empty());
  Mkdir("export");
  Mkdir("export/bin");
  Write("export/bin/only-remote", "#!/bin/sh\necho remote program ran\n");
  chmod(P("export/bin/only-remote").c_str(), 0755);
  const std::string ea = StartServer(&exportfs, "exportfs", {"-r", P("export")});
  ASSERT_FALSE(ea.empty());
  for (const char* dialect : {"", "-L "}) {
    SCOPED_TRACE(dialect);
    int st = -1;
    std::string out = Run(std::string("$NS exec -e 'mount ") + dialect + ra +
                              " $D/n' -- sh -c 'echo hello > $D/n/x; cat $D/n/x; mkdir $D/n/d; "
                              "mv $D/n/x $D/n/d/y; ls -R $D/n; rm -r $D/n/d'",
                          &st);
    EXPECT_EQ(st, 0) << out;
    EXPECT_EQ(out, "hello\n" + P("n") + ":\nd\n\n" + P("n/d") + ":\ny\n");
    // The mount was private to the namespace; the change went to the server.
    EXPECT_EQ(Sh("ls " + P("n")), "");
    out = Run(std::string("$NS exec -e 'mount ") + dialect + ea +
                  " $D/n' -- sh -c '$D/n/bin/only-remote; ls $D/n/bin'",
              &st);
    EXPECT_EQ(st, 0) << out;
    EXPECT_EQ(out, "remote program ran\nonly-remote\n");
  }
  // A live mount, with an aname.
  int st = -1;
  std::string out = Run("$NS exec -- sh -c '$NS mount -L " + ea + " $D/n /bin && ls $D/n'", &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out, "only-remote\n");
  ExpectNoLeaks();
}

TEST_P(NsTest, BadAddressAndDeadServer) {
  int st = -1;
  std::string out = Run("$NS exec -e 'mount tcp!127.0.0.1!1 $D/n' -- echo ran", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out, "ns: -e:1: mount: tcp!127.0.0.1!1: dial tcp!127.0.0.1!1: Connection refused\n");
  out = Run("$NS exec -e 'mount -q tcp!127.0.0.1!1 $D/n' -- echo ran", &st);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(out, "ran\n");

  Process ramfs;
  const std::string ra = StartServer(&ramfs, "ramfs", {});
  ASSERT_FALSE(ra.empty());
  Process ns;
  ASSERT_TRUE(ns.Start(
      {"/bin/sh", "-c",
       Prefix() + Bin("ns") + " exec -e 'mount " + ra + " " + P("n") + "' -e 'bind " + P("a") +
           " " + P("b") + "' -- sh -c 'echo x > " + P("n/x") + " && echo mounted; read x; ls " +
           P("n") + " >/dev/null 2>&1; echo ls=$?; cat " + P("b/fa") + "' 2>&1"},
      true));
  ASSERT_EQ(ns.ReadLine(), "mounted");
  ramfs.Kill(SIGKILL);
  ASSERT_EQ(write(ns.stdin_fd(), "\n", 1), 1);
  EXPECT_NE(ns.ReadLine(), "ls=0");  // the dead mount fails ...
  EXPECT_EQ(ns.ReadLine(), "A");     // ... and the rest of the namespace works
  EXPECT_EQ(ns.Wait(), 0);
  ExpectNoLeaks();
}

TEST_P(NsTest, NothingLeftAfterExit) {
  Process ramfs;
  const std::string ra = StartServer(&ramfs, "ramfs", {});
  ASSERT_FALSE(ra.empty());
  int st = -1;
  // The run directory the namespace used, named by its tmpfs in mountinfo.
  Write("rundir.sh", "sleep 1000 & grep ' - tmpfs ns ' /proc/self/mountinfo | cut -d' ' -f5\n");
  std::string out =
      Run("$NS exec -e 'mount " + ra + " $D/n' -e \"bind $D/a $D/b\" -- sh $D/rundir.sh", &st);
  EXPECT_EQ(st, 0) << out;
  auto lines = Lines(out);
  ASSERT_EQ(lines.size(), 1U) << out;
  struct stat sb;
  EXPECT_NE(stat(lines[0].c_str(), &sb), 0) << lines[0] << " is still there";
  ExpectNoLeaks();
}

// Union directories through ns (Plan 9 semantics, issue 10), served by
// the union server (ns/union) that ns links.
class NsUnionTest : public NsTest {
 protected:
  void SetUp() override {
    NsTest::SetUp();
    if (HasFatalFailure()) return;
    Write("a/common", "A\n");
    Write("b/common", "B\n");
    if (Unprivileged()) Sh("chown -R " + std::string(kUser) + ": " + d_.path());
    std::string out = Run("$NS exec -e \"bind -a $D/a $D/b\" -- true");
    ASSERT_EQ(out.find("not built"), std::string::npos) << out;
  }
};

TEST_P(NsUnionTest, AfterBeforeAndCreate) {
  int st = -1;
  // -a: b's own files first; a name in both comes from b.
  std::string out =
      Run("$NS exec -e \"bind -a $D/a $D/b\" -- sh -c 'ls $D/b; cat $D/b/common; "
          "touch $D/b/new 2>&1 | grep -c \"Read-only file system\"; find $D/b | wc -l'",
          &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out, "common\nfa\nfb\nB\n1\n4\n");
  // -b: a first.
  out = Run("$NS exec -e \"bind -b $D/a $D/b\" -- cat $D/b/common", &st);
  EXPECT_EQ(out, "A\n");
  // -c: creates go to the -c member; remove and rename act where the name is.
  out =
      Run("$NS exec -e \"bind -ac $D/c $D/b\" -- sh -c 'echo n > $D/b/new && mkdir $D/b/sub && "
          "mv $D/b/new $D/b/new2 && rm $D/b/fb && ls $D/b'",
          &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out, "common\nfc\nnew2\nsub\n");
  EXPECT_EQ(Sh("ls " + P("c")), "fc\nnew2\nsub\n");
  EXPECT_EQ(Sh("ls " + P("b")), "common\n");
  ExpectNoLeaks();
}

TEST_P(NsUnionTest, OntoItsParentLiveAndUnmount) {
  Mkdir("b/inner");
  Write("b/inner/fi", "I\n");
  if (Unprivileged()) Sh("chown -R " + std::string(kUser) + ": " + d_.path());
  int st = -1;
  std::string out = Run(R"($NS exec -e "bind -a $D/b/inner $D/b" -- sh -c '
    ls $D/b
    $NS bind -b $D/a $D/b; cat $D/b/common
    $NS unmount $D/a $D/b; cat $D/b/common
    $NS unmount $D/b; ls $D/b'
ls $D/b)",
                        &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out, "common\nfb\nfi\ninner\nA\nB\ncommon\nfb\ninner\ncommon\nfb\ninner\n");
  ExpectNoLeaks();
}

TEST_P(NsUnionTest, ProgramFoundOnlyThroughARemoteUnion) {
  Process exportfs;
  Mkdir("export");
  Mkdir("export/bin");
  Mkdir("localbin");
  Write("export/bin/only-remote", "#!/bin/sh\necho remote program ran\n");
  chmod(P("export/bin/only-remote").c_str(), 0755);
  if (Unprivileged()) Sh("chown -R " + std::string(kUser) + ": " + d_.path());
  const std::string ea = StartServer(&exportfs, "exportfs", {"-r", P("export")});
  ASSERT_FALSE(ea.empty());
  for (const char* dialect : {"", "-L "}) {
    int st = -1;
    std::string out = Run(std::string("$NS exec -e 'mount ") + dialect + ea +
                              " $D/n' -e \"bind -a $D/n/bin $D/localbin\" -- "
                              "env PATH=$D/localbin:/usr/bin:/bin only-remote",
                          &st);
    EXPECT_EQ(st, 0) << dialect << out;
    EXPECT_EQ(out, "remote program ran\n") << dialect;
    // A union member mounted with mount -a.
    out = Run(std::string("$NS exec -e 'mount -a ") + dialect + ea +
                  " $D/localbin' -- $D/localbin/bin/only-remote",
              &st);
    EXPECT_EQ(out, "remote program ran\n") << dialect;
  }
  ExpectNoLeaks();
}

INSTANTIATE_TEST_SUITE_P(Users, NsUnionTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? std::string("Unprivileged") : std::string("Root");
                         });

// The command-line conventions (ninep/cmdline.h): -h on stdout and exit 0,
// usage errors exit 2 with the usage line on stderr.
TEST(NsCommand, UsageAndHelp) {
  int st = -1;
  std::string out = Sh(Bin("ns") + " -h 2>/dev/null", &st);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(out.rfind("usage: ns ", 0), 0U) << out;
  EXPECT_NE(out.find("exec [-f NSFILE]"), std::string::npos) << out;
  out = Sh(Bin("ns") + " exec --help 2>/dev/null", &st);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(out.rfind("usage: ns exec ", 0), 0U) << out;
  for (const char* bad : {"", " -Z", " frob", " exec -Z", " show 0", " show 1 2", " bind -z a b"}) {
    out = Sh(Bin("ns") + bad + " 2>&1 >/dev/null", &st);
    EXPECT_EQ(st, 2) << bad << ": " << out;
    EXPECT_NE(out.find("\nusage: ns"), std::string::npos) << bad << ": " << out;
  }
  out = Sh(Bin("ns") + " show 999999999 2>&1", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(out, "ns: show: 999999999: no such process\n");
}

INSTANTIATE_TEST_SUITE_P(Users, NsTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? std::string("Unprivileged") : std::string("Root");
                         });

}  // namespace
