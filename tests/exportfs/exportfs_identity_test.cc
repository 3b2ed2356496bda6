// exportfs_identity_test.cc: exportfs started as root performs each
// request as the user its attach named (uname, or n_uname in 9P2000.L), so
// the kernel's permission checks, ownership of new files, sticky and
// set-id rules apply. Each case is compared with the same operation done
// locally by a process running as that user. Needs root: the test creates
// the system users nf_alice and nf_bob and the group nf_team (alice is a
// member) when they are missing.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "exportfs/exfs.h"

namespace ninep::testing {
namespace {

// A local account and what the kernel would give a process of it.
struct User {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

// Looks an account up; uid 0 and an empty name when it does not exist.
User Lookup(const std::string& name) {
  User u;
  struct passwd* pw = getpwnam(name.c_str());
  if (pw == nullptr) return u;
  u.name = name;
  u.uid = pw->pw_uid;
  u.gid = pw->pw_gid;
  int n = 64;
  u.groups.resize(n);
  if (getgrouplist(name.c_str(), u.gid, u.groups.data(), &n) < 0) n = 0;
  u.groups.resize(n);
  return u;
}

gid_t GroupGid(const std::string& name) {
  struct group* g = getgrnam(name.c_str());
  return g != nullptr ? g->gr_gid : static_cast<gid_t>(-1);
}

// Creates nf_team, nf_alice (a member of nf_team) and nf_bob unless they
// exist; false when that failed.
bool EnsureUsers() {
  if (GroupGid("nf_team") == static_cast<gid_t>(-1)) Sh("groupadd -r nf_team 2>&1");
  for (const char* u : {"nf_alice", "nf_bob"})
    if (getpwnam(u) == nullptr)
      Sh(std::string("useradd -r -M -U -s /usr/sbin/nologin ") + u + " 2>&1");
  User a = Lookup("nf_alice");
  gid_t team = GroupGid("nf_team");
  if (a.name.empty() || team == static_cast<gid_t>(-1) || Lookup("nf_bob").name.empty())
    return false;
  if (std::find(a.groups.begin(), a.groups.end(), team) == a.groups.end())
    Sh("usermod -a -G nf_team nf_alice 2>&1");
  a = Lookup("nf_alice");
  return std::find(a.groups.begin(), a.groups.end(), team) != a.groups.end();
}

// Runs fn (which returns 0 or an errno, and must not allocate) in a child
// process that runs as u, with umask 0 as exportfs has (clients apply
// their own); returns what fn returned.
int LocalAs(const User& u, const std::function<int()>& fn) {
  pid_t p = fork();
  if (p == 0) {
    umask(0);
    if (setgroups(u.groups.size(), u.groups.data()) != 0 || setresgid(u.gid, u.gid, u.gid) != 0 ||
        setresuid(u.uid, u.uid, u.uid) != 0)
      _exit(250);
    _exit(fn());
  }
  int st = 0;
  if (p < 0 || waitpid(p, &st, 0) != p) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// An errno from fn's system call result.
int E(int rc) { return rc == 0 ? 0 : errno; }

// A Twstat changing nothing (numbers ~0, strings empty).
Dir NoChange() {
  Dir d;
  d.type = 0xFFFF;
  d.dev = ~0u;
  d.qid = Qid{0xFF, ~0u, ~0ull};
  d.mode = ~0u;
  d.atime = d.mtime = ~0u;
  d.length = ~0ull;
  return d;
}

// One attach as a user.
struct Session {
  std::unique_ptr<Client> client;
  Fid root;
  Status err;
  bool ok() const { return root.valid(); }
};

Session AttachAs(const std::string& addr, Dialect d, const std::string& uname,
                 uint32_t n_uname = NONUNAME) {
  Session s;
  ClientOptions o;
  o.dialect = d;
  o.call_timeout = std::chrono::milliseconds(20000);
  auto c = Client::Connect(addr, o);
  if (!c.ok()) {
    s.err = c.status();
    return s;
  }
  s.client = std::move(*c);
  auto r = s.client->Attach(uname, "", n_uname);
  if (!r.ok()) {
    s.err = r.status();
    return s;
  }
  s.root = std::move(*r);
  return s;
}

class IdentityTest : public ::testing::TestWithParam<Dialect> {
 protected:
  static void SetUpTestSuite() { users_ok_ = geteuid() == 0 && EnsureUsers(); }

  void SetUp() override {
    if (geteuid() != 0) FAIL() << "needs root";
    ASSERT_TRUE(users_ok_) << "could not create nf_alice, nf_bob and nf_team";
    alice_ = Lookup("nf_alice");
    bob_ = Lookup("nf_bob");
    team_ = GroupGid("nf_team");
    // The temporary directory is root's 0700: open it to everyone, and
    // give the users a world-writable place to create in.
    ASSERT_EQ(chmod(srv_.root().c_str(), 0755), 0);
    ASSERT_EQ(mkdir(P("pub").c_str(), 0777), 0);
    ASSERT_EQ(chmod(P("pub").c_str(), 0777), 0);
  }
  bool Start(const std::vector<std::string>& extra = {}) { return srv_.Start(extra); }
  std::string P(const std::string& rel) { return srv_.Path(rel); }
  bool L() const { return GetParam() == Dialect::k9P2000L; }
  // Attaches by name in 9P2000, by n_uname (the uid) in 9P2000.L, as
  // v9fs's access=user and mount9p do.
  Session As(const User& u) {
    return AttachAs(srv_.addr(), GetParam(), u.name, L() ? u.uid : NONUNAME);
  }
  // The errno of a chmod through the session.
  int Chmod(Session& s, const std::string& path, uint32_t dm) {
    auto f = s.root.Walk(path);
    if (!f.ok()) return f.status().err();
    Dir d = NoChange();
    d.mode = dm;
    return f->Wstat(d).err();
  }
  // Walks one name at a time (a multi-name walk that fails past the first
  // name loses its error) and opens; the errno.
  int Open(Session& s, const std::vector<std::string>& names, uint8_t mode) {
    auto f = s.root.Walk("");
    if (!f.ok()) return f.status().err();
    for (auto& n : names) {
      auto g = f->Walk(n);
      if (!g.ok()) return g.status().err();
      f = std::move(g);
    }
    return f->Open(mode).err();
  }
  // Creates dir/name (a directory when perm has DMDIR); the errno.
  int Create(Session& s, const std::string& dir, const std::string& name, uint32_t perm) {
    auto f = s.root.Walk(dir);
    if (!f.ok()) return f.status().err();
    uint8_t mode = (perm & DMDIR) ? OREAD : OWRITE;
    return f->Create(name, perm, mode).err();
  }
  // Renames dir/from to dir/to; the errno.
  int Rename(Session& s, const std::string& dir, const std::string& from, const std::string& to) {
    if (L()) {
      auto d = s.root.Walk(dir);
      if (!d.ok()) return d.status().err();
      auto r = s.client->CallSync(Trenameat{d->num(), from, d->num(), to});
      return r.ok() ? 0 : r.status().err();
    }
    auto f = s.root.Walk(dir + "/" + from);
    if (!f.ok()) return f.status().err();
    Dir d = NoChange();
    d.name = to;
    return f->Wstat(d).err();
  }
  int Remove(Session& s, const std::string& path) {
    auto f = s.root.Walk(path);
    if (!f.ok()) return f.status().err();
    return f->Remove().err();
  }

  static bool users_ok_;
  User alice_, bob_;
  gid_t team_ = 0;
  ExportServer srv_;
};
bool IdentityTest::users_ok_ = false;

TEST_P(IdentityTest, ChmodOfAnotherUsersFileIsRefused) {
  ASSERT_TRUE(Start());
  WriteFile(P("pub/rootf"), "x");
  ASSERT_EQ(chmod(P("pub/rootf").c_str(), 0644), 0);
  WriteFile(P("pub/mine"), "x");
  ASSERT_EQ(chown(P("pub/mine").c_str(), alice_.uid, alice_.gid), 0);
  Session a = As(alice_);
  ASSERT_TRUE(a.ok()) << a.err.message();
  std::string rootf = P("pub/rootf"), mine = P("pub/mine");
  int local = LocalAs(alice_, [&] { return E(chmod(rootf.c_str(), 0600)); });
  EXPECT_EQ(local, EPERM);
  EXPECT_EQ(Chmod(a, "pub/rootf", 0600), local);
  EXPECT_EQ(LStat(rootf).st_mode & 07777, 0644u);
  // Her own file she may change.
  EXPECT_EQ(Chmod(a, "pub/mine", 0600), 0);
  EXPECT_EQ(LStat(mine).st_mode & 07777, 0600u);
  // And root, attached as root, still may.
  Session r = AttachAs(srv_.addr(), GetParam(), "root", L() ? 0 : NONUNAME);
  ASSERT_TRUE(r.ok()) << r.err.message();
  EXPECT_EQ(Chmod(r, "pub/rootf", 0640), 0);
  EXPECT_EQ(LStat(rootf).st_mode & 07777, 0640u);
}

TEST_P(IdentityTest, AnotherUsersPrivateDirectoryIsClosed) {
  ASSERT_TRUE(Start());
  ASSERT_EQ(mkdir(P("bobdir").c_str(), 0700), 0);
  WriteFile(P("bobdir/f"), "bob's");
  ASSERT_EQ(chown(P("bobdir").c_str(), bob_.uid, bob_.gid), 0);
  ASSERT_EQ(chown(P("bobdir/f").c_str(), bob_.uid, bob_.gid), 0);
  std::string f = P("bobdir/f");
  int local = LocalAs(alice_, [&] {
    int fd = open(f.c_str(), O_RDONLY);
    return fd < 0 ? errno : (close(fd), 0);
  });
  EXPECT_EQ(local, EACCES);
  Session a = As(alice_);
  ASSERT_TRUE(a.ok()) << a.err.message();
  EXPECT_EQ(Open(a, {"bobdir", "f"}, OREAD), local);
  EXPECT_EQ(Open(a, {"bobdir"}, OREAD), EACCES);  // listing it too
  Session b = As(bob_);
  ASSERT_TRUE(b.ok()) << b.err.message();
  EXPECT_EQ(Open(b, {"bobdir", "f"}, OREAD), 0);
}

TEST_P(IdentityTest, NewFilesBelongToTheirCreator) {
  ASSERT_TRUE(Start());
  Session a = As(alice_);
  ASSERT_TRUE(a.ok()) << a.err.message();
  ASSERT_EQ(Create(a, "pub", "af", 0640), 0);
  ASSERT_EQ(Create(a, "pub", "ad", DMDIR | 0750), 0);
  std::string lf = P("pub/lf"), ld = P("pub/ld");
  ASSERT_EQ(LocalAs(alice_,
                    [&] {
                      int fd = open(lf.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0640);
                      return fd < 0 ? errno : (close(fd), E(mkdir(ld.c_str(), 0750)));
                    }),
            0);
  for (auto [remote, local] : {std::pair{"pub/af", "pub/lf"}, std::pair{"pub/ad", "pub/ld"}}) {
    struct stat r = LStat(P(remote)), l = LStat(P(local));
    EXPECT_EQ(r.st_uid, alice_.uid) << remote;
    EXPECT_EQ(r.st_gid, alice_.gid) << remote;
    EXPECT_EQ(r.st_uid, l.st_uid) << remote;
    EXPECT_EQ(r.st_gid, l.st_gid) << remote;
    EXPECT_EQ(r.st_mode, l.st_mode) << remote;
  }
  // So she may chmod what she made.
  EXPECT_EQ(Chmod(a, "pub/af", 0600), 0);
}

TEST_P(IdentityTest, StickyDirectoryProtectsOthersFiles) {
  ASSERT_TRUE(Start());
  ASSERT_EQ(mkdir(P("tmp").c_str(), 0777), 0);
  ASSERT_EQ(chmod(P("tmp").c_str(), 01777), 0);
  Session a = As(alice_), b = As(bob_);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(Create(b, "tmp", "bf", 0666), 0);
  ASSERT_EQ(LStat(P("tmp/bf")).st_uid, bob_.uid);
  WriteFile(P("tmp/lf"), "");
  ASSERT_EQ(chown(P("tmp/lf").c_str(), bob_.uid, bob_.gid), 0);
  std::string lf = P("tmp/lf"), lg = P("tmp/lg");
  int unlink_local = LocalAs(alice_, [&] { return E(unlink(lf.c_str())); });
  int rename_local = LocalAs(alice_, [&] { return E(rename(lf.c_str(), lg.c_str())); });
  EXPECT_EQ(unlink_local, EPERM);
  EXPECT_EQ(rename_local, EPERM);
  EXPECT_EQ(Remove(a, "tmp/bf"), unlink_local);
  EXPECT_EQ(Rename(a, "tmp", "bf", "stolen"), rename_local);
  EXPECT_NE(LStat(P("tmp/bf")).st_mode, 0u);
  // Its owner may.
  EXPECT_EQ(Rename(b, "tmp", "bf", "bf2"), 0);
  EXPECT_EQ(Remove(b, "tmp/bf2"), 0);
  EXPECT_EQ(LStat(P("tmp/bf2")).st_mode, 0u);
}

TEST_P(IdentityTest, UnknownUserIsRefused) {
  ASSERT_TRUE(Start());
  Session s = AttachAs(srv_.addr(), GetParam(), "nf_no_such_user");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.err.err(), EACCES) << s.err.message();
  if (!L()) {
    EXPECT_NE(s.err.message().find("unknown user"), std::string::npos) << s.err.message();
  }
  if (L()) {
    // A uid no account has.
    Session n = AttachAs(srv_.addr(), GetParam(), "root", 3999999);
    EXPECT_FALSE(n.ok());
    EXPECT_EQ(n.err.err(), EACCES);
  }
  // The server goes on serving others.
  Session a = As(alice_);
  EXPECT_TRUE(a.ok()) << a.err.message();
}

TEST_P(IdentityTest, SetgidDirectoryGivesItsGroup) {
  ASSERT_TRUE(Start());
  ASSERT_EQ(mkdir(P("team").c_str(), 0775), 0);
  ASSERT_EQ(chown(P("team").c_str(), 0, team_), 0);
  ASSERT_EQ(chmod(P("team").c_str(), 02775), 0);
  Session a = As(alice_);
  ASSERT_TRUE(a.ok()) << a.err.message();
  ASSERT_EQ(Create(a, "team", "f", 0664), 0);
  ASSERT_EQ(Create(a, "team", "d", DMDIR | 0775), 0);
  std::string lf = P("team/lf"), ld = P("team/ld");
  ASSERT_EQ(LocalAs(alice_,
                    [&] {
                      int fd = open(lf.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0664);
                      return fd < 0 ? errno : (close(fd), E(mkdir(ld.c_str(), 0775)));
                    }),
            0);
  for (auto [remote, local] : {std::pair{"team/f", "team/lf"}, std::pair{"team/d", "team/ld"}}) {
    struct stat r = LStat(P(remote)), l = LStat(P(local));
    EXPECT_EQ(r.st_uid, alice_.uid) << remote;
    EXPECT_EQ(r.st_gid, team_) << remote;
    EXPECT_EQ(r.st_mode, l.st_mode) << remote;  // the directory inherits S_ISGID
  }
  EXPECT_TRUE(LStat(P("team/d")).st_mode & S_ISGID);
  // Bob is no member: the directory is closed to him for writing.
  Session b = As(bob_);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Create(b, "team", "g", 0664), EACCES);
}

TEST_P(IdentityTest, WriteByAnotherUserClearsSetid) {
  ASSERT_TRUE(Start());
  for (const char* n : {"pub/s", "pub/ls"}) {
    WriteFile(P(n), "data");
    ASSERT_EQ(chown(P(n).c_str(), alice_.uid, alice_.gid), 0);
    ASSERT_EQ(chmod(P(n).c_str(), 06777), 0);
  }
  std::string ls = P("pub/ls");
  ASSERT_EQ(LocalAs(bob_,
                    [&] {
                      int fd = open(ls.c_str(), O_WRONLY);
                      if (fd < 0) return errno;
                      int e = write(fd, "x", 1) == 1 ? 0 : errno;
                      close(fd);
                      return e;
                    }),
            0);
  Session b = As(bob_);
  ASSERT_TRUE(b.ok());
  auto f = b.root.Walk("pub/s");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Open(OWRITE).ok());
  std::string x = "x";
  ASSERT_TRUE(f->Write(0, Bytes(x)).ok());
  EXPECT_EQ(LStat(P("pub/s")).st_mode, LStat(ls).st_mode);
  EXPECT_EQ(LStat(P("pub/s")).st_mode & 06000, 0u);
}

TEST_P(IdentityTest, ChmodSetsAndClearsSetidAndStickyBits) {
  ASSERT_TRUE(Start());
  Session a = As(alice_);
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(Create(a, "pub", "f", 0755), 0);
  ASSERT_EQ(Create(a, "pub", "d", DMDIR | 0755), 0);
  EXPECT_EQ(Chmod(a, "pub/f", DMSETUID | DMSETGID | 0755), 0);
  EXPECT_EQ(LStat(P("pub/f")).st_mode & 07777, 06755u);
  EXPECT_EQ(Chmod(a, "pub/f", 0755), 0);
  EXPECT_EQ(LStat(P("pub/f")).st_mode & 07777, 0755u);
  EXPECT_EQ(Chmod(a, "pub/d", DMDIR | DMSETVTX | 0777), 0);
  EXPECT_EQ(LStat(P("pub/d")).st_mode & 07777, 01777u);
  // Stat reports them back.
  auto d = a.root.Walk("pub/d");
  ASSERT_TRUE(d.ok());
  auto st = d->Stat();
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->mode & DMSETVTX);
  // Set-gid to a group she is not in: the kernel drops the bit, as locally.
  WriteFile(P("pub/bobs"), "");
  ASSERT_EQ(chown(P("pub/bobs").c_str(), alice_.uid, bob_.gid), 0);
  ASSERT_EQ(chmod(P("pub/bobs").c_str(), 0644), 0);
  WriteFile(P("pub/lbobs"), "");
  ASSERT_EQ(chown(P("pub/lbobs").c_str(), alice_.uid, bob_.gid), 0);
  ASSERT_EQ(chmod(P("pub/lbobs").c_str(), 0644), 0);
  std::string lb = P("pub/lbobs");
  int local = LocalAs(alice_, [&] { return E(chmod(lb.c_str(), 02644)); });
  EXPECT_EQ(Chmod(a, "pub/bobs", DMSETGID | 0644), local);
  EXPECT_EQ(LStat(P("pub/bobs")).st_mode, LStat(lb).st_mode);
}

