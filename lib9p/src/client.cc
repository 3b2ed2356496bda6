// client.cc: the client core. Tags, the send queue, the loop thread, version
// negotiation, flush, and failing everything when the connection dies.
//
// A call is encoded on the caller's thread and given a tag under mu_. Then
// the caller writes the frame to the socket itself when nothing is queued
// ahead of it (the common case for blocking calls: no thread hop on the way
// out); otherwise it joins a queue that one uv_async hands to the loop
// thread, whose Conn batches it into one write. A call made on the loop
// thread itself (from a reply callback) goes to the Conn directly, so
// pipelined callback-driven callers get batching and no wake-up at all.
#include "ninep/client.h"

#include <linux/futex.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "client_impl.h"
#include "wire_fields.h"

namespace ninep {
namespace {

using Clock = std::chrono::steady_clock;
// Twrite data at least this large is sent from the caller's buffer rather
// than copied into the frame; below it the copy costs less than it saves.
constexpr size_t kZeroCopyWrite = 16 * 1024;

std::string Str(std::string_view v) { return std::string(v); }

const char* DialectName(Dialect d) { return d == Dialect::k9P2000L ? "9P2000.L" : "9P2000"; }

// A one-shot event for one waiting thread, on a futex: Set costs no system
// call when nobody sleeps, and waking costs one (a mutex and condition
// variable cost a second, as glibc marks the re-taken mutex contended).
class Event {
 public:
  void Set() {
    if (state_.exchange(kSet, std::memory_order_release) == kSleeping)
      syscall(SYS_futex, &state_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }
  // Waits for Set, until `deadline` when given; true once set.
  bool Wait(const Clock::time_point* deadline) {
    for (;;) {
      uint32_t s = state_.load(std::memory_order_acquire);
      if (s == kSet) return true;
      if (s == kIdle && !state_.compare_exchange_weak(s, kSleeping, std::memory_order_acquire))
        continue;
      timespec ts, *tp = nullptr;
      if (deadline) {
        auto left = *deadline - Clock::now();
        if (left <= Clock::duration::zero()) return state_.load(std::memory_order_acquire) == kSet;
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
        ts.tv_sec = ns / 1000000000;
        ts.tv_nsec = ns % 1000000000;
        tp = &ts;
      }
      syscall(SYS_futex, &state_, FUTEX_WAIT_PRIVATE, kSleeping, tp, nullptr, 0);
    }
  }

 private:
  static constexpr uint32_t kIdle = 0, kSleeping = 1, kSet = 2;
  std::atomic<uint32_t> state_{kIdle};
};

// The waiter of one blocking call. Shared by the caller and the reply
// handler (refs), so a caller that gives up (timeout) leaves it safely.
struct Waiter {
  std::mutex mu;  // orders a late reply against the caller giving up
  Event ev;
  bool done = false;
  bool abandoned = false;  // the caller left; extract must not run
  Status st;
  const Client::Impl::Extract* extract = nullptr;
  std::atomic<int> refs{2};
  void Unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
};

}  // namespace

// ---- Impl -----------------------------------------------------------------

Client::Impl::Impl(const ClientOptions& opts)
    : opts_(opts), dialect_(opts.dialect), msize_(opts.msize) {
  loop_ready_ = uv_loop_init(&loop_) == 0;
  slots_.reserve(64);
}

Client::Impl::~Impl() {
  if (OnLoopThread()) {
    // A broken caller contract that would otherwise deadlock in join().
    fprintf(stderr, "ninep: Client destroyed from one of its own callbacks\n");
    abort();
  }
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stopping_ = true;
    }
    uv_async_send(&async_);
    thread_.join();
  } else {
    conn_.reset();
  }
  if (loop_ready_) {
    uv_run(&loop_, UV_RUN_DEFAULT);  // runs close callbacks of a never-started conn
    uv_loop_close(&loop_);
  }
}

