// dir.cc: Dir and the conversions between 9P2000 stat, 9P2000.L getattr,
// Unix modes and open flags. Linux numbering is written out (not taken
// from the host headers) because it is the wire's numbering.
#include "ninep/dir.h"

#include <charconv>

namespace ninep {
namespace {

// Linux st_mode file kinds and special bits (the same on every Linux arch).
constexpr uint32_t kIFMT = 0170000, kIFSOCK = 0140000, kIFLNK = 0120000, kIFREG = 0100000,
                   kIFBLK = 0060000, kIFDIR = 0040000, kIFCHR = 0020000, kIFIFO = 0010000;
constexpr uint32_t kISUID = 04000, kISGID = 02000, kISVTX = 01000;
// Linux DT_* values.
constexpr uint8_t kDT_DIR = 4, kDT_REG = 8, kDT_LNK = 10;

// A decimal uid/gid string, or 0.
uint32_t NumericId(const std::string& s) {
  uint32_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (s.empty() || ec != std::errc() || p != end) return 0;
  return v;
}

}  // namespace

Stat Dir::ToStat() const {
  Stat s;
  s.type = type;
  s.dev = dev;
  s.qid = qid;
  s.mode = mode;
  s.atime = atime;
  s.mtime = mtime;
  s.length = length;
  s.name = name;
  s.uid = uid;
  s.gid = gid;
  s.muid = muid;
  return s;
}

Rgetattr Dir::ToGetattr() const {
  if (l.valid != 0) return l;
  Rgetattr a;
  a.valid = P9_GETATTR_BASIC;
  a.qid = qid;
  uint32_t dm = mode;
  // A mode without kind bits takes its kind from the qid.
  if ((dm & (DMDIR | DMSYMLINK | DMDEVICE | DMNAMEDPIPE | DMSOCKET)) == 0) {
    if (qid.type & QTDIR)
      dm |= DMDIR;
    else if (qid.type & QTSYMLINK)
      dm |= DMSYMLINK;
  }
  a.mode = UnixModeFromDM(dm);
  a.uid = NumericId(uid);
  a.gid = NumericId(gid);
  a.nlink = 1;
  a.size = length;
  a.blksize = 4096;
  a.blocks = (length + 511) / 512;
  a.atime_sec = atime;
  a.mtime_sec = mtime;
  a.ctime_sec = mtime;
  return a;
}

Dir DirFromStat(const Stat& s) {
  Dir d;
  d.type = s.type;
  d.dev = s.dev;
  d.qid = s.qid;
  d.mode = s.mode;
  d.atime = s.atime;
  d.mtime = s.mtime;
  d.length = s.length;
  d.name = std::string(s.name);
  d.uid = std::string(s.uid);
  d.gid = std::string(s.gid);
  d.muid = std::string(s.muid);
  return d;
}

Dir DirFromGetattr(const Rgetattr& a, std::string name) {
  Dir d;
  d.qid = a.qid;
  d.mode = DMFromUnixMode(a.mode);
  d.atime = static_cast<uint32_t>(a.atime_sec);
  d.mtime = static_cast<uint32_t>(a.mtime_sec);
  d.length = a.size;
  d.name = std::move(name);
  d.uid = std::to_string(a.uid);
  d.gid = std::to_string(a.gid);
  d.l = a;
  return d;
}

uint32_t UnixModeFromDM(uint32_t dm) {
  uint32_t m = dm & 0777;
  if (dm & DMSETUID) m |= kISUID;
  if (dm & DMSETGID) m |= kISGID;
  if (dm & DMSETVTX) m |= kISVTX;
  if (dm & DMDIR) return m | kIFDIR;
  if (dm & DMSYMLINK) return m | kIFLNK;
  if (dm & DMSOCKET) return m | kIFSOCK;
  if (dm & DMNAMEDPIPE) return m | kIFIFO;
  if (dm & DMDEVICE) return m | kIFCHR;
  return m | kIFREG;
}

uint32_t DMFromUnixMode(uint32_t st_mode) {
  uint32_t m = st_mode & 0777;
  if (st_mode & kISUID) m |= DMSETUID;
  if (st_mode & kISGID) m |= DMSETGID;
  if (st_mode & kISVTX) m |= DMSETVTX;
  switch (st_mode & kIFMT) {
    case kIFDIR:
      return m | DMDIR;
    case kIFLNK:
      return m | DMSYMLINK;
    case kIFSOCK:
      return m | DMSOCKET;
    case kIFIFO:
      return m | DMNAMEDPIPE;
    case kIFCHR:
    case kIFBLK:
      return m | DMDEVICE;
    default:
      return m;
  }
}

uint8_t QidTypeFromUnixMode(uint32_t st_mode) {
  switch (st_mode & kIFMT) {
    case kIFDIR:
      return QTDIR;
    case kIFLNK:
      return QTSYMLINK;
    default:
      return QTFILE;
  }
}

uint8_t DirentTypeFromQid(const Qid& q) {
  if (q.type & QTDIR) return kDT_DIR;
  if (q.type & QTSYMLINK) return kDT_LNK;
  return kDT_REG;
}

uint32_t LinuxFlagsFromOmode(uint8_t omode) {
  uint32_t f = 0;
  switch (omode & 3) {
    case OWRITE:
      f = P9_DOTL_WRONLY;
      break;
    case ORDWR:
      f = P9_DOTL_RDWR;
      break;
    default:  // OREAD, OEXEC
      f = P9_DOTL_RDONLY;
  }
  if (omode & OTRUNC) f |= P9_DOTL_TRUNC;
  return f;
}

uint8_t OmodeFromLinuxFlags(uint32_t flags) {
  uint8_t m = OREAD;
  switch (flags & P9_DOTL_ACCMODE) {
    case P9_DOTL_WRONLY:
      m = OWRITE;
      break;
    case P9_DOTL_RDWR:
    case P9_DOTL_NOACCESS:
      m = ORDWR;
      break;
  }
  if (flags & P9_DOTL_TRUNC) m |= OTRUNC;
  return m;
}

}  // namespace ninep
