// conformance_test: bin/ramfs against the rules of 9P2000 and 9P2000.L, with
// raw frames so every detail (fid numbers, tags, partial walks, directory
// offsets) is visible. Each test runs in both dialects where it applies.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "conformance/p9ops.h"
#include "conformance/raw9p.h"
#include "testutil.h"

namespace ninep::testing {
namespace {

constexpr uint32_t kRoot = 1;

class Conformance : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    addr_ = StartServer(&srv_, "ramfs", {});
    ASSERT_FALSE(addr_.empty()) << "ramfs did not start";
    ASSERT_TRUE(c_.Connect(addr_).ok());
    ASSERT_TRUE(p_.Start(VersionOf(GetParam()), kRoot).ok());
    ASSERT_EQ(c_.dialect, GetParam());
  }
  // Creates a file holding data under the root (fid is clunked after).
  void MakeFile(const std::string& name, const std::string& data, uint32_t perm = 0644) {
    ASSERT_TRUE(p_.Walk(kRoot, 50, {}).ok());
    ASSERT_TRUE(p_.Create(50, name, perm, ORDWR).ok()) << name;
    if (!data.empty()) {
      ASSERT_EQ(*p_.Write(50, 0, data), data.size());
    }
    ASSERT_TRUE(p_.Clunk(50).ok());
  }
  // Reads a whole file by name from the root.
  std::string Slurp(const std::string& name) {
    if (!p_.Walk(kRoot, 51, {name}).ok()) return "<walk failed>";
    if (!p_.Open(51, OREAD).ok()) return "<open failed>";
    std::string all;
    for (uint64_t off = 0;;) {
      Result<std::string> r = p_.Read(51, off, 8192);
      if (!r.ok() || r->empty()) break;
      all += *r;
      off += r->size();
    }
    EXPECT_TRUE(p_.Clunk(51).ok());
    return all;
  }
  bool L() const { return GetParam() == Dialect::k9P2000L; }

  Process srv_;
  std::string addr_;
  RawConn c_;
  P9 p_{&c_};
};

TEST_P(Conformance, AttachGivesADirectoryQid) {
  Result<Dir> d = p_.Stat(kRoot);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_TRUE(d->qid.type & QTDIR);
  EXPECT_TRUE(d->mode & DMDIR);
  // A second attach on another fid reaches the same root.
  Result<Qid> q = p_.Attach(2);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->path, d->qid.path);
}

TEST_P(Conformance, WalkOfZeroNamesClones) {
  Result<std::vector<Qid>> w = p_.Walk(kRoot, 2, {});
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->empty());
  Result<Dir> d = p_.Stat(2);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->qid.path, p_.Stat(kRoot)->qid.path);
  // The clone is independent: clunking it leaves the original.
  ASSERT_TRUE(p_.Clunk(2).ok());
  EXPECT_TRUE(p_.Stat(kRoot).ok());
  EXPECT_FALSE(p_.Stat(2).ok());
}

TEST_P(Conformance, WalkOfOneName) {
  MakeFile("a", "x");
  Result<std::vector<Qid>> w = p_.Walk(kRoot, 2, {"a"});
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->size(), 1u);
  EXPECT_FALSE((*w)[0].type & QTDIR);
  EXPECT_EQ(p_.Stat(2)->qid.path, (*w)[0].path);
}

TEST_P(Conformance, WalkOfSixteenNamesAndSeventeenRejected) {
  // d/d/.../d, 16 deep.
  ASSERT_TRUE(p_.Walk(kRoot, 10, {}).ok());
  for (int i = 0; i < 16; i++) {
    ASSERT_TRUE(p_.Mkdir(10, "d").ok());
    ASSERT_TRUE(p_.Walk(10, 10, {"d"}).ok());
  }
  std::vector<std::string> names(16, "d");
  Result<std::vector<Qid>> w = p_.Walk(kRoot, 2, names);
  ASSERT_TRUE(w.ok()) << w.status().message();
  ASSERT_EQ(w->size(), 16u);
  EXPECT_EQ(w->back().path, p_.Stat(10)->qid.path);
  std::set<uint64_t> paths;
  for (auto& q : *w) paths.insert(q.path);
  EXPECT_EQ(paths.size(), 16u) << "each level is its own file";

  // Seventeen names cannot be encoded by our codec, so build the frame by
  // hand: size[4] type[1] tag[2] fid[4] newfid[4] nwname[2] 17*(len[2] "d").
  std::vector<uint8_t> f;
  auto put = [&f](uint64_t v, int n) {
    for (int i = 0; i < n; i++) f.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  uint32_t size = 4 + 1 + 2 + 4 + 4 + 2 + 17 * 3;
  put(size, 4), put(kTwalk, 1), put(77, 2), put(kRoot, 4), put(3, 4), put(17, 2);
  for (int i = 0; i < 17; i++) put(1, 2), f.push_back('d');
  ASSERT_EQ(f.size(), size);
  ASSERT_TRUE(c_.SendBytes(f).ok());
  Result<RawReply> r = c_.Recv();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->IsError()) << r->Describe();
  EXPECT_EQ(r->msg.tag, 77);
  EXPECT_FALSE(p_.Stat(3).ok()) << "no newfid from a rejected walk";
  EXPECT_TRUE(p_.Stat(kRoot).ok()) << "the session goes on";
}

