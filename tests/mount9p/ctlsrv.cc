// ctlsrv: a synthetic 9P server for mount9p's tests, built on SynthTree.
//
//   ctl    write a line; it becomes the current command (size 0)
//   data   read: "reply: <command>\n", snapshotted at open (size 0)
//   block  read: waits until the read is flushed, like an idle pipe
//   hello  read: "hello\n" (size 6, an ordinary cached file)
//
// usage: ctlsrv [-a ADDR] [-D]; prints the bound address on stdout.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "ninep/server.h"
#include "ninep/synth.h"

using namespace ninep;

int main(int argc, char** argv) {
  std::string addr = "tcp!127.0.0.1!0";
  ServerOptions opts;
  opts.trace_prefix = "ctlsrv";
  for (int c; (c = getopt(argc, argv, "a:D")) != -1;) {
    if (c == 'a') {
      addr = optarg;
    } else if (c == 'D') {
      opts.trace = true;
    } else {
      std::fprintf(stderr, "usage: ctlsrv [-a ADDR] [-D]\n");
      return 2;
    }
  }
  SynthTree tree("glenda", 0777);
  std::mutex mu;
  std::string command;
  SynthFile ctl = SynthFile::Ctl(nullptr, [&](std::string_view data, SynthFid&) {
    std::string line(data);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    std::lock_guard<std::mutex> l(mu);
    command = line;
    return Status::Ok();
  });
  auto data = [&] {
    std::lock_guard<std::mutex> l(mu);
    return "reply: " + command + "\n";
  };
  // Fixed, distinct names in a fresh tree: an Add fails only by a bug here,
  // and value() then aborts naming it.
  tree.AddFile(tree.root(), "ctl", 0666, std::move(ctl)).value();
  tree.AddText(tree.root(), "data", 0444, data).value();
  SynthFile block;
  block.read = [](ReadReq r, SynthFid&) {
    // Keep the request until Tflush (or the connection's end) asks for it.
    auto held = std::make_shared<ReadReq>(std::move(r));
    held->OnFlush([held] { held->Fail(Status(EINTR, "interrupted")); });
  };
  tree.AddFile(tree.root(), "block", 0444, std::move(block)).value();
  SynthFile hello = SynthFile::Text([] { return std::string("hello\n"); });
  hello.length = [] { return uint64_t{6}; };
  tree.AddFile(tree.root(), "hello", 0444, std::move(hello)).value();

  Server srv(&tree, opts);
  auto bound = srv.Listen(addr);
  if (!bound.ok()) {
    std::fprintf(stderr, "ctlsrv: listen %s: %s\n", addr.c_str(), bound.status().message().c_str());
    return 1;
  }
  std::printf("%s\n", bound->c_str());
  std::fflush(stdout);
  StopOnSignals(&srv);
  srv.Run();
  return 0;
}
