// crc.h: CRC32C (Castagnoli), the checksum of every stored block in the
// store (chunk replicas in chunkd, records of storefs's metadata log).
// Computed by ISA-L (crc32_iscsi), which uses the SSE4.2 crc32 instruction
// or PCLMUL folding where the CPU has them, so checksumming is not a
// bottleneck next to the disk.
// Thread-safety: pure functions; safe from any thread.
#ifndef STORE_CRC_H_
#define STORE_CRC_H_

#include <cstddef>
#include <cstdint>

namespace store {

// CRC32C (Castagnoli) of buf, continuing from crc (0 to start), via ISA-L.
// The result is the standard CRC32C (Crc32c("123456789", 9) == 0xE3069283),
// and chains: Crc32c(b, m, Crc32c(a, n)) == Crc32c of a followed by b.
uint32_t Crc32c(const void* buf, size_t len, uint32_t crc = 0);

inline constexpr size_t kBlockSize = 64 * 1024;  // one CRC per block

}  // namespace store

#endif  // STORE_CRC_H_
