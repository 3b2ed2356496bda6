// server_internal.h: the server framework's private types, shared by
// server.cc (loop, workers, listeners), server_conn.cc (per-connection
// dispatch) and server_defaults.cc (FileServer's default methods).
// Thread-safety: everything here is loop-thread only unless marked.
#ifndef NINEP_SRC_SERVER_INTERNAL_H_
#define NINEP_SRC_SERVER_INTERNAL_H_

#include <uv.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ninep/buffer.h"
#include "ninep/server.h"
#include "ninep/transport.h"

namespace ninep {

class Connection;

namespace internal {

// What requests of one connection share: who the peer is.
struct ConnShared {
  std::string peer;
  std::string uname;     // first attach's user, for Request::uname()
  std::string identity;  // what the peer proved with TLS, for Request::identity()
  // Loop-thread only: the connection while it lives, so that the answer of
  // a request a Tversion abandoned can still give back its share of the
  // connection's limits.
  Connection* owner = nullptr;
};

// One request's framework state. Shared by the Request object(s) handed to
// the file server (sub-requests of a default chain share their parent's).
struct ReqState {
  Server::Impl* srv = nullptr;
  std::shared_ptr<ConnShared> cs;
  Buffer frame;  // the request bytes; views point here
  Message in;    // decoded from frame
  uint64_t start_ns = 0;

  // Loop-thread only: connection bookkeeping.
  Connection* conn = nullptr;        // null once the connection is gone or reset
  std::vector<uint16_t> flush_tags;  // Tflush tags to answer after this one
  size_t held = 0;                   // bytes charged to the connection's max_inflight_bytes
  bool abandoned = false;            // reset by a Tversion before its handler answered
  // Released with the request (after the fid it names): the connection's
  // last clunks hold its heap trim here.
  std::shared_ptr<void> keep;

  // Any thread: flush state.
  std::mutex mu;
  bool flushed = false;
  std::vector<std::function<void()>> on_flush;
};

// Marks st flushed and runs its OnFlush hooks (loop thread).
void FlushState(ReqState* st);

}  // namespace internal

// The Server's guts.
struct Server::Impl {
  Impl(Server* self, FileServer* fs, ServerOptions opts);
  ~Impl();

  // Runs t on the loop thread: inline when already there, else posted.
  void RunOnLoop(Task t);
  // Queues t for the loop thread (any thread).
  void Post(Task t);
  // True on the loop thread.
  bool OnLoop() const {
    return std::this_thread::get_id() == loop_thread.load(std::memory_order_acquire);
  }
  // Adds a connection and starts serving it.
  void Adopt(std::unique_ptr<Conn> c);
  // Called by a Connection when it is finished; destroys it.
  void Closed(Connection* c);
  // Stops everything (loop thread).
  void StopNow();
  // A token whose release (any thread) hands the heap's free memory back to
  // the system with malloc_trim on a worker: a connection that ends with
  // many fids makes its clunks hold it.
  std::shared_ptr<void> HeapTrimWhenReleased();
  // Worker thread body.
  void WorkerMain();
  // Stops serving, drains workers and closes the loop. Returns false when
  // a worker is still blocked after a grace period (the Impl must then be
  // leaked: a worker may still touch it).
  bool Shutdown();

  Server* self;
  FileServer* fs;
  ServerOptions opts;
  uv_loop_t loop;
  uv_async_t async;
  // Set again by Run on its own thread while other threads (Stop, workers
  // answering through RunOnLoop) read it: atomic.
  std::atomic<std::thread::id> loop_thread;
  ServerStats stats;
  bool stopping = false;
  bool fd_mode = false;  // serving one fd connection: stop when it ends
  // Connections refused at max_conns since the last line logged about it
  // (one line a second at most, so a flood cannot flood stderr).
  uint64_t refused = 0;
  uint64_t refused_logged_ms = 0;
  bool refused_ever_logged = false;

  std::vector<std::unique_ptr<Listener>> listeners;
  std::unordered_map<Connection*, std::unique_ptr<Connection>> conns;

  std::mutex post_mu;
  std::vector<Task> posted;
  bool loop_closed = false;

  std::mutex work_mu;
  std::condition_variable work_cv;
  std::deque<Task> work;
  std::vector<std::thread> workers;
  bool workers_stop = false;
  int workers_done = 0;

  std::vector<std::unique_ptr<uv_signal_t>> signals;  // StopOnSignals
};

// Monotonic nanoseconds, for latency counters.
uint64_t NowNs();

}  // namespace ninep

#endif  // NINEP_SRC_SERVER_INTERNAL_H_
