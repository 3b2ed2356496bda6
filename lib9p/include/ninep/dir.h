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

// Linux st_mode (S_IFMT | perm) from 9P2000 mode bits: DMDIR, the 9P2000.u
// kind bits (DMSYMLINK, DMSOCKET, DMNAMEDPIPE, DMDEVICE -> S_IFCHR) and
// DMSETUID/DMSETGID/DMSETVTX; anything else is a regular file.
uint32_t UnixModeFromDM(uint32_t dmmode);
// 9P2000 mode (DMDIR etc. | perm) from st_mode; the inverse of
// UnixModeFromDM except that block devices also become DMDEVICE.
uint32_t DMFromUnixMode(uint32_t st_mode);
// Qid type from st_mode (QTDIR, QTSYMLINK, QTFILE).
uint8_t QidTypeFromUnixMode(uint32_t st_mode);
// DT_* directory-entry type from a qid type.
uint8_t DirentTypeFromQid(const Qid& q);

// Linux open(2) flags as numbered on x86-64 Linux: the numbering of
// 9P2000.L Tlopen/Tlcreate flags whatever the host (names as in Linux's
// include/net/9p/9p.h).
inline constexpr uint32_t P9_DOTL_RDONLY = 0, P9_DOTL_WRONLY = 1, P9_DOTL_RDWR = 2,
                          P9_DOTL_NOACCESS = 3, P9_DOTL_ACCMODE = 3, P9_DOTL_CREATE = 0100,
                          P9_DOTL_EXCL = 0200, P9_DOTL_NOCTTY = 0400, P9_DOTL_TRUNC = 01000,
                          P9_DOTL_APPEND = 02000, P9_DOTL_NONBLOCK = 04000, P9_DOTL_DSYNC = 010000,
                          P9_DOTL_FASYNC = 020000, P9_DOTL_DIRECT = 040000,
                          P9_DOTL_LARGEFILE = 0100000, P9_DOTL_DIRECTORY = 0200000,
                          P9_DOTL_NOFOLLOW = 0400000, P9_DOTL_NOATIME = 01000000,
                          P9_DOTL_CLOEXEC = 02000000, P9_DOTL_SYNC = 04000000;

// Linux open(2) flags (x86-64 numbering) from a 9P2000 open mode: the
// access mode (OEXEC reads) and OTRUNC; ORCLOSE has no open(2) flag and is
// dropped (the server implements it at clunk).
uint32_t LinuxFlagsFromOmode(uint8_t omode);
// 9P2000 open mode from Linux open(2) flags (O_ACCMODE, O_TRUNC; others
// dropped).
uint8_t OmodeFromLinuxFlags(uint32_t flags);

}  // namespace ninep

#endif  // NINEP_DIR_H_
