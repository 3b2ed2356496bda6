// crc.cc: CRC32C through ISA-L.
#include "crc.h"

#include <isa-l/crc.h>

namespace store {

uint32_t Crc32c(const void* buf, size_t len, uint32_t crc) {
  // ISA-L's crc32_iscsi takes and returns the raw register: it neither
  // presets it to ~0 nor inverts the result. The standard CRC32C does both,
  // so invert on the way in and out; that also makes a running value
  // chainable, since ~~r == r.
  // Its length is an int, so feed a huge buffer in pieces.
  auto* p = static_cast<unsigned char*>(const_cast<void*>(buf));
  unsigned int r = ~crc;
  while (len > 0) {
    size_t n = len < (size_t{1} << 30) ? len : (size_t{1} << 30);
    r = crc32_iscsi(p, static_cast<int>(n), r);
    p += n;
    len -= n;
  }
  return ~r;
}

}  // namespace store
