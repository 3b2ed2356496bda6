// client_impl.h: Client::Impl, the client's core (tag table, send queue,
// loop thread), shared by client.cc and client_fid.cc. Internal to lib9p.
//
// Thread-safety: Submit, Cancel, SyncCall, AllocFid and FreeFid may be called
// from any thread; everything touching conn_ runs on the loop thread. mu_
// guards the tag table and failures, wmu_ the writing side; neither is held
// while a handler runs, so handlers may submit more calls.
#ifndef NINEP_SRC_CLIENT_IMPL_H_
#define NINEP_SRC_CLIENT_IMPL_H_

#include <uv.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "ninep/client.h"
#include "ninep/transport.h"
#include "ninep/wire.h"

namespace ninep {

class Client::Impl {
 public:
  using Clock = std::chrono::steady_clock;
  // Gets the outcome of one call on the loop thread: an error (Rerror and
  // Rlerror become errors; no message), or the decoded reply with its frame
  // (both valid only during the call).
  using Handler =
      std::function<void(const Status& err, std::span<const uint8_t> frame, const Message* reply)>;
  // Copies what a blocking caller needs out of a reply (runs on the loop
  // thread while the caller waits; may fail the call by returning an error).
  using Extract = std::function<Status(const Message& reply, std::span<const uint8_t> frame)>;

  explicit Impl(const ClientOptions& opts);
  // Fails everything pending, closes the connection, joins the thread.
  ~Impl();

  // Takes the connection and starts the loop thread.
  void Start(std::unique_ptr<Conn> conn);
  // Negotiates version and msize (blocking), waiting at most `timeout`
  // (0: the options' call_timeout, 0 = none).
  Status Version(std::chrono::milliseconds timeout);

  // Encodes t and sends it under a fresh tag; h runs exactly once.
  CallId Submit(const Body& t, Handler h);
  // Sends Tflush for a pending call (see Client::Cancel).
  void Cancel(CallId id);
  // Sends t and waits; on success runs extract (if any) on the reply.
  // timeout 0 uses the options' call_timeout (0 = none). After a timeout the call
  // is flushed; it fails ETIMEDOUT unless its reply still arrives first.
  Status SyncCall(const Body& t, const Extract& extract,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

  uint32_t AllocFid();
  void FreeFid(uint32_t fid);
  // Inside a Handler or Extract: the frame it was given, as an owned Buffer
  // (a large reply moves over from the transport without a copy).
  Buffer TakeFrame(std::span<const uint8_t> frame);

  bool OnLoopThread() const { return std::this_thread::get_id() == loop_tid_.load(); }
  bool alive() const { return alive_.load(); }
  size_t Outstanding();
  // See Client::WaitIdle.
  Status WaitIdle(std::chrono::milliseconds timeout);
  Dialect dialect() const { return dialect_; }
  uint32_t msize() const { return msize_; }
  uv_loop_t* loop() { return &loop_; }

 private:
  struct Slot {
    uint64_t id = 0;  // CallId; 0 = free
    uint8_t ttype = 0;
    bool flushing = false;         // a Tflush for this tag is on the wire
    bool answered = false;         // reply delivered; the tag waits for Rflush
    bool is_flush = false;         // this slot is a Tflush ...
    uint16_t oldtag = 0;           // ... of this tag
    Clock::time_point deadline{};  // call_timeout: fail the call after this
    Handler h;
  };
  struct Failure {
    Handler h;
    Status st;
  };

  void Run();
  void OnAsync();
  // Flushes and fails the calls older than call_timeout (loop thread).
  void ExpireCalls();
  // Marks tag as being flushed and encodes its Tflush into *frame; false
  // when no tag is free for the Tflush. REQUIRES: mu_ held.
  bool FlushLocked(uint16_t tag, std::vector<uint8_t>* frame);
  void OnFrame(std::span<const uint8_t> frame);
  void Die(const Status& why);
  // Writes a frame followed by `tail` (the rest of the frame, not copied
  // unless it must wait): straight to the socket when nothing is queued
  // ahead of it, else through the loop thread. REQUIRES: mu_ not held.
  void Write(std::vector<uint8_t> frame, std::span<const uint8_t> tail = {});
  void OnDrained();
  Slot* SlotFor(uint16_t tag);
  int AllocTagLocked();
  void FreeTagLocked(uint16_t tag);
  void Trace(const char* dir, const Message& m);

  ClientOptions opts_;
  Dialect dialect_;
  uint32_t msize_;
  uv_loop_t loop_{};
  uv_async_t async_{};
  uv_timer_t expiry_{};  // runs ExpireCalls when call_timeout is set
  bool loop_ready_ = false;
  std::thread thread_;
  std::atomic<std::thread::id> loop_tid_{};
  std::unique_ptr<Conn> conn_;          // loop thread only (after Start)
  std::span<const uint8_t> cur_frame_;  // loop thread: the reply being handled

  std::mutex mu_;
  std::vector<Slot> slots_;  // index = tag
  std::vector<uint16_t> free_tags_;
  Slot version_slot_;  // Tversion's NOTAG
  uint64_t seq_ = 0;
  size_t in_use_ = 0;
  int idle_waiters_ = 0;          // threads in WaitIdle
  std::condition_variable idle_;  // in_use_ fell to 0, or the connection died
  std::vector<Failure> failq_;
  bool dead_ = false, stopping_ = false;
  Status death_;
  std::atomic<bool> alive_{true};

  // Writing. A caller thread writes its frame to wfd_ itself (no hop to the
  // loop) unless `backlog_`: bytes handed to the Conn or waiting in outq_
  // that must go first. Everything under wmu_ so frames never interleave.
  std::mutex wmu_;
  int wfd_ = -1;  // -1 once the connection is dying, or when not allowed
  bool wfd_socket_ = false;
  bool backlog_ = false;
  std::vector<std::vector<uint8_t>> outq_;

  std::mutex fid_mu_;
  std::vector<uint32_t> free_fids_;
  uint32_t next_fid_ = 1;
};

}  // namespace ninep

#endif  // NINEP_SRC_CLIENT_IMPL_H_
