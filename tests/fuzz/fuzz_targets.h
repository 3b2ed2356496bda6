// fuzz_targets.h: the entry functions of the codec's libFuzzer targets,
// shared by the real fuzzer binaries (fuzz_decode, fuzz_roundtrip) and by
// fuzz_replay_test, which runs them over the committed corpus in every
// ordinary build.
// Thread-safety: the entry functions are pure; SetFuzzFailureHandler is
// not thread-safe (call it before fuzzing).
#ifndef NINEP_TESTS_FUZZ_FUZZ_TARGETS_H_
#define NINEP_TESTS_FUZZ_FUZZ_TARGETS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ninep::fuzz {

// Decodes the input in both dialects, as a whole frame and as "type byte +
// body" under a correct header, and walks everything a decoded message
// exposes (trace line, stat and dirent readers on payloads); also runs
// StatReader and DirentReader over the raw input. Always returns 0.
int FuzzDecode(const uint8_t* data, size_t size);

// For every way the input decodes (as in FuzzDecode): encode the message,
// check EncodedSize, decode the result and require the same message and,
// but for the short Tfsync, the same bytes. Always returns 0.
int FuzzRoundtrip(const uint8_t* data, size_t size);

// Drives whole sessions (well-formed and malformed messages, flushes,
// version changes, closes; see fuzz_input.h) into a Server over a socketpair,
// once with ramfs and once with exportfs over a sandboxed temporary
// directory, and checks every reply: it decodes, answers an outstanding tag
// of a matching request once, never after Rflush or Rversion ended it; and
// nothing beside exportfs's root changes. Always returns 0.
int FuzzServerSession(const uint8_t* data, size_t size);
// Prepares FuzzServerSession's sandbox. REQUIRES: the process has one
// thread (call it from LLVMFuzzerInitialize, or first in a test).
void FuzzServerSessionInit();

// Plays a hostile server to a lib9p Client over a socketpair: answers its
// requests with right, wrong, truncated, late or missing replies, cancels
// calls and hangs up. Every call must complete exactly once. Returns 0.
int FuzzClientReplies(const uint8_t* data, size_t size);

// chunkd's parsers of untrusted bytes: the input as a replica file (header
// slots, CRC table; then reads, a write and a truncation of what opened),
// as a ctl message and as a replica name; everything that decodes must
// encode back to the same bytes. Always returns 0.
int FuzzChunkd(const uint8_t* data, size_t size);

// storefs's metadata log and snapshot as a crash or a bad disk may leave
// them (records framed from the input, a raw tail, bit rot), replayed by
// WalMetaStore::Open; and the Txn decoder on the raw input. Checks the
// tree that opens, a commit after it, and a second open. Returns 0.
int FuzzStoreWal(const uint8_t* data, size_t size);
// Seeds for FuzzStoreWal (name, bytes): logs of every kind of op.
std::vector<std::pair<std::string, std::string>> StoreWalSeeds();

// A private directory for target `name`'s files (on /dev/shm when
// writable), made once per process.
const std::string& FuzzScratchDir(const char* name);

// Reports a broken invariant to the failure handler.
void ReportFailure(const char* what);

// Called with a description when an invariant breaks. The default prints
// it and aborts (what a fuzzer needs); the replay test records it instead.
void SetFuzzFailureHandler(void (*handler)(const char* what));

}  // namespace ninep::fuzz

#endif  // NINEP_TESTS_FUZZ_FUZZ_TARGETS_H_