void Client::Impl::Start(std::unique_ptr<Conn> conn) {
  conn_ = std::move(conn);
  uv_async_init(&loop_, &async_, [](uv_async_t* a) { static_cast<Impl*>(a->data)->OnAsync(); });
  async_.data = this;
  if (opts_.call_timeout.count() > 0) {
    uv_timer_init(&loop_, &expiry_);
    expiry_.data = this;
    uint64_t every = std::clamp<uint64_t>(opts_.call_timeout.count() / 4, 20, 1000);
    uv_timer_start(
        &expiry_, [](uv_timer_t* t) { static_cast<Impl*>(t->data)->ExpireCalls(); }, every, every);
  }
  conn_->SetMaxFrame(opts_.msize);
  conn_->OnDrain([this] { OnDrained(); });
  wfd_ = conn_->WriteFd();
  struct stat st;
  wfd_socket_ = wfd_ >= 0 && fstat(wfd_, &st) == 0 && S_ISSOCK(st.st_mode);
  conn_->Start([this](std::span<const uint8_t> f) { OnFrame(f); },
               [this](const Status& s) {
                 Die(s.ok() ? Status(ECONNRESET, "server closed the connection") : s);
               });
  thread_ = std::thread([this] { Run(); });
}

void Client::Impl::Run() {
  loop_tid_.store(std::this_thread::get_id());
  uv_run(&loop_, UV_RUN_DEFAULT);
}

Status Client::Impl::Version(std::chrono::milliseconds timeout) {
  const char* want = DialectName(opts_.dialect);
  uint32_t got_msize = 0;
  std::string got_version;
  Extract ex = [&](const Message& m, std::span<const uint8_t>) {
    auto& r = std::get<Rversion>(m.body);
    got_msize = r.msize;
    got_version = Str(r.version);
    // Runs on the loop thread, the only one that may touch conn_.
    if (conn_ && r.msize >= MINMSIZE && r.msize < opts_.msize) conn_->SetMaxFrame(r.msize);
    return Status::Ok();
  };
  Status st = SyncCall(Tversion{opts_.msize, want}, ex, timeout);
  if (!st.ok()) return Status(st.err(), "version: " + st.message());
  if (got_version != want) {
    if (got_version == "unknown")
      return Status(EPROTONOSUPPORT, std::string("version: server does not speak ") + want);
    return Status(EPROTONOSUPPORT,
                  "version: server offers " + got_version + ", asked " + std::string(want));
  }
  uint32_t m = std::min(got_msize, opts_.msize);
  if (m < MINMSIZE)
    return Status(EPROTO, "version: server msize " + std::to_string(got_msize) +
                              " is below the minimum " + std::to_string(MINMSIZE));
  msize_ = m;
  return Status::Ok();
}

int Client::Impl::AllocTagLocked() {
  if (!free_tags_.empty()) {
    uint16_t t = free_tags_.back();
    free_tags_.pop_back();
    return t;
  }
  if (slots_.size() >= NOTAG) return -1;  // tags 0..0xFFFE; NOTAG is Tversion's
  slots_.emplace_back();
  return static_cast<int>(slots_.size() - 1);
}

void Client::Impl::FreeTagLocked(uint16_t tag) {
  if (tag == NOTAG) {
    version_slot_ = Slot{};
  } else {
    slots_[tag] = Slot{};
    free_tags_.push_back(tag);
  }
  if (--in_use_ == 0 && idle_waiters_ > 0) idle_.notify_all();
}

Client::Impl::Slot* Client::Impl::SlotFor(uint16_t tag) {
  if (tag == NOTAG) return &version_slot_;
  return tag < slots_.size() ? &slots_[tag] : nullptr;
}

void Client::Impl::Trace(const char* dir, const Message& m) {
  std::string line = std::string(dir) + " " + FormatMessage(m) + "\n";
  fwrite(line.data(), 1, line.size(), stderr);
}

