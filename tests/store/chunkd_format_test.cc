// chunkd_format_test: the replica format's coding (header slots, CRC table,
// names), the ctl parser, and Replica's crash rules on a real file: a block
// whose data or table entry a crash left behind reads as its old or new
// content, never as garbage. ReadReplicaFile (a reader beside chunkd) must
// accept and refuse exactly what Replica::Read does. Concurrent writes share
// one fdatasync, and a failed one breaks the replica.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "chunkd/ctl.h"
#include "chunkd/format.h"
#include "chunkd/replica.h"

namespace {

using chunkd::BlockCrc;
using chunkd::Header;
using chunkd::kBlockSize;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(ChunkFormat, HeaderRoundTripsAndRejectsDamage) {
  Header h{0xc1, 7, 12345, 3, 1024};
  std::string enc = chunkd::EncodeHeader(h);
  ASSERT_EQ(enc.size(), chunkd::kHeaderBytes);
  auto d = chunkd::DecodeHeader(Bytes(enc));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(*d, h);
  for (size_t i = 0; i < enc.size(); i++) {  // every flipped byte is caught
    std::string bad = enc;
    bad[i] ^= 0x40;
    EXPECT_EQ(chunkd::DecodeHeader(Bytes(bad)).status().err(), EBADMSG) << i;
  }
  EXPECT_FALSE(chunkd::DecodeHeader(Bytes(enc.substr(0, 51))).ok());
  EXPECT_FALSE(chunkd::DecodeHeader(Bytes(chunkd::EncodeHeader({1, 0, 0, 1, 1}))).ok());
  EXPECT_FALSE(
      chunkd::DecodeHeader(Bytes(chunkd::EncodeHeader({1, 1, kBlockSize + 1, 1, 1}))).ok());
  EXPECT_FALSE(chunkd::DecodeHeader(Bytes(chunkd::EncodeHeader({1, 1, 0, 1, 0}))).ok());
  EXPECT_FALSE(
      chunkd::DecodeHeader(Bytes(chunkd::EncodeHeader({1, 1, 0, 1, chunkd::kMaxBlocksLimit + 1})))
          .ok());
}

TEST(ChunkFormat, PickHeaderTakesTheNewerValidSlot) {
  std::string head(4096, '\0');
  std::string a = chunkd::EncodeHeader({0xc1, 1, 10, 1, 4});
  std::string b = chunkd::EncodeHeader({0xc1, 2, 10, 2, 4});
  head.replace(0, a.size(), a);
  head.replace(512, b.size(), b);
  int slot = -1;
  auto h = chunkd::PickHeader(Bytes(head), 0xc1, &slot);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->version, 2u);
  EXPECT_EQ(slot, 1);
  head[512 + 20] ^= 1;  // the newer slot torn: the older one holds
  h = chunkd::PickHeader(Bytes(head), 0xc1, &slot);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->version, 1u);
  EXPECT_EQ(slot, 0);
  EXPECT_EQ(chunkd::PickHeader(Bytes(head), 0xc2).status().err(), EBADMSG);  // another id
  head[5] ^= 1;
  EXPECT_EQ(chunkd::PickHeader(Bytes(head), 0xc1).status().message(), "torn header");
  EXPECT_FALSE(chunkd::PickHeader(Bytes(head.substr(0, 30)), 0xc1).ok());
}

TEST(ChunkFormat, CrcTableAndLayout) {
  std::vector<BlockCrc> t{{1, 2}, {0xffffffff, 0}};
  std::string enc = chunkd::EncodeCrcs(t);
  ASSERT_EQ(enc.size(), 16u);
  auto d = chunkd::DecodeCrcs(Bytes(enc));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)[1].cur, 0xffffffffu);
  EXPECT_EQ((*d)[0].prev, 2u);
  EXPECT_FALSE(chunkd::DecodeCrcs(Bytes(enc.substr(0, 15))).ok());
  EXPECT_EQ(chunkd::DataOffset(1024), 12288u);  // the layout man4/chunkd.4 gives
  EXPECT_EQ(chunkd::DataOffset(1), 8192u);
  std::string zeros(kBlockSize, '\0');
  EXPECT_EQ(chunkd::ZeroBlockCrc(), store::Crc32c(zeros.data(), zeros.size()));
}

