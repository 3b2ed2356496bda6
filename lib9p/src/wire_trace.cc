// wire_trace.cc: FormatMessage, the one-line form of a message that -D
// prints and tests report. Shaped after Plan 9's fcallfmt: "name tag N"
// then the fields as "key value"; qids as "(path version type)" with the
// path in 16 hex digits and the type as letters (d a l A t L).
#include <cinttypes>
#include <cstdio>

#include "ninep/wire.h"

namespace ninep {
namespace {

class Line {
 public:
  explicit Line(std::string* s) : s_(*s) {}

  void Num(const char* key, uint64_t v) {
    Key(key);
    s_ += std::to_string(v);
  }
  void Hex(const char* key, uint64_t v) {
    char b[24];
    snprintf(b, sizeof b, "%#" PRIx64, v);
    Key(key);
    s_ += b;
  }
  void Oct(const char* key, uint64_t v) {
    char b[28];
    snprintf(b, sizeof b, "%#" PRIo64, v);
    Key(key);
    s_ += b;
  }
  // A string bare when it is plain, quoted with escapes otherwise (empty,
  // blanks, quotes, control bytes), so the line splits unambiguously.
  void Str(const char* key, std::string_view v) {
    Key(key);
    Text(v);
  }
  void Text(std::string_view v) {
    bool plain = !v.empty();
    for (unsigned char c : v)
      if (c <= ' ' || c == '\'' || c == '\\' || c >= 0x7f) plain = false;
    if (plain) {
      s_ += v;
      return;
    }
    Quoted(reinterpret_cast<const uint8_t*>(v.data()), v.size(), v.size());
  }
  void Q(const char* key, const Qid& q) {
    Key(key);
    QidText(q);
  }
  void QidText(const Qid& q) {
    char t[8], *p = t;
    if (q.type & QTDIR) *p++ = 'd';
    if (q.type & QTAPPEND) *p++ = 'a';
    if (q.type & QTEXCL) *p++ = 'l';
    if (q.type & QTAUTH) *p++ = 'A';
    if (q.type & QTTMP) *p++ = 't';
    if (q.type & QTSYMLINK) *p++ = 'L';
    *p = 0;
    char b[64];
    snprintf(b, sizeof b, "(%016" PRIx64 " %" PRIu32 " %s)", q.path, q.version, t);
    s_ += b;
  }
  // "count N 'first bytes'", with "..." when more than 16 bytes.
  void Data(std::span<const uint8_t> d) {
    Num("count", d.size());
    s_ += ' ';
    Quoted(d.data(), std::min<size_t>(d.size(), 16), d.size());
  }
  // Plan 9 dirmodefmt: kind letters, then rwx triplets.
  void DirMode(const char* key, uint32_t m) {
    Key(key);
    size_t before = s_.size();
    if (m & DMDIR) s_ += 'd';
    if (m & DMAPPEND) s_ += 'a';
    if (m & DMAUTH) s_ += 'A';
    if (m & DMEXCL) s_ += 'l';
    if (m & DMTMP) s_ += 't';
    if (m & DMSYMLINK) s_ += 'L';
    if (s_.size() == before) s_ += '-';
    static const char kRwx[] = "rwxrwxrwx";
    for (int i = 0; i < 9; i++) s_ += (m & (0400 >> i)) ? kRwx[i] : '-';
  }
  void StatText(const Stat& st) {
    s_ += " stat ";
    Quoted(reinterpret_cast<const uint8_t*>(st.name.data()), st.name.size(), st.name.size());
    for (std::string_view v : {st.uid, st.gid, st.muid}) {
      s_ += ' ';
      Quoted(reinterpret_cast<const uint8_t*>(v.data()), v.size(), v.size());
    }
    Q("q", st.qid);
    Oct("m", st.mode);
    Num("at", st.atime);
    Num("mt", st.mtime);
    Num("l", st.length);
    Num("t", st.type);
    Num("d", st.dev);
  }
  void Raw(std::string_view v) { s_ += v; }

