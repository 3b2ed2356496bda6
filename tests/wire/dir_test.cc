// dir_test.cc: Dir and the stat/getattr/mode/flag conversions of dir.h.
#include "ninep/dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

namespace ninep {
namespace {

Dir SampleDir() {
  Dir d;
  d.type = 3;
  d.dev = 4;
  d.qid = Qid{QTFILE, 7, 99};
  d.mode = 0640;
  d.atime = 1000;
  d.mtime = 2000;
  d.length = 5000;
  d.name = "notes";
  d.uid = "1001";
  d.gid = "sys";
  d.muid = "glenda";
  return d;
}

TEST(Dir, ToStatViewsTheStrings) {
  Dir d = SampleDir();
  Stat s = d.ToStat();
  EXPECT_EQ(s.type, 3);
  EXPECT_EQ(s.dev, 4u);
  EXPECT_EQ(s.qid, d.qid);
  EXPECT_EQ(s.mode, 0640u);
  EXPECT_EQ(s.atime, 1000u);
  EXPECT_EQ(s.mtime, 2000u);
  EXPECT_EQ(s.length, 5000u);
  EXPECT_EQ(s.name, "notes");
  EXPECT_EQ(s.name.data(), d.name.data());
  EXPECT_EQ(s.muid, "glenda");
}

TEST(Dir, StatRoundTrip) {
  Dir d = SampleDir();
  Dir back = DirFromStat(d.ToStat());
  EXPECT_EQ(back.ToStat(), d.ToStat());
  EXPECT_NE(back.name.data(), d.name.data());  // owns its copy
  EXPECT_EQ(back.l.valid, 0u);
}

TEST(Dir, DerivedGetattr) {
  Dir d = SampleDir();
  Rgetattr a = d.ToGetattr();
  EXPECT_EQ(a.valid, P9_GETATTR_BASIC);
  EXPECT_EQ(a.qid, d.qid);
  EXPECT_EQ(a.mode, static_cast<uint32_t>(S_IFREG | 0640));
  EXPECT_EQ(a.uid, 1001u);  // numeric string
  EXPECT_EQ(a.gid, 0u);     // "sys" is not a number
  EXPECT_EQ(a.nlink, 1u);
  EXPECT_EQ(a.size, 5000u);
  EXPECT_EQ(a.blksize, 4096u);
  EXPECT_EQ(a.blocks, 10u);  // ceil(5000 / 512)
  EXPECT_EQ(a.atime_sec, 1000u);
  EXPECT_EQ(a.mtime_sec, 2000u);
  EXPECT_EQ(a.ctime_sec, 2000u);

  d.mode = DMDIR | 0755;
  d.qid.type = QTDIR;
  EXPECT_EQ(d.ToGetattr().mode, static_cast<uint32_t>(S_IFDIR | 0755));
  // A directory qid with a mode lacking DMDIR is still a directory.
  d.mode = 0755;
  EXPECT_EQ(d.ToGetattr().mode, static_cast<uint32_t>(S_IFDIR | 0755));
  d.uid = "12x";
  EXPECT_EQ(d.ToGetattr().uid, 0u);
  d.uid = "99999999999";  // does not fit 32 bits
  EXPECT_EQ(d.ToGetattr().uid, 0u);
}

TEST(Dir, ExplicitGetattrWins) {
  Dir d = SampleDir();
  d.l.valid = P9_GETATTR_ALL;
  d.l.nlink = 7;
  d.l.mode = S_IFREG | 0600;
  Rgetattr a = d.ToGetattr();
  EXPECT_EQ(a.nlink, 7u);
  EXPECT_EQ(a.mode, static_cast<uint32_t>(S_IFREG | 0600));
}

TEST(Dir, FromGetattr) {
  Rgetattr a;
  a.valid = P9_GETATTR_BASIC;
  a.qid = Qid{QTDIR, 1, 2};
  a.mode = S_IFDIR | 0750;
  a.uid = 1000;
  a.gid = 100;
  a.size = 4096;
  a.atime_sec = 11;
  a.mtime_sec = 22;
  a.nlink = 3;
  Dir d = DirFromGetattr(a, "home");
  EXPECT_EQ(d.name, "home");
  EXPECT_EQ(d.mode, DMDIR | 0750);
  EXPECT_EQ(d.uid, "1000");
  EXPECT_EQ(d.gid, "100");
  EXPECT_EQ(d.length, 4096u);
  EXPECT_EQ(d.atime, 11u);
  EXPECT_EQ(d.mtime, 22u);
  EXPECT_EQ(d.qid, a.qid);
  EXPECT_EQ(d.ToGetattr(), a);  // the .L detail is kept
}

TEST(Dir, UnixModes) {
  struct {
    uint32_t st, dm;
  } cases[] = {
      {S_IFREG | 0644, 0644},
      {S_IFDIR | 0755, DMDIR | 0755},
      {S_IFLNK | 0777, DMSYMLINK | 0777},
      {S_IFSOCK | 0600, DMSOCKET | 0600},
      {S_IFIFO | 0600, DMNAMEDPIPE | 0600},
      {S_IFCHR | 0620, DMDEVICE | 0620},
      {S_IFREG | S_ISUID | 0755, DMSETUID | 0755},
      {S_IFDIR | S_ISGID | S_ISVTX | 0777, DMDIR | DMSETGID | DMSETVTX | 0777},
  };
  for (auto c : cases) {
    EXPECT_EQ(DMFromUnixMode(c.st), c.dm) << std::oct << c.st;
    EXPECT_EQ(UnixModeFromDM(c.dm), c.st) << std::oct << c.dm;
  }
  // Block devices have no 9P2000 kind of their own.
  EXPECT_EQ(DMFromUnixMode(S_IFBLK | 0660), DMDEVICE | 0660);
  // Plan 9 bits without a Unix meaning are dropped.
  EXPECT_EQ(UnixModeFromDM(DMAPPEND | DMEXCL | 0600), static_cast<uint32_t>(S_IFREG | 0600));

  EXPECT_EQ(QidTypeFromUnixMode(S_IFDIR | 0755), QTDIR);
  EXPECT_EQ(QidTypeFromUnixMode(S_IFLNK | 0777), QTSYMLINK);
  EXPECT_EQ(QidTypeFromUnixMode(S_IFREG | 0644), QTFILE);
  EXPECT_EQ(QidTypeFromUnixMode(S_IFIFO | 0644), QTFILE);

  EXPECT_EQ(DirentTypeFromQid(Qid{QTDIR, 0, 0}), DT_DIR);
  EXPECT_EQ(DirentTypeFromQid(Qid{QTSYMLINK, 0, 0}), DT_LNK);
  EXPECT_EQ(DirentTypeFromQid(Qid{QTFILE, 0, 0}), DT_REG);
  EXPECT_EQ(DirentTypeFromQid(Qid{QTAPPEND, 0, 0}), DT_REG);
}

TEST(Dir, OpenFlags) {
  // The wire numbering is x86-64 Linux's; on this host they are the same.
  EXPECT_EQ(P9_DOTL_WRONLY, static_cast<uint32_t>(O_WRONLY));
  EXPECT_EQ(P9_DOTL_RDWR, static_cast<uint32_t>(O_RDWR));
  EXPECT_EQ(P9_DOTL_CREATE, 0100u);
  EXPECT_EQ(P9_DOTL_EXCL, 0200u);
  EXPECT_EQ(P9_DOTL_TRUNC, 01000u);
  EXPECT_EQ(P9_DOTL_APPEND, 02000u);
  EXPECT_EQ(P9_DOTL_DIRECTORY, 0200000u);
#if defined(__x86_64__)
  EXPECT_EQ(P9_DOTL_DIRECTORY, static_cast<uint32_t>(O_DIRECTORY));
  EXPECT_EQ(P9_DOTL_NOFOLLOW, static_cast<uint32_t>(O_NOFOLLOW));
  EXPECT_EQ(P9_DOTL_CLOEXEC, static_cast<uint32_t>(O_CLOEXEC));
#endif

  EXPECT_EQ(LinuxFlagsFromOmode(OREAD), 0u);
  EXPECT_EQ(LinuxFlagsFromOmode(OWRITE), 1u);
  EXPECT_EQ(LinuxFlagsFromOmode(ORDWR), 2u);
  EXPECT_EQ(LinuxFlagsFromOmode(OEXEC), 0u);
  EXPECT_EQ(LinuxFlagsFromOmode(OWRITE | OTRUNC), 01001u);
  EXPECT_EQ(LinuxFlagsFromOmode(ORDWR | ORCLOSE), 2u);

  EXPECT_EQ(OmodeFromLinuxFlags(0), OREAD);
  EXPECT_EQ(OmodeFromLinuxFlags(1), OWRITE);
  EXPECT_EQ(OmodeFromLinuxFlags(2), ORDWR);
  EXPECT_EQ(OmodeFromLinuxFlags(01002), ORDWR | OTRUNC);
  EXPECT_EQ(OmodeFromLinuxFlags(02 | 0100 | 0200 | 02000 | 0200000), ORDWR);
  for (uint8_t m : {OREAD, OWRITE, ORDWR}) {
    EXPECT_EQ(OmodeFromLinuxFlags(LinuxFlagsFromOmode(m)), m);
    EXPECT_EQ(OmodeFromLinuxFlags(LinuxFlagsFromOmode(m | OTRUNC)), m | OTRUNC);
  }
}

}  // namespace
}  // namespace ninep
