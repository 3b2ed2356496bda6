// fuzz_targets.cc: the codec fuzz targets (see fuzz_targets.h). Any broken
// invariant goes to the failure handler; memory errors are left to ASan.
#include "fuzz_targets.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "ninep/wire.h"

namespace ninep::fuzz {
namespace {

void DefaultFailure(const char* what) {
  fprintf(stderr, "fuzz invariant broken: %s\n", what);
  abort();
}

void (*g_failure)(const char*) = DefaultFailure;

// Reports and returns false when !ok.
bool Check(bool ok, const char* what) {
  if (!ok) g_failure(what);
  return ok;
}

// The input as it is, and as "type byte + body" under a header with the
// right size (so the fuzzer need not find the size field to reach bodies).
std::vector<std::vector<uint8_t>> Frames(const uint8_t* data, size_t size) {
  std::vector<std::vector<uint8_t>> f;
  f.emplace_back(data, data + size);
  if (size >= 1) {
    const uint32_t n = static_cast<uint32_t>(HDRSZ + size - 1);
    std::vector<uint8_t> g = {static_cast<uint8_t>(n),
                              static_cast<uint8_t>(n >> 8),
                              static_cast<uint8_t>(n >> 16),
                              static_cast<uint8_t>(n >> 24),
                              data[0],
                              0x12,
                              0x34};
    g.insert(g.end(), data + 1, data + size);
    f.push_back(std::move(g));
  }
  return f;
}

// Walks a 9P2000 directory payload; every entry must lie inside it.
void WalkStats(std::span<const uint8_t> d) {
  StatReader r(d);
  Stat s;
  size_t bytes = 0;
  while (r.Next(&s)) bytes += StatSize(s);
  Check(bytes <= d.size(), "StatReader yielded more bytes than it was given");
  Check(r.error().ok() == (bytes == d.size()), "StatReader error disagrees with what it read");
  Check(r.error().ok() || r.error().err() == EBADMSG, "StatReader error is not EBADMSG");
}

void WalkDirents(std::span<const uint8_t> d) {
  DirentReader r(d);
  Dirent e;
  size_t bytes = 0;
  while (r.Next(&e)) bytes += DirentSize(e.name);
  Check(bytes <= d.size(), "DirentReader yielded more bytes than it was given");
  Check(r.error().ok() == (bytes == d.size()), "DirentReader error disagrees with what it read");
}

bool ShortTfsync(const Message& m, size_t frame_size) {
  return m.type() == kTfsync && frame_size == HDRSZ + 4;
}

void DecodeOne(std::span<const uint8_t> frame, Dialect d) {
  Message m;
  Status s = Decode(frame, d, &m);
  if (!s.ok()) {
    Check(s.err() == EBADMSG || s.err() == EPROTO, "decode error is not EBADMSG/EPROTO");
    Check(!s.message().empty(), "decode error without a reason");
    return;
  }
  Check(frame.size() >= HDRSZ && frame[4] == m.type(), "decoded type differs from the frame's");
  if (d == Dialect::k9P2000)
    Check(m.type() >= kTversion || m.type() == kRlerror, "9P2000.L message decoded in 9P2000");
  const size_t want = frame.size() + (ShortTfsync(m, frame.size()) ? 4 : 0);
  Check(EncodedSize(m, d) == want, "EncodedSize differs from the decoded frame's size");
  std::string line = FormatMessage(m);
  Check(line.find('\n') == std::string::npos, "trace line holds a newline");
  if (const auto* r = std::get_if<Rread>(&m.body)) {
    WalkStats(r->data);
    WalkDirents(r->data);
  } else if (const auto* rd = std::get_if<Rreaddir>(&m.body)) {
    WalkDirents(rd->data);
  } else if (const auto* w = std::get_if<Twrite>(&m.body)) {
    WalkStats(w->data);
  }
}

void RoundtripOne(std::span<const uint8_t> frame, Dialect d) {
  Message m;
  if (!Decode(frame, d, &m).ok()) return;
  std::vector<uint8_t> out;
  Status s = Encode(m, d, &out);
  if (!Check(s.ok(), "a decoded message does not encode")) return;
  if (!Check(out.size() == EncodedSize(m, d), "EncodedSize differs from Encode's bytes")) return;
  Message m2;
  s = Decode(out, d, &m2);
  if (!Check(s.ok(), "a re-encoded message does not decode")) return;
  Check(m2 == m, "decode(encode(m)) != m");
  if (!ShortTfsync(m, frame.size()))
    Check(std::equal(out.begin(), out.end(), frame.begin(), frame.end()),
          "re-encoding changed the bytes");
}

}  // namespace

void ReportFailure(const char* what) { g_failure(what); }

const std::string& FuzzScratchDir(const char* name) {
  static std::map<std::string, std::string> dirs;  // the replay test runs several targets
  auto [it, fresh] = dirs.emplace(name, "");
  if (fresh) {
    const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string t = std::string(base) + "/" + name + ".XXXXXX";
    if (!mkdtemp(t.data())) ReportFailure("mkdtemp failed");
    it->second = t;
  }
  return it->second;
}

void SetFuzzFailureHandler(void (*handler)(const char* what)) {
  g_failure = handler != nullptr ? handler : DefaultFailure;
}

int FuzzDecode(const uint8_t* data, size_t size) {
  for (const std::vector<uint8_t>& f : Frames(data, size)) {
    DecodeOne(f, Dialect::k9P2000);
    DecodeOne(f, Dialect::k9P2000L);
  }
  std::span<const uint8_t> in(data, size);
  WalkStats(in);
  WalkDirents(in);
  return 0;
}

int FuzzRoundtrip(const uint8_t* data, size_t size) {
  for (const std::vector<uint8_t>& f : Frames(data, size)) {
    RoundtripOne(f, Dialect::k9P2000);
    RoundtripOne(f, Dialect::k9P2000L);
  }
  return 0;
}

}  // namespace ninep::fuzz
