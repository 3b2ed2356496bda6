// storefs_maint_test: bin/storefs's maintenance over real chunkd processes,
// driven through its ctl file (storefs(4)): a chunkd added while it runs,
// rebalance, drain and decommission, the GC of removed files' replicas
// (also of those a chunkd kept while it was down), and the ctl messages it
// must refuse. Each check reads what chunkd itself lists, not only what
// storefs's metadata says.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "store_rig.h"

namespace ninep::testing {
namespace {

constexpr size_t kChunk = 65536;  // the rig's --chunk

// One "server ADDR ..." line of storefs's ctl.
struct ServerLine {
  bool found = false;
  std::string alive, state;  // alive|dead, active|draining|decommissioned
  uint64_t replicas = 0;     // per the metadata
};

ServerLine Server(const std::map<std::string, std::string>& ctl, const std::string& addr) {
  ServerLine s;
  auto it = ctl.find("server " + addr);
  if (it == ctl.end()) return s;
  std::istringstream in(it->second);
  std::string word;
  in >> s.alive >> s.state >> word >> s.replicas;
  s.found = word == "replicas";
  return s;
}

size_t ListingSize(StoreRig& rig, int i) {
  auto l = rig.ReplicaNames(i);
  return l ? l->size() : ~size_t{0};
}

// A replica's bytes as chunkd i serves it.
std::optional<std::string> Replica(StoreRig& rig, int i, const std::string& name) {
  auto c = rig.ConnectChunkd(i);
  if (!c) return std::nullopt;
  auto got = GetFile(c->root, "chunks/" + name);
  if (!got.ok()) return std::nullopt;
  return *got;
}

// Files by name, each `chunks` chunks long less a little (so the last is partial).
using Files = std::map<std::string, std::string>;
Files MakeFiles(const std::string& prefix, int n, int chunks, uint64_t seed) {
  Files f;
  for (int i = 0; i < n; i++)
    f[prefix + std::to_string(i)] = Pattern(seed + i, 0, chunks * kChunk - 1000);
  return f;
}

Status PutAll(const Fid& root, const Files& files) {
  for (const auto& [name, data] : files)
    if (Status s = PutFile(root, name, data); !s.ok()) return s;
  return Status();
}

// "" when every file reads back exactly, else what differs.
std::string Mismatch(const Fid& root, const Files& files) {
  for (const auto& [name, data] : files) {
    auto got = GetFile(root, name);
    if (!got.ok()) return name + ": " + got.status().message();
    if (*got != data) return name + ": bytes differ";
  }
  return "";
}

// Writes a ctl message in 9P2000, whose Rerror carries storefs's message
// (9P2000.L's Rlerror carries only the errno).
Status CtlWriteText(StoreRig& rig, const std::string& msg) {
  auto c = rig.Connect(false, "ctl");
  if (!c) return Status(EIO, "connect");
  auto f = c->root.Walk("ctl");
  if (!f.ok()) return f.status();
  if (Status s = f->Open(OWRITE); !s.ok()) return s;
  auto n = f->Write(0, Bytes(msg));
  return n.ok() ? Status() : n.status();
}

class StorefsMaintTest : public ::testing::Test {
 protected:
  StoreRig rig;
};

TEST_F(StorefsMaintTest, AddedChunkdGetsNewChunks) {
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs());  // 3 replicas
  ASSERT_TRUE(rig.StartChunkd(3));  // after storefs, which knows nothing of it
  const std::string a3 = rig.ChunkAddr(3);
  EXPECT_FALSE(Server(rig.Ctl(), a3).found);
  Status s = rig.CtlWrite("add " + a3);
  ASSERT_TRUE(s.ok()) << s.message();
  auto ctl = rig.Ctl();
  EXPECT_EQ(ctl["servers"], "4");
  ServerLine l3 = Server(ctl, a3);
  ASSERT_TRUE(l3.found);
  EXPECT_EQ(l3.state, "active");
  EXPECT_EQ(l3.replicas, 0u);
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  // 24 chunks on 3 of 4 servers each: the chance that none lands on the
  // new one, were placement fair, is 4^-24.
  Files files = MakeFiles("f", 6, 4, 100);
  s = PutAll(c->root, files);
  ASSERT_TRUE(s.ok()) << s.message();
  ctl = rig.Ctl();
  l3 = Server(ctl, a3);
  EXPECT_GT(l3.replicas, 0u) << "the added chunkd got no replica";
  EXPECT_EQ(ListingSize(rig, 3), l3.replicas) << "what chunkd holds is what the metadata says";
  EXPECT_EQ(ctl["chunks"], "24");
  EXPECT_EQ(ctl["under-replicated"], "0");
  // Every chunk has a replica on chunkd 2 or 3 (3 of 4 servers hold it):
  // with 0 and 1 gone, the chunks not on 2 are read from the new server.
  rig.chunkd(0).Kill(SIGKILL);
  rig.chunkd(1).Kill(SIGKILL);
  EXPECT_EQ(Mismatch(c->root, files), "");
}

TEST_F(StorefsMaintTest, RebalanceEvensReplicaCountsAndKeepsData) {
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs({"-r", "2"}));
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  Files files = MakeFiles("f", 8, 4, 200);  // 32 chunks, 64 replicas
  Status s = PutAll(c->root, files);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(rig.StartChunkd(3));
  s = rig.CtlWrite("add " + rig.ChunkAddr(3));
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Server(rig.Ctl(), rig.ChunkAddr(3)).replicas, 0u);
  uint64_t moved = rig.CtlNum("moved");
  s = rig.CtlWrite("rebalance");  // runs to the end before the write is answered
  ASSERT_TRUE(s.ok()) << s.message();
  auto ctl = rig.Ctl();
  std::vector<uint64_t> n;
  uint64_t total = 0;
  for (int i = 0; i < 4; i++) {
    n.push_back(Server(ctl, rig.ChunkAddr(i)).replicas);
    total += n.back();
    // The source of each move lost its copy: chunkd holds what the metadata says.
    EXPECT_EQ(ListingSize(rig, i), n.back()) << "chunkd " << i;
  }
  EXPECT_EQ(total, 64u);
  auto [lo, hi] = std::minmax_element(n.begin(), n.end());
  EXPECT_LE(*hi - *lo, 1u) << n[0] << " " << n[1] << " " << n[2] << " " << n[3];
  EXPECT_GE(rig.CtlNum("moved"), moved + n[3]);
  EXPECT_EQ(ctl["under-replicated"], "0");
  // Each copy on the new server is byte for byte the replica it came from.
  auto l3 = rig.ReplicaNames(3);
  ASSERT_TRUE(l3);
  ASSERT_FALSE(l3->empty());
  for (const auto& name : *l3) {
    int peer = -1;
    for (int i = 0; i < 3 && peer < 0; i++) {
      auto l = rig.ReplicaNames(i);
      if (l && std::binary_search(l->begin(), l->end(), name)) peer = i;
    }
    ASSERT_GE(peer, 0) << name << " has no second replica";
    auto mine = Replica(rig, 3, name), theirs = Replica(rig, peer, name);
    ASSERT_TRUE(mine && theirs) << name;
    EXPECT_TRUE(*mine == *theirs) << name << " differs between chunkd 3 and " << peer;
  }
  EXPECT_EQ(Mismatch(c->root, files), "");
  // Even already: a second rebalance moves nothing.
  moved = rig.CtlNum("moved");
  ASSERT_TRUE(rig.CtlWrite("rebalance").ok());
  EXPECT_EQ(rig.CtlNum("moved"), moved);
}

