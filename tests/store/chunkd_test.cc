// chunkd_test: bin/chunkd on 127.0.0.1 driven with lib9p's client, in both
// dialects: the wire contract of STORE_INTERFACE / chunkd(4) (create and
// version rules, I/O at offsets, truncation, removal, restart), corruption
// (a flipped bit on disk, a torn header at start, scrub), a full disk, and
// malformed input.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "chunkd/format.h"
#include "ninep/client.h"
#include "testutil.h"

namespace {

using ninep::Client;
using ninep::ClientOptions;
using ninep::Dialect;
using ninep::Dir;
using ninep::Fid;
using ninep::Status;
using ninep::testing::Process;
using ninep::testing::StartServer;
using ninep::testing::TempDir;

constexpr uint64_t kB = chunkd::kBlockSize;
const std::string kId = "00000000000000c1";

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A deterministic pattern of n bytes.
std::string Pattern(size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::mt19937 g(seed);
  for (char& c : s) c = static_cast<char>(g());
  return s;
}

class ChunkdTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override { Start(); }
  void TearDown() override { Stop(); }

  bool dotl() const { return GetParam() == Dialect::k9P2000L; }
  std::string dir() const { return tmp_.path() + "/store"; }
  std::string disk_path(const std::string& id = kId) const { return dir() + "/chunks/" + id; }

  void Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"-d", data_dir_.empty() ? dir() : data_dir_};
    args.insert(args.end(), extra.begin(), extra.end());
    srv_ = std::make_unique<Process>();
    addr_ = StartServer(srv_.get(), "chunkd", args);
    ASSERT_FALSE(addr_.empty()) << "chunkd did not start";
    ClientOptions o;
    o.dialect = GetParam();
    o.call_timeout = std::chrono::seconds(30);
    auto c = Client::Connect(addr_, o);
    ASSERT_TRUE(c.ok()) << c.status().message();
    client_ = std::move(*c);
    auto r = client_->Attach("glenda", "");
    ASSERT_TRUE(r.ok()) << r.status().message();
    root_ = std::move(*r);
  }
  void Stop(int sig = SIGTERM) {
    root_ = Fid();
    client_.reset();
    if (srv_) srv_->Kill(sig);
    srv_.reset();
  }
  void Restart(int sig = SIGKILL) {
    Stop(sig);
    Start();
  }

  // Creates /chunks/name (open for reading and writing).
  ninep::Result<Fid> Create(const std::string& name) {
    auto d = root_.Walk("chunks");
    if (!d.ok()) return d.status();
    Status s = d->Create(name, 0644, ninep::ORDWR);
    if (!s.ok()) return s;
    return std::move(*d);
  }
  // Walks to and opens path.
  ninep::Result<Fid> Open(const std::string& path, uint8_t mode) {
    auto f = root_.Walk(path);
    if (!f.ok()) return f.status();
    if (Status s = f->Open(mode); !s.ok()) return s;
    return std::move(*f);
  }
  // Reads n bytes at off of an open fid; the error when it fails.
  ninep::Result<std::string> ReadAt(Fid& f, uint64_t off, size_t n) {
    std::string s(n, '\0');
    auto got = f.Read(off, std::span(reinterpret_cast<uint8_t*>(s.data()), n));
    if (!got.ok()) return got.status();
    s.resize(*got);
    return s;
  }
  std::string ReadFile(const std::string& path) {
    auto f = Open(path, ninep::OREAD);
    EXPECT_TRUE(f.ok()) << path << ": " << f.status().message();
    if (!f.ok()) return "";
    auto s = ReadAt(*f, 0, 1 << 20);
    return s.ok() ? *s : "";
  }
  // The rest of ctl's line for key ("" when missing).
  static std::string CtlWord(const std::string& ctl, const std::string& key) {
    std::string t = "\n" + ctl;
    size_t at = t.find("\n" + key + " ");
    if (at == std::string::npos) return "";
    at += key.size() + 2;
    return t.substr(at, t.find('\n', at) - at);
  }
  // The value of key in /ctl, -1 when missing.
  int64_t Ctl(const std::string& key) {
    std::string t = "\n" + ReadFile("ctl");
    size_t at = t.find("\n" + key + " ");
    return at == std::string::npos ? -1 : std::stoll(t.substr(at + key.size() + 2));
  }
  // One Twrite of msg to /ctl.
  Status CtlWrite(const std::string& msg) {
    auto f = Open("ctl", ninep::OWRITE);
    if (!f.ok()) return f.status();
    auto n = f->Write(0, Bytes(msg));
    return n.ok() ? Status::Ok() : n.status();
  }
  // Flips one bit of the replica file on disk at data offset off.
  void FlipBit(uint64_t off, const std::string& id = kId) {
    int fd = open(disk_path(id).c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    uint64_t at = chunkd::DataOffset(1024) + off;
    uint8_t b;
    ASSERT_EQ(pread(fd, &b, 1, static_cast<off_t>(at)), 1);
    b ^= 0x10;
    ASSERT_EQ(pwrite(fd, &b, 1, static_cast<off_t>(at)), 1);
    close(fd);
  }

  TempDir tmp_;
  std::string data_dir_;
  std::unique_ptr<Process> srv_;
  std::string addr_;
  std::unique_ptr<Client> client_;
  Fid root_;
};

