// users_test.cc: POSIX semantics for several users through one mount9p
// made by root with default options (access=user, allow_other,
// default_permissions). Each operation runs in a child that has become
// nf_alice or nf_bob (setgroups, setgid, setuid) and is run once on a local
// directory and once through the mount: the two outcomes must be the same.
// Servers: bin/exportfs in both dialects and Debian's diod (9P2000.L), both
// run as root and acting as the attaching user.
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "mount_util.h"

namespace ninep::testing {
namespace {

// A local account the test acts as.
struct User {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

// Makes nf_team, nf_alice (in nf_team) and nf_bob when missing; false if
// that failed.
bool EnsureUsers() {
  int st;
  Sh("getent group nf_team >/dev/null || groupadd -r nf_team", &st);
  for (const char* u : {"nf_alice", "nf_bob"}) {
    Sh(std::string("id -u ") + u + " >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin " + u,
       &st);
  }
  Sh("id -nG nf_alice | grep -qw nf_team || usermod -aG nf_team nf_alice", &st);
  return getpwnam("nf_alice") != nullptr && getpwnam("nf_bob") != nullptr &&
         getgrnam("nf_team") != nullptr;
}

User Lookup(const char* name) {
  User u;
  u.name = name;
  struct passwd* pw = getpwnam(name);
  if (pw == nullptr) return u;
  u.uid = pw->pw_uid;
  u.gid = pw->pw_gid;
  int n = 64;
  u.groups.resize(n);
  if (getgrouplist(name, u.gid, u.groups.data(), &n) < 0) n = 0;
  u.groups.resize(n);
  return u;
}

// "ok", or the name of errno.
std::string Res(int rc) {
  if (rc >= 0) return "ok";
  const char* n = strerrorname_np(errno);
  return n != nullptr ? n : std::to_string(errno);
}

// Runs fn as u in a forked child; returns what it returned.
std::string As(const User& u, const std::function<std::string()>& fn) {
  int p[2];
  if (pipe(p) != 0) return "pipe failed";
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    std::string out;
    if (setgroups(u.groups.size(), u.groups.data()) != 0 || setgid(u.gid) != 0 ||
        setuid(u.uid) != 0) {
      out = "cannot become " + u.name;
    } else {
      out = fn();
    }
    size_t off = 0;
    while (off < out.size()) {
      ssize_t n = write(p[1], out.data() + off, out.size() - off);
      if (n <= 0) break;
      off += static_cast<size_t>(n);
    }
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char b[4096];
  ssize_t n;
  while ((n = read(p[0], b, sizeof b)) > 0) out.append(b, static_cast<size_t>(n));
  close(p[0]);
  int st;
  waitpid(pid, &st, 0);
  return out;
}

// uid gid mode (octal, with the file type) of path, or the error.
std::string Owner(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return Res(-1);
  char b[64];
  std::snprintf(b, sizeof b, "%u %u %o", st.st_uid, st.st_gid, st.st_mode);
  return b;
}

std::string Mkfile(const std::string& path, mode_t mode, const std::string& data = "") {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, mode);
  if (fd < 0) return Res(-1);
  if (!data.empty() && write(fd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    close(fd);
    return "short write";
  }
  close(fd);
  return "ok";
}

// Writes data at the end of path; the result and the mode after.
std::string Append(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_APPEND);
  if (fd < 0) return Res(-1);
  std::string r = Res(static_cast<int>(write(fd, data.data(), data.size())));
  close(fd);
  return r + " " + Owner(path);
}

int64_t CtimeNs(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return -1;
  return st.st_ctim.tv_sec * 1000000000LL + st.st_ctim.tv_nsec;
}

// Waits (bounded) until the clock file systems stamp times with has passed
// ns, so a change made next gets a later ctime whatever the clock's grain.
void PassClock(int64_t ns) {
  for (int i = 0; i < 200000; i++) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME_COARSE, &t);
    if (t.tv_sec * 1000000000LL + t.tv_nsec > ns) return;
    sched_yield();
  }
}

struct ServerParam {
  const char* server;  // "exportfs" or "diod"
  bool dotl;
};

std::string ParamName(const ::testing::TestParamInfo<ServerParam>& p) {
  return std::string(p.param.server) + (p.param.dotl ? "_L" : "_9P2000");
}

