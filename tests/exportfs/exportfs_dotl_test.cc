// exportfs_dotl_test.cc: every 9P2000.L hook exportfs implements (getattr,
// setattr, readdir cookies, lcreate flags, mkdir, symlink, readlink, link,
// rename, renameat, unlinkat, mknod, statfs, fsync, lock/getlock, xattrs)
// against a real bin/exportfs, compared with the local filesystem, with
// raw messages, and their errors.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "exportfs/exfs.h"

namespace ninep::testing {
namespace {

constexpr uint32_t kRdonly = 0, kWronly = 1, kRdwr = 2, kCreat = 0100, kExcl = 0200,
                   kAppend = 02000;

class DotlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(srv_.Start());
    c_ = std::make_unique<Conn>(srv_.addr(), Dialect::k9P2000L);
    ASSERT_TRUE(c_->ok()) << c_->error().message();
  }
  std::string P(const std::string& rel) { return srv_.Path(rel); }
  // A new fid number on `path` ("" clones the root); 0xFFFFFFFF on failure.
  uint32_t F(const std::string& path) {
    std::vector<std::string> names;
    for (size_t i = 0; i < path.size();) {
      size_t j = path.find('/', i);
      if (j == std::string::npos) j = path.size();
      names.push_back(path.substr(i, j - i));
      i = j + 1;
    }
    uint32_t nf;
    auto q = c_->WalkRaw(c_->root().num(), names, &nf);
    if (!q.ok() || q->size() != names.size()) return NOFID;
    return nf;
  }
  template <class R>
  R Get(const Body& t) {
    auto r = c_->Call(t);
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok()) return R{};
    return std::get<R>(r->msg.body);
  }

  ExportServer srv_;
  std::unique_ptr<Conn> c_;
};

TEST_F(DotlTest, GetattrReportsRealStatValues) {
  WriteFile(P("f"), std::string(5000, 'a'));
  chmod(P("f").c_str(), 04751);
  ASSERT_EQ(link(P("f").c_str(), P("g").c_str()), 0);
  struct timespec ts[2] = {{1234567890, 123456789}, {1300000000, 987654321}};
  ASSERT_EQ(utimensat(AT_FDCWD, P("f").c_str(), ts, 0), 0);
  struct stat st = LStat(P("f"));
  uint32_t f = F("f");
  auto a = Get<Rgetattr>(Tgetattr{f, P9_GETATTR_ALL});
  EXPECT_EQ(a.valid & P9_GETATTR_BASIC, P9_GETATTR_BASIC);
  EXPECT_EQ(a.mode, st.st_mode);
  EXPECT_EQ(a.uid, st.st_uid);
  EXPECT_EQ(a.gid, st.st_gid);
  EXPECT_EQ(a.nlink, 2u);
  EXPECT_EQ(a.size, 5000u);
  EXPECT_EQ(a.blocks, static_cast<uint64_t>(st.st_blocks));
  EXPECT_EQ(a.blksize, static_cast<uint64_t>(st.st_blksize));
  EXPECT_EQ(a.atime_sec, 1234567890u);
  EXPECT_EQ(a.atime_nsec, 123456789u);
  EXPECT_EQ(a.mtime_sec, 1300000000u);
  EXPECT_EQ(a.mtime_nsec, 987654321u);
  EXPECT_EQ(a.ctime_sec, static_cast<uint64_t>(st.st_ctim.tv_sec));
  EXPECT_EQ(a.ctime_nsec, static_cast<uint64_t>(st.st_ctim.tv_nsec));
  EXPECT_EQ(a.qid.path, st.st_ino);
  EXPECT_EQ(a.qid.type, QTFILE);
  // A directory and a symlink.
  ASSERT_EQ(mkdir(P("d").c_str(), 0700), 0);
  ASSERT_EQ(symlink("f", P("l").c_str()), 0);
  auto d = Get<Rgetattr>(Tgetattr{F("d"), P9_GETATTR_ALL});
  EXPECT_TRUE(S_ISDIR(d.mode));
  EXPECT_EQ(d.qid.type, QTDIR);
  auto l = Get<Rgetattr>(Tgetattr{F("l"), P9_GETATTR_ALL});
  EXPECT_TRUE(S_ISLNK(l.mode));
  EXPECT_EQ(l.qid.type, QTSYMLINK);
  EXPECT_EQ(l.size, 1u);
}