TEST_P(Conformance, PartialWalkReturnsQidsSoFarAndNoNewfid) {
  ASSERT_TRUE(p_.Mkdir(kRoot, "dir").ok());
  Result<std::vector<Qid>> w = p_.Walk(kRoot, 2, {"dir", "missing", "x"});
  ASSERT_TRUE(w.ok()) << "a walk failing after the first name is not an error";
  ASSERT_EQ(w->size(), 1u);
  EXPECT_TRUE((*w)[0].type & QTDIR);
  EXPECT_EQ(p_.Stat(2).status().err(), EBADF) << "newfid must not exist";
  // The first name failing is an error.
  Result<std::vector<Qid>> w2 = p_.Walk(kRoot, 2, {"missing"});
  EXPECT_EQ(w2.status().err(), ENOENT);
  EXPECT_FALSE(p_.Stat(2).ok());
  // A partial walk with newfid == fid leaves fid where it was.
  ASSERT_TRUE(p_.Walk(kRoot, 3, {}).ok());
  ASSERT_TRUE(p_.Walk(3, 3, {"dir", "missing"}).ok());
  EXPECT_EQ(p_.Stat(3)->qid.path, p_.Stat(kRoot)->qid.path);
  // A full walk with newfid == fid moves it.
  ASSERT_TRUE(p_.Walk(3, 3, {"dir"}).ok());
  EXPECT_EQ(p_.Stat(3)->qid.path, (*w)[0].path);
}

TEST_P(Conformance, DotDotAtTheRootStaysAtTheRoot) {
  uint64_t root = p_.Stat(kRoot)->qid.path;
  Result<std::vector<Qid>> w = p_.Walk(kRoot, 2, {".."});
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(w->size(), 1u);
  EXPECT_EQ((*w)[0].path, root);
  ASSERT_TRUE(p_.Mkdir(kRoot, "sub").ok());
  Result<std::vector<Qid>> w2 = p_.Walk(kRoot, 3, {"sub", "..", "..", "sub"});
  ASSERT_TRUE(w2.ok());
  ASSERT_EQ(w2->size(), 4u);
  EXPECT_EQ((*w2)[1].path, root);
  EXPECT_EQ((*w2)[2].path, root);
  EXPECT_EQ((*w2)[3].path, (*w2)[0].path);
}

TEST_P(Conformance, OpenModes) {
  MakeFile("f", "hello");
  // OREAD: reads, no writes.
  ASSERT_TRUE(p_.Walk(kRoot, 2, {"f"}).ok());
  ASSERT_TRUE(p_.Open(2, OREAD).ok());
  EXPECT_EQ(*p_.Read(2, 0, 100), "hello");
  EXPECT_FALSE(p_.Write(2, 0, "x").ok());
  // OWRITE: writes, no reads.
  ASSERT_TRUE(p_.Walk(kRoot, 3, {"f"}).ok());
  ASSERT_TRUE(p_.Open(3, OWRITE).ok());
  EXPECT_EQ(*p_.Write(3, 0, "J"), 1u);
  EXPECT_FALSE(p_.Read(3, 0, 100).ok()) << "read on a fid opened OWRITE";
  // ORDWR: both.
  ASSERT_TRUE(p_.Walk(kRoot, 4, {"f"}).ok());
  ASSERT_TRUE(p_.Open(4, ORDWR).ok());
  EXPECT_EQ(*p_.Read(4, 0, 100), "Jello");
  // An open fid cannot be opened again.
  EXPECT_FALSE(p_.Open(4, OREAD).ok());
  // OTRUNC empties the file.
  ASSERT_TRUE(p_.Walk(kRoot, 5, {"f"}).ok());
  ASSERT_TRUE(p_.Open(5, OWRITE | OTRUNC).ok());
  EXPECT_EQ(p_.Stat(5)->length, 0u);
  EXPECT_EQ(Slurp("f"), "");
  // Directories open for reading only.
  for (uint8_t mode : {OWRITE, ORDWR, static_cast<uint8_t>(OREAD | OTRUNC)}) {
    ASSERT_TRUE(p_.Walk(kRoot, 6, {}).ok());
    EXPECT_FALSE(p_.Open(6, mode).ok()) << "dir opened with mode " << int(mode);
    ASSERT_TRUE(p_.Clunk(6).ok());
  }
  ASSERT_TRUE(p_.Walk(kRoot, 6, {}).ok());
  EXPECT_TRUE(p_.Open(6, OREAD).ok());
}

