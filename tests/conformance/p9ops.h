// p9ops.h: one call per 9P operation over a RawConn, in whichever dialect
// the connection negotiated (Topen or Tlopen, Tstat or Tgetattr, ...), so a
// conformance test is written once and run in both dialects. Replies that
// are errors come back as a Status with the errno (Rlerror's, or the errno
// of Rerror's text) and the text.
// Thread-safety: as the RawConn.
#ifndef NINEP_TESTS_CONFORMANCE_P9OPS_H_
#define NINEP_TESTS_CONFORMANCE_P9OPS_H_

#include <fcntl.h>

#include <set>
#include <string>
#include <vector>

#include "conformance/raw9p.h"
#include "ninep/dir.h"
#include "testutil.h"

namespace ninep::testing {

// OK, or the error a reply (or the lack of one) stands for.
inline Status StatusOf(const Result<RawReply>& r) {
  if (!r.ok()) return r.status();
  if (r->type() == kRlerror)
    return Status(static_cast<int>(std::get<Rlerror>(r->msg.body).ecode), "Rlerror");
  if (r->type() == kRerror) {
    std::string t(std::get<Rerror>(r->msg.body).ename);
    return Status(TextToErrno(t), t);
  }
  return Status::Ok();
}

// 9P operations on a RawConn in its negotiated dialect.
class P9 {
 public:
  explicit P9(RawConn* c) : c_(*c) {}
  bool L() const { return c_.dialect == Dialect::k9P2000L; }
  RawConn& conn() { return c_; }

