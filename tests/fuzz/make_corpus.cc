// make_corpus.cc: writes the seed corpus of the fuzz targets: for the
// codec, valid encodings of tests/wire/samples.h plus a few malformed
// frames; for the session targets, op sequences (fuzz_input.h) of typical
// sessions, flushes, version changes, escapes and hang-ups.
//
//   cmake --build BUILD --target fuzz_make_corpus
//   BUILD/bin/fuzz_make_corpus tests/fuzz/corpus
//
// Files are named NN-Type (or NN-bad-what); the output is deterministic, so
// rerunning it changes nothing unless the samples changed.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_targets.h"
#include "ninep/wire.h"
#include "wire/samples.h"

namespace fs = std::filesystem;
using namespace ninep;
using ninep::fuzz::FuzzOut;

namespace {

struct Seed {
  std::string name;
  std::vector<uint8_t> bytes;
};

std::vector<uint8_t> Enc(const Message& m, Dialect d) {
  std::vector<uint8_t> b;
  if (!Encode(m, d, &b).ok()) {
    fprintf(stderr, "make_corpus: cannot encode %s\n", FormatMessage(m).c_str());
    exit(1);
  }
  return b;
}

// The first sample of each type for which keep(type) holds.
std::vector<Seed> Valid(Dialect d, bool (*keep)(uint8_t)) {
  std::vector<Seed> v;
  std::set<uint8_t> seen;
  for (const Message& m : testing::SampleMessages(d)) {
    if (!keep(m.type()) || !seen.insert(m.type()).second) continue;
    v.push_back({std::string(MsgTypeName(m.type())), Enc(m, d)});
  }
  return v;
}

void SetSize(std::vector<uint8_t>& f, uint32_t n) {
  for (int i = 0; i < 4; i++) f[i] = static_cast<uint8_t>(n >> (8 * i));
}

std::vector<Seed> Malformed() {
  const Dialect L = Dialect::k9P2000L;
  std::vector<Seed> v;
  Twalk w{1, 2, {}};
  w.wname.push_back("usr");
  w.wname.push_back("glenda");
  std::vector<uint8_t> f = Enc({3, w}, L);
  f.resize(f.size() - 3);
  SetSize(f, static_cast<uint32_t>(f.size()));
  v.push_back({"bad-Twalk-cut", f});

  f = Enc({3, w}, L);
  f[15] = 17;  // nwname
  v.push_back({"bad-Twalk-nwname", f});

  static const uint8_t kData[] = {1, 2, 3, 4};
  f = Enc({4, Rread{kData}}, L);
  f[7] = 9;  // count
  v.push_back({"bad-Rread-count", f});

  f = Enc({5, Rstat{testing::SampleStat()}}, L);
  f[9] += 1;  // stat.size
  v.push_back({"bad-Rstat-size", f});

  f = Enc({6, Tclunk{1}}, L);
  f.push_back(0);
  SetSize(f, static_cast<uint32_t>(f.size()));
  v.push_back({"bad-Tclunk-trailing", f});

  f = Enc({6, Tclunk{1}}, L);
  f[4] = 99;
  v.push_back({"bad-type", f});

  f = Enc({7, Tversion{8192, "9P2000"}}, L);
  SetSize(f, 1000);
  v.push_back({"bad-size", f});

  f = Enc({8, Tfsync{3, 0}}, L);
  f.resize(f.size() - 4);  // valid: fid only
  SetSize(f, static_cast<uint32_t>(f.size()));
  v.push_back({"Tfsync-short", f});
  return v;
}

bool Base(uint8_t t) { return t >= kTversion || t == kRlerror; }
bool SomeDotL(uint8_t t) {
  switch (t) {
    case kTlopen:
    case kTlcreate:
    case kRgetattr:
    case kTsetattr:
    case kTreaddir:
    case kRreaddir:
    case kTlock:
    case kTgetlock:
    case kTrenameat:
    case kTxattrcreate:
      return true;
    default:
      return false;
  }
}
bool DotLOnly(uint8_t t) { return !Base(t); }

void Write(const fs::path& dir, const std::vector<Seed>& seeds) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  int i = 0;
  for (const Seed& s : seeds) {
    char n[16];
    snprintf(n, sizeof n, "%02d-", i++);
    std::ofstream(dir / (n + s.name), std::ios::binary)
        .write(reinterpret_cast<const char*>(s.bytes.data()),
               static_cast<std::streamsize>(s.bytes.size()));
  }
  printf("%s: %zu files\n", dir.c_str(), seeds.size());
}

