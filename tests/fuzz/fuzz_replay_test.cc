// fuzz_replay_test.cc: runs each fuzz target's entry function over every
// file of its committed corpus, so `make test` replays the corpus (and any
// crash once found and added to it) in the ordinary build.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_targets.h"
#include "ninep/wire.h"

namespace ninep::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> g_failures;

void Record(const char* what) { g_failures.emplace_back(what); }

std::vector<uint8_t> ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs `entry` over the corpus of `target`, reporting each broken
// invariant as a failure naming the file; returns the number of files.
int Replay(const std::string& target, int (*entry)(const uint8_t*, size_t),
           int* decoded = nullptr) {
  const fs::path dir = fs::path(NINEP_FUZZ_CORPUS_DIR) / target;
  EXPECT_TRUE(fs::is_directory(dir)) << dir;
  SetFuzzFailureHandler(Record);
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::vector<uint8_t> data = ReadFile(e.path());
    g_failures.clear();
    entry(data.data(), data.size());
    for (const std::string& f : g_failures) ADD_FAILURE() << e.path().filename() << ": " << f;
    Message m;
    if (decoded &&
        (Decode(data, Dialect::k9P2000L, &m).ok() || Decode(data, Dialect::k9P2000, &m).ok()))
      (*decoded)++;
    files++;
  }
  SetFuzzFailureHandler(nullptr);
  // The committed corpus stays small (see tests/fuzz/run.sh).
  EXPECT_LE(files, 50) << target;
  return files;
}

TEST(FuzzReplay, Decode) {
  // Most seeds are valid frames; the "bad-" ones are not.
  int decoded = 0;
  EXPECT_GE(Replay("fuzz_decode", FuzzDecode, &decoded), 20);
  EXPECT_GE(decoded, 30);
}

TEST(FuzzReplay, Roundtrip) {
  int decoded = 0;
  EXPECT_GE(Replay("fuzz_roundtrip", FuzzRoundtrip, &decoded), 20);
  EXPECT_GE(decoded, 30);
}

// Whole sessions against ramfs and exportfs (seeds plus every input a
// fuzzer found a bug with).
TEST(FuzzReplay, ServerSession) {
  FuzzServerSessionInit();
  EXPECT_GE(Replay("fuzz_server_session", FuzzServerSession), 8);
}

// A hostile server against the client.
TEST(FuzzReplay, ClientReplies) { EXPECT_GE(Replay("fuzz_client_replies", FuzzClientReplies), 8); }

// chunkd's replica files, ctl messages and names.
TEST(FuzzReplay, Chunkd) { EXPECT_GE(Replay("fuzz_chunkd", FuzzChunkd), 8); }

// storefs's metadata log and snapshots as a crash or a bad disk leaves them.
TEST(FuzzReplay, StoreWal) { EXPECT_GE(Replay("fuzz_storewal", FuzzStoreWal), 6); }

}  // namespace
}  // namespace ninep::fuzz
