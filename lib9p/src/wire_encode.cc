// wire_encode.cc: EncodedSize, Encode, and the stat/dirent writers. The
// frame is sized first (one reservation), then written through a cursor
// that, once it overflows or meets an unrepresentable field, stays failed:
// one check at the end.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include "ninep/wire.h"
#include "wire_fields.h"

namespace ninep {
namespace {

using internal::StoreLE;

// True when a forward copy of n bytes from src to dst would be slow:
// glibc's forward copy (rep movsb on this AMD hardware) runs 10-50x slower
// when dst is a few bytes past src modulo 4 KiB, as loads falsely wait on
// the stores just made to the same page offset. That is the usual layout
// here: a read buffer, then the reply buffer allocated right after it, the
// payload at offset 11.
bool AliasesForward(const uint8_t* dst, const uint8_t* src, size_t n) {
  const uintptr_t delta =
      (reinterpret_cast<uintptr_t>(dst) - reinterpret_cast<uintptr_t>(src)) & 4095;
  return n >= 256 && delta != 0 && delta < 64;
}

// Copies a payload; backward in 64-byte blocks when AliasesForward, so no
// load follows a store it could alias.
void CopyPayload(uint8_t* dst, const uint8_t* src, size_t n) {
  if (!AliasesForward(dst, src, n)) {
    std::memcpy(dst, src, n);
    return;
  }
  size_t i = n;
  while (i >= 64) {
    i -= 64;
    std::memcpy(dst + i, src + i, 64);
  }
  std::memcpy(dst, src, i);
}

// Counts the bytes a message's fields take (the visitor of wire_fields.h).
// Walk arrays are clamped to MAXWELEM here so the count never reads past
// the array; Encode rejects such arrays.
class Sizer {
 public:
  explicit Sizer(bool dotl) : dotl_(dotl) {}
  bool dotl() const { return dotl_; }
  size_t n = 0;

  void U8(uint8_t, const char*, internal::Show = {}) { n += 1; }
  void U16(uint16_t, const char*, internal::Show = {}) { n += 2; }
  void U32(uint32_t, const char*, internal::Show = {}) { n += 4; }
  void U64(uint64_t, const char*, internal::Show = {}) { n += 8; }
  void Q(const Qid&, const char*) { n += 13; }
  void Str(std::string_view s, const char*) { n += 2 + s.size(); }
  void Names(const WalkArray<std::string_view>& a) {
    n += 2;
    for (size_t i = 0; i < std::min<size_t>(a.n, MAXWELEM); i++) n += 2 + a.v[i].size();
  }
  void Qids(const WalkArray<Qid>& a) { n += 2 + 13 * std::min<size_t>(a.n, MAXWELEM); }
  void Data(std::span<const uint8_t> d, internal::Show = {}) { n += 4 + d.size(); }
  void NStat(const Stat& s) { n += 2 + StatSize(s); }
  void OptU32(uint32_t, const char*, internal::Show = {}) { n += 4; }

 private:
  bool dotl_;
};

// Writes fields into [p, end). The first problem (no room, or a value the
// wire cannot carry) is recorded and every later write is dropped.
class Writer {
 public:
  Writer(uint8_t* p, uint8_t* end, bool dotl, bool defer_data)
      : p_(p), end_(end), dotl_(dotl), defer_data_(defer_data) {}

  bool dotl() const { return dotl_; }
  // True when everything fit exactly.
  bool ok() const { return !overflow_ && bad_ == nullptr && p_ == end_; }
  // Why !ok(), for an EMSGSIZE (or, on overflow, an internal error).
  Status Error(std::string_view msgname) const {
    std::string m(msgname);
    m += ": ";
    if (bad_ != nullptr) {
      m += bad_;
      if (bad_idx_ >= 0) {
        m += '[';
        m += std::to_string(bad_idx_);
        m += ']';
      }
      m += ' ';
      m += std::to_string(bad_val_);
      m += " > ";
      m += std::to_string(bad_max_);
      return Status(EMSGSIZE, std::move(m));
    }
    m += overflow_ ? "encoder overflow (size mismatch, a bug)" : "encoder underfill (a bug)";
    return Status(EIO, std::move(m));
  }