void Client::Impl::Write(std::vector<uint8_t> frame, std::span<const uint8_t> tail) {
  // Whatever is not written now is queued, tail and all, as one frame.
  auto whole = [&](size_t done) {
    std::vector<uint8_t> rest;
    size_t total = frame.size() + tail.size();
    rest.reserve(total - done);
    if (done < frame.size())
      rest.insert(rest.end(), frame.begin() + static_cast<long>(done), frame.end());
    size_t tdone = done > frame.size() ? done - frame.size() : 0;
    rest.insert(rest.end(), tail.begin() + static_cast<long>(tdone), tail.end());
    return rest;
  };
  if (OnLoopThread()) {
    // The Conn batches what the loop thread sends in one turn; frames other
    // threads queued go first, so a Tflush never overtakes its request.
    std::vector<std::vector<uint8_t>> q;
    {
      std::lock_guard<std::mutex> lk(wmu_);
      backlog_ = true;
      q.swap(outq_);
    }
    if (!conn_) return;  // dead: the call has been failed already
    for (auto& f : q) conn_->Send(std::move(f));
    conn_->Send(tail.empty() ? std::move(frame) : whole(0));
    return;
  }
  bool wake;
  {
    std::lock_guard<std::mutex> lk(wmu_);
    size_t done = 0;
    if (!backlog_ && wfd_ >= 0) {
      // The header and the caller's bytes in one system call: the data of a
      // large Twrite is never copied into the frame when the socket takes it.
      iovec iov[2] = {{frame.data(), frame.size()},
                      {const_cast<uint8_t*>(tail.data()), tail.size()}};
      msghdr mh{};
      mh.msg_iov = iov;
      mh.msg_iovlen = tail.empty() ? 1 : 2;
      ssize_t n;
      do {
        n = wfd_socket_ ? sendmsg(wfd_, &mh, MSG_DONTWAIT | MSG_NOSIGNAL)
                        : writev(wfd_, iov, static_cast<int>(mh.msg_iovlen));
      } while (n < 0 && errno == EINTR);
      if (n == static_cast<ssize_t>(frame.size() + tail.size())) return;
      // A full socket or an error: the loop writes the rest, and its Conn
      // reports any error (which fails the calls).
      if (n > 0) done = static_cast<size_t>(n);
    }
    backlog_ = true;
    outq_.push_back(done == 0 && tail.empty() ? std::move(frame) : whole(done));
    wake = outq_.size() == 1;
  }
  if (wake) uv_async_send(&async_);
}

void Client::Impl::OnDrained() {
  std::lock_guard<std::mutex> lk(wmu_);
  if (outq_.empty()) backlog_ = false;  // else OnAsync is on its way with more
}

Client::CallId Client::Impl::Submit(const Body& t, Handler h) {
  Message m;
  m.tag = 0;
  m.body = t;
  uint8_t ttype = m.type();
  std::vector<uint8_t> frame;
  // A large Twrite's data goes out from the caller's buffer (see Write):
  // the frame holds the header only, with the whole frame's size.
  std::span<const uint8_t> tail;
  Status es;
  if (const auto* w = std::get_if<Twrite>(&t); w && w->data.size() >= kZeroCopyWrite) {
    Message hm;
    hm.body = Twrite{w->fid, w->offset, {}};
    es = Encode(hm, dialect_, &frame);
    if (es.ok()) {
      tail = w->data;
      internal::StoreLE<uint32_t>(frame.data(), static_cast<uint32_t>(frame.size() + tail.size()));
      internal::StoreLE<uint32_t>(frame.data() + frame.size() - 4,
                                  static_cast<uint32_t>(tail.size()));
    }
  } else {
    frame.reserve(EncodedSize(m, dialect_));
    es = Encode(m, dialect_, &frame);
  }
  CallId id = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    Status fail;
    int tag = -1;
    if (!es.ok()) {
      fail = Status(es.err(), "encode " + Str(MsgTypeName(ttype)) + ": " + es.message());
    } else if (dead_ || stopping_) {
      fail = Status(EPIPE, "9P connection is closed (" +
                               (dead_ ? death_.message() : std::string("client shut down")) + ")");
    } else if (ttype == kTversion) {
      if (version_slot_.id != 0)
        fail = Status(EBUSY, "a Tversion is already outstanding");
      else
        tag = NOTAG;
    } else {
      tag = AllocTagLocked();
      if (tag < 0) fail = Status(EAGAIN, "too many outstanding 9P requests (every tag in use)");
    }
    if (!fail.ok()) {
      failq_.push_back(Failure{std::move(h), std::move(fail)});
    } else {
      Slot* s = SlotFor(static_cast<uint16_t>(tag));
      id = (++seq_ << 16) | static_cast<uint64_t>(tag);
      s->id = id;
      s->ttype = ttype;
      s->h = std::move(h);
      if (opts_.call_timeout.count() > 0) s->deadline = Clock::now() + opts_.call_timeout;
      in_use_++;
      frame[5] = static_cast<uint8_t>(tag);
      frame[6] = static_cast<uint8_t>(tag >> 8);
      if (opts_.trace) {
        m.tag = static_cast<uint16_t>(tag);
        Trace("->", m);
      }
    }
  }
  // The slot exists before the frame leaves: the reply may be quick.
  if (id != 0) {
    Write(std::move(frame), tail);
  } else {
    uv_async_send(&async_);  // the failure is delivered on the loop thread
  }
  return id;
}