TEST_P(ChunkdTest, TreeAndCtlKeys) {
  auto d = Open("", ninep::OREAD);
  ASSERT_TRUE(d.ok());
  auto ents = d->ReadDir();
  ASSERT_TRUE(ents.ok());
  std::vector<std::string> names;
  for (auto& e : *ents) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"chunks", "ctl", "bad"}));
  for (const char* k : {"chunks", "bytes", "free", "bad", "reads", "writes"})
    EXPECT_GE(Ctl(k), 0) << k;
  EXPECT_GT(Ctl("free"), 0);
  EXPECT_EQ(ReadFile("bad"), "");
}

// The last lines of ctl name the directory and the word in its token file,
// for storefs's local reads; a restart picks a new word.
TEST_P(ChunkdTest, CtlNamesItsDirectoryAndATokenNewAtEachStart) {
  std::string ctl = ReadFile("ctl"), token = CtlWord(ctl, "token");
  char* real = realpath(dir().c_str(), nullptr);
  ASSERT_NE(real, nullptr);
  EXPECT_EQ(CtlWord(ctl, "dir"), std::string(real));
  free(real);
  EXPECT_EQ(token.size(), 32u);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos) << token;
  EXPECT_EQ(ninep::testing::ReadFile(dir() + "/token"), token + "\n");
  Restart(SIGKILL);
  std::string again = CtlWord(ReadFile("ctl"), "token");
  EXPECT_NE(again, token);
  EXPECT_EQ(ninep::testing::ReadFile(dir() + "/token"), again + "\n");
}

TEST_P(ChunkdTest, CreateAndVersionRules) {
  auto f = Create(kId + ".1");
  ASSERT_TRUE(f.ok()) << f.status().message();
  ASSERT_TRUE(f->Write(0, Bytes("version one data")).ok());
  EXPECT_EQ(Create(kId + ".1").status().err(), EEXIST);
  // A higher version bumps in place and keeps the data.
  auto g = Create(kId + ".3");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(*ReadAt(*g, 0, 100), "version one data");
  EXPECT_EQ(Create(kId + ".2").status().err(), ESTALE);
  // The old version is gone: walking it is ESTALE, and a fid still open on
  // it can neither read nor write.
  EXPECT_EQ(root_.Walk("chunks/" + kId + ".1").status().err(), ESTALE);
  EXPECT_EQ(ReadAt(*f, 0, 10).status().err(), ESTALE);
  EXPECT_EQ(f->Write(0, Bytes("x")).status().err(), ESTALE);
  auto st = g->Stat();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->length, 16u);
  auto d = Open("chunks", ninep::OREAD);
  ASSERT_TRUE(d.ok());
  auto ents = d->ReadDir();
  ASSERT_TRUE(ents.ok());
  ASSERT_EQ(ents->size(), 1u);
  EXPECT_EQ((*ents)[0].name, kId + ".3");
  if (!dotl()) {  // .L readdir carries names only
    EXPECT_EQ((*ents)[0].length, 16u);
  }
  EXPECT_EQ(Ctl("chunks"), 1);
  EXPECT_EQ(Ctl("bytes"), 16);
}

TEST_P(ChunkdTest, StaleFidOpen) {
  ASSERT_TRUE(Create(kId + ".1").ok());
  auto walked = root_.Walk("chunks/" + kId + ".1");  // walked, not yet open
  ASSERT_TRUE(walked.ok());
  ASSERT_TRUE(Create(kId + ".2").ok());
  EXPECT_EQ(walked->Open(ninep::OREAD).err(), ESTALE);
}