TEST(ChunkFormat, Names) {
  uint64_t id, v;
  ASSERT_TRUE(chunkd::ParseReplicaName("00000000000000ab.12", &id, &v));
  EXPECT_EQ(id, 0xabu);
  EXPECT_EQ(v, 12u);
  ASSERT_TRUE(chunkd::ParseReplicaName("ffffffffffffffff.18446744073709551615", &id, &v));
  EXPECT_EQ(v, ~0ull);
  for (const char* bad :
       {"", "ab.1", "00000000000000ab", "00000000000000ab.", "00000000000000ab.0",
        "00000000000000ab.01", "00000000000000AB.1", "00000000000000ab.-1",
        "00000000000000ab.18446744073709551616", "00000000000000ab.1x", "000000000000000ab.1"})
    EXPECT_FALSE(chunkd::ParseReplicaName(bad, &id, &v)) << bad;
  EXPECT_EQ(chunkd::IdName(0xab), "00000000000000ab");
}

TEST(ChunkCtl, Parses) {
  auto c = chunkd::ParseCtl("scrub\n\n# note\n  sync  \r\n");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(*c, (std::vector<chunkd::CtlCmd>{chunkd::CtlCmd::kScrub, chunkd::CtlCmd::kSync}));
  EXPECT_TRUE(chunkd::ParseCtl("scrub").ok());
  for (const char* bad : {"", "\n", "scrubs", "scrub now", "sync\nbogus", "SCRUB"}) {
    auto r = chunkd::ParseCtl(bad);
    EXPECT_EQ(r.status().err(), EINVAL) << bad;
  }
  EXPECT_NE(chunkd::ParseCtl("x\x01y").status().message().find("'x?y'"), std::string::npos);
}

class ReplicaCrash : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/chunkd_format_test.XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir_ = t;
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string path() const { return dir_ + "/" + chunkd::IdName(0xc1); }
  std::string Pread(uint64_t off, size_t n) {
    int fd = open(path().c_str(), O_RDONLY);
    std::string s(n, '\0');
    EXPECT_EQ(pread(fd, s.data(), n, static_cast<off_t>(off)), static_cast<ssize_t>(n));
    close(fd);
    return s;
  }
  void Pwrite(uint64_t off, const std::string& s) {
    int fd = open(path().c_str(), O_WRONLY);
    EXPECT_EQ(pwrite(fd, s.data(), s.size(), static_cast<off_t>(off)),
              static_cast<ssize_t>(s.size()));
    close(fd);
  }
  std::string ReadAll(chunkd::Replica& r, uint64_t v, int64_t* bad) {
    std::string s(4 * kBlockSize, '\0');
    auto n = r.Read(v, 0, std::span(reinterpret_cast<uint8_t*>(s.data()), s.size()), bad);
    if (!n.ok()) return "ERROR " + n.status().message();
    s.resize(*n);
    return s;
  }
  std::string dir_;
};

TEST_F(ReplicaCrash, DataNotWrittenBeforeACrashReadsAsTheOldBlock) {
  const uint64_t doff = chunkd::DataOffset(4);
  {
    auto r = chunkd::Replica::Create(dir_, 0xc1, 1, 4);
    ASSERT_TRUE(r.ok());
    int64_t bad = -1;
    ASSERT_TRUE((*r)->Write(1, 0, Bytes(std::string(100, 'a')), &bad).ok());
  }
  std::string old_block = Pread(doff, kBlockSize);
  {
    auto r = chunkd::Replica::Open(path(), 0xc1);
    ASSERT_TRUE(r.ok());
    int64_t bad = -1;
    ASSERT_TRUE((*r)->Write(1, 10, Bytes("bbbb"), &bad).ok());
  }
  // The crash: the table entry reached the disk, the data did not.
  Pwrite(doff, old_block);
  auto r = chunkd::Replica::Open(path(), 0xc1);
  ASSERT_TRUE(r.ok());
  int64_t bad = -1;
  EXPECT_EQ(ReadAll(**r, 1, &bad), std::string(100, 'a'));
  EXPECT_EQ(bad, -1);
}