void Client::Impl::Cancel(CallId id) {
  uint16_t tag = static_cast<uint16_t>(id & 0xFFFF);
  if (id == 0 || tag == NOTAG) return;
  std::vector<uint8_t> frame;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (dead_ || stopping_ || tag >= slots_.size()) return;
    {
      Slot& s = slots_[tag];
      if (s.id != id || s.flushing || s.is_flush || !s.h) return;
    }
    if (!FlushLocked(tag, &frame)) return;
  }
  // The flushed request was written before its id was returned, so this
  // Tflush cannot overtake it.
  Write(std::move(frame));
}

bool Client::Impl::FlushLocked(uint16_t tag, std::vector<uint8_t>* frame) {
  int ft = AllocTagLocked();  // may grow slots_: take references after
  if (ft < 0) return false;
  slots_[tag].flushing = true;
  Slot& f = slots_[ft];
  f.id = (++seq_ << 16) | static_cast<uint64_t>(ft);
  f.ttype = kTflush;
  f.is_flush = true;
  f.oldtag = tag;
  in_use_++;
  Message m;
  m.tag = static_cast<uint16_t>(ft);
  m.body = Tflush{tag};
  // A Tflush has no field that could fail to encode.
  Encode(m, dialect_, frame).IgnoreError();
  if (opts_.trace) Trace("->", m);
  return true;
}

Status Client::Impl::SyncCall(const Body& t, const Extract& extract,
                              std::chrono::milliseconds timeout) {
  if (OnLoopThread())
    return Status(EDEADLK, "blocking 9P call made on the client's own loop thread");
  if (!alive_.load()) {
    std::lock_guard<std::mutex> lk(mu_);
    return Status(EPIPE, "9P connection is closed (" + death_.message() + ")");
  }
  auto* w = new Waiter;
  w->extract = &extract;
  CallId id = Submit(t, [w](const Status& e, std::span<const uint8_t> frame, const Message* m) {
    {
      std::lock_guard<std::mutex> lk(w->mu);
      if (!w->abandoned) {
        w->st = (e.ok() && *w->extract) ? (*w->extract)(*m, frame) : e;
        w->done = true;
      }
    }
    w->ev.Set();
    w->Unref();
  });
  if (timeout.count() == 0) timeout = opts_.call_timeout;
  if (timeout.count() == 0) {
    w->ev.Wait(nullptr);
  } else {
    auto deadline = Clock::now() + timeout;
    if (!w->ev.Wait(&deadline)) {
      Cancel(id);
      // The flush normally answers at once; a server that ignores it too is
      // not waited for longer than this.
      deadline = Clock::now() + std::clamp(timeout, std::chrono::milliseconds(200),
                                           std::chrono::milliseconds(1000));
      w->ev.Wait(&deadline);
      std::string why = "9P " + Str(MsgTypeName(Message{0, t}.type())) + " timed out after " +
                        std::to_string(timeout.count()) + " ms";
      std::lock_guard<std::mutex> lk(w->mu);
      if (!w->done) {
        w->abandoned = true;
        w->st = Status(ETIMEDOUT, why + " (and its flush was not answered)");
      } else if (w->st.err() == ECANCELED) {
        w->st = Status(ETIMEDOUT, why);
      }
    }
  }
  Status st;
  {
    std::lock_guard<std::mutex> lk(w->mu);  // uncontended: the reply is in
    st = std::move(w->st);
  }
  w->Unref();
  return st;
}

