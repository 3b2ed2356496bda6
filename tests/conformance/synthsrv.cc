// synthsrv: a test server built on SynthTree, for what ramfs cannot show:
// requests that stay pending (a pipe whose reads wait for a writer), replies
// out of order (reads answered after a delay), answers from worker threads,
// a redirecting clone, directories made and removed at run time, and
// counters of live fids and clunks to prove a dropped client let go.
//
//   /version  text, "synthsrv 1\n"
//   /fids     text, SynthTree::live_fids() at open
//   /stats    text, "pending P flushed F clunks C\n" for the pipe
//   /pipe     read waits until a write brings data; Tflush fails the read
//   /delay    a read at offset D (ms, at most 5000) is answered after D ms
//             with the decimal text of D
//   /worker   a read answered from a worker thread: "worker\n"
//   /counter  ctl: each write bumps qid.version; reads give the count
//   /ctl      ctl: "mkdir NAME" adds /NAME (holding a text file `x`),
//             "rmdir NAME" removes it; reads list the dynamic names
//   /clone    open makes /N (ctl, data) and the fid becomes /N/ctl; its
//             clunk removes /N
//
// usage: synthsrv [-a ADDR] [-s] [-m MSIZE] [-D]: the shared server flags
// (ninep/cmdline.h); with port 0 it prints the bound address.
#include <unistd.h>
#include <uv.h>

#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "ninep/server.h"
#include "ninep/server_cmdline.h"
#include "ninep/synth.h"

namespace {

using namespace ninep;

// A blocking pipe: reads wait for data; all on the loop thread.
struct Pipe {
  using Slot = std::shared_ptr<std::optional<ReadReq>>;
  std::string data;
  std::deque<Slot> readers;
  int flushed = 0;
  int clunks = 0;

  int Pending() const {
    int n = 0;
    for (auto& s : readers) n += s->has_value();
    return n;
  }
  void Serve() {
    while (!data.empty() && !readers.empty()) {
      Slot s = readers.front();
      readers.pop_front();
      if (!s->has_value()) continue;
      ReadReq r = std::move(**s);
      s->reset();
      size_t n = std::min(r.buf.size(), data.size());
      memcpy(r.buf.data(), data.data(), n);
      data.erase(0, n);
      r.Respond(static_cast<uint32_t>(n));
    }
  }
};

SynthFile PipeFile(Pipe* p) {
  SynthFile f;
  f.read = [p](ReadReq r, SynthFid&) {
    auto slot = std::make_shared<std::optional<ReadReq>>(std::move(r));
    p->readers.push_back(slot);
    // OnFlush runs on the loop thread, like everything else touching p.
    (*slot)->OnFlush([p, slot] {
      if (!slot->has_value()) return;
      ReadReq q = std::move(**slot);
      slot->reset();
      p->flushed++;
      q.Fail(Status(EINTR, "interrupted"));
    });
    p->Serve();
  };
  f.write = [p](WriteReq r, SynthFid&) {
    p->data.append(reinterpret_cast<const char*>(r.data.data()), r.data.size());
    r.Respond(static_cast<uint32_t>(r.data.size()));
    p->Serve();
  };
  f.clunk = [p](SynthFid&) { p->clunks++; };
  return f;
}

// A read answered by a libuv timer after `offset` milliseconds.
SynthFile DelayFile(SynthTree* tree) {
  SynthFile f;
  f.read = [tree](ReadReq r, SynthFid&) {
    struct Timer {
      uv_timer_t t;
      std::optional<ReadReq> r;
    };
    auto* t = new Timer;
    uint64_t ms = std::min<uint64_t>(r.offset, 5000);
    t->r.emplace(std::move(r));
    uv_timer_init(tree->server()->loop(), &t->t);
    t->t.data = t;
    uv_timer_start(
        &t->t,
        [](uv_timer_t* h) {
          auto* t = static_cast<Timer*>(h->data);
          ReadReq q = std::move(*t->r);
          t->r.reset();
          std::string text = std::to_string(q.offset);
          size_t n = std::min(q.buf.size(), text.size());
          memcpy(q.buf.data(), text.data(), n);
          q.Respond(static_cast<uint32_t>(n));
          uv_close(reinterpret_cast<uv_handle_t*>(h),
                   [](uv_handle_t* hh) { delete static_cast<Timer*>(hh->data); });
        },
        ms, 0);
  };
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  ServerFlags flags;
  Command cmd("synthsrv");
  cmd.AddServerFlags(&flags);
  if (!cmd.ParseOrExit(argc, argv).empty()) cmd.UsageError("unexpected operand");
  SynthTree tree("synth");
  Pipe pipe;
  const SynthNodeRef& root = tree.root();
  // The fixed files have distinct names in a fresh tree: adding one fails
  // only by a bug here, and value() then aborts naming it.
  tree.AddText(root, "version", 0444, [] { return std::string("synthsrv 1\n"); }).value();
  tree.AddText(root, "fids", 0444, [&] { return std::to_string(tree.live_fids()) + "\n"; }).value();
  tree.AddText(root, "stats", 0444,
               [&] {
                 return "pending " + std::to_string(pipe.Pending()) + " flushed " +
                        std::to_string(pipe.flushed) + " clunks " + std::to_string(pipe.clunks) +
                        "\n";
               })
      .value();
  tree.AddFile(root, "pipe", 0666, PipeFile(&pipe)).value();
  tree.AddFile(root, "delay", 0444, DelayFile(&tree)).value();

  SynthFile worker;
  worker.read = [&tree](ReadReq r, SynthFid&) {
    tree.server()->Offload([r = std::move(r)]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      SynthTree::ServeText(std::move(r), "worker\n");
    });
  };
  tree.AddFile(root, "worker", 0444, std::move(worker)).value();