TEST_F(StorefsMaintTest, DrainEmptiesAChunkdAndDecommissionRetiresIt) {
  ASSERT_TRUE(rig.StartChunkds(4));
  ASSERT_TRUE(rig.StartStorefs());  // 3 replicas
  const std::string a3 = rig.ChunkAddr(3);
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  Files files = MakeFiles("f", 6, 3, 300);  // 18 chunks on 3 of 4 servers each
  Status s = PutAll(c->root, files);
  ASSERT_TRUE(s.ok()) << s.message();
  uint64_t held = Server(rig.Ctl(), a3).replicas;
  ASSERT_GT(held, 0u);
  uint64_t moved = rig.CtlNum("moved");
  s = rig.CtlWrite("drain " + a3);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Server(rig.Ctl(), a3).state, "draining");
  EXPECT_TRUE(WaitFor([&] { return Server(rig.Ctl(), a3).replicas == 0; }, 30000))
      << Server(rig.Ctl(), a3).replicas << " replicas left";
  EXPECT_TRUE(WaitFor([&] { return ListingSize(rig, 3) == 0; }, 10000))
      << "chunkd 3 still holds " << ListingSize(rig, 3);
  EXPECT_GE(rig.CtlNum("moved"), moved + held);
  auto ctl = rig.Ctl();
  EXPECT_EQ(ctl["under-replicated"], "0");
  EXPECT_EQ(ctl["unavailable"], "0");
  EXPECT_EQ(Server(ctl, a3).state, "draining") << "drain alone does not retire";
  EXPECT_EQ(Mismatch(c->root, files), "");
  // A draining server gets no new chunks.
  Files more = MakeFiles("g", 2, 3, 310);
  s = PutAll(c->root, more);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Server(rig.Ctl(), a3).replicas, 0u);
  EXPECT_EQ(ListingSize(rig, 3), 0u);
  files.insert(more.begin(), more.end());

  s = rig.CtlWrite("decommission " + a3);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(WaitFor([&] { return Server(rig.Ctl(), a3).state == "decommissioned"; }, 10000))
      << Server(rig.Ctl(), a3).state;
  rig.chunkd(3).Kill(SIGKILL);
  EXPECT_EQ(Mismatch(c->root, files), "");
  // A repair pass run after the kill finds nothing to do.
  ASSERT_TRUE(rig.CtlWrite("repair").ok());
  ctl = rig.Ctl();
  EXPECT_EQ(ctl["under-replicated"], "0");
  EXPECT_EQ(ctl["unavailable"], "0");
  EXPECT_EQ(ctl["chunks"], "24");
  EXPECT_EQ(Server(ctl, a3).state, "decommissioned");
  EXPECT_EQ(Server(ctl, a3).replicas, 0u);
}

