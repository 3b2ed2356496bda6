// exportfs_ops_test.cc: the operations both dialects share (attach, walk,
// open in every mode, create, read, write, directory reads, remove, stat,
// wstat) against a real bin/exportfs, each compared with what the local
// filesystem says, plus their error cases.
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <random>

#include "exportfs/exfs.h"

namespace ninep::testing {
namespace {

using OpsTest = ExportTest;

TEST_P(OpsTest, AttachGivesTheRootDirectory) {
  struct stat st = LStat(srv_.root());
  EXPECT_EQ(c_->root().qid().type, QTDIR);
  EXPECT_EQ(c_->root().qid().path, st.st_ino);
  auto d = c_->root().Stat();
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_TRUE(d->mode & DMDIR);
  EXPECT_EQ(d->mode & 0777, st.st_mode & 0777);
}

TEST_P(OpsTest, WalkGivesQidsFromInodes) {
  ASSERT_EQ(mkdir(P("a").c_str(), 0755), 0);
  ASSERT_EQ(mkdir(P("a/b").c_str(), 0755), 0);
  WriteFile(P("a/b/c"), "x");
  uint32_t nf;
  auto q = c_->WalkRaw(c_->root().num(), {"a", "b", "c"}, &nf);
  ASSERT_TRUE(q.ok()) << q.status().message();
  ASSERT_EQ(q->size(), 3u);
  EXPECT_EQ((*q)[0].path, LStat(P("a")).st_ino);
  EXPECT_EQ((*q)[0].type, QTDIR);
  EXPECT_EQ((*q)[1].path, LStat(P("a/b")).st_ino);
  EXPECT_EQ((*q)[2].path, LStat(P("a/b/c")).st_ino);
  EXPECT_EQ((*q)[2].type, QTFILE);
  c_->Clunk(nf);
}

TEST_P(OpsTest, WalkErrors) {
  ASSERT_EQ(mkdir(P("a").c_str(), 0755), 0);
  WriteFile(P("f"), "x");
  uint32_t nf;
  // The first name fails: an error.
  EXPECT_EQ(ErrOf(c_->WalkRaw(c_->root().num(), {"missing"}, &nf)), ENOENT);
  // A later name fails: the qids so far, and no new fid.
  auto q = c_->WalkRaw(c_->root().num(), {"a", "missing", "x"}, &nf);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->size(), 1u);
  q = c_->WalkRaw(c_->root().num(), {"f", "x"}, &nf);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->size(), 1u);
  // Walking from a file.
  auto f = c_->Walk("f");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(ErrOf(f->Walk("x")), ENOTDIR);
  EXPECT_EQ(ErrOf(c_->Walk("a/missing")), ENOENT);
}

TEST_P(OpsTest, ReadAndWriteMatchTheLocalFile) {
  std::string data(3 << 20, '\0');
  std::mt19937 rng(7);
  for (auto& ch : data) ch = static_cast<char>(rng());
  WriteFile(P("big"), data);
  auto got = c_->ReadFile("big");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(*got == data);

  auto f = c_->Walk("big");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Open(ORDWR).ok());
  std::string patch = "patched in the middle";
  auto n = f->Write(1000000, Bytes(patch));
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, patch.size());
  data.replace(1000000, patch.size(), patch);
  EXPECT_TRUE(ReadFile(P("big")) == data);
  // Reading past the end is EOF.
  std::vector<uint8_t> buf(100);
  auto r = f->ReadOnce(data.size() + 10, buf);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
}

// Writes through one fid take effect in the order they were sent, even when
// many are in flight at once: each overwrites the same range here, so any
// two applied out of order leave the wrong one last. (Handed to workers
// independently, 2,000 of them came out of order in about half the rounds.)
TEST_P(OpsTest, OverlappingWritesInFlightApplyInOrder) {
  WriteFile(P("f"), "");
  auto f = c_->Walk("f");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Open(OWRITE).ok());
  const int kWrites = 2000;
  for (int round = 0; round < 5; round++) {
    std::atomic<int> done{0}, failed{0};
    std::string last;
    for (int i = 0; i < kWrites; i++) {
      std::string data(4096, static_cast<char>('A' + i % 26));
      data += std::to_string(round * kWrites + i);
      c_->client().Call(Twrite{f->num(), 0, Bytes(data)}, [&](Result<Reply> r) {
        if (!r.ok()) failed++;
        done++;
      });
      last = data;
    }
    ASSERT_TRUE(WaitFor([&] { return done.load() == kWrites; }, 20000));
    EXPECT_EQ(failed.load(), 0);
    std::string got = ReadFile(P("f"));
    ASSERT_TRUE(got == last) << "round " << round << ": the file ends with "
                             << got.substr(got.size() > 8 ? got.size() - 8 : 0) << ", not "
                             << last.substr(last.size() - 8);
  }
}

