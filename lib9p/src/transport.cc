// transport.cc: framed connections and listeners on libuv.
//
// A Conn handed to its owner is a thin front (UvConn) over a heap ConnCore
// that holds the uv handles, the read buffer and the write queue. The core
// outlives the front until libuv has closed every handle, so the owner may
// destroy its Conn at any time, even inside one of its callbacks.
//
// Writes: Send queues a frame and arms an idle handle; the idle callback
// (before the loop next blocks) hands everything queued to one writev via
// uv_try_write, and only what the kernel did not take goes to uv_write. So a
// burst of replies produced in one loop turn costs one system call, and a
// lone reply costs no allocation beyond its frame.
// Reads: bytes accumulate in one buffer; whole frames are cut by size[4]. The
// buffer grows to an announced frame size only after it is checked against
// the maximum frame, so a peer cannot make us allocate what it likes.
// TLS: a TlsSession (tls.cc) sits between the socket and both paths.
// Ciphertext is read into its own buffer and fed to the session, which
// decrypts into the frame buffer. Frames sent in one loop turn are
// encrypted together when it ends (a large one at once), and their records
// queue as above. A server's handshake runs on the loop before
// the Listener hands the connection out.
#include "ninep/transport.h"

#include <malloc.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "dial_internal.h"
#include "tls_internal.h"
#include "wire_fields.h"

namespace ninep {
namespace {

constexpr size_t kReadBufSize = 64 * 1024;
// Ciphertext per read: larger, as each read is then decrypted in one go.
constexpr size_t kCipherBufSize = 256 * 1024;
// TLS frames smaller than this wait for the end of the loop turn, to share
// a record with the others sent in it; larger ones are encrypted at once.
constexpr size_t kTlsStageMax = 16 * 1024;
constexpr uint32_t kDefaultMaxFrame = 8 * 1024 * 1024;
// On Close, queued replies are flushed while the peer keeps reading; a peer
// that takes none of them for this long is cut off.
constexpr uint64_t kCloseGuardMs = 5000;
constexpr size_t kMaxIov = 1024;
constexpr uint64_t kHandshakeMs = 10000;  // longest a server waits for a TLS handshake
constexpr uint8_t kTversionType = 100;    // a plain 9P client's first message

// Storage for any stream handle; libuv handles share their first members,
// so one allocation fits each kind.
union AnyStream {
  uv_handle_t handle;
  uv_stream_t stream;
  uv_tcp_t tcp;
  uv_pipe_t pipe;
};

// A peer that closed its end must give EPIPE, not kill the process.
void IgnoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa;
    if (sigaction(SIGPIPE, nullptr, &sa) == 0 && sa.sa_handler == SIG_DFL) signal(SIGPIPE, SIG_IGN);
  });
}

Status UvError(int uverr, std::string_view what) {
  return Status(-uverr, std::string(what) + ": " + uv_strerror(uverr));
}

class ConnCore;

// One uv_write in flight: the frames it writes live here until its callback.
struct WriteBatch {
  uv_write_t req;
  ConnCore* core;
  std::vector<Buffer> frames;
  size_t bytes = 0;
};

class ConnCore {
 public:
  ConnCore(uv_loop_t* loop, std::string peer) : loop_(loop), peer_(std::move(peer)) {
    uv_idle_init(loop_, &idle_);
    idle_.data = this;
    uv_timer_init(loop_, &guard_);
    guard_.data = this;
    open_handles_ = 2;
  }