// ---- fuzz_server_session: ops as fuzz_server_session.cc's DoOp reads them.

// Indexes into kSrvNames.
enum : uint8_t { kA, kB, kD, kE, kEscape, kAbs, kDotDot, kDot, kEmpty, kSlash, kCtl, kNew };

class SrvOps {
 public:
  SrvOps& Version(uint8_t sel, uint32_t msize = 8192) {
    Op(fuzz::kSrvVersion).U8(sel).U32(msize);
    return Tag();
  }
  SrvOps& Attach(uint8_t fid, uint8_t aname = kEmpty) {
    Op(fuzz::kSrvAttach).U8(0).U8(fid).Str("glenda").U8(aname);
    return Tag();
  }
  SrvOps& Walk(uint8_t fid, uint8_t newfid, const std::vector<uint8_t>& names) {
    Op(fuzz::kSrvWalk).U8(fid).U8(newfid).U8(static_cast<uint8_t>(names.size()));
    for (uint8_t n : names) o_.U8(n);
    return Tag();
  }
  SrvOps& Open(uint8_t fid, uint8_t mode, uint32_t lflags) {
    Op(fuzz::kSrvOpen).U8(fid).U8(mode).U32(lflags);
    return Tag();
  }
  SrvOps& Create(uint8_t fid, uint8_t name, uint32_t perm, uint8_t mode) {
    Op(fuzz::kSrvCreate).U8(fid).U8(name).U32(perm).U8(mode);
    return Tag();
  }
  SrvOps& Read(uint8_t fid, uint16_t count) {
    Op(fuzz::kSrvRead).U8(fid).U8(0).U16(count);
    return Tag();
  }
  SrvOps& Write(uint8_t fid, std::string_view data) {
    Op(fuzz::kSrvWrite).U8(fid).U8(0).U16(static_cast<uint16_t>(data.size()));
    o_.Bytes({reinterpret_cast<const uint8_t*>(data.data()), data.size()});
    return Tag();
  }
  SrvOps& Fid(fuzz::SrvOp op, uint8_t fid) {  // Tclunk, Tremove
    Op(op).U8(fid);
    return Tag();
  }
  SrvOps& Stat(uint8_t fid) {
    Op(fuzz::kSrvStat).U8(fid).U8(1);
    return Tag();
  }
  SrvOps& Readdir(uint8_t fid, uint16_t count) {
    Op(fuzz::kSrvReaddir).U8(fid).U8(0).U8(0).U16(count);
    return Tag();
  }
  SrvOps& Flush(uint8_t which) {
    Op(fuzz::kSrvFlush).U8(which);
    return Tag();
  }
  SrvOps& Wstat(uint8_t fid, uint8_t valid, uint32_t mode, uint8_t name) {
    Op(fuzz::kSrvWstat).U8(fid).U8(valid).U32(mode).U8(0).U8(name);
    return Tag();
  }
  SrvOps& Dotl(uint8_t kind, uint8_t fid, uint8_t fid2, uint8_t name, uint8_t name2,
               uint32_t mode) {
    Op(fuzz::kSrvDotl).U8(kind).U8(fid).U8(fid2).U8(name).U8(name2).U32(mode);
    return Tag();
  }
  SrvOps& Raw(uint8_t type, std::vector<uint8_t> body) {
    Op(fuzz::kSrvRaw).U8(type).U16(static_cast<uint16_t>(body.size())).Bytes(body);
    return Tag();
  }
  SrvOps& Sync() {
    Op(fuzz::kSrvSync);
    return *this;
  }
  SrvOps& Close(bool abrupt) {
    Op(fuzz::kSrvClose).U8(abrupt);
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return o_.bytes(); }

