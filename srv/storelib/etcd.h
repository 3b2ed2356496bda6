// etcd.h: a client of etcd's v3 API (etcd 3.4) through its JSON gateway:
// HTTP/1.1 POSTs of JSON to /v3/kv/..., /v3/lease/... and /v3/election/...
// on each member's client URL, sent with libcurl and parsed with
// nlohmann-json. Keys and values are bytes (base64 on the wire, through
// OpenSSL); revisions and lease ids are int64.
//
// Several endpoints may be given: a request goes to the one that last
// answered, and moves on to the next only when the request cannot have
// reached etcd (no connection) or etcd says it did not act (no leader), so
// a transaction is never applied twice; it goes round the members until
// the timeout (a cluster electing a leader says "no leader" for a moment).
// A request that was sent and got no answer in time fails with
// ETIMEDOUT: it may or may not have happened.
// Every failure is a Status whose message starts with "etcd: ".
// Thread-safety: thread-safe; every call blocks (call from worker threads).
#ifndef STORELIB_ETCD_H_
#define STORELIB_ETCD_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ninep/status.h"

namespace store {

// One key as etcd stores it.
struct EtcdKv {
  std::string key, value;
  int64_t create_rev = 0, mod_rev = 0, version = 0, lease = 0;
};

// One comparison of a transaction's guard (etcd's Compare). With range_end
// it must hold for every key in [key, range_end); an empty range compares
// as one absent key (version, revisions and lease 0), so
// {key=P, range_end=PrefixEnd(P), kVersion, kEqual, 0} means "nothing under P".
struct EtcdCompare {
  enum Target { kVersion, kCreate, kMod, kValue };
  enum Result { kEqual, kGreater, kLess, kNotEqual };
  std::string key, range_end;
  Target target = kVersion;
  Result result = kEqual;
  int64_t number = 0;  // for kVersion, kCreate, kMod
  std::string value;   // for kValue
};

// One operation of a transaction's branch.
struct EtcdOp {
  enum Kind { kPut, kDelete, kRange } kind = kPut;
  std::string key, value, range_end;
  int64_t lease = 0;  // kPut: attach the key to this lease
};

// What a transaction did: which branch ran, the revision after it, and
// the keys each kRange op found (empty vectors for the other ops).
struct EtcdTxnResult {
  bool succeeded = false;
  int64_t revision = 0;
  std::vector<std::vector<EtcdKv>> ranges;
};

class EtcdClient {
 public:
  struct Options {
    std::chrono::milliseconds timeout{5000};  // bound on one request
  };
  // Parses "etcd!HOST!PORT[,HOST!PORT...]" (the "etcd!" is optional) into a
  // client; EINVAL for a malformed list. Connects lazily.
  static ninep::Result<std::unique_ptr<EtcdClient>> Open(std::string_view spec,
                                                         const Options& opts);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // The keys in [key, range_end) (just key when range_end is empty), in key
  // order, at most limit of them (0: all); *revision gets the store's
  // revision the read saw. Linearizable, unless `serializable`: then the
  // member answers from what it has applied, without asking the leader
  // (cheaper, and possibly behind).
  ninep::Result<std::vector<EtcdKv>> Range(const std::string& key,
                                           const std::string& range_end = "", int64_t limit = 0,
                                           int64_t* revision = nullptr, bool serializable = false);
  // How many keys [key, range_end) holds.
  ninep::Result<int64_t> Count(const std::string& key, const std::string& range_end);
  // If every compare holds, runs success, else failure; atomically.
  ninep::Result<EtcdTxnResult> Txn(const std::vector<EtcdCompare>& compares,
                                   const std::vector<EtcdOp>& success,
                                   const std::vector<EtcdOp>& failure = {});
  // A new lease that expires ttl seconds after its last keep-alive.
  ninep::Result<int64_t> LeaseGrant(int64_t ttl_seconds);
  // Renews the lease; returns its new TTL, or ENOENT once it has expired.
  ninep::Result<int64_t> LeaseKeepAlive(int64_t id);
  // Ends the lease now, deleting its keys.
  ninep::Status LeaseRevoke(int64_t id);
  // Blocks until this client leads election `name` (etcd's election API),
  // holding it with `lease`; returns the leader key to Resign with.
  // timeout bounds the wait (ETIMEDOUT: not elected yet, try again).
  ninep::Result<std::string> Campaign(const std::string& name, const std::string& value,
                                      int64_t lease, std::chrono::milliseconds timeout);
  // Gives up leadership (leader_key from Campaign).
  ninep::Status Resign(const std::string& leader_key);

  // The smallest key greater than every key starting with prefix.
  static std::string PrefixEnd(std::string_view prefix);
  // The endpoints, as "http://HOST:PORT".
  const std::vector<std::string>& endpoints() const { return urls_; }

 private:
  EtcdClient(std::vector<std::string> urls, const Options& opts);
  // POSTs body to path; returns the JSON text of a 200 answer, or the error.
  ninep::Result<std::string> Call(const char* path, const std::string& body,
                                  std::chrono::milliseconds timeout);
  void* TakeHandle();
  void GiveHandle(void* h);

  std::vector<std::string> urls_;
  Options opts_;
  std::atomic<size_t> current_{0};  // the endpoint that last answered
  std::mutex pool_mu_;
  std::vector<void*> pool_;  // idle CURL handles (keep their connections)
};

// A lease kept alive by a thread of its own (etcd's "session"): keys put
// under lease() vanish within the TTL of this process's death. Should the
// lease expire anyway (etcd out of reach longer than the TTL), a new one
// is granted and on_new_lease(id) runs with it on the session's thread
// (to put again what the old one held).
// Thread-safety: thread-safe.
class EtcdSession {
 public:
  // Grants the lease and starts renewing it every ttl/3; c must outlive
  // the session.
  static ninep::Result<std::unique_ptr<EtcdSession>> Start(
      EtcdClient* c, int64_t ttl_seconds, std::function<void(int64_t)> on_new_lease = nullptr);
  // Stops, then revokes the lease (best effort: a dead etcd lets it expire).
  ~EtcdSession();
  EtcdSession(const EtcdSession&) = delete;
  EtcdSession& operator=(const EtcdSession&) = delete;

  int64_t lease() const { return lease_.load(); }
  // Blocks while the lease is still `lease` and the session runs; returns
  // false once Stop was called.
  bool WaitWhile(int64_t lease);
  // Stops renewing and wakes every WaitWhile and Pause (the lease stays
  // until the destructor revokes it).
  void Stop();
  // False once Stop was called.
  bool Running();
  // Sleeps for d unless stopped first; returns Running().
  bool Pause(std::chrono::milliseconds d);

 private:
  EtcdSession(EtcdClient* c, int64_t ttl, std::function<void(int64_t)> on_new_lease);
  void Loop();

  EtcdClient* const c_;
  const int64_t ttl_;
  const std::function<void(int64_t)> on_new_lease_;
  std::atomic<int64_t> lease_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace store

#endif  // STORELIB_ETCD_H_
