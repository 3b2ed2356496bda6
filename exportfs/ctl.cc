// ctl.cc: see ctl.h. The statistics files are text files: each open takes
// a snapshot of Server::stats(), so one read sees consistent numbers.
#include "exportfs/ctl.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace exportfs {

using ninep::ReadReq;
using ninep::SynthFid;
using ninep::SynthFile;
using ninep::SynthTree;

namespace {

constexpr const char* kVersion = "exportfs ninefold 0.1 9P2000 9P2000.L\n";

std::string Connections(const ninep::ServerStats& s) {
  return "open " + std::to_string(s.connections.load()) + "\ntotal " +
         std::to_string(s.connections_total.load()) + "\n";
}

std::string Bytes(const ninep::ServerStats& s) {
  return "in " + std::to_string(s.bytes_in.load()) + "\nout " + std::to_string(s.bytes_out.load()) +
         "\n";
}

// One line per T-message type seen: name, count, errors, mean latency,
// and how many are in flight now (received, not yet answered).
std::string Ops(const ninep::ServerStats& s) {
  std::string out;
  char line[160];
  for (int t = 0; t < 256; t++) {
    uint64_t n = s.count[t].load();
    if (n == 0) continue;
    uint64_t lat = s.latency_us[t].load();
    std::string name(ninep::MsgTypeName(static_cast<uint8_t>(t)));
    snprintf(line, sizeof line, "%-12s count %llu errors %llu mean_us %.1f pending %llu\n",
             name.c_str(), static_cast<unsigned long long>(n),
             static_cast<unsigned long long>(s.errors[t].load()),
             static_cast<double>(lat) / static_cast<double>(n),
             static_cast<unsigned long long>(s.pending[t].load()));
    out += line;
  }
  return out;
}

}  // namespace

std::unique_ptr<SynthTree> MakeCtlTree() {
  auto t = std::make_unique<SynthTree>("exportfs", 0555);
  SynthTree* tp = t.get();
  const auto& root = t->root();

  SynthFile zero;
  zero.read = [](ReadReq r, SynthFid&) {
    memset(r.buf.data(), 0, r.buf.size());
    uint32_t n = static_cast<uint32_t>(r.buf.size());
    r.Respond(n);
  };
  // Distinct names in a fresh tree: an Add that failed would be a bug here,
  // and value() aborts naming it.
  t->AddFile(root, "zero", 0444, std::move(zero)).value();
  t->AddFile(root, "null", 0666,
             SynthFile::Ctl([] { return std::string(); },
                            [](std::string_view, SynthFid&) { return ninep::Status(); }))
      .value();
  t->AddText(root, "version", 0444, [] { return std::string(kVersion); }).value();
  // Before Started there is no Server: the files then read empty.
  auto stat_file = [tp](std::string (*fn)(const ninep::ServerStats&)) {
    return [tp, fn] { return tp->server() ? fn(tp->server()->stats()) : std::string(); };
  };
  t->AddText(root, "connections", 0444, stat_file(Connections)).value();
  t->AddText(root, "bytes", 0444, stat_file(Bytes)).value();
  t->AddText(root, "ops", 0444, stat_file(Ops)).value();
  return t;
}

}  // namespace exportfs
