#include "storelib/etcd.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

namespace store {

using ninep::Result;
using ninep::Status;
using json = nlohmann::json;

namespace {

std::string B64(std::string_view s) {
  std::string out(4 * ((s.size() + 2) / 3), '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

// EVP_DecodeBlock keeps the zero bytes that padding stands for: drop them.
bool UnB64(std::string_view s, std::string* out) {
  if (s.size() % 4 != 0) return false;
  out->assign(3 * s.size() / 4, '\0');
  if (s.empty()) return true;
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) return false;
  size_t pad = (s.back() == '=') + (s.size() >= 2 && s[s.size() - 2] == '=');
  out->resize(static_cast<size_t>(n) - pad);
  return true;
}

// The gateway writes int64 fields as JSON strings and leaves out zeros.
int64_t Int(const json& j, const char* field) {
  auto it = j.find(field);
  if (it == j.end()) return 0;
  if (it->is_string()) return strtoll(it->get_ref<const std::string&>().c_str(), nullptr, 10);
  if (it->is_number_integer()) return it->get<int64_t>();
  return 0;
}
std::string Bytes(const json& j, const char* field) {
  std::string out;
  auto it = j.find(field);
  if (it != j.end() && it->is_string()) UnB64(it->get_ref<const std::string&>(), &out);
  return out;
}

std::vector<EtcdKv> Kvs(const json& j) {
  std::vector<EtcdKv> out;
  auto it = j.find("kvs");
  if (it == j.end() || !it->is_array()) return out;
  out.reserve(it->size());
  for (const json& k : *it) {
    if (!k.is_object()) continue;
    out.push_back(EtcdKv{Bytes(k, "key"), Bytes(k, "value"), Int(k, "create_revision"),
                         Int(k, "mod_revision"), Int(k, "version"), Int(k, "lease")});
  }
  return out;
}

json OpJson(const EtcdOp& op) {
  json r;
  r["key"] = B64(op.key);
  switch (op.kind) {
    case EtcdOp::kPut:
      r["value"] = B64(op.value);
      if (op.lease != 0) r["lease"] = std::to_string(op.lease);
      return json{{"request_put", r}};
    case EtcdOp::kDelete:
      if (!op.range_end.empty()) r["range_end"] = B64(op.range_end);
      return json{{"request_delete_range", r}};
    case EtcdOp::kRange:
      if (!op.range_end.empty()) r["range_end"] = B64(op.range_end);
      return json{{"request_range", r}};
  }
  return r;
}

json CompareJson(const EtcdCompare& c) {
  static const char* const kTargets[] = {"VERSION", "CREATE", "MOD", "VALUE"};
  static const char* const kResults[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
  json r;
  r["key"] = B64(c.key);
  if (!c.range_end.empty()) r["range_end"] = B64(c.range_end);
  r["target"] = kTargets[c.target];
  r["result"] = kResults[c.result];
  switch (c.target) {
    case EtcdCompare::kVersion:
      r["version"] = std::to_string(c.number);
      break;
    case EtcdCompare::kCreate:
      r["create_revision"] = std::to_string(c.number);
      break;
    case EtcdCompare::kMod:
      r["mod_revision"] = std::to_string(c.number);
      break;
    case EtcdCompare::kValue:
      r["value"] = B64(c.value);
      break;
  }
  return r;
}

// grpc status codes as the gateway reports them, to errno.
int CodeErrno(int64_t code) {
  switch (code) {
    case 3:
      return EINVAL;  // InvalidArgument (too many ops, bad request)
    case 4:
      return ETIMEDOUT;  // DeadlineExceeded
    case 5:
      return ENOENT;  // NotFound (a lease)
    case 8:
      return ENOSPC;  // ResourceExhausted (database space exceeded)
    default:          // 14, Unavailable (no leader), among them
      return EIO;
  }
}

Result<json> Parse(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return Status(EIO, "etcd: answer is not a JSON object: " + text.substr(0, 80));
  return j;
}

// The parsed answer of a Call, or its error.
Result<json> Answer(const Result<std::string>& out) {
  if (!out.ok()) return out.status();
  return Parse(*out);
}

size_t Append(char* p, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, size * n);
  return size * n;
}

}  // namespace

Result<std::unique_ptr<EtcdClient>> EtcdClient::Open(std::string_view spec, const Options& opts) {
  if (spec.substr(0, 5) == "etcd!") spec.remove_prefix(5);
  std::vector<std::string> urls;
  while (!spec.empty()) {
    size_t comma = spec.find(',');
    std::string_view one = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    if (one.substr(0, 5) == "etcd!") one.remove_prefix(5);
    size_t bang = one.rfind('!');
    if (bang == std::string_view::npos || bang == 0 || bang + 1 == one.size())
      return Status(EINVAL, "etcd: endpoint \"" + std::string(one) + "\" is not HOST!PORT");
    std::string host(one.substr(0, bang)), port(one.substr(bang + 1));
    if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5)
      return Status(EINVAL, "etcd: bad port in \"" + std::string(one) + "\"");
    if (host.find(':') != std::string::npos) host = "[" + host + "]";
    urls.push_back("http://" + host + ":" + port);
  }
  if (urls.empty()) return Status(EINVAL, "etcd: no endpoints (want etcd!HOST!PORT[,HOST!PORT])");
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::unique_ptr<EtcdClient>(new EtcdClient(std::move(urls), opts));
}

EtcdClient::EtcdClient(std::vector<std::string> urls, const Options& opts)
    : urls_(std::move(urls)), opts_(opts) {}

EtcdClient::~EtcdClient() {
  for (void* h : pool_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* EtcdClient::TakeHandle() {
  {
    std::lock_guard<std::mutex> lk(pool_mu_);
    if (!pool_.empty()) {
      void* h = pool_.back();
      pool_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void EtcdClient::GiveHandle(void* h) {
  std::lock_guard<std::mutex> lk(pool_mu_);
  pool_.push_back(h);
}

Result<std::string> EtcdClient::Call(const char* path, const std::string& body,
                                     std::chrono::milliseconds timeout) {
  CURL* h = static_cast<CURL*>(TakeHandle());
  if (h == nullptr) return Status(ENOMEM, "etcd: curl_easy_init failed");
  // "Expect:" off: curl would otherwise wait for a 100 before large bodies.
  curl_slist* hdrs = curl_slist_append(nullptr, "Content-Type: application/json");
  hdrs = curl_slist_append(hdrs, "Expect:");
  std::string failures;
  Status last;
  size_t start = current_.load();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  // Rounds over the members until one acts or the time is up: a cluster
  // electing a new leader answers "no leader" for a moment.
  bool retry = true;
  for (size_t i = 0; retry; i++) {
    if (i > 0 && i % urls_.size() == 0) {
      if (std::chrono::steady_clock::now() + std::chrono::milliseconds(100) >= deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      failures.clear();
    }
    size_t idx = (start + i) % urls_.size();
    std::string url = urls_[idx] + path, out;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Append);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    long ms = std::max<long>(static_cast<long>(left.count()), 100);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, std::min<long>(ms, 2000));
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
      // Nothing was sent: the next member may take it.
      failures += (failures.empty() ? "" : "; ") + urls_[idx] + ": " + curl_easy_strerror(rc);
      last = Status(ECONNREFUSED, "etcd unreachable (" + failures + ")");
      continue;
    }
    retry = false;
    if (rc != CURLE_OK) {
      last = Status(rc == CURLE_OPERATION_TIMEDOUT ? ETIMEDOUT : EIO,
                    "etcd: " + urls_[idx] + ": " + curl_easy_strerror(rc) +
                        " (the request may or may not have taken effect)");
      break;
    }
    long http = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http);
    if (http == 200) {
      current_.store(idx);
      curl_slist_free_all(hdrs);
      GiveHandle(h);
      return out;
    }
    auto j = Parse(out);
    int64_t code = j.ok() ? Int(*j, "code") : 0;
    std::string msg = j.ok() && j->contains("message") && (*j)["message"].is_string()
                          ? (*j)["message"].get<std::string>()
                          : "HTTP " + std::to_string(http);
    last = Status(CodeErrno(code), "etcd: " + msg);
    // Unavailable (no leader, or this member is stopping) did nothing.
    retry = code == 14;
  }
  curl_slist_free_all(hdrs);
  GiveHandle(h);
  return last;
}

Result<std::vector<EtcdKv>> EtcdClient::Range(const std::string& key, const std::string& range_end,
                                              int64_t limit, int64_t* revision, bool serializable) {
  json req{{"key", B64(key)}};
  if (serializable) req["serializable"] = true;
  if (!range_end.empty()) req["range_end"] = B64(range_end);
  if (limit > 0) req["limit"] = std::to_string(limit);
  auto j = Answer(Call("/v3/kv/range", req.dump(), opts_.timeout));
  if (!j.ok()) return j.status();
  if (revision != nullptr) *revision = j->contains("header") ? Int((*j)["header"], "revision") : 0;
  return Kvs(*j);
}

Result<int64_t> EtcdClient::Count(const std::string& key, const std::string& range_end) {
  json req{{"key", B64(key)}, {"range_end", B64(range_end)}, {"count_only", true}};
  auto j = Answer(Call("/v3/kv/range", req.dump(), opts_.timeout));
  if (!j.ok()) return j.status();
  return Int(*j, "count");
}

Result<EtcdTxnResult> EtcdClient::Txn(const std::vector<EtcdCompare>& compares,
                                      const std::vector<EtcdOp>& success,
                                      const std::vector<EtcdOp>& failure) {
  json req{{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const auto& c : compares) req["compare"].push_back(CompareJson(c));
  for (const auto& o : success) req["success"].push_back(OpJson(o));
  for (const auto& o : failure) req["failure"].push_back(OpJson(o));
  auto j = Answer(Call("/v3/kv/txn", req.dump(), opts_.timeout));
  if (!j.ok()) return j.status();
  EtcdTxnResult r;
  r.succeeded = j->value("succeeded", false);
  r.revision = j->contains("header") ? Int((*j)["header"], "revision") : 0;
  const auto& ops = r.succeeded ? success : failure;
  r.ranges.resize(ops.size());
  auto resp = j->find("responses");
  if (resp != j->end() && resp->is_array()) {
    for (size_t i = 0; i < resp->size() && i < ops.size(); i++) {
      const json& one = (*resp)[i];
      if (one.is_object() && one.contains("response_range"))
        r.ranges[i] = Kvs(one["response_range"]);
    }
  }
  return r;
}

Result<int64_t> EtcdClient::LeaseGrant(int64_t ttl_seconds) {
  json req{{"TTL", std::to_string(ttl_seconds)}};
  auto j = Answer(Call("/v3/lease/grant", req.dump(), opts_.timeout));
  if (!j.ok()) return j.status();
  if (j->contains("error") && (*j)["error"].is_string() &&
      !(*j)["error"].get<std::string>().empty())
    return Status(EIO, "etcd: lease grant: " + (*j)["error"].get<std::string>());
  int64_t id = Int(*j, "ID");
  if (id == 0) return Status(EIO, "etcd: lease grant gave no id");
  return id;
}

Result<int64_t> EtcdClient::LeaseKeepAlive(int64_t id) {
  json req{{"ID", std::to_string(id)}};
  auto j = Answer(Call("/v3/lease/keepalive", req.dump(), opts_.timeout));
  if (!j.ok()) return j.status();
  // A stream of one answer: {"result": {...}} (or {"error": ...}).
  auto res = j->find("result");
  if (res == j->end() || !res->is_object()) return Status(EIO, "etcd: keepalive: " + j->dump());
  int64_t ttl = Int(*res, "TTL");
  if (ttl <= 0) return Status(ENOENT, "etcd: lease " + std::to_string(id) + " has expired");
  return ttl;
}

Status EtcdClient::LeaseRevoke(int64_t id) {
  json req{{"ID", std::to_string(id)}};
  auto out = Call("/v3/lease/revoke", req.dump(), opts_.timeout);
  return out.ok() ? Status() : out.status();
}

Result<std::string> EtcdClient::Campaign(const std::string& name, const std::string& value,
                                         int64_t lease, std::chrono::milliseconds timeout) {
  json req{{"name", B64(name)}, {"value", B64(value)}, {"lease", std::to_string(lease)}};
  auto j = Answer(Call("/v3/election/campaign", req.dump(), timeout));
  if (!j.ok()) return j.status();
  auto leader = j->find("leader");
  if (leader == j->end() || !leader->is_object())
    return Status(EIO, "etcd: campaign gave no leader key");
  return leader->dump();
}

Status EtcdClient::Resign(const std::string& leader_key) {
  json leader = json::parse(leader_key, nullptr, false);
  if (leader.is_discarded()) return Status(EINVAL, "etcd: bad leader key");
  json req{{"leader", leader}};
  auto out = Call("/v3/election/resign", req.dump(), opts_.timeout);
  return out.ok() ? Status() : out.status();
}

std::string EtcdClient::PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key: etcd's "from key" marker
}

Result<std::unique_ptr<EtcdSession>> EtcdSession::Start(EtcdClient* c, int64_t ttl_seconds,
                                                        std::function<void(int64_t)> on_new_lease) {
  if (ttl_seconds < 1) return Status(EINVAL, "etcd: a lease TTL is at least 1 s");
  std::unique_ptr<EtcdSession> s(new EtcdSession(c, ttl_seconds, std::move(on_new_lease)));
  auto lease = c->LeaseGrant(ttl_seconds);
  if (!lease.ok()) return lease.status();
  s->lease_ = *lease;
  s->thread_ = std::thread([p = s.get()] { p->Loop(); });
  return s;
}

EtcdSession::EtcdSession(EtcdClient* c, int64_t ttl, std::function<void(int64_t)> on_new_lease)
    : c_(c), ttl_(ttl), on_new_lease_(std::move(on_new_lease)) {}

EtcdSession::~EtcdSession() {
  Stop();
  if (thread_.joinable()) thread_.join();
  c_->LeaseRevoke(lease_.load()).IgnoreError();
}

void EtcdSession::Stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
}

bool EtcdSession::Running() {
  std::lock_guard<std::mutex> lk(mu_);
  return !stop_;
}

bool EtcdSession::Pause(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait_for(lk, d, [this] { return stop_; });
  return !stop_;
}

bool EtcdSession::WaitWhile(int64_t lease) {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return stop_ || lease_.load() != lease; });
  return !stop_;
}

void EtcdSession::Loop() {
  auto period = std::chrono::milliseconds(ttl_ * 1000 / 3);
  std::unique_lock<std::mutex> lk(mu_);
  while (!cv_.wait_for(lk, period, [this] { return stop_; })) {
    lk.unlock();
    auto ttl = c_->LeaseKeepAlive(lease_.load());
    if (!ttl.ok() && ttl.status().err() == ENOENT) {
      // Expired: what it held is gone and may be someone else's by now.
      if (auto l = c_->LeaseGrant(ttl_); l.ok()) {
        fprintf(stderr, "etcd: lease %lld expired; now %lld\n",
                static_cast<long long>(lease_.load()), static_cast<long long>(*l));
        lease_ = *l;
        if (on_new_lease_) on_new_lease_(*l);
        cv_.notify_all();
      }
    }
    lk.lock();
  }
}

}  // namespace store
