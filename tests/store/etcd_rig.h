// etcd_rig.h: Debian's etcd (/usr/bin/etcd) for the store's tests: one
// member or a cluster of several on 127.0.0.1, each with its own data
// directory in a temp dir, killed and restarted by the test.
// etcd cannot report a port it bound, so each member gets ports that were
// free a moment before; a member that loses that race is started again on
// new ones (before the cluster has formed, while nothing depends on them).
// Thread-safety: one rig per test.
#ifndef NINEP_TESTS_STORE_ETCD_RIG_H_
#define NINEP_TESTS_STORE_ETCD_RIG_H_

#include <memory>
#include <string>
#include <vector>

#include "storelib/etcd.h"
#include "testutil.h"

namespace ninep::testing {

class EtcdRig {
 public:
  EtcdRig() = default;
  EtcdRig(const EtcdRig&) = delete;
  EtcdRig& operator=(const EtcdRig&) = delete;

  // Starts n members as one new cluster and waits until it answers.
  bool Start(int n = 1) {
    for (int attempt = 0; attempt < 5; attempt++) {
      members_.clear();
      for (int i = 0; i < n; i++) members_.push_back(Member{FreePort(), FreePort(), nullptr});
      bool ok = true;
      for (int i = 0; i < n && ok; i++) ok = Launch(i, "new");
      if (ok && Ready()) return true;
      for (auto& m : members_) m.proc.reset();
    }
    return false;
  }
  // kill -9 of member i.
  void Kill(int i) { members_[i].proc->Kill(SIGKILL); }
  // Starts member i again on its ports and data (after Kill).
  bool Restart(int i) { return Launch(i, "existing") && Ready(); }

  // "etcd!127.0.0.1!PORT,..." over every member.
  std::string Spec() const {
    std::string s = "etcd!";
    for (size_t i = 0; i < members_.size(); i++)
      s += (i ? ",127.0.0.1!" : "127.0.0.1!") + std::to_string(members_[i].client);
    return s;
  }
  // "etcd!127.0.0.1!PORT" of member i alone.
  std::string SpecOf(int i) const { return "etcd!127.0.0.1!" + std::to_string(members_[i].client); }
  Process& member(int i) { return *members_[i].proc; }

  // True once a linearizable read through every live member's endpoint list succeeds.
  bool Ready(int timeout_ms = 30000) {
    store::EtcdClient::Options o;
    o.timeout = std::chrono::milliseconds(2000);
    auto c = store::EtcdClient::Open(Spec(), o);
    if (!c.ok()) return false;
    return WaitFor([&] { return (*c)->Range("ready").ok(); }, timeout_ms);
  }

 private:
  struct Member {
    int client, peer;
    std::unique_ptr<Process> proc;
  };
  bool Launch(int i, const std::string& state) {
    std::string cluster;
    for (size_t j = 0; j < members_.size(); j++)
      cluster += (j ? "," : "") + Name(static_cast<int>(j)) +
                 "=http://127.0.0.1:" + std::to_string(members_[j].peer);
    Member& m = members_[i];
    std::string c = "http://127.0.0.1:" + std::to_string(m.client);
    std::string p = "http://127.0.0.1:" + std::to_string(m.peer);
    m.proc = std::make_unique<Process>();
    // --max-txn-ops: storefs removes a file's chunk records in one
    // transaction (storefs(1) says so).
    return m.proc->Start({"/usr/bin/etcd",
                          "--name",
                          Name(i),
                          "--data-dir",
                          tmp_.path() + "/" + Name(i),
                          "--listen-client-urls",
                          c,
                          "--advertise-client-urls",
                          c,
                          "--listen-peer-urls",
                          p,
                          "--initial-advertise-peer-urls",
                          p,
                          "--initial-cluster",
                          cluster,
                          "--initial-cluster-state",
                          state,
                          "--initial-cluster-token",
                          "ninefold",
                          "--max-txn-ops",
                          "4096",
                          "--logger",
                          "zap",
                          "--log-outputs",
                          tmp_.path() + "/" + Name(i) + ".log"});
  }
  static std::string Name(int i) { return "m" + std::to_string(i); }

  TempDir tmp_;
  std::vector<Member> members_;
};

}  // namespace ninep::testing

#endif  // NINEP_TESTS_STORE_ETCD_RIG_H_
