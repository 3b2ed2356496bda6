// dir.h: Dir, the owning description of a file, and the conversions between
// 9P2000 stat entries, 9P2000.L getattr replies and Unix modes.
//
// A server answers Tstat/Tgetattr/readdir with a Dir; a client gets one back
// from either dialect. Thread-safety: plain values and pure functions.
#ifndef NINEP_DIR_H_
#define NINEP_DIR_H_

#include <cstdint>
#include <string>

#include "ninep/wire.h"

namespace ninep {

// Everything known about a file. The 9P2000 fields are always meaningful.
// The 9P2000.L fields (the `l` member) are meaningful when `l.valid` has
// bits set; when it is 0 they are derived from the 9P2000 fields (see
// ToGetattr).
struct Dir {
  uint16_t type = 0;
  uint32_t dev = 0;
  Qid qid;
  uint32_t mode = 0;  // DM* bits | permission bits (0777)
  uint32_t atime = 0, mtime = 0;
  uint64_t length = 0;
  std::string name, uid, gid, muid;
  Rgetattr l;  // 9P2000.L detail (l.valid == 0: derive from the above)

  // A Stat viewing this Dir's strings; valid while this Dir lives unchanged.
  Stat ToStat() const;
  // The 9P2000.L attributes: `l` when l.valid != 0, else derived (st_mode
  // from mode, nlink 1, uid/gid 0 unless numeric strings, blksize 4096,
  // blocks from length, ns times from atime/mtime, ctime = mtime).
  Rgetattr ToGetattr() const;
};

// A Dir owning copies of a Stat's strings.
Dir DirFromStat(const Stat& s);
// A Dir from a 9P2000.L getattr reply and a name (uid/gid become decimal
// strings, mode gets DM bits from the file type).
Dir DirFromGetattr(const Rgetattr& a, std::string name);

// Linux st_mode (S_IFMT | perm) from 9P2000 mode bits and qid type.
uint32_t UnixModeFromDM(uint32_t dmmode);
// 9P2000 mode (DMDIR etc. | perm) from st_mode.
uint32_t DMFromUnixMode(uint32_t st_mode);
// Qid type from st_mode (QTDIR, QTSYMLINK, QTFILE).
uint8_t QidTypeFromUnixMode(uint32_t st_mode);
// DT_* directory-entry type from a qid type.
uint8_t DirentTypeFromQid(const Qid& q);

// Linux open(2) flags (x86-64 numbering) from a 9P2000 open mode.
uint32_t LinuxFlagsFromOmode(uint8_t omode);
// 9P2000 open mode from Linux open(2) flags (O_ACCMODE, O_TRUNC; others
// dropped).
uint8_t OmodeFromLinuxFlags(uint32_t flags);

}  // namespace ninep

#endif  // NINEP_DIR_H_