 private:
  FuzzOut& Op(uint8_t op) { return o_.U8(op); }
  SrvOps& Tag() {
    o_.U16(tag_++);
    return *this;
  }
  FuzzOut o_;
  uint16_t tag_ = 1;
};

constexpr uint8_t kVerL = 0, kVer = 1;
constexpr uint32_t kORDWR = 2, kOCREAT = 0100;

std::vector<Seed> ServerSeeds() {
  std::vector<Seed> v;
  auto add = [&](const char* name, const SrvOps& s) { v.push_back({name, s.bytes()}); };
  add("dotl-files", SrvOps()
                        .Version(kVerL)
                        .Attach(0)
                        .Walk(0, 1, {kA})
                        .Open(1, 2, kORDWR)
                        .Read(1, 100)
                        .Write(1, "more")
                        .Stat(1)
                        .Fid(fuzz::kSrvClunk, 1)
                        .Walk(0, 2, {kD})
                        .Open(2, 0, 0)
                        .Readdir(2, 200)
                        .Readdir(2, 40)
                        .Sync());
  add("base-files", SrvOps()
                        .Version(kVer)
                        .Attach(0)
                        .Walk(0, 1, {})
                        .Open(1, 0, 0)
                        .Read(1, 300)
                        .Walk(0, 2, {})
                        .Create(2, kNew, 0644, 2)
                        .Write(2, "hello")
                        .Stat(2)
                        .Wstat(2, 4, 0, kE)
                        .Fid(fuzz::kSrvRemove, 2)
                        .Sync());
  add("flushes", SrvOps()
                     .Version(kVerL)
                     .Attach(0)
                     .Walk(0, 1, {kD, kB})
                     .Open(1, 0, 0)
                     .Read(1, 10)
                     .Read(1, 20)
                     .Flush(0)
                     .Flush(1)
                     .Flush(0)
                     .Read(1, 30)
                     .Sync()
                     .Flush(200));
  add("version-again", SrvOps()
                           .Version(kVerL)
                           .Attach(0)
                           .Walk(0, 1, {kA})
                           .Open(1, 0, 0)
                           .Read(1, 64)
                           .Version(kVer, 300)
                           .Attach(0)
                           .Walk(0, 1, {kD})
                           .Version(2, 100)
                           .Attach(1)
                           .Sync());
  add("malformed", SrvOps()
                       .Version(kVerL)
                       .Attach(0)
                       .Raw(kTwalk, {0, 0, 0, 0, 1, 0, 0, 0, 9, 0})
                       .Raw(kTwalk, {0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 5, 0, 'a'})
                       .Raw(kTread, {0, 0, 0})
                       .Raw(kTversion, {0, 0x20, 0, 0, 3, 0, '9', 'P'})
                       .Raw(kTflush, {0})
                       .Raw(99, {})
                       .Raw(kRread, {1, 0, 0, 0, 'x'})
                       .Sync());
  add("escape", SrvOps()
                    .Version(kVerL)
                    .Attach(0)
                    .Walk(0, 1, {kEscape})
                    .Walk(0, 2, {kAbs})
                    .Open(2, 2, kORDWR)
                    .Write(2, "changed")
                    .Walk(0, 3, {kDotDot, kDotDot})
                    .Create(3, kNew, 0644, 2)
                    .Dotl(4, 0, 0, kB, kB, 0)
                    .Walk(0, 4, {kB})
                    .Open(4, 2, kORDWR | kOCREAT)
                    .Write(4, "through a link")
                    .Dotl(2, 0, 0, kEscape, kNew, 0)
                    .Attach(5, 0xFF)
                    .Sync());
  add("closes", SrvOps()
                    .Version(kVerL)
                    .Attach(0)
                    .Walk(0, 1, {kA})
                    .Open(1, 0x40, 2)
                    .Read(1, 5)
                    .Close(true)
                    .Version(kVer)
                    .Attach(0)
                    .Read(0, 5)
                    .Close(false)
                    .Version(kVerL)
                    .Attach(2, kD));
  add("dotl-tree", SrvOps()
                       .Version(kVerL)
                       .Attach(0)
                       .Dotl(0, 0, 0, kE, kE, 0755)
                       .Walk(0, 1, {kE})
                       .Dotl(7, 1, 0, kNew, kNew, 0644)
                       .Dotl(5, 1, 0, kB, kB, 0)
                       .Dotl(2, 1, 0, kNew, kB, 0)
                       .Dotl(6, 0, 0, kA, kA, 0)
                       .Dotl(8, 1, 0, kA, kA, 0)
                       .Dotl(1, 1, 0, kB, kB, 0)
                       .Dotl(3, 1, 0, kA, kA, 0)
                       .Sync());
  add("ctl",
      SrvOps().Version(kVer).Attach(0, kCtl).Walk(0, 1, {}).Open(1, 0, 0).Read(1, 2000).Sync());
  return v;
}