  void U8(uint8_t v, const char*, internal::Show = {}) {
    if (Room(1)) *p_++ = v;
  }
  void U16(uint16_t v, const char*, internal::Show = {}) {
    if (Room(2)) {
      StoreLE(p_, v);
      p_ += 2;
    }
  }
  void U32(uint32_t v, const char*, internal::Show = {}) {
    if (Room(4)) {
      StoreLE(p_, v);
      p_ += 4;
    }
  }
  void U64(uint64_t v, const char*, internal::Show = {}) {
    if (Room(8)) {
      StoreLE(p_, v);
      p_ += 8;
    }
  }
  void Q(const Qid& q, const char*) {
    if (Room(13)) {
      p_[0] = q.type;
      StoreLE(p_ + 1, q.version);
      StoreLE(p_ + 5, q.path);
      p_ += 13;
    }
  }
  void Str(std::string_view s, const char* f, int idx = -1) {
    if (s.size() > 0xFFFF) return Bad(f, idx, s.size(), 0xFFFF);
    if (Room(2 + s.size())) {
      StoreLE(p_, static_cast<uint16_t>(s.size()));
      if (!s.empty()) std::memcpy(p_ + 2, s.data(), s.size());
      p_ += 2 + s.size();
    }
  }
  void Names(const WalkArray<std::string_view>& a) {
    if (a.n > MAXWELEM) return Bad("nwname", -1, a.n, MAXWELEM);
    U16(a.n, "nwname");
    for (int i = 0; i < a.n; i++) Str(a.v[i], "wname", i);
  }
  void Qids(const WalkArray<Qid>& a) {
    if (a.n > MAXWELEM) return Bad("nwqid", -1, a.n, MAXWELEM);
    U16(a.n, "nwqid");
    for (int i = 0; i < a.n; i++) Q(a.v[i], "wqid");
  }
  // count[4] data[count]; with defer_data the bytes are appended by the
  // caller after the cursor's region (saves zero-filling a big payload).
  void Data(std::span<const uint8_t> d, internal::Show = {}) {
    if (d.size() > std::numeric_limits<uint32_t>::max())
      return Bad("count", -1, d.size(), std::numeric_limits<uint32_t>::max());
    U32(static_cast<uint32_t>(d.size()), "count");
    if (defer_data_ || d.empty()) return;
    if (Room(d.size())) {
      CopyPayload(p_, d.data(), d.size());
      p_ += d.size();
    }
  }
  void NStat(const Stat& s) {
    const size_t n = StatSize(s);
    if (n > 0xFFFF) return Bad("n", -1, n, 0xFFFF);
    U16(static_cast<uint16_t>(n), "n");
    StatEntry(s);
  }
  void StatEntry(const Stat& s) {
    const size_t size = StatSize(s) - 2;
    if (size > 0xFFFF) return Bad("stat.size", -1, size, 0xFFFF);
    U16(static_cast<uint16_t>(size), "stat.size");
    internal::StatFields(*this, s);
  }
  void OptU32(uint32_t v, const char* f, internal::Show = {}) { U32(v, f); }

 private:
  bool Room(size_t n) {
    if (static_cast<size_t>(end_ - p_) >= n) [[likely]]
      return true;
    overflow_ = true;
    end_ = p_;  // stays overflowed: nothing fits from now on
    return false;
  }
  void Bad(const char* f, int idx, size_t val, size_t max) {
    if (bad_ == nullptr) {
      bad_ = f;
      bad_idx_ = idx;
      bad_val_ = val;
      bad_max_ = max;
    }
    end_ = p_;
  }

  uint8_t* p_;
  uint8_t* end_;
  bool dotl_;
  bool defer_data_;
  bool overflow_ = false;
  const char* bad_ = nullptr;
  int bad_idx_ = -1;
  size_t bad_val_ = 0, bad_max_ = 0;
};

// The payload a message carries last (Rread, Twrite, Rreaddir), if any.
template <class T>
std::span<const uint8_t> Tail(const T& m) {
  if constexpr (requires { m.data; })
    return m.data;
  else
    return {};
}

template <class T>
Status EncodeBody(const T& b, uint16_t tag, bool dotl, std::vector<uint8_t>* out) {
  Sizer sz(dotl);
  internal::Fields(sz, b);
  const size_t size = HDRSZ + sz.n;
  if (size > std::numeric_limits<uint32_t>::max()) [[unlikely]]
    return Status(EMSGSIZE, std::string(MsgTypeName(T::kType)) + ": frame of " +
                                std::to_string(size) + " bytes > 4 GiB");
  const std::span<const uint8_t> tail = Tail(b);
  const size_t old = out->size();
  if (out->capacity() < old + size) out->reserve(std::max(old + size, 2 * out->capacity()));
  out->resize(old + size - tail.size());
  uint8_t* p = out->data() + old;
  Writer w(p, out->data() + out->size(), dotl, true);
  w.U32(static_cast<uint32_t>(size), "size");
  w.U8(T::kType, "type");
  w.U16(tag, "tag");
  internal::Fields(w, b);
  if (!w.ok()) [[unlikely]] {
    out->resize(old);
    return w.Error(MsgTypeName(T::kType));
  }
  if (!tail.empty()) {
    // Capacity is reserved, so the payload lands at dst whichever way.
    uint8_t* dst = out->data() + out->size();
    if (AliasesForward(dst, tail.data(), tail.size())) {
      out->resize(out->size() + tail.size());
      CopyPayload(dst, tail.data(), tail.size());
    } else {
      out->insert(out->end(), tail.begin(), tail.end());  // no zero-fill first
    }
  }
  return Status();
}

}  // namespace

size_t EncodedSize(const Message& m, Dialect dialect) {
  return std::visit(
      [&](const auto& b) {
        Sizer sz(dialect == Dialect::k9P2000L);
        internal::Fields(sz, b);
        return HDRSZ + sz.n;
      },
      m.body);
}

Status Encode(const Message& m, Dialect dialect, std::vector<uint8_t>* out) {
  return std::visit(
      [&](const auto& b) { return EncodeBody(b, m.tag, dialect == Dialect::k9P2000L, out); },
      m.body);
}

size_t StatSize(const Stat& s) {
  return 2 + internal::kStatFixed + s.name.size() + s.uid.size() + s.gid.size() + s.muid.size();
}

void PutStat(const Stat& s, std::vector<uint8_t>* out) {
  const size_t old = out->size();
  out->resize(old + StatSize(s));
  PutStatAt(s, out->data() + old);
}

void PutStatAt(const Stat& s, uint8_t* p) {
  Writer w(p, p + StatSize(s), false, false);
  w.StatEntry(s);
}

void PutDirent(const Dirent& d, std::vector<uint8_t>* out) {
  const size_t old = out->size();
  out->resize(old + DirentSize(d.name));
  PutDirentAt(d, out->data() + old);
}

void PutDirentAt(const Dirent& d, uint8_t* p) {
  Writer w(p, p + DirentSize(d.name), true, false);
  internal::DirentFields(w, d);
}

}  // namespace ninep