class Mount9pUsersTest : public ::testing::TestWithParam<ServerParam> {
 protected:
  static void SetUpTestSuite() { users_ok_ = EnsureUsers(); }

  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "needs root (CI runs the FUSE tests as root)";
    ASSERT_TRUE(users_ok_) << "cannot create nf_alice, nf_bob, nf_team";
    alice_ = Lookup("nf_alice");
    bob_ = Lookup("nf_bob");
    team_ = getgrnam("nf_team")->gr_gid;
    // Every user must reach both trees.
    for (const std::string& d : {export_.path(), local_.path(), mount_.scratch()}) {
      chmod(d.c_str(), 0755);
    }
    const ServerParam& p = GetParam();
    std::vector<std::string> margs;
    std::string addr;
    if (std::string(p.server) == "diod") {
      addr = StartDiod(&server_, export_.path());
      margs = {"-A", export_.path()};
    } else {
      addr = StartServer(&server_, "exportfs", {"-r", export_.path()});
    }
    ASSERT_FALSE(addr.empty()) << "server did not start";
    if (p.dotl) margs.push_back("-L");
    ASSERT_TRUE(mount_.Start(addr, margs)) << "mount9p did not mount " << addr;
    l_ = local_.path();
    m_ = mount_.path();
    struct stat st;
    ASSERT_EQ(stat(m_.c_str(), &st), 0);
    if (std::string(p.server) == "exportfs") {
      // Before anything else: exportfs started as root acts as the
      // attaching user.
      std::string pd = m_ + "/probe";
      mkdir(pd.c_str(), 0777);
      chmod(pd.c_str(), 0777);
      std::string who = As(alice_, [&] {
        std::string made = Mkfile(pd + "/f", 0644);
        return made == "ok" ? Owner(pd + "/f") : made;
      });
      unlink((pd + "/f").c_str());
      rmdir(pd.c_str());
      ASSERT_EQ(who.rfind(std::to_string(alice_.uid) + " ", 0), 0u)
          << "exportfs as root does not give a new file to its creator: " << who;
    }
  }

  void TearDown() override {
    int st = mount_.Unmount();
    EXPECT_TRUE(Mount::CleanExit(st)) << "mount9p wait status " << st;
  }

  bool dotl() const { return GetParam().dotl; }

  // Runs op(root) as u on the local tree and through the mount: same
  // result wanted.
  void Same(const User& u, const std::string& what,
            const std::function<std::string(const std::string&)>& op) {
    std::string want = As(u, [&] { return op(l_); });
    std::string got = As(u, [&] { return op(m_); });
    EXPECT_EQ(want, got) << u.name << ": " << what;
  }
  // The same as root, in this process.
  void SameRoot(const std::string& what, const std::function<std::string(const std::string&)>& op) {
    std::string want = op(l_);
    std::string got = op(m_);
    EXPECT_EQ(want, got) << "root: " << what;
  }

  // The shared tree: a world-writable dir, a sticky one, bob's private
  // dir, files of each user, a set-gid team dir.
  void Build() {
    SameRoot("build", [&](const std::string& r) {
      std::string out;
      auto add = [&](const std::string& s) { out += s + ";"; };
      add(Res(mkdir((r + "/pub").c_str(), 0777)));
      add(Res(chmod((r + "/pub").c_str(), 0777)));
      add(Res(mkdir((r + "/sticky").c_str(), 0777)));
      add(Res(chmod((r + "/sticky").c_str(), 01777)));
      add(Res(mkdir((r + "/bobonly").c_str(), 0700)));
      add(Res(chown((r + "/bobonly").c_str(), bob_.uid, bob_.gid)));
      add(Mkfile(r + "/bobonly/secret", 0644, "secret\n"));
      add(Res(chown((r + "/bobonly/secret").c_str(), bob_.uid, bob_.gid)));
      add(Mkfile(r + "/rootfile", 0644, "root\n"));
      add(Mkfile(r + "/alicefile", 0644, "alice\n"));
      add(Res(chown((r + "/alicefile").c_str(), alice_.uid, alice_.gid)));
      add(Res(mkdir((r + "/team").c_str(), 0775)));
      add(Res(chown((r + "/team").c_str(), 0, team_)));
      add(Res(chmod((r + "/team").c_str(), 02777)));
      add(Owner(r + "/team") + " " + Owner(r + "/bobonly") + " " + Owner(r + "/sticky"));
      return out;
    });
  }

  static inline bool users_ok_ = false;
  User alice_, bob_;
  gid_t team_ = 0;
  Process server_;
  TempDir export_, local_;
  Mount mount_;
  std::string l_, m_;
};

