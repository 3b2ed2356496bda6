// format.h: the on-disk format of one chunk replica (DIR/chunks/ID), its
// constants, and the pure encoders and decoders of its header and CRC
// table. The prose spec is in man4/chunkd.4 ("ON-DISK FORMAT"):
//
//   offset 0      header slot 0 (kHeaderBytes, little-endian)
//   offset 512    header slot 1
//   offset 4096   CRC table: max_blocks entries of {cur, prev} (2 x u32 LE),
//                 padded to a multiple of 4096
//   DataOffset()  data: block N at DataOffset() + N * kBlockSize
//
// A header slot is magic "NFCHUNK1", id, version, length, seq (u64 each),
// max_blocks (u32), reserved (u32, 0), CRC32C of the preceding 48 bytes.
// The valid slot with the higher seq is the header; an update writes the
// other slot, so a torn header write leaves the previous header readable.
// A block's CRC covers its whole 64 KiB as the replica sees it (bytes past
// `length` count as zeros); a block matches when its CRC equals `cur` or
// `prev` (prev is the last durable content, which a crash between the data
// and the table write may have left on disk).
// Decoders read only the bytes they are given; a short or corrupt input is
// an error, never a crash. Thread-safety: pure functions.
#ifndef CHUNKD_FORMAT_H_
#define CHUNKD_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ninep/status.h"
#include "storelib/crc.h"

namespace chunkd {

inline constexpr char kMagic[9] = "NFCHUNK1";
inline constexpr size_t kHeaderBytes = 52;
inline constexpr uint64_t kSlotOffset[2] = {0, 512};
inline constexpr uint64_t kCrcTableOffset = 4096;
inline constexpr uint64_t kBlockSize = store::kBlockSize;
// A replica holds at most this many blocks (64 GiB), whatever --max-chunk
// says, so a corrupt header cannot make us allocate a huge table.
inline constexpr uint32_t kMaxBlocksLimit = 1u << 20;

// One header slot's content.
struct Header {
  uint64_t id = 0;
  uint64_t version = 0;  // >= 1
  uint64_t length = 0;   // bytes of data; <= max_blocks * kBlockSize
  uint64_t seq = 0;      // which slot is newer
  uint32_t max_blocks = 0;
  bool operator==(const Header&) const = default;
};

// The CRCs of one block: the current content's, and the previous durable one's.
struct BlockCrc {
  uint32_t cur = 0, prev = 0;
};

// Encodes h into kHeaderBytes bytes, CRC included.
std::string EncodeHeader(const Header& h);
// Decodes one slot: EBADMSG when the magic, the CRC or a field is wrong
// (version 0, max_blocks 0 or above kMaxBlocksLimit, length past the end).
ninep::Result<Header> DecodeHeader(std::span<const uint8_t> slot);
// The header of a replica from the first kCrcTableOffset bytes of its file
// (fewer when the file is short): the valid slot with the higher seq whose
// id is want_id; *slot (when given) says which. EBADMSG "torn header" when
// neither slot is valid.
ninep::Result<Header> PickHeader(std::span<const uint8_t> head, uint64_t want_id,
                                 int* slot = nullptr);

// Bytes of the CRC table of a replica with max_blocks blocks (4 KiB aligned).
uint64_t CrcTableBytes(uint32_t max_blocks);
// Where block 0's data starts.
uint64_t DataOffset(uint32_t max_blocks);
// Encodes entries into 8 bytes each.
std::string EncodeCrcs(std::span<const BlockCrc> crcs);
// Decodes bytes.size() / 8 entries; EBADMSG when the size is not a multiple of 8.
ninep::Result<std::vector<BlockCrc>> DecodeCrcs(std::span<const uint8_t> bytes);

// CRC32C of a block of kBlockSize zeros: the CRC of every hole.
uint32_t ZeroBlockCrc();

// "%016x": a chunk id as the tree and the disk name it.
std::string IdName(uint64_t id);
// Parses 16 lowercase hex digits; false otherwise.
bool ParseId(std::string_view s, uint64_t* id);
// Parses "ID.VERSION" (VERSION decimal, >= 1, no leading zeros or signs).
bool ParseReplicaName(std::string_view s, uint64_t* id, uint64_t* version);

}  // namespace chunkd

#endif  // CHUNKD_FORMAT_H_