TEST_F(DotlTest, SetattrChangesWhatItSays) {
  WriteFile(P("f"), "0123456789");
  uint32_t f = F("f");
  Tsetattr sa{};
  sa.fid = f;
  sa.valid = P9_SETATTR_MODE | P9_SETATTR_SIZE;
  sa.mode = 0640;
  sa.size = 3;
  ASSERT_EQ(c_->Errno(sa), 0);
  struct stat st = LStat(P("f"));
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_EQ(st.st_size, 3);
  // Ownership (we run as root).
  sa = {};
  sa.fid = f;
  sa.valid = P9_SETATTR_UID | P9_SETATTR_GID;
  sa.uid = 4242;
  sa.gid = 4343;
  ASSERT_EQ(c_->Errno(sa), 0);
  st = LStat(P("f"));
  EXPECT_EQ(st.st_uid, 4242u);
  EXPECT_EQ(st.st_gid, 4343u);
  // Times given, to the nanosecond.
  sa = {};
  sa.fid = f;
  sa.valid = P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET | P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
  sa.atime_sec = 1111111111;
  sa.atime_nsec = 5;
  sa.mtime_sec = 1222222222;
  sa.mtime_nsec = 6;
  ASSERT_EQ(c_->Errno(sa), 0);
  st = LStat(P("f"));
  EXPECT_EQ(st.st_atim.tv_sec, 1111111111);
  EXPECT_EQ(st.st_atim.tv_nsec, 5);
  EXPECT_EQ(st.st_mtim.tv_sec, 1222222222);
  EXPECT_EQ(st.st_mtim.tv_nsec, 6);
  // Time bits without _SET: now.
  sa = {};
  sa.fid = f;
  sa.valid = P9_SETATTR_MTIME;
  ASSERT_EQ(c_->Errno(sa), 0);
  st = LStat(P("f"));
  EXPECT_GT(st.st_mtim.tv_sec, time(nullptr) - 60);
  EXPECT_EQ(st.st_atim.tv_sec, 1111111111);  // untouched
  // Size on a directory.
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  sa = {};
  sa.fid = F("d");
  sa.valid = P9_SETATTR_SIZE;
  EXPECT_EQ(c_->Errno(sa), EISDIR);
}

TEST_F(DotlTest, ReaddirCookiesResume) {
  std::set<std::string> want;
  for (int i = 0; i < 300; i++) {
    std::string n = "entry-" + std::to_string(i);
    WriteFile(P(n), "");
    want.insert(n);
  }
  uint32_t d = F("");
  ASSERT_EQ(c_->Errno(Tlopen{d, kRdonly}), 0);
  std::set<std::string> got;
  std::vector<uint64_t> cookies;
  uint64_t off = 0;
  for (int round = 0; round < 1000; round++) {
    auto r = c_->Call(Treaddir{d, off, 700});
    ASSERT_TRUE(r.ok()) << r.status().message();
    auto data = std::get<Rreaddir>(r->msg.body).data;
    if (data.empty()) break;
    DirentReader rd(data);
    Dirent e;
    while (rd.Next(&e)) {
      EXPECT_TRUE(got.insert(std::string(e.name)).second) << "repeated " << e.name;
      EXPECT_EQ(e.qid.path, LStat(P(std::string(e.name))).st_ino);
      EXPECT_EQ(e.type, DT_REG);
      off = e.offset;
      cookies.push_back(off);
    }
    ASSERT_TRUE(rd.error().ok());
  }
  EXPECT_EQ(got, want);
  // Resuming from a cookie in the middle gives the rest, from offset 0 all.
  auto r = c_->Call(Treaddir{d, cookies[149], 1 << 16});
  ASSERT_TRUE(r.ok());
  DirentReader rd(std::get<Rreaddir>(r->msg.body).data);
  Dirent e;
  int n = 0;
  while (rd.Next(&e)) n++;
  EXPECT_EQ(n, 150);
}