TEST_F(StorefsMaintTest, ActivateCancelsADecommission) {
  ASSERT_TRUE(rig.StartChunkds(4));
  ASSERT_TRUE(rig.StartStorefs({"-r", "2"}));
  const std::string a3 = rig.ChunkAddr(3);
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  Files files = MakeFiles("f", 4, 3, 350);
  Status s = PutAll(c->root, files);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_TRUE(rig.CtlWrite("decommission " + a3).ok());
  ASSERT_TRUE(rig.CtlWrite("activate " + a3).ok());
  EXPECT_EQ(Server(rig.Ctl(), a3).state, "active");
  // A later drain is only a drain: once empty, the server stays, draining.
  ASSERT_TRUE(rig.CtlWrite("drain " + a3).ok());
  EXPECT_TRUE(WaitFor([&] { return Server(rig.Ctl(), a3).replicas == 0; }, 30000));
  ASSERT_TRUE(rig.CtlWrite("repair").ok());  // the pass that would retire it
  EXPECT_EQ(Server(rig.Ctl(), a3).state, "draining");
  ASSERT_TRUE(rig.CtlWrite("activate " + a3).ok());
  EXPECT_EQ(Server(rig.Ctl(), a3).state, "active");
  EXPECT_EQ(Mismatch(c->root, files), "");
}

