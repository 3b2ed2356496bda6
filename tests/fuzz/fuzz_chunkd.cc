// fuzz_chunkd.cc: FuzzChunkd, the fuzz target of chunkd's parsers of
// untrusted bytes: a replica file from a disk that may have rotted (the
// header slots, the CRC table, then reads, writes, truncation and
// verification over whatever opened), the ctl language, and replica names.
// Invariants: whatever decodes encodes back to the same bytes; a parsed
// name prints back as given; a replica that opens never returns more bytes
// than its length, and never data from a block that fails its CRC.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "chunkd/ctl.h"
#include "chunkd/format.h"
#include "chunkd/replica.h"
#include "fuzz_targets.h"

namespace ninep::fuzz {
namespace {

const std::string& Dir() { return FuzzScratchDir("fuzz_chunkd"); }

void Codecs(std::span<const uint8_t> in) {
  // Each header slot position, as the disk may hold it.
  for (uint64_t off : chunkd::kSlotOffset) {
    if (in.size() < off + chunkd::kHeaderBytes) continue;
    auto h = chunkd::DecodeHeader(in.subspan(off, chunkd::kHeaderBytes));
    if (!h.ok()) continue;
    std::string enc = chunkd::EncodeHeader(*h);
    if (memcmp(enc.data(), in.data() + off, enc.size()) != 0)
      ReportFailure("header does not encode back to its bytes");
    if (h->length > uint64_t{h->max_blocks} * chunkd::kBlockSize)
      ReportFailure("decoded header has its length past its blocks");
  }
  auto crcs = chunkd::DecodeCrcs(in);
  if (crcs.ok() && chunkd::EncodeCrcs(*crcs) != std::string(in.begin(), in.end()))
    ReportFailure("CRC table does not encode back to its bytes");
  std::string_view text(reinterpret_cast<const char*>(in.data()), in.size());
  auto cmds = chunkd::ParseCtl(text);
  if (cmds.ok() && cmds->empty()) ReportFailure("ctl parsed to no command");
  if (!cmds.ok() && cmds.status().err() != EINVAL) ReportFailure("ctl error is not EINVAL");
  uint64_t id, v;
  if (chunkd::ParseReplicaName(text, &id, &v) &&
      chunkd::IdName(id) + "." + std::to_string(v) != text)
    ReportFailure("replica name does not print back as given");
}

void ReplicaFile(std::span<const uint8_t> in) {
  if (in.size() < 16) return;
  // The id the file is named after is the one in slot 0, so valid headers open.
  uint64_t id = 0;
  for (int i = 7; i >= 0; i--) id = (id << 8) | in[8 + i];
  std::string path = Dir() + "/" + chunkd::IdName(id);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ReportFailure("cannot write the replica file");
  bool ok = write(fd, in.data(), in.size()) == static_cast<ssize_t>(in.size());
  close(fd);
  if (!ok) return ReportFailure("short write of the replica file");
  auto r = chunkd::Replica::Open(path, id);
  if (r.ok()) {
    chunkd::Replica& rep = **r;
    chunkd::ReplicaInfo info = rep.Info();
    std::vector<uint8_t> buf(3 * chunkd::kBlockSize + 7);
    int64_t bad = -1;
    auto n = rep.Read(info.version, 5, buf, &bad);
    if (n.ok() && *n > (info.length > 5 ? info.length - 5 : 0))
      ReportFailure("read past the replica's length");
    if (!n.ok() && n.status().err() == EIO && bad < 0) ReportFailure("EIO without a bad block");
    if (n.ok() && bad >= 0) ReportFailure("data served from a bad block");
    if (info.length <= (4u << 20)) rep.Verify(&bad).IgnoreError();  // any answer will do
    // Mutations must keep the replica readable wherever they succeed.
    uint8_t w[100];
    memset(w, 'w', sizeof w);
    auto wn = rep.Write(info.version, in.size() % 200000, w, &bad);
    if (wn.ok()) {
      uint8_t back[100];
      auto rn = rep.Read(info.version, in.size() % 200000, back, &bad);
      if (!rn.ok() || *rn != 100 || memcmp(back, w, 100) != 0)
        ReportFailure("a successful write does not read back");
    }
    rep.Truncate(info.version, info.length / 2, &bad).IgnoreError();  // any answer will do
    if (rep.Info().version != info.version) ReportFailure("version changed by I/O");
  }
  unlink(path.c_str());
}

}  // namespace

int FuzzChunkd(const uint8_t* data, size_t size) {
  std::span<const uint8_t> in(data, size);
  Codecs(in);
  ReplicaFile(in);
  return 0;
}

}  // namespace ninep::fuzz
