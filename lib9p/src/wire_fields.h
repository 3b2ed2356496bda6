// wire_fields.h (internal): the field list of every 9P message, written once
// and walked by three visitors: the sizer and the writer (wire_encode.cc)
// and the reader (wire_decode.cc). Keeping one list means the encoder and
// decoder cannot disagree about a layout.
//
// A visitor V provides, each taking the field and its protocol name (the
// name appears in decode errors and in the trace):
//   U8 U16 U32 U64 Q(Qid)  Str(string_view)  Names(WalkArray<string_view>)
//   Qids(WalkArray<Qid>)  Data(span: count[4] data[count], the last field)
//   NStat(Stat: n[2] stat[n])  OptU32 (may be absent at the end of the
//   frame when decoding)  and dotl() (true for 9P2000.L).
// The numbers and Data also take a Show, how the trace prints them; the
// codec ignores it. The reader takes the fields by reference and fills
// them; the sizer, writer and trace printer take them by value or const
// reference, so M may be const.
// The trace printer (wire_trace.cc) is the fourth visitor, so a field added
// here is printed by -D without another edit.
// Thread-safety: pure functions.
#ifndef NINEP_SRC_WIRE_FIELDS_H_
#define NINEP_SRC_WIRE_FIELDS_H_

#include <bit>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "ninep/wire.h"

namespace ninep::internal {

// Little-endian load and store of an unsigned integer; unaligned is fine.
template <class T>
inline T LoadLE(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) {
    if constexpr (sizeof v == 2) v = __builtin_bswap16(v);
    if constexpr (sizeof v == 4) v = __builtin_bswap32(v);
    if constexpr (sizeof v == 8) v = __builtin_bswap64(v);
  }
  return v;
}
template <class T>
inline void StoreLE(uint8_t* p, T v) {
  if constexpr (std::endian::native == std::endian::big) {
    if constexpr (sizeof v == 2) v = __builtin_bswap16(v);
    if constexpr (sizeof v == 4) v = __builtin_bswap32(v);
    if constexpr (sizeof v == 8) v = __builtin_bswap64(v);
  }
  std::memcpy(p, &v, sizeof v);
}

// How the trace (FormatMessage) shows a field; the codec ignores it.
enum class Show : uint8_t {
  kDec,      // decimal
  kHex,      // 0x hex: bit masks and magic numbers
  kOct,      // 0-prefixed octal: Unix modes and open flags
  kPerm,     // Plan 9 permission letters (d a A l t L, then rwx triplets)
  kErrno,    // decimal, then the error's text in parentheses
  kUnset,    // decimal, left out when ~0 (NONUNAME: no numeric user given)
  kDirents,  // Data holding 9P2000.L dirents: their names, not the bytes
};

// True when M is T, possibly const.
template <class M, class T>
concept Is = std::same_as<std::remove_const_t<M>, T>;

// The fields of a stat entry after its size[2].
template <class V, Is<Stat> M>
void StatFields(V& v, M& s) {
  v.U16(s.type, "stat.type");
  v.U32(s.dev, "stat.dev");
  v.Q(s.qid, "stat.qid");
  v.U32(s.mode, "stat.mode", Show::kOct);
  v.U32(s.atime, "stat.atime");
  v.U32(s.mtime, "stat.mtime");
  v.U64(s.length, "stat.length");
  v.Str(s.name, "stat.name");
  v.Str(s.uid, "stat.uid");
  v.Str(s.gid, "stat.gid");
  v.Str(s.muid, "stat.muid");
}

// Fixed part of a stat entry after size[2]: type dev qid mode atime mtime
// length, plus four len[2] string prefixes.
inline constexpr size_t kStatFixed = 2 + 4 + 13 + 4 + 4 + 4 + 8 + 4 * 2;

// ---- 9P2000 ----------------------------------------------------------------

