// ec_test: Reed-Solomon through ISA-L (storelib/ec.h). Every way of losing
// up to M of K+M fragments is rebuilt to the original bytes, for several
// codes and odd lengths; losing more fails cleanly and leaves the present
// fragments alone; bad codes are refused.
#include "storelib/ec.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace store {
namespace {

// Fragments of one chunk: k data fragments of random bytes, m parity.
struct Stripe {
  Stripe(const ErasureCode& ec, size_t len, unsigned seed)
      : frags(static_cast<size_t>(ec.k() + ec.m()), std::vector<uint8_t>(len)) {
    std::mt19937 g(seed);
    for (int i = 0; i < ec.k(); i++)
      for (auto& b : frags[i]) b = static_cast<uint8_t>(g());
    std::vector<const uint8_t*> data(static_cast<size_t>(ec.k()));
    std::vector<uint8_t*> parity(static_cast<size_t>(ec.m()));
    for (int i = 0; i < ec.k(); i++) data[i] = frags[i].data();
    for (int i = 0; i < ec.m(); i++) parity[i] = frags[ec.k() + i].data();
    ec.Encode(data, parity, len);
  }
  std::vector<uint8_t*> Ptrs() {
    std::vector<uint8_t*> p;
    p.reserve(frags.size());
    for (auto& f : frags) p.push_back(f.data());
    return p;
  }
  std::vector<std::vector<uint8_t>> frags;
};

TEST(ErasureCode, EveryLossOfUpToMFragmentsIsRebuilt) {
  for (auto [k, m] : {std::pair{4, 2}, {1, 1}, {3, 1}, {6, 3}, {10, 4}}) {
    auto ec = ErasureCode::Make(k, m);
    ASSERT_TRUE(ec.ok()) << ec.status().message();
    const int n = k + m;
    // A whole 64 KiB block and a bit only for 4+2 (the cases grow as C(n, m)).
    for (size_t len :
         {size_t{1}, size_t{31}, size_t{4097}, k == 4 ? size_t{65536 + 7} : size_t{2}}) {
      Stripe want(*ec, len, static_cast<unsigned>(k * 100 + m + len));
      // Every subset of lost fragments up to m of them.
      for (unsigned mask = 1; mask < (1u << n); mask++) {
        if (__builtin_popcount(mask) > m) continue;
        SCOPED_TRACE(std::to_string(k) + "+" + std::to_string(m) + " len " + std::to_string(len) +
                     " lost mask " + std::to_string(mask));
        Stripe got = want;
        bool present[kMaxFragments];
        for (int i = 0; i < n; i++) {
          present[i] = !(mask & (1u << i));
          if (!present[i]) std::fill(got.frags[i].begin(), got.frags[i].end(), 0xA5);
        }
        auto ptrs = got.Ptrs();
        ASSERT_TRUE(ec->Reconstruct(ptrs, std::span<const bool>(present, n), len).ok());
        for (int i = 0; i < n; i++) ASSERT_EQ(got.frags[i], want.frags[i]) << "fragment " << i;
      }
    }
  }
}

TEST(ErasureCode, ParityIsNotACopyAndDependsOnEveryDataFragment) {
  auto ec = ErasureCode::Make(4, 2);
  ASSERT_TRUE(ec.ok());
  Stripe a(*ec, 1000, 1);
  for (int i = 0; i < 4; i++) {
    Stripe b = a;
    b.frags[i][500] ^= 1;  // one bit of one data fragment
    std::vector<const uint8_t*> data(4);
    for (int j = 0; j < 4; j++) data[j] = b.frags[j].data();
    std::vector<uint8_t*> parity{b.frags[4].data(), b.frags[5].data()};
    ec->Encode(data, parity, 1000);
    EXPECT_NE(b.frags[4], a.frags[4]) << "data fragment " << i;
    EXPECT_NE(b.frags[5], a.frags[5]) << "data fragment " << i;
  }
  EXPECT_NE(a.frags[4], a.frags[5]);
  EXPECT_EQ(ec->FragmentSize(8u << 20), 2u << 20);
  EXPECT_EQ(ec->FragmentSize(10), 3u);  // rounded up: the last data fragment is padded
}

TEST(ErasureCode, TooManyLostFailsAndTouchesNothing) {
  auto ec = ErasureCode::Make(4, 2);
  ASSERT_TRUE(ec.ok());
  Stripe s(*ec, 128, 7);
  Stripe before = s;
  bool present[6] = {true, false, true, false, false, true};  // 3 lost of 4+2
  auto ptrs = s.Ptrs();
  ninep::Status st = ec->Reconstruct(ptrs, std::span<const bool>(present, 6), 128);
  EXPECT_EQ(st.err(), EIO);
  EXPECT_EQ(st.message(), "3 of 4+2 fragments missing; at most 2 can be rebuilt");
  for (int i = 0; i < 6; i++) EXPECT_EQ(s.frags[i], before.frags[i]);
  // The wrong number of fragments is refused, not read past.
  EXPECT_EQ(ec->Reconstruct(std::span<uint8_t* const>(ptrs.data(), 5),
                            std::span<const bool>(present, 5), 128)
                .err(),
            EINVAL);
  // Nothing lost: nothing to do.
  bool all[6] = {true, true, true, true, true, true};
  EXPECT_TRUE(ec->Reconstruct(ptrs, std::span<const bool>(all, 6), 128).ok());
}

TEST(ErasureCode, BadCodesAreRefused) {
  for (auto [k, m] : {std::pair{0, 2}, {4, 0}, {-1, 1}, {30, 3}}) {
    auto ec = ErasureCode::Make(k, m);
    ASSERT_FALSE(ec.ok()) << k << "+" << m;
    EXPECT_EQ(ec.status().err(), EINVAL);
  }
  EXPECT_TRUE(ErasureCode::Make(28, 4).ok());
}

}  // namespace
}  // namespace store
