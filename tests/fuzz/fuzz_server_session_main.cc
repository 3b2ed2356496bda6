// fuzz_server_session_main.cc: the libFuzzer entry of fuzz_server_session
// (see fuzz_targets.h).
#include <cstddef>
#include <cstdint>

#include "fuzz_targets.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  ninep::fuzz::FuzzServerSessionInit();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ninep::fuzz::FuzzServerSession(data, size);
}
