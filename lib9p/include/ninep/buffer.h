// buffer.h: an owned byte buffer for whole 9P frames.
//
// Frames of a megabyte pass through the transport, the server and the
// client. A std::vector zero-fills what it grows to, and copying a received
// frame into one costs a pass over the bytes and often fresh pages; Buffer
// avoids both: Uninit gives bytes a read is about to fill, and it adopts a
// vector or a raw allocation without copying, so one frame can travel from
// the socket to its last user in the allocation it was received in.
#ifndef NINEP_BUFFER_H_
#define NINEP_BUFFER_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

namespace ninep {

// Owned bytes with a stable address: moving a Buffer never moves its bytes.
class Buffer {
 public:
  Buffer() = default;
  // Adopts v's bytes (no copy). Implicit, so a vector can be sent as is.
  Buffer(std::vector<uint8_t> v) : vec_(std::move(v)), p_(vec_.data()), n_(vec_.size()) {}
  // Adopts n bytes at p (allocated with new uint8_t[]).
  Buffer(std::unique_ptr<uint8_t[]> p, size_t n) : raw_(std::move(p)), p_(raw_.get()), n_(n) {}
  Buffer(Buffer&& o) noexcept { *this = std::move(o); }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      raw_ = std::move(o.raw_);
      vec_ = std::move(o.vec_);
      p_ = o.p_;
      n_ = o.n_;
      o.p_ = nullptr;
      o.n_ = 0;
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  // n bytes whose contents are unspecified until written.
  static Buffer Uninit(size_t n) {
    return Buffer(std::unique_ptr<uint8_t[]>(new uint8_t[n > 0 ? n : 1]), n);
  }
  // A copy of `bytes` in a buffer of its own.
  static Buffer CopyOf(std::span<const uint8_t> bytes) {
    Buffer b = Uninit(bytes.size());
    if (!bytes.empty()) memcpy(b.data(), bytes.data(), bytes.size());
    return b;
  }

  uint8_t* data() { return p_; }
  const uint8_t* data() const { return p_; }
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  // Forgets the bytes past n (the allocation stays). REQUIRES: n <= size().
  void Shrink(size_t n) { n_ = n; }
  // The bytes as a span (implicitly, for Decode and the like).
  operator std::span<const uint8_t>() const { return {p_, n_}; }

 private:
  std::unique_ptr<uint8_t[]> raw_;
  std::vector<uint8_t> vec_;
  uint8_t* p_ = nullptr;
  size_t n_ = 0;
};

// Keeps freed frame-sized allocations (up to 64 MiB) in the process's heap.
// Above glibc's default mmap threshold every megabyte frame would be a new
// mapping, page-faulted in, zeroed by the kernel and unmapped again (a
// quarter of a server's CPU at msize 1 MiB). Process-wide: programs that
// move large frames call it once at start; a library never does.
void KeepFrameBuffersInHeap();
// Touches `bytes` of fresh heap once and frees it, leaving the pages
// mapped (below the trim threshold) for later allocations. Long-lived
// servers call it after KeepFrameBuffersInHeap() so their first large
// reads do not pay the page faults of a growing heap; a short-lived
// command must not (32 MiB costs about 80 ms of start-up).
void PrefaultHeap(size_t bytes);
// What a server prefaults: room for a few frames at the largest msize.
inline constexpr size_t kServerHeapPrefault = size_t{32} << 20;

}  // namespace ninep

#endif  // NINEP_BUFFER_H_