TEST_P(ChunkdTest, BadNamesAndOperations) {
  EXPECT_EQ(Create("zz").status().err(), EINVAL);
  EXPECT_EQ(Create(kId + ".0").status().err(), EINVAL);
  EXPECT_EQ(Create(kId + ".01").status().err(), EINVAL);
  EXPECT_EQ(Create("00000000000000C1.1").status().err(), EINVAL);  // lowercase only
  auto r = root_.Walk("");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Create("x", 0644, ninep::ORDWR).err(), EPERM);
  EXPECT_EQ(root_.Walk("chunks/" + kId + ".1").status().err(), ENOENT);
  auto f = Create(kId + ".1");
  ASSERT_TRUE(f.ok());
  // Past the largest replica.
  EXPECT_EQ(f->Write(64ull << 20, Bytes("x")).status().err(), EFBIG);
}

TEST_P(ChunkdTest, WriteReadAtOffsetsAndSparse) {
  auto f = Create(kId + ".1");
  ASSERT_TRUE(f.ok());
  std::string model;
  std::mt19937 g(7);
  // Writes at unaligned offsets across block boundaries, some past the end
  // (leaving holes), checked against a model after each.
  for (int i = 0; i < 24; i++) {
    uint64_t off = g() % (5 * kB);
    size_t n = 1 + g() % (2 * kB);
    std::string data = Pattern(n, static_cast<unsigned>(i));
    auto w = f->Write(off, Bytes(data));
    ASSERT_TRUE(w.ok()) << w.status().message();
    ASSERT_EQ(*w, n);
    if (model.size() < off + n) model.resize(off + n, '\0');
    model.replace(off, n, data);
  }
  auto all = ReadAt(*f, 0, model.size() + 100);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_TRUE(*all == model);
  // A hole far past the end reads as zeros; the length follows the write.
  ASSERT_TRUE(f->Write(20 * kB + 5, Bytes("tail")).ok());
  auto hole = ReadAt(*f, model.size(), 20 * kB + 5 - model.size());
  ASSERT_TRUE(hole.ok());
  EXPECT_EQ(*hole, std::string(20 * kB + 5 - model.size(), '\0'));
  EXPECT_EQ(*ReadAt(*f, 20 * kB + 5, 100), "tail");
  EXPECT_EQ(f->Stat()->length, 20 * kB + 9);
  // A read at or past the end is empty.
  EXPECT_EQ(*ReadAt(*f, 20 * kB + 9, 10), "");
}

TEST_P(ChunkdTest, TruncateShrinksAndGrowsWithZeros) {
  auto f = Create(kId + ".1");
  ASSERT_TRUE(f.ok());
  std::string data = Pattern(3 * kB, 1);
  ASSERT_TRUE(f->Write(0, Bytes(data)).ok());
  Dir d = ninep::DirFromStat(ninep::NullStat());
  d.length = kB + 100;
  ASSERT_TRUE(f->Wstat(d).ok());
  EXPECT_EQ(f->Stat()->length, kB + 100);
  EXPECT_TRUE(*ReadAt(*f, 0, 3 * kB) == data.substr(0, kB + 100));
  // Growing again: the cut bytes do not come back.
  ASSERT_TRUE(f->Write(2 * kB + 7, Bytes("z")).ok());
  auto back = ReadAt(*f, 0, 3 * kB);
  ASSERT_TRUE(back.ok()) << back.status().message();
  std::string want = data.substr(0, kB + 100) + std::string(kB - 93, '\0') + "z";
  EXPECT_TRUE(*back == want);
  d.length = 4 * kB;  // truncate upwards
  ASSERT_TRUE(f->Wstat(d).ok());
  EXPECT_EQ(*ReadAt(*f, 3 * kB, kB), std::string(kB, '\0'));
  d.length = 0;
  ASSERT_TRUE(f->Wstat(d).ok());
  EXPECT_EQ(*ReadAt(*f, 0, 10), "");
}

TEST_P(ChunkdTest, RemoveDeletesDurably) {
  auto f = Create(kId + ".4");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Write(0, Bytes("bye")).ok());
  ASSERT_TRUE(f->Remove().ok());
  EXPECT_EQ(root_.Walk("chunks/" + kId + ".4").status().err(), ENOENT);
  struct stat st;
  EXPECT_NE(stat(disk_path().c_str(), &st), 0);
  EXPECT_EQ(Ctl("chunks"), 0);
  // The id can be created afresh, empty.
  auto g = Create(kId + ".1");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*ReadAt(*g, 0, 10), "");
}

