// chunkd: keeps chunk replicas on a local disk and serves them over 9P to
// storefs (chunkd(1), chunkd(4)).
#include <cstdio>
#include <string>

#include "chunkfs.h"
#include "ninep/buffer.h"
#include "ninep/server_cmdline.h"
#include "store.h"
#include "storelib/etcd.h"

int main(int argc, char** argv) {
  using namespace ninep;
  ServerFlags flags;
  std::string dir, owner = DefaultUser(), registry, advertise, prefix = "ninefold/store/";
  double register_ttl = 10;
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
      .Value('u', "owner", "OWNER", "owner shown for every file", &owner)
      .Value(0, "register", "etcd!HOST!PORT[,HOST!PORT...]",
             "announce this chunkd to the storefs of a store in etcd, under a lease", &registry)
      .Value(0, "advertise", "ADDR",
             "--register: the dial string storefs should use (default the bound address)",
             &advertise)
      .Value(0, "register-prefix", "PREFIX",
             "--register: the store's etcd key prefix (default ninefold/store/)", &prefix)
      .Seconds(0, "register-ttl", "SECS",
               "--register: storefs hears of this chunkd's death this long after it (default 10)",
               &register_ttl);
  if (!cmd.ParseOrExit(argc, argv).empty()) cmd.UsageError("unexpected operand");
  if (dir.empty()) cmd.UsageError("-d DIR is required");
  if (registry.empty() && (!advertise.empty() || register_ttl != 10))
    cmd.UsageError("--advertise and --register-ttl go with --register");
  if (!registry.empty() && register_ttl < 1) cmd.UsageError("--register-ttl: at least 1 second");
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
  std::string bound = StartServing(cmd, flags, &srv);
  // Registered once serving: storefs dials what it finds at once. The key
  // lives as long as the lease, which this process keeps alive.
  std::unique_ptr<store::EtcdClient> etcd;
  std::unique_ptr<store::EtcdSession> session;
  if (!registry.empty()) {
    if (advertise.empty()) advertise = bound;
    if (advertise.empty()) cmd.UsageError("--register: give --advertise ADDR (nothing is bound)");
    auto c = store::EtcdClient::Open(registry, {});
    if (!c.ok()) cmd.Fatal(registry, c.status().message());
    etcd = std::move(*c);
    std::string key = prefix + "chunkd/" + advertise;
    auto put = [&etcd, key, advertise](int64_t lease) {
      return etcd->Txn({}, {{store::EtcdOp::kPut, key, advertise, "", lease}}).status();
    };
    auto s = store::EtcdSession::Start(
        etcd.get(), static_cast<int64_t>(register_ttl), [put](int64_t lease) {
          Status st = put(lease);
          if (!st.ok()) fprintf(stderr, "chunkd: register: %s\n", st.message().c_str());
        });
    if (!s.ok()) cmd.Fatal(registry, s.status().message());
    session = std::move(*s);
    if (Status st = put(session->lease()); !st.ok()) cmd.Fatal(registry, st.message());
  }
  AnnounceBound(flags, bound);
  srv.Run();
  return 0;
}
