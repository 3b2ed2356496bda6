// streams.cc: command pipes with bounded buffers (see streams.h).
//
// Handles live on the heap and are freed in their close callbacks (libuv's
// rule); the stream objects point to them and they point back through
// `owner`, cleared when the stream goes first.
#include "cmdfs/streams.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "cmdfs/owned_handle.h"

namespace cmdfs {

namespace {

// One scratch buffer for every pipe read: data is copied out at once, so a
// stream holds at most its own bounded buffer.
char g_scratch[64 * 1024];

ninep::Status Interrupted() { return ninep::Status(EINTR, "interrupted"); }

// Opens fd as a new pipe handle of `owner` (either stream's Attach), in
// *out on success; on failure fd is closed and the handle freed.
template <class H>
ninep::Status OpenPipe(uv_loop_t* loop, int fd, decltype(H::owner) owner, H** out) {
  auto* h = new H;
  h->owner = owner;
  uv_pipe_init(loop, &h->pipe, 0);
  h->pipe.data = h;
  if (int e = uv_pipe_open(&h->pipe, fd); e < 0) {
    ReleaseHandle(h, &H::pipe);
    close(fd);
    return ninep::Status(-e, std::string("pipe: ") + uv_strerror(e));
  }
  *out = h;
  return ninep::Status::Ok();
}

}  // namespace

// ---- ReadQueue -------------------------------------------------------------

void ReadQueue::Add(ninep::ReadReq r) {
  uint64_t id = next_id_++;
  q_.emplace_back(id, std::move(r));
  std::weak_ptr<ReadQueue> weak = weak_from_this();
  // May run at once (already flushed): the entry is in place by then.
  q_.back().second.OnFlush([weak, id] {
    auto self = weak.lock();
    if (!self) return;
    for (auto it = self->q_.begin(); it != self->q_.end(); ++it) {
      if (it->first == id) {
        ninep::ReadReq r = std::move(it->second);
        self->q_.erase(it);
        r.Fail(Interrupted());
        return;
      }
    }
  });
}

ninep::ReadReq ReadQueue::Pop() {
  ninep::ReadReq r = std::move(q_.front().second);
  q_.pop_front();
  return r;
}

void ReadQueue::AnswerAllEof() {
  while (!q_.empty()) Pop().Respond(0);
}

// ---- OutStream -------------------------------------------------------------

struct OutStream::Handle {
  uv_pipe_t pipe;
  OutStream* owner;
};

OutStream::OutStream(uv_loop_t* loop, size_t cap) : loop_(loop), cap_(cap) {}

OutStream::~OutStream() {
  readers_->AnswerAllEof();
  ReleaseHandle(pipe_, &Handle::pipe);
}

ninep::Status OutStream::Attach(int fd) {
  ninep::Status s = OpenPipe(loop_, fd, this, &pipe_);
  if (s.ok()) StartReading();
  return s;
}

void OutStream::StartReading() {
  if (!pipe_ || reading_ || eof_ || buffered() >= cap_) return;
  reading_ = true;
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&pipe_->pipe),
      [](uv_handle_t* h, size_t, uv_buf_t* b) {
        auto* hd = static_cast<Handle*>(h->data);
        size_t room = sizeof g_scratch;
        if (hd->owner)
          room = std::min(room, hd->owner->cap_ - std::min(hd->owner->cap_, hd->owner->buffered()));
        *b = uv_buf_init(g_scratch, static_cast<unsigned>(room));
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t*) {
        auto* hd = static_cast<Handle*>(s->data);
        if (!hd->owner) return;
        if (n > 0) {
          hd->owner->OnData(g_scratch, static_cast<size_t>(n));
        } else if (n == UV_ENOBUFS) {
          hd->owner->StopReading();
        } else if (n < 0) {
          hd->owner->OnEnd();  // EOF, or an error that ends the stream just the same
        }
      });
}

void OutStream::StopReading() {
  if (!pipe_ || !reading_) return;
  reading_ = false;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&pipe_->pipe));
}

void OutStream::OnData(const char* p, size_t n) {
  // Waiting readers first, straight from the pipe.
  while (n > 0 && !readers_->empty()) {
    ninep::ReadReq r = readers_->Pop();
    size_t k = std::min(n, r.buf.size());
    memcpy(r.buf.data(), p, k);
    r.Respond(static_cast<uint32_t>(k));
    p += k;
    n -= k;
  }
  if (n > 0) {
    if (head_ > 0 && head_ >= buf_.size() / 2) {
      buf_.erase(0, head_);
      head_ = 0;
    }
    buf_.append(p, n);
  }
  if (buffered() >= cap_) StopReading();
}

void OutStream::OnEnd() {
  eof_ = true;
  reading_ = false;
  ReleaseHandle(pipe_, &Handle::pipe);
  if (buffered() == 0) readers_->AnswerAllEof();
}

size_t OutStream::Take(uint8_t* dst, size_t n) {
  size_t k = std::min(n, buffered());
  memcpy(dst, buf_.data() + head_, k);
  head_ += k;
  if (head_ == buf_.size()) {
    buf_.clear();
    head_ = 0;
    // Give back the memory of a burst once it is read.
    if (buf_.capacity() > cap_) buf_.shrink_to_fit();
  }
  return k;
}

void OutStream::Read(ninep::ReadReq r) {
  if (buffered() > 0) {
    size_t k = Take(r.buf.data(), r.buf.size());
    r.Respond(static_cast<uint32_t>(k));
    StartReading();
    return;
  }
  if (eof_) return r.Respond(0);
  readers_->Add(std::move(r));
  StartReading();
}

