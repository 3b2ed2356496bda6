// io.cc: the data verbs of bin/9p: read, readfd, write, writefd, rdwr.
//
// `read` and `write` stream files of any size in constant memory and keep
// several requests in flight, because one Tread at a time leaves the link
// idle for a round trip per chunk. `readfd`, `writefd` and `rdwr` do one
// request per step, which is what pipe-like and ctl files need.
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <variant>

#include "cmd.h"

namespace ninep::cmd {
namespace {

// Bytes of requests kept in flight by read and write: enough to cover the
// round trip at loopback speeds, small enough that memory stays bounded.
constexpr size_t kInFlightBytes = 8u << 20;

// Calls whose replies are taken in the order the calls were sent, whatever
// order the server answers in. Replies land on the client's loop thread and
// wait here for the main thread.
class InOrder {
 public:
  explicit InOrder(Client* c) : client_(c), st_(std::make_shared<State>()) {}
  InOrder(const InOrder&) = delete;
  InOrder& operator=(const InOrder&) = delete;
  // Waits for every outstanding reply so no request outlives its fid.
  ~InOrder() { Drain(); }

  // Sends t; its reply is taken by a later Take().
  void Send(const Body& t) {
    uint64_t seq = sent_++;
    std::shared_ptr<State> st = st_;
    client_->Call(t, [st, seq](Result<Reply> r) {
      std::lock_guard<std::mutex> l(st->mu);
      st->done.emplace(seq, std::move(r));
      st->cv.notify_all();
    });
  }
  // Calls sent whose replies were not yet taken.
  size_t outstanding() const { return sent_ - taken_; }
  // The reply to the oldest call not yet taken. REQUIRES outstanding() > 0.
  Result<Reply> Take() {
    std::unique_lock<std::mutex> l(st_->mu);
    st_->cv.wait(l, [&] { return st_->done.count(taken_) != 0; });
    auto it = st_->done.find(taken_);
    Result<Reply> r = std::move(it->second);
    st_->done.erase(it);
    taken_++;
    return r;
  }
  // Takes and drops every outstanding reply: its caller has already
  // decided the outcome (an error seen, or the end reached), so the
  // replies only need to be in before the fid goes.
  void Drain() {
    while (outstanding() > 0) Take().IgnoreError();
  }