TEST_F(ReplicaCrash, TableNotWrittenBeforeACrashReadsAsTheOldBlock) {
  {
    auto r = chunkd::Replica::Create(dir_, 0xc1, 1, 4);
    ASSERT_TRUE(r.ok());
    int64_t bad = -1;
    ASSERT_TRUE((*r)->Write(1, 0, Bytes(std::string(100, 'a')), &bad).ok());
  }
  std::string old_table = Pread(chunkd::kCrcTableOffset, 8);
  {
    auto r = chunkd::Replica::Open(path(), 0xc1);
    ASSERT_TRUE(r.ok());
    int64_t bad = -1;
    ASSERT_TRUE((*r)->Write(1, 10, Bytes("bbbb"), &bad).ok());
  }
  // The crash: the data reached the disk, the table entry did not, so the
  // new content matches neither CRC... unless the entry is the new one.
  // Put the old entry back: the block must now be reported, not served.
  Pwrite(chunkd::kCrcTableOffset, old_table);
  auto r = chunkd::Replica::Open(path(), 0xc1);
  ASSERT_TRUE(r.ok());
  int64_t bad = -1;
  std::string got = ReadAll(**r, 1, &bad);
  EXPECT_EQ(got, "ERROR chunk 00000000000000c1 block 0: checksum mismatch");
  EXPECT_EQ(bad, 0);
}

TEST_F(ReplicaCrash, GrownHeaderWithoutDataReadsZeros) {
  const uint64_t doff = chunkd::DataOffset(4);
  {
    auto r = chunkd::Replica::Create(dir_, 0xc1, 1, 4);
    ASSERT_TRUE(r.ok());
    int64_t bad = -1;
    ASSERT_TRUE((*r)->Write(1, kBlockSize + 5, Bytes("tail"), &bad).ok());
  }
  // The crash: header and table reached the disk, block 1's data did not
  // (fallocate leaves it reading as zeros).
  Pwrite(doff + kBlockSize, std::string(kBlockSize, '\0'));
  auto r = chunkd::Replica::Open(path(), 0xc1);
  ASSERT_TRUE(r.ok());
  int64_t bad = -1;
  EXPECT_EQ(ReadAll(**r, 1, &bad), std::string(kBlockSize + 9, '\0'));
}

TEST_F(ReplicaCrash, VersionBumpAlternatesSlots) {
  auto r = chunkd::Replica::Create(dir_, 0xc1, 1, 4);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE((*r)->SetVersion(2).ok());
  ASSERT_TRUE((*r)->SetVersion(3).ok());
  auto s0 = chunkd::DecodeHeader(Bytes(Pread(0, chunkd::kHeaderBytes)));
  auto s1 = chunkd::DecodeHeader(Bytes(Pread(512, chunkd::kHeaderBytes)));
  ASSERT_TRUE(s0.ok() && s1.ok());
  EXPECT_EQ(s0->version, 3u);  // seq 3
  EXPECT_EQ(s1->version, 2u);  // seq 2, the fallback
  int64_t bad = -1;
  EXPECT_EQ((*r)->Read(2, 0, {}, &bad).status().err(), ESTALE);
}

// What ReadReplicaFile returns for n bytes at off, or "ERROR message".
std::string ReadFileAt(const std::string& path, uint64_t v, uint64_t off, size_t n, int64_t* bad) {
  std::string s(n, '\0');
  auto got = chunkd::ReadReplicaFile(path, 0xc1, v, off,
                                     std::span(reinterpret_cast<uint8_t*>(s.data()), n), bad);
  if (!got.ok()) return "ERROR " + got.status().message();
  s.resize(*got);
  return s;
}

