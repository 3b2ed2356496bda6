// main.cc: the exportfs command: serve a directory over 9P on a listening
// address, or to one client on stdin/stdout (-s), as Plan 9's exportfs.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "exportfs/export_fs.h"
#include "ninep/buffer.h"
#include "ninep/cmdline.h"
#include "ninep/server.h"
#include "ninep/server_cmdline.h"

int main(int argc, char** argv) {
  ninep::ServerFlags flags;
  exportfs::ExportOptions eo;
  bool no_setuid = false;
  eo.root = ".";
  ninep::Command cmd("exportfs");
  cmd.AddServerFlags(&flags)
      .Flag('d', "", "the same as -D (9front's spelling)", &flags.trace)
      .Value('r', "root", "ROOT", "export the directory ROOT (default .)", &eo.root)
      .Flag('R', "read-only", "refuse every change", &eo.read_only)
      .Flag(0, "no-setuid", "serve every attach as the server's own user", &no_setuid);
  if (!cmd.ParseOrExit(argc, argv).empty()) cmd.UsageError("unexpected operand");

  // Each read's reply frame is a fresh buffer of up to msize bytes.
  ninep::KeepFrameBuffersInHeap();
  ninep::PrefaultHeap(ninep::kServerHeapPrefault);

  // Modes a client asks for are the modes it gets (clients apply their
  // own umask, as diod also assumes).
  umask(0);
  ninep::RaiseFdLimit();
  // As root, each attach's user; otherwise, and with --no-setuid, ourselves.
  eo.setuid = exportfs::CanSwitchUsers() && !no_setuid;
  if (!exportfs::CanSwitchUsers() && !no_setuid)
    fprintf(stderr, "exportfs: not running as root: serving every user as uid %u\n",
            static_cast<unsigned>(geteuid()));

  auto fs = exportfs::ExportFs::Open(eo);
  if (!fs.ok()) cmd.Fatal("root", fs.status().message());

  ninep::ServerOptions so;
  ninep::ApplyServerFlags(cmd, flags, &so);
  ninep::Server srv(fs->get(), so);
  return ninep::ServeMain(cmd, flags, &srv);
}