void Client::Impl::OnAsync() {
  std::vector<std::vector<uint8_t>> out;
  std::vector<Failure> fails;
  bool stop;
  {
    std::lock_guard<std::mutex> lk(wmu_);
    out.swap(outq_);  // backlog_ stays set until the Conn has drained them
  }
  {
    std::lock_guard<std::mutex> lk(mu_);
    fails.swap(failq_);
    stop = stopping_;
  }
  if (conn_) {
    for (auto& f : out) conn_->Send(std::move(f));
  }
  for (auto& f : fails) f.h(f.st, {}, nullptr);
  if (!stop) return;
  Die(Status(ECONNABORTED, "client shut down"));
  // Callbacks may make calls while failing; those fail too, here, since the
  // async handle is about to go.
  for (;;) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      fails.clear();
      fails.swap(failq_);
    }
    if (fails.empty()) break;
    for (auto& f : fails) f.h(f.st, {}, nullptr);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  if (expiry_.data != nullptr) uv_close(reinterpret_cast<uv_handle_t*>(&expiry_), nullptr);
}

void Client::Impl::ExpireCalls() {
  std::vector<Handler> expired;
  std::vector<std::vector<uint8_t>> flushes;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (dead_ || stopping_) return;
    auto now = Clock::now();
    for (size_t tag = 0; tag < slots_.size(); tag++) {
      Slot& s = slots_[tag];
      if (s.id == 0 || s.is_flush || s.flushing || !s.h || s.deadline > now) continue;
      std::vector<uint8_t> frame;
      if (!FlushLocked(static_cast<uint16_t>(tag), &frame)) break;
      // FlushLocked may have grown slots_: index again.
      expired.push_back(std::move(slots_[tag].h));
      flushes.push_back(std::move(frame));
    }
  }
  for (auto& f : flushes) Write(std::move(f));
  Status st(ETIMEDOUT, "9P call timed out after " + std::to_string(opts_.call_timeout.count()) +
                           " ms (flushed)");
  for (auto& h : expired) h(st, {}, nullptr);
}

void Client::Impl::Die(const Status& why) {
  {
    // No more direct writes: the fd is about to be closed (and its number
    // reused by whoever opens a file next).
    std::lock_guard<std::mutex> lk(wmu_);
    wfd_ = -1;
    backlog_ = true;
    outq_.clear();
  }
  std::vector<Handler> hs;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (dead_) return;
    dead_ = true;
    alive_.store(false);
    death_ = why;
    for (auto& s : slots_) {
      if (s.id != 0 && s.h) hs.push_back(std::move(s.h));
    }
    if (version_slot_.id != 0 && version_slot_.h) hs.push_back(std::move(version_slot_.h));
    slots_.clear();
    free_tags_.clear();
    version_slot_ = Slot{};
    in_use_ = 0;
    if (idle_waiters_ > 0) idle_.notify_all();
  }
  if (conn_) {
    conn_->Close();
    conn_.reset();
  }
  Status st(ECONNRESET, "9P connection lost: " + why.message());
  for (auto& h : hs) h(st, {}, nullptr);
}