TEST_P(ChunkdTest, RestartKeepsDataAndVersions) {
  std::string data = Pattern(2 * kB + 333, 3);
  {
    auto f = Create(kId + ".1");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->Write(0, Bytes(data)).ok());
    ASSERT_TRUE(Create(kId + ".5").ok());
    auto g = Create("00000000000000c2.9");
    ASSERT_TRUE(g.ok());
    ASSERT_TRUE(g->Write(100, Bytes("second")).ok());
  }
  Restart(SIGKILL);  // acknowledged means durable: no clean shutdown needed
  EXPECT_EQ(root_.Walk("chunks/" + kId + ".1").status().err(), ESTALE);
  auto f = Open("chunks/" + kId + ".5", ninep::OREAD);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_TRUE(*ReadAt(*f, 0, 3 * kB) == data);
  auto g = Open("chunks/00000000000000c2.9", ninep::OREAD);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*ReadAt(*g, 0, 200), std::string(100, '\0') + "second");
  EXPECT_EQ(Ctl("chunks"), 2);
}

TEST_P(ChunkdTest, FlippedBitIsReportedNeverServed) {
  auto f = Create(kId + ".2");
  ASSERT_TRUE(f.ok());
  std::string data = Pattern(3 * kB, 5);
  ASSERT_TRUE(f->Write(0, Bytes(data)).ok());
  FlipBit(kB + 1234);  // block 1
  auto bad = ReadAt(*f, kB + 1000, 10);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().err(), EIO);
  if (!dotl()) {  // 9P2000 carries the message
    EXPECT_NE(bad.status().message().find("chunk " + kId + " block 1: checksum mismatch"),
              std::string::npos)
        << bad.status().message();
  }
  // A read spanning the bad block fails whole; the good blocks still read.
  EXPECT_FALSE(ReadAt(*f, 0, 3 * kB).ok());
  EXPECT_TRUE(*ReadAt(*f, 0, kB) == data.substr(0, kB));
  EXPECT_TRUE(*ReadAt(*f, 2 * kB, kB) == data.substr(2 * kB));
  EXPECT_EQ(ReadFile("bad"), kId + ".2\n");
  EXPECT_GE(Ctl("bad"), 2);
  // A partial write into the bad block cannot compute a CRC from bad data.
  EXPECT_EQ(f->Write(kB + 5, Bytes("x")).status().err(), EIO);
  // Rewriting the whole block heals it; a scrub then clears the bad list.
  ASSERT_TRUE(f->Write(kB, Bytes(data.substr(kB, kB))).ok());
  EXPECT_TRUE(*ReadAt(*f, 0, 3 * kB) == data);
  ASSERT_TRUE(CtlWrite("scrub\n").ok());
  EXPECT_EQ(ReadFile("bad"), "");
}

TEST_P(ChunkdTest, BadListSurvivesRestartUntilRepaired) {
  {
    auto f = Create(kId + ".3");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->Write(0, Bytes(Pattern(2 * kB, 4))).ok());
    FlipBit(kB + 9);
    EXPECT_EQ(ReadAt(*f, kB, 10).status().err(), EIO);
  }
  Restart(SIGKILL);
  EXPECT_EQ(ReadFile("bad"), kId + ".3\n");
  // Rewriting the block and a scrub clear it, also after the next restart.
  {
    auto f = Open("chunks/" + kId + ".3", ninep::OWRITE);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->Write(kB, Bytes(Pattern(kB, 5))).ok());
  }
  ASSERT_TRUE(CtlWrite("scrub").ok());
  EXPECT_EQ(ReadFile("bad"), "");
  Restart(SIGKILL);
  EXPECT_EQ(ReadFile("bad"), "");
  // A removed replica's mark goes with it.
  FlipBit(3);
  ASSERT_TRUE(CtlWrite("scrub").ok());
  EXPECT_EQ(ReadFile("bad"), kId + ".3\n");
  auto f = root_.Walk("chunks/" + kId + ".3");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Remove().ok());
  Restart(SIGKILL);
  EXPECT_EQ(ReadFile("bad"), "");
}