TEST_P(IdentityTest, NoSetuidServesAsTheServer) {
  ASSERT_TRUE(Start({"--no-setuid"}));
  WriteFile(P("pub/rootf"), "x");
  ASSERT_EQ(chmod(P("pub/rootf").c_str(), 0644), 0);
  Session a = As(alice_);
  ASSERT_TRUE(a.ok()) << a.err.message();
  EXPECT_EQ(Create(a, "pub", "af", 0644), 0);
  EXPECT_EQ(LStat(P("pub/af")).st_uid, 0u);
  EXPECT_EQ(Chmod(a, "pub/rootf", 0600), 0);
  // Any name is accepted: it is only a label.
  Session n = AttachAs(srv_.addr(), GetParam(), "nf_no_such_user");
  EXPECT_TRUE(n.ok()) << n.err.message();
}

INSTANTIATE_TEST_SUITE_P(Dialects, IdentityTest,
                         ::testing::Values(Dialect::k9P2000, Dialect::k9P2000L), DialectName);

// 9P2000.L only: the gid Tlcreate, Tmkdir and Tsymlink carry, and n_uname
// winning over uname.
class IdentityDotlTest : public IdentityTest {};

TEST_P(IdentityDotlTest, CreateHonoursTheGidOfAMember) {
  ASSERT_TRUE(Start());
  Session a = As(alice_);
  ASSERT_TRUE(a.ok());
  auto dir = a.root.Walk("pub");
  ASSERT_TRUE(dir.ok());
  uint32_t nf = a.client->AllocFid();
  ASSERT_TRUE(a.client->CallSync(Twalk{dir->num(), nf, {}}).ok());
  ASSERT_TRUE(a.client->CallSync(Tlcreate{nf, "tf", 0101, 0644, team_}).ok());
  EXPECT_EQ(LStat(P("pub/tf")).st_gid, team_);
  // Not a member of bob's group: the gid is ignored, as diod does.
  ASSERT_TRUE(a.client->CallSync(Tmkdir{dir->num(), "bd", 0755, bob_.gid}).ok());
  EXPECT_EQ(LStat(P("pub/bd")).st_gid, alice_.gid);
  ASSERT_TRUE(a.client->CallSync(Tmkdir{dir->num(), "td", 0755, team_}).ok());
  EXPECT_EQ(LStat(P("pub/td")).st_gid, team_);
  ASSERT_TRUE(a.client->CallSync(Tsymlink{dir->num(), "tl", "target", team_}).ok());
  EXPECT_EQ(LStat(P("pub/tl")).st_gid, team_);
  EXPECT_EQ(LStat(P("pub/tl")).st_uid, alice_.uid);
}

