// server.cc: the Server: its loop, the post queue that brings answers back
// from other threads, the worker pool, listeners and shutdown.
#include "ninep/server.h"

#include <signal.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <cerrno>
#include <cstdio>

#include "server_conn.h"
#include "server_internal.h"

namespace ninep {

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

namespace internal {

bool ReqFlushed(const ReqState* st) {
  auto* s = const_cast<ReqState*>(st);
  std::lock_guard<std::mutex> l(s->mu);
  return s->flushed;
}

void ReqOnFlush(ReqState* st, std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> l(st->mu);
    if (!st->flushed) {
      st->on_flush.push_back(std::move(fn));
      return;
    }
  }
  st->srv->RunOnLoop(Task(std::move(fn)));
}

const std::string& ReqUname(const ReqState* st) { return st->cs->uname; }
const std::string& ReqPeer(const ReqState* st) { return st->cs->peer; }
const std::string& ReqIdentity(const ReqState* st) { return st->cs->identity; }

void ReportDoubleAnswer() { fprintf(stderr, "lib9p: bug: a request was answered twice\n"); }

void FlushState(ReqState* st) {
  std::vector<std::function<void()>> hooks;
  {
    std::lock_guard<std::mutex> l(st->mu);
    if (st->flushed) return;
    st->flushed = true;
    hooks.swap(st->on_flush);
  }
  for (auto& h : hooks) h();
}

}  // namespace internal

Server::Impl::Impl(Server* s, FileServer* f, ServerOptions o) : self(s), fs(f), opts(std::move(o)) {
  uv_loop_init(&loop);
  loop_thread = std::this_thread::get_id();
  async.data = this;
  uv_async_init(&loop, &async, [](uv_async_t* a) {
    auto* impl = static_cast<Impl*>(a->data);
    std::vector<Task> batch;
    {
      std::lock_guard<std::mutex> l(impl->post_mu);
      batch.swap(impl->posted);
    }
    for (auto& t : batch) t();
  });
  // The async handle must not keep Run alive once nothing is served.
  uv_unref(reinterpret_cast<uv_handle_t*>(&async));
  int n = opts.workers > 0 ? opts.workers : 1;
  for (int i = 0; i < n; i++) workers.emplace_back([this] { WorkerMain(); });
}

Server::Impl::~Impl() = default;