  // Adopts a connected TCP socket, a unix socket or pipe fd, or an accepted
  // stream. On failure the fd is not adopted and the core frees itself.
  Status OpenTcp(int fd) {
    uv_tcp_init(loop_, &rs_.tcp);
    InitRead();
    int r = uv_tcp_open(&rs_.tcp, fd);
    return r < 0 ? UvError(r, "uv_tcp_open") : Status::Ok();
  }
  Status OpenPipe(AnyStream* s, int fd) {
    uv_pipe_init(loop_, &s->pipe, 0);
    s->handle.data = this;
    open_handles_++;
    int r = uv_pipe_open(&s->pipe, fd);
    return r < 0 ? UvError(r, "uv_pipe_open") : Status::Ok();
  }
  Status OpenFds(int rfd, int wfd) {
    Status s = OpenPipe(&rs_, rfd);
    if (!s.ok() || rfd == wfd) return s;
    ws_ = &ws2_;
    return OpenPipe(&ws2_, wfd);
  }
  Status Accept(uv_stream_t* server, bool tcp) {
    if (tcp) {
      uv_tcp_init(loop_, &rs_.tcp);
    } else {
      uv_pipe_init(loop_, &rs_.pipe, 0);
    }
    InitRead();
    int r = uv_accept(server, &rs_.stream);
    if (r < 0) return UvError(r, "accept");
    if (tcp) {
      uv_tcp_nodelay(&rs_.tcp, 1);
      sockaddr_storage ss;
      int len = sizeof ss;
      if (uv_tcp_getpeername(&rs_.tcp, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
        peer_ = internal::FormatSockaddr(reinterpret_cast<sockaddr*>(&ss));
    }
    return Status::Ok();
  }
  // Undoes a failed Open/Accept: closes what was initialised, then frees.
  void Abort() {
    owner_gone_ = true;
    owner_closed_ = true;
    CloseHandles();
  }

  // ---- the Conn interface, forwarded by UvConn ----

  void Start(Conn::FrameFn on_frame, Conn::CloseFn on_close) {
    on_frame_ = std::move(on_frame);
    on_close_ = std::move(on_close);
    started_ = true;
    StartReading();
    if (tls_) {
      // The peer's first frames may have come with its last handshake
      // message, or during Dial's wait: decrypt them from the loop.
      deliver_pending_ = true;
      Kick();
    }
  }
  void SetMaxFrame(uint32_t max) { max_frame_ = max; }
  void Send(Buffer frame) {
    if (dead_ || owner_closed_ || frame.empty()) return;
    if (tls_) {
      if (frame.size() < kTlsStageMax) {
        // Sealed with whatever else this loop turn sends (OnIdle): one
        // record for a burst of small replies, not one each.
        stage_.insert(stage_.end(), frame.data(), frame.data() + frame.size());
        queued_ += frame.size();
        Kick();
        return;
      }
      SealStaged();
      if (dead_) return;
      Status s = tls_->Write(frame.data(), frame.size());
      if (!s.ok()) {
        Fail(s);
        return;
      }
      SendTlsOutput();
      return;
    }
    queued_ += frame.size();
    pending_.push_back(std::move(frame));
    if (!write_busy_) Kick();
  }
  size_t QueuedBytes() const { return queued_; }
  void OnDrain(std::function<void()> fn) { on_drain_ = std::move(fn); }
  void PauseReading() {
    paused_ = true;
    StopReading();
  }
  void ResumeReading() {
    if (!paused_) return;
    paused_ = false;
    if (dead_ || owner_closed_ || !started_) return;
    // Frames may sit in the buffer already; deliver them from the loop, not
    // from inside the caller (which may be in the middle of a reply).
    deliver_pending_ = true;
    Kick();
  }
  void Close() {
    if (owner_closed_) return;
    owner_closed_ = true;
    BeginShutdown(true);
  }
  const std::string& Peer() const { return peer_; }
  int WriteFd() const {
    uv_os_fd_t fd = -1;
    if (tls_) return -1;  // records must go through the session
    if (closing_handles_ || uv_fileno(&ws_->handle, &fd) != 0) return -1;
    return fd;
  }
  std::string Identity() const { return tls_ ? tls_->identity() : ""; }
  bool Secure() const { return tls_ != nullptr; }

  // ---- TLS ----

  // Puts a session between the socket and the frames. Dial's has finished
  // its handshake; a server's is driven by StartHandshake.
  void SetTls(std::unique_ptr<internal::TlsSession> s) { tls_ = std::move(s); }
  // Server: reads and answers handshake messages on the loop until the
  // handshake completes or fails (or kHandshakeMs pass), then calls done
  // once. On failure the owner calls AbandonHandshake.
  void StartHandshake(std::function<void(const Status&)> done) {
    handshaking_ = true;
    on_handshake_ = std::move(done);
    uv_timer_start(
        &guard_,
        [](uv_timer_t* t) {
          static_cast<ConnCore*>(t->data)->HandshakeFailed(Status(
              ETIMEDOUT,
              "tls handshake: timed out after " + std::to_string(kHandshakeMs / 1000) + " s"));
        },
        kHandshakeMs, 0);
    StartReading();
  }
  // Server: drops a connection whose handshake failed, after sending what
  // tells the peer why (an alert, or an Rerror to a plain 9P client).
  void AbandonHandshake() {
    owner_gone_ = true;
    owner_closed_ = true;
    dead_ = true;
    BeginShutdown(true);
  }
  // The front is gone: close if not yet, and free once libuv is done.
  void Release() {
    Close();
    owner_gone_ = true;
    MaybeDelete();
  }

 private:
  void InitRead() {
    rs_.handle.data = this;
    open_handles_++;
  }
  uv_stream_t* ws() { return &ws_->stream; }

  void Kick() {
    if (idle_active_ || closing_handles_) return;
    idle_active_ = true;
    uv_idle_start(&idle_, [](uv_idle_t* h) { static_cast<ConnCore*>(h->data)->OnIdle(); });
  }
  void OnIdle() {
    uv_idle_stop(&idle_);
    idle_active_ = false;
    if (deliver_pending_) {
      deliver_pending_ = false;
      if (tls_) {
        PumpTls();
      } else {
        Process();
      }
      StartReading();
    }
    if (tls_) SealStaged();
    Flush(false);
  }

  // ---- reading ----

  void StartReading() {
    if (reading_ || paused_ || dead_ || owner_closed_ || (!started_ && !handshaking_)) return;
    int r = uv_read_start(
        &rs_.stream,
        [](uv_handle_t* h, size_t, uv_buf_t* b) { static_cast<ConnCore*>(h->data)->OnAlloc(b); },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t*) {
          static_cast<ConnCore*>(s->data)->OnRead(n);
        });
    if (r < 0) {
      Fail(UvError(r, "read"));
      return;
    }
    reading_ = true;
  }
  void StopReading() {
    if (!reading_) return;
    uv_read_stop(&rs_.stream);
    reading_ = false;
  }

  void OnAlloc(uv_buf_t* b) {
    if (tls_) {
      if (!cbuf_) cbuf_.reset(new uint8_t[kCipherBufSize]);
      *b = uv_buf_init(reinterpret_cast<char*>(cbuf_.get()), kCipherBufSize);
      return;
    }
    *b = Room();
  }

  // Free space at the end of the frame buffer, made by moving a partial
  // frame to the front when little is left or a known frame would not fit.
  uv_buf_t Room() {
    if (!rbuf_) {
      rbuf_.reset(new uint8_t[kReadBufSize]);
      rcap_ = kReadBufSize;
    }
    if (rhead_ == rtail_) rhead_ = rtail_ = 0;
    if (rhead_ > 0 && (rcap_ - rtail_ < 4096 || (want_ && rhead_ + want_ > rcap_))) {
      memmove(rbuf_.get(), rbuf_.get() + rhead_, rtail_ - rhead_);
      rtail_ -= rhead_;
      rhead_ = 0;
    }
    if (rtail_ == rcap_) Grow(rcap_ * 2);  // cannot happen; never hand libuv 0 bytes
    return uv_buf_init(reinterpret_cast<char*>(rbuf_.get() + rtail_), rcap_ - rtail_);
  }

  void OnRead(ssize_t n) {
    if (n > 0 && tls_) {
      OnCipher(static_cast<size_t>(n));
    } else if (n > 0) {
      rtail_ += static_cast<size_t>(n);
      Process();
    } else if (n == UV_EOF) {
      Fail(Status::Ok());
    } else if (n < 0) {
      Fail(UvError(static_cast<int>(n), "read"));
    }
  }

  // Ciphertext arrived in cbuf_.
  void OnCipher(size_t n) {
    if (handshaking_ && first_.size() < 7)
      first_.append(reinterpret_cast<const char*>(cbuf_.get()), std::min(n, 7 - first_.size()));
    tls_->Lend(cbuf_.get(), n);
    if (handshaking_) {
      DriveHandshake();
    } else {
      PumpTls();
    }
    tls_->Keep();  // cbuf_ takes the next read
  }

  void DriveHandshake() {
    Result<bool> h = tls_->Handshake();
    if (!h.ok()) {
      HandshakeFailed(h.status());
      return;
    }
    SendTlsOutput();
    if (!*h) return;
    handshaking_ = false;
    uv_timer_stop(&guard_);
    if (!started_) StopReading();  // until the owner starts us
    auto done = std::move(on_handshake_);
    done(Status::Ok());
  }

  void HandshakeFailed(const Status& why) {
    if (!handshaking_) return;
    handshaking_ = false;
    uv_timer_stop(&guard_);
    StopReading();
    if (first_.size() >= 7 && static_cast<uint8_t>(first_[4]) == kTversionType) {
      // A plain 9P client: an Rerror to its Tversion says more than an alert.
      std::string ename = "this server speaks TLS here: dial tls!host!port";
      size_t size = 4 + 1 + 2 + 2 + ename.size();
      Buffer b = Buffer::Uninit(size);
      internal::StoreLE<uint32_t>(b.data(), static_cast<uint32_t>(size));
      b.data()[4] = 107;  // Rerror
      b.data()[5] = static_cast<uint8_t>(first_[5]);
      b.data()[6] = static_cast<uint8_t>(first_[6]);
      internal::StoreLE<uint16_t>(b.data() + 7, static_cast<uint16_t>(ename.size()));
      memcpy(b.data() + 9, ename.data(), ename.size());
      queued_ += b.size();
      pending_.push_back(std::move(b));
      tls_->TakeOutput();  // not the alert: the peer could not read it
    } else {
      SendTlsOutput();
    }
    auto done = std::move(on_handshake_);
    std::string msg = why.message();
    if (first_.size() >= 7 && static_cast<uint8_t>(first_[4]) == kTversionType)
      msg += " (a plain 9P client)";
    done(Status(why.err(), msg));
  }

  // Decrypts what the session holds into the frame buffer and delivers
  // the frames, until it needs more ciphertext or the owner pauses.
  void PumpTls() {
    if (pumping_) return;
    pumping_ = true;
    while (!paused_ && !dead_ && !owner_closed_ && started_) {
      uv_buf_t room = Room();
      Status err;
      long n = tls_->Read(reinterpret_cast<uint8_t*>(room.base), room.len, &err);
      if (n > 0) {
        rtail_ += static_cast<size_t>(n);
        Process();
        continue;
      }
      if (n == 0) break;
      pumping_ = false;
      SendTlsOutput();
      Fail(err);
      return;
    }
    pumping_ = false;
    SendTlsOutput();  // what reading produced (key updates, alerts)
  }

  // Encrypts the frames staged by Send, in one SSL_write.
  void SealStaged() {
    if (stage_.empty()) return;
    queued_ -= stage_.size();
    Status s = tls_->Write(stage_.data(), stage_.size());
    stage_.clear();
    if (!s.ok()) {
      Fail(s);
      return;
    }
    SendTlsOutput();
  }

  // Queues what the session wants sent.
  void SendTlsOutput() {
    if (!tls_ || closing_handles_ || tls_->PendingOutput() == 0) return;
    Buffer b = tls_->TakeOutput();
    queued_ += b.size();
    pending_.push_back(std::move(b));
    if (!write_busy_) Kick();
  }

  void Grow(size_t size) {
    size_t cap = (size + 4095) & ~size_t{4095};
    std::unique_ptr<uint8_t[]> nb(new uint8_t[cap]);
    memcpy(nb.get(), rbuf_.get() + rhead_, rtail_ - rhead_);
    rtail_ -= rhead_;
    rhead_ = 0;
    rbuf_ = std::move(nb);
    rcap_ = cap;
  }

  // Delivers every whole frame in the buffer, stopping when paused or closed.
  void Process() {
    if (processing_ || !rbuf_) return;
    processing_ = true;
    want_ = 0;
    while (!paused_ && !dead_ && !owner_closed_) {
      size_t avail = rtail_ - rhead_;
      if (avail < 4) break;
      uint32_t size = internal::LoadLE<uint32_t>(rbuf_.get() + rhead_);
      // A TLS ClientHello (16 03 0x) reads as a 9P size of 66 KiB and up:
      // no peer's first message is that big, so say what it is at once.
      if (!tls_ && !seen_frame_ && rbuf_[rhead_] == 0x16 && rbuf_[rhead_ + 1] == 0x03 &&
          rbuf_[rhead_ + 2] <= 0x04) {
        processing_ = false;
        Fail(Status(EPROTONOSUPPORT, "a TLS client (peer " + peer_ +
                                         ") on a plain 9P port: it should dial tcp!, or the "
                                         "server should listen on tls!"));
        return;
      }
      seen_frame_ = true;
      if (size < HeaderSize()) {
        processing_ = false;
        Fail(Status(EPROTO, "9P frame size " + std::to_string(size) +
                                " is smaller than the 7-byte header (peer " + peer_ + ")"));
        return;
      }
      if (size > max_frame_) {
        processing_ = false;
        Fail(Status(EMSGSIZE, "9P frame of " + std::to_string(size) +
                                  " bytes exceeds the limit of " + std::to_string(max_frame_) +
                                  " (peer " + peer_ + ")"));
        return;
      }
      if (avail < size) {
        want_ = size;
        if (size > rcap_) Grow(size);
        break;
      }
      const uint8_t* f = rbuf_.get() + rhead_;
      cur_start_ = rhead_;
      cur_size_ = size;
      rhead_ += size;
      on_frame_(std::span<const uint8_t>(f, size));
      cur_size_ = 0;
    }
    if (rhead_ == rtail_) rhead_ = rtail_ = 0;
    processing_ = false;
  }
  static constexpr uint32_t HeaderSize() { return 7; }

 public:
  // The frame being delivered, as an owned Buffer. A large frame fills a
  // buffer grown for it, so the owner takes that buffer whole and reading
  // goes on in a fresh one that gets the few bytes read past the frame.
  Buffer TakeFrame() {
    if (cur_size_ == 0) return Buffer();
    const uint8_t* f = rbuf_.get() + cur_start_;
    if (cur_start_ != 0 || rcap_ <= kReadBufSize || cur_size_ < rcap_ / 2)
      return Buffer::CopyOf({f, cur_size_});
    size_t left = rtail_ - rhead_;
    size_t cap = std::max(kReadBufSize, (left + 4095) & ~size_t{4095});
    std::unique_ptr<uint8_t[]> nb(new uint8_t[cap]);
    if (left) memcpy(nb.get(), rbuf_.get() + rhead_, left);
    Buffer out(std::move(rbuf_), cur_size_);
    rbuf_ = std::move(nb);
    rcap_ = cap;
    rhead_ = 0;
    rtail_ = left;
    cur_size_ = 0;  // taken: a second call has nothing to give
    return out;
  }

 private:
  // ---- writing ----

  // Writes what is queued: one uv_try_write of everything, the rest (if the
  // kernel is full) in one uv_write. `all` submits even while a uv_write is
  // in flight (used before a shutdown, which fails later writes).
  void Flush(bool all) {
    if (closing_handles_ || pending_.size() == phead_) return;
    if (write_busy_ && !all) return;
    if (!write_busy_) {
      iov_.clear();
      for (size_t i = phead_; i < pending_.size() && iov_.size() < kMaxIov; i++) {
        size_t off = i == phead_ ? poff_ : 0;
        iov_.push_back(uv_buf_init(reinterpret_cast<char*>(pending_[i].data() + off),
                                   pending_[i].size() - off));
      }
      int n = uv_try_write(ws(), iov_.data(), static_cast<unsigned>(iov_.size()));
      if (n == UV_EAGAIN || n == UV_ENOSYS) n = 0;
      if (n < 0) {
        Fail(UvError(n, "write"));
        return;
      }
      Consume(static_cast<size_t>(n));
      if (pending_.size() == phead_) {
        pending_.clear();
        phead_ = 0;
        NoteDrained();
        return;
      }
    }
    auto* b = new WriteBatch;
    b->core = this;
    b->req.data = b;
    iov_.clear();
    for (size_t i = phead_; i < pending_.size(); i++) {
      size_t off = i == phead_ ? poff_ : 0;
      b->frames.push_back(std::move(pending_[i]));
      auto& f = b->frames.back();
      iov_.push_back(uv_buf_init(reinterpret_cast<char*>(f.data() + off), f.size() - off));
      b->bytes += f.size() - off;
    }
    pending_.clear();
    phead_ = poff_ = 0;
    write_busy_ = true;
    writes_in_flight_++;
    int r = uv_write(&b->req, ws(), iov_.data(), static_cast<unsigned>(iov_.size()),
                     [](uv_write_t* req, int status) {
                       auto* wb = static_cast<WriteBatch*>(req->data);
                       wb->core->OnWriteDone(wb, status);
                     });
    if (r < 0) {
      writes_in_flight_--;
      write_busy_ = writes_in_flight_ > 0;
      queued_ -= b->bytes;
      delete b;
      Fail(UvError(r, "write"));
    }
  }

  // Drops n written bytes from the front of the pending queue.
  void Consume(size_t n) {
    queued_ -= n;
    while (n > 0) {
      size_t left = pending_[phead_].size() - poff_;
      if (n < left) {
        poff_ += n;
        return;
      }
      n -= left;
      pending_[phead_] = Buffer();
      phead_++;
      poff_ = 0;
    }
  }

  void OnWriteDone(WriteBatch* b, int status) {
    queued_ -= b->bytes;
    delete b;
    writes_in_flight_--;
    write_busy_ = writes_in_flight_ > 0;
    if (status < 0) {
      if (status != UV_ECANCELED) Fail(UvError(status, "write"));
      return;
    }
    if (pending_.size() != phead_) {
      Flush(false);
    } else {
      NoteDrained();
    }
  }

  void NoteDrained() {
    if (queued_ != 0 || owner_closed_ || dead_ || !on_drain_) return;
    on_drain_();
  }

  // ---- ending ----

  // The stream ended (EOF: s is OK) or failed: stop, report once, close.
  void Fail(const Status& s) {
    if (dead_) return;
    dead_ = true;
    StopReading();
    // The owner hears first, before the fd is closed: it may be writing to
    // WriteFd() from another thread and must stop before the number is
    // reused. After EOF, replies already queued still go out (best effort):
    // a peer that half-closed may be waiting for them.
    if (!owner_closed_ && on_close_) on_close_(s);
    BeginShutdown(s.ok());
  }

  void BeginShutdown(bool flush) {
    if (shutting_) return;
    shutting_ = true;
    StopReading();
    if (flush && tls_ && !closing_handles_) SealStaged();
    if (flush && queued_ > 0 && !closing_handles_) {
      Flush(true);
      if (queued_ > 0 && !closing_handles_) {
        shutdown_req_.data = this;
        if (uv_shutdown(&shutdown_req_, ws(), [](uv_shutdown_t* r, int) {
              static_cast<ConnCore*>(r->data)->CloseHandles();
            }) == 0) {
          guard_queued_ = uv_stream_get_write_queue_size(ws());
          uv_timer_start(
              &guard_, [](uv_timer_t* t) { static_cast<ConnCore*>(t->data)->OnCloseGuard(); },
              kCloseGuardMs, 0);
          return;
        }
      }
    }
    CloseHandles();
  }

  // The flush before a close goes on while the peer makes progress: a slow
  // reader still gets every reply, a stuck one holds the fd one period only.
  void OnCloseGuard() {
    size_t now = closing_handles_ ? 0 : uv_stream_get_write_queue_size(ws());
    if (now > 0 && now < guard_queued_) {
      guard_queued_ = now;
      uv_timer_start(
          &guard_, [](uv_timer_t* t) { static_cast<ConnCore*>(t->data)->OnCloseGuard(); },
          kCloseGuardMs, 0);
      return;
    }
    CloseHandles();
  }

  void CloseHandles() {
    if (closing_handles_) return;
    closing_handles_ = true;
    auto done = [](uv_handle_t* h) { static_cast<ConnCore*>(h->data)->OnHandleClosed(); };
    uv_handle_t* hs[] = {reinterpret_cast<uv_handle_t*>(&idle_),
                         reinterpret_cast<uv_handle_t*>(&guard_), &rs_.handle,
                         ws_ == &ws2_ ? &ws2_.handle : nullptr};
    for (uv_handle_t* h : hs) {
      if (h && h->data == this && h->loop && !uv_is_closing(h)) uv_close(h, done);
    }
  }
  void OnHandleClosed() {
    open_handles_--;
    MaybeDelete();
  }
  void MaybeDelete() {
    if (owner_gone_ && open_handles_ == 0) delete this;
  }

  uv_loop_t* loop_;
  std::string peer_;
  AnyStream rs_{};   // the read (and usually write) stream
  AnyStream ws2_{};  // the write stream when it is a different fd
  AnyStream* ws_ = &rs_;
  uv_idle_t idle_{};
  uv_timer_t guard_{};
  size_t guard_queued_ = 0;  // libuv's write queue when the guard last looked
  uv_shutdown_t shutdown_req_{};
  int open_handles_ = 0;

  Conn::FrameFn on_frame_;
  Conn::CloseFn on_close_;
  std::function<void()> on_drain_;
  uint32_t max_frame_ = kDefaultMaxFrame;

  std::unique_ptr<uint8_t[]> rbuf_;
  size_t rcap_ = 0, rhead_ = 0, rtail_ = 0;
  uint32_t want_ = 0;                    // size of the partial frame at rhead_, once known
  size_t cur_start_ = 0, cur_size_ = 0;  // the frame on_frame_ is handling

  std::vector<Buffer> pending_;
  size_t phead_ = 0, poff_ = 0;
  std::vector<uv_buf_t> iov_;
  size_t queued_ = 0;
  int writes_in_flight_ = 0;

  bool started_ = false, reading_ = false, paused_ = false, processing_ = false;
  bool deliver_pending_ = false, idle_active_ = false, write_busy_ = false;
  bool dead_ = false, shutting_ = false, closing_handles_ = false;
  bool owner_closed_ = false, owner_gone_ = false;

  std::unique_ptr<internal::TlsSession> tls_;
  std::vector<uint8_t> stage_;       // TLS: small frames sent this turn, not yet encrypted
  std::unique_ptr<uint8_t[]> cbuf_;  // ciphertext as read
  bool handshaking_ = false, pumping_ = false;
  bool seen_frame_ = false;  // a frame header was accepted (so this is not TLS)
  std::function<void(const Status&)> on_handshake_;
  std::string first_;  // the first bytes a TLS server got, to tell a plain 9P client
};

// The owner's handle on a ConnCore.
class UvConn final : public Conn {
 public:
  explicit UvConn(ConnCore* c) : c_(c) {}
  ~UvConn() override { c_->Release(); }
  void Start(FrameFn on_frame, CloseFn on_close) override {
    c_->Start(std::move(on_frame), std::move(on_close));
  }
  void SetMaxFrame(uint32_t max) override { c_->SetMaxFrame(max); }
  void Send(Buffer frame) override { c_->Send(std::move(frame)); }
  Buffer TakeFrame() override { return c_->TakeFrame(); }
  size_t QueuedBytes() const override { return c_->QueuedBytes(); }
  void OnDrain(std::function<void()> fn) override { c_->OnDrain(std::move(fn)); }
  void PauseReading() override { c_->PauseReading(); }
  void ResumeReading() override { c_->ResumeReading(); }
  void Close() override { c_->Close(); }
  std::string Peer() const override { return c_->Peer(); }
  int WriteFd() const override { return c_->WriteFd(); }
  std::string Identity() const override { return c_->Identity(); }
  bool Secure() const override { return c_->Secure(); }