void Client::Impl::OnFrame(std::span<const uint8_t> frame) {
  uint16_t tag = static_cast<uint16_t>(frame[5] | frame[6] << 8);
  Message m;
  Status ds = Decode(frame, dialect_, &m);
  if (opts_.trace) {
    if (ds.ok()) {
      Trace("<-", m);
    } else {
      fprintf(stderr, "<- bad frame (type %u tag %u): %s\n", frame[4], tag, ds.message().c_str());
    }
  }
  Handler h, cancelled;
  uint8_t ttype = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    Slot* s = SlotFor(tag);
    if (!s || s->id == 0) return;  // a stray reply: nothing waits for it
    if (s->is_flush) {
      uint16_t old = s->oldtag;
      Slot* o = SlotFor(old);
      if (o && o->id != 0) {
        cancelled = std::move(o->h);  // empty when the reply came first
        FreeTagLocked(old);
      }
      FreeTagLocked(tag);
    } else {
      ttype = s->ttype;
      h = std::move(s->h);
      // A flushed tag stays reserved until Rflush, even when answered.
      if (s->flushing) {
        s->answered = true;
      } else {
        FreeTagLocked(tag);
      }
    }
  }
  if (cancelled) cancelled(Status(ECANCELED, "9P call cancelled (flushed)"), {}, nullptr);
  if (!h) return;
  Status st;
  if (!ds.ok()) {
    st = Status(EPROTO, "bad reply to " + Str(MsgTypeName(ttype)) + ": " + ds.message());
  } else if (auto* re = std::get_if<Rerror>(&m.body)) {
    st = Status(TextToErrno(re->ename), Str(re->ename));
  } else if (auto* rl = std::get_if<Rlerror>(&m.body)) {
    st = Status(rl->ecode != 0 ? static_cast<int>(rl->ecode) : EIO, "");
  } else if (m.type() != ttype + 1) {
    st = Status(EPROTO, "unexpected " + Str(MsgTypeName(m.type())) + " in reply to " +
                            Str(MsgTypeName(ttype)));
  }
  cur_frame_ = frame;
  h(st, frame, st.ok() ? &m : nullptr);
  cur_frame_ = {};
}

Buffer Client::Impl::TakeFrame(std::span<const uint8_t> frame) {
  if (conn_ && OnLoopThread() && !frame.empty() && frame.data() == cur_frame_.data()) {
    cur_frame_ = {};
    return conn_->TakeFrame();
  }
  return Buffer::CopyOf(frame);
}

size_t Client::Impl::Outstanding() {
  std::lock_guard<std::mutex> lk(mu_);
  return in_use_;
}

Status Client::Impl::WaitIdle(std::chrono::milliseconds timeout) {
  if (OnLoopThread()) return Status(EDEADLK, "WaitIdle called on the client's own loop thread");
  std::unique_lock<std::mutex> lk(mu_);
  auto idle = [this] { return in_use_ == 0 || dead_; };
  idle_waiters_++;
  bool done = true;
  if (timeout.count() == 0) {
    idle_.wait(lk, idle);
  } else {
    done = idle_.wait_for(lk, timeout, idle);
  }
  idle_waiters_--;
  if (dead_) return Status(EPIPE, "9P connection is closed (" + death_.message() + ")");
  if (!done)
    return Status(ETIMEDOUT, std::to_string(in_use_) + " 9P requests still unanswered after " +
                                 std::to_string(timeout.count()) + " ms");
  return Status::Ok();
}

uint32_t Client::Impl::AllocFid() {
  std::lock_guard<std::mutex> lk(fid_mu_);
  if (!free_fids_.empty()) {
    uint32_t f = free_fids_.back();
    free_fids_.pop_back();
    return f;
  }
  if (next_fid_ == NOFID) next_fid_ = 1;
  return next_fid_++;
}

void Client::Impl::FreeFid(uint32_t fid) {
  if (fid == NOFID) return;
  std::lock_guard<std::mutex> lk(fid_mu_);
  free_fids_.push_back(fid);
}

// ---- Client ---------------------------------------------------------------

Client::Client(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  dialect_ = impl_->dialect();
  msize_ = impl_->msize();
}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Finish(std::unique_ptr<Impl> impl,
                                               Clock::time_point deadline) {
  std::chrono::milliseconds left{0};
  if (deadline != Clock::time_point::max()) {
    // At least 1 ms: 0 would mean "no bound".
    left = std::max(std::chrono::milliseconds(1),
                    std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()));
  }
  Status s = impl->Version(left);
  if (!s.ok()) return s;
  return std::unique_ptr<Client>(new Client(std::move(impl)));
}

