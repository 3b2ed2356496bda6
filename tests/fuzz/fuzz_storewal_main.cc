// fuzz_storewal_main.cc: the libFuzzer entry of fuzz_storewal (see fuzz_targets.h).
#include <cstddef>
#include <cstdint>

#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return ninep::fuzz::FuzzStoreWal(data, size);
}
