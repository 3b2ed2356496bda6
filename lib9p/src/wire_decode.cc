// wire_decode.cc: Decode, StatReader and DirentReader. Every read is checked
// against [p, end) before it happens; nothing is allocated unless the frame
// is malformed (then only the error text).
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <utility>

#include "ninep/wire.h"
#include "wire_fields.h"

namespace ninep {
namespace {

using internal::LoadLE;

std::string Printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Printf(const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return "?";
  return std::string(buf, std::min<size_t>(n, sizeof buf - 1));
}

// A cursor over [p, end) that fills message fields (the visitor of
// wire_fields.h). The first failure is recorded (kind, field, numbers) and
// every later read fails too; the text is built only when asked for.
class Reader {
 public:
  Reader(const uint8_t* p, const uint8_t* end, bool dotl) : p_(p), end_(end), dotl_(dotl) {}

  bool dotl() const { return dotl_; }
  bool failed() const { return kind_ != kNone; }
  const uint8_t* pos() const { return p_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }

  void U8(uint8_t& v, const char* f, internal::Show = {}) {
    if (Need(1, f)) v = *p_++;
  }
  void U16(uint16_t& v, const char* f, internal::Show = {}) {
    if (Need(2, f)) {
      v = LoadLE<uint16_t>(p_);
      p_ += 2;
    }
  }
  void U32(uint32_t& v, const char* f, internal::Show = {}) {
    if (Need(4, f)) {
      v = LoadLE<uint32_t>(p_);
      p_ += 4;
    }
  }
  void U64(uint64_t& v, const char* f, internal::Show = {}) {
    if (Need(8, f)) {
      v = LoadLE<uint64_t>(p_);
      p_ += 8;
    }
  }
  void Q(Qid& q, const char* f, int idx = -1) {
    if (Need(13, f, idx)) {
      q.type = p_[0];
      q.version = LoadLE<uint32_t>(p_ + 1);
      q.path = LoadLE<uint64_t>(p_ + 5);
      p_ += 13;
    }
  }
  void Str(std::string_view& s, const char* f, int idx = -1) {
    if (!Need(2, f, idx)) return;
    const size_t n = LoadLE<uint16_t>(p_);
    if (n > left() - 2) return Fail(kStrLen, f, idx, n, left() - 2);
    s = std::string_view(reinterpret_cast<const char*>(p_ + 2), n);
    p_ += 2 + n;
  }
  void Names(WalkArray<std::string_view>& a) {
    uint16_t n = 0;
    U16(n, "nwname");
    if (failed()) return;
    if (n > MAXWELEM) return Fail(kTooMany, "nwname", -1, n, MAXWELEM);
    for (int i = 0; i < n && !failed(); i++) Str(a.v[i], "wname", i);
    a.n = n;
  }
  void Qids(WalkArray<Qid>& a) {
    uint16_t n = 0;
    U16(n, "nwqid");
    if (failed()) return;
    if (n > MAXWELEM) return Fail(kTooMany, "nwqid", -1, n, MAXWELEM);
    for (int i = 0; i < n && !failed(); i++) Q(a.v[i], "wqid", i);
    a.n = n;
  }
  // count[4] data[count]; always the last field, so count must be exactly
  // what remains of the frame.
  void Data(std::span<const uint8_t>& d, internal::Show = {}) {
    uint32_t n = 0;
    U32(n, "count");
    if (failed()) return;
    if (n != left()) return Fail(kCount, "count", -1, n, left());
    d = std::span<const uint8_t>(p_, n);
    p_ += n;
  }
  // n[2] stat[n] (Rstat, Twstat): n is what remains, and the stat's own
  // size[2] is n - 2.
  void NStat(Stat& s) {
    uint16_t n = 0;
    U16(n, "n");
    if (failed()) return;
    if (n != left()) return Fail(kCount, "n", -1, n, left());
    if (n >= 2) {
      const size_t size = LoadLE<uint16_t>(p_);
      if (size + 2 != n) return Fail(kNStat, "stat.size", -1, size, n);
    }
    StatEntry(s);
  }
  // size[2] then the stat fields, which must use exactly size bytes.
  void StatEntry(Stat& s) {
    uint16_t size = 0;
    U16(size, "stat.size");
    if (failed()) return;
    if (size > left()) return Fail(kStatBig, "stat.size", -1, size, left());
    const uint8_t* outer_end = end_;
    const uint8_t* start = p_;
    end_ = p_ + size;
    internal::StatFields(*this, s);
    if (!failed() && p_ != end_) Fail(kStatSlack, "stat.size", -1, size, p_ - start);
    end_ = outer_end;
    if (failed()) p_ = end_;
  }
  void OptU32(uint32_t& v, const char* f, internal::Show = {}) {
    if (p_ != end_) U32(v, f);
  }
  // Fails when bytes remain after the body.
  void End() {
    if (!failed() && p_ != end_) Fail(kTrailing, "", -1, left(), 0);
  }