 private:
  ConnCore* c_;
};

// Listener state that must outlive the Listener until libuv closes it.
class ListenCore {
 public:
  ListenCore(uv_loop_t* loop, Listener::AcceptFn fn)
      : loop_(loop), on_accept_(std::make_shared<Listener::AcceptFn>(std::move(fn))) {}

  // Makes accepted connections TLS: each is handed out once its
  // handshake succeeded; a failure is logged with `log`.
  Status SetTls(const TlsOptions& o, std::function<void(const std::string&)> log) {
    auto ctx = internal::TlsContext::ForServer(o);
    if (!ctx.ok()) return ctx.status();
    tls_ = std::move(*ctx);
    log_ = std::move(log);
    if (!log_) log_ = [](const std::string& m) { fprintf(stderr, "lib9p: %s\n", m.c_str()); };
    return Status::Ok();
  }

  Status ListenTcp(const DialAddr& addr) {
    sockaddr_storage ss;
    Status s = internal::ResolveListen(addr, &ss);
    if (!s.ok()) return s;
    uv_tcp_init(loop_, &s_.tcp);
    s_.handle.data = this;
    std::string what = "listen " + FormatDial(addr);
    int r = uv_tcp_bind(&s_.tcp, reinterpret_cast<sockaddr*>(&ss), 0);
    if (r == 0) r = uv_listen(&s_.stream, SOMAXCONN, OnConnection);
    if (r < 0) return UvError(r, what);
    int len = sizeof ss;
    r = uv_tcp_getsockname(&s_.tcp, reinterpret_cast<sockaddr*>(&ss), &len);
    if (r < 0) return UvError(r, what);
    bound_ = internal::FormatSockaddr(reinterpret_cast<sockaddr*>(&ss));
    if (addr.tls) bound_ = "tls!" + bound_.substr(4);
    return Status::Ok();
  }

