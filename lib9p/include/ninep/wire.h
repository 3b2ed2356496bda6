// wire.h: the 9P2000 and 9P2000.L messages as typed structs, and the codec.
//
// One struct per message, named by its protocol spelling. A decoded message
// holds views (std::string_view, std::span) into the frame it was decoded
// from: it must not outlive that buffer. To encode, fill a struct whose views
// point at memory that stays live until Encode returns.
// Thread-safety: all functions are pure; structs are plain values.
// See ../../../shared/PROTOCOL.md (the project's wire facts) and man3/lib9p.3.
#ifndef NINEP_WIRE_H_
#define NINEP_WIRE_H_

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ninep/status.h"

namespace ninep {

// ---- Constants -------------------------------------------------------------

// The tables below are laid out by hand, one message per line.
// clang-format off

inline constexpr uint16_t NOTAG = 0xFFFF;
inline constexpr uint32_t NOFID = 0xFFFFFFFF;
inline constexpr uint32_t NONUNAME = 0xFFFFFFFF;  // .L n_uname "use uname"
inline constexpr int MAXWELEM = 16;
inline constexpr uint32_t IOHDRSZ = 24;   // read/write header overhead
inline constexpr uint32_t HDRSZ = 7;      // size[4] type[1] tag[2]
inline constexpr uint32_t MINMSIZE = 256; // smallest msize we accept
// The default msize, as Plan 9 sizes it: the largest read or write
// payload is then exactly 512 KiB, which lines up with pages, chunkd's
// blocks and erasure-code stripes (512k itself leaves 524264).
inline constexpr uint32_t DEFMSIZE = 512 * 1024 + IOHDRSZ;

// Open modes (9P2000).
inline constexpr uint8_t OREAD = 0, OWRITE = 1, ORDWR = 2, OEXEC = 3;
inline constexpr uint8_t OTRUNC = 0x10, ORCLOSE = 0x40;
// Mode bits (Dir.mode, Tcreate.perm).
inline constexpr uint32_t DMDIR = 0x80000000, DMAPPEND = 0x40000000, DMEXCL = 0x20000000,
                          DMAUTH = 0x08000000, DMTMP = 0x04000000;
// 9P2000.u mode bits for Unix file kinds, used (as Linux v9fs and diod do)
// to carry symlinks, devices, pipes and sockets through 9P2000 stat.
inline constexpr uint32_t DMSYMLINK = 0x02000000, DMDEVICE = 0x00800000,
                          DMNAMEDPIPE = 0x00200000, DMSOCKET = 0x00100000,
                          DMSETUID = 0x00080000, DMSETGID = 0x00040000, DMSETVTX = 0x00010000;
// Qid types.
inline constexpr uint8_t QTDIR = 0x80, QTAPPEND = 0x40, QTEXCL = 0x20, QTAUTH = 0x08,
                         QTTMP = 0x04, QTSYMLINK = 0x02, QTFILE = 0;

// 9P2000.L getattr mask bits.
inline constexpr uint64_t P9_GETATTR_MODE = 0x1, P9_GETATTR_NLINK = 0x2, P9_GETATTR_UID = 0x4,
                          P9_GETATTR_GID = 0x8, P9_GETATTR_RDEV = 0x10,
                          P9_GETATTR_ATIME = 0x20, P9_GETATTR_MTIME = 0x40,
                          P9_GETATTR_CTIME = 0x80, P9_GETATTR_INO = 0x100,
                          P9_GETATTR_SIZE = 0x200, P9_GETATTR_BLOCKS = 0x400,
                          P9_GETATTR_BASIC = 0x7ff, P9_GETATTR_BTIME = 0x800,
                          P9_GETATTR_GEN = 0x1000, P9_GETATTR_DATA_VERSION = 0x2000,
                          P9_GETATTR_ALL = 0x3fff;
// 9P2000.L setattr valid bits.
inline constexpr uint32_t P9_SETATTR_MODE = 0x1, P9_SETATTR_UID = 0x2, P9_SETATTR_GID = 0x4,
                          P9_SETATTR_SIZE = 0x8, P9_SETATTR_ATIME = 0x10,
                          P9_SETATTR_MTIME = 0x20, P9_SETATTR_CTIME = 0x40,
                          P9_SETATTR_ATIME_SET = 0x80, P9_SETATTR_MTIME_SET = 0x100;
// 9P2000.L lock types and statuses.
inline constexpr uint8_t P9_LOCK_TYPE_RDLCK = 0, P9_LOCK_TYPE_WRLCK = 1, P9_LOCK_TYPE_UNLCK = 2;
inline constexpr uint8_t P9_LOCK_SUCCESS = 0, P9_LOCK_BLOCKED = 1, P9_LOCK_ERROR = 2,
                         P9_LOCK_GRACE = 3;
inline constexpr uint32_t P9_LOCK_FLAGS_BLOCK = 1, P9_LOCK_FLAGS_RECLAIM = 2;

// The protocol dialect a connection speaks, fixed by Tversion.
enum class Dialect : uint8_t { k9P2000, k9P2000L };

// Message type numbers.
enum MsgType : uint8_t {
  kRlerror = 7,
  kTstatfs = 8, kRstatfs = 9,
  kTlopen = 12, kRlopen = 13,
  kTlcreate = 14, kRlcreate = 15,
  kTsymlink = 16, kRsymlink = 17,
  kTmknod = 18, kRmknod = 19,
  kTrename = 20, kRrename = 21,
  kTreadlink = 22, kRreadlink = 23,
  kTgetattr = 24, kRgetattr = 25,
  kTsetattr = 26, kRsetattr = 27,
  kTxattrwalk = 30, kRxattrwalk = 31,
  kTxattrcreate = 32, kRxattrcreate = 33,
  kTreaddir = 40, kRreaddir = 41,
  kTfsync = 50, kRfsync = 51,
  kTlock = 52, kRlock = 53,
  kTgetlock = 54, kRgetlock = 55,
  kTlink = 70, kRlink = 71,
  kTmkdir = 72, kRmkdir = 73,
  kTrenameat = 74, kRrenameat = 75,
  kTunlinkat = 76, kRunlinkat = 77,
  kTversion = 100, kRversion = 101,
  kTauth = 102, kRauth = 103,
  kTattach = 104, kRattach = 105,
  kRerror = 107,
  kTflush = 108, kRflush = 109,
  kTwalk = 110, kRwalk = 111,
  kTopen = 112, kRopen = 113,
  kTcreate = 114, kRcreate = 115,
  kTread = 116, kRread = 117,
  kTwrite = 118, kRwrite = 119,
  kTclunk = 120, kRclunk = 121,
  kTremove = 122, kRremove = 123,
  kTstat = 124, kRstat = 125,
  kTwstat = 126, kRwstat = 127,
};

// clang-format on

// The protocol name of a message type ("Twalk"), or "T?<n>" when unknown.
std::string_view MsgTypeName(uint8_t type);

// ---- Building blocks -------------------------------------------------------

// A server's unique identity for a file.
struct Qid {
  uint8_t type = 0;
  uint32_t version = 0;
  uint64_t path = 0;
  bool operator==(const Qid&) const = default;
};

// A 9P2000 stat entry (Plan 9's Dir). Strings are views (see file comment).
// In Twstat, all-ones numbers and empty strings mean "leave unchanged".
struct Stat {
  uint16_t type = 0;
  uint32_t dev = 0;
  Qid qid;
  uint32_t mode = 0;
  uint32_t atime = 0;
  uint32_t mtime = 0;
  uint64_t length = 0;
  std::string_view name, uid, gid, muid;
  bool operator==(const Stat&) const = default;
};

// Returns a Stat whose every field means "leave unchanged" (for Twstat).
Stat NullStat();

// A fixed array of up to MAXWELEM elements, so Twalk/Rwalk never allocate.
template <class T>
struct WalkArray {
  std::array<T, MAXWELEM> v{};
  uint16_t n = 0;
  // Appends; REQUIRES n < MAXWELEM.
  void push_back(T x) { v[n++] = x; }
  size_t size() const { return n; }
  const T& operator[](size_t i) const { return v[i]; }
  const T* begin() const { return v.data(); }
  const T* end() const { return v.data() + n; }
  bool operator==(const WalkArray& o) const {
    if (n != o.n) return false;
    for (size_t i = 0; i < n; i++)
      if (!(v[i] == o.v[i])) return false;
    return true;
  }
};

// ---- 9P2000 messages -------------------------------------------------------

// clang-format off

struct Tversion { static constexpr MsgType kType = kTversion; uint32_t msize = 0; std::string_view version; bool operator==(const Tversion&) const = default; };
struct Rversion { static constexpr MsgType kType = kRversion; uint32_t msize = 0; std::string_view version; bool operator==(const Rversion&) const = default; };
// Tauth: n_uname is on the wire only in 9P2000.L.
struct Tauth { static constexpr MsgType kType = kTauth; uint32_t afid = 0; std::string_view uname, aname; uint32_t n_uname = NONUNAME; bool operator==(const Tauth&) const = default; };
struct Rauth { static constexpr MsgType kType = kRauth; Qid aqid; bool operator==(const Rauth&) const = default; };
// Tattach: n_uname is on the wire only in 9P2000.L.
struct Tattach { static constexpr MsgType kType = kTattach; uint32_t fid = 0, afid = NOFID; std::string_view uname, aname; uint32_t n_uname = NONUNAME; bool operator==(const Tattach&) const = default; };
struct Rattach { static constexpr MsgType kType = kRattach; Qid qid; bool operator==(const Rattach&) const = default; };
struct Rerror { static constexpr MsgType kType = kRerror; std::string_view ename; bool operator==(const Rerror&) const = default; };
struct Tflush { static constexpr MsgType kType = kTflush; uint16_t oldtag = 0; bool operator==(const Tflush&) const = default; };
struct Rflush { static constexpr MsgType kType = kRflush; bool operator==(const Rflush&) const = default; };
struct Twalk { static constexpr MsgType kType = kTwalk; uint32_t fid = 0, newfid = 0; WalkArray<std::string_view> wname; bool operator==(const Twalk&) const = default; };
struct Rwalk { static constexpr MsgType kType = kRwalk; WalkArray<Qid> wqid; bool operator==(const Rwalk&) const = default; };
struct Topen { static constexpr MsgType kType = kTopen; uint32_t fid = 0; uint8_t mode = 0; bool operator==(const Topen&) const = default; };
struct Ropen { static constexpr MsgType kType = kRopen; Qid qid; uint32_t iounit = 0; bool operator==(const Ropen&) const = default; };
struct Tcreate { static constexpr MsgType kType = kTcreate; uint32_t fid = 0; std::string_view name; uint32_t perm = 0; uint8_t mode = 0; bool operator==(const Tcreate&) const = default; };
struct Rcreate { static constexpr MsgType kType = kRcreate; Qid qid; uint32_t iounit = 0; bool operator==(const Rcreate&) const = default; };
struct Tread { static constexpr MsgType kType = kTread; uint32_t fid = 0; uint64_t offset = 0; uint32_t count = 0; bool operator==(const Tread&) const = default; };
struct Rread { static constexpr MsgType kType = kRread; std::span<const uint8_t> data; bool operator==(const Rread& o) const; };
struct Twrite { static constexpr MsgType kType = kTwrite; uint32_t fid = 0; uint64_t offset = 0; std::span<const uint8_t> data; bool operator==(const Twrite& o) const; };
struct Rwrite { static constexpr MsgType kType = kRwrite; uint32_t count = 0; bool operator==(const Rwrite&) const = default; };
struct Tclunk { static constexpr MsgType kType = kTclunk; uint32_t fid = 0; bool operator==(const Tclunk&) const = default; };
struct Rclunk { static constexpr MsgType kType = kRclunk; bool operator==(const Rclunk&) const = default; };
struct Tremove { static constexpr MsgType kType = kTremove; uint32_t fid = 0; bool operator==(const Tremove&) const = default; };
struct Rremove { static constexpr MsgType kType = kRremove; bool operator==(const Rremove&) const = default; };
struct Tstat { static constexpr MsgType kType = kTstat; uint32_t fid = 0; bool operator==(const Tstat&) const = default; };
struct Rstat { static constexpr MsgType kType = kRstat; Stat stat; bool operator==(const Rstat&) const = default; };
struct Twstat { static constexpr MsgType kType = kTwstat; uint32_t fid = 0; Stat stat; bool operator==(const Twstat&) const = default; };
struct Rwstat { static constexpr MsgType kType = kRwstat; bool operator==(const Rwstat&) const = default; };

// ---- 9P2000.L messages -----------------------------------------------------

struct Rlerror { static constexpr MsgType kType = kRlerror; uint32_t ecode = 0; bool operator==(const Rlerror&) const = default; };
struct Tstatfs { static constexpr MsgType kType = kTstatfs; uint32_t fid = 0; bool operator==(const Tstatfs&) const = default; };
struct Rstatfs { static constexpr MsgType kType = kRstatfs; uint32_t type = 0, bsize = 0; uint64_t blocks = 0, bfree = 0, bavail = 0, files = 0, ffree = 0, fsid = 0; uint32_t namelen = 0; bool operator==(const Rstatfs&) const = default; };
struct Tlopen { static constexpr MsgType kType = kTlopen; uint32_t fid = 0, flags = 0; bool operator==(const Tlopen&) const = default; };
struct Rlopen { static constexpr MsgType kType = kRlopen; Qid qid; uint32_t iounit = 0; bool operator==(const Rlopen&) const = default; };
struct Tlcreate { static constexpr MsgType kType = kTlcreate; uint32_t fid = 0; std::string_view name; uint32_t flags = 0, mode = 0, gid = 0; bool operator==(const Tlcreate&) const = default; };
struct Rlcreate { static constexpr MsgType kType = kRlcreate; Qid qid; uint32_t iounit = 0; bool operator==(const Rlcreate&) const = default; };
struct Tsymlink { static constexpr MsgType kType = kTsymlink; uint32_t fid = 0; std::string_view name, symtgt; uint32_t gid = 0; bool operator==(const Tsymlink&) const = default; };
struct Rsymlink { static constexpr MsgType kType = kRsymlink; Qid qid; bool operator==(const Rsymlink&) const = default; };
struct Tmknod { static constexpr MsgType kType = kTmknod; uint32_t dfid = 0; std::string_view name; uint32_t mode = 0, major = 0, minor = 0, gid = 0; bool operator==(const Tmknod&) const = default; };
struct Rmknod { static constexpr MsgType kType = kRmknod; Qid qid; bool operator==(const Rmknod&) const = default; };
struct Trename { static constexpr MsgType kType = kTrename; uint32_t fid = 0, dfid = 0; std::string_view name; bool operator==(const Trename&) const = default; };
struct Rrename { static constexpr MsgType kType = kRrename; bool operator==(const Rrename&) const = default; };
struct Treadlink { static constexpr MsgType kType = kTreadlink; uint32_t fid = 0; bool operator==(const Treadlink&) const = default; };
struct Rreadlink { static constexpr MsgType kType = kRreadlink; std::string_view target; bool operator==(const Rreadlink&) const = default; };
struct Tgetattr { static constexpr MsgType kType = kTgetattr; uint32_t fid = 0; uint64_t request_mask = 0; bool operator==(const Tgetattr&) const = default; };
struct Rgetattr {
  static constexpr MsgType kType = kRgetattr;
  uint64_t valid = 0; Qid qid; uint32_t mode = 0, uid = 0, gid = 0;
  uint64_t nlink = 0, rdev = 0, size = 0, blksize = 0, blocks = 0;
  uint64_t atime_sec = 0, atime_nsec = 0, mtime_sec = 0, mtime_nsec = 0, ctime_sec = 0, ctime_nsec = 0,
           btime_sec = 0, btime_nsec = 0, gen = 0, data_version = 0;
  bool operator==(const Rgetattr&) const = default;
};
struct Tsetattr {
  static constexpr MsgType kType = kTsetattr;
  uint32_t fid = 0, valid = 0, mode = 0, uid = 0, gid = 0; uint64_t size = 0;
  uint64_t atime_sec = 0, atime_nsec = 0, mtime_sec = 0, mtime_nsec = 0;
  bool operator==(const Tsetattr&) const = default;
};
struct Rsetattr { static constexpr MsgType kType = kRsetattr; bool operator==(const Rsetattr&) const = default; };
struct Txattrwalk { static constexpr MsgType kType = kTxattrwalk; uint32_t fid = 0, newfid = 0; std::string_view name; bool operator==(const Txattrwalk&) const = default; };
struct Rxattrwalk { static constexpr MsgType kType = kRxattrwalk; uint64_t size = 0; bool operator==(const Rxattrwalk&) const = default; };
struct Txattrcreate { static constexpr MsgType kType = kTxattrcreate; uint32_t fid = 0; std::string_view name; uint64_t attr_size = 0; uint32_t flags = 0; bool operator==(const Txattrcreate&) const = default; };
struct Rxattrcreate { static constexpr MsgType kType = kRxattrcreate; bool operator==(const Rxattrcreate&) const = default; };
struct Treaddir { static constexpr MsgType kType = kTreaddir; uint32_t fid = 0; uint64_t offset = 0; uint32_t count = 0; bool operator==(const Treaddir&) const = default; };
// Rreaddir: data is a packed run of dirents; see DirentReader/PutDirent.
struct Rreaddir { static constexpr MsgType kType = kRreaddir; std::span<const uint8_t> data; bool operator==(const Rreaddir& o) const; };
// Tfsync: very old clients send fid only; decode then leaves datasync 0.
struct Tfsync { static constexpr MsgType kType = kTfsync; uint32_t fid = 0, datasync = 0; bool operator==(const Tfsync&) const = default; };
struct Rfsync { static constexpr MsgType kType = kRfsync; bool operator==(const Rfsync&) const = default; };
struct Tlock { static constexpr MsgType kType = kTlock; uint32_t fid = 0; uint8_t type = 0; uint32_t flags = 0; uint64_t start = 0, length = 0; uint32_t proc_id = 0; std::string_view client_id; bool operator==(const Tlock&) const = default; };
struct Rlock { static constexpr MsgType kType = kRlock; uint8_t status = 0; bool operator==(const Rlock&) const = default; };
struct Tgetlock { static constexpr MsgType kType = kTgetlock; uint32_t fid = 0; uint8_t type = 0; uint64_t start = 0, length = 0; uint32_t proc_id = 0; std::string_view client_id; bool operator==(const Tgetlock&) const = default; };
struct Rgetlock { static constexpr MsgType kType = kRgetlock; uint8_t type = 0; uint64_t start = 0, length = 0; uint32_t proc_id = 0; std::string_view client_id; bool operator==(const Rgetlock&) const = default; };
struct Tlink { static constexpr MsgType kType = kTlink; uint32_t dfid = 0, fid = 0; std::string_view name; bool operator==(const Tlink&) const = default; };
struct Rlink { static constexpr MsgType kType = kRlink; bool operator==(const Rlink&) const = default; };
struct Tmkdir { static constexpr MsgType kType = kTmkdir; uint32_t dfid = 0; std::string_view name; uint32_t mode = 0, gid = 0; bool operator==(const Tmkdir&) const = default; };
struct Rmkdir { static constexpr MsgType kType = kRmkdir; Qid qid; bool operator==(const Rmkdir&) const = default; };
struct Trenameat { static constexpr MsgType kType = kTrenameat; uint32_t olddirfid = 0; std::string_view oldname; uint32_t newdirfid = 0; std::string_view newname; bool operator==(const Trenameat&) const = default; };
struct Rrenameat { static constexpr MsgType kType = kRrenameat; bool operator==(const Rrenameat&) const = default; };
struct Tunlinkat { static constexpr MsgType kType = kTunlinkat; uint32_t dirfd = 0; std::string_view name; uint32_t flags = 0; bool operator==(const Tunlinkat&) const = default; };
struct Runlinkat { static constexpr MsgType kType = kRunlinkat; bool operator==(const Runlinkat&) const = default; };

// Any message body.
using Body = std::variant<
    Tversion, Rversion, Tauth, Rauth, Tattach, Rattach, Rerror, Tflush, Rflush, Twalk, Rwalk,
    Topen, Ropen, Tcreate, Rcreate, Tread, Rread, Twrite, Rwrite, Tclunk, Rclunk, Tremove,
    Rremove, Tstat, Rstat, Twstat, Rwstat, Rlerror, Tstatfs, Rstatfs, Tlopen, Rlopen, Tlcreate,
    Rlcreate, Tsymlink, Rsymlink, Tmknod, Rmknod, Trename, Rrename, Treadlink, Rreadlink,
    Tgetattr, Rgetattr, Tsetattr, Rsetattr, Txattrwalk, Rxattrwalk, Txattrcreate, Rxattrcreate,
    Treaddir, Rreaddir, Tfsync, Rfsync, Tlock, Rlock, Tgetlock, Rgetlock, Tlink, Rlink, Tmkdir,
    Rmkdir, Trenameat, Rrenameat, Tunlinkat, Runlinkat>;

// clang-format on

// One whole message: tag plus body. The type is the body's kType.
struct Message {
  uint16_t tag = NOTAG;
  Body body;
  // The message type number.
  uint8_t type() const;
  bool operator==(const Message&) const = default;
};

// ---- Codec -----------------------------------------------------------------

// Reads size[4] from the first 4 bytes; REQUIRES p has at least 4 bytes.
uint32_t PeekSize(const uint8_t* p);

// Decodes one whole frame (size[4] included) into *out. Every length is
// checked against the frame before it is read. A frame whose bytes do not
// parse (short, size field != span length, trailing bytes, a string or count
// past the end, nwname/nwqid > 16, stat sizes that disagree) gives EBADMSG;
// a type that is unknown or not of `dialect` gives EPROTO. The message names
// the message and field ("Twalk: nwname 17 > 16"). On error *out is
// unspecified. Views in *out point into `frame`. Allocates nothing on
// success. Rerror and Rlerror decode in either dialect.
Status Decode(std::span<const uint8_t> frame, Dialect dialect, Message* out);

// Number of bytes Encode will produce for m (whole frame, size[4] included).
size_t EncodedSize(const Message& m, Dialect dialect);

// Appends the frame of m to *out (reserving once). Fails (EMSGSIZE, *out
// unchanged) only when a field cannot be represented: a string over 65535
// bytes, more than 16 walk elements, a stat over 65535 bytes, a frame over
// 4 GiB. The dialect changes only Tauth/Tattach (n_uname is written in
// 9P2000.L); any message is encoded as given, whatever the dialect.
Status Encode(const Message& m, Dialect dialect, std::vector<uint8_t>* out);

// Size of a Stat's wire form including its own size[2].
size_t StatSize(const Stat& s);
// Appends a Stat's wire form (size[2] first), as found in directory reads.
void PutStat(const Stat& s, std::vector<uint8_t>* out);
// Writes a Stat into [p, p+StatSize(s)); REQUIRES room, every string at
// most 65535 bytes and StatSize(s) - 2 <= 65535.
void PutStatAt(const Stat& s, uint8_t* p);

// Iterates the stat entries of a 9P2000 directory read (an Rread's data).
class StatReader {
 public:
  // Views `data`; it must outlive the reader and every Stat it yields.
  explicit StatReader(std::span<const uint8_t> data) : data_(data) {}
  // Decodes the next entry into *s. Returns false at the end; sets error()
  // when the data is malformed (a partial or oversized entry).
  bool Next(Stat* s);
  // Non-OK when Next stopped because of malformed data.
  const Status& error() const { return err_; }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  Status err_;
};

// A 9P2000.L directory entry (one element of Rreaddir's data).
struct Dirent {
  Qid qid;
  uint64_t offset = 0;  // cookie to pass as Treaddir.offset to resume after it
  uint8_t type = 0;     // DT_* value
  std::string_view name;
  bool operator==(const Dirent&) const = default;
};

// Wire size of a Dirent: qid[13] offset[8] type[1] name[s].
inline size_t DirentSize(std::string_view name) { return 13 + 8 + 1 + 2 + name.size(); }
// Appends a Dirent's wire form.
void PutDirent(const Dirent& d, std::vector<uint8_t>* out);
// Writes a Dirent into [p, p+DirentSize(d.name)); REQUIRES room and a
// name of at most 65535 bytes.
void PutDirentAt(const Dirent& d, uint8_t* p);

// Iterates the entries of an Rreaddir's data.
class DirentReader {
 public:
  // Views `data`; it must outlive the reader and every Dirent it yields.
  explicit DirentReader(std::span<const uint8_t> data) : data_(data) {}
  // Decodes the next entry; false at the end or on malformed data (error()).
  bool Next(Dirent* d);
  // Non-OK when Next stopped because of malformed data.
  const Status& error() const { return err_; }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  Status err_;
};

// ---- Tracing ---------------------------------------------------------------

// One readable line for a message, as -D prints it and tests report it:
// "Twalk tag 3 fid 1 newfid 2 nwname 2 usr glenda". Every field is shown
// under its protocol name, in wire order; data payloads as a count and at
// most the first 16 bytes, quoted.
std::string FormatMessage(const Message& m);

}  // namespace ninep

#endif  // NINEP_WIRE_H_
