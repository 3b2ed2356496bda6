// ec.h: Reed-Solomon erasure coding for the store (issue 13's ec=K+M):
// a chunk cut into K data fragments and M parity fragments, any K of the
// K+M enough to rebuild the rest. The Galois-field arithmetic is ISA-L's
// (a Cauchy matrix from gf_gen_cauchy1_matrix, ec_init_tables and
// ec_encode_data with the CPU's vector units, gf_invert_matrix to decode),
// not ours. Fragments carry no checksums: the store's per-block CRC32C
// says which fragments are whole; this says how to rebuild the others.
// Thread-safety: an ErasureCode is immutable after Make; share it freely.
#ifndef STORE_EC_H_
#define STORE_EC_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "ninep/status.h"

namespace store {

// The largest K + M: ISA-L's Cauchy matrices stay invertible for any K
// rows well past this, and a chunk spread on more servers gains nothing.
inline constexpr int kMaxFragments = 32;

class ErasureCode {
 public:
  // A code with k data and m parity fragments. EINVAL unless 1 <= k,
  // 1 <= m and k + m <= kMaxFragments.
  static ninep::Result<ErasureCode> Make(int k, int m);

  int k() const { return k_; }
  int m() const { return m_; }
  // Bytes of each fragment of a chunk of len bytes: len / k rounded up.
  size_t FragmentSize(size_t len) const { return (len + k_ - 1) / k_; }

  // Computes the m parity fragments of the k data fragments, each len
  // bytes: data.size() == k, parity.size() == m.
  void Encode(std::span<const uint8_t* const> data, std::span<uint8_t* const> parity,
              size_t len) const;

  // Rebuilds the missing fragments in place. frags holds all k + m
  // fragments in order (data, then parity), each len bytes; present[i]
  // says which hold good bytes. The others are overwritten with their
  // content. EIO ("N of K+M fragments missing; at most M can be rebuilt")
  // when fewer than k are present; EINVAL when frags or present do not
  // hold k + m entries, or len is 2 GiB or more (ISA-L counts in int).
  ninep::Status Reconstruct(std::span<uint8_t* const> frags, std::span<const bool> present,
                            size_t len) const;

 private:
  ErasureCode(int k, int m, std::vector<uint8_t> matrix, std::vector<uint8_t> tables)
      : k_(k), m_(m), matrix_(std::move(matrix)), tables_(std::move(tables)) {}
  int k_ = 0, m_ = 0;
  std::vector<uint8_t> matrix_;  // (k + m) x k: identity, then the parity rows
  std::vector<uint8_t> tables_;  // ec_init_tables of the parity rows
};

}  // namespace store

#endif  // STORE_EC_H_