  Status ListenUnix(const DialAddr& addr) {
    std::string what = "listen " + FormatDial(addr);
    sockaddr_un un;
    socklen_t len;
    auto ok = internal::MakeUnixAddr(addr.path, &un, &len);
    if (!ok.ok()) return Status(ok.status().err(), what + ": " + ok.status().message());
    Status s = internal::RemoveStaleSocket(addr.path);
    if (!s.ok()) return s;
    tcp_ = false;
    uv_pipe_init(loop_, &s_.pipe, 0);
    s_.handle.data = this;
    int r = uv_pipe_bind(&s_.pipe, addr.path.c_str());
    if (r < 0) return UvError(r, what);
    struct stat st;
    if (stat(addr.path.c_str(), &st) == 0) {
      path_ = addr.path;
      dev_ = st.st_dev;
      ino_ = st.st_ino;
    }
    r = uv_listen(&s_.stream, SOMAXCONN, OnConnection);
    if (r < 0) return UvError(r, what);
    bound_ = FormatDial(addr);
    return Status::Ok();
  }

  const std::string& bound() const { return bound_; }

  // Stops accepting and frees this once libuv has closed the socket.
  void Close() {
    if (closed_) return;
    closed_ = true;
    struct stat st;
    // Remove our socket file, but not one a newer server put in its place.
    if (!path_.empty() && stat(path_.c_str(), &st) == 0 && st.st_dev == dev_ && st.st_ino == ino_)
      unlink(path_.c_str());
    if (s_.handle.data == this) {
      uv_close(&s_.handle, [](uv_handle_t* h) { delete static_cast<ListenCore*>(h->data); });
    } else {
      delete this;
    }
  }

