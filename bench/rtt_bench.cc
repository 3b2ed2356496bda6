// rtt_bench: round trips per second of a stat on one 9P connection.
//
// Attaches to ADDR with lib9p's Client and sends a stream of Tstat (9P2000)
// or Tgetattr (9P2000.L) on the root fid, keeping DEPTH requests in flight:
// each reply's callback issues the next request, so the pipeline never
// drains until the run ends. A run ends after MAXCALLS calls or SECONDS,
// whichever comes first. With -s, depth 1 is also measured through the
// blocking facade (CallSync), which is what tools built on Fid see.
//
// Output: one line of key=value pairs per case, for bench/run.sh:
//   case=async depth=64 dialect=9P2000.L calls=200000 errors=0 secs=2.512
//   rate=79617 p50_us=790 p99_us=1210
// Exit status 0, or 1 with `rtt_bench: what: why` when a case failed (any
// error reply counts as failure: a benchmark of errors measures nothing).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <variant>
#include <vector>

#include "ninep/client.h"
#include "ninep/cmdline.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string addr;
  ninep::TlsOptions tls;  // --cert, --key, --ca, --psk (or $NINEP_CERT ...)
  std::string aname;
  std::string uname;
  bool dotl = false;
  bool trace = false;
  bool sync_too = false;
  uint64_t max_calls = 200000;
  double seconds = 10.0;
  uint32_t msize = 64 * 1024;
  std::vector<int> depths;
};

// What one case measured.
struct Outcome {
  uint64_t calls = 0;
  uint64_t errors = 0;
  double secs = 0;
  std::string first_error;
  std::vector<uint32_t> lat_ns;  // one per completed call
};

[[noreturn]] void Fatal(const std::string& what, const std::string& why) {
  fprintf(stderr, "rtt_bench: %s: %s\n", what.c_str(), why.c_str());
  exit(1);
}

// The request every case repeats: a stat of the root in the dialect's form.
ninep::Body StatRequest(const ninep::Client& c, uint32_t fid) {
  if (c.dialect() == ninep::Dialect::k9P2000L)
    return ninep::Tgetattr{.fid = fid, .request_mask = ninep::P9_GETATTR_BASIC};
  return ninep::Tstat{.fid = fid};
}

// True when the reply is the R-message that answers the stat request.
bool IsStatReply(const ninep::Reply& r) {
  return std::holds_alternative<ninep::Rstat>(r.msg.body) ||
         std::holds_alternative<ninep::Rgetattr>(r.msg.body);
}

uint32_t NanosSince(Clock::time_point t0) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count();
  return ns > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(ns);
}

// Keeps `depth` stats in flight with the async Call API. Callbacks run on
// the client's loop thread, so `lat_ns` and `first_error` are touched only
// there; the counters that the starting thread also reads are atomics.
class Pipeline {
 public:
  Pipeline(ninep::Client* c, ninep::Body req, uint64_t max_calls, Clock::time_point deadline)
      : c_(c), req_(std::move(req)), max_calls_(max_calls), deadline_(deadline) {
    out_.lat_ns.reserve(std::min<uint64_t>(max_calls, 4'000'000));
  }

  // Runs to the end and returns what was measured.
  Outcome Run(int depth) {
    auto t0 = Clock::now();
    for (int i = 0; i < depth; i++) {
      if (!Claim()) break;
      Issue();
    }
    {
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait(lk, [&] { return inflight_ == 0; });
    }
    out_.secs = std::chrono::duration<double>(Clock::now() - t0).count();
    out_.calls = done_.load();
    out_.errors = errors_.load();
    return std::move(out_);
  }

 private:
  // Reserves the right to send one more call; false once the run is over.
  bool Claim() {
    if (errors_.load(std::memory_order_relaxed) != 0 || Clock::now() >= deadline_) return false;
    if (issued_.fetch_add(1) >= max_calls_) return false;
    std::lock_guard<std::mutex> lk(mu_);
    inflight_++;
    return true;
  }

  void Issue() {
    auto t0 = Clock::now();
    c_->Call(req_, [this, t0](ninep::Result<ninep::Reply> r) { OnReply(t0, std::move(r)); });
  }

  void OnReply(Clock::time_point t0, ninep::Result<ninep::Reply> r) {
    out_.lat_ns.push_back(NanosSince(t0));
    if (!r.ok() || !IsStatReply(*r)) {
      if (errors_.fetch_add(1) == 0)
        out_.first_error =
            r.ok() ? "unexpected reply " + ninep::FormatMessage(r->msg) : r.status().message();
    } else {
      done_.fetch_add(1, std::memory_order_relaxed);
    }
    if (Claim()) {
      Issue();  // the slot stays in flight: inflight_ went +1 for the new call
    }
    std::lock_guard<std::mutex> lk(mu_);
    if (--inflight_ == 0) cv_.notify_all();
  }

  ninep::Client* c_;
  const ninep::Body req_;
  const uint64_t max_calls_;
  const Clock::time_point deadline_;
  std::atomic<uint64_t> issued_{0}, done_{0}, errors_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  int inflight_ = 0;
  Outcome out_;
};

