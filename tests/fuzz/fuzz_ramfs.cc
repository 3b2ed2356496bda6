// fuzz_ramfs.cc: srv/ramfs's file server, compiled into the session fuzz
// target as it is (ramfs.cc is a single file with its main; the main is
// renamed out of the way here rather than split out of the example).
#include <memory>

#include "ninep/server.h"

#define main ramfs_main_unused
#include "../../srv/ramfs/ramfs.cc"  // NOLINT(bugprone-suspicious-include): ramfs is one file with its main
#undef main

namespace ninep::fuzz {

// A fresh ramfs owned by "glenda".
std::unique_ptr<FileServer> NewRamfs() { return std::make_unique<Ramfs>("glenda"); }

}  // namespace ninep::fuzz
