// make_corpus.cc: writes the seed corpus of the codec fuzz targets, from
// valid encodings of tests/wire/samples.h plus a few malformed frames.
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

#include "ninep/wire.h"
#include "wire/samples.h"

namespace fs = std::filesystem;
using namespace ninep;

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
  return 0;
}