TEST_F(ReplicaCrash, ReadReplicaFileAgreesWithReplicaRead) {
  auto r = chunkd::Replica::Create(dir_, 0xc1, 1, 8);
  ASSERT_TRUE(r.ok());
  int64_t bad = -1;
  // Data in blocks 0-1, a hole in 2-3, a tail in block 4 that ends mid-block.
  std::string a(2 * kBlockSize - 7, 'a'), t(999, 't');
  for (size_t i = 0; i < a.size(); i++) a[i] = static_cast<char>('a' + i % 23);
  ASSERT_TRUE((*r)->Write(1, 0, Bytes(a), &bad).ok());
  ASSERT_TRUE((*r)->Write(1, 4 * kBlockSize + 100, Bytes(t), &bad).ok());
  const uint64_t len = 4 * kBlockSize + 100 + t.size();
  for (uint64_t off : {uint64_t{0}, uint64_t{1}, kBlockSize - 3, kBlockSize, 2 * kBlockSize - 10,
                       3 * kBlockSize + 5, len - 1, len, len + 50}) {
    for (size_t n : {size_t{1}, size_t{100}, size_t{kBlockSize}, size_t{3 * kBlockSize + 17}}) {
      SCOPED_TRACE(std::to_string(off) + "+" + std::to_string(n));
      std::string want(n, '\0');
      auto w = (*r)->Read(1, off, std::span(reinterpret_cast<uint8_t*>(want.data()), n), &bad);
      ASSERT_TRUE(w.ok());
      want.resize(*w);
      EXPECT_EQ(ReadFileAt(path(), 1, off, n, &bad), want);
      EXPECT_EQ(want.size(), off >= len ? 0 : std::min<uint64_t>(n, len - off));
    }
  }
  EXPECT_EQ(bad, -1);
  // Another version: ESTALE, as chunkd answers.
  EXPECT_EQ(ReadFileAt(path(), 2, 0, 10, &bad),
            "ERROR chunk 00000000000000c1 is at version 1, not 2: stale file handle");
  ASSERT_TRUE((*r)->SetVersion(2).ok());
  EXPECT_EQ(ReadFileAt(path(), 2, 0, 3, &bad), a.substr(0, 3));
  EXPECT_NE(ReadFileAt(path(), 1, 0, 3, &bad).find("version 2, not 1"), std::string::npos);
  // A missing file is ENOENT; another id's file is refused (torn header).
  std::string missing(10, '\0');
  EXPECT_EQ(chunkd::ReadReplicaFile(dir_ + "/nothing", 0xc1, 2, 0,
                                    std::span(reinterpret_cast<uint8_t*>(missing.data()), 10), &bad)
                .status()
                .err(),
            ENOENT);
  // A symlink to a good replica is refused (ELOOP), never followed.
  ASSERT_EQ(symlink(path().c_str(), (dir_ + "/link").c_str()), 0);
  EXPECT_EQ(chunkd::ReadReplicaFile(dir_ + "/link", 0xc1, 2, 0,
                                    std::span(reinterpret_cast<uint8_t*>(missing.data()), 10), &bad)
                .status()
                .err(),
            ELOOP);
  EXPECT_EQ(chunkd::ReadReplicaFile(path(), 0xc2, 2, 0,
                                    std::span(reinterpret_cast<uint8_t*>(missing.data()), 10), &bad)
                .status()
                .err(),
            EBADMSG);
}

TEST_F(ReplicaCrash, ReadReplicaFileReportsAFlippedBitNeverServesIt) {
  auto r = chunkd::Replica::Create(dir_, 0xc1, 1, 4);
  ASSERT_TRUE(r.ok());
  int64_t bad = -1;
  ASSERT_TRUE((*r)->Write(1, 0, Bytes(std::string(3 * kBlockSize, 'z')), &bad).ok());
  const uint64_t doff = chunkd::DataOffset(4);
  Pwrite(doff + kBlockSize + 77, "Z");  // block 1
  // Whole blocks and a part of block 1 alike are refused; block 0 and 2 read.
  EXPECT_EQ(ReadFileAt(path(), 1, 0, 3 * kBlockSize, &bad),
            "ERROR chunk 00000000000000c1 block 1: checksum mismatch");
  EXPECT_EQ(bad, 1);
  bad = -1;
  EXPECT_EQ(ReadFileAt(path(), 1, kBlockSize + 70, 10, &bad).substr(0, 6), "ERROR ");
  EXPECT_EQ(bad, 1);
  bad = -1;
  EXPECT_EQ(ReadFileAt(path(), 1, 10, 100, &bad), std::string(100, 'z'));
  EXPECT_EQ(ReadFileAt(path(), 1, 2 * kBlockSize, kBlockSize, &bad), std::string(kBlockSize, 'z'));
  EXPECT_EQ(bad, -1);
  // A table entry damaged instead of the data: refused too.
  Pwrite(doff + kBlockSize + 77, "z");
  Pwrite(chunkd::kCrcTableOffset + 2 * 8, std::string(8, '\xff'));
  EXPECT_EQ(ReadFileAt(path(), 1, 2 * kBlockSize, 1, &bad),
            "ERROR chunk 00000000000000c1 block 2: checksum mismatch");
}