 private:
  static void OnConnection(uv_stream_t* server, int status) {
    auto* self = static_cast<ListenCore*>(server->data);
    if (status < 0 || self->closed_) return;
    auto* core = new ConnCore(self->loop_, self->tcp_ ? "tcp" : "unix");
    Status s = core->Accept(server, self->tcp_);
    if (!s.ok()) {
      core->Abort();
      return;
    }
    if (!self->tls_) {
      (*self->on_accept_)(std::make_unique<UvConn>(core));
      return;
    }
    auto session = internal::TlsSession::NewServer(self->tls_);
    if (!session) {
      core->Abort();
      return;
    }
    core->SetTls(std::move(session));
    // The listener may be closed before the handshake ends: hold what the
    // callback needs, not the listener.
    auto accept = self->on_accept_;
    auto log = self->log_;
    core->StartHandshake([core, accept, log](const Status& hs) {
      if (hs.ok()) {
        (*accept)(std::make_unique<UvConn>(core));
        return;
      }
      log(core->Peer() + ": refused: " + hs.message());
      core->AbandonHandshake();
    });
  }

  uv_loop_t* loop_;
  std::shared_ptr<Listener::AcceptFn> on_accept_;
  std::shared_ptr<internal::TlsContext> tls_;
  std::function<void(const std::string&)> log_;
  AnyStream s_{};
  bool tcp_ = true;
  bool closed_ = false;
  std::string bound_;
  std::string path_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

class UvListener final : public Listener {
 public:
  explicit UvListener(ListenCore* c) : c_(c) {}
  ~UvListener() override { Close(); }
  std::string BoundAddress() const override { return bound_.empty() ? c_->bound() : bound_; }
  void Close() override {
    if (!c_) return;
    bound_ = c_->bound();
    c_->Close();
    c_ = nullptr;
  }