TEST_F(StorefsMaintTest, ChunkdsAddedAtOnceAllJoin) {
  ASSERT_TRUE(rig.StartChunkds(2));
  ASSERT_TRUE(rig.StartStorefs({"-r", "2"}));
  constexpr int kAdds = 4;
  for (int i = 2; i < 2 + kAdds; i++) ASSERT_TRUE(rig.StartChunkd(i));
  // Every ctl file open first, so that the writes meet in storefs.
  std::vector<std::unique_ptr<StoreRig::Conn>> conns;
  std::vector<Fid> ctls;
  for (int i = 0; i < kAdds; i++) {
    conns.push_back(rig.Connect(true, "ctl"));
    ASSERT_TRUE(conns.back());
    auto f = conns.back()->root.Walk("ctl");
    ASSERT_TRUE(f.ok() && f->Open(OWRITE).ok());
    ctls.push_back(std::move(*f));
  }
  std::vector<Status> res(kAdds);
  std::atomic<int> ready{0};
  std::vector<std::thread> ts;
  ts.reserve(kAdds);
  for (int i = 0; i < kAdds; i++)
    ts.emplace_back([&, i] {
      std::string msg = "add " + rig.ChunkAddr(2 + i);
      ready++;
      while (ready < kAdds) std::this_thread::yield();
      auto n = ctls[i].Write(0, Bytes(msg));
      res[i] = n.ok() ? Status() : n.status();
    });
  for (auto& t : ts) t.join();
  for (int i = 0; i < kAdds; i++) EXPECT_TRUE(res[i].ok()) << i << ": " << res[i].message();
  auto ctl = rig.Ctl();
  EXPECT_EQ(ctl["servers"], std::to_string(2 + kAdds));
  for (int i = 0; i < 2 + kAdds; i++)
    EXPECT_EQ(Server(ctl, rig.ChunkAddr(i)).state, "active") << "chunkd " << i;
  // And the log says so too: a storefs restarted with only the first two
  // on its command line knows them all.
  rig.storefs().Kill(SIGKILL);
  Process again;
  std::string addr = StartServer(&again, "storefs",
                                 {"-d", rig.dir() + "/meta", "-c",
                                  rig.ChunkAddr(0) + "," + rig.ChunkAddr(1), "--chunk", "64k"});
  ASSERT_FALSE(addr.empty());
  ClientOptions o;
  o.dialect = Dialect::k9P2000L;
  auto cl = StoreRig::Dial(addr, o, "ctl");
  ASSERT_TRUE(cl);
  auto text = GetFile(cl->root, "ctl");
  ASSERT_TRUE(text.ok());
  for (int i = 0; i < 2 + kAdds; i++)
    EXPECT_NE(text->find("server " + rig.ChunkAddr(i) + " "), std::string::npos)
        << "chunkd " << i << " missing after a restart:\n"
        << *text;
}

TEST_F(StorefsMaintTest, RemovedFilesReplicasAreCollectedEvenFromADeadChunkd) {
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs());  // 3 replicas: every chunkd holds every chunk
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  Files a = MakeFiles("a", 1, 3, 400), b = MakeFiles("b", 1, 2, 410),
        keep = MakeFiles("keep", 1, 2, 420);
  for (const Files* f : {&a, &b, &keep}) {
    Status s = PutAll(c->root, *f);
    ASSERT_TRUE(s.ok()) << s.message();
  }
  for (int i = 0; i < 3; i++) ASSERT_EQ(ListingSize(rig, i), 7u) << "chunkd " << i;
  ASSERT_EQ(rig.CtlNum("orphans"), 0u);

  Status s = c->root.Walk("a0")->Remove();
  ASSERT_TRUE(s.ok()) << s.message();
  for (int i = 0; i < 3; i++)
    EXPECT_TRUE(WaitFor([&] { return ListingSize(rig, i) == 4; }, 10000))
        << "chunkd " << i << " holds " << ListingSize(rig, i);
  EXPECT_TRUE(WaitFor([&] { return rig.CtlNum("orphans") == 9; }, 10000)) << rig.CtlNum("orphans");
  EXPECT_EQ(rig.CtlNum("chunks"), 4u);

  // chunkd 0 is down when b goes: its copies of b outlive the remove.
  rig.chunkd(0).Kill(SIGKILL);
  s = c->root.Walk("b0")->Remove();
  ASSERT_TRUE(s.ok()) << s.message();
  for (int i = 1; i < 3; i++)
    EXPECT_TRUE(WaitFor([&] { return ListingSize(rig, i) == 2; }, 10000))
        << "chunkd " << i << " holds " << ListingSize(rig, i);
  EXPECT_TRUE(WaitFor([&] { return rig.CtlNum("orphans") == 13; }, 10000)) << rig.CtlNum("orphans");
  ASSERT_TRUE(rig.StartChunkd(0));
  // The GC run when it comes back deletes them, and only them.
  auto want = rig.ReplicaNames(1);
  ASSERT_TRUE(want);
  EXPECT_TRUE(WaitFor([&] { return rig.ReplicaNames(0) == want; }, 20000))
      << "chunkd 0 holds " << ListingSize(rig, 0);
  EXPECT_TRUE(WaitFor([&] { return rig.CtlNum("orphans") == 15; }, 20000)) << rig.CtlNum("orphans");
  // Had chunkd 0 been declared dead, the repair pass copies keep back to it.
  EXPECT_TRUE(WaitFor(
      [&] {
        auto m = rig.Ctl();
        return Server(m, rig.ChunkAddr(0)).replicas == 2 && m["under-replicated"] == "0";
      },
      20000));
  // chunkd 0's copies of keep are whole: read keep with only them left.
  rig.chunkd(1).Kill(SIGKILL);
  rig.chunkd(2).Kill(SIGKILL);
  EXPECT_EQ(Mismatch(c->root, keep), "");
}