void OutStream::Finish() {
  if (!eof_) OnEnd();
  if (buffered() == 0) readers_->AnswerAllEof();
}

// ---- InStream --------------------------------------------------------------

struct InStream::Handle {
  uv_pipe_t pipe;
  InStream* owner;
};

struct InStream::Entry {
  uint64_t id = 0;
  std::optional<ninep::WriteReq> r;  // empty once answered (flushed)
  std::string data;
  uint32_t count = 0;
};

struct InStream::Shared {
  std::list<std::unique_ptr<Entry>> q;  // waiting for the pipe
  std::unique_ptr<Entry> inflight;      // handed to uv_write; its data stays here
  ninep::Status broken;                 // why writes fail from now on
};

namespace {
// The uv_write in flight; freed in its callback.
struct WriteOp {
  uv_write_t w;
  void* handle;  // InStream::Handle*, valid through this callback
  std::shared_ptr<void> sh;
};
}  // namespace

InStream::InStream(uv_loop_t* loop) : loop_(loop), sh_(std::make_shared<Shared>()) {}

InStream::~InStream() { Abort(ninep::Status(EPIPE, "command directory closed")); }

ninep::Status InStream::Attach(int fd) {
  ninep::Status s = OpenPipe(loop_, fd, this, &pipe_);
  if (!s.ok()) return s;
  attached_ = true;
  Pump();
  return s;
}

void InStream::Write(ninep::WriteReq r) {
  if (!sh_->broken.ok()) return r.Fail(sh_->broken);
  if (closing_) return r.Fail(ninep::Status(EPIPE, "command's stdin is closed"));
  auto e = std::make_unique<Entry>();
  e->id = next_id_++;
  e->data.assign(reinterpret_cast<const char*>(r.data.data()), r.data.size());
  e->count = static_cast<uint32_t>(r.data.size());
  e->r.emplace(std::move(r));
  uint64_t id = e->id;
  sh_->q.push_back(std::move(e));
  std::weak_ptr<Shared> weak = sh_;
  sh_->q.back()->r->OnFlush([weak, id] {
    auto sh = weak.lock();
    if (!sh) return;
    if (sh->inflight && sh->inflight->id == id) {
      // The pipe has the bytes: answer now, let the write finish.
      if (sh->inflight->r) {
        auto r = std::move(*sh->inflight->r);
        sh->inflight->r.reset();
        r.Fail(Interrupted());
      }
      return;
    }
    for (auto it = sh->q.begin(); it != sh->q.end(); ++it) {
      if ((*it)->id != id) continue;
      auto r = std::move(*(*it)->r);
      sh->q.erase(it);
      r.Fail(Interrupted());
      return;
    }
  });
  Pump();
}

void InStream::Pump() {
  while (attached_ && pipe_ && !sh_->inflight && !sh_->q.empty()) {
    std::unique_ptr<Entry> e = std::move(sh_->q.front());
    sh_->q.pop_front();
    if (e->data.empty()) {
      // A zero-length write carries nothing to the pipe (EOF is by close).
      if (e->r) e->r->Respond(0);
      continue;
    }
    Entry* raw = e.get();
    sh_->inflight = std::move(e);
    auto* op = new WriteOp;
    op->handle = pipe_;
    op->sh = sh_;
    uv_buf_t b = uv_buf_init(raw->data.data(), static_cast<unsigned>(raw->data.size()));
    int rc = uv_write(
        &op->w, reinterpret_cast<uv_stream_t*>(&pipe_->pipe), &b, 1, [](uv_write_t* w, int status) {
          auto* op = reinterpret_cast<WriteOp*>(w);
          auto sh = std::static_pointer_cast<Shared>(std::move(op->sh));
          auto* h = static_cast<Handle*>(op->handle);
          delete op;
          std::unique_ptr<Entry> e = std::move(sh->inflight);
          if (status < 0) {
            ninep::Status s =
                !sh->broken.ok() ? sh->broken
                : status == UV_EPIPE
                    ? ninep::Status(EPIPE, "write to command: broken pipe")
                    : ninep::Status(EPIPE, std::string("write to command: ") + uv_strerror(status));
            if (e && e->r) e->r->Fail(s);
            if (h->owner) h->owner->Abort(s);
            return;
          }
          if (e && e->r) e->r->Respond(e->count);
          if (h->owner) h->owner->Pump();
        });
    if (rc < 0) {
      op->sh.reset();
      delete op;
      std::unique_ptr<Entry> failed = std::move(sh_->inflight);
      ninep::Status s(EPIPE, std::string("write to command: ") + uv_strerror(rc));
      if (failed->r) failed->r->Fail(s);
      Abort(s);
      return;
    }
  }
  if (attached_ && closing_ && !sh_->inflight && sh_->q.empty()) ClosePipe();
}

void InStream::CloseWhenDrained() {
  closing_ = true;
  Pump();
}

void InStream::Abort(const ninep::Status& s) {
  closing_ = true;
  if (sh_->broken.ok()) sh_->broken = s;
  while (!sh_->q.empty()) {
    std::unique_ptr<Entry> e = std::move(sh_->q.front());
    sh_->q.pop_front();
    if (e->r) e->r->Fail(s);
  }
  // A write in the pipe's hands is answered by its callback: success if its
  // bytes went in before the close, else ECANCELED, reported as `s`.
  ClosePipe();
}

void InStream::ClosePipe() { ReleaseHandle(pipe_, &Handle::pipe); }

}  // namespace cmdfs
