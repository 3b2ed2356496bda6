// exportfs_load.cc: the load driver of bench/exportfs_bench.sh, on lib9p's
// async client, for any 9P2000.L server (exportfs, diod).
//
//   exportfs_load ops  -a ADDR [-A ANAME] [-c CLIENTS] [-n COUNT] [-t SECONDS] [-f FILES]
//     CLIENTS connections, each repeating walk(one name)+getattr+clunk as a
//     chain of callbacks (the next request is sent from the previous reply's
//     callback), over FILES files named f0..f(FILES-1) in the attach's root.
//     Stops after COUNT chains in all or SECONDS, whichever comes first.
//   exportfs_load read -a ADDR [-A ANAME] [-m MSIZE] -p PATH
//     Reads PATH from start to end, one Tread of msize-24 bytes at a time.
//
// Prints one line of key=value pairs: "mode=ops clients=16 ops=... seconds=...
// rate=..." or "mode=read bytes=... seconds=... mbps=...".
#include <getopt.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ninep/client.h"
#include "ninep/server.h"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what, const std::string& why) {
  fprintf(stderr, "exportfs_load: %s: %s\n", what.c_str(), why.c_str());
  exit(1);
}

[[noreturn]] void Usage() {
  fputs(
      "usage: exportfs_load ops -a ADDR [-A ANAME] [-c CLIENTS] [-n COUNT] [-t SECONDS] [-f "
      "FILES]\n"
      "       exportfs_load read -a ADDR [-A ANAME] [-m MSIZE] -p PATH\n",
      stderr);
  exit(2);
}

struct Options {
  std::string addr, aname, path;
  int clients = 1, files = 100;
  uint64_t count = 100000;
  double seconds = 10;
  uint32_t msize = 1 << 20;
};

std::unique_ptr<ninep::Client> Connect(const Options& o, uint32_t msize, ninep::Fid* root) {
  ninep::ClientOptions co;
  co.dialect = ninep::Dialect::k9P2000L;
  co.msize = msize;
  co.timeout = std::chrono::milliseconds(30000);
  auto c = ninep::Client::Connect(o.addr, co);
  if (!c.ok()) Die(o.addr, c.status().message());
  auto r = (*c)->Attach("root", o.aname, 0);
  if (!r.ok()) Die("attach " + o.aname, r.status().message());
  *root = std::move(*r);
  return std::move(*c);
}

// One connection's chain of walk+getattr+clunk.
struct Chain {
  ninep::Client* client = nullptr;
  uint32_t root = 0, fid = 0;
  int files = 1;
  uint64_t n = 0;
};

struct Shared {
  std::atomic<uint64_t> started{0};
  uint64_t limit = 0;
  Clock::time_point deadline;
  std::atomic<int> running{0};
  std::atomic<bool> failed{false};
  std::string error;
  std::mutex mu;
  std::condition_variable cv;
};

void Finish(Shared* sh) {
  if (--sh->running == 0) {
    std::lock_guard<std::mutex> l(sh->mu);
    sh->cv.notify_all();
  }
}

void Fail(Shared* sh, const ninep::Status& s) {
  {
    std::lock_guard<std::mutex> l(sh->mu);
    if (sh->error.empty()) sh->error = s.message();
  }
  sh->failed = true;
  Finish(sh);
}

void Step(Chain* c, Shared* sh) {
  if (sh->failed || Clock::now() >= sh->deadline || sh->started++ >= sh->limit) return Finish(sh);
  std::string name = "f" + std::to_string(c->n % c->files);
  ninep::Twalk w{c->root, c->fid, {}};
  w.wname.push_back(name);
  c->client->Call(w, [c, sh](ninep::Result<ninep::Reply> r) {
    if (!r.ok()) return Fail(sh, r.status());
    c->client->Call(
        ninep::Tgetattr{c->fid, ninep::P9_GETATTR_BASIC}, [c, sh](ninep::Result<ninep::Reply> r) {
          if (!r.ok()) return Fail(sh, r.status());
          c->client->Call(ninep::Tclunk{c->fid}, [c, sh](ninep::Result<ninep::Reply> r) {
            if (!r.ok()) return Fail(sh, r.status());
            c->n++;
            Step(c, sh);
          });
        });
  });
}

int Ops(const Options& o) {
  std::vector<std::unique_ptr<ninep::Client>> clients;
  std::vector<ninep::Fid> roots(o.clients);
  std::vector<Chain> chains(o.clients);
  for (int i = 0; i < o.clients; i++) {
    clients.push_back(Connect(o, 65536, &roots[i]));
    chains[i].client = clients.back().get();
    chains[i].root = roots[i].num();
    chains[i].fid = clients.back()->AllocFid();
    chains[i].files = o.files;
  }
  Shared sh;
  sh.limit = o.count;
  sh.running = o.clients;
  auto t0 = Clock::now();
  sh.deadline =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  for (auto& c : chains) Step(&c, &sh);
  {
    std::unique_lock<std::mutex> l(sh.mu);
    sh.cv.wait(l, [&] { return sh.running.load() == 0; });
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (sh.failed) Die("ops", sh.error);
  uint64_t total = 0;
  for (auto& c : chains) total += c.n;
  printf("mode=ops clients=%d ops=%llu seconds=%.3f rate=%.0f\n", o.clients,
         static_cast<unsigned long long>(total), secs, total / secs);
  roots.clear();
  return 0;
}

int Read(const Options& o) {
  ninep::Fid root;
  auto c = Connect(o, o.msize, &root);
  auto f = root.Walk(o.path);
  if (!f.ok()) Die(o.path, f.status().message());
  ninep::Status s = f->Open(ninep::OREAD);
  if (!s.ok()) Die(o.path, s.message());
  std::vector<uint8_t> buf(c->MaxIO());
  uint64_t off = 0;
  auto t0 = Clock::now();
  for (;;) {
    auto n = f->ReadOnce(off, buf);
    if (!n.ok()) Die(o.path, n.status().message());
    if (*n == 0) break;
    off += *n;
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  printf("mode=read msize=%u bytes=%llu seconds=%.3f mbps=%.1f\n", c->msize(),
         static_cast<unsigned long long>(off), secs, off / secs / 1e6);
  *f = ninep::Fid();
  root = ninep::Fid();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Usage();
  std::string mode = argv[1];
  Options o;
  int ch;
  optind = 2;
  while ((ch = getopt(argc, argv, "a:A:c:n:t:f:m:p:")) != -1) {
    switch (ch) {
      case 'a':
        o.addr = optarg;
        break;
      case 'A':
        o.aname = optarg;
        break;
      case 'c':
        o.clients = atoi(optarg);
        break;
      case 'n':
        o.count = strtoull(optarg, nullptr, 10);
        break;
      case 't':
        o.seconds = atof(optarg);
        break;
      case 'f':
        o.files = atoi(optarg);
        break;
      case 'm': {
        auto m = ninep::ParseSize(optarg);
        if (!m.ok()) Usage();
        o.msize = *m;
        break;
      }
      case 'p':
        o.path = optarg;
        break;
      default:
        Usage();
    }
  }
  if (o.addr.empty() || o.clients < 1 || o.files < 1) Usage();
  if (mode == "ops") return Ops(o);
  if (mode == "read" && !o.path.empty()) return Read(o);
  Usage();
}