TEST_F(DotlTest, LcreateHonoursFlags) {
  uint32_t d = F("");
  auto r = Get<Rlcreate>(Tlcreate{d, "log", kWronly | kCreat | kExcl | kAppend, 0604, 0});
  EXPECT_EQ(r.qid.path, LStat(P("log")).st_ino);
  EXPECT_EQ(LStat(P("log")).st_mode & 07777, 0604u);
  // O_APPEND: every write lands at the end whatever its offset.
  std::string a = "first,", b = "second";
  ASSERT_EQ(c_->Errno(Twrite{d, 0, Bytes(a)}), 0);
  ASSERT_EQ(c_->Errno(Twrite{d, 0, Bytes(b)}), 0);
  EXPECT_EQ(ReadFile(P("log")), "first,second");
  // An existing name.
  uint32_t d2 = F("");
  EXPECT_EQ(c_->Errno(Tlcreate{d2, "log", kWronly | kCreat | kExcl, 0644, 0}), EEXIST);
  // Tlopen with O_TRUNC and O_APPEND on an existing file.
  uint32_t f = F("log");
  ASSERT_EQ(c_->Errno(Tlopen{f, kRdwr | 01000 /*O_TRUNC*/}), 0);
  EXPECT_EQ(LStat(P("log")).st_size, 0);
}

TEST_F(DotlTest, MkdirSymlinkReadlinkLink) {
  uint32_t root = F("");
  auto m = Get<Rmkdir>(Tmkdir{root, "dir", 0711, 0});
  EXPECT_EQ(m.qid.type, QTDIR);
  EXPECT_EQ(m.qid.path, LStat(P("dir")).st_ino);
  EXPECT_EQ(LStat(P("dir")).st_mode & 07777, 0711u);
  EXPECT_EQ(c_->Errno(Tmkdir{root, "dir", 0755, 0}), EEXIST);

  auto s = Get<Rsymlink>(Tsymlink{root, "link", "dir/target with space", 0});
  EXPECT_EQ(s.qid.type, QTSYMLINK);
  char buf[256] = {};
  ASSERT_GT(readlink(P("link").c_str(), buf, sizeof buf), 0);
  EXPECT_STREQ(buf, "dir/target with space");
  uint32_t l = F("link");
  auto rl = c_->Call(Treadlink{l});
  ASSERT_TRUE(rl.ok());
  EXPECT_EQ(std::get<Rreadlink>(rl->msg.body).target, "dir/target with space");
  EXPECT_EQ(c_->Errno(Treadlink{F("dir")}), EINVAL);

  WriteFile(P("file"), "linked");
  ASSERT_EQ(c_->Errno(Tlink{F("dir"), F("file"), "hard"}), 0);
  EXPECT_EQ(LStat(P("dir/hard")).st_ino, LStat(P("file")).st_ino);
  EXPECT_EQ(LStat(P("file")).st_nlink, 2u);
  EXPECT_EQ(c_->Errno(Tlink{F("dir"), F("file"), "hard"}), EEXIST);
  EXPECT_EQ(c_->Errno(Tlink{root, F("dir"), "dirlink"}), EPERM);
}

TEST_F(DotlTest, RenameRenameatUnlinkat) {
  ASSERT_EQ(mkdir(P("a").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("b").c_str(), 0755), 0);
  WriteFile(P("a/f"), "moving");
  uint32_t f = F("a/f");
  ASSERT_EQ(c_->Errno(Trename{f, F("b"), "g"}), 0);
  EXPECT_EQ(ReadFile(P("b/g")), "moving");
  EXPECT_EQ(LStat(P("a/f")).st_mode, 0u);
  // The fid follows: it can still be read, stat'd and renamed again.
  ASSERT_EQ(c_->Errno(Trename{f, F(""), "top"}), 0);
  EXPECT_EQ(ReadFile(P("top")), "moving");
  ASSERT_EQ(c_->Errno(Tlopen{f, kRdonly}), 0);
  auto rr = c_->Call(Tread{f, 0, 100});
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ(std::get<Rread>(rr->msg.body).data.size(), 6u);

  ASSERT_EQ(c_->Errno(Trenameat{F(""), "top", F("a"), "back"}), 0);
  EXPECT_EQ(ReadFile(P("a/back")), "moving");
  EXPECT_EQ(c_->Errno(Trenameat{F(""), "missing", F("a"), "x"}), ENOENT);
  // Renaming over a non-empty directory.
  WriteFile(P("b/x"), "");
  EXPECT_EQ(c_->Errno(Trenameat{F(""), "a", F(""), "b"}), ENOTEMPTY);

  // unlinkat: a file, a directory (AT_REMOVEDIR), their errors.
  EXPECT_EQ(c_->Errno(Tunlinkat{F("a"), "back", 0}), 0);
  EXPECT_EQ(LStat(P("a/back")).st_mode, 0u);
  EXPECT_EQ(c_->Errno(Tunlinkat{F(""), "a", 0}), EISDIR);
  EXPECT_EQ(c_->Errno(Tunlinkat{F(""), "b", 0x200}), ENOTEMPTY);
  EXPECT_EQ(c_->Errno(Tunlinkat{F(""), "a", 0x200}), 0);
  EXPECT_EQ(LStat(P("a")).st_mode, 0u);
  EXPECT_EQ(c_->Errno(Tunlinkat{F(""), "a", 0x200}), ENOENT);
  EXPECT_EQ(c_->Errno(Tunlinkat{F("b/x"), "y", 0}), ENOTDIR);
}