 private:
  ListenCore* c_;
  std::string bound_;
};

// Describes an fd that cannot carry a byte stream, or "" when it can.
std::string BadStreamFd(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return "fd " + std::to_string(fd) + ": " + strerror(errno);
  if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) return "";
  const char* what = S_ISREG(st.st_mode)   ? "a regular file"
                     : S_ISDIR(st.st_mode) ? "a directory"
                     : isatty(fd)          ? "a terminal"
                     : S_ISCHR(st.st_mode) ? "a character device"
                                           : "not a pipe or socket";
  return "fd " + std::to_string(fd) + " is " + what + "; 9P needs a pipe or a socket";
}

}  // namespace

void KeepFrameBuffersInHeap() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

void PrefaultHeap(size_t bytes) {
  // The first reads of a fresh server otherwise pay a page fault for every
  // 4 KiB of each new frame buffer as the heap grows; touching the memory
  // once here, and freeing it below the trim threshold, leaves those pages
  // mapped for the frames to come.
  auto* p = static_cast<volatile char*>(malloc(bytes));
  if (p == nullptr) return;
  for (size_t i = 0; i < bytes; i += 4096) p[i] = 0;
  free(const_cast<char*>(p));
}

Result<std::unique_ptr<Conn>> Dial(uv_loop_t* loop, const DialAddr& addr,
                                   std::chrono::milliseconds timeout, const TlsOptions& tls) {
  IgnoreSigpipe();
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline =
      timeout.count() > 0 ? Clock::now() + timeout : Clock::time_point::max();
  std::unique_ptr<internal::TlsSession> session;
  if (addr.tls) {
    // Files first: a missing key is an error before any network traffic.
    auto ctx = internal::TlsContext::ForClient(tls.empty() ? TlsOptionsFromEnv() : tls);
    if (!ctx.ok())
      return Status(ctx.status().err(), "dial " + FormatDial(addr) + ": " + ctx.status().message());
    auto ns = internal::TlsSession::NewClient(*ctx, addr.kind == DialAddr::kTcp ? addr.host : "");
    if (!ns.ok())
      return Status(ns.status().err(), "dial " + FormatDial(addr) + ": " + ns.status().message());
    session = std::move(*ns);
  }
  auto fd = internal::ConnectSocket(addr, timeout);
  if (!fd.ok()) return fd.status();
  if (session) {
    Status hs = internal::TlsClientHandshake(session.get(), *fd, deadline);
    if (!hs.ok()) {
      close(*fd);
      return Status(hs.err(), "dial " + FormatDial(addr) + ": " + hs.message());
    }
  }
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  std::string peer = FormatDial(addr);
  if (addr.kind == DialAddr::kTcp && getpeername(*fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
    peer = internal::FormatSockaddr(reinterpret_cast<sockaddr*>(&ss));
  auto* core = new ConnCore(loop, peer);
  if (session) core->SetTls(std::move(session));
  Status s = addr.kind == DialAddr::kTcp ? core->OpenTcp(*fd) : core->OpenFds(*fd, *fd);
  if (!s.ok()) {
    close(*fd);
    core->Abort();
    return Status(s.err(), "dial " + FormatDial(addr) + ": " + s.message());
  }
  return std::unique_ptr<Conn>(new UvConn(core));
}

Result<std::unique_ptr<Conn>> ConnFromFds(uv_loop_t* loop, int rfd, int wfd) {
  IgnoreSigpipe();
  for (int fd : {rfd, wfd}) {
    std::string bad = BadStreamFd(fd);
    if (!bad.empty()) return Status(EINVAL, bad);
  }
  auto* core = new ConnCore(loop, "fd");
  Status s = core->OpenFds(rfd, wfd);
  if (!s.ok()) {
    core->Abort();
    return s;
  }
  return std::unique_ptr<Conn>(new UvConn(core));
}

Result<std::unique_ptr<Listener>> Listen(uv_loop_t* loop, const DialAddr& addr,
                                         Listener::AcceptFn on_accept, const TlsOptions& tls,
                                         std::function<void(const std::string&)> log) {
  IgnoreSigpipe();
  auto* core = new ListenCore(loop, std::move(on_accept));
  Status s;
  if (addr.tls) s = core->SetTls(tls, std::move(log));
  if (s.ok()) s = addr.kind == DialAddr::kTcp ? core->ListenTcp(addr) : core->ListenUnix(addr);
  if (!s.ok()) {
    core->Close();
    return s;
  }
  return std::unique_ptr<Listener>(new UvListener(core));
}

}  // namespace ninep
