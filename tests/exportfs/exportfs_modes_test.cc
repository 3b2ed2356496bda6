// exportfs_modes_test.cc: read-only mode (-R: EROFS for every change, in
// both dialects), the ctl tree (aname "ctl"), and the command line: usage
// errors, bad roots, -s on stdin/stdout, -D tracing, the default root, and
// a clean stop on SIGTERM and SIGINT.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <thread>

#include "exportfs/exfs.h"

namespace ninep::testing {
namespace {

// ---- -R ---------------------------------------------------------------------

class ReadOnlyTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    ASSERT_EQ(mkdir(srv_.Path("d").c_str(), 0755), 0);
    WriteFile(srv_.Path("f"), "unchanged");
    WriteFile(srv_.Path("d/g"), "g");
    ASSERT_TRUE(srv_.Start({"-R"}));
    c_ = std::make_unique<Conn>(srv_.addr(), GetParam());
    ASSERT_TRUE(c_->ok()) << c_->error().message();
    before_ = Snapshot();
  }
  void TearDown() override { EXPECT_EQ(Snapshot(), before_) << "the tree changed"; }
  // Names, modes, sizes and mtimes of everything in the export.
  std::string Snapshot() {
    return Sh("cd '" + srv_.root() + "' && find . -printf '%p %m %s %T@ %y\\n' | sort");
  }
  uint32_t F(const std::string& name) {
    uint32_t f = NOFID;
    auto q =
        c_->WalkRaw(c_->root().num(),
                    name.empty() ? std::vector<std::string>{} : std::vector<std::string>{name}, &f);
    return q.ok() ? f : NOFID;
  }

  ExportServer srv_;
  std::unique_ptr<Conn> c_;
  std::string before_;
};

TEST_P(ReadOnlyTest, EveryChangeFailsEROFS) {
  // Reading still works.
  auto r = c_->ReadFile("f");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "unchanged");
  auto l = c_->List("d");
  ASSERT_TRUE(l.ok());
  // Opens that could change something.
  for (uint8_t mode : {OWRITE, ORDWR, uint8_t(OREAD | OTRUNC), uint8_t(OREAD | ORCLOSE)}) {
    if (c_->L() && (mode & ORCLOSE)) continue;  // Linux flags have no ORCLOSE
    auto f = c_->Walk("f");
    EXPECT_EQ(ErrOf(f->Open(mode)), EROFS) << int(mode);
  }
  {
    auto d = c_->root().Walk("");
    EXPECT_EQ(ErrOf(d->Create("new", 0644, OWRITE)), EROFS);
    auto d2 = c_->root().Walk("");
    EXPECT_EQ(ErrOf(d2->Create("newdir", DMDIR | 0755, OREAD)), EROFS);
  }
  EXPECT_EQ(ErrOf(c_->Walk("f")->Remove()), EROFS);
  EXPECT_EQ(ErrOf(c_->Walk("d/g")->Remove()), EROFS);
  for (int field = 0; field < 4; field++) {
    Dir w = DirFromStat(NullStat());
    if (field == 0) w.mode = 0600;
    if (field == 1) w.length = 0;
    if (field == 2) w.mtime = 1;
    if (field == 3) {
      if (c_->L()) continue;
      w.name = "renamed";
    }
    EXPECT_EQ(ErrOf(c_->Walk("f")->Wstat(w)), EROFS) << field;
  }
  if (!c_->L()) return;
  uint32_t root = F("");
  constexpr uint32_t kCreat = 0100, kWronly = 1;
  EXPECT_EQ(c_->Errno(Tlcreate{F(""), "x", kCreat | kWronly, 0644, 0}), EROFS);
  EXPECT_EQ(c_->Errno(Tlopen{F("f"), 01000 /*O_TRUNC*/}), EROFS);
  EXPECT_EQ(c_->Errno(Tlopen{F("f"), 02000 /*O_APPEND*/}), EROFS);
  EXPECT_EQ(c_->Errno(Tmkdir{root, "x", 0755, 0}), EROFS);
  EXPECT_EQ(c_->Errno(Tsymlink{root, "x", "f", 0}), EROFS);
  EXPECT_EQ(c_->Errno(Tmknod{root, "x", S_IFIFO | 0600, 0, 0, 0}), EROFS);
  EXPECT_EQ(c_->Errno(Tlink{root, F("f"), "x"}), EROFS);
  EXPECT_EQ(c_->Errno(Trename{F("f"), root, "x"}), EROFS);
  EXPECT_EQ(c_->Errno(Trenameat{root, "f", root, "x"}), EROFS);
  EXPECT_EQ(c_->Errno(Tunlinkat{root, "f", 0}), EROFS);
  EXPECT_EQ(c_->Errno(Tunlinkat{F("d"), "g", 0}), EROFS);
  Tsetattr sa{};
  sa.fid = F("f");
  sa.valid = P9_SETATTR_MODE;
  sa.mode = 0600;
  EXPECT_EQ(c_->Errno(sa), EROFS);
  sa.valid = P9_SETATTR_UID;
  EXPECT_EQ(c_->Errno(sa), EROFS);
  sa.valid = P9_SETATTR_ATIME;
  EXPECT_EQ(c_->Errno(sa), EROFS);
  EXPECT_EQ(c_->Errno(Txattrcreate{F("f"), "user.x", 1, 0}), EROFS);
  // Reading attributes and statfs still work.
  uint32_t x = c_->client().AllocFid();
  EXPECT_EQ(c_->Errno(Txattrwalk{F("f"), x, ""}), 0);
  EXPECT_EQ(c_->Errno(Tstatfs{root}), 0);
}

