// chunkd: keeps chunk replicas on a local disk and serves them over 9P to
// storefs (chunkd(1), chunkd(4)).
#include <cstdio>
#include <string>

#include "chunkfs.h"
#include "ninep/buffer.h"
#include "ninep/server_cmdline.h"
#include "store.h"

int main(int argc, char** argv) {
  using namespace ninep;
  ServerFlags flags;
  std::string dir, owner = DefaultUser();
  uint64_t max_chunk = 64ull << 20;
  Command cmd("chunkd");
  cmd.AddServerFlags(&flags)
      .Value('d', "dir", "DIR", "directory holding the replicas (required)", &dir)
      .Add(CmdOption{
          0, "max-chunk", "SIZE", "largest replica in bytes (k, m, g suffixes; default 64m)",
          [&max_chunk](std::string_view v) -> Status {
            uint64_t mult = 1;
            std::string s(v);
            if (!s.empty() && (s.back() == 'k' || s.back() == 'm' || s.back() == 'g')) {
              mult = s.back() == 'k' ? 1ull << 10 : s.back() == 'm' ? 1ull << 20 : 1ull << 30;
              s.pop_back();
            }
            if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos ||
                s.size() > 12)
              return Status(EINVAL, "bad size '" + std::string(v) + "'");
            uint64_t n = std::stoull(s) * mult;
            if (n == 0 || n > uint64_t{chunkd::kMaxBlocksLimit} * chunkd::kBlockSize)
              return Status(EINVAL, "size out of range (1 to 64g)");
            max_chunk = n;
            return Status::Ok();
          }})
      .Value('u', "owner", "OWNER", "owner shown for every file", &owner);
  if (!cmd.ParseOrExit(argc, argv).empty()) cmd.UsageError("unexpected operand");
  if (dir.empty()) cmd.UsageError("-d DIR is required");
  KeepFrameBuffersInHeap();  // every Tread and Twrite of storefs is a large frame
  PrefaultHeap(kServerHeapPrefault);
  ServerOptions opts;
  ApplyServerFlags(cmd, flags, &opts);

  chunkd::ChunkStore store(dir, max_chunk);
  std::vector<std::string> warnings;
  if (Status s = store.Load(&warnings); !s.ok()) cmd.Fatal(dir, s.message());
  for (const std::string& w : warnings) fprintf(stderr, "chunkd: %s\n", w.c_str());
  chunkd::ChunkFs fs(&store, owner);
  Server srv(&fs, opts);
  return ServeMain(cmd, flags, &srv);
}
