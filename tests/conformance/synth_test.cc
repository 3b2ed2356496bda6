// synth_test: SynthTree, alone (names, removal, qids) and serving a small
// tree built in each test on a real Server and socket: text snapshots, write
// callbacks, a read answered later from another thread and its flush, a
// redirecting open, directories added and removed during a listing, fids on
// removed nodes, and fids released when a client vanishes.
#include "ninep/synth.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "conformance/p9ops.h"
#include "conformance/raw9p.h"
#include "ninep/server.h"

namespace ninep::testing {
namespace {

constexpr uint32_t kRoot = 1;

// Runs a SynthTree on a Server whose loop has a thread of its own.
class Running {
 public:
  explicit Running(SynthTree* tree) {
    std::promise<std::string> bound;
    auto got = bound.get_future();
    thread_ = std::thread([this, tree, &bound] {
      Server srv(tree, ServerOptions{});
      Result<std::string> a = srv.Listen("tcp!127.0.0.1!0");
      srv_ = &srv;
      bound.set_value(a.ok() ? *a : "");
      srv.Run();
      srv_ = nullptr;
    });
    addr_ = got.get();
  }
  ~Running() {
    if (srv_) srv_->Stop();
    thread_.join();
  }
  const std::string& addr() const { return addr_; }
  // Runs fn on the loop thread and waits for it (tree changes go there).
  void OnLoop(std::function<void()> fn) {
    std::promise<void> done;
    srv_->Post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

 private:
  std::thread thread_;
  Server* srv_ = nullptr;
  std::string addr_;
};

// A connected, attached P9 in a dialect.
struct Conn {
  Conn(const std::string& addr, Dialect d) : p(&c) {
    EXPECT_TRUE(c.Connect(addr).ok());
    EXPECT_TRUE(p.Start(VersionOf(d), kRoot).ok());
  }
  RawConn c;
  P9 p;
};

// ---- The tree alone -------------------------------------------------------------

TEST(SynthTreeAlone, NamesAndErrors) {
  SynthTree t("glenda");
  auto root = t.root();
  EXPECT_TRUE(root->IsDir());
  EXPECT_EQ(t.AddDir(root, "").status().err(), EINVAL);
  EXPECT_EQ(t.AddDir(root, ".").status().err(), EINVAL);
  EXPECT_EQ(t.AddDir(root, "..").status().err(), EINVAL);
  EXPECT_EQ(t.AddDir(root, "a/b").status().err(), EINVAL);
  Result<SynthNodeRef> a = t.AddDir(root, "a");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(t.AddDir(root, "a").status().err(), EEXIST);
  Result<SynthNodeRef> f = t.AddText(*a, "f", 0444, [] { return std::string("x"); });
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(t.AddDir(*f, "under-a-file").status().err(), ENOTDIR);
  EXPECT_EQ(t.Lookup(*a, "f"), *f);
  EXPECT_EQ((*f)->parent(), a->get());
  EXPECT_EQ(t.RemoveNode(root).err(), EPERM);
  ASSERT_TRUE(t.RemoveNode(*a).ok());
  EXPECT_TRUE((*a)->removed());
  EXPECT_TRUE((*f)->removed()) << "removal takes the subtree";
  EXPECT_EQ(t.RemoveNode(*a).err(), ENOENT);
  EXPECT_EQ(t.Lookup(root, "a"), nullptr);
  EXPECT_EQ(t.AddDir(*a, "late").status().err(), ENOENT);
  // A name is free again after removal, with a new qid path.
  Result<SynthNodeRef> a2 = t.AddDir(root, "a");
  ASSERT_TRUE(a2.ok());
  EXPECT_NE((*a2)->qid().path, (*a)->qid().path);
}

TEST(SynthTreeAlone, ChildrenInOrderAndQids) {
  SynthTree t("glenda");
  std::vector<std::string> names = {"zeta", "alpha", "mid", "beta"};
  std::set<uint64_t> paths{t.root()->qid().path};
  for (auto& n : names) {
    Result<SynthNodeRef> c = t.AddText(t.root(), n, 0444, [] { return std::string(); });
    ASSERT_TRUE(c.ok());
    paths.insert((*c)->qid().path);
  }
  EXPECT_EQ(paths.size(), 5u);
  std::vector<std::string> got;
  for (auto& c : t.Children(t.root())) got.push_back(c->name());
  EXPECT_EQ(got, names) << "listing order is the order of creation";
  SynthNodeRef z = t.Lookup(t.root(), "zeta");
  uint32_t v = z->qid().version;
  SynthTree::Touch(*z);
  EXPECT_EQ(z->qid().version, v + 1);
  Dir d = t.DirOf(*z);
  EXPECT_EQ(d.uid, "glenda");
  EXPECT_EQ(d.mode, 0444u);
  EXPECT_EQ(d.length, 0u);
  EXPECT_EQ(t.DirOf(*t.root()).mode, DMDIR | 0555);
}

// ---- Served -----------------------------------------------------------------------

class Served : public ::testing::TestWithParam<Dialect> {};

TEST_P(Served, TextIsSnapshotAtOpen) {
  SynthTree t("glenda");
  std::mutex mu;
  std::string value = "first version\n";
  ASSERT_TRUE(t.AddText(t.root(), "status", 0444, [&] {
                 std::lock_guard<std::mutex> l(mu);
                 return value;
               }).ok());
  Running run(&t);
  Conn a(run.addr(), GetParam());
  ASSERT_TRUE(a.p.Walk(kRoot, 2, {"status"}).ok());
  ASSERT_TRUE(a.p.Open(2, OREAD).ok());
  {
    std::lock_guard<std::mutex> l(mu);
    value = "second\n";
  }
  ASSERT_TRUE(a.p.Walk(kRoot, 3, {"status"}).ok());
  ASSERT_TRUE(a.p.Open(3, OREAD).ok());
  // Served by offset, in small pieces, from the snapshot.
  std::string old;
  for (uint64_t off = 0;;) {
    Result<std::string> r = a.p.Read(2, off, 3);
    ASSERT_TRUE(r.ok());
    if (r->empty()) break;
    old += *r;
    off += r->size();
  }
  EXPECT_EQ(old, "first version\n");
  EXPECT_EQ(*a.p.Read(3, 0, 100), "second\n");
  // Text files are read-only.
  ASSERT_TRUE(a.p.Walk(kRoot, 4, {"status"}).ok());
  EXPECT_EQ(a.p.Open(4, OWRITE).status().err(), EACCES);
}

TEST_P(Served, CtlWritesReachTheCallbackAndErrorsReachTheClient) {
  SynthTree t("glenda");
  std::vector<std::string> got;  // loop thread only
  SynthFile ctl = SynthFile::Ctl(nullptr, [&](std::string_view cmd, SynthFid&) {
    if (cmd == "bad") return Status(EINVAL, "bad ctl message");
    got.emplace_back(cmd);
    return Status::Ok();
  });
  ctl.touch_on_write = true;
  ASSERT_TRUE(t.AddFile(t.root(), "ctl", 0666, std::move(ctl)).ok());
  Running run(&t);
  Conn a(run.addr(), GetParam());
  ASSERT_TRUE(a.p.Walk(kRoot, 2, {"ctl"}).ok());
  uint32_t v0 = a.p.Stat(2)->qid.version;
  ASSERT_TRUE(a.p.Open(2, ORDWR).ok());
  EXPECT_EQ(*a.p.Write(2, 0, "start"), 5u);
  // 9P2000 carries the text, 9P2000.L the errno.
  Result<uint32_t> bad = a.p.Write(2, 0, "bad");
  if (a.p.L()) {
    EXPECT_EQ(bad.status().err(), EINVAL);
  } else {
    EXPECT_EQ(bad.status().message(), "bad ctl message");
  }
  EXPECT_EQ(*a.p.Write(2, 0, "stop"), 4u);
  EXPECT_EQ(*a.p.Read(2, 0, 100), "") << "a ctl without text reads empty";
  EXPECT_EQ(a.p.Stat(2)->qid.version, v0 + 3) << "touch_on_write bumps per write";
  run.OnLoop([&] { EXPECT_EQ(got, (std::vector<std::string>{"start", "stop"})); });
  // Shells truncate on '>': a wstat of length 0 is accepted; others are not.
  ninep::Stat s = NullStat();
  s.length = 0;
  EXPECT_TRUE(a.p.Wstat(2, s).ok());
  s = NullStat();
  s.mode = 0777;
  EXPECT_FALSE(a.p.Wstat(2, s).ok());
  ASSERT_TRUE(a.p.Walk(kRoot, 3, {}).ok());
  EXPECT_FALSE(a.p.Create(3, "new", 0644, OWRITE).ok());
  ASSERT_TRUE(a.p.Walk(kRoot, 4, {"ctl"}).ok());
  EXPECT_FALSE(a.p.Remove(4).ok());
}

// A read that waits: the callback parks the request; the test answers it
// from its own thread.
struct Parked {
  std::mutex mu;
  std::condition_variable cv;
  std::optional<ReadReq> req;
  int flushed = 0, clunked = 0, opened = 0;