static Status CheckOptions(const ClientOptions& opts) {
  if (opts.msize < MINMSIZE)
    return Status(EINVAL, "msize " + std::to_string(opts.msize) + " is below the minimum " +
                              std::to_string(MINMSIZE));
  if (opts.connect_timeout.count() < 0 || opts.call_timeout.count() < 0)
    return Status(EINVAL, "negative timeout");
  return Status::Ok();
}

// When Connect or FromFds must be done: connect_timeout from now.
static Clock::time_point ConnectDeadline(const ClientOptions& opts) {
  if (opts.connect_timeout.count() == 0) return Clock::time_point::max();
  return Clock::now() + opts.connect_timeout;
}

Result<std::unique_ptr<Client>> Client::Connect(std::string_view addr, const ClientOptions& opts) {
  auto a = ParseDial(addr);
  if (!a.ok()) return a.status();
  Status s = CheckOptions(opts);
  if (!s.ok()) return s;
  auto deadline = ConnectDeadline(opts);
  auto impl = std::make_unique<Impl>(opts);
  auto c = Dial(impl->loop(), *a, opts.connect_timeout, opts.tls);
  if (!c.ok()) return c.status();
  impl->Start(std::move(*c));
  return Finish(std::move(impl), deadline);
}

Result<std::unique_ptr<Client>> Client::FromFds(int rfd, int wfd, const ClientOptions& opts) {
  auto close_fds = [&] {
    close(rfd);
    if (wfd != rfd) close(wfd);
  };
  Status s = CheckOptions(opts);
  if (!s.ok()) {
    close_fds();
    return s;
  }
  auto deadline = ConnectDeadline(opts);
  auto impl = std::make_unique<Impl>(opts);
  auto c = ConnFromFds(impl->loop(), rfd, wfd);
  if (!c.ok()) {
    close_fds();
    return c.status();
  }
  impl->Start(std::move(*c));
  return Finish(std::move(impl), deadline);
}

Client::CallId Client::Call(const Body& t, Callback cb) {
  Dialect d = dialect_;
  Impl* impl = impl_.get();
  return impl_->Submit(t, [cb = std::move(cb), d, impl](const Status& e, std::span<const uint8_t> f,
                                                        const Message*) {
    if (!e.ok()) {
      cb(e);
      return;
    }
    Reply r;
    r.frame = impl->TakeFrame(f);
    Status ds = Decode(r.frame, d, &r.msg);
    if (!ds.ok()) {
      cb(ds);
      return;
    }
    cb(std::move(r));
  });
}

Result<Reply> Client::CallSync(const Body& t, std::chrono::milliseconds timeout) {
  Reply r;
  Dialect d = dialect_;
  Status st = impl_->SyncCall(
      t,
      [&](const Message&, std::span<const uint8_t> f) {
        r.frame = impl_->TakeFrame(f);
        return Decode(r.frame, d, &r.msg);
      },
      timeout);
  if (!st.ok()) return st;
  return r;
}

void Client::Cancel(CallId id) { impl_->Cancel(id); }

Result<Fid> Client::Attach(std::string_view uname, std::string_view aname, uint32_t n_uname) {
  uint32_t fid = impl_->AllocFid();
  Qid q;
  Status st = impl_->SyncCall(Tattach{fid, NOFID, uname, aname, n_uname},
                              [&](const Message& m, std::span<const uint8_t>) {
                                q = std::get<Rattach>(m.body).qid;
                                return Status::Ok();
                              });
  if (!st.ok()) {
    if (st.err() != ETIMEDOUT) impl_->FreeFid(fid);
    return Status(st.err(), "attach " + (aname.empty() ? std::string("/") : Str(aname)) + ": " +
                                st.message());
  }
  return Fid(this, fid, q, "/");
}

uint32_t Client::AllocFid() { return impl_->AllocFid(); }
void Client::FreeFid(uint32_t fid) { impl_->FreeFid(fid); }
Fid Client::Adopt(uint32_t fid, Qid qid) { return Fid(this, fid, qid); }
bool Client::alive() const { return impl_->alive(); }
size_t Client::Outstanding() const { return impl_->Outstanding(); }
Status Client::WaitIdle(std::chrono::milliseconds timeout) { return impl_->WaitIdle(timeout); }

}  // namespace ninep