INSTANTIATE_TEST_SUITE_P(Dialects, ReadOnlyTest,
                         ::testing::Values(Dialect::k9P2000, Dialect::k9P2000L), DialectName);

// ---- The ctl tree ----------------------------------------------------------

class CtlTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    WriteFile(srv_.Path("f"), "f");
    ASSERT_TRUE(srv_.Start());
    ctl_ = std::make_unique<Conn>(srv_.addr(), GetParam(), "ctl");
    ASSERT_TRUE(ctl_->ok()) << ctl_->error().message();
  }
  // The number after `key` on the line of `op` in ops ("Twalk count 3 ...").
  uint64_t OpField(const std::string& op, const std::string& key) {
    auto t = ctl_->ReadFile("ops");
    EXPECT_TRUE(t.ok());
    if (!t.ok()) return 0;
    size_t p = t->find(op + " ");
    if (p == std::string::npos) return 0;
    size_t k = t->find(key + " ", p);
    return std::stoull(t->substr(k + key.size() + 1));
  }
  uint64_t Field(const std::string& file, const std::string& key) {
    auto t = ctl_->ReadFile(file);
    EXPECT_TRUE(t.ok());
    size_t p = t->find(key + " ");
    EXPECT_NE(p, std::string::npos) << *t;
    return p == std::string::npos ? 0 : std::stoull(t->substr(p + key.size() + 1));
  }

  ExportServer srv_;
  std::unique_ptr<Conn> ctl_;
};

TEST_P(CtlTest, ListsItsFiles) {
  auto l = ctl_->List("");
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(*l, (std::set<std::string>{"zero", "null", "version", "connections", "bytes", "ops"}));
  // ctl is not the disk: "f" is not there.
  EXPECT_FALSE(ctl_->Walk("f").ok());
}

TEST_P(CtlTest, ZeroNullVersion) {
  auto z = ctl_->Walk("zero");
  ASSERT_TRUE(z->Open(OREAD).ok());
  std::vector<uint8_t> buf(65536, 0xAA);
  for (uint64_t off : {0ULL, 65536ULL, 1ULL << 40}) {
    auto n = z->ReadOnce(off, buf);
    ASSERT_TRUE(n.ok());
    EXPECT_GT(*n, 0u);
    EXPECT_EQ(std::count(buf.begin(), buf.begin() + *n, 0), static_cast<long>(*n));
  }
  auto nl = ctl_->Walk("null");
  ASSERT_TRUE(nl->Open(ORDWR).ok());
  std::string junk(100000, 'j');
  auto w = nl->Write(0, Bytes(junk));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, junk.size());
  auto r = nl->ReadOnce(0, buf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
  auto v = ctl_->ReadFile("version");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->rfind("exportfs ", 0), 0u) << *v;
}