// ---- fuzz_client_replies: ops as fuzz_client_replies.cc reads them.

class CliOps {
 public:
  // The version exchange: options, then a proper Rversion.
  explicit CliOps(bool dotl) { o_.U8(dotl).U16(8192).U8(0).U8(0); }
  CliOps& Call(uint8_t kind, std::vector<uint8_t> fields) {
    o_.U8(fuzz::kCliCall).U8(kind).Bytes(fields);
    return *this;
  }
  CliOps& Blocking(uint8_t kind, uint8_t depth, uint16_t size) {
    o_.U8(fuzz::kCliBlocking).U8(kind).U8(depth).U16(size);
    return *this;
  }
  CliOps& Cancel(uint8_t which) {
    o_.U8(fuzz::kCliCancel).U8(which);
    return *this;
  }
  // A reply: which request, how, then the fields of the answer.
  CliOps& Reply(uint8_t which, uint8_t how, std::vector<uint8_t> fields) {
    o_.U8(fuzz::kCliReply).U8(which).U8(how).Bytes(fields);
    return *this;
  }
  CliOps& Raw(std::vector<uint8_t> b) {
    o_.U8(fuzz::kCliRaw).U8(static_cast<uint8_t>(b.size())).Bytes(b);
    return *this;
  }
  CliOps& Close(bool abrupt) {
    o_.U8(fuzz::kCliClose).U8(abrupt);
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return o_.bytes(); }

 private:
  FuzzOut o_;
};

