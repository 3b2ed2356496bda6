// wire_alloc_test.cc: Decode allocates nothing, and Encode allocates at
// most once (none when the buffer has room). Counted by replacing the
// global operator new in this test binary.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

#include "ninep/wire.h"
#include "samples.h"

namespace {
std::atomic<long> g_allocs{0};
}  // namespace

// Kept out of line: once inlined, GCC (-Wmismatched-new-delete) sees
// free() on a pointer from a new-expression and cannot know that this
// operator new is malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
__attribute__((noinline)) void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n != 0 ? n : 1)) return p;
  throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace ninep {
namespace {

TEST(WireAlloc, DecodeAllocatesNothing) {
  for (Dialect d : {Dialect::k9P2000, Dialect::k9P2000L}) {
    for (const Message& m : testing::SampleMessages(d)) {
      std::vector<uint8_t> buf;
      ASSERT_TRUE(Encode(m, d, &buf).ok());
      Message got;
      const long before = g_allocs.load();
      Status s = Decode(buf, d, &got);
      const long allocs = g_allocs.load() - before;
      ASSERT_TRUE(s.ok());
      EXPECT_EQ(allocs, 0) << FormatMessage(m);
    }
  }
}

TEST(WireAlloc, EncodeReservesOnce) {
  for (const Message& m : testing::SampleMessages(Dialect::k9P2000L)) {
    std::vector<uint8_t> buf;
    long before = g_allocs.load();
    Status s = Encode(m, Dialect::k9P2000L, &buf);
    long allocs = g_allocs.load() - before;
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(allocs, 1) << FormatMessage(m);
    // A buffer with room (a connection's reused output buffer): none.
    buf.clear();
    before = g_allocs.load();
    s = Encode(m, Dialect::k9P2000L, &buf);
    allocs = g_allocs.load() - before;
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(allocs, 0) << FormatMessage(m);
  }
}

}  // namespace
}  // namespace ninep
