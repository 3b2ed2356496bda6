// main.cc: the exportfs command: serve a directory over 9P on a listening
// address, or to one client on stdin/stdout (-s), as Plan 9's exportfs.
#include <getopt.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "exportfs/export_fs.h"
#include "ninep/server.h"
#include "ninep/transport.h"

namespace {

constexpr const char* kUsage =
    "usage: exportfs [-a ADDR] [-s] [-r ROOT] [-R] [-m MSIZE] [-d] [-D]\n";

[[noreturn]] void Usage() {
  fputs(kUsage, stderr);
  exit(2);
}

[[noreturn]] void Fatal(const std::string& what, const std::string& why) {
  fprintf(stderr, "exportfs: %s: %s\n", what.c_str(), why.c_str());
  exit(1);
}

// Every fid holds an fd: allow as many as the hard limit permits.
void RaiseFdLimit() {
  rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string addr = "tcp!*!564", root = ".";
  bool stdio = false, trace = false;
  exportfs::ExportOptions eo;
  uint32_t msize = 0;
  int c;
  while ((c = getopt(argc, argv, "a:sr:Rm:dD")) != -1) {
    switch (c) {
      case 'a':
        addr = optarg;
        break;
      case 's':
        stdio = true;
        break;
      case 'r':
        root = optarg;
        break;
      case 'R':
        eo.read_only = true;
        break;
      case 'm': {
        auto m = ninep::ParseSize(optarg);
        if (!m.ok() || *m < ninep::MINMSIZE) {
          fprintf(stderr, "exportfs: -m %s: bad msize\n", optarg);
          Usage();
        }
        msize = *m;
        break;
      }
      case 'd':
      case 'D':
        trace = true;
        break;
      default:
        Usage();
    }
  }
  if (optind != argc) Usage();
  eo.root = root;

  // Each read's reply frame is a fresh buffer of up to msize bytes.
  ninep::KeepFrameBuffersInHeap();

  // Modes a client asks for are the modes it gets (clients apply their
  // own umask, as diod also assumes).
  umask(0);
  RaiseFdLimit();

  auto fs = exportfs::ExportFs::Open(eo);
  if (!fs.ok()) Fatal("root", fs.status().message());

  ninep::ServerOptions so;
  if (msize) so.max_msize = msize;
  so.trace = trace;
  so.trace_prefix = "exportfs";
  ninep::Server srv(fs->get(), so);
  ninep::StopOnSignals(&srv);

  if (stdio) {
    ninep::Status s = srv.ServeFds(0, 1);
    if (!s.ok()) Fatal("stdin/stdout", s.message());
  } else {
    auto d = ninep::ParseDial(addr);
    if (!d.ok()) Fatal(addr, d.status().message());
    auto bound = srv.Listen(addr);
    if (!bound.ok()) Fatal("listen " + addr, bound.status().message());
    if (d->kind == ninep::DialAddr::kTcp && d->port == 0) {
      printf("%s\n", bound->c_str());
      fflush(stdout);
    }
  }
  srv.Run();
  return 0;
}