TEST_F(ReplicaCrash, WritesThatWaitForARunningSyncShareTheNextOne) {
  auto r = chunkd::Replica::Create(dir_, 0xc1, 1, 8);
  ASSERT_TRUE(r.ok());
  chunkd::Replica& rep = **r;
  // The first sync holds until two more writes are in the page cache.
  std::promise<void> in_sync, release;
  std::shared_future<void> go = release.get_future().share();
  std::atomic<int> syncs{0};
  rep.SetSyncHook([&] {
    if (syncs++ == 0) {
      in_sync.set_value();
      go.wait();
    }
    return ninep::Status::Ok();
  });
  auto write = [&](uint64_t b, char ch, bool* synced) {
    int64_t bad = -1;
    return rep.Write(1, b * kBlockSize, Bytes(std::string(kBlockSize, ch)), &bad, synced);
  };
  bool sa = false, sb = false, sc = false;
  auto a = std::async(std::launch::async, [&] { return write(0, 'a', &sa); });
  in_sync.get_future().wait();
  auto b = std::async(std::launch::async, [&] { return write(1, 'b', &sb); });
  auto c = std::async(std::launch::async, [&] { return write(2, 'c', &sc); });
  // Both are written once the length covers them; they then wait for a sync.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (rep.Info().length < 3 * kBlockSize && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  const uint64_t seen = rep.Info().length;
  const int during = syncs.load();
  release.set_value();              // before any assertion: a failing one must not hang the test
  EXPECT_EQ(seen, 3 * kBlockSize);  // b and c were not held behind a's sync
  EXPECT_EQ(during, 1);             // and nobody synced past the running one
  ASSERT_TRUE(a.get().ok());
  ASSERT_TRUE(b.get().ok());
  ASSERT_TRUE(c.get().ok());
  EXPECT_EQ(syncs.load(), 2);  // one for a, one for b and c together
  EXPECT_TRUE(sa);
  EXPECT_NE(sb, sc);
  // On the disk: the three blocks, and a header that says so.
  r->reset();
  auto again = chunkd::Replica::Open(path(), 0xc1);
  ASSERT_TRUE(again.ok());
  int64_t bad = -1;
  EXPECT_EQ(ReadAll(**again, 1, &bad), std::string(kBlockSize, 'a') + std::string(kBlockSize, 'b') +
                                           std::string(kBlockSize, 'c'));
  EXPECT_EQ(bad, -1);
}

TEST_F(ReplicaCrash, AFailedSyncBreaksTheReplicaUntilItIsOpenedAgain) {
  auto r = chunkd::Replica::Create(dir_, 0xc1, 1, 4);
  ASSERT_TRUE(r.ok());
  int64_t bad = -1;
  ASSERT_TRUE((*r)->Write(1, 0, Bytes("kept"), &bad).ok());
  (*r)->SetSyncHook([] { return ninep::Status(EIO, "injected"); });
  auto w = (*r)->Write(1, 4, Bytes("lost"), &bad);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().err(), EIO);
  EXPECT_NE(w.status().message().find("injected"), std::string::npos) << w.status().message();
  // Whatever the page cache says now, nothing more is served or changed.
  (*r)->SetSyncHook(nullptr);
  std::string got = ReadAll(**r, 1, &bad);
  EXPECT_NE(got.find("unusable until chunkd restarts"), std::string::npos) << got;
  EXPECT_EQ((*r)->Write(1, 0, Bytes("more"), &bad).status().err(), EIO);
  EXPECT_EQ((*r)->Truncate(1, 1, &bad).err(), EIO);
  EXPECT_EQ((*r)->SetVersion(2).err(), EIO);
  // Opened again (chunkd restarted), the acknowledged bytes are there.
  r->reset();
  auto again = chunkd::Replica::Open(path(), 0xc1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ReadAll(**again, 1, &bad).substr(0, 4), "kept");
}

}  // namespace