// Depth 1 through the blocking facade: one CallSync after another.
Outcome RunSync(ninep::Client* c, const ninep::Body& req, uint64_t max_calls,
                Clock::time_point deadline) {
  Outcome out;
  out.lat_ns.reserve(std::min<uint64_t>(max_calls, 4'000'000));
  auto start = Clock::now();
  for (uint64_t i = 0; i < max_calls && Clock::now() < deadline; i++) {
    auto t0 = Clock::now();
    auto r = c->CallSync(req);
    out.lat_ns.push_back(NanosSince(t0));
    if (!r.ok() || !IsStatReply(*r)) {
      out.errors++;
      out.first_error =
          r.ok() ? "unexpected reply " + ninep::FormatMessage(r->msg) : r.status().message();
      break;
    }
    out.calls++;
  }
  out.secs = std::chrono::duration<double>(Clock::now() - start).count();
  return out;
}

double PercentileMicros(std::vector<uint32_t>* v, double p) {
  if (v->empty()) return 0;
  size_t k = static_cast<size_t>(p * static_cast<double>(v->size() - 1));
  std::nth_element(v->begin(), v->begin() + static_cast<std::ptrdiff_t>(k), v->end());
  return (*v)[k] / 1000.0;
}

// Prints one case's line; returns false when the case saw errors.
bool Report(const char* mode, int depth, const char* dialect, Outcome* o) {
  double rate = o->secs > 0 ? static_cast<double>(o->calls) / o->secs : 0;
  double p50 = PercentileMicros(&o->lat_ns, 0.50);
  double p99 = PercentileMicros(&o->lat_ns, 0.99);
  printf(
      "case=%s depth=%d dialect=%s calls=%llu errors=%llu secs=%.3f rate=%.0f p50_us=%.1f "
      "p99_us=%.1f\n",
      mode, depth, dialect, static_cast<unsigned long long>(o->calls),
      static_cast<unsigned long long>(o->errors), o->secs, rate, p50, p99);
  fflush(stdout);
  if (o->errors) {
    fprintf(stderr, "rtt_bench: %s depth %d: %s\n", mode, depth, o->first_error.c_str());
    return false;
  }
  return true;
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  ninep::ClientFlags cf;
  cf.msize = o.msize;
  ninep::Command cmd("rtt_bench");
  cmd.AddClientFlags(&cf)
      .Count('n', "max-calls", "MAXCALLS", "calls per case at the most", &o.max_calls)
      .Seconds('t', "seconds", "SECONDS", "seconds per case at the most", &o.seconds)
      .Add({'d', "depth", "DEPTH", "calls in flight (repeatable; default 1 and 64)",
            [&o](std::string_view v) {
              int d = 0;
              auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
              if (ec != std::errc() || p != v.data() + v.size() || d < 1 || d > 4096)
                return ninep::Status(EINVAL, "want 1..4096");
              o.depths.push_back(d);
              return ninep::Status::Ok();
            }})
      .Flag('s', "sync", "also measure the blocking calls", &o.sync_too);
  if (!cmd.ParseOrExit(argc, argv).empty()) cmd.UsageError("unexpected operand");
  o.addr = cf.addr;  // -a, else $NINEP_ADDR
  o.aname = cf.aname;
  o.uname = cf.user.empty() ? ninep::DefaultUser() : cf.user;
  o.dotl = cf.dotl;
  o.trace = cf.trace;
  o.msize = cf.msize;
  o.tls = cf.tls;
  if (o.addr.empty()) cmd.UsageError("no address: give -a or set $NINEP_ADDR");
  if (o.depths.empty()) o.depths = {1, 64};
  if (o.max_calls == 0 || o.seconds <= 0) cmd.UsageError("want -n and -t above 0");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = ParseArgs(argc, argv);
  ninep::ClientOptions co;
  co.dialect = opt.dotl ? ninep::Dialect::k9P2000L : ninep::Dialect::k9P2000;
  co.msize = opt.msize;
  co.trace = opt.trace;
  co.tls = opt.tls;
  auto client = ninep::Client::Connect(opt.addr, co);
  if (!client.ok()) Fatal(opt.addr, client.status().message());
  ninep::Client* c = client->get();
  const char* dialect = c->dialect() == ninep::Dialect::k9P2000L ? "9P2000.L" : "9P2000";
  if (opt.dotl && c->dialect() != ninep::Dialect::k9P2000L)
    Fatal(opt.addr, "server did not accept 9P2000.L");

  bool ok = true;
  {
    // diod maps the attaching user by n_uname; our servers take uname.
    auto root = c->Attach(opt.uname, opt.aname, opt.dotl ? getuid() : ninep::NONUNAME);
    if (!root.ok()) Fatal("attach " + opt.aname, root.status().message());
    ninep::Body req = StatRequest(*c, root->num());

    // Warm up: connection buffers, server-side fid lookup paths, page faults.
    for (int i = 0; i < 1000; i++) {
      auto r = c->CallSync(req);
      if (!r.ok()) Fatal("warm-up stat", r.status().message());
    }
    for (int depth : opt.depths) {
      auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(opt.seconds));
      Pipeline p(c, req, opt.max_calls, deadline);
      Outcome o = p.Run(depth);
      ok = Report("async", depth, dialect, &o) && ok;
    }
    if (opt.sync_too) {
      auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(opt.seconds));
      Outcome o = RunSync(c, req, opt.max_calls, deadline);
      ok = Report("sync", 1, dialect, &o) && ok;
    }
    if (auto s = root->Clunk(); !s.ok()) Fatal("clunk", s.message());
  }
  return ok ? 0 : 1;
}