  // True once a read is parked (waits at most 10 s).
  bool WaitParked() {
    std::unique_lock<std::mutex> l(mu);
    return cv.wait_for(l, std::chrono::seconds(10), [&] { return req.has_value(); });
  }
};

SynthFile ParkingFile(Parked* pk) {
  SynthFile f;
  f.open = [pk](OpenReq r, SynthFid& fid) {
    fid.state = std::make_shared<int>(++pk->opened);  // per-open state
    r.Respond(OpenOut{fid.node()->qid(), 0});
  };
  f.read = [pk](ReadReq r, SynthFid& fid) {
    EXPECT_EQ(*fid.State<int>(), pk->opened);
    r.OnFlush([pk] {
      std::lock_guard<std::mutex> l(pk->mu);
      if (pk->req) {
        pk->req->Fail(Status(EINTR, "interrupted"));
        pk->req.reset();
        pk->flushed++;
      }
      pk->cv.notify_all();
    });
    std::lock_guard<std::mutex> l(pk->mu);
    pk->req.emplace(std::move(r));
    pk->cv.notify_all();
  };
  f.clunk = [pk](SynthFid&) {
    std::lock_guard<std::mutex> l(pk->mu);
    pk->clunked++;
  };
  return f;
}

// Opens /wait (a ParkingFile) as fid 2 on a and sends a Tread with `tag`,
// which the file parks.
::testing::AssertionResult ParkRead(Conn& a, Parked& pk, uint16_t tag) {
  if (!a.p.Walk(kRoot, 2, {"wait"}).ok() || !a.p.Open(2, OREAD).ok())
    return ::testing::AssertionFailure() << "cannot open wait";
  if (!a.c.Send(M(tag, Tread{2, 0, 64})).ok())
    return ::testing::AssertionFailure() << "cannot send the read";
  if (!pk.WaitParked()) return ::testing::AssertionFailure() << "the read was not parked";
  return ::testing::AssertionSuccess();
}

TEST_P(Served, ReadAnsweredLaterFromAnotherThread) {
  SynthTree t("glenda");
  Parked pk;
  ASSERT_TRUE(t.AddFile(t.root(), "wait", 0444, ParkingFile(&pk)).ok());
  Running run(&t);
  Conn a(run.addr(), GetParam());
  ASSERT_TRUE(ParkRead(a, pk, 70));
  // While it waits, other requests are answered.
  Result<RawReply> st = a.c.Rpc(M(71, Tclunk{12345}));
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->msg.tag, 71);
  // Answer from this (non-loop) thread.
  std::thread([&] {
    std::lock_guard<std::mutex> l(pk.mu);
    memcpy(pk.req->buf.data(), "later", 5);
    pk.req->Respond(5);
    pk.req.reset();
  }).join();
  Result<RawReply> r = a.c.Recv();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->msg.tag, 70);
  ASSERT_EQ(r->type(), kRread) << r->Describe();
  auto d = std::get<Rread>(r->msg.body).data;
  EXPECT_EQ(std::string(d.begin(), d.end()), "later");
  ASSERT_TRUE(a.p.Clunk(2).ok());
  std::lock_guard<std::mutex> l(pk.mu);
  EXPECT_EQ(pk.clunked, 1);
  EXPECT_EQ(pk.flushed, 0);
}

TEST_P(Served, FlushReachesAWaitingRead) {
  SynthTree t("glenda");
  Parked pk;
  ASSERT_TRUE(t.AddFile(t.root(), "wait", 0444, ParkingFile(&pk)).ok());
  Running run(&t);
  Conn a(run.addr(), GetParam());
  ASSERT_TRUE(ParkRead(a, pk, 80));
  ASSERT_TRUE(a.c.Send(M(81, Tflush{80})).ok());
  bool rflush = false;
  for (int i = 0; i < 2 && !rflush; i++) {
    Result<RawReply> r = a.c.Recv();
    ASSERT_TRUE(r.ok()) << r.status().message();
    if (r->msg.tag == 81) {
      rflush = r->type() == kRflush;
    } else {
      EXPECT_TRUE(r->IsError()) << r->Describe();
    }
  }
  EXPECT_TRUE(rflush);
  std::lock_guard<std::mutex> l(pk.mu);
  EXPECT_EQ(pk.flushed, 1);
  EXPECT_FALSE(pk.req.has_value());
}

TEST_P(Served, OpenRedirectsToANewDirectorysCtl) {
  SynthTree t("glenda");
  int next = 0;
  SynthFile clone;
  clone.open = [&](OpenReq r, SynthFid&) {
    std::string n = std::to_string(next++);
    SynthNodeRef d = *t.AddDir(t.root(), n);
    SynthFile ctl = SynthFile::Text([n] { return n + "\n"; });
    ctl.clunk = [&t, n](SynthFid&) { EXPECT_TRUE(t.RemoveNode(t.Lookup(t.root(), n)).ok()); };
    SynthNodeRef c = *t.AddFile(d, "ctl", 0444, std::move(ctl));
    t.OpenAs(std::move(r), c);
  };
  ASSERT_TRUE(t.AddFile(t.root(), "clone", 0444, std::move(clone)).ok());
  Running run(&t);
  Conn a(run.addr(), GetParam());
  for (int i = 0; i < 2; i++) {
    uint32_t fid = 10 + i;
    ASSERT_TRUE(a.p.Walk(kRoot, fid, {"clone"}).ok());
    Result<Qid> q = a.p.Open(fid, OREAD);
    ASSERT_TRUE(q.ok()) << q.status().message();
    // The Ropen qid is the new ctl's.
    Result<std::vector<Qid>> w = a.p.Walk(kRoot, 20 + i, {std::to_string(i), "ctl"});
    ASSERT_TRUE(w.ok());
    ASSERT_EQ(w->size(), 2u);
    EXPECT_EQ(q->path, (*w)[1].path);
    EXPECT_EQ(a.p.Stat(fid)->qid.path, q->path) << "stat follows the redirect";
    EXPECT_EQ(*a.p.Read(fid, 0, 100), std::to_string(i) + "\n");
    ASSERT_TRUE(a.p.Clunk(20 + i).ok());
  }
  // Clunking a clone's fid removes its directory.
  ASSERT_TRUE(a.p.Clunk(10).ok());
  EXPECT_EQ(a.p.Walk(kRoot, 30, {"0"}).status().err(), ENOENT);
  EXPECT_TRUE(a.p.Walk(kRoot, 30, {"1"}).ok());
}

TEST_P(Served, ListingSurvivesAddsAndRemovesWithoutRepeatsOrSkips) {
  SynthTree t("glenda");
  for (int i = 0; i < 30; i++) ASSERT_TRUE(t.AddDir(t.root(), "d" + std::to_string(i)).ok());
  Running run(&t);
  Conn a(run.addr(), GetParam());
  ASSERT_TRUE(a.p.Walk(kRoot, 2, {}).ok());
  ASSERT_TRUE(a.p.Open(2, OREAD).ok());
  // Read a little, change the tree, read the rest (resuming by offset).
  RawConn& c = a.c;
  bool L = a.p.L();
  std::vector<std::string> names;
  uint64_t offset = 0;
  auto read_some = [&](uint32_t count) -> size_t {
    Result<RawReply> r = L ? c.Call(Treaddir{2, offset, count}) : c.Call(Tread{2, offset, count});
    EXPECT_TRUE(r.ok() && !r->IsError());
    if (!r.ok() || r->IsError()) return 0;
    auto data = L ? std::get<Rreaddir>(r->msg.body).data : std::get<Rread>(r->msg.body).data;
    size_t n = 0;
    if (L) {
      DirentReader rd(data);
      Dirent d;
      while (rd.Next(&d)) names.emplace_back(d.name), offset = d.offset, n++;
    } else {
      StatReader rd(data);
      ninep::Stat s;
      while (rd.Next(&s)) names.emplace_back(s.name), n++;
      offset += data.size();
    }
    return n;
  };
  ASSERT_GT(read_some(200), 0u);
  size_t first = names.size();
  ASSERT_LT(first, 20u);
  run.OnLoop([&] {
    EXPECT_TRUE(t.RemoveNode(t.Lookup(t.root(), "d0")).ok());   // already listed
    EXPECT_TRUE(t.RemoveNode(t.Lookup(t.root(), "d25")).ok());  // not yet listed
    EXPECT_TRUE(t.AddDir(t.root(), "new").ok());
  });
  for (int i = 0; i < 100 && read_some(200) > 0; i++) {
  }
  std::set<std::string> got(names.begin(), names.end());
  EXPECT_EQ(got.size(), names.size()) << "an entry repeated";
  for (int i = 0; i < 30; i++) {
    if (i == 25) continue;
    EXPECT_TRUE(got.count("d" + std::to_string(i))) << "skipped d" << i;
  }
  EXPECT_FALSE(got.count("d25")) << "a removed entry was listed";
  EXPECT_TRUE(got.count("new")) << "an entry added at the end is listed";
}

TEST_P(Served, FidsOnRemovedNodesKeepWorkingOrFailCleanly) {
  SynthTree t("glenda");
  SynthNodeRef dir = *t.AddDir(t.root(), "gone");
  ASSERT_TRUE(t.AddText(dir, "f", 0444, [] { return std::string("still here\n"); }).ok());
  Running run(&t);
  Conn a(run.addr(), GetParam());
  ASSERT_TRUE(a.p.Walk(kRoot, 2, {"gone", "f"}).ok());
  ASSERT_TRUE(a.p.Open(2, OREAD).ok());
  ASSERT_TRUE(a.p.Walk(kRoot, 3, {"gone"}).ok());
  ASSERT_TRUE(a.p.Walk(kRoot, 4, {"gone", "f"}).ok());
  ASSERT_TRUE(a.p.Walk(kRoot, 5, {"gone"}).ok());
  ASSERT_TRUE(a.p.Open(5, OREAD).ok());
  run.OnLoop([&] { ASSERT_TRUE(t.RemoveNode(dir).ok()); });
  EXPECT_EQ(*a.p.Read(2, 0, 100), "still here\n") << "an open file reads on";
  EXPECT_TRUE(a.p.Stat(2).ok());
  // ENOENT, which 9P2000 spells "file has been removed".
  auto removed = [&](const Status& s) {
    return a.p.L() ? s.err() == ENOENT : s.message() == "file has been removed";
  };
  EXPECT_TRUE(removed(a.p.Walk(3, 6, {"f"}).status()));
  EXPECT_TRUE(removed(a.p.Open(4, OREAD).status()));
  EXPECT_FALSE(a.p.ReadDirAll(5, 1000).ok());
  EXPECT_EQ(a.p.Walk(kRoot, 6, {"gone"}).status().err(), ENOENT);
  for (uint32_t f : {2, 3, 4, 5}) EXPECT_TRUE(a.p.Clunk(f).ok());
}

TEST_P(Served, VanishedClientReleasesFidsAndClunks) {
  SynthTree t("glenda");
  Parked pk;
  ASSERT_TRUE(t.AddFile(t.root(), "wait", 0444, ParkingFile(&pk)).ok());
  Running run(&t);
  {
    Conn a(run.addr(), GetParam());
    ASSERT_TRUE(a.p.Walk(kRoot, 2, {"wait"}).ok());
    ASSERT_TRUE(a.p.Open(2, OREAD).ok());
    for (uint32_t f = 3; f < 10; f++) ASSERT_TRUE(a.p.Walk(kRoot, f, {}).ok());
    EXPECT_EQ(t.live_fids(), 9);
    ASSERT_TRUE(a.c.Send(M(90, Tread{2, 0, 64})).ok());
    ASSERT_TRUE(pk.WaitParked());
  }  // hang up with the read pending
  for (int i = 0; i < 500 && t.live_fids() != 0; i++) usleep(10000);
  EXPECT_EQ(t.live_fids(), 0);
  std::lock_guard<std::mutex> l(pk.mu);
  EXPECT_EQ(pk.flushed, 1) << "the pending read was flushed";
  EXPECT_EQ(pk.clunked, 1) << "the open fid's clunk callback ran";
}

TEST_P(Served, StatDescribesNodes) {
  SynthTree t("bootes");
  SynthFile f = SynthFile::Text([] { return std::string("12345"); });
  f.length = [] { return uint64_t{5}; };
  SynthNodeRef n = *t.AddFile(t.root(), "sized", 0440, std::move(f));
  Running run(&t);
  Conn a(run.addr(), GetParam());
  ASSERT_TRUE(a.p.Walk(kRoot, 2, {"sized"}).ok());
  Result<Dir> d = a.p.Stat(2);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->length, 5u);
  EXPECT_EQ(d->mode & 0777, 0440u);
  EXPECT_EQ(d->qid.path, n->qid().path);
  EXPECT_GT(d->mtime, 1600000000u);
  if (!a.p.L()) {
    EXPECT_EQ(d->uid, "bootes");
    EXPECT_EQ(d->name, "sized");
  }
  // Touch from any thread shows in the next stat.
  std::thread([&] { SynthTree::Touch(*n); }).join();
  EXPECT_EQ(a.p.Stat(2)->qid.version, d->qid.version + 1);
}

INSTANTIATE_TEST_SUITE_P(Dialects, Served, ::testing::Values(Dialect::k9P2000, Dialect::k9P2000L),
                         [](const auto& i) { return DialectName(i.param); });

}  // namespace
}  // namespace ninep::testing
