// union_test.cc: the union directory server (ns/union) through real
// syscalls: a forked child runs ServeMain on a temporary mountpoint, the
// test builds unions with Client and checks each Plan 9 rule by reading,
// listing, creating, removing and renaming through the mount.
#include "ns/union/union.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "testutil.h"

namespace {

using ninep::testing::WaitFor;
using nsunion::Client;
using nsunion::Member;

// True when path is a mount point in this mount namespace.
bool IsMounted(const std::string& path) {
  std::ifstream f("/proc/self/mountinfo");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream ss(line);
    std::string id, parent, dev, root, mnt;
    ss >> id >> parent >> dev >> root >> mnt;
    if (mnt == path) return true;
  }
  return false;
}

std::string Read(const std::string& path) {
  std::ifstream f(path);
  if (!f) return "<" + std::string(std::strerror(errno)) + ">";
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void Write(const std::string& path, const std::string& data) { std::ofstream(path) << data; }

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

// The names in a directory, in the order read, without . and ..
std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return {"<" + std::string(std::strerror(errno)) + ">"};
  while (dirent* de = readdir(d)) {
    std::string n = de->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  return out;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// A temporary tree with members a, b, c and a mountpoint, plus the server
// running on it in a child process.
class UnionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/union_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    chmod(base_.c_str(), 0755);
    for (const char* d : {"mnt", "a", "b", "c"}) mkdir((base_ + "/" + d).c_str(), 0755);
    mnt_ = base_ + "/mnt";
    Start();
  }

  void Start() {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      close(sv[0]);
      _exit(nsunion::ServeMain(sv[1], mnt_));
    }
    close(sv[1]);
    sock_ = sv[0];
    client_ = std::make_unique<Client>(sock_);
  }

  void TearDown() override {
    for (auto it = binds_.rbegin(); it != binds_.rend(); ++it) umount2(it->c_str(), MNT_DETACH);
    if (pid_ > 0) {
      client_->Stop().IgnoreError();  // the test may have stopped it already
      Reap();
    }
    for (int fd : fds_) close(fd);
    std::string cmd = "rm -rf '" + base_ + "'";
    if (system(cmd.c_str()) != 0) ADD_FAILURE() << cmd;
  }

  // Waits (bounded) for the server to exit; returns its wait status.
  int Reap() {
    int st = -1;
    bool done = WaitFor([&] { return waitpid(pid_, &st, WNOHANG) == pid_; }, 10000);
    if (!done) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &st, 0);
    }
    pid_ = -1;
    close(sock_);
    return done ? st : -1;
  }

  std::string P(const std::string& rel) { return base_ + "/" + rel; }

  // A directory fd for base/rel, kept until the test ends.
  int Dir(const std::string& rel) {
    int fd = open(P(rel).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << rel;
    fds_.push_back(fd);
    return fd;
  }

  // A new union of the given members (label: rel path), in order.
  int MakeUnion(const std::vector<std::pair<std::string, bool>>& members) {
    auto id = client_->NewUnion();
    EXPECT_TRUE(id.ok()) << id.status().message();
    for (const auto& [rel, create] : members) {
      Status s = client_->Add(*id, Member{Dir(rel), create, rel}, false);
      EXPECT_TRUE(s.ok()) << s.message();
    }
    return *id;
  }
  std::string U(int id, const std::string& name = "") {
    return mnt_ + "/" + std::to_string(id) + (name.empty() ? "" : "/" + name);
  }

  using Status = ninep::Status;
  std::string base_, mnt_;
  pid_t pid_ = -1;
  int sock_ = -1;
  std::unique_ptr<Client> client_;
  std::vector<int> fds_;
  std::vector<std::string> binds_;
};

TEST_F(UnionTest, WalkSearchesMembersInOrder) {
  Write(P("a/x"), "A");
  Write(P("b/x"), "B");
  Write(P("b/y"), "By");
  int id = MakeUnion({{"a", false}, {"b", false}});
  EXPECT_EQ(Read(U(id, "x")), "A");
  EXPECT_EQ(Read(U(id, "y")), "By");
  EXPECT_FALSE(Exists(U(id, "z")));
  // bind -b: the new member comes first, and the kernel's cached entry
  // for x is dropped at once.
  ASSERT_TRUE(client_->Add(id, Member{Dir("c"), false, "c"}, true).ok());
  Write(P("c/x"), "C");
  EXPECT_EQ(Read(U(id, "x")), "C");
  auto l = client_->List(id);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].label, "c");
  EXPECT_EQ((*l)[1].label, "a");
  EXPECT_EQ((*l)[2].label, "b");
}

