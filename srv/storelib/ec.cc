// ec.cc: Reed-Solomon through ISA-L (ec.h).
#include "storelib/ec.h"

#include <isa-l/erasure_code.h>

#include <cerrno>
#include <string>

namespace store {

using ninep::Errno;
using ninep::Result;
using ninep::Status;

namespace {
// Bytes of the tables ec_init_tables builds for `rows` output rows of a k-column matrix.
size_t TableBytes(int k, int rows) { return static_cast<size_t>(32) * k * rows; }
}  // namespace

Result<ErasureCode> ErasureCode::Make(int k, int m) {
  if (k < 1 || m < 1 || k + m > kMaxFragments)
    return Errno(EINVAL, "erasure code " + std::to_string(k) + "+" + std::to_string(m) +
                             ": want K >= 1, M >= 1, K+M <= " + std::to_string(kMaxFragments));
  std::vector<uint8_t> a(static_cast<size_t>(k + m) * k);
  gf_gen_cauchy1_matrix(a.data(), k + m, k);
  std::vector<uint8_t> t(TableBytes(k, m));
  ec_init_tables(k, m, a.data() + static_cast<size_t>(k) * k, t.data());
  return ErasureCode(k, m, std::move(a), std::move(t));
}

void ErasureCode::Encode(std::span<const uint8_t* const> data, std::span<uint8_t* const> parity,
                         size_t len) const {
  // ISA-L's signature takes non-const pointers; it only reads the sources.
  std::vector<uint8_t*> src(static_cast<size_t>(k_));
  for (int i = 0; i < k_; i++) src[i] = const_cast<uint8_t*>(data[i]);
  std::vector<uint8_t*> dst(parity.begin(), parity.end());
  ec_encode_data(static_cast<int>(len), k_, m_, const_cast<uint8_t*>(tables_.data()), src.data(),
                 dst.data());
}

Status ErasureCode::Reconstruct(std::span<uint8_t* const> frags, std::span<const bool> present,
                                size_t len) const {
  const int n = k_ + m_;
  if (frags.size() != static_cast<size_t>(n) || present.size() != static_cast<size_t>(n) ||
      len > static_cast<size_t>(INT32_MAX))
    return Status(EINVAL, "erasure code " + std::to_string(k_) + "+" + std::to_string(m_) +
                              ": want " + std::to_string(n) + " fragments of at most 2 GiB");
  std::vector<int> have, lost;
  for (int i = 0; i < n; i++) (present[i] ? have : lost).push_back(i);
  if (lost.empty()) return Status::Ok();
  if (static_cast<int>(have.size()) < k_)
    return Status(EIO, std::to_string(lost.size()) + " of " + std::to_string(k_) + "+" +
                           std::to_string(m_) + " fragments missing; at most " +
                           std::to_string(m_) + " can be rebuilt");
  have.resize(static_cast<size_t>(k_));  // any k survivors determine the data
  // Rows of the survivors, inverted, map them back to the data fragments.
  const size_t kk = static_cast<size_t>(k_) * k_;
  std::vector<uint8_t> sub(kk), inv(kk);
  for (int r = 0; r < k_; r++)
    for (int c = 0; c < k_; c++)
      sub[static_cast<size_t>(r) * k_ + c] = matrix_[static_cast<size_t>(have[r]) * k_ + c];
  if (gf_invert_matrix(sub.data(), inv.data(), k_) != 0)
    return Status(EIO, "erasure code: survivors' matrix is singular");
  // A lost data fragment is its row of the inverse applied to the
  // survivors; a lost parity fragment is its encoding row times the
  // inverse, applied to the same survivors.
  std::vector<uint8_t> rows(lost.size() * k_);
  for (size_t j = 0; j < lost.size(); j++) {
    uint8_t* row = rows.data() + j * k_;
    if (lost[j] < k_) {
      for (int c = 0; c < k_; c++) row[c] = inv[static_cast<size_t>(lost[j]) * k_ + c];
      continue;
    }
    const uint8_t* enc = matrix_.data() + static_cast<size_t>(lost[j]) * k_;
    for (int c = 0; c < k_; c++) {
      uint8_t s = 0;
      for (int x = 0; x < k_; x++) s ^= gf_mul(enc[x], inv[static_cast<size_t>(x) * k_ + c]);
      row[c] = s;
    }
  }
  const int nl = static_cast<int>(lost.size());
  std::vector<uint8_t> tables(TableBytes(k_, nl));
  ec_init_tables(k_, nl, rows.data(), tables.data());
  std::vector<uint8_t*> src(static_cast<size_t>(k_)), dst(lost.size());
  for (int i = 0; i < k_; i++) src[i] = frags[have[i]];
  for (size_t j = 0; j < lost.size(); j++) dst[j] = frags[lost[j]];
  ec_encode_data(static_cast<int>(len), k_, nl, tables.data(), src.data(), dst.data());
  return Status::Ok();
}

}  // namespace store
