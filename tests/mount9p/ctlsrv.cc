// ctlsrv: a synthetic 9P server for mount9p's tests, built on SynthTree.
//
//   ctl    write a line; it becomes the current command (size 0)
//   data   read: "reply: <command>\n", snapshotted at open (size 0)
//   block  read: waits until the read is flushed, like an idle pipe
//   hello  read: "hello\n" (size 6, an ordinary cached file)
//
// usage: ctlsrv [-a ADDR] [-s] [-m MSIZE] [-D] (ninep/cmdline.h); it listens on
// tcp!127.0.0.1!0 unless told otherwise and prints the bound address.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "ninep/server.h"
#include "ninep/server_cmdline.h"
#include "ninep/synth.h"

using namespace ninep;

int main(int argc, char** argv) {
  ServerFlags flags;
  flags.addr = "tcp!127.0.0.1!0";  // a test server: any free port by default
  Command cmd("ctlsrv");
  cmd.AddServerFlags(&flags);
  if (!cmd.ParseOrExit(argc, argv).empty()) cmd.UsageError("unexpected operand");
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

  ServerOptions opts;
  ApplyServerFlags(cmd, flags, &opts);
  Server srv(&tree, opts);
  return ServeMain(cmd, flags, &srv);
}
