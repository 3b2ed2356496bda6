// format.cc: replica header and CRC table coding.
#include "format.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

namespace chunkd {

using ninep::Result;
using ninep::Status;

namespace {

void Put64(std::string* s, uint64_t v) {
  for (int i = 0; i < 8; i++) s->push_back(static_cast<char>(v >> (8 * i)));
}
void Put32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; i++) s->push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t Get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
uint32_t Get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

}  // namespace

std::string EncodeHeader(const Header& h) {
  std::string s(kMagic, 8);
  Put64(&s, h.id);
  Put64(&s, h.version);
  Put64(&s, h.length);
  Put64(&s, h.seq);
  Put32(&s, h.max_blocks);
  Put32(&s, 0);
  Put32(&s, store::Crc32c(s.data(), s.size()));
  return s;
}

Result<Header> DecodeHeader(std::span<const uint8_t> slot) {
  if (slot.size() < kHeaderBytes) return Status(EBADMSG, "header too short");
  const uint8_t* p = slot.data();
  if (memcmp(p, kMagic, 8) != 0) return Status(EBADMSG, "bad header magic");
  if (store::Crc32c(p, kHeaderBytes - 4) != Get32(p + kHeaderBytes - 4))
    return Status(EBADMSG, "header checksum mismatch");
  Header h;
  h.id = Get64(p + 8);
  h.version = Get64(p + 16);
  h.length = Get64(p + 24);
  h.seq = Get64(p + 32);
  h.max_blocks = Get32(p + 40);
  if (h.version == 0) return Status(EBADMSG, "header version 0");
  if (h.max_blocks == 0 || h.max_blocks > kMaxBlocksLimit)
    return Status(EBADMSG, "header block count out of range");
  if (h.length > uint64_t{h.max_blocks} * kBlockSize)
    return Status(EBADMSG, "header length past the last block");
  return h;
}

Result<Header> PickHeader(std::span<const uint8_t> head, uint64_t want_id, int* slot) {
  std::optional<Header> best;
  for (int i = 0; i < 2; i++) {
    uint64_t off = kSlotOffset[i];
    if (head.size() < off + kHeaderBytes) continue;
    auto h = DecodeHeader(head.subspan(off, kHeaderBytes));
    if (!h.ok() || h->id != want_id) continue;
    if (!best || h->seq > best->seq) {
      best = *h;
      if (slot) *slot = i;
    }
  }
  if (!best) return Status(EBADMSG, "torn header");
  return *best;
}

uint64_t CrcTableBytes(uint32_t max_blocks) {
  return (uint64_t{max_blocks} * 8 + 4095) / 4096 * 4096;
}

uint64_t DataOffset(uint32_t max_blocks) { return kCrcTableOffset + CrcTableBytes(max_blocks); }

std::string EncodeCrcs(std::span<const BlockCrc> crcs) {
  std::string s;
  s.reserve(crcs.size() * 8);
  for (const BlockCrc& c : crcs) {
    Put32(&s, c.cur);
    Put32(&s, c.prev);
  }
  return s;
}

Result<std::vector<BlockCrc>> DecodeCrcs(std::span<const uint8_t> bytes) {
  if (bytes.size() % 8 != 0) return Status(EBADMSG, "CRC table size not a multiple of 8");
  std::vector<BlockCrc> out(bytes.size() / 8);
  for (size_t i = 0; i < out.size(); i++) {
    out[i].cur = Get32(bytes.data() + 8 * i);
    out[i].prev = Get32(bytes.data() + 8 * i + 4);
  }
  return out;
}

uint32_t ZeroBlockCrc() {
  static const uint32_t z = [] {
    std::string zeros(kBlockSize, '\0');
    return store::Crc32c(zeros.data(), zeros.size());
  }();
  return z;
}

std::string IdName(uint64_t id) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(id));
  return buf;
}

bool ParseId(std::string_view s, uint64_t* id) {
  if (s.size() != 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *id = v;
  return true;
}

bool ParseReplicaName(std::string_view s, uint64_t* id, uint64_t* version) {
  if (s.size() < 18 || s[16] != '.' || !ParseId(s.substr(0, 16), id)) return false;
  std::string_view v = s.substr(17);
  if (v.empty() || v.size() > 20 || v[0] == '0') return false;
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return false;
    n = n * 10 + d;
  }
  *version = n;
  return true;
}

}  // namespace chunkd