TEST_P(OpsTest, ClunkWhileWritesAreQueued) {
  // Found by fuzz_server_session: the worker writing through a fid read the
  // fid's write queue after the last queued Twrite, which a Tclunk had left
  // holding the last reference to the fid, freed it (a use after free that
  // ASan reports; make asan-test runs this under it).
  WriteFile(P("f"), "");
  for (int round = 0; round < 20; round++) {
    auto f = c_->Walk("f");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->Open(OWRITE).ok());
    std::atomic<int> done{0};
    std::string data(64 * 1024, 'w');
    const int kWrites = 8;
    for (int i = 0; i < kWrites; i++)
      c_->client().Call(Twrite{f->num(), 0, Bytes(data)}, [&](Result<Reply>) { done++; });
    ASSERT_TRUE(f->Clunk().ok());
    ASSERT_TRUE(WaitFor([&] { return done.load() == kWrites; }, 20000));
  }
  // The server is still there.
  EXPECT_TRUE(c_->ReadFile("f").ok());
  EXPECT_TRUE(srv_.proc().Running());
}

TEST_P(OpsTest, OpenModes) {
  WriteFile(P("f"), "0123456789");
  {  // OREAD: reads, and the framework refuses writes.
    auto f = c_->Walk("f");
    ASSERT_TRUE(f->Open(OREAD).ok());
    EXPECT_NE(ErrOf(f->Write(0, Bytes("x"))), 0);
  }
  {  // OWRITE: writes at the offset, keeps the rest.
    auto f = c_->Walk("f");
    ASSERT_TRUE(f->Open(OWRITE).ok());
    ASSERT_TRUE(f->Write(2, Bytes("ab")).ok());
    EXPECT_EQ(ReadFile(P("f")), "01ab456789");
    std::vector<uint8_t> b(4);
    EXPECT_NE(ErrOf(f->ReadOnce(0, b)), 0);
  }
  {  // OTRUNC empties the file.
    auto f = c_->Walk("f");
    ASSERT_TRUE(f->Open(OWRITE | OTRUNC).ok());
    EXPECT_EQ(LStat(P("f")).st_size, 0);
    ASSERT_TRUE(f->Write(0, Bytes("new")).ok());
    EXPECT_EQ(ReadFile(P("f")), "new");
  }
  {  // ORDWR.
    auto f = c_->Walk("f");
    ASSERT_TRUE(f->Open(ORDWR).ok());
    ASSERT_TRUE(f->Write(3, Bytes("er")).ok());
    std::vector<uint8_t> b(16);
    auto n = f->ReadOnce(0, b);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(std::string(b.begin(), b.begin() + *n), "newer");
  }
  if (!c_->L()) {  // ORCLOSE removes the file at clunk (no Linux open flag says it).
    WriteFile(P("tmp"), "t");
    auto f = c_->Walk("tmp");
    ASSERT_TRUE(f->Open(OREAD | ORCLOSE).ok());
    EXPECT_NE(LStat(P("tmp")).st_mode, 0u);
    ASSERT_TRUE(f->Clunk().ok());
    EXPECT_EQ(LStat(P("tmp")).st_mode, 0u);
  }
  if (!c_->L()) {  // OEXEC needs an execute bit, even for root (Tlopen has no exec mode).
    chmod(P("f").c_str(), 0644);
    auto f = c_->Walk("f");
    EXPECT_EQ(ErrOf(f->Open(OEXEC)), EACCES);
    chmod(P("f").c_str(), 0755);
    auto g = c_->Walk("f");
    EXPECT_TRUE(g->Open(OEXEC).ok());
  }
  {  // A directory opens only for reading.
    ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
    auto d = c_->Walk("d");
    EXPECT_EQ(ErrOf(d->Open(OWRITE)), EISDIR);
    auto e = c_->Walk("d");
    EXPECT_TRUE(e->Open(OREAD).ok());
  }
}

