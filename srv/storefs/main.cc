// storefs: a chunked, replicated store served over 9P (storefs(1), storefs(4)).
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>

#include "ninep/buffer.h"
#include "ninep/server_cmdline.h"
#include "storefs/cluster.h"
#include "storefs/etcd_meta.h"
#include "storefs/fs.h"
#include "storefs/local.h"
#include "storefs/store.h"
#include "storefs/wal_meta.h"

int main(int argc, char** argv) {
  using namespace ninep;
  using namespace storefs;
  ServerFlags flags;
  std::string dir, chunkds, owner = DefaultUser(), meta_spec = "log", prefix = "ninefold/store/",
                            ec = "off";
  uint64_t replicas = 3, quorum = 0, chunk = 8ull << 20, local = 0, repair_bw = 64ull << 20,
           snapshot_bytes = 64ull << 20;
  double heartbeat = 1, dead_after = 10, timeout = 5, lease_ttl = 10, claim_idle = 1;
  bool no_local_reads = false;
  Command cmd("storefs");
  cmd.AddServerFlags(&flags)
      .Value('d', "dir", "DIR",
             "directory of the metadata log, and of --local chunkds (required with the log)", &dir)
      .Value(0, "meta", "log|etcd!HOST!PORT[,HOST!PORT...]",
             "where the metadata lives: the log in -d DIR (default), or etcd (shared by "
             "several storefs)",
             &meta_spec)
      .Value(0, "meta-prefix", "PREFIX", "etcd key prefix of this store (default ninefold/store/)",
             &prefix)
      .Seconds(0, "lease-ttl", "SECS",
               "etcd: how long after this storefs dies its chunk claims expire (default 10)",
               &lease_ttl)
      .Seconds(0, "claim-idle", "SECS",
               "etcd: let go of a chunk claim no write used for this long (default 1)", &claim_idle)
      .Value('c', "chunkd", "ADDR,...", "chunk servers (dial strings, comma-separated)", &chunkds)
      .Count('r', "replicas", "N", "replicas of each chunk (default 3)", &replicas)
      .Value(0, "ec", "K+M",
             "erasure-code new files: K data and M parity fragments (default off: replicas)", &ec)
      .Count('w', "write-quorum", "W", "replicas that must take a write (default a majority)",
             &quorum)
      .Bytes(0, "chunk", "chunk size (default 8m)", &chunk)
      .Count(0, "local", "N", "start N chunkd children under METADIR", &local)
      .Seconds(0, "heartbeat", "SECS", "chunkd heartbeat period (default 1)", &heartbeat)
      .Seconds(0, "dead-after", "SECS", "silence before a chunkd is dead (default 10)", &dead_after)
      .Seconds(0, "timeout", "SECS", "bound on one call to a chunkd (default 5)", &timeout)
      .Flag(0, "no-local-reads", "read replicas only through chunkd, even on this machine",
            &no_local_reads)
      .Bytes(0, "repair-bw", "re-replication bandwidth, bytes/s (default 64m)", &repair_bw)
      .Bytes(0, "snapshot-bytes", "snapshot the metadata once its log is this long (default 64m)",
             &snapshot_bytes)
      .Value('u', "owner", "OWNER", "owner of the root of a new store", &owner);
  if (!cmd.ParseOrExit(argc, argv).empty()) cmd.UsageError("unexpected operand");
  bool etcd = meta_spec != "log";
  if (etcd && meta_spec.rfind("etcd!", 0) != 0)
    cmd.UsageError("--meta: want log or etcd!HOST!PORT[,HOST!PORT...]");
  if (dir.empty() && (!etcd || local > 0)) cmd.UsageError("-d DIR is required");
  if (lease_ttl < 1) cmd.UsageError("--lease-ttl: at least 1 second");
  if (claim_idle <= 0) cmd.UsageError("--claim-idle: above 0");
  if (replicas < 1 || replicas > 16) cmd.UsageError("-r: replicas must be 1 to 16");
  auto layout = ParseLayout(ec);
  if (!layout.ok()) cmd.UsageError("--ec: " + layout.status().message());
  if (*layout != 0 && chunk % (uint64_t{LayoutK(*layout)} << 16) != 0)
    cmd.UsageError("--ec K+M: --chunk must be a multiple of K x 64k (whole stripes)");
  if (quorum == 0) quorum = replicas / 2 + 1;
  if (quorum > replicas) cmd.UsageError("-w: the write quorum cannot exceed the replicas");
  if (chunk % 65536 != 0) cmd.UsageError("--chunk: a multiple of 64k");
  if (local > 64) cmd.UsageError("--local: at most 64");
  if (heartbeat <= 0 || dead_after <= 0 || timeout <= 0)
    cmd.UsageError("--heartbeat, --dead-after and --timeout must be above 0");

  // Every Tread and Twrite is a large frame, and every chunk read a buffer
  // as large: keep them in the heap rather than mapping each one afresh.
  KeepFrameBuffersInHeap();
  PrefaultHeap(kServerHeapPrefault);
  if (!dir.empty() && mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    cmd.Fatal(dir, strerror(errno));
  std::vector<std::string> addrs;
  std::istringstream cl(chunkds);
  for (std::string a; std::getline(cl, a, ',');)
    if (!a.empty()) addrs.push_back(a);
  LocalChunkds children;
  if (local > 0) {
    auto l = children.Start(dir, static_cast<int>(local));
    if (!l.ok()) cmd.Fatal("--local", l.status().message());
    addrs.insert(addrs.end(), l->begin(), l->end());
  }

  auto ms = [](double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000)); };
  std::unique_ptr<MetaStore> meta;
  std::string where = etcd ? meta_spec : dir + "/meta";
  if (etcd) {
    EtcdMetaStore::Options eo;
    eo.prefix = prefix;
    eo.owner = owner;
    eo.lease_ttl = static_cast<int64_t>(lease_ttl);
    eo.timeout = ms(timeout);
    auto m = EtcdMetaStore::Open(meta_spec, eo);
    if (!m.ok()) cmd.Fatal(meta_spec, m.status().message());
    meta = std::move(*m);
  } else {
    WalMetaStore::Options mo;
    mo.owner = owner;
    mo.snapshot_bytes = snapshot_bytes;
    auto m = WalMetaStore::Open(where, mo);
    if (!m.ok()) cmd.Fatal(where, m.status().message());
    if (const auto& r = (*m)->recovery(); !r.cut_reason.empty())
      fprintf(stderr, "storefs: metadata log: cut %llu bytes: %s\n",
              static_cast<unsigned long long>(r.cut_bytes), r.cut_reason.c_str());
    meta = std::move(*m);
  }

  ClusterOptions co;
  co.heartbeat = ms(heartbeat);
  co.dead_after = ms(dead_after);
  co.call_timeout = ms(timeout);
  co.local_reads = !no_local_reads;
  Cluster cluster(co);
  // Servers the metadata knows, then those named now that it does not.
  uint32_t next_id = 1;
  auto known = meta->Servers();
  if (Status rs = meta->ReadStatus(); !rs.ok()) cmd.Fatal(where, rs.message());
  for (const auto& s : known) {
    cluster.Add(s);
    next_id = std::max(next_id, s.id + 1);
  }
  for (const auto& a : addrs) {
    if (cluster.Find(a)) continue;
    ServerInfo s{next_id++, a, ServerState::kActive};
    Txn t;
    t.SetServer(s);
    if (Status st = meta->Commit(t); !st.ok()) cmd.Fatal(where, st.message());
    cluster.Add(s);
  }
  // With etcd, chunk servers may also come from their registrations.
  if (cluster.All().empty() && !etcd)
    cmd.UsageError("no chunk servers: give -c ADDR,... or --local N");

  StoreOptions so;
  so.layout = *layout;
  so.replicas = static_cast<uint32_t>(replicas);
  so.write_quorum = static_cast<uint32_t>(quorum);
  so.chunk_size = chunk;
  so.repair_bandwidth = repair_bw;
  so.maintenance = std::max(co.heartbeat * 2, std::chrono::milliseconds(200));
  // Long enough for a dead holder's lease to run out.
  so.claim_wait = ms(lease_ttl * 2 + 5);
  so.claim_idle = ms(claim_idle);
  Store store(meta.get(), &cluster, so);
  cluster.BeatAll();  // know who is there before the first request
  cluster.Start([&store](ChunkServer* s) { store.ServerChanged(s); });
  store.Start();

  ServerOptions opts;
  ApplyServerFlags(cmd, flags, &opts);
  StoreFs fs(meta.get(), &store, &cluster);
  Server srv(&fs, opts);
  int rc = ServeMain(cmd, flags, &srv);
  meta->DrainAsync();  // creates waiting for the log answer while srv still exists
  return rc;
}