TEST_P(Mount9pUsersTest, ChmodChownOpenTruncate) {
  Build();
  auto chmod_ = [](const char* f, mode_t m) {
    return
        [=](const std::string& r) { return Res(chmod((r + f).c_str(), m)) + " " + Owner(r + f); };
  };
  Same(alice_, "chmod own file", chmod_("/alicefile", 0600));
  Same(bob_, "chmod alice's file", chmod_("/alicefile", 0666));
  Same(alice_, "chmod root's file", chmod_("/rootfile", 0666));
  Same(alice_, "chmod own file back", chmod_("/alicefile", 0644));
  auto chown_ = [](const char* f, uid_t u, gid_t g) {
    return [=](const std::string& r) {
      return Res(chown((r + f).c_str(), u, g)) + " " + Owner(r + f);
    };
  };
  Same(alice_, "chgrp own file to a group of hers", chown_("/alicefile", -1, team_));
  Same(alice_, "chgrp own file to bob's group", chown_("/alicefile", -1, bob_.gid));
  Same(alice_, "give own file away", chown_("/alicefile", bob_.uid, -1));
  Same(bob_, "chgrp alice's file", chown_("/alicefile", -1, bob_.gid));
  SameRoot("root gives a file to bob", chown_("/rootfile", bob_.uid, bob_.gid));
  SameRoot("root takes it back", chown_("/rootfile", 0, 0));
  auto open_ = [](const char* f, int flags) {
    return [=](const std::string& r) {
      int fd = open((r + f).c_str(), flags);
      std::string s = Res(fd);
      if (fd >= 0) close(fd);
      return s;
    };
  };
  Same(alice_, "read in bob's 0700 dir", open_("/bobonly/secret", O_RDONLY));
  Same(bob_, "read in own 0700 dir", open_("/bobonly/secret", O_RDONLY));
  Same(alice_, "write root's 0644 file", open_("/rootfile", O_WRONLY));
  Same(alice_, "read root's 0644 file", open_("/rootfile", O_RDONLY));
  Same(alice_, "list bob's 0700 dir", open_("/bobonly", O_RDONLY | O_DIRECTORY));
  auto trunc_ = [](const char* f, off_t n) {
    return [=](const std::string& r) {
      struct stat st;
      std::string s = Res(truncate((r + f).c_str(), n));
      if (stat((r + f).c_str(), &st) == 0) s += " " + std::to_string(st.st_size);
      return s;
    };
  };
  Same(alice_, "truncate root's file", trunc_("/rootfile", 1));
  Same(alice_, "truncate own file", trunc_("/alicefile", 2));
  Same(bob_, "truncate alice's file", trunc_("/alicefile", 0));
}

TEST_P(Mount9pUsersTest, CreatorsOwnWhatTheyMake) {
  Build();
  for (const User* u : {&alice_, &bob_}) {
    Same(*u, "make in pub", [&](const std::string& r) {
      std::string d = r + "/pub/" + u->name;
      std::string out = Res(mkdir(d.c_str(), 0755)) + " " + Owner(d) + ";";
      out += Mkfile(d + "/f", 0640, "x") + " " + Owner(d + "/f") + ";";
      // The creator may then chmod what it made.
      out += Res(chmod((d + "/f").c_str(), 0600)) + " " + Owner(d + "/f") + ";";
      if (dotl()) {
        out += Res(mkfifo((d + "/fifo").c_str(), 0644)) + " " + Owner(d + "/fifo") + ";";
        out += Res(symlink("f", (d + "/sl").c_str())) + " " + Owner(d + "/sl") + ";";
        // protected_hardlinks: a link to one's own file is allowed.
        out += Res(link((d + "/f").c_str(), (d + "/f2").c_str())) + ";";
      }
      return out;
    });
  }
  Same(alice_, "make in the set-gid team dir", [&](const std::string& r) {
    std::string d = r + "/team/ad";
    std::string out = Res(mkdir(d.c_str(), 0755)) + " " + Owner(d) + ";";
    out += Mkfile(r + "/team/af", 0644) + " " + Owner(r + "/team/af");
    return out;
  });
  Same(bob_, "make in bob's dir", [&](const std::string& r) {
    return Mkfile(r + "/bobonly/new", 0600) + " " + Owner(r + "/bobonly/new");
  });
  Same(alice_, "make in bob's dir", [&](const std::string& r) {
    return Mkfile(r + "/bobonly/new2", 0600) + " " + Owner(r + "/bobonly/new2");
  });
}