  // Tversion and Tattach of fid (the usual start).
  Status Start(std::string_view version, uint32_t fid, uint32_t msize = 65536) {
    Result<RawReply> v = c_.Version(msize, version);
    if (!v.ok()) return v.status();
    if (v->type() != kRversion) return Status(EPROTO, "no Rversion: " + v->Describe());
    return StatusOf(c_.Attach(c_.Tag(), fid));
  }
  Result<Qid> Attach(uint32_t fid, std::string_view uname = "glenda") {
    Result<RawReply> r = c_.Attach(c_.Tag(), fid, uname);
    if (Status s = StatusOf(r); !s.ok()) return s;
    return std::get<Rattach>(r->msg.body).qid;
  }
  // Twalk of names (none = clone). The qids of the reply.
  Result<std::vector<Qid>> Walk(uint32_t fid, uint32_t newfid,
                                const std::vector<std::string>& names) {
    Twalk t{fid, newfid, {}};
    for (auto& n : names) t.wname.push_back(n);
    Result<RawReply> r = c_.Call(t);
    if (Status s = StatusOf(r); !s.ok()) return s;
    std::vector<Qid> q;
    for (auto& x : std::get<Rwalk>(r->msg.body).wqid) q.push_back(x);
    return q;
  }
  // Topen, or Tlopen with the matching Linux flags.
  Result<Qid> Open(uint32_t fid, uint8_t mode) {
    Result<RawReply> r =
        L() ? c_.Call(Tlopen{fid, LinuxFlagsFromOmode(mode)}) : c_.Call(Topen{fid, mode});
    if (Status s = StatusOf(r); !s.ok()) return s;
    return L() ? std::get<Rlopen>(r->msg.body).qid : std::get<Ropen>(r->msg.body).qid;
  }
  // Creates a file (Tcreate, or Tlcreate); fid becomes the open file.
  Result<Qid> Create(uint32_t fid, std::string_view name, uint32_t perm, uint8_t mode) {
    Result<RawReply> r =
        L() ? c_.Call(Tlcreate{fid, name, LinuxFlagsFromOmode(mode) | O_CREAT, perm & 0777, 0})
            : c_.Call(Tcreate{fid, name, perm, mode});
    if (Status s = StatusOf(r); !s.ok()) return s;
    return L() ? std::get<Rlcreate>(r->msg.body).qid : std::get<Rcreate>(r->msg.body).qid;
  }
  // Makes a directory in dirfid, which stays where it is: Tmkdir, or a
  // Tcreate of DMDIR on a scratch clone (fid `scratch`, clunked after).
  Result<Qid> Mkdir(uint32_t dirfid, std::string_view name, uint32_t scratch = 999) {
    if (L()) {
      Result<RawReply> r = c_.Call(Tmkdir{dirfid, name, 0755, 0});
      if (Status s = StatusOf(r); !s.ok()) return s;
      return std::get<Rmkdir>(r->msg.body).qid;
    }
    if (auto w = Walk(dirfid, scratch, {}); !w.ok()) return w.status();
    Result<Qid> q = Create(scratch, name, DMDIR | 0755, OREAD);
    // Rclunk or Rerror, the fid is gone (clunk(5)); q is the outcome.
    Clunk(scratch).IgnoreError();
    return q;
  }
  Result<std::string> Read(uint32_t fid, uint64_t offset, uint32_t count) {
    Result<RawReply> r = c_.Call(Tread{fid, offset, count});
    if (Status s = StatusOf(r); !s.ok()) return s;
    auto d = std::get<Rread>(r->msg.body).data;
    return std::string(d.begin(), d.end());
  }
  Result<uint32_t> Write(uint32_t fid, uint64_t offset, std::string_view data) {
    Twrite t{fid, offset, {reinterpret_cast<const uint8_t*>(data.data()), data.size()}};
    Result<RawReply> r = c_.Call(t);
    if (Status s = StatusOf(r); !s.ok()) return s;
    return std::get<Rwrite>(r->msg.body).count;
  }
  // Tstat, or Tgetattr of everything (name left empty in 9P2000.L).
  Result<Dir> Stat(uint32_t fid) {
    Result<RawReply> r = L() ? c_.Call(Tgetattr{fid, P9_GETATTR_ALL}) : c_.Call(Tstat{fid});
    if (Status s = StatusOf(r); !s.ok()) return s;
    if (L()) return DirFromGetattr(std::get<Rgetattr>(r->msg.body), "");
    return DirFromStat(std::get<Rstat>(r->msg.body).stat);
  }
  Status Clunk(uint32_t fid) { return StatusOf(c_.Call(Tclunk{fid})); }
  Status Remove(uint32_t fid) { return StatusOf(c_.Call(Tremove{fid})); }
  // Reads the open directory fid to its end with reads of `count` bytes,
  // checking that every reply holds whole entries only. Returns the names.
  Result<std::vector<std::string>> ReadDirAll(uint32_t fid, uint32_t count) {
    std::vector<std::string> names;
    uint64_t offset = 0;
    for (int i = 0; i < 100000; i++) {
      Result<RawReply> r =
          L() ? c_.Call(Treaddir{fid, offset, count}) : c_.Call(Tread{fid, offset, count});
      if (Status s = StatusOf(r); !s.ok()) return s;
      std::span<const uint8_t> data =
          L() ? std::get<Rreaddir>(r->msg.body).data : std::get<Rread>(r->msg.body).data;
      if (data.size() > count) return Status(EPROTO, "reply larger than count");
      if (data.empty()) return names;
      if (L()) {
        DirentReader rd(data);
        Dirent d;
        size_t used = 0;
        while (rd.Next(&d)) {
          names.emplace_back(d.name);
          offset = d.offset;
          used += DirentSize(d.name);
        }
        if (!rd.error().ok() || used != data.size()) return Status(EPROTO, "split dirent");
      } else {
        StatReader rd(data);
        ninep::Stat s;
        size_t used = 0;
        while (rd.Next(&s)) {
          names.emplace_back(s.name);
          used += StatSize(s);
        }
        if (!rd.error().ok() || used != data.size()) return Status(EPROTO, "split stat entry");
        offset += data.size();
      }
    }
    return Status(ELOOP, "directory read never ended");
  }
  // Changes a file: Twstat of `s`, or Tsetattr/Trenameat for what it holds.
  // In 9P2000.L, a rename needs the parent's fid (dirfid).
  Status Wstat(uint32_t fid, const ninep::Stat& s, uint32_t dirfid = NOFID,
               std::string_view oldname = "") {
    if (!L()) return StatusOf(c_.Call(Twstat{fid, s}));
    if (!s.name.empty()) {
      Status r = StatusOf(c_.Call(Trenameat{dirfid, oldname, dirfid, s.name}));
      if (!r.ok()) return r;
    }
    Tsetattr a{};
    a.fid = fid;
    if (s.mode != ~0u) a.valid |= P9_SETATTR_MODE, a.mode = s.mode & 07777;
    if (s.length != ~0ull) a.valid |= P9_SETATTR_SIZE, a.size = s.length;
    if (s.mtime != ~0u) a.valid |= P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET, a.mtime_sec = s.mtime;
    if (a.valid == 0) return Status::Ok();
    return StatusOf(c_.Call(a));
  }

 private:
  RawConn& c_;
};

// The version string of a dialect.
inline std::string_view VersionOf(Dialect d) {
  return d == Dialect::k9P2000L ? "9P2000.L" : "9P2000";
}
// "9P2000" / "9P2000L" for test names.
inline std::string DialectName(Dialect d) { return d == Dialect::k9P2000L ? "9P2000L" : "9P2000"; }

}  // namespace ninep::testing

#endif  // NINEP_TESTS_CONFORMANCE_P9OPS_H_
