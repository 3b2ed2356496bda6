// fuzz_input.h: reading a fuzz input as a stream of little-endian numbers,
// strings and byte runs (FuzzIn), and writing one the same way (FuzzOut,
// for the seed corpus), shared by the session fuzz targets and
// make_corpus.cc. The op codes of the session targets are listed here, so
// seeds and harness agree on one description.
// Thread-safety: plain values; one thread per object.
#ifndef NINEP_TESTS_FUZZ_FUZZ_INPUT_H_
#define NINEP_TESTS_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ninep::fuzz {

// A reader that never fails: past the end every number reads 0 and every
// run is short, so any input is a valid (if dull) op sequence.
class FuzzIn {
 public:
  FuzzIn(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  bool empty() const { return p_ >= end_; }
  uint8_t U8() { return p_ < end_ ? *p_++ : 0; }
  uint16_t U16() {
    uint16_t lo = U8();
    return static_cast<uint16_t>(lo | (U8() << 8));
  }
  uint32_t U32() {
    uint32_t lo = U16();
    return lo | (static_cast<uint32_t>(U16()) << 16);
  }
  uint64_t U64() {
    uint64_t lo = U32();
    return lo | (static_cast<uint64_t>(U32()) << 32);
  }
  // Up to n bytes, as a view into the input.
  std::span<const uint8_t> Bytes(size_t n) {
    size_t left = static_cast<size_t>(end_ - p_);
    if (n > left) n = left;
    std::span<const uint8_t> s(p_, n);
    p_ += n;
    return s;
  }
  // A string of U8() % (max + 1) bytes.
  std::string_view Str(size_t max) {
    size_t n = U8() % (max + 1);
    auto b = Bytes(n);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// The writer matching FuzzIn.
class FuzzOut {
 public:
  FuzzOut& U8(uint8_t v) {
    b_.push_back(v);
    return *this;
  }
  FuzzOut& U16(uint16_t v) { return U8(static_cast<uint8_t>(v)).U8(static_cast<uint8_t>(v >> 8)); }
  FuzzOut& U32(uint32_t v) {
    return U16(static_cast<uint16_t>(v)).U16(static_cast<uint16_t>(v >> 16));
  }
  FuzzOut& U64(uint64_t v) {
    return U32(static_cast<uint32_t>(v)).U32(static_cast<uint32_t>(v >> 32));
  }
  FuzzOut& Bytes(std::span<const uint8_t> s) {
    b_.insert(b_.end(), s.begin(), s.end());
    return *this;
  }
  FuzzOut& Str(std::string_view s) {
    U8(static_cast<uint8_t>(s.size()));
    b_.insert(b_.end(), s.begin(), s.end());
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return b_; }

 private:
  std::vector<uint8_t> b_;
};

// fuzz_server_session's ops: one byte (mod kSrvOps), then its fields. The
// layouts are documented at each case of fuzz_server_session.cc's Op().
enum SrvOp : uint8_t {
  kSrvVersion,
  kSrvAttach,
  kSrvWalk,
  kSrvOpen,
  kSrvCreate,
  kSrvRead,
  kSrvWrite,
  kSrvClunk,
  kSrvRemove,
  kSrvStat,
  kSrvReaddir,
  kSrvFlush,
  kSrvWstat,
  kSrvDotl,
  kSrvRaw,
  kSrvSync,
  kSrvClose,
  kSrvOps
};

// The names the server target walks and creates by index (U8() below
// this count); other values read a string from the input.
inline constexpr std::string_view kSrvNames[] = {
    "a", "b", "d", "e", "escape", "abs", "..", ".", "", "x/y", "ctl", "new", "sentinel", "outside"};
inline constexpr size_t kSrvNameCount = sizeof(kSrvNames) / sizeof(kSrvNames[0]);

// fuzz_client_replies' ops: one byte (mod kCliOps), then its fields; see
// fuzz_client_replies.cc's Op().
enum CliOp : uint8_t {
  kCliCall,      // an async Client::Call
  kCliBlocking,  // a blocking Fid operation on a helper thread
  kCliCancel,    // Client::Cancel of an earlier call
  kCliReply,     // a reply to a request read from the client
  kCliRaw,       // raw bytes to the client
  kCliClose,     // the peer closes (the rest of the input is ignored)
  kCliOps
};

}  // namespace ninep::fuzz

#endif  // NINEP_TESTS_FUZZ_FUZZ_INPUT_H_