TEST_P(CtlTest, StatisticsFollowTheTraffic) {
  uint64_t walks = OpField("Twalk", "count");
  uint64_t in = Field("bytes", "in"), out = Field("bytes", "out");
  {
    Conn disk(srv_.addr(), GetParam());
    ASSERT_TRUE(disk.ok());
    EXPECT_GE(Field("connections", "open"), 2u);
    for (int i = 0; i < 10; i++) ASSERT_TRUE(disk.Walk("f").ok());
    for (int i = 0; i < 3; i++) EXPECT_FALSE(disk.Walk("missing").ok());
  }
  EXPECT_GE(OpField("Twalk", "count"), walks + 13);
  EXPECT_GE(OpField("Twalk", "errors"), 3u);
  EXPECT_GT(Field("bytes", "in"), in);
  EXPECT_GT(Field("bytes", "out"), out);
  EXPECT_GE(Field("connections", "total"), 2u);
  // A latency is reported for each operation seen.
  auto t = ctl_->ReadFile("ops");
  ASSERT_TRUE(t.ok());
  EXPECT_NE(t->find("mean_us"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Dialects, CtlTest, ::testing::Values(Dialect::k9P2000, Dialect::k9P2000L),
                         DialectName);

// ---- The command line -------------------------------------------------------

std::string Exportfs() { return Bin("exportfs"); }

TEST(CliTest, UsageErrorsExitTwo) {
  for (std::string args : {"-x", "extra-arg", "-m", "-m notasize", "-a"}) {
    int st;
    std::string err = Sh(Exportfs() + " " + args + " 2>&1 >/dev/null", &st);
    EXPECT_EQ(st, 2) << args;
    EXPECT_NE(err.find("usage: exportfs [-a ADDR] [-s] [-m MSIZE] [-D] [--max-fids N] [--max-conns "
                       "N] [--max-inflight N] [--max-inflight-bytes SIZE] [--max-queued-bytes "
                       "SIZE] [--cert FILE] [--key FILE] [--ca FILE] [--crl FILE] [--psk FILE] "
                       "[--allow USERS] [--readonly USERS] [--insecure] [-d] [-r ROOT] [-R]"),
              std::string::npos)
        << args << ": " << err;
  }
}

TEST(CliTest, OtherErrorsExitOneWithOneLine) {
  int st;
  std::string err = Sh(Exportfs() + " -a 'tcp!127.0.0.1!0' -r /nonexistent/dir 2>&1", &st);
  EXPECT_EQ(st, 1);
  EXPECT_EQ(err.rfind("exportfs: ", 0), 0u) << err;
  EXPECT_NE(err.find("/nonexistent/dir"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1);
  err = Sh(Exportfs() + " -a 'bogus!x!y!z' -r /tmp 2>&1", &st);
  EXPECT_EQ(st, 1) << err;
  EXPECT_EQ(err.rfind("exportfs: ", 0), 0u) << err;
}

TEST(CliTest, StopsCleanlyOnSignals) {
  for (int sig : {SIGTERM, SIGINT}) {
    ExportServer srv;
    ASSERT_TRUE(srv.Start());
    {
      Conn c(srv.addr(), Dialect::k9P2000L);
      ASSERT_TRUE(c.ok());
      kill(srv.proc().pid(), sig);
      auto t0 = std::chrono::steady_clock::now();
      int st = srv.proc().Wait();
      EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
      EXPECT_TRUE(WIFEXITED(st)) << sig;
      EXPECT_EQ(WEXITSTATUS(st), 0) << sig;
    }
  }
}

TEST(CliTest, ServesOneClientOnStdinStdout) {
  TempDir dir;
  WriteFile(dir.path() + "/hello", "over a pipe");
  Process srv;
  const int fd = srv.StartOnSocket({Exportfs(), "-s", "-r", dir.path()});
  ASSERT_GE(fd, 0);
  {
    ClientOptions o;
    o.dialect = Dialect::k9P2000;
    o.call_timeout = std::chrono::milliseconds(10000);
    auto c = Client::FromFds(fd, fd, o);
    ASSERT_TRUE(c.ok()) << c.status().message();
    auto root = (*c)->Attach("root", "");
    ASSERT_TRUE(root.ok());
    auto f = root->Walk("hello");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->Open(OREAD).ok());
    std::vector<uint8_t> buf(100);
    auto n = f->ReadOnce(0, buf);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::string(buf.begin(), buf.begin() + *n), "over a pipe");
  }
  // The client hung up: the server ends by itself.
  int st = srv.WaitExit(5000);
  ASSERT_NE(st, -1) << "exportfs -s did not exit when its client left";
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

TEST(CliTest, TraceFlagsPrintMessages) {
  for (const char* flag : {"-D", "-d"}) {
    TempDir dir;
    WriteFile(dir.path() + "/f", "x");
    std::string log = dir.path() + ".log";
    Process p;
    ASSERT_TRUE(p.Start({"/bin/sh", "-c",
                         "exec " + Exportfs() + " " + flag + " -a 'tcp!127.0.0.1!0' -r '" +
                             dir.path() + "' 2>'" + log + "'"}));
    std::string addr = p.ReadLine();
    ASSERT_FALSE(addr.empty());
    {
      Conn c(addr, Dialect::k9P2000L);
      ASSERT_TRUE(c.ok());
      ASSERT_TRUE(c.Walk("f").ok());
    }
    p.Kill(SIGTERM);
    std::string t = ReadFile(log);
    unlink(log.c_str());
    EXPECT_NE(t.find("Tversion"), std::string::npos) << flag;
    EXPECT_NE(t.find("Twalk"), std::string::npos) << flag;
    EXPECT_NE(t.find("Rwalk"), std::string::npos) << flag;
  }
}

TEST(CliTest, DefaultRootIsTheCurrentDirectory) {
  TempDir dir;
  WriteFile(dir.path() + "/here", "cwd");
  Process p;
  ASSERT_TRUE(p.Start({"/bin/sh", "-c",
                       "cd '" + dir.path() + "' && exec " + Exportfs() + " -a 'tcp!127.0.0.1!0'"}));
  std::string addr = p.ReadLine();
  ASSERT_FALSE(addr.empty());
  Conn c(addr, Dialect::k9P2000);
  ASSERT_TRUE(c.ok());
  auto r = c.ReadFile("here");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "cwd");
}

TEST(CliTest, MsizeCapsTheNegotiation) {
  ExportServer srv;
  ASSERT_TRUE(srv.Start({"-m", "8k"}));
  Conn c(srv.addr(), Dialect::k9P2000L, "", 1 << 20);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.client().msize(), 8192u);
}

}  // namespace
}  // namespace ninep::testing