TEST_F(StorefsMaintTest, BadCtlMessagesFailClearlyAndChangeNothing) {
  ASSERT_TRUE(rig.StartChunkds(3));
  ASSERT_TRUE(rig.StartStorefs());
  auto c = rig.Connect();
  ASSERT_TRUE(c);
  Files files = MakeFiles("f", 2, 2, 500);
  ASSERT_TRUE(PutAll(c->root, files).ok());
  // What a bad message must leave as it was.
  auto state = [&] {
    auto m = rig.Ctl();
    std::string out;
    for (auto& [k, v] : m)
      if (k.rfind("server ", 0) == 0)  // addr alive|dead state replicas n
        out += k + " " + v.substr(0, v.find(" free ")) + "\n";
    for (const char* k : {"servers", "chunks", "moved", "rereplicated", "orphans", "stale"})
      out += std::string(k) + " " + m[k] + "\n";
    return out;
  };
  const std::string before = state();
  const std::string nowhere = "unix!" + rig.dir() + "/nowhere.sock";
  struct Case {
    std::string msg;
    int err;
    std::string says;
  };
  const Case cases[] = {
      {"drain " + nowhere, ENOENT, "no chunk server " + nowhere},
      {"decommission " + nowhere, ENOENT, "no chunk server"},
      {"activate " + nowhere, ENOENT, "no chunk server"},
      {"decommission", EINVAL, "unknown ctl message \"decommission\""},
      {"decommission \n", EINVAL, "unknown ctl message \"decommission\""},
      {"drain", EINVAL, "unknown ctl message \"drain\""},
      {"frobnicate", EINVAL, "unknown ctl message \"frobnicate\""},
      {"rebalance now", EINVAL, "unknown ctl message \"rebalance now\""},
      {"add " + rig.ChunkAddr(0), EEXIST, "exists"},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.msg);
    Status s = rig.CtlWrite(k.msg);
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.err(), k.err) << s.message();
    s = CtlWriteText(rig, k.msg);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find(k.says), std::string::npos) << s.message();
    // Lists what it accepts, so a typo tells the fix.
    if (k.err == EINVAL) {
      EXPECT_NE(s.message().find("drain ADDR"), std::string::npos) << s.message();
    }
  }
  EXPECT_EQ(state(), before);
  EXPECT_EQ(Mismatch(c->root, files), "");
  // And storefs still takes good ones.
  Status s = rig.CtlWrite("gc");
  EXPECT_TRUE(s.ok()) << s.message();
}

}  // namespace
}  // namespace ninep::testing