TEST_P(Conformance, Create) {
  ASSERT_TRUE(p_.Walk(kRoot, 2, {}).ok());
  Result<Qid> q = p_.Create(2, "new", 0640, ORDWR);
  ASSERT_TRUE(q.ok()) << q.status().message();
  EXPECT_FALSE(q->type & QTDIR);
  // The fid is now the open new file.
  EXPECT_EQ(*p_.Write(2, 0, "data"), 4u);
  EXPECT_EQ(*p_.Read(2, 0, 10), "data");
  Result<Dir> d = p_.Stat(2);
  EXPECT_EQ(d->qid.path, q->path);
  EXPECT_EQ(d->mode & 0777, 0640u);
  // Directories.
  Result<Qid> dq = p_.Mkdir(kRoot, "newdir");
  ASSERT_TRUE(dq.ok()) << dq.status().message();
  EXPECT_TRUE(dq->type & QTDIR);
  Result<std::vector<Qid>> w = p_.Walk(kRoot, 3, {"newdir"});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)[0].path, dq->path);
  // Creating inside the new directory works; an existing name fails.
  ASSERT_TRUE(p_.Create(3, "inner", 0600, OWRITE).ok());
  ASSERT_TRUE(p_.Walk(kRoot, 4, {}).ok());
  EXPECT_EQ(p_.Create(4, "new", 0600, OWRITE).status().err(), EEXIST);
  EXPECT_EQ(p_.Mkdir(kRoot, "newdir").status().err(), EEXIST);
  // Create in a file fails.
  ASSERT_TRUE(p_.Walk(kRoot, 5, {"new"}).ok());
  EXPECT_FALSE(p_.Create(5, "x", 0600, OWRITE).ok());
}

TEST_P(Conformance, ReadAndWriteAtOffsets) {
  ASSERT_TRUE(p_.Walk(kRoot, 2, {}).ok());
  ASSERT_TRUE(p_.Create(2, "f", 0644, ORDWR).ok());
  EXPECT_EQ(*p_.Write(2, 0, "hello"), 5u);
  EXPECT_EQ(*p_.Write(2, 3, "XY"), 2u);
  EXPECT_EQ(*p_.Read(2, 0, 100), "helXY");
  EXPECT_EQ(*p_.Read(2, 1, 3), "elX");
  EXPECT_EQ(*p_.Read(2, 5, 10), "");
  EXPECT_EQ(*p_.Read(2, 1000, 10), "");
  // A write past the end leaves a gap of zeros.
  EXPECT_EQ(*p_.Write(2, 8, "Z"), 1u);
  EXPECT_EQ(*p_.Read(2, 0, 100), std::string("helXY\0\0\0Z", 9));
  EXPECT_EQ(p_.Stat(2)->length, 9u);
  // A read larger than msize is clamped, not refused.
  Result<std::string> big = p_.Read(2, 0, 0xFFFFFFFF);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->size(), 9u);
  // A write far beyond any sane size fails instead of allocating.
  EXPECT_FALSE(p_.Write(2, 1ull << 50, "x").ok());
  // An empty write changes nothing, even at an offset far past the end.
  EXPECT_EQ(*p_.Write(2, 1ull << 29, ""), 0u);
  EXPECT_EQ(p_.Stat(2)->length, 9u);
}