std::vector<Seed> ClientSeeds() {
  std::vector<Seed> v;
  auto add = [&](const char* name, const CliOps& s) { v.push_back({name, s.bytes()}); };
  const std::vector<uint8_t> qid = {0x80, 0, 1}, fqid = {0, 0, 2};
  std::vector<uint8_t> walk1 = {1, 0, 0, 3};  // nwqid 1, a file
  add("readdir", CliOps(true)
                     .Blocking(0, 1, 0)
                     .Reply(0, 0, qid)
                     .Reply(0, 0, walk1)
                     .Reply(0, 0, {0x80, 0, 3, 0, 0x20, 0, 0, 0})
                     .Reply(0, 0, {0, 2, 0x80, 0, 4, 1, 4, 1, 'x', 0, 0, 5, 2, 8, 1, 'y'})
                     .Reply(0, 0, {1, 0, 0})
                     .Reply(0, 0, {}));
  add("read-base", CliOps(false)
                       .Blocking(1, 1, 3000)
                       .Reply(0, 0, qid)
                       .Reply(0, 0, walk1)
                       .Reply(0, 0, {0, 0, 3, 0, 0, 0, 0})
                       .Reply(0, 0, {1, 0x10, 0, 0, 'a', 'b', 'c', 'd'})
                       .Reply(0, 0, {1, 0, 0, 0}));
  add("async-calls", CliOps(true)
                         .Call(0, {0})
                         .Call(4, {1, 7, 100, 0})
                         .Call(7, {2})
                         .Call(9, {3, 0, 2})
                         .Cancel(1)
                         .Reply(0, 0, qid)
                         .Reply(0, 3, {5, 'e', 'r', 'r', 'o', 'r'})
                         .Reply(0, 4, {2, 0, 0, 0})
                         .Reply(0, 5, {1})
                         .Reply(0, 0, {})
                         .Reply(0, 9, {}));
  add("bad-frames", CliOps(true)
                        .Call(4, {1, 0, 100, 0})
                        .Call(7, {1})
                        .Call(1, {0, 1, 3})
                        .Reply(0, 7, {0x10, 0, 0, 1})
                        .Reply(0, 6, {0x34, 0x12})
                        .Reply(0, 8, {3})
                        .Raw({9, 0, 0, 0, 117, 0, 0, 0xFF, 0xFF}));
  add("write-close", CliOps(false)
                         .Blocking(2, 20, 20000)
                         .Reply(0, 0, qid)
                         .Reply(0, 0, {16, 0x80, 0, 1, 0x80, 0, 2, 0x80, 0, 3, 0x80, 0, 4})
                         .Reply(0, 0, {4})
                         .Close(false));
  add("stat-hangup",
      CliOps(true).Blocking(3, 0, 0).Call(10, {0}).Reply(0, 0, qid).Reply(0, 0, {}).Close(true));
  FuzzOut j;  // a stray Rversion first, then an Rerror
  j.U8(1).U16(100).U8(4).U8(0).U8(5).U8(3).Bytes(std::vector<uint8_t>{'b', 'a', 'd'});
  v.push_back({"version-junk", j.bytes()});
  FuzzOut o;
  o.U8(1).U16(100).U8(4).U8(7).U8(6).U8(0);
  v.push_back({"version-wrong", o.bytes()});
  FuzzOut o2;
  o2.U8(0).U16(0).U8(0).U8(1).U32(100);
  v.push_back({"version-tiny-msize", o2.bytes()});
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: fuzz_make_corpus CORPUSDIR\n");
    return 2;
  }
  const fs::path root = argv[1];
  const Dialect L = Dialect::k9P2000L;

  // fuzz_decode: every 9P2000 type, ten 9P2000.L ones, the malformed set.
  std::vector<Seed> dec = Valid(Dialect::k9P2000, Base);
  for (Seed& s : Valid(L, SomeDotL)) dec.push_back(std::move(s));
  for (Seed& s : Malformed()) dec.push_back(std::move(s));
  Write(root / "fuzz_decode", dec);

  // fuzz_roundtrip: every 9P2000.L-only type with a body, and every sample
  // of the richest 9P2000 ones.
  std::vector<Seed> rt;
  for (Seed& s : Valid(L, DotLOnly))
    if (s.bytes.size() > HDRSZ) rt.push_back(std::move(s));
  for (const Message& m : testing::SampleMessages(L)) {
    const uint8_t t = m.type();
    if (t == kTwalk || t == kRwalk || t == kRstat || t == kTwstat || t == kTattach || t == kRread)
      rt.push_back({std::string(MsgTypeName(t)), Enc(m, L)});
  }
  Write(root / "fuzz_roundtrip", rt);

  Write(root / "fuzz_server_session", ServerSeeds());
  Write(root / "fuzz_client_replies", ClientSeeds());

  std::vector<Seed> wal;
  for (auto& [name, bytes] : fuzz::StoreWalSeeds())
    wal.push_back({name, std::vector<uint8_t>(bytes.begin(), bytes.end())});
  Write(root / "fuzz_storewal", wal);
  return 0;
}