 private:
  // Shared with the callbacks, which may outlive a Take-less InOrder only
  // while Drain waits for them.
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::map<uint64_t, Result<Reply>> done;
  };
  Client* client_;
  std::shared_ptr<State> st_;
  uint64_t sent_ = 0, taken_ = 0;
};

// The largest read or write payload for an open fid.
uint32_t ChunkFor(const Fid& f) {
  uint32_t chunk = f.client()->MaxIO();
  if (f.iounit() != 0 && f.iounit() < chunk) chunk = f.iounit();
  return chunk;
}

size_t WindowFor(uint32_t chunk) {
  return std::clamp<size_t>(kInFlightBytes / std::max<uint32_t>(chunk, 1), 2, 32);
}

// Reports a failed write to stdout; a closed pipe (`9p read f | head`) is
// the reader's choice and ends quietly.
int StdoutFailed() {
  if (errno == EPIPE) return kFail;
  return Fail("stdout", strerror(errno));
}

// Fills buf from fd until it is full or fd reaches EOF; *eof tells which.
Result<size_t> Fill(int fd, std::span<uint8_t> buf, bool* eof) {
  size_t got = 0;
  *eof = false;
  while (got < buf.size()) {
    ssize_t n = read(fd, buf.data() + got, buf.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(errno, "read stdin");
    }
    if (n == 0) {
      *eof = true;
      break;
    }
    got += static_cast<size_t>(n);
  }
  return got;
}

// Reads one line from fd (without its newline) byte by byte, so nothing
// past the line is consumed; false at EOF with nothing read.
bool ReadLine(int fd, std::string* line) {
  line->clear();
  for (;;) {
    char ch;
    ssize_t n = read(fd, &ch, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return !line->empty();
    if (ch == '\n') return true;
    line->push_back(ch);
  }
}

// Reads fid f to stdout one Tread at a time, each reply written as it
// arrives, until an empty reply.
int ReadSerial(Fid& f, std::string_view path) {
  std::vector<uint8_t> buf(ChunkFor(f));
  uint64_t off = 0;
  for (;;) {
    auto n = f.ReadOnce(off, buf);
    if (!n.ok()) return Fail(path, n.status());
    if (*n == 0) return kOk;
    if (!WriteAll(1, buf.data(), *n)) return StdoutFailed();
    off += *n;
  }
}

// True when reads of the file may be sent ahead: an ordinary file with a
// length. Synthetic and pipe-like files (length 0, append-only, exclusive)
// may ignore offsets and answer in their own time, so reads sent ahead
// would take the stream's bytes out of order or drop them.
bool Seekable(Fid& f) {
  if (f.qid().type & (QTDIR | QTAPPEND | QTEXCL)) return false;
  auto d = f.Stat();
  return d.ok() && d->length > 0 && !(d->mode & (DMAPPEND | DMEXCL));
}

}  // namespace

int ReadStream(Ctx& c, std::string_view path) {
  auto f = OpenPath(c, path, OREAD);
  if (!f.ok()) return Fail(path, f.status());
  if (!Seekable(*f)) return ReadSerial(*f, path);
  const uint32_t chunk = ChunkFor(*f);
  const size_t window = WindowFor(chunk);
  InOrder q(c.client);
  std::deque<std::pair<uint64_t, uint32_t>> asked;  // offset, count per call
  uint64_t next = 0;
  for (;;) {
    while (q.outstanding() < window) {
      Tread t;
      t.fid = f->num();
      t.offset = next;
      t.count = chunk;
      q.Send(t);
      asked.emplace_back(next, chunk);
      next += chunk;
    }
    Result<Reply> r = q.Take();
    auto [off, count] = asked.front();
    asked.pop_front();
    if (!r.ok()) return Fail(path, r.status());
    const Rread* rr = std::get_if<Rread>(&r->msg.body);
    if (rr == nullptr || rr->data.size() > count) return Fail(path, "bad Rread from server");
    size_t n = rr->data.size();
    if (n == 0) return kOk;
    if (!WriteAll(1, rr->data.data(), n)) return StdoutFailed();
    if (n < count) {
      // A short read leaves a hole before the reads already in flight (a
      // file's end, or a server that answers less): drop those and go on
      // from the first byte not yet seen.
      q.Drain();
      asked.clear();
      next = off + n;
    }
  }
}

Status WritePipelined(Fid& f, uint64_t offset, int in_fd, bool serial, uint64_t* written) {
  const uint32_t chunk = ChunkFor(f);
  const size_t window = serial ? 1 : WindowFor(chunk);
  std::vector<uint8_t> buf(chunk);
  InOrder q(f.client());
  std::deque<uint32_t> asked;
  auto take = [&]() -> Status {
    Result<Reply> r = q.Take();
    uint32_t want = asked.front();
    asked.pop_front();
    if (!r.ok()) return r.status();
    const Rwrite* rw = std::get_if<Rwrite>(&r->msg.body);
    if (rw == nullptr) return Status(EPROTO, "bad Rwrite from server");
    if (rw->count != want) return Status(EIO, "short write");
    *written += want;
    return Status();
  };
  bool eof = false;
  while (!eof) {
    auto n = Fill(in_fd, buf, &eof);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    while (q.outstanding() >= window) {
      Status s = take();
      if (!s.ok()) return s;
    }
    Twrite t;
    t.fid = f.num();
    t.offset = offset;
    t.data = std::span<const uint8_t>(buf.data(), *n);
    q.Send(t);  // encodes now, so buf is free again on return
    asked.push_back(static_cast<uint32_t>(*n));
    offset += *n;
  }
  while (q.outstanding() > 0) {
    Status s = take();
    if (!s.ok()) return s;
  }
  return Status();
}

int VerbRead(Ctx& c, const std::vector<std::string>& args) {
  Opts o(args, "");
  if (!o.ok() || o.rest().size() != 1) return Usage("read path");
  if (c.client == nullptr) return kOk;  // main checking the line
  return ReadStream(c, o.rest()[0]);
}

int VerbReadfd(Ctx& c, const std::vector<std::string>& args) {
  Opts o(args, "");
  if (!o.ok() || o.rest().size() != 1) return Usage("readfd path");
  if (c.client == nullptr) return kOk;  // main checking the line
  const std::string& path = o.rest()[0];
  auto f = OpenPath(c, path, OREAD);
  if (!f.ok()) return Fail(path, f.status());
  return ReadSerial(*f, path);
}

int VerbWrite(Ctx& c, const std::vector<std::string>& args) {
  Opts o(args, "a");
  if (!o.ok() || o.rest().size() != 1) return Usage("write [-a] path");
  if (c.client == nullptr) return kOk;  // main checking the line
  const std::string& path = o.rest()[0];
  const bool append = o.Has('a');
  auto f = WalkTo(c, path);
  bool created = false;
  std::string parent, name;
  if (!f.ok() && f.status().err() == ENOENT && SplitPath(path, &parent, &name)) {
    // A missing file is created, as the shell's > does, when its
    // directory exists; Create leaves the directory's fid open on it.
    auto dir = WalkTo(c, parent);
    if (dir.ok()) {
      Status s = dir->Create(name, 0666, OWRITE);
      if (!s.ok()) return Fail(path, s);
      f = Result<Fid>(std::move(*dir));
      created = true;
    }
  }
  if (!f.ok()) return Fail(path, f.status());
  uint64_t offset = 0;
  bool serial = false;
  if (append && !created) {
    auto d = f->Stat();
    if (!d.ok()) return Fail(path, d.status());
    offset = d->length;
    serial = (d->mode & DMAPPEND) != 0 || (d->qid.type & QTAPPEND) != 0;
  }
  if (!created) {
    Status s = f->Open(append ? OWRITE : (OWRITE | OTRUNC));
    if (!s.ok()) return Fail(path, s);
  }
  uint64_t written = 0;
  Status s = WritePipelined(*f, offset, 0, serial, &written);
  if (!s.ok()) return Fail(path, s);
  return kOk;
}

int VerbWritefd(Ctx& c, const std::vector<std::string>& args) {
  Opts o(args, "");
  if (!o.ok() || o.rest().size() != 1) return Usage("writefd path");
  if (c.client == nullptr) return kOk;  // main checking the line
  const std::string& path = o.rest()[0];
  auto f = OpenPath(c, path, OWRITE);
  if (!f.ok()) return Fail(path, f.status());
  std::vector<uint8_t> buf(ChunkFor(*f));
  uint64_t off = 0;
  for (;;) {
    ssize_t n = read(0, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail("stdin", strerror(errno));
    if (n == 0) return kOk;
    auto w = f->Write(off, std::span<const uint8_t>(buf.data(), static_cast<size_t>(n)));
    if (!w.ok()) return Fail(path, w.status());
    off += static_cast<uint64_t>(n);
  }
}

int VerbRdwr(Ctx& c, const std::vector<std::string>& args) {
  Opts o(args, "");
  if (!o.ok() || o.rest().size() != 1) return Usage("rdwr path");
  if (c.client == nullptr) return kOk;  // main checking the line
  const std::string& path = o.rest()[0];
  auto f = OpenPath(c, path, ORDWR);
  if (!f.ok()) return Fail(path, f.status());
  std::vector<uint8_t> buf(ChunkFor(*f));
  int rc = kOk;
  std::string line;
  // Each exchange is at offset 0: ctl files ignore offsets, and an ordinary
  // file then echoes back what was just written.
  while (ReadLine(0, &line)) {
    auto w = f->Write(
        0, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(line.data()), line.size()));
    if (!w.ok()) {
      rc = Fail(path, w.status());
      continue;
    }
    auto n = f->ReadOnce(0, buf);
    if (!n.ok()) {
      rc = Fail(path, n.status());
      continue;
    }
    if (!WriteAll(1, buf.data(), *n)) return StdoutFailed();
    if (*n == 0 || buf[*n - 1] != '\n') {
      if (!WriteAll(1, "\n", 1)) return StdoutFailed();
    }
  }
  return rc;
}

}  // namespace ninep::cmd