TEST_P(ChunkdTest, ScrubFindsCorruptionNotYetRead) {
  auto f = Create(kId + ".1");
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f->Write(0, Bytes(Pattern(kB + 10, 9))).ok());
  auto g = Create("00000000000000c2.1");
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->Write(0, Bytes("fine")).ok());
  FlipBit(kB + 3);  // in the last, partial block
  EXPECT_EQ(ReadFile("bad"), "");
  int64_t before = Ctl("bad");
  ASSERT_TRUE(CtlWrite("scrub").ok());
  EXPECT_EQ(ReadFile("bad"), kId + ".1\n");
  EXPECT_GT(Ctl("bad"), before);
  EXPECT_EQ(Ctl("scrubs"), 1);
  EXPECT_EQ(*ReadAt(*g, 0, 10), "fine");
}

TEST_P(ChunkdTest, TornHeaderAtStartIsMovedAside) {
  {
    auto f = Create(kId + ".1");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->Write(0, Bytes("doomed")).ok());
    auto g = Create("00000000000000c2.1");
    ASSERT_TRUE(g.ok());
    ASSERT_TRUE(g->Write(0, Bytes("kept")).ok());
  }
  Stop();
  // Tear both header slots (a crash cannot, but a bad disk can).
  int fd = open(disk_path().c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  std::string junk(600, 'J');
  ASSERT_EQ(pwrite(fd, junk.data(), junk.size(), 20), 600);
  close(fd);
  Start();
  EXPECT_EQ(root_.Walk("chunks/" + kId + ".1").status().err(), ENOENT);
  EXPECT_EQ(ReadFile("bad"), kId + ".0\n");
  EXPECT_EQ(Ctl("bad"), 1);
  EXPECT_EQ(Ctl("chunks"), 1);
  struct stat st;
  EXPECT_EQ(stat((dir() + "/damaged/" + kId).c_str(), &st), 0);
  auto g = Open("chunks/00000000000000c2.1", ninep::OREAD);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*ReadAt(*g, 0, 10), "kept");
  // The id is free again for storefs to re-replicate into.
  EXPECT_TRUE(Create(kId + ".1").ok());
}

TEST_P(ChunkdTest, OneTornHeaderSlotFallsBackToTheOther) {
  {
    auto f = Create(kId + ".1");
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(f->Write(0, Bytes("abc")).ok());  // length 3 goes to slot 1
    ASSERT_TRUE(Create(kId + ".2").ok());         // version 2 goes to slot 0
  }
  Stop();
  int fd = open(disk_path().c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, "XX", 2, 40), 2);  // tear slot 0
  close(fd);
  Start();
  // The header before the last update: version 1, length 3.
  auto f = Open("chunks/" + kId + ".1", ninep::OREAD);
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(*ReadAt(*f, 0, 10), "abc");
}

TEST_P(ChunkdTest, MalformedCtlGetsAClearError) {
  for (const char* bad : {"bogus", "scrub now", "\x01\x02", "   \n", "# only a comment\n"}) {
    Status s = CtlWrite(bad);
    EXPECT_EQ(s.err(), EINVAL) << "'" << bad << "': " << s.message();
    if (!dotl() && *bad == 'b') {
      EXPECT_NE(s.message().find("unknown ctl command 'bogus'"), std::string::npos) << s.message();
    }
  }
  EXPECT_TRUE(CtlWrite("sync\n# a comment\nscrub\n").ok());
  auto bad = Open("bad", ninep::OWRITE);
  EXPECT_FALSE(bad.ok());
  EXPECT_GE(Ctl("chunks"), 0);  // still serving
}