  // "field: what" for the first failure.
  std::string Reason() const {
    std::string f = field_;
    if (idx_ >= 0) {
      f += '[';
      f += std::to_string(idx_);
      f += ']';
    }
    const char* fc = f.c_str();
    switch (kind_) {
      case kNone:
        return "ok";
      case kShort:
        return Printf("%s: need %zu bytes, %zu left", fc, a_, b_);
      case kStrLen:
        return Printf("%s: string length %zu > %zu bytes left", fc, a_, b_);
      case kTooMany:
        return Printf("%s %zu > %zu", fc, a_, b_);
      case kCount:
        return Printf("%s %zu != %zu bytes left in frame", fc, a_, b_);
      case kNStat:
        return Printf("%s %zu != n %zu - 2", fc, a_, b_);
      case kStatBig:
        return Printf("%s %zu > %zu bytes left", fc, a_, b_);
      case kStatSlack:
        return Printf("%s %zu but its fields use %zu", fc, a_, b_);
      case kTrailing:
        return Printf("%zu trailing bytes after body", a_);
    }
    return "?";
  }

 private:
  enum Kind { kNone, kShort, kStrLen, kTooMany, kCount, kNStat, kStatBig, kStatSlack, kTrailing };

  bool Need(size_t n, const char* f, int idx = -1) {
    if (left() >= n) [[likely]]
      return true;
    Fail(kShort, f, idx, n, left());
    return false;
  }
  void Fail(Kind k, const char* f, int idx, size_t a, size_t b) {
    if (!failed()) {
      kind_ = k;
      field_ = f;
      idx_ = idx;
      a_ = a;
      b_ = b;
    }
    p_ = end_;  // every later read fails
  }

  const uint8_t* p_;
  const uint8_t* end_;
  bool dotl_;
  Kind kind_ = kNone;
  const char* field_ = "";
  int idx_ = -1;
  size_t a_ = 0, b_ = 0;
};

using DecodeFn = Status (*)(Reader&, Message*);

template <class T>
Status DecodeAs(Reader& r, Message* out) {
  T& m = out->body.emplace<T>();
  internal::Fields(r, m);
  r.End();
  if (!r.failed()) [[likely]]
    return Status();
  std::string msg(MsgTypeName(T::kType));
  msg += ": ";
  msg += r.Reason();
  return Status(EBADMSG, std::move(msg));
}

template <size_t... I>
constexpr std::array<DecodeFn, 256> MakeDecoders(std::index_sequence<I...>) {
  std::array<DecodeFn, 256> t{};
  ((t[std::variant_alternative_t<I, Body>::kType] = &DecodeAs<std::variant_alternative_t<I, Body>>),
   ...);
  return t;
}

constexpr std::array<DecodeFn, 256> kDecoders =
    MakeDecoders(std::make_index_sequence<std::variant_size_v<Body>>{});

}  // namespace

Status Decode(std::span<const uint8_t> frame, Dialect dialect, Message* out) {
  if (frame.size() < HDRSZ) [[unlikely]]
    return Status(EBADMSG, Printf("frame: %zu bytes < %u-byte header", frame.size(), HDRSZ));
  const uint8_t* p = frame.data();
  const uint32_t size = PeekSize(p);
  if (size != frame.size()) [[unlikely]]
    return Status(EBADMSG, Printf("frame: size field %u != frame length %zu", size, frame.size()));
  const uint8_t type = p[4];
  const DecodeFn fn = kDecoders[type];
  if (fn == nullptr) [[unlikely]]
    return Status(EPROTO, Printf("unknown message type %u", type));
  if (dialect != Dialect::k9P2000L && internal::DotLOnly(type)) [[unlikely]] {
    const std::string_view name = MsgTypeName(type);
    return Status(EPROTO, Printf("message type %.*s not in 9P2000", static_cast<int>(name.size()),
                                 name.data()));
  }
  out->tag = LoadLE<uint16_t>(p + 5);
  Reader r(p + HDRSZ, p + frame.size(), dialect == Dialect::k9P2000L);
  return fn(r, out);
}

bool StatReader::Next(Stat* s) {
  if (!err_.ok() || pos_ >= data_.size()) return false;
  Reader r(data_.data() + pos_, data_.data() + data_.size(), false);
  *s = Stat();
  r.StatEntry(*s);
  if (r.failed()) {
    err_ = Status(EBADMSG, Printf("stat entry at offset %zu: ", pos_) + r.Reason());
    return false;
  }
  pos_ = static_cast<size_t>(r.pos() - data_.data());
  return true;
}

bool DirentReader::Next(Dirent* d) {
  if (!err_.ok() || pos_ >= data_.size()) return false;
  Reader r(data_.data() + pos_, data_.data() + data_.size(), true);
  *d = Dirent();
  internal::DirentFields(r, *d);
  if (r.failed()) {
    err_ = Status(EBADMSG, Printf("dirent at offset %zu: ", pos_) + r.Reason());
    return false;
  }
  pos_ = static_cast<size_t>(r.pos() - data_.data());
  return true;
}

}  // namespace ninep