TEST_P(OpsTest, CreateFilesAndDirectories) {
  {
    auto d = c_->root().Walk("");
    ASSERT_TRUE(d->Create("new file", 0640, OWRITE).ok());
    EXPECT_EQ(d->qid().path, LStat(P("new file")).st_ino);
    ASSERT_TRUE(d->Write(0, Bytes("hello")).ok());
    EXPECT_EQ(ReadFile(P("new file")), "hello");
    EXPECT_EQ(LStat(P("new file")).st_mode & 07777, 0640u);
  }
  {
    auto d = c_->root().Walk("");
    ASSERT_TRUE(d->Create("rw", 0600, ORDWR).ok());
    ASSERT_TRUE(d->Write(0, Bytes("abc")).ok());
    std::vector<uint8_t> b(8);
    auto n = d->ReadOnce(0, b);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 3u);
  }
  {  // An existing name.
    auto d = c_->root().Walk("");
    EXPECT_EQ(ErrOf(d->Create("rw", 0600, OWRITE)), EEXIST);
  }
  {  // A directory, with its permissions.
    auto d = c_->root().Walk("");
    ASSERT_TRUE(d->Create("sub dir", DMDIR | 0750, OREAD).ok());
    struct stat st = LStat(P("sub dir"));
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0750u);
    EXPECT_EQ(d->qid().type, QTDIR);
  }
  {  // Creating in a file fails.
    WriteFile(P("plain"), "");
    auto f = c_->Walk("plain");
    int e = ErrOf(f->Create("x", 0644, OWRITE));
    // The framework refuses it; its 9P2000 text ("create in non-directory")
    // maps back to no particular errno.
    if (c_->L()) {
      EXPECT_EQ(e, ENOTDIR);
    }
    EXPECT_NE(e, 0);
    EXPECT_EQ(LStat(P("plain")).st_size, 0);
  }
  if (!c_->L()) {  // 9P2000: ORCLOSE on create, OTRUNC accepted.
    auto d = c_->root().Walk("");
    ASSERT_TRUE(d->Create("scratch", 0600, ORDWR | ORCLOSE | OTRUNC).ok());
    EXPECT_NE(LStat(P("scratch")).st_mode, 0u);
    ASSERT_TRUE(d->Clunk().ok());
    EXPECT_EQ(LStat(P("scratch")).st_mode, 0u);
  }
}

TEST_P(OpsTest, DirectoryListingMatchesLocal) {
  std::set<std::string> want = {"plain", "with space", "ünïcödé ✓", "日本語", "a\tb", "dir"};
  for (auto& n : want)
    if (n != "dir") WriteFile(P(n), n);
  ASSERT_EQ(mkdir(P("dir").c_str(), 0755), 0);
  auto got = c_->List("");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, want);
  // The names work for walking and reading too.
  auto r = c_->ReadFile("ünïcödé ✓");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "ünïcödé ✓");
  // An empty directory lists nothing.
  auto e = c_->List("dir");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(e->empty());
}

TEST_P(OpsTest, RemoveFilesAndDirectories) {
  WriteFile(P("f"), "x");
  ASSERT_EQ(mkdir(P("full").c_str(), 0755), 0);
  WriteFile(P("full/x"), "x");
  ASSERT_EQ(mkdir(P("empty").c_str(), 0755), 0);
  auto f = c_->Walk("f");
  ASSERT_TRUE(f->Remove().ok());
  EXPECT_EQ(LStat(P("f")).st_mode, 0u);
  auto full = c_->Walk("full");
  EXPECT_EQ(ErrOf(full->Remove()), ENOTEMPTY);
  EXPECT_NE(LStat(P("full/x")).st_mode, 0u);
  auto empty = c_->Walk("empty");
  ASSERT_TRUE(empty->Remove().ok());
  EXPECT_EQ(LStat(P("empty")).st_mode, 0u);
  auto root = c_->root().Walk("");
  EXPECT_NE(ErrOf(root->Remove()), 0);
  EXPECT_NE(LStat(srv_.root()).st_mode, 0u);
  // A file removed behind the fid's back.
  WriteFile(P("gone"), "x");
  auto g = c_->Walk("gone");
  unlink(P("gone").c_str());
  EXPECT_EQ(ErrOf(g->Remove()), ENOENT);
}

TEST_P(OpsTest, StatMatchesLocal) {
  WriteFile(P("f"), std::string(12345, 'z'));
  chmod(P("f").c_str(), 0614);
  auto f = c_->Walk("f");
  auto d = f->Stat();
  ASSERT_TRUE(d.ok()) << d.status().message();
  struct stat st = LStat(P("f"));
  EXPECT_EQ(d->length, 12345u);
  EXPECT_EQ(d->mode & 0777, 0614u);
  EXPECT_EQ(d->qid.path, st.st_ino);
  EXPECT_EQ(d->mtime, static_cast<uint32_t>(st.st_mtime));
  if (!c_->L()) {
    EXPECT_EQ(d->name, "f");
    EXPECT_EQ(d->uid, "root");
    EXPECT_EQ(d->gid, "root");
  }
}