// A 2 MiB tmpfs fills up: the write fails ENOSPC, the replica is as before,
// and chunkd goes on serving.
TEST_P(ChunkdTest, DiskFullLeavesReplicaUnchanged) {
  Stop();
  std::string mnt = tmp_.path() + "/small";
  ASSERT_EQ(mkdir(mnt.c_str(), 0755), 0);
  if (mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=2m") != 0)
    FAIL() << "cannot mount a tmpfs (needs root): " << strerror(errno);
  struct Unmount {
    std::string p;
    ~Unmount() { umount2(p.c_str(), MNT_DETACH); }
  } unmount{mnt};
  data_dir_ = mnt + "/store";
  Start();
  auto f = Create(kId + ".1");
  ASSERT_TRUE(f.ok()) << f.status().message();
  std::string data = Pattern(kB + 500, 11);
  ASSERT_TRUE(f->Write(0, Bytes(data)).ok());
  // Fill the disk with other replicas, 256 KiB per Twrite, until it is full.
  std::vector<Fid> fill;
  Status last;
  for (int i = 0; i < 64 && last.ok(); i++) {
    auto g = Create(chunkd::IdName(0x100 + i) + ".1");
    if (!g.ok()) {
      last = g.status();
      break;
    }
    auto n = g->Write(0, Bytes(Pattern(256 << 10, i)));
    if (!n.ok()) last = n.status();
    fill.push_back(std::move(*g));
  }
  ASSERT_EQ(last.err(), ENOSPC) << last.message();
  // One Twrite (below msize) overlapping the end and growing past the free
  // space: ENOSPC, and the replica is exactly as before.
  std::string big = Pattern(400 << 10, 12);
  auto w = f->Write(kB, Bytes(big));
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().err(), ENOSPC) << w.status().message();
  EXPECT_EQ(f->Stat()->length, kB + 500);
  auto back = ReadAt(*f, 0, 1 << 20);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(*back == data);
  EXPECT_EQ(ReadFile("bad"), "");
  // Still serving; an overwrite inside allocated blocks needs no new space.
  EXPECT_GE(Ctl("chunks"), 2);
  ASSERT_TRUE(f->Write(10, Bytes("inside")).ok());
  EXPECT_EQ(*ReadAt(*f, 10, 6), "inside");
  // Space freed, the big write goes through.
  for (Fid& g : fill) ASSERT_TRUE(g.Remove().ok());
  fill.clear();
  ASSERT_TRUE(f->Write(kB, Bytes(big)).ok());
  EXPECT_TRUE(*ReadAt(*f, kB, big.size()) == big);
  *f = Fid();
  Stop();  // before the unmount, so chunkd holds no file there
}

// Several writers on their own replicas, readers and scrubs at once: every
// replica ends as its writer's model says, and nothing is reported bad.
TEST_P(ChunkdTest, ConcurrentWritersReadersAndScrubs) {
  constexpr int kWriters = 4;
  std::vector<std::string> models(kWriters);
  std::vector<std::string> errors(kWriters + 1);
  std::vector<std::thread> ts;
  ts.reserve(kWriters + 1);
  std::atomic<bool> done{false};
  for (int w = 0; w < kWriters; w++) {
    ts.emplace_back([&, w] {
      auto f = Create(chunkd::IdName(0x200 + w) + ".1");
      if (!f.ok()) return void(errors[w] = f.status().message());
      std::mt19937 g(static_cast<unsigned>(w));
      std::string& model = models[w];
      for (int i = 0; i < 30; i++) {
        uint64_t off = g() % (8 * kB);
        std::string data = Pattern(1 + g() % (3 * kB), static_cast<unsigned>(w * 100 + i));
        auto n = f->Write(off, Bytes(data));
        if (!n.ok()) return void(errors[w] = n.status().message());
        if (model.size() < off + data.size()) model.resize(off + data.size(), '\0');
        model.replace(off, data.size(), data);
        auto back = ReadAt(*f, off, data.size());
        if (!back.ok() || *back != data) return void(errors[w] = "read-back differs");
      }
    });
  }
  ts.emplace_back([&] {
    for (int i = 0; i < 200 && !done; i++) {
      Status s = CtlWrite("scrub");
      if (!s.ok()) return void(errors[kWriters] = s.message());
    }
  });
  for (int w = 0; w < kWriters; w++) ts[w].join();
  done = true;
  ts.back().join();
  for (const std::string& e : errors) EXPECT_EQ(e, "");
  for (int w = 0; w < kWriters; w++) {
    auto f = Open("chunks/" + chunkd::IdName(0x200 + w) + ".1", ninep::OREAD);
    ASSERT_TRUE(f.ok());
    auto all = ReadAt(*f, 0, 16 * kB);
    ASSERT_TRUE(all.ok()) << all.status().message();
    EXPECT_TRUE(*all == models[w]) << w;
  }
  EXPECT_EQ(ReadFile("bad"), "");
  EXPECT_EQ(Ctl("bad"), 0);
}