TEST_P(Conformance, DirectoryReadsWithSmallCounts) {
  std::set<std::string> want;
  for (int i = 0; i < 60; i++) {
    std::string name = "file" + std::string(i % 7 + 1, 'x') + std::to_string(i);
    want.insert(name);
    MakeFile(name, "");
  }
  for (uint32_t count : {100u, 150u, 333u, 1000u, 8192u}) {
    ASSERT_TRUE(p_.Walk(kRoot, 2, {}).ok());
    ASSERT_TRUE(p_.Open(2, OREAD).ok());
    Result<std::vector<std::string>> names = p_.ReadDirAll(2, count);
    ASSERT_TRUE(names.ok()) << "count " << count << ": " << names.status().message();
    std::set<std::string> got(names->begin(), names->end());
    EXPECT_EQ(got.size(), names->size()) << "an entry repeated at count " << count;
    EXPECT_EQ(got, want) << "count " << count;
    ASSERT_TRUE(p_.Clunk(2).ok());
  }
  // A count too small for the next entry is an error, never half an entry.
  ASSERT_TRUE(p_.Walk(kRoot, 3, {}).ok());
  ASSERT_TRUE(p_.Open(3, OREAD).ok());
  Result<RawReply> r = L() ? c_.Call(Treaddir{3, 0, 10}) : c_.Call(Tread{3, 0, 10});
  ASSERT_TRUE(r.ok());
  if (!r->IsError()) {
    auto data = L() ? std::get<Rreaddir>(r->msg.body).data : std::get<Rread>(r->msg.body).data;
    EXPECT_TRUE(data.empty()) << "a split entry came back";
  }
}

TEST_P(Conformance, DirectoryReadOffsetMustBeZeroOrTheLastEnd) {
  if (L()) return;  // Treaddir offsets are cookies; covered above
  for (int i = 0; i < 5; i++) MakeFile("f" + std::to_string(i), "");
  ASSERT_TRUE(p_.Walk(kRoot, 2, {}).ok());
  ASSERT_TRUE(p_.Open(2, OREAD).ok());
  Result<std::string> first = p_.Read(2, 0, 200);
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->empty());
  EXPECT_EQ(p_.Read(2, 1, 200).status().err(), EINVAL) << "offset in the middle of an entry";
  EXPECT_TRUE(p_.Read(2, first->size(), 200).ok()) << "the end of the previous read";
  // Offset 0 starts over and gives the same first read.
  EXPECT_EQ(*p_.Read(2, 0, 200), *first);
}

TEST_P(Conformance, WstatRenameTruncateChmodMtime) {
  MakeFile("old", "0123456789");
  ASSERT_TRUE(p_.Walk(kRoot, 2, {"old"}).ok());
  uint64_t path = p_.Stat(2)->qid.path;
  // Rename within the directory.
  ninep::Stat s = NullStat();
  s.name = "new";
  ASSERT_TRUE(p_.Wstat(2, s, kRoot, "old").ok());
  EXPECT_FALSE(p_.Walk(kRoot, 3, {"old"}).ok());
  Result<std::vector<Qid>> w = p_.Walk(kRoot, 3, {"new"});
  ASSERT_TRUE(w.ok());
  EXPECT_EQ((*w)[0].path, path) << "a rename keeps the file";
  // Renaming onto an existing name fails and changes nothing.
  MakeFile("other", "");
  s.name = "other";
  EXPECT_FALSE(p_.Wstat(2, s, kRoot, "new").ok());
  EXPECT_TRUE(p_.Walk(kRoot, 4, {"new"}).ok());
  // Truncate via length.
  s = NullStat();
  s.length = 4;
  ASSERT_TRUE(p_.Wstat(2, s).ok());
  EXPECT_EQ(p_.Stat(2)->length, 4u);
  EXPECT_EQ(Slurp("new"), "0123");
  // chmod.
  s = NullStat();
  s.mode = 0600;
  ASSERT_TRUE(p_.Wstat(2, s).ok());
  EXPECT_EQ(p_.Stat(2)->mode & 0777, 0600u);
  // mtime.
  s = NullStat();
  s.mtime = 1000000000;
  ASSERT_TRUE(p_.Wstat(2, s).ok());
  EXPECT_EQ(p_.Stat(2)->mtime, 1000000000u);
  // A directory cannot become a file.
  if (!L()) {
    s = NullStat();
    s.mode = 0644;
    EXPECT_FALSE(p_.Wstat(kRoot, s).ok());
    EXPECT_TRUE(p_.Stat(kRoot)->mode & DMDIR);
  }
}