TEST_P(Mount9pUsersTest, StickyRenameUnlinkLink) {
  Build();
  Same(bob_, "bob's files in sticky and pub", [&](const std::string& r) {
    return Mkfile(r + "/sticky/b", 0666, "b") + Mkfile(r + "/sticky/b2", 0666, "b") +
           Mkfile(r + "/pub/b", 0600, "b") + Mkfile(r + "/pub/b3", 0666, "b");
  });
  Same(alice_, "alice's file in sticky",
       [&](const std::string& r) { return Mkfile(r + "/sticky/a", 0666, "a"); });
  auto ren = [](const char* from, const char* to) {
    return [=](const std::string& r) { return Res(rename((r + from).c_str(), (r + to).c_str())); };
  };
  auto del = [](const char* f) {
    return [=](const std::string& r) { return Res(unlink((r + f).c_str())); };
  };
  Same(alice_, "rename bob's file in sticky", ren("/sticky/b", "/sticky/c"));
  Same(alice_, "rename own file onto bob's in sticky", ren("/sticky/a", "/sticky/b"));
  Same(alice_, "unlink bob's file in sticky", del("/sticky/b"));
  Same(bob_, "rename own file in sticky", ren("/sticky/b", "/sticky/c"));
  Same(bob_, "unlink own file in sticky", del("/sticky/c"));
  Same(alice_, "rename bob's file in pub", ren("/pub/b3", "/pub/a3"));
  Same(alice_, "unlink bob's file in pub", del("/pub/a3"));
  Same(alice_, "rename into bob's 0700 dir", ren("/sticky/a", "/bobonly/a"));
  Same(alice_, "unlink in bob's 0700 dir", del("/bobonly/secret"));
  SameRoot("root renames in sticky", ren("/sticky/b2", "/sticky/r2"));
  if (!dotl()) {
    // 9P2000 has no hard links and renames only within a directory.
    As(alice_, [&] {
      EXPECT_EQ(Res(link((m_ + "/sticky/a").c_str(), (m_ + "/pub/al").c_str())), "EPERM");
      EXPECT_EQ(Res(rename((m_ + "/sticky/a").c_str(), (m_ + "/pub/a").c_str())), "EXDEV");
      return std::string();
    });
    return;
  }
  auto lnk = [](const char* from, const char* to) {
    return [=](const std::string& r) { return Res(link((r + from).c_str(), (r + to).c_str())); };
  };
  Same(alice_, "link to bob's 0600 file (protected_hardlinks)", lnk("/pub/b", "/pub/al"));
  Same(alice_, "link to own file", lnk("/sticky/a", "/pub/al2"));
  Same(alice_, "link into bob's 0700 dir", lnk("/sticky/a", "/bobonly/al"));
  Same(alice_, "rename across directories", ren("/sticky/a", "/pub/a"));
  SameRoot("link counts", [&](const std::string& r) {
    struct stat st;
    if (stat((r + "/pub/a").c_str(), &st) != 0) return Res(-1);
    return std::to_string(st.st_nlink);
  });
}