TEST_F(DotlTest, MknodFifosAndDevices) {
  uint32_t root = F("");
  auto q = Get<Rmknod>(Tmknod{root, "fifo", S_IFIFO | 0620, 0, 0, 0});
  struct stat st = LStat(P("fifo"));
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0620u);
  EXPECT_EQ(q.qid.path, st.st_ino);
  // As root, a character device: /dev/full's numbers, which then answers
  // every write with ENOSPC through exportfs.
  Get<Rmknod>(Tmknod{root, "full", S_IFCHR | 0666, 1, 7, 0});
  st = LStat(P("full"));
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 7));
  uint32_t f = F("full");
  ASSERT_EQ(c_->Errno(Tlopen{f, kWronly}), 0);
  EXPECT_EQ(c_->Errno(Twrite{f, 0, Bytes("x")}), ENOSPC);
  EXPECT_EQ(c_->Errno(Tmknod{root, "fifo", S_IFIFO | 0600, 0, 0, 0}), EEXIST);
}

TEST_F(DotlTest, StatfsMatchesLocal) {
  auto s = Get<Rstatfs>(Tstatfs{F("")});
  struct statfs sf;
  ASSERT_EQ(statfs(srv_.root().c_str(), &sf), 0);
  EXPECT_EQ(s.type, static_cast<uint32_t>(sf.f_type));
  EXPECT_EQ(s.bsize, static_cast<uint32_t>(sf.f_bsize));
  EXPECT_EQ(s.blocks, sf.f_blocks);
  EXPECT_EQ(s.files, sf.f_files);
  EXPECT_EQ(s.namelen, static_cast<uint32_t>(sf.f_namelen));
}

TEST_F(DotlTest, FsyncOpenAndUnopened) {
  WriteFile(P("f"), "x");
  uint32_t f = F("f");
  EXPECT_EQ(c_->Errno(Tfsync{f, 0}), 0);
  ASSERT_EQ(c_->Errno(Tlopen{f, kRdwr}), 0);
  EXPECT_EQ(c_->Errno(Tfsync{f, 1}), 0);
  EXPECT_EQ(c_->Errno(Tfsync{F(""), 0}), 0);
}

