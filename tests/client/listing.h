// listing.h: the check the client's directory-reading tests share.
// Thread-safety: pure functions.
#ifndef NINEP_TESTS_CLIENT_LISTING_H_
#define NINEP_TESTS_CLIENT_LISTING_H_

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "ninep/dir.h"

namespace ninep::testing {

// Fails the test unless a listing holds n entries under n distinct names,
// none of them "." or "..": a reader that repeats or skips entries across
// its reads shows here.
inline void ExpectEachNameOnce(const std::vector<Dir>& ents, size_t n) {
  std::map<std::string, int> seen;
  for (const Dir& e : ents) seen[e.name]++;
  EXPECT_EQ(ents.size(), n);
  EXPECT_EQ(seen.size(), n);
  for (const auto& [name, k] : seen) EXPECT_EQ(k, 1) << name;
  EXPECT_EQ(seen.count("."), 0u);
  EXPECT_EQ(seen.count(".."), 0u);
}

}  // namespace ninep::testing

#endif  // NINEP_TESTS_CLIENT_LISTING_H_
