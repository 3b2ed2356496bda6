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

// Called with a description when an invariant breaks. The default prints
// it and aborts (what a fuzzer needs); the replay test records it instead.
void SetFuzzFailureHandler(void (*handler)(const char* what));

}  // namespace ninep::fuzz

#endif  // NINEP_TESTS_FUZZ_FUZZ_TARGETS_H_