bool Server::Impl::Shutdown() {
  StopNow();
  conns.clear();
  listeners.clear();
  uv_run(&loop, UV_RUN_NOWAIT);
  {
    std::unique_lock<std::mutex> l(work_mu);
    workers_stop = true;
    work_cv.notify_all();
    // A worker blocked in a system call (a FIFO read, say) cannot be
    // interrupted; give the rest a moment and leave that one behind.
    bool all = work_cv.wait_for(l, std::chrono::seconds(2), [this] {
      return workers_done == static_cast<int>(workers.size());
    });
    if (!all) {
      for (auto& t : workers) t.detach();
      return false;
    }
  }
  for (auto& t : workers) t.join();
  {
    std::lock_guard<std::mutex> l(post_mu);
    loop_closed = true;
    posted.clear();
  }
  // Close whatever is left (the file server's handles too) so that the loop
  // closes cleanly; their memory is their owners'.
  uv_walk(
      &loop,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return true;
}

void Server::Impl::WorkerMain() {
  for (;;) {
    Task t;
    {
      std::unique_lock<std::mutex> l(work_mu);
      work_cv.wait(l, [this] { return workers_stop || !work.empty(); });
      if (work.empty()) {
        workers_done++;
        work_cv.notify_all();
        return;
      }
      t = std::move(work.front());
      work.pop_front();
    }
    t();
  }
}

void Server::Impl::Post(Task t) {
  {
    std::lock_guard<std::mutex> l(post_mu);
    if (loop_closed) return;
    posted.push_back(std::move(t));
  }
  uv_async_send(&async);
}

void Server::Impl::RunOnLoop(Task t) {
  if (OnLoop()) {
    t();
  } else {
    Post(std::move(t));
  }
}

void Server::Impl::Adopt(std::unique_ptr<Conn> c) {
  if (stopping) {
    c->Close();
    return;
  }
  if (conns.size() >= opts.max_conns) {
    // Closed before it costs anything but the socket; the client sees EOF.
    stats.refused++;
    refused++;
    uint64_t now = uv_now(&loop);
    if (!refused_ever_logged || now - refused_logged_ms >= 1000) {
      std::string more;
      if (refused > 1) more = " (" + std::to_string(refused) + " refused since the last such line)";
      fprintf(stderr, "%s: refusing connection from %s: already serving %zu, the limit%s\n",
              opts.trace_prefix.empty() ? "lib9p" : opts.trace_prefix.c_str(), c->Peer().c_str(),
              conns.size(), more.c_str());
      refused_ever_logged = true;
      refused_logged_ms = now;
      refused = 0;
    }
    c->Close();
    return;
  }
  auto conn = std::make_unique<Connection>(this, std::move(c));
  Connection* raw = conn.get();
  conns.emplace(raw, std::move(conn));
  stats.connections++;
  stats.connections_total++;
  raw->Start();
}

void Server::Impl::Closed(Connection* c) {
  auto it = conns.find(c);
  if (it == conns.end()) return;
  stats.connections--;
  // Destroy after the current callback stack unwinds: c may be on it.
  std::shared_ptr<Connection> dying(it->second.release());
  conns.erase(it);
  Post([dying] {});
  if (fd_mode && conns.empty() && listeners.empty()) StopNow();
}

std::shared_ptr<void> Server::Impl::HeapTrimWhenReleased() {
  // Released by whichever thread drops the last request holding it; the
  // Impl outlives every request (Shutdown drains the workers first).
  struct Trim {
    Server::Impl* impl = nullptr;
    ~Trim() {
#ifdef __GLIBC__
      if (impl) impl->self->Offload([] { malloc_trim(0); });
#endif
    }
  };
  auto t = std::make_shared<Trim>();
  t->impl = this;
  return t;
}

void Server::Impl::StopNow() {
  if (stopping) return;
  stopping = true;
  for (auto& l : listeners) l->Close();
  listeners.clear();
  std::vector<Connection*> cs;
  for (auto& [k, v] : conns) cs.push_back(k);
  for (auto* c : cs) c->Shutdown();
  uv_stop(&loop);
}

Server::Server(FileServer* fs, ServerOptions opts)
    : impl_(std::make_unique<Impl>(this, fs, std::move(opts))) {
  fs->Started(this);
}

Server::~Server() {
  if (!impl_->Shutdown()) {
    fprintf(stderr, "%s: a worker is still blocked at exit; leaving it\n",
            impl_->opts.trace_prefix.empty() ? "lib9p" : impl_->opts.trace_prefix.c_str());
    (void)impl_.release();
  }
}

Result<std::string> Server::Listen(std::string_view addr) {
  auto a = ParseDial(addr);
  if (!a.ok()) return a.status();
  Impl* impl = impl_.get();
  std::string prefix = impl->opts.trace_prefix.empty() ? "lib9p" : impl->opts.trace_prefix;
  auto l = ninep::Listen(
      &impl->loop, *a, [impl](std::unique_ptr<Conn> c) { impl->Adopt(std::move(c)); },
      impl->opts.tls,
      [prefix](const std::string& m) { fprintf(stderr, "%s: %s\n", prefix.c_str(), m.c_str()); });
  if (!l.ok()) return l.status();
  std::string bound = (*l)->BoundAddress();
  impl->listeners.push_back(std::move(*l));
  return bound;
}

Status Server::ServeFds(int rfd, int wfd) {
  auto c = ConnFromFds(&impl_->loop, rfd, wfd);
  if (!c.ok()) return c.status();
  impl_->fd_mode = true;
  impl_->Adopt(std::move(*c));
  return Status();
}

void Server::Run() {
  impl_->loop_thread.store(std::this_thread::get_id(), std::memory_order_release);
  uv_run(&impl_->loop, UV_RUN_DEFAULT);
  // Let close callbacks of a Stop finish.
  if (impl_->stopping) uv_run(&impl_->loop, UV_RUN_NOWAIT);
}

void Server::Stop() {
  Impl* impl = impl_.get();
  impl->RunOnLoop([impl] { impl->StopNow(); });
}

void Server::Offload(Task fn) {
  {
    std::lock_guard<std::mutex> l(impl_->work_mu);
    impl_->work.push_back(std::move(fn));
  }
  impl_->work_cv.notify_one();
}

void Server::Post(Task fn) { impl_->Post(std::move(fn)); }
uv_loop_t* Server::loop() { return &impl_->loop; }
const ServerStats& Server::stats() const { return impl_->stats; }
const ServerOptions& Server::options() const { return impl_->opts; }

void StopOnSignals(Server* srv) {
  signal(SIGPIPE, SIG_IGN);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
    srv->impl_->signals.push_back(std::make_unique<uv_signal_t>());
    uv_signal_t* h = srv->impl_->signals.back().get();
    uv_signal_init(srv->loop(), h);
    h->data = srv;
    uv_signal_start(
        h, [](uv_signal_t* s, int) { static_cast<Server*>(s->data)->Stop(); }, sig);
    uv_unref(reinterpret_cast<uv_handle_t*>(h));
  }
}

}  // namespace ninep