// kill -9 while a writer appends (pieces not block-aligned, so each one
// rewrites the block it shares with the last): after each restart every
// acknowledged byte reads back, except that a kill inside the data write
// itself may leave the one block the interrupted write shared with
// acknowledged data torn, and that block is then reported, never served.
TEST_P(ChunkdTest, KillNineMidWriteKeepsAcknowledgedBytes) {
  constexpr size_t kPiece = 100000;
  std::string model;  // what was acknowledged
  int torn = 0;
  for (int cycle = 0; cycle < 5; cycle++) {
    std::atomic<size_t> acked{model.size()};
    std::string werr;
    std::thread writer([&] {
      auto f = cycle == 0 ? Create(kId + ".1") : Open("chunks/" + kId + ".1", ninep::ORDWR);
      if (!f.ok()) return void(werr = f.status().message());
      for (int i = 0; i < 60; i++) {
        std::string piece = Pattern(kPiece, static_cast<unsigned>(cycle * 100 + i));
        if (!f->Write(model.size(), Bytes(piece)).ok()) return;  // chunkd died
        model += piece;
        acked = model.size();
      }
    });
    const size_t start = acked;
    EXPECT_TRUE(ninep::testing::WaitFor([&] { return acked >= start + 3 * kPiece; }, 20000));
    srv_->Kill(SIGKILL);
    writer.join();
    ASSERT_EQ(werr, "");
    Restart(SIGKILL);
    auto f = Open("chunks/" + kId + ".1", ninep::ORDWR);
    ASSERT_TRUE(f.ok()) << f.status().message();
    ASSERT_GE(f->Stat()->length, model.size());
    for (uint64_t bs = 0; bs < model.size(); bs += kB) {
      size_t n = std::min<size_t>(kB, model.size() - bs);
      auto got = ReadAt(*f, bs, n);
      if (got.ok()) {
        ASSERT_TRUE(*got == model.substr(bs, n)) << "cycle " << cycle << " block " << bs / kB;
        continue;
      }
      // Only the block the interrupted write shared with acknowledged data.
      ASSERT_EQ(got.status().err(), EIO) << got.status().message();
      ASSERT_EQ(bs / kB, model.size() / kB) << "cycle " << cycle;
      torn++;
      // Repair it as storefs would, from the model: cut, then rewrite.
      Dir d = ninep::DirFromStat(ninep::NullStat());
      d.length = bs;
      ASSERT_TRUE(f->Wstat(d).ok());
      ASSERT_TRUE(f->Write(bs, Bytes(model.substr(bs))).ok());
    }
    // Drop the unacknowledged tail so the next cycle appends to the model.
    Dir d = ninep::DirFromStat(ninep::NullStat());
    d.length = model.size();
    Status s = f->Wstat(d);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  // Every block of the replica verifies now.
  ASSERT_TRUE(CtlWrite("scrub").ok());
  EXPECT_EQ(ReadFile("bad"), "");
  RecordProperty("torn_blocks", torn);
}

// The command line keeps the conventions of every ninefold command.
TEST(ChunkdCommand, UsageAndErrors) {
  using ninep::testing::Bin;
  using ninep::testing::Sh;
  TempDir t;
  std::string cd = "'" + Bin("chunkd") + "'", err = t.path() + "/err";
  int st = -1;
  std::string out = Sh(cd + " --help", &st);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(out.rfind("usage: chunkd ", 0), 0u) << out;
  EXPECT_NE(out.find("--max-chunk SIZE"), std::string::npos) << out;
  // Usage errors: no -d, a bad size, an operand.
  for (const char* args : {"", " -d x --max-chunk 0", " -d x --max-chunk 12q", " -d x extra"}) {
    out = Sh(cd + args + " 2>" + err, &st);
    EXPECT_EQ(st, 2) << args;
    EXPECT_NE(ninep::testing::ReadFile(err).find("usage: chunkd "), std::string::npos) << args;
  }
  // A directory it cannot make: one line "chunkd: what: why", exit 1.
  out = Sh(cd + " -a 'tcp!127.0.0.1!0' -d /dev/null/store 2>" + err, &st);
  EXPECT_EQ(st, 1);
  std::string e = ninep::testing::ReadFile(err);
  EXPECT_EQ(e.rfind("chunkd: /dev/null/store", 0), 0u) << e;
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
  EXPECT_EQ(out, "");
}

INSTANTIATE_TEST_SUITE_P(Dialects, ChunkdTest,
                         ::testing::Values(Dialect::k9P2000, Dialect::k9P2000L),
                         [](const auto& info) {
                           return std::string(info.param == Dialect::k9P2000L ? "L" : "Base");
                         });

}  // namespace