TEST_P(OpsTest, QidVersionFollowsChanges) {
  WriteFile(P("f"), "one");
  auto f = c_->Walk("f");
  auto a = f->Stat();
  ASSERT_TRUE(a.ok());
  // The version follows the ctime, which the kernel stamps from its coarse
  // clock: wait until that clock has moved past the first ctime, so the
  // second write cannot get the same one.
  struct timespec c0 = LStat(P("f")).st_ctim;
  ASSERT_TRUE(WaitFor([&] {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME_COARSE, &now);
    return now.tv_sec > c0.tv_sec || (now.tv_sec == c0.tv_sec && now.tv_nsec > c0.tv_nsec);
  }));
  WriteFile(P("f"), "two!");
  struct timespec c1 = LStat(P("f")).st_ctim;
  ASSERT_TRUE(c1.tv_sec != c0.tv_sec || c1.tv_nsec != c0.tv_nsec);
  auto b = f->Stat();
  ASSERT_TRUE(b.ok());
  EXPECT_NE(a->qid.version, b->qid.version);
  EXPECT_EQ(a->qid.path, b->qid.path);
}

TEST_P(OpsTest, WstatTruncatesChmodsAndSetsTimes) {
  WriteFile(P("f"), "0123456789");
  auto f = c_->Walk("f");
  Dir d = DirFromStat(NullStat());
  d.length = 4;
  ASSERT_TRUE(f->Wstat(d).ok());
  EXPECT_EQ(ReadFile(P("f")), "0123");
  d = DirFromStat(NullStat());
  d.mode = 0600;
  ASSERT_TRUE(f->Wstat(d).ok());
  EXPECT_EQ(LStat(P("f")).st_mode & 07777, 0600u);
  d = DirFromStat(NullStat());
  d.mtime = 1000000000;
  d.atime = 1000000001;
  ASSERT_TRUE(f->Wstat(d).ok());
  struct stat st = LStat(P("f"));
  EXPECT_EQ(st.st_mtime, 1000000000);
  EXPECT_EQ(st.st_atime, 1000000001);
  // Growing by length makes a sparse tail of zeros.
  d = DirFromStat(NullStat());
  d.length = 8;
  ASSERT_TRUE(f->Wstat(d).ok());
  EXPECT_EQ(ReadFile(P("f")), std::string("0123\0\0\0\0", 8));
  // A directory has no length to set.
  ASSERT_EQ(mkdir(P("d").c_str(), 0755), 0);
  auto dd = c_->Walk("d");
  d = DirFromStat(NullStat());
  d.length = 0;
  EXPECT_NE(ErrOf(dd->Wstat(d)), 0);
}

TEST_P(OpsTest, WstatRenamesInPlace) {
  if (GetParam() == Dialect::k9P2000L) {
    // 9P2000.L renames by Trename/Trenameat (exportfs_dotl_test).
    auto f0 = c_->Walk("");
    ASSERT_TRUE(f0.ok());
    EXPECT_EQ(ErrOf(f0->Wstat(DirFromStat(NullStat()))), 0);
    return;
  }
  WriteFile(P("old"), "content");
  WriteFile(P("taken"), "other");
  auto f = c_->Walk("old");
  Dir d = DirFromStat(NullStat());
  d.name = "new name";
  ASSERT_TRUE(f->Wstat(d).ok());
  EXPECT_EQ(LStat(P("old")).st_mode, 0u);
  EXPECT_EQ(ReadFile(P("new name")), "content");
  // The fid follows the file: its stat has the new name.
  auto s = f->Stat();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->name, "new name");
  // Plan 9 renames never replace.
  d.name = "taken";
  EXPECT_EQ(ErrOf(f->Wstat(d)), EEXIST);
  EXPECT_EQ(ReadFile(P("taken")), "other");
  // A name with a slash.
  d.name = "../escape";
  EXPECT_EQ(ErrOf(f->Wstat(d)), EINVAL);
  // Changing nothing is a sync and succeeds.
  EXPECT_TRUE(f->Wstat(DirFromStat(NullStat())).ok());
}

INSTANTIATE_TEST_SUITE_P(Dialects, OpsTest, ::testing::Values(Dialect::k9P2000, Dialect::k9P2000L),
                         DialectName);

}  // namespace
}  // namespace ninep::testing
