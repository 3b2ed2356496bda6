// status_test.cc: Status, Result, and the errno <-> Rerror text table.
#include "ninep/status.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace ninep {
namespace {

TEST(Status, OkAndError) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.err(), 0);
  EXPECT_EQ(ok.message(), "");
  EXPECT_TRUE(Status::Ok().ok());

  Status e(ENOENT, "");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.message(), "file does not exist");  // empty message: the errno's text
  EXPECT_EQ(Status(ENOENT, "no such thing").message(), "no such thing");
}

TEST(Status, ErrnoBuilders) {
  EXPECT_EQ(Errno(EACCES).err(), EACCES);
  EXPECT_EQ(Errno(EACCES).message(), "permission denied");
  Status s = Errno(ENOENT, "open /x");
  EXPECT_EQ(s.err(), ENOENT);
  EXPECT_EQ(s.message(), "open /x: file does not exist");
  // A context-prefixed text maps back to its errno.
  EXPECT_EQ(TextToErrno(s.message()), ENOENT);
  // errno 0 is not success: a failed call without errno is an I/O error.
  EXPECT_EQ(Errno(0).err(), EIO);
  EXPECT_EQ(Errno(0, "x").err(), EIO);
}

TEST(Status, Result) {
  Result<int> r(5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 5);
  EXPECT_TRUE(r.status().ok());
  Result<int> e(Errno(EBADF));
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().err(), EBADF);
  Result<int> bug(Status::Ok());  // REQUIRES violated: still an error
  EXPECT_FALSE(bug.ok());
  EXPECT_EQ(bug.status().err(), EIO);
}

// Reading the value of an error is a broken caller contract: it aborts
// with the error's text rather than reading an empty optional (UB).
TEST(StatusDeathTest, ValueOfAnErrorAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Result<std::string> e(Status(EBADF, "fid 7 is not open"));
  const std::string whole = "Result::value\\(\\) on an error: fid 7 is not open \\(errno " +
                            std::to_string(EBADF) + "\\)";
  EXPECT_DEATH((void)e.value(), whole);
  EXPECT_DEATH((void)*e, "on an error: fid 7 is not open");
  EXPECT_DEATH((void)e->size(), "on an error: fid 7 is not open");
  EXPECT_DEATH((void)std::move(e).value(), "on an error: fid 7 is not open");
}

// The texts the brief and Plan 9 fix, exactly.
TEST(ErrnoTable, PlanNineWording) {
  EXPECT_EQ(ErrnoToText(ENOENT), "file does not exist");
  EXPECT_EQ(ErrnoToText(EACCES), "permission denied");
  EXPECT_EQ(ErrnoToText(EEXIST), "file already exists");
  EXPECT_EQ(ErrnoToText(ENOTDIR), "not a directory");
  EXPECT_EQ(ErrnoToText(EISDIR), "is a directory");
  EXPECT_EQ(ErrnoToText(ENOTEMPTY), "directory not empty");
  EXPECT_EQ(ErrnoToText(EROFS), "read-only file system");
  EXPECT_EQ(ErrnoToText(ENOSPC), "no space left on device");
  EXPECT_EQ(ErrnoToText(EBADF), "unknown fid");
  EXPECT_EQ(ErrnoToText(ECANCELED), "interrupted");
  EXPECT_EQ(ErrnoToText(EOPNOTSUPP), ErrnoToText(ENOTSUP));
}

// Every errno of the table (and every other errno Linux names) maps to a
// text that maps back to it.
TEST(ErrnoTable, EveryTextRoundTrips) {
  const int listed[] = {EPERM,   ENOENT,       EIO,       EBADF,     EACCES,     EBUSY,
                        EEXIST,  EXDEV,        ENOTDIR,   EISDIR,    EINVAL,     ENOSPC,
                        EROFS,   ENAMETOOLONG, ELOOP,     ENOTEMPTY, EMSGSIZE,   EPROTO,
                        EBADMSG, ETIMEDOUT,    ECANCELED, ENOTSUP,   ENOSYS,     EAGAIN,
                        ENOMEM,  EINTR,        EPIPE,     ENODATA,   ECONNRESET, ESTALE};
  for (int e : listed) {
    EXPECT_EQ(TextToErrno(ErrnoToText(e)), e) << e << " " << ErrnoToText(e);
  }
  int checked = 0;
  for (int e = 1; e < 134; e++) {
    if (strerrordesc_np(e) == nullptr) continue;
    EXPECT_EQ(TextToErrno(ErrnoToText(e)), e) << e << " " << ErrnoToText(e);
    checked++;
  }
  EXPECT_GT(checked, 120);
}

// A Linux server (diod in 9P2000 mode, say) sends strerror() texts.
TEST(ErrnoTable, AcceptsStrerrorTexts) {
  for (int e = 1; e < 134; e++) {
    const char* d = strerrordesc_np(e);
    if (d == nullptr) continue;
    EXPECT_EQ(TextToErrno(d), e) << d;
  }
  EXPECT_EQ(TextToErrno("No such file or directory"), ENOENT);
  EXPECT_EQ(TextToErrno("Permission denied"), EACCES);
}

TEST(ErrnoTable, OtherSpellingsAndFallback) {
  EXPECT_EQ(TextToErrno("'foo' file does not exist"), ENOENT);  // Plan 9 style
  EXPECT_EQ(TextToErrno("walk: /a/b: not a directory"), ENOTDIR);
  EXPECT_EQ(TextToErrno("FILE DOES NOT EXIST"), ENOENT);
  EXPECT_EQ(TextToErrno("file does not exist\n"), ENOENT);
  EXPECT_EQ(TextToErrno("fid unknown or out of range"), EBADF);
  EXPECT_EQ(TextToErrno("file exists"), EEXIST);
  EXPECT_EQ(TextToErrno("i/o on hungup channel"), EPIPE);
  EXPECT_EQ(TextToErrno("interrupted system call"), EINTR);  // longest match wins
  EXPECT_EQ(TextToErrno("interrupted"), ECANCELED);
  EXPECT_EQ(TextToErrno("something nobody says"), EIO);
  EXPECT_EQ(TextToErrno(""), EIO);
}

// The server framework refuses some requests itself; a 9P2000 client must
// read its texts back as the errno the framework meant, not as EIO.
TEST(ErrnoTable, FrameworkRefusalsMapBack) {
  EXPECT_EQ(TextToErrno("walk in non-directory"), ENOTDIR);
  EXPECT_EQ(TextToErrno("create in non-directory"), ENOTDIR);
  EXPECT_EQ(TextToErrno("illegal name"), EINVAL);
  EXPECT_EQ(TextToErrno("bad name in walk"), ENOENT);
  EXPECT_EQ(TextToErrno("fid in use"), EBADF);
  EXPECT_EQ(TextToErrno("fid already open"), EBUSY);
  EXPECT_EQ(TextToErrno("fid not open for reading"), EBADF);
  EXPECT_EQ(TextToErrno("bad offset in directory read"), EINVAL);
  EXPECT_EQ(TextToErrno("cannot remove the root"), EPERM);
  EXPECT_EQ(TextToErrno("rename across directories not supported"), EXDEV);
}

TEST(ErrnoTable, UnknownErrno) {
  EXPECT_EQ(ErrnoToText(41), "error 41");  // a hole in Linux's numbering
  EXPECT_EQ(ErrnoToText(-3), "error -3");
  EXPECT_EQ(TextToErrno("error 41"), EIO);
}

}  // namespace
}  // namespace ninep