TEST_P(Conformance, RemoveAndClunkFreeTheFid) {
  MakeFile("f", "x");
  ASSERT_TRUE(p_.Walk(kRoot, 2, {"f"}).ok());
  ASSERT_TRUE(p_.Remove(2).ok());
  EXPECT_EQ(p_.Walk(kRoot, 3, {"f"}).status().err(), ENOENT);
  EXPECT_EQ(p_.Clunk(2).err(), EBADF) << "Tremove frees the fid";
  // A non-empty directory: the remove fails, and still frees the fid.
  ASSERT_TRUE(p_.Mkdir(kRoot, "d").ok());
  ASSERT_TRUE(p_.Walk(kRoot, 4, {"d"}).ok());
  ASSERT_TRUE(p_.Create(4, "inside", 0644, OWRITE).ok());
  ASSERT_TRUE(p_.Walk(kRoot, 5, {"d"}).ok());
  EXPECT_EQ(p_.Remove(5).err(), ENOTEMPTY);
  EXPECT_EQ(p_.Clunk(5).err(), EBADF) << "a failed Tremove frees the fid too";
  EXPECT_TRUE(p_.Walk(kRoot, 5, {"d", "inside"}).ok()) << "fid number reusable; d intact";
  // Clunk frees the number for reuse.
  ASSERT_TRUE(p_.Clunk(5).ok());
  EXPECT_TRUE(p_.Walk(kRoot, 5, {}).ok());
  // The root cannot be removed.
  ASSERT_TRUE(p_.Walk(kRoot, 6, {}).ok());
  EXPECT_FALSE(p_.Remove(6).ok());
  EXPECT_TRUE(p_.Stat(kRoot).ok());
}

TEST_P(Conformance, FlushOfAnsweredOrUnknownTagGetsRflush) {
  // The read's reply has gone out by the time Tflush arrives.
  MakeFile("f", "x");
  ASSERT_TRUE(p_.Walk(kRoot, 2, {"f"}).ok());
  ASSERT_TRUE(p_.Open(2, OREAD).ok());
  Result<RawReply> r = c_.Rpc(M(40, Tread{2, 0, 10}));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type(), kRread);
  Result<RawReply> fl = c_.Rpc(M(41, Tflush{40}));
  ASSERT_TRUE(fl.ok());
  EXPECT_EQ(fl->type(), kRflush);
  EXPECT_EQ(fl->msg.tag, 41);
  Result<RawReply> fl2 = c_.Rpc(M(42, Tflush{999}));
  ASSERT_TRUE(fl2.ok());
  EXPECT_EQ(fl2->type(), kRflush);
}

TEST_P(Conformance, VersionResetsTheSession) {
  ASSERT_TRUE(p_.Walk(kRoot, 2, {}).ok());
  Result<RawReply> v = c_.Version(8192, VersionOf(GetParam()));
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->type(), kRversion);
  EXPECT_LE(std::get<Rversion>(v->msg.body).msize, 8192u);
  EXPECT_EQ(p_.Stat(kRoot).status().err(), EBADF) << "fids are gone after Tversion";
  EXPECT_EQ(p_.Stat(2).status().err(), EBADF);
  EXPECT_TRUE(p_.Attach(kRoot).ok()) << "the old fid number is free again";
}

TEST_P(Conformance, FidReuseIsAnError) {
  // Attach to a fid in use.
  EXPECT_FALSE(p_.Attach(kRoot).ok());
  // Walk to a newfid in use.
  ASSERT_TRUE(p_.Walk(kRoot, 2, {}).ok());
  Result<std::vector<Qid>> w = p_.Walk(kRoot, 2, {});
  EXPECT_FALSE(w.ok());
  // Both fids still work.
  EXPECT_TRUE(p_.Stat(kRoot).ok());
  EXPECT_TRUE(p_.Stat(2).ok());
  // An unknown fid.
  EXPECT_EQ(p_.Stat(12345).status().err(), EBADF);
}