template <class V, Is<Tversion> M>
void Fields(V& v, M& m) {
  v.U32(m.msize, "msize");
  v.Str(m.version, "version");
}
template <class V, Is<Rversion> M>
void Fields(V& v, M& m) {
  v.U32(m.msize, "msize");
  v.Str(m.version, "version");
}
template <class V, Is<Tauth> M>
void Fields(V& v, M& m) {
  v.U32(m.afid, "afid");
  v.Str(m.uname, "uname");
  v.Str(m.aname, "aname");
  if (v.dotl()) v.U32(m.n_uname, "n_uname", Show::kUnset);
}
template <class V, Is<Rauth> M>
void Fields(V& v, M& m) {
  v.Q(m.aqid, "aqid");
}
template <class V, Is<Tattach> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.U32(m.afid, "afid");
  v.Str(m.uname, "uname");
  v.Str(m.aname, "aname");
  if (v.dotl()) v.U32(m.n_uname, "n_uname", Show::kUnset);
}
template <class V, Is<Rattach> M>
void Fields(V& v, M& m) {
  v.Q(m.qid, "qid");
}
template <class V, Is<Rerror> M>
void Fields(V& v, M& m) {
  v.Str(m.ename, "ename");
}
template <class V, Is<Tflush> M>
void Fields(V& v, M& m) {
  v.U16(m.oldtag, "oldtag");
}
template <class V, Is<Twalk> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.U32(m.newfid, "newfid");
  v.Names(m.wname);
}
template <class V, Is<Rwalk> M>
void Fields(V& v, M& m) {
  v.Qids(m.wqid);
}
template <class V, Is<Topen> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.U8(m.mode, "mode");
}
template <class V, Is<Ropen> M>
void Fields(V& v, M& m) {
  v.Q(m.qid, "qid");
  v.U32(m.iounit, "iounit");
}
template <class V, Is<Tcreate> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.Str(m.name, "name");
  v.U32(m.perm, "perm", Show::kPerm);
  v.U8(m.mode, "mode");
}
template <class V, Is<Rcreate> M>
void Fields(V& v, M& m) {
  v.Q(m.qid, "qid");
  v.U32(m.iounit, "iounit");
}
template <class V, Is<Tread> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.U64(m.offset, "offset");
  v.U32(m.count, "count");
}
template <class V, Is<Rread> M>
void Fields(V& v, M& m) {
  v.Data(m.data);
}
template <class V, Is<Twrite> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.U64(m.offset, "offset");
  v.Data(m.data);
}
template <class V, Is<Rwrite> M>
void Fields(V& v, M& m) {
  v.U32(m.count, "count");
}
template <class V, Is<Tclunk> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
}
template <class V, Is<Tremove> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
}
template <class V, Is<Tstat> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
}
template <class V, Is<Rstat> M>
void Fields(V& v, M& m) {
  v.NStat(m.stat);
}
template <class V, Is<Twstat> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.NStat(m.stat);
}

// Bodiless replies.
template <class V, class M>
requires Is<M, Rflush> || Is<M, Rclunk> || Is<M, Rremove> || Is<M, Rwstat> || Is<M, Rrename> ||
    Is<M, Rsetattr> || Is<M, Rxattrcreate> || Is<M, Rfsync> || Is<M, Rlink> || Is<M, Rrenameat> ||
    Is<M, Runlinkat>
void Fields(V&, M&) {}

// ---- 9P2000.L --------------------------------------------------------------