  int count = 0;
  SynthFile counter = SynthFile::Ctl([&] { return std::to_string(count) + "\n"; },
                                     [&](std::string_view, SynthFid&) {
                                       count++;
                                       return Status::Ok();
                                     });
  counter.touch_on_write = true;
  tree.AddFile(root, "counter", 0666, std::move(counter)).value();

  std::set<std::string> dynamic;
  tree.AddFile(root, "ctl", 0666,
               SynthFile::Ctl(
                   [&] {
                     std::string s;
                     for (auto& d : dynamic) s += d + "\n";
                     return s;
                   },
                   [&](std::string_view cmd, SynthFid&) -> Status {
                     while (!cmd.empty() && cmd.back() == '\n') cmd.remove_suffix(1);
                     if (cmd.substr(0, 6) == "mkdir ") {
                       std::string name(cmd.substr(6));
                       Result<SynthNodeRef> d = tree.AddDir(root, name, 0555);
                       if (!d.ok()) return d.status();
                       auto x = tree.AddText(*d, "x", 0444, [name] { return name + "\n"; });
                       if (!x.ok()) return x.status();
                       dynamic.insert(name);
                       return Status::Ok();
                     }
                     if (cmd.substr(0, 6) == "rmdir ") {
                       std::string name(cmd.substr(6));
                       SynthNodeRef d = tree.Lookup(root, name);
                       if (!d) return Status(ENOENT, "no such directory");
                       dynamic.erase(name);
                       return tree.RemoveNode(d);
                     }
                     return Status(EINVAL, "unknown ctl message");
                   }))
      .value();

  int next = 0;
  SynthFile clone;
  clone.open = [&](OpenReq r, SynthFid& f) {
    std::string name = std::to_string(next++);
    Result<SynthNodeRef> d = tree.AddDir(root, name, 0555);
    if (!d.ok()) return r.Fail(d.status());
    SynthFile ctl = SynthFile::Text([name] { return name; });
    ctl.write = [](WriteReq w, SynthFid&) { w.Respond(static_cast<uint32_t>(w.data.size())); };
    ctl.clunk = [&tree, &root, name](SynthFid& cf) {
      if (!cf.state) return;  // only the fid that clone made owns the directory
      // A directory still in the tree is not the root: removing it cannot fail.
      if (SynthNodeRef dd = tree.Lookup(root, name)) tree.RemoveNode(dd).IgnoreError();
    };
    Result<SynthNodeRef> c = tree.AddFile(*d, "ctl", 0666, std::move(ctl));
    if (!c.ok()) return r.Fail(c.status());
    auto data = tree.AddText(*d, "data", 0444, [] { return std::string("data\n"); });
    if (!data.ok()) return r.Fail(data.status());
    f.state = std::make_shared<std::string>(name);
    tree.OpenAs(std::move(r), *c);
  };
  tree.AddFile(root, "clone", 0444, std::move(clone)).value();

  ServerOptions so;
  ApplyServerFlags(cmd, flags, &so);
  Server srv(&tree, so);
  return ServeMain(cmd, flags, &srv);
}