TEST_P(Mount9pUsersTest, SetIdBitsClearedOnWriteAndChown) {
  Build();
  SameRoot("set-id files", [&](const std::string& r) {
    std::string out;
    for (const char* f : {"/pub/full", "/pub/empty", "/pub/chowned", "/pub/rootchown"}) {
      out += Mkfile(r + f, 0644, std::string(f) == "/pub/empty" ? "" : "data") + " ";
      out += Res(chown((r + f).c_str(), bob_.uid, team_)) + " ";
      out += Res(chmod((r + f).c_str(), 06777)) + " " + Owner(r + f) + ";";
    }
    out += Mkfile(r + "/pub/mine", 0644, "x") +
           Res(chown((r + "/pub/mine").c_str(), alice_.uid, alice_.gid)) +
           Res(chmod((r + "/pub/mine").c_str(), 06775)) + Owner(r + "/pub/mine");
    return out;
  });
  // Another user's write clears both bits (the group can execute); the
  // empty file is read and written with direct I/O.
  Same(alice_, "write to a non-empty set-id file",
       [](const std::string& r) { return Append(r + "/pub/full", "more"); });
  Same(alice_, "write to an empty set-id file",
       [](const std::string& r) { return Append(r + "/pub/empty", "more"); });
  Same(alice_, "truncate a set-id file", [](const std::string& r) {
    std::string s = Res(truncate((r + "/pub/chowned").c_str(), 1));
    return s + " " + Owner(r + "/pub/chowned");
  });
  SameRoot("root chowns a set-id file", [](const std::string& r) {
    return Res(chown((r + "/pub/rootchown").c_str(), 0, -1)) + " " + Owner(r + "/pub/rootchown");
  });
  Same(alice_, "chgrp of own set-id file", [&](const std::string& r) {
    return Res(chown((r + "/pub/mine").c_str(), -1, team_)) + " " + Owner(r + "/pub/mine");
  });
  Same(alice_, "set the set-gid bit on own file", [&](const std::string& r) {
    return Res(chmod((r + "/pub/mine").c_str(), 02755)) + " " + Owner(r + "/pub/mine");
  });
  SameRoot("root sets and clears set-id and sticky bits", [](const std::string& r) {
    std::string f = r + "/pub/mine";
    std::string out = Res(chmod(f.c_str(), 07755)) + " " + Owner(f) + ";";
    out += Res(chmod(f.c_str(), 0755)) + " " + Owner(f);
    return out;
  });
}

TEST_P(Mount9pUsersTest, OpenUnlinkedFileHasNoLinks) {
  Build();
  auto op = [](const std::string& r) {
    std::string f = r + "/pub/gone";
    int fd = open(f.c_str(), O_RDWR | O_CREAT, 0644);
    if (fd < 0) return Res(-1);
    std::string out = Res(static_cast<int>(write(fd, "x", 1)));
    out += " " + Res(unlink(f.c_str()));
    struct stat st = {};
    out += " " + Res(fstat(fd, &st));
    out += " nlink " + std::to_string(st.st_nlink);
    close(fd);
    return out;
  };
  if (dotl()) return Same(alice_, "fstat after unlink", op);
  // 9P2000 carries no link count: mount9p(1) DIALECTS says every file
  // shows 1, even an open file that was unlinked.
  EXPECT_EQ(As(alice_, [&] { return op(l_); }), "ok ok ok nlink 0");
  EXPECT_EQ(As(alice_, [&] { return op(m_); }), "ok ok ok nlink 1");
}

TEST_P(Mount9pUsersTest, CtimeFollowsChanges) {
  Build();
  // "changed" when op moved the file's ctime on, as a local file's does.
  auto changes = [](const char* f, const std::function<int(const std::string&)>& op) {
    return [=](const std::string& r) {
      int64_t before = CtimeNs(r + f);
      PassClock(before);
      std::string res = Res(op(r));
      int64_t after = -1;
      // The renamed file is found by its new name.
      after = CtimeNs(r + f);
      if (after < 0) after = CtimeNs(r + f + std::string(".moved"));
      return res + (after > before ? " changed" : " unchanged");
    };
  };
  Same(alice_, "own file", [](const std::string& r) { return Mkfile(r + "/pub/t", 0644, "t"); });
  Same(alice_, "ctime after chmod",
       changes("/pub/t", [](const std::string& r) { return chmod((r + "/pub/t").c_str(), 0600); }));
  Same(alice_, "ctime after chgrp", changes("/pub/t", [&](const std::string& r) {
         return chown((r + "/pub/t").c_str(), -1, team_);
       }));
  SameRoot("ctime after chown", changes("/pub/t", [&](const std::string& r) {
             return chown((r + "/pub/t").c_str(), bob_.uid, -1);
           }));
  if (dotl()) {
    SameRoot("ctime after link", changes("/pub/t", [](const std::string& r) {
               return link((r + "/pub/t").c_str(), (r + "/pub/t2").c_str());
             }));
  }
  SameRoot("ctime after rename", changes("/pub/t", [](const std::string& r) {
             return rename((r + "/pub/t").c_str(), (r + "/pub/t.moved").c_str());
           }));
  SameRoot("ctime after write", changes("/pub/t.moved", [](const std::string& r) {
             int fd = open((r + "/pub/t.moved").c_str(), O_WRONLY | O_APPEND);
             if (fd < 0) return -1;
             int n = static_cast<int>(write(fd, "w", 1));
             close(fd);
             return n < 0 ? -1 : 0;
           }));
  if (!dotl()) {
    // A 9P2000 stat holds 32-bit times: later ones fail, not wrap.
    struct timespec ts[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(1) << 32, 0}};
    EXPECT_EQ(Res(utimensat(AT_FDCWD, (m_ + "/pub/t.moved").c_str(), ts, 0)), "EOVERFLOW");
  }
}