 private:
  void Key(const char* key) {
    s_ += ' ';
    s_ += key;
    s_ += ' ';
  }
  // 'shown' of 'total' bytes, quoted; non-printables escaped.
  void Quoted(const uint8_t* p, size_t shown, size_t total) {
    s_ += '\'';
    for (size_t i = 0; i < shown; i++) {
      const uint8_t c = p[i];
      switch (c) {
        case '\n':
          s_ += "\\n";
          break;
        case '\t':
          s_ += "\\t";
          break;
        case '\r':
          s_ += "\\r";
          break;
        case '\\':
          s_ += "\\\\";
          break;
        case '\'':
          s_ += "\\'";
          break;
        default:
          if (c >= 0x20 && c < 0x7f) {
            s_ += static_cast<char>(c);
          } else {
            char b[8];
            snprintf(b, sizeof b, "\\x%02x", c);
            s_ += b;
          }
      }
    }
    s_ += '\'';
    if (shown < total) s_ += "...";
  }

  std::string& s_;
};

void Fields(Line& l, const Tversion& m) {
  l.Num("msize", m.msize);
  l.Str("version", m.version);
}
void Fields(Line& l, const Rversion& m) {
  l.Num("msize", m.msize);
  l.Str("version", m.version);
}
void Fields(Line& l, const Tauth& m) {
  l.Num("afid", m.afid);
  l.Str("uname", m.uname);
  l.Str("aname", m.aname);
  if (m.n_uname != NONUNAME) l.Num("n_uname", m.n_uname);
}
void Fields(Line& l, const Rauth& m) { l.Q("qid", m.aqid); }
void Fields(Line& l, const Tattach& m) {
  l.Num("fid", m.fid);
  l.Num("afid", m.afid);
  l.Str("uname", m.uname);
  l.Str("aname", m.aname);
  if (m.n_uname != NONUNAME) l.Num("n_uname", m.n_uname);
}
void Fields(Line& l, const Rattach& m) { l.Q("qid", m.qid); }
void Fields(Line& l, const Rerror& m) { l.Str("ename", m.ename); }
void Fields(Line& l, const Tflush& m) { l.Num("oldtag", m.oldtag); }
void Fields(Line& l, const Twalk& m) {
  l.Num("fid", m.fid);
  l.Num("newfid", m.newfid);
  l.Num("nwname", m.wname.n);
  for (size_t i = 0; i < std::min<size_t>(m.wname.n, MAXWELEM); i++) {
    l.Raw(" ");
    l.Text(m.wname.v[i]);
  }
}
void Fields(Line& l, const Rwalk& m) {
  l.Num("nwqid", m.wqid.n);
  for (size_t i = 0; i < std::min<size_t>(m.wqid.n, MAXWELEM); i++) {
    l.Raw(" ");
    l.QidText(m.wqid.v[i]);
  }
}
void Fields(Line& l, const Topen& m) {
  l.Num("fid", m.fid);
  l.Num("mode", m.mode);
}
void Fields(Line& l, const Ropen& m) {
  l.Q("qid", m.qid);
  l.Num("iounit", m.iounit);
}
void Fields(Line& l, const Tcreate& m) {
  l.Num("fid", m.fid);
  l.Str("name", m.name);
  l.DirMode("perm", m.perm);
  l.Num("mode", m.mode);
}
void Fields(Line& l, const Rcreate& m) {
  l.Q("qid", m.qid);
  l.Num("iounit", m.iounit);
}
void Fields(Line& l, const Tread& m) {
  l.Num("fid", m.fid);
  l.Num("offset", m.offset);
  l.Num("count", m.count);
}
void Fields(Line& l, const Rread& m) { l.Data(m.data); }
void Fields(Line& l, const Twrite& m) {
  l.Num("fid", m.fid);
  l.Num("offset", m.offset);
  l.Data(m.data);
}
void Fields(Line& l, const Rwrite& m) { l.Num("count", m.count); }
void Fields(Line& l, const Tclunk& m) { l.Num("fid", m.fid); }
void Fields(Line& l, const Tremove& m) { l.Num("fid", m.fid); }
void Fields(Line& l, const Tstat& m) { l.Num("fid", m.fid); }
void Fields(Line& l, const Rstat& m) { l.StatText(m.stat); }
void Fields(Line& l, const Twstat& m) {
  l.Num("fid", m.fid);
  l.StatText(m.stat);
}
void Fields(Line& l, const Rlerror& m) {
  l.Num("ecode", m.ecode);
  l.Raw(" (");
  l.Raw(ErrnoToText(static_cast<int>(m.ecode)));
  l.Raw(")");
}
void Fields(Line& l, const Tstatfs& m) { l.Num("fid", m.fid); }
void Fields(Line& l, const Rstatfs& m) {
  l.Hex("type", m.type);
  l.Num("bsize", m.bsize);
  l.Num("blocks", m.blocks);
  l.Num("bfree", m.bfree);
  l.Num("bavail", m.bavail);
  l.Num("files", m.files);
  l.Num("ffree", m.ffree);
  l.Hex("fsid", m.fsid);
  l.Num("namelen", m.namelen);
}
void Fields(Line& l, const Tlopen& m) {
  l.Num("fid", m.fid);
  l.Oct("flags", m.flags);
}
void Fields(Line& l, const Rlopen& m) {
  l.Q("qid", m.qid);
  l.Num("iounit", m.iounit);
}
void Fields(Line& l, const Tlcreate& m) {
  l.Num("fid", m.fid);
  l.Str("name", m.name);
  l.Oct("flags", m.flags);
  l.Oct("mode", m.mode);
  l.Num("gid", m.gid);
}
void Fields(Line& l, const Rlcreate& m) {
  l.Q("qid", m.qid);
  l.Num("iounit", m.iounit);
}
void Fields(Line& l, const Tsymlink& m) {
  l.Num("fid", m.fid);
  l.Str("name", m.name);
  l.Str("symtgt", m.symtgt);
  l.Num("gid", m.gid);
}
void Fields(Line& l, const Rsymlink& m) { l.Q("qid", m.qid); }
void Fields(Line& l, const Tmknod& m) {
  l.Num("dfid", m.dfid);
  l.Str("name", m.name);
  l.Oct("mode", m.mode);
  l.Num("major", m.major);
  l.Num("minor", m.minor);
  l.Num("gid", m.gid);
}
void Fields(Line& l, const Rmknod& m) { l.Q("qid", m.qid); }
void Fields(Line& l, const Trename& m) {
  l.Num("fid", m.fid);
  l.Num("dfid", m.dfid);
  l.Str("name", m.name);
}
void Fields(Line& l, const Treadlink& m) { l.Num("fid", m.fid); }
void Fields(Line& l, const Rreadlink& m) { l.Str("target", m.target); }
void Fields(Line& l, const Tgetattr& m) {
  l.Num("fid", m.fid);
  l.Hex("request_mask", m.request_mask);
}
void Fields(Line& l, const Rgetattr& m) {
  l.Hex("valid", m.valid);
  l.Q("qid", m.qid);
  l.Oct("mode", m.mode);
  l.Num("uid", m.uid);
  l.Num("gid", m.gid);
  l.Num("nlink", m.nlink);
  l.Num("rdev", m.rdev);
  l.Num("size", m.size);
  l.Num("blksize", m.blksize);
  l.Num("blocks", m.blocks);
  l.Num("atime", m.atime_sec);
  l.Num("mtime", m.mtime_sec);
  l.Num("ctime", m.ctime_sec);
}
void Fields(Line& l, const Tsetattr& m) {
  l.Num("fid", m.fid);
  l.Hex("valid", m.valid);
  l.Oct("mode", m.mode);
  l.Num("uid", m.uid);
  l.Num("gid", m.gid);
  l.Num("size", m.size);
  l.Num("atime", m.atime_sec);
  l.Num("mtime", m.mtime_sec);
}
void Fields(Line& l, const Txattrwalk& m) {
  l.Num("fid", m.fid);
  l.Num("newfid", m.newfid);
  l.Str("name", m.name);
}
void Fields(Line& l, const Rxattrwalk& m) { l.Num("size", m.size); }
void Fields(Line& l, const Txattrcreate& m) {
  l.Num("fid", m.fid);
  l.Str("name", m.name);
  l.Num("attr_size", m.attr_size);
  l.Num("flags", m.flags);
}
void Fields(Line& l, const Treaddir& m) {
  l.Num("fid", m.fid);
  l.Num("offset", m.offset);
  l.Num("count", m.count);
}
// The count, then the first few names (the data itself is binary).
void Fields(Line& l, const Rreaddir& m) {
  l.Num("count", m.data.size());
  DirentReader r(m.data);
  Dirent d;
  for (int i = 0; r.Next(&d); i++) {
    if (i == 8) {
      l.Raw(" ...");
      return;
    }
    l.Raw(" ");
    l.Text(d.name);
  }
  if (!r.error().ok()) l.Raw(" (malformed)");
}
void Fields(Line& l, const Tfsync& m) {
  l.Num("fid", m.fid);
  l.Num("datasync", m.datasync);
}
void Fields(Line& l, const Tlock& m) {
  l.Num("fid", m.fid);
  l.Num("type", m.type);
  l.Num("flags", m.flags);
  l.Num("start", m.start);
  l.Num("length", m.length);
  l.Num("proc_id", m.proc_id);
  l.Str("client_id", m.client_id);
}
void Fields(Line& l, const Rlock& m) { l.Num("status", m.status); }
void Fields(Line& l, const Tgetlock& m) {
  l.Num("fid", m.fid);
  l.Num("type", m.type);
  l.Num("start", m.start);
  l.Num("length", m.length);
  l.Num("proc_id", m.proc_id);
  l.Str("client_id", m.client_id);
}
void Fields(Line& l, const Rgetlock& m) {
  l.Num("type", m.type);
  l.Num("start", m.start);
  l.Num("length", m.length);
  l.Num("proc_id", m.proc_id);
  l.Str("client_id", m.client_id);
}
void Fields(Line& l, const Tlink& m) {
  l.Num("dfid", m.dfid);
  l.Num("fid", m.fid);
  l.Str("name", m.name);
}
void Fields(Line& l, const Tmkdir& m) {
  l.Num("dfid", m.dfid);
  l.Str("name", m.name);
  l.Oct("mode", m.mode);
  l.Num("gid", m.gid);
}
void Fields(Line& l, const Rmkdir& m) { l.Q("qid", m.qid); }
void Fields(Line& l, const Trenameat& m) {
  l.Num("olddirfid", m.olddirfid);
  l.Str("oldname", m.oldname);
  l.Num("newdirfid", m.newdirfid);
  l.Str("newname", m.newname);
}
void Fields(Line& l, const Tunlinkat& m) {
  l.Num("dirfd", m.dirfd);
  l.Str("name", m.name);
  l.Oct("flags", m.flags);
}
// Replies without a body.
template <class T>
requires std::is_empty_v<T>
void Fields(Line&, const T&) {}

}  // namespace

std::string FormatMessage(const Message& m) {
  std::string s;
  s.reserve(96);
  s += MsgTypeName(m.type());
  s += " tag ";
  s += std::to_string(m.tag);
  Line l(&s);
  std::visit([&](const auto& b) { Fields(l, b); }, m.body);
  return s;
}

}  // namespace ninep
