// wire_trace.cc: FormatMessage, the one-line form of a message that -D
// prints and tests report. Shaped after Plan 9's fcallfmt: "name tag N"
// then the fields as "key value"; qids as "(path version type)" with the
// path in 16 hex digits and the type as letters (d a l A t L). The fields,
// their names and order come from wire_fields.h, the list the codec walks.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "ninep/wire.h"
#include "wire_fields.h"

namespace ninep {
namespace {

using internal::Show;

// The trace visitor of wire_fields.h: appends " key value" for each field
// the list names, shown as its Show says. Every field is printed; only
// n_uname is left out when unset, as 9P2000 has no such field.
class Line {
 public:
  explicit Line(std::string* s) : s_(*s) {}

  // Prints every field, whichever dialect the message came in.
  bool dotl() const { return true; }

  void U8(uint8_t v, const char* key, Show show = {}) { Num(key, v, show); }
  void U16(uint16_t v, const char* key, Show show = {}) { Num(key, v, show); }
  void U32(uint32_t v, const char* key, Show show = {}) { Num(key, v, show); }
  void U64(uint64_t v, const char* key, Show show = {}) { Num(key, v, show); }
  void OptU32(uint32_t v, const char* key, Show show = {}) { Num(key, v, show); }
  void Q(const Qid& q, const char* key) {
    Key(key);
    QidText(q);
  }
  void Str(std::string_view v, const char* key) {
    Key(key);
    Text(v);
  }
  // "nwname N" and the names, bare.
  void Names(const WalkArray<std::string_view>& a) {
    Num("nwname", a.n);
    for (size_t i = 0; i < std::min<size_t>(a.n, MAXWELEM); i++) {
      s_ += ' ';
      Text(a.v[i]);
    }
  }
  // "nwqid N" and the qids.
  void Qids(const WalkArray<Qid>& a) {
    Num("nwqid", a.n);
    for (size_t i = 0; i < std::min<size_t>(a.n, MAXWELEM); i++) {
      s_ += ' ';
      QidText(a.v[i]);
    }
  }
  // "count N 'first bytes'", with "..." when more than 16 bytes; for
  // dirents, the count and the first few names (the data is binary).
  void Data(std::span<const uint8_t> d, Show show = {}) {
    Num("count", d.size());
    if (show == Show::kDirents) return DirentNames(d);
    s_ += ' ';
    Quoted(d.data(), std::min<size_t>(d.size(), 16), d.size());
  }
  // "stat" and the entry's fields, named without their "stat." prefix.
  void NStat(const Stat& st) {
    s_ += " stat";
    internal::StatFields(*this, st);
  }

 private:
  void Num(const char* key, uint64_t v, Show show = {}) {
    if (show == Show::kUnset && v == NONUNAME) return;
    Key(key);
    char b[28];
    switch (show) {
      case Show::kHex:
        snprintf(b, sizeof b, "%#" PRIx64, v);
        s_ += b;
        break;
      case Show::kOct:
        snprintf(b, sizeof b, "%#" PRIo64, v);
        s_ += b;
        break;
      case Show::kPerm:
        DirMode(static_cast<uint32_t>(v));
        break;
      case Show::kErrno:
        s_ += std::to_string(v);
        s_ += " (";
        s_ += ErrnoToText(static_cast<int>(v));
        s_ += ')';
        break;
      default:
        s_ += std::to_string(v);
    }
  }
  void Key(const char* key) {
    if (const char* dot = std::strrchr(key, '.')) key = dot + 1;
    s_ += ' ';
    s_ += key;
    s_ += ' ';
  }
  // A string bare when it is plain, quoted with escapes otherwise (empty,
  // blanks, quotes, control bytes), so the line splits unambiguously.
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
  // Plan 9 qidfmt: "(path version type)", the path in 16 hex digits and the
  // type as letters.
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
  // Plan 9 dirmodefmt: kind letters, then rwx triplets.
  void DirMode(uint32_t m) {
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
  // The first eight names of an Rreaddir's entries.
  void DirentNames(std::span<const uint8_t> d) {
    DirentReader r(d);
    Dirent e;
    for (int i = 0; r.Next(&e); i++) {
      if (i == 8) {
        s_ += " ...";
        return;
      }
      s_ += ' ';
      Text(e.name);
    }
    if (!r.error().ok()) s_ += " (malformed)";
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

}  // namespace

std::string FormatMessage(const Message& m) {
  std::string s;
  s.reserve(96);
  s += MsgTypeName(m.type());
  s += " tag ";
  s += std::to_string(m.tag);
  Line l(&s);
  std::visit([&](const auto& b) { internal::Fields(l, b); }, m.body);
  return s;
}

}  // namespace ninep