TEST_F(UnionTest, ReaddirListsEachNameOnceFromFirstMember) {
  Write(P("a/x"), "A");
  Write(P("a/only_a"), "");
  Write(P("b/x"), "BBBB");
  Write(P("b/only_b"), "");
  mkdir(P("b/sub").c_str(), 0755);
  int id = MakeUnion({{"a", false}, {"b", false}});
  EXPECT_EQ(Sorted(Names(U(id))), (std::vector<std::string>{"only_a", "only_b", "sub", "x"}));
  struct stat st;
  ASSERT_EQ(stat(U(id, "x").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 1);  // a's x, not b's
  // The root lists the unions.
  EXPECT_EQ(Names(mnt_), (std::vector<std::string>{std::to_string(id)}));
}

TEST_F(UnionTest, SubdirectoriesAreNotUnions) {
  mkdir(P("a/d").c_str(), 0755);
  mkdir(P("b/d").c_str(), 0755);
  Write(P("a/d/fa"), "");
  Write(P("b/d/fb"), "");
  int id = MakeUnion({{"a", false}, {"b", true}});
  EXPECT_EQ(Names(U(id, "d")), (std::vector<std::string>{"fa"}));
  // Creating below a member's directory goes into that directory.
  Write(U(id, "d/new"), "n");
  EXPECT_TRUE(Exists(P("a/d/new")));
  EXPECT_FALSE(Exists(P("b/d/new")));
}

TEST_F(UnionTest, CreateWithoutCreateMemberIsEROFS) {
  int id = MakeUnion({{"a", false}, {"b", false}});
  errno = 0;
  EXPECT_LT(open(U(id, "new").c_str(), O_CREAT | O_WRONLY, 0644), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_NE(mkdir(U(id, "newdir").c_str(), 0755), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_NE(symlink("x", U(id, "newlink").c_str()), 0);
  EXPECT_EQ(errno, EROFS);
  EXPECT_TRUE(Names(P("a")).empty());
  EXPECT_TRUE(Names(P("b")).empty());
}

TEST_F(UnionTest, CreateGoesToFirstCreateMember) {
  Write(P("a/x"), "A");
  int id = MakeUnion({{"a", false}, {"b", true}, {"c", true}});
  Write(U(id, "new"), "hello");
  EXPECT_EQ(Read(P("b/new")), "hello");
  EXPECT_FALSE(Exists(P("a/new")));
  EXPECT_FALSE(Exists(P("c/new")));
  ASSERT_EQ(mkdir(U(id, "dir").c_str(), 0755), 0);
  EXPECT_TRUE(Exists(P("b/dir")));
  ASSERT_EQ(symlink("new", U(id, "link").c_str()), 0);
  EXPECT_EQ(Read(U(id, "link")), "hello");
  // Creating a name that exists opens it where it is (a's x), as Plan 9.
  Write(U(id, "x"), "A2");
  EXPECT_EQ(Read(P("a/x")), "A2");
  EXPECT_FALSE(Exists(P("b/x")));
}

TEST_F(UnionTest, RemoveAndRenameActOnFoundMember) {
  Write(P("a/x"), "A");
  Write(P("b/x"), "B");
  Write(P("b/y"), "By");
  int id = MakeUnion({{"a", false}, {"b", false}});
  ASSERT_EQ(unlink(U(id, "x").c_str()), 0);
  EXPECT_FALSE(Exists(P("a/x")));
  EXPECT_TRUE(Exists(P("b/x")));
  EXPECT_EQ(Read(U(id, "x")), "B");  // b's x shows through now
  ASSERT_EQ(rename(U(id, "y").c_str(), U(id, "z").c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(Read(P("b/z")), "By");
  EXPECT_FALSE(Exists(P("a/z")));
  mkdir(P("b/emptydir").c_str(), 0755);
  ASSERT_EQ(rmdir(U(id, "emptydir").c_str()), 0);
  EXPECT_FALSE(Exists(P("b/emptydir")));
  EXPECT_NE(unlink(U(id, "nothere").c_str()), 0);
  EXPECT_EQ(errno, ENOENT);
  // chmod acts on the member that has the name.
  ASSERT_EQ(chmod(U(id, "z").c_str(), 0600), 0);
  struct stat st;
  ASSERT_EQ(stat(P("b/z").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  // Times of a symlink change on the link, not its target (touch -h).
  ASSERT_EQ(symlink("z", P("b/lz").c_str()), 0);
  struct stat before;
  ASSERT_EQ(stat(P("b/z").c_str(), &before), 0);
  timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, U(id, "lz").c_str(), old, AT_SYMLINK_NOFOLLOW), 0)
      << std::strerror(errno);
  ASSERT_EQ(lstat(P("b/lz").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  ASSERT_EQ(stat(P("b/z").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, before.st_mtim.tv_sec);
  // ... and a file's through the union.
  ASSERT_EQ(utimensat(AT_FDCWD, U(id, "z").c_str(), old, 0), 0);
  ASSERT_EQ(stat(P("b/z").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
}

TEST_F(UnionTest, RenameAcrossFileSystemsIsEXDEV) {
  if (geteuid() != 0) FAIL() << "needs root to mount a tmpfs";
  ASSERT_EQ(mount("tmpfs", P("c").c_str(), "tmpfs", 0, "size=1m"), 0);
  binds_.push_back(P("c"));
  Write(P("a/x"), "A");
  int id = MakeUnion({{"a", false}});
  int id2 = MakeUnion({{"c", true}});
  errno = 0;
  EXPECT_NE(rename(U(id, "x").c_str(), U(id2, "x").c_str()), 0);
  EXPECT_EQ(errno, EXDEV);
  EXPECT_TRUE(Exists(P("a/x")));
}

TEST_F(UnionTest, StatOfUnionDirComesFromFirstMember) {
  chmod(P("a").c_str(), 0751);
  chmod(P("b").c_str(), 0700);
  int id = MakeUnion({{"a", false}, {"b", false}});
  struct stat st, sa;
  ASSERT_EQ(stat(U(id).c_str(), &st), 0);
  ASSERT_EQ(stat(P("a").c_str(), &sa), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0751u);
  EXPECT_EQ(st.st_uid, sa.st_uid);
  EXPECT_EQ(st.st_mtim.tv_sec, sa.st_mtim.tv_sec);
  EXPECT_EQ(st.st_ino, nsunion::kUnionInoBase + static_cast<uint64_t>(id));
  // With b first, b's.
  ASSERT_TRUE(client_->Remove(id, "a").ok());
  ASSERT_EQ(stat(U(id).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_F(UnionTest, BindDirectoryOntoItself) {
  if (geteuid() != 0) FAIL() << "needs root to bind-mount";
  // bind -a c a, then bind -b b a: a's own fd, opened before a was covered,
  // is a member of the union mounted on a.
  Write(P("a/own"), "own");
  Write(P("b/before"), "before");
  Write(P("c/after"), "after");
  int id = MakeUnion({{"a", false}, {"c", false}});
  ASSERT_EQ(mount(U(id).c_str(), P("a").c_str(), nullptr, MS_BIND, nullptr), 0)
      << std::strerror(errno);
  binds_.push_back(P("a"));
  EXPECT_EQ(Sorted(Names(P("a"))), (std::vector<std::string>{"after", "own"}));
  EXPECT_EQ(Read(P("a/own")), "own");
  ASSERT_TRUE(client_->Add(id, Member{Dir("b"), false, "b"}, true).ok());
  EXPECT_EQ(Sorted(Names(P("a"))), (std::vector<std::string>{"after", "before", "own"}));
  EXPECT_EQ(Read(P("a/before")), "before");
  // The union mounted on a can also be a member of another union.
  int id2 = MakeUnion({});
  ASSERT_TRUE(client_->Add(id2, Member{Dir("a"), false, "a-union"}, false).ok());
  EXPECT_EQ(Read(U(id2, "own")), "own");
  // ... but not of itself, nor through another.
  Status s = client_->Add(id, Member{Dir("a"), false, "self"}, false);
  EXPECT_EQ(s.err(), ELOOP) << s.message();
  int mfd = open(U(id2).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(mfd, 0);
  fds_.push_back(mfd);
  s = client_->Add(id, Member{mfd, false, "loop"}, false);
  EXPECT_EQ(s.err(), ELOOP) << s.message();
}

TEST_F(UnionTest, MemberRemovalAndReplace) {
  Write(P("a/x"), "A");
  Write(P("b/y"), "B");
  Write(P("c/z"), "C");
  int id = MakeUnion({{"a", false}, {"b", false}});
  EXPECT_EQ(Read(U(id, "x")), "A");
  ASSERT_TRUE(client_->Remove(id, "a").ok());
  EXPECT_FALSE(Exists(U(id, "x")));
  EXPECT_EQ(Names(U(id)), (std::vector<std::string>{"y"}));
  Status s = client_->Remove(id, "a");
  EXPECT_EQ(s.err(), ENOENT);
  ASSERT_TRUE(client_->Replace(id, Member{Dir("c"), true, "c"}).ok());
  EXPECT_EQ(Names(U(id)), (std::vector<std::string>{"z"}));
  auto l = client_->List(id);
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_TRUE((*l)[0].create);
  // Removing every member leaves an empty, read-only directory.
  ASSERT_TRUE(client_->Remove(id, "c").ok());
  EXPECT_TRUE(Names(U(id)).empty());
  struct stat st;
  ASSERT_EQ(stat(U(id).c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(UnionTest, BadRequestsFailClearlyAndChangeNothing) {
  int id = MakeUnion({{"a", false}});
  Write(P("file"), "");
  int ffd = open(P("file").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(ffd, 0);
  fds_.push_back(ffd);
  Status s = client_->Add(id, Member{ffd, false, "file"}, false);
  EXPECT_EQ(s.err(), ENOTDIR) << s.message();
  s = client_->Add(999, Member{Dir("b"), false, "b"}, false);
  EXPECT_EQ(s.err(), EINVAL) << s.message();
  s = client_->Add(id, Member{Dir("a"), false, "a"}, false);
  EXPECT_EQ(s.err(), EEXIST) << s.message();
  s = client_->Add(id, Member{-1, false, "nofd"}, false);
  EXPECT_EQ(s.err(), EBADF);
  auto l = client_->List(id);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->size(), 1u);
  int root = open(mnt_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(root, 0);
  fds_.push_back(root);
  s = client_->Add(id, Member{root, false, "root"}, false);
  EXPECT_EQ(s.err(), ELOOP);
}

TEST_F(UnionTest, StopUnmountsAndEnds) {
  Write(P("a/x"), "A");
  int id = MakeUnion({{"a", false}});
  EXPECT_EQ(Read(U(id, "x")), "A");
  EXPECT_TRUE(IsMounted(mnt_));
  ASSERT_TRUE(client_->Stop().ok());
  int st = Reap();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  EXPECT_FALSE(IsMounted(mnt_));
  EXPECT_TRUE(Names(mnt_).empty());
}

TEST_F(UnionTest, StopWhileBoundElsewhereEndsWithENOTCONN) {
  if (geteuid() != 0) FAIL() << "needs root to bind-mount";
  Write(P("a/x"), "A");
  int id = MakeUnion({{"a", false}});
  ASSERT_EQ(mount(U(id).c_str(), P("c").c_str(), nullptr, MS_BIND, nullptr), 0);
  binds_.push_back(P("c"));
  int open_fd = open(P("c/x").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(open_fd, 0);
  fds_.push_back(open_fd);
  ASSERT_TRUE(client_->Stop().ok());
  int st = Reap();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  EXPECT_FALSE(IsMounted(mnt_));
  // The bind mount outlives the server: a walk there fails, nothing hangs
  // (what the kernel had cached may still answer until it times out).
  struct stat sb;
  errno = 0;
  EXPECT_NE(stat(P("c/not-cached").c_str(), &sb), 0);
  EXPECT_EQ(errno, ENOTCONN);
}

TEST_F(UnionTest, ClosingControlSocketEndsServer) {
  int id = MakeUnion({{"a", false}});
  (void)id;
  client_.reset();
  shutdown(sock_, SHUT_RDWR);
  int st = Reap();
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  EXPECT_FALSE(IsMounted(mnt_));
  client_ = std::make_unique<Client>(-1);
}

}  // namespace

namespace {

// The user the unprivileged test runs as (made if missing, as COMMON.md
// allows: a system user named nf_*).
bool TestUser(uid_t* uid, gid_t* gid) {
  if (system("id -u nf_union >/dev/null 2>&1 || "
             "useradd -r -M -s /usr/sbin/nologin nf_union >/dev/null 2>&1") != 0) {
    return false;
  }
  FILE* p = popen("id -u nf_union; id -g nf_union", "r");
  if (p == nullptr) return false;
  unsigned u = 0, g = 0;
  bool ok = fscanf(p, "%u %u", &u, &g) == 2;
  pclose(p);
  *uid = u;
  *gid = g;
  return ok;
}

bool WriteFile(const std::string& path, const std::string& s) {
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size());
  close(fd);
  return ok;
}

#define CHILD_CHECK(cond)                                                               \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "line %d: %s: %s\n", __LINE__, #cond, std::strerror(errno)); \
      _exit(1);                                                                         \
    }                                                                                   \
  } while (0)

// Runs as the unprivileged user in a user and mount namespace of its own
// (as `ns exec` does for an ordinary user): serves a union there and
// checks lookup order and create through it. Exit 0: passed; 77: user
// namespaces are not available.
[[noreturn]] void UnprivilegedChild(const std::string& base, uid_t uid, gid_t gid) {
  CHILD_CHECK(setgroups(0, nullptr) == 0 && setgid(gid) == 0 && setuid(uid) == 0);
  // setuid made us undumpable, and so /proc/self/*_map root's to write.
  prctl(PR_SET_DUMPABLE, 1);
  if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) _exit(77);
  WriteFile("/proc/self/setgroups", "deny");
  CHILD_CHECK(WriteFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1"));
  CHILD_CHECK(WriteFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"));
  CHILD_CHECK(mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0);
  int sv[2];
  CHILD_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
  const std::string mnt = base + "/mnt";
  pid_t pid = fork();
  CHILD_CHECK(pid >= 0);
  if (pid == 0) {
    close(sv[0]);
    _exit(nsunion::ServeMain(sv[1], mnt));
  }
  close(sv[1]);
  Client c(sv[0]);
  auto id = c.NewUnion();
  CHILD_CHECK(id.ok());
  int a = open((base + "/a").c_str(), O_RDONLY | O_DIRECTORY);
  int b = open((base + "/b").c_str(), O_RDONLY | O_DIRECTORY);
  CHILD_CHECK(a >= 0 && b >= 0);
  CHILD_CHECK(c.Add(*id, Member{a, false, "a"}, false).ok());
  CHILD_CHECK(c.Add(*id, Member{b, true, "b"}, false).ok());
  const std::string u = mnt + "/" + std::to_string(*id);
  CHILD_CHECK(Read(u + "/x") == "A");
  CHILD_CHECK(Read(u + "/y") == "By");
  Write(u + "/new", "made");
  CHILD_CHECK(Read(base + "/b/new") == "made");
  CHILD_CHECK(Sorted(Names(u)) == (std::vector<std::string>{"new", "x", "y"}));
  CHILD_CHECK(unlink((u + "/x").c_str()) == 0 && !Exists(base + "/a/x"));
  CHILD_CHECK(c.Stop().ok());
  int st = 0;
  CHILD_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHILD_CHECK(!IsMounted(mnt));
  _exit(0);
}

TEST(UnionUnprivileged, ServesUnionInUserNamespace) {
  if (geteuid() != 0) FAIL() << "needs root to make the test user";
  uid_t uid;
  gid_t gid;
  if (!TestUser(&uid, &gid)) FAIL() << "cannot make user nf_union";
  // /dev/fuse as udev leaves it on a standard system (containers: 0600).
  chmod("/dev/fuse", 0666);
  char tmpl[] = "/tmp/union_unpriv.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string base = tmpl;
  for (const char* d : {"", "/a", "/b", "/mnt"}) {
    std::string p = base + d;
    mkdir(p.c_str(), 0755);
    ASSERT_EQ(chown(p.c_str(), uid, gid), 0);
  }
  Write(base + "/a/x", "A");
  Write(base + "/b/x", "B");
  Write(base + "/b/y", "By");
  for (const char* f : {"/a/x", "/b/x", "/b/y"}) ASSERT_EQ(chown((base + f).c_str(), uid, gid), 0);
  chmod(tmpl, 0755);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) UnprivilegedChild(base, uid, gid);
  int st = -1;
  bool done = WaitFor([&] { return waitpid(pid, &st, WNOHANG) == pid; }, 20000);
  if (!done) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
  std::string cmd = "rm -rf '" + base + "'";
  EXPECT_EQ(system(cmd.c_str()), 0);
  ASSERT_TRUE(done) << "the unprivileged child did not finish";
  ASSERT_TRUE(WIFEXITED(st));
  if (WEXITSTATUS(st) == 77) FAIL() << "user namespaces are not available";
  EXPECT_EQ(WEXITSTATUS(st), 0) << "see the child's message above";
}

}  // namespace