TEST_P(Mount9pUsersTest, RootSeesLocalSemantics) {
  // What needs no second user: set-id and sticky bits through chmod, the
  // ctime of each change, 32-bit times (9P2000), an open unlinked file.
  SameRoot("set-id and sticky bits", [](const std::string& r) {
    std::string f = r + "/s", d = r + "/d";
    std::string out = Mkfile(f, 0644, "x") + " " + Res(mkdir(d.c_str(), 0755)) + ";";
    for (mode_t m : {04755, 02755, 06711, 0755}) {
      out += Res(chmod(f.c_str(), m)) + " " + Owner(f) + ";";
    }
    for (mode_t m : {01777, 02775, 0755}) {
      out += Res(chmod(d.c_str(), m)) + " " + Owner(d) + ";";
    }
    return out;
  });
  auto changes = [](const std::function<int(const std::string&)>& op) {
    return [=](const std::string& r) {
      int64_t before = CtimeNs(r + "/s");
      PassClock(before);
      std::string res = Res(op(r));
      return res + (CtimeNs(r + "/s") > before ? " changed" : " unchanged");
    };
  };
  SameRoot("ctime after chmod",
           changes([](const std::string& r) { return chmod((r + "/s").c_str(), 0600); }));
  SameRoot("ctime after chown",
           changes([](const std::string& r) { return chown((r + "/s").c_str(), 1, 1); }));
  SameRoot("ctime after a no-op chmod",
           changes([](const std::string& r) { return chmod((r + "/s").c_str(), 0600); }));
  SameRoot("ctime after utimes", changes([](const std::string& r) {
             return utimensat(AT_FDCWD, (r + "/s").c_str(), nullptr, 0);
           }));
  if (dotl()) {
    SameRoot("ctime after link", changes([](const std::string& r) {
               return link((r + "/s").c_str(), (r + "/s2").c_str());
             }));
    SameRoot("fstat of an open unlinked file", [](const std::string& r) {
      int fd = open((r + "/s").c_str(), O_RDONLY);
      std::string out =
          Res(fd) + " " + Res(unlink((r + "/s").c_str())) + " " + Res(unlink((r + "/s2").c_str()));
      struct stat st = {};
      out += " " + Res(fstat(fd, &st));
      out += " nlink " + std::to_string(st.st_nlink);
      close(fd);
      return out;
    });
  } else {
    std::string f = m_ + "/s";
    struct timespec ts[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(1) << 32, 0}};
    EXPECT_EQ(Res(utimensat(AT_FDCWD, f.c_str(), ts, 0)), "EOVERFLOW");
    ts[1] = {-1, 0};
    EXPECT_EQ(Res(utimensat(AT_FDCWD, f.c_str(), ts, 0)), "EOVERFLOW");
    ts[1] = {0xFFFFFFFELL, 0};  // the last time a 9P2000 stat holds
    EXPECT_EQ(Res(utimensat(AT_FDCWD, f.c_str(), ts, 0)), "ok");
    struct stat st;
    ASSERT_EQ(stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_mtime, 0xFFFFFFFELL);
    // The dialect's limits fail as a local filesystem without the feature.
    EXPECT_EQ(Res(link(f.c_str(), (m_ + "/s2").c_str())), "EPERM");
    EXPECT_EQ(Res(symlink("s", (m_ + "/sl").c_str())), "EPERM");
    EXPECT_EQ(Res(mknod((m_ + "/dev").c_str(), S_IFCHR | 0600, makedev(1, 3))), "EPERM");
    EXPECT_EQ(Res(mkdir((m_ + "/d/x").c_str(), 0755)), "ok");
    EXPECT_EQ(Res(rename(f.c_str(), (m_ + "/d/s").c_str())), "EXDEV");
  }
}

INSTANTIATE_TEST_SUITE_P(Servers, Mount9pUsersTest,
                         ::testing::Values(ServerParam{"exportfs", false},
                                           ServerParam{"exportfs", true},
                                           ServerParam{"diod", true}),
                         ParamName);

}  // namespace
}  // namespace ninep::testing