TEST_P(Conformance, VersionNegotiation) {
  RawConn c2;
  ASSERT_TRUE(c2.Connect(addr_).ok());
  // Requests before Tversion are refused.
  Result<RawReply> early = c2.Rpc(M(1, Tattach{1, NOFID, "u", "", NONUNAME}));
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->IsError());
  Result<RawReply> bad = c2.Version(8192, "10P");
  ASSERT_TRUE(bad.ok());
  ASSERT_EQ(bad->type(), kRversion);
  EXPECT_EQ(std::get<Rversion>(bad->msg.body).version, "unknown");
  Result<RawReply> u = c2.Version(1 << 30, "9P2000.u");
  ASSERT_TRUE(u.ok());
  ASSERT_EQ(u->type(), kRversion);
  EXPECT_EQ(std::get<Rversion>(u->msg.body).version, "9P2000");
  EXPECT_LE(std::get<Rversion>(u->msg.body).msize, 1u << 30);
  EXPECT_EQ(std::get<Rversion>(u->msg.body).msize, DEFMSIZE) << "default max msize";
  EXPECT_EQ(DEFMSIZE - IOHDRSZ, 512u * 1024) << "payloads of exactly 512 KiB";
}

INSTANTIATE_TEST_SUITE_P(Dialects, Conformance,
                         ::testing::Values(Dialect::k9P2000, Dialect::k9P2000L),
                         [](const auto& i) { return DialectName(i.param); });

// ---- 9P2000 only --------------------------------------------------------------

class Conformance9P : public ::testing::Test {
 protected:
  void SetUp() override {
    addr_ = StartServer(&srv_, "ramfs", {"-m", "8192"});
    ASSERT_FALSE(addr_.empty());
    ASSERT_TRUE(c_.Connect(addr_).ok());
    ASSERT_TRUE(p_.Start("9P2000", kRoot).ok());
  }
  Process srv_;
  std::string addr_;
  RawConn c_;
  P9 p_{&c_};
};

TEST_F(Conformance9P, AppendOnlyFileIgnoresOffsets) {
  ASSERT_TRUE(p_.Walk(kRoot, 2, {}).ok());
  Result<Qid> q = p_.Create(2, "log", DMAPPEND | 0644, ORDWR);
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->type & QTAPPEND);
  EXPECT_EQ(*p_.Write(2, 0, "one "), 4u);
  EXPECT_EQ(*p_.Write(2, 0, "two "), 4u);
  EXPECT_EQ(*p_.Write(2, 2, "three"), 5u);
  EXPECT_EQ(*p_.Read(2, 0, 100), "one two three");
  EXPECT_TRUE(p_.Stat(2)->mode & DMAPPEND);
}

TEST_F(Conformance9P, OrcloseRemovesOnClunk) {
  ASSERT_TRUE(p_.Walk(kRoot, 2, {}).ok());
  ASSERT_TRUE(p_.Create(2, "tmp", 0644, ORDWR | ORCLOSE).ok());
  ASSERT_TRUE(p_.Walk(kRoot, 3, {"tmp"}).ok());
  ASSERT_TRUE(p_.Clunk(2).ok());
  EXPECT_EQ(p_.Walk(kRoot, 4, {"tmp"}).status().err(), ENOENT);
}

TEST_F(Conformance9P, MsizeIsClampedToTheServersMaximum) {
  RawConn c2;
  ASSERT_TRUE(c2.Connect(addr_).ok());
  Result<RawReply> v = c2.Version(1 << 20, "9P2000");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(std::get<Rversion>(v->msg.body).msize, 8192u);
  // Reads are clamped to msize - IOHDRSZ.
  P9 p2(&c2);
  ASSERT_TRUE(p2.Attach(1).ok());
  ASSERT_TRUE(p2.Walk(1, 2, {}).ok());
  ASSERT_TRUE(p2.Create(2, "big", 0644, ORDWR).ok());
  std::string data(20000, 'b');
  for (size_t off = 0; off < data.size(); off += 8000)
    ASSERT_TRUE(p2.Write(2, off, data.substr(off, 8000)).ok());
  Result<std::string> r = p2.Read(2, 0, 20000);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 8192u - IOHDRSZ);
}

TEST_F(Conformance9P, ErrorsCarryPlan9Text) {
  Result<RawReply> r = c_.Call(Twalk{kRoot, 2, {}});
  ASSERT_TRUE(r.ok());
  WalkArray<std::string_view> names;
  names.push_back("nothere");
  Result<RawReply> e = c_.Call(Twalk{kRoot, 3, names});
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->type(), kRerror);
  EXPECT_EQ(std::get<Rerror>(e->msg.body).ename, "file does not exist");
}

}  // namespace
}  // namespace ninep::testing