TEST_F(DotlTest, LocksConflictBetweenFids) {
  WriteFile(P("f"), std::string(100, 'x'));
  uint32_t a = F("f"), b = F("f");
  ASSERT_EQ(c_->Errno(Tlopen{a, kRdwr}), 0);
  ASSERT_EQ(c_->Errno(Tlopen{b, kRdwr}), 0);
  auto la = Get<Rlock>(Tlock{a, P9_LOCK_TYPE_WRLCK, 0, 0, 10, 111, "host-a"});
  EXPECT_EQ(la.status, P9_LOCK_SUCCESS);
  auto lb = Get<Rlock>(Tlock{b, P9_LOCK_TYPE_WRLCK, P9_LOCK_FLAGS_BLOCK, 5, 10, 222, "host-b"});
  EXPECT_EQ(lb.status, P9_LOCK_BLOCKED);
  // A range that does not overlap is free.
  auto lc = Get<Rlock>(Tlock{b, P9_LOCK_TYPE_WRLCK, 0, 50, 10, 222, "host-b"});
  EXPECT_EQ(lc.status, P9_LOCK_SUCCESS);
  auto g = Get<Rgetlock>(Tgetlock{b, P9_LOCK_TYPE_WRLCK, 0, 10, 222, "host-b"});
  EXPECT_EQ(g.type, P9_LOCK_TYPE_WRLCK);
  EXPECT_EQ(g.start, 0u);
  EXPECT_EQ(g.length, 10u);
  auto g2 = Get<Rgetlock>(Tgetlock{b, P9_LOCK_TYPE_WRLCK, 20, 10, 222, "host-b"});
  EXPECT_EQ(g2.type, P9_LOCK_TYPE_UNLCK);
  // Unlocked by a, b gets it; clunking b drops its locks.
  EXPECT_EQ(Get<Rlock>(Tlock{a, P9_LOCK_TYPE_UNLCK, 0, 0, 10, 111, "host-a"}).status,
            P9_LOCK_SUCCESS);
  EXPECT_EQ(Get<Rlock>(Tlock{b, P9_LOCK_TYPE_WRLCK, 0, 0, 10, 222, "host-b"}).status,
            P9_LOCK_SUCCESS);
  c_->Clunk(b);
  EXPECT_EQ(Get<Rlock>(Tlock{a, P9_LOCK_TYPE_WRLCK, 0, 0, 10, 111, "host-a"}).status,
            P9_LOCK_SUCCESS);
  // A lock needs an open fid.
  EXPECT_EQ(c_->Errno(Tlock{F("f"), P9_LOCK_TYPE_RDLCK, 0, 0, 0, 1, "x"}), EBADF);
}

TEST_F(DotlTest, UserXattrs) {
  WriteFile(P("f"), "x");
  // Set through an xattr-create fid: the value is written, set at clunk.
  uint32_t f = F("f");
  std::string v("value with\0nul", 14), name = "user.ninefold";
  ASSERT_EQ(c_->Errno(Txattrcreate{f, name, v.size(), 0}), 0);
  ASSERT_EQ(c_->Errno(Twrite{f, 0, Bytes(v)}), 0);
  c_->Clunk(f);
  char buf[64];
  ssize_t n = getxattr(P("f").c_str(), name.c_str(), buf, sizeof buf);
  ASSERT_EQ(n, 14);
  EXPECT_EQ(std::string(buf, 14), v);
  // Get it back through an xattr-walk fid.
  uint32_t x = c_->client().AllocFid();
  auto w = Get<Rxattrwalk>(Txattrwalk{F("f"), x, name});
  EXPECT_EQ(w.size, 14u);
  auto rd = c_->Call(Tread{x, 0, 100});
  ASSERT_TRUE(rd.ok());
  auto data = std::get<Rread>(rd->msg.body).data;
  EXPECT_EQ(std::string(data.begin(), data.end()), v);
  c_->Clunk(x);
  // List: the empty name.
  ASSERT_EQ(setxattr(P("f").c_str(), "user.second", "2", 1, 0), 0);
  x = c_->client().AllocFid();
  w = Get<Rxattrwalk>(Txattrwalk{F("f"), x, ""});
  rd = c_->Call(Tread{x, 0, 1000});
  ASSERT_TRUE(rd.ok());
  data = std::get<Rread>(rd->msg.body).data;
  std::string list(data.begin(), data.end());
  EXPECT_EQ(w.size, list.size());
  EXPECT_NE(list.find(std::string("user.ninefold\0", 14)), std::string::npos);
  EXPECT_NE(list.find(std::string("user.second\0", 12)), std::string::npos);
  c_->Clunk(x);
  // Missing, other namespaces, removal (size 0 with XATTR_REPLACE).
  x = c_->client().AllocFid();
  EXPECT_EQ(c_->Errno(Txattrwalk{F("f"), x, "user.missing"}), ENODATA);
  c_->client().FreeFid(x);
  EXPECT_EQ(c_->Errno(Txattrcreate{F("f"), "trusted.evil", 1, 0}), EOPNOTSUPP);
  EXPECT_EQ(c_->Errno(Txattrcreate{F("f"), "security.capability", 1, 0}), EOPNOTSUPP);
  uint32_t rm = F("f");
  ASSERT_EQ(c_->Errno(Txattrcreate{rm, "user.second", 0, XATTR_REPLACE}), 0);
  c_->Clunk(rm);
  EXPECT_LT(getxattr(P("f").c_str(), "user.second", buf, sizeof buf), 0);
  EXPECT_EQ(errno, ENODATA);
}

}  // namespace
}  // namespace ninep::testing
