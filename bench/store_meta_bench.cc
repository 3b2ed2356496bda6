// store_meta_bench: the store's metadata figures for bench/store_bench.sh.
//   store_meta_bench meta DIR N        N files (in N/1000 dirs) through
//       WalMetaStore, one log record each (unsynced: replay speed does not
//       depend on how the log was written); prints the resident memory per
//       file, then reopens and prints the replay time of the N records.
//   store_meta_bench creates ADDR CLIENTS N   CLIENTS connections each
//       creating N empty files (durable when answered); prints creates/s.
//   store_meta_bench stats ADDR CLIENTS N   after creates: each connection
//       walks to and stats its N files again; prints stats/s.
//   store_meta_bench etcdfloor SPEC CLIENTS N   CLIENTS threads each making
//       N guarded etcd transactions (a put if the key is absent, as a
//       create's is) straight through the client storefs uses; prints txn/s:
//       what etcd itself takes on this machine.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "ninep/client.h"
#include "storefs/wal_meta.h"
#include "storelib/etcd.h"

namespace {

long RssKb() {
  std::ifstream f("/proc/self/status");
  std::string k;
  long v = 0;
  while (f >> k) {
    if (k == "VmRSS:") {
      f >> v;
      return v;
    }
    std::getline(f, k);
  }
  return 0;
}

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int Meta(const std::string& dir, uint64_t n) {
  using namespace storefs;
  WalMetaStore::Options o;
  o.sync = false;
  o.snapshot_bytes = ~0ull;  // all of it in the log: replay reads every record
  long before = RssKb();
  {
    auto m = WalMetaStore::Open(dir, o);
    if (!m.ok()) return fprintf(stderr, "%s\n", m.status().message().c_str()), 1;
    InodeId d = kRootIno;
    for (uint64_t i = 0; i < n; i++) {
      Inode in;
      in.ino = *(*m)->NewInode();
      in.parent = d;
      in.mode = i % 1000 == 0 ? 0x80000000u | 0755 : 0644;
      in.name = (i % 1000 == 0 ? "dir" : "file") + std::to_string(i);
      in.uid = in.gid = in.muid = "glenda";
      Txn t;
      t.Create(in);
      if (!(*m)->Commit(t).ok()) return 1;
      if (i % 1000 == 0) d = in.ino;
    }
    long after = RssKb();
    printf("files %llu rss_bytes_per_file %.0f log_bytes %llu\n",
           static_cast<unsigned long long>(n),
           static_cast<double>(after - before) * 1024.0 / static_cast<double>(n),
           static_cast<unsigned long long>((*m)->Stats().log_bytes));
  }
  auto t0 = std::chrono::steady_clock::now();
  auto m = WalMetaStore::Open(dir, o);
  double s = Since(t0);
  if (!m.ok()) return 1;
  printf("replayed %llu records in %.2f s\n",
         static_cast<unsigned long long>((*m)->recovery().records), s);
  return 0;
}

// Runs body(c, root) on `clients` 9P2000.L connections at once (c is the
// client's number); a connection that fails counts in *failed. Returns the
// seconds they took.
double OnClients(const std::string& addr, int clients, std::atomic<int>* failed,
                 const std::function<void(int, ninep::Fid&)>& body) {
  using namespace ninep;
  std::vector<std::thread> ts;
  ts.reserve(static_cast<size_t>(clients));
  auto t0 = std::chrono::steady_clock::now();
  for (int c = 0; c < clients; c++)
    ts.emplace_back([&, c] {
      ClientOptions o;
      o.dialect = Dialect::k9P2000L;
      auto cl = Client::Connect(addr, o);
      if (!cl.ok()) return (void)(*failed)++;
      auto root = (*cl)->Attach("bench", "");
      if (!root.ok()) return (void)(*failed)++;
      body(c, *root);
      (void)root->Clunk();
    });
  for (auto& t : ts) t.join();
  return Since(t0);
}

int Creates(const std::string& addr, int clients, int n) {
  using namespace ninep;
  std::atomic<int> done{0}, failed{0};
  double s = OnClients(addr, clients, &failed, [&](int c, Fid& root) {
    auto d = root.Walk("");
    if (!d.ok() || !d->Create("c" + std::to_string(c), DMDIR | 0755, OREAD).ok())
      return (void)failed++;
    for (int i = 0; i < n; i++) {
      auto f = d->Walk("");
      if (!f.ok() || !f->Create("f" + std::to_string(i), 0644, OWRITE).ok()) {
        failed++;
        continue;
      }
      (void)f->Clunk();
      done++;
    }
    (void)d->Clunk();
  });
  printf("creates %d failed %d seconds %.2f creates_per_s %.0f\n", done.load(), failed.load(), s,
         done / s);
  return failed ? 1 : 0;
}

int Stats(const std::string& addr, int clients, int n) {
  using namespace ninep;
  std::atomic<int> done{0}, failed{0};
  double s = OnClients(addr, clients, &failed, [&](int c, Fid& root) {
    for (int i = 0; i < n; i++) {
      auto f = root.Walk("c" + std::to_string(c) + "/f" + std::to_string(i));
      if (!f.ok() || !f->Stat().ok()) {
        failed++;
        continue;
      }
      (void)f->Clunk();
      done++;
    }
  });
  printf("stats %d failed %d seconds %.2f stats_per_s %.0f\n", done.load(), failed.load(), s,
         done / s);
  return failed ? 1 : 0;
}

int EtcdFloor(const std::string& spec, int clients, int n) {
  using namespace store;
  auto c = EtcdClient::Open(spec, {});
  if (!c.ok()) return fprintf(stderr, "%s\n", c.status().message().c_str()), 1;
  std::vector<std::thread> ts;
  ts.reserve(static_cast<size_t>(clients));
  std::atomic<int> done{0}, failed{0};
  std::string run = std::to_string(getpid()) + "/";
  auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < clients; t++)
    ts.emplace_back([&, t] {
      for (int i = 0; i < n; i++) {
        std::string key = "floor/" + run + std::to_string(t) + "/" + std::to_string(i);
        EtcdCompare absent;
        absent.key = key;
        auto r = (*c)->Txn({absent}, {{EtcdOp::kPut, key, std::string(120, 'x'), "", 0}});
        if (r.ok() && r->succeeded)
          done++;
        else
          failed++;
      }
    });
  for (auto& t : ts) t.join();
  double s = Since(t0);
  printf("txns %d failed %d seconds %.2f txn_per_s %.0f\n", done.load(), failed.load(), s,
         done / s);
  return failed ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "meta" && argc == 4) return Meta(argv[2], strtoull(argv[3], nullptr, 10));
  if (mode == "creates" && argc == 5) return Creates(argv[2], atoi(argv[3]), atoi(argv[4]));
  if (mode == "stats" && argc == 5) return Stats(argv[2], atoi(argv[3]), atoi(argv[4]));
  if (mode == "etcdfloor" && argc == 5) return EtcdFloor(argv[2], atoi(argv[3]), atoi(argv[4]));
  fprintf(stderr, "usage: store_meta_bench meta DIR N | creates ADDR CLIENTS N\n");
  return 2;
}
