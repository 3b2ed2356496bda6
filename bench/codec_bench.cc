// codec_bench.cc: encode and decode rates of the 9P codec (Google
// Benchmark), for the messages on every request's path: Twalk (3 names),
// Tread, Rread (8 KiB and 512 KiB), Rstat, Rreaddir (~100 entries).
// Encoding reuses one output buffer, as a connection does; decoding reuses
// one Message. Bytes/s counts whole frames.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>
#include <vector>

#include "ninep/wire.h"

namespace ninep {
namespace {

constexpr Dialect kL = Dialect::k9P2000L;

Message WalkMsg() {
  Twalk w{1, 2, {}};
  w.wname.push_back("usr");
  w.wname.push_back("glenda");
  w.wname.push_back("lib");
  return {3, w};
}

const std::vector<uint8_t>& Payload(size_t n) {
  static std::vector<uint8_t> p;
  if (p.size() < n) {
    p.resize(n);
    for (size_t i = 0; i < n; i++) p[i] = static_cast<uint8_t>(i * 31);
  }
  return p;
}

Message RstatMsg() {
  return {5, Rstat{Stat{0, 0, Qid{QTFILE, 12, 0x1234567}, 0644, 1700000000, 1700000001, 8192,
                        "profile", "glenda", "glenda", "glenda"}}};
}

// ~100 dirents with names like a real directory's, packed once.
const std::vector<uint8_t>& Dirents() {
  static const std::vector<uint8_t> d = [] {
    std::vector<uint8_t> v;
    std::vector<std::string> names;
    for (int i = 0; i < 100; i++) {
      char n[32];
      snprintf(n, sizeof n, "file-%03d.txt", i);
      names.emplace_back(n);
    }
    for (size_t i = 0; i < names.size(); i++)
      PutDirent({Qid{QTFILE, 0, 1000 + i}, i + 1, 8, names[i]}, &v);
    return v;
  }();
  return d;
}

void EncodeLoop(benchmark::State& state, const Message& m) {
  std::vector<uint8_t> buf;
  size_t frame = 0;
  for (auto _ : state) {
    buf.clear();
    Status s = Encode(m, kL, &buf);
    if (!s.ok()) state.SkipWithError(s.message().c_str());
    frame = buf.size();
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * frame));
}

void DecodeLoop(benchmark::State& state, const Message& m) {
  std::vector<uint8_t> buf;
  if (!Encode(m, kL, &buf).ok()) state.SkipWithError("encode");
  Message out;
  for (auto _ : state) {
    Status s = Decode(buf, kL, &out);
    benchmark::DoNotOptimize(s);
    benchmark::DoNotOptimize(out);
  }
  if (!(out == m)) state.SkipWithError("decoded message differs");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}

void BM_EncodeTwalk(benchmark::State& s) { EncodeLoop(s, WalkMsg()); }
void BM_DecodeTwalk(benchmark::State& s) { DecodeLoop(s, WalkMsg()); }
void BM_EncodeTread(benchmark::State& s) { EncodeLoop(s, {4, Tread{1, 65536, 8168}}); }
void BM_DecodeTread(benchmark::State& s) { DecodeLoop(s, {4, Tread{1, 65536, 8168}}); }
void BM_EncodeRread(benchmark::State& s) {
  const size_t n = static_cast<size_t>(s.range(0));
  EncodeLoop(s, {4, Rread{std::span(Payload(n)).first(n)}});
}
void BM_DecodeRread(benchmark::State& s) {
  const size_t n = static_cast<size_t>(s.range(0));
  DecodeLoop(s, {4, Rread{std::span(Payload(n)).first(n)}});
}
void BM_EncodeRstat(benchmark::State& s) { EncodeLoop(s, RstatMsg()); }
void BM_DecodeRstat(benchmark::State& s) { DecodeLoop(s, RstatMsg()); }
void BM_EncodeRreaddir(benchmark::State& s) { EncodeLoop(s, {6, Rreaddir{Dirents()}}); }
void BM_DecodeRreaddir(benchmark::State& s) { DecodeLoop(s, {6, Rreaddir{Dirents()}}); }

// Building a readdir payload entry by entry, as a server does.
void BM_PutDirents(benchmark::State& state) {
  std::vector<uint8_t> buf;
  for (auto _ : state) {
    buf.clear();
    for (uint64_t i = 0; i < 100; i++)
      PutDirent({Qid{QTFILE, 0, i}, i + 1, 8, "file-042.txt"}, &buf);
    benchmark::DoNotOptimize(buf.data());
  }
  state.SetItemsProcessed(state.iterations() * 100);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * buf.size()));
}

// Reading every entry of the payload, as a client does.
void BM_DirentReader(benchmark::State& state) {
  const std::vector<uint8_t>& d = Dirents();
  size_t n = 0;
  for (auto _ : state) {
    DirentReader r(d);
    Dirent e;
    n = 0;
    while (r.Next(&e)) n++;
    benchmark::DoNotOptimize(e);
  }
  if (n != 100) state.SkipWithError("wrong entry count");
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.size()));
}

BENCHMARK(BM_EncodeTwalk);
BENCHMARK(BM_DecodeTwalk);
BENCHMARK(BM_EncodeTread);
BENCHMARK(BM_DecodeTread);
BENCHMARK(BM_EncodeRread)->Arg(8 << 10)->Arg(512 << 10);
BENCHMARK(BM_DecodeRread)->Arg(8 << 10)->Arg(512 << 10);
BENCHMARK(BM_EncodeRstat);
BENCHMARK(BM_DecodeRstat);
BENCHMARK(BM_EncodeRreaddir);
BENCHMARK(BM_DecodeRreaddir);
BENCHMARK(BM_PutDirents);
BENCHMARK(BM_DirentReader);

}  // namespace
}  // namespace ninep

BENCHMARK_MAIN();