template <class V, Is<Rlerror> M>
void Fields(V& v, M& m) {
  v.U32(m.ecode, "ecode", Show::kErrno);
}
template <class V, Is<Tstatfs> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
}
template <class V, Is<Rstatfs> M>
void Fields(V& v, M& m) {
  v.U32(m.type, "type", Show::kHex);
  v.U32(m.bsize, "bsize");
  v.U64(m.blocks, "blocks");
  v.U64(m.bfree, "bfree");
  v.U64(m.bavail, "bavail");
  v.U64(m.files, "files");
  v.U64(m.ffree, "ffree");
  v.U64(m.fsid, "fsid", Show::kHex);
  v.U32(m.namelen, "namelen");
}
template <class V, Is<Tlopen> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.U32(m.flags, "flags", Show::kOct);
}
template <class V, Is<Rlopen> M>
void Fields(V& v, M& m) {
  v.Q(m.qid, "qid");
  v.U32(m.iounit, "iounit");
}
template <class V, Is<Tlcreate> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.Str(m.name, "name");
  v.U32(m.flags, "flags", Show::kOct);
  v.U32(m.mode, "mode", Show::kOct);
  v.U32(m.gid, "gid");
}
template <class V, Is<Rlcreate> M>
void Fields(V& v, M& m) {
  v.Q(m.qid, "qid");
  v.U32(m.iounit, "iounit");
}
template <class V, Is<Tsymlink> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.Str(m.name, "name");
  v.Str(m.symtgt, "symtgt");
  v.U32(m.gid, "gid");
}
template <class V, Is<Tmknod> M>
void Fields(V& v, M& m) {
  v.U32(m.dfid, "dfid");
  v.Str(m.name, "name");
  v.U32(m.mode, "mode", Show::kOct);
  v.U32(m.major, "major");
  v.U32(m.minor, "minor");
  v.U32(m.gid, "gid");
}
// Replies that carry one qid.
template <class V, class M>
requires Is<M, Rsymlink> || Is<M, Rmknod> || Is<M, Rmkdir>
void Fields(V& v, M& m) { v.Q(m.qid, "qid"); }
template <class V, Is<Trename> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.U32(m.dfid, "dfid");
  v.Str(m.name, "name");
}
template <class V, Is<Treadlink> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
}
template <class V, Is<Rreadlink> M>
void Fields(V& v, M& m) {
  v.Str(m.target, "target");
}
template <class V, Is<Tgetattr> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.U64(m.request_mask, "request_mask", Show::kHex);
}
template <class V, Is<Rgetattr> M>
void Fields(V& v, M& m) {
  v.U64(m.valid, "valid", Show::kHex);
  v.Q(m.qid, "qid");
  v.U32(m.mode, "mode", Show::kOct);
  v.U32(m.uid, "uid");
  v.U32(m.gid, "gid");
  v.U64(m.nlink, "nlink");
  v.U64(m.rdev, "rdev");
  v.U64(m.size, "size");
  v.U64(m.blksize, "blksize");
  v.U64(m.blocks, "blocks");
  v.U64(m.atime_sec, "atime_sec");
  v.U64(m.atime_nsec, "atime_nsec");
  v.U64(m.mtime_sec, "mtime_sec");
  v.U64(m.mtime_nsec, "mtime_nsec");
  v.U64(m.ctime_sec, "ctime_sec");
  v.U64(m.ctime_nsec, "ctime_nsec");
  v.U64(m.btime_sec, "btime_sec");
  v.U64(m.btime_nsec, "btime_nsec");
  v.U64(m.gen, "gen");
  v.U64(m.data_version, "data_version");
}
template <class V, Is<Tsetattr> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.U32(m.valid, "valid", Show::kHex);
  v.U32(m.mode, "mode", Show::kOct);
  v.U32(m.uid, "uid");
  v.U32(m.gid, "gid");
  v.U64(m.size, "size");
  v.U64(m.atime_sec, "atime_sec");
  v.U64(m.atime_nsec, "atime_nsec");
  v.U64(m.mtime_sec, "mtime_sec");
  v.U64(m.mtime_nsec, "mtime_nsec");
}
template <class V, Is<Txattrwalk> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.U32(m.newfid, "newfid");
  v.Str(m.name, "name");
}
template <class V, Is<Rxattrwalk> M>
void Fields(V& v, M& m) {
  v.U64(m.size, "size");
}
template <class V, Is<Txattrcreate> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.Str(m.name, "name");
  v.U64(m.attr_size, "attr_size");
  v.U32(m.flags, "flags");
}
template <class V, Is<Treaddir> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.U64(m.offset, "offset");
  v.U32(m.count, "count");
}
template <class V, Is<Rreaddir> M>
void Fields(V& v, M& m) {
  v.Data(m.data, Show::kDirents);
}
template <class V, Is<Tfsync> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.OptU32(m.datasync, "datasync");
}
template <class V, Is<Tlock> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.U8(m.type, "type");
  v.U32(m.flags, "flags");
  v.U64(m.start, "start");
  v.U64(m.length, "length");
  v.U32(m.proc_id, "proc_id");
  v.Str(m.client_id, "client_id");
}
template <class V, Is<Rlock> M>
void Fields(V& v, M& m) {
  v.U8(m.status, "status");
}
template <class V, Is<Tgetlock> M>
void Fields(V& v, M& m) {
  v.U32(m.fid, "fid");
  v.U8(m.type, "type");
  v.U64(m.start, "start");
  v.U64(m.length, "length");
  v.U32(m.proc_id, "proc_id");
  v.Str(m.client_id, "client_id");
}
template <class V, Is<Rgetlock> M>
void Fields(V& v, M& m) {
  v.U8(m.type, "type");
  v.U64(m.start, "start");
  v.U64(m.length, "length");
  v.U32(m.proc_id, "proc_id");
  v.Str(m.client_id, "client_id");
}
template <class V, Is<Tlink> M>
void Fields(V& v, M& m) {
  v.U32(m.dfid, "dfid");
  v.U32(m.fid, "fid");
  v.Str(m.name, "name");
}
template <class V, Is<Tmkdir> M>
void Fields(V& v, M& m) {
  v.U32(m.dfid, "dfid");
  v.Str(m.name, "name");
  v.U32(m.mode, "mode", Show::kOct);
  v.U32(m.gid, "gid");
}
template <class V, Is<Trenameat> M>
void Fields(V& v, M& m) {
  v.U32(m.olddirfid, "olddirfid");
  v.Str(m.oldname, "oldname");
  v.U32(m.newdirfid, "newdirfid");
  v.Str(m.newname, "newname");
}
template <class V, Is<Tunlinkat> M>
void Fields(V& v, M& m) {
  v.U32(m.dirfd, "dirfd");
  v.Str(m.name, "name");
  v.U32(m.flags, "flags", Show::kOct);
}

// The fields of a 9P2000.L dirent.
template <class V, Is<Dirent> M>
void DirentFields(V& v, M& d) {
  v.Q(d.qid, "qid");
  v.U64(d.offset, "offset");
  v.U8(d.type, "type");
  v.Str(d.name, "name");
}

// True for message types that exist only in 9P2000.L (Rlerror excepted:
// it is decoded in either dialect).
inline bool DotLOnly(uint8_t type) { return type < kTversion && type != kRlerror; }

}  // namespace ninep::internal

#endif  // NINEP_SRC_WIRE_FIELDS_H_