TEST_P(IdentityDotlTest, NunameWinsOverUname) {
  ASSERT_TRUE(Start());
  Session a = AttachAs(srv_.addr(), Dialect::k9P2000L, "root", alice_.uid);
  ASSERT_TRUE(a.ok()) << a.err.message();
  EXPECT_EQ(Create(a, "pub", "f", 0644), 0);
  EXPECT_EQ(LStat(P("pub/f")).st_uid, alice_.uid);
}

INSTANTIATE_TEST_SUITE_P(Dotl, IdentityDotlTest, ::testing::Values(Dialect::k9P2000L), DialectName);

// Started by an unprivileged user, exportfs serves everyone as itself and
// says so, once, on stderr.
TEST(IdentityUnprivilegedTest, ServesAsItselfAndSaysSo) {
  if (geteuid() != 0) FAIL() << "needs root to become another user";
  ASSERT_TRUE(EnsureUsers());
  User alice = Lookup("nf_alice");
  TempDir dir;
  ASSERT_EQ(chown(dir.path().c_str(), alice.uid, alice.gid), 0);
  std::string err = dir.path() + "/stderr", root = dir.path() + "/x";
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(chown(root.c_str(), alice.uid, alice.gid), 0);
  Process q;
  ASSERT_TRUE(q.Start({"/bin/sh", "-c",
                       "exec setpriv --reuid=" + std::to_string(alice.uid) + " --regid=" +
                           std::to_string(alice.gid) + " --init-groups " + Bin("exportfs") +
                           " -a 'tcp!127.0.0.1!0' -r '" + root + "' 2>'" + err + "'"}));
  std::string addr = q.ReadLine(10000);
  ASSERT_FALSE(addr.empty());
  Session s = AttachAs(addr, Dialect::k9P2000L, "root", 0);
  ASSERT_TRUE(s.ok()) << s.err.message();
  ASSERT_TRUE(s.root.Walk("")->Create("f", 0644, OWRITE).ok());
  EXPECT_EQ(LStat(root + "/f").st_uid, alice.uid);
  std::string said = ReadFile(err);
  EXPECT_EQ(std::count(said.begin(), said.end(), '\n'), 1) << said;
  EXPECT_NE(said.find("not running as root"), std::string::npos) << said;
}

// 9P2000's times are 32 bits: a time past 2^32 saturates rather than
// wrapping to a date near 1970.
TEST(IdentityTimeTest, TimesPast32BitsSaturate) {
  ExportServer srv;
  ASSERT_TRUE(srv.Start());
  WriteFile(srv.Path("late"), "");
  struct timespec ts[2] = {{(1LL << 32) + 5, 0}, {(1LL << 32) + 7, 0}};
  if (utimensat(AT_FDCWD, srv.Path("late").c_str(), ts, 0) != 0 ||
      LStat(srv.Path("late")).st_mtime != (1LL << 32) + 7)
    FAIL() << "the filesystem cannot hold such a time";
  Conn c(srv.addr(), Dialect::k9P2000);
  ASSERT_TRUE(c.ok());
  auto f = c.Walk("late");
  ASSERT_TRUE(f.ok());
  auto st = f->Stat();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->mtime, 0xFFFFFFFFu);
  EXPECT_EQ(st->atime, 0xFFFFFFFFu);
}

}  // namespace
}  // namespace ninep::testing
