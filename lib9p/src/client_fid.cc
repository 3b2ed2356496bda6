// client_fid.cc: Fid, the blocking facade over Client::Impl.
//
// Large reads and writes are cut at the I/O unit and pipelined: up to
// kWindow requests stay outstanding, and each reply (on the loop thread)
// copies its data straight into the caller's buffer and sends the next
// request itself, so a transfer costs one wake-up of the caller, not one
// per chunk.
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "client_impl.h"
#include "ninep/client.h"
#include "ninep/dir.h"

namespace ninep {
namespace {

constexpr int kWindow = 8;
// Linux open(2) flags as 9P2000.L numbers them (x86-64).
constexpr uint32_t kLRdonly = 0, kLCreate = 0100, kLExcl = 0200;

using Impl = Client::Impl;

Status Invalid(const char* op) {
  return Status(EBADF, std::string(op) + ": fid is not valid (clunked, removed or moved from)");
}

// Path elements; empty ones and "." are dropped ("a//./b" walks a, b).
std::vector<std::string_view> SplitPath(std::string_view p) {
  std::vector<std::string_view> out;
  while (!p.empty()) {
    size_t s = p.find('/');
    std::string_view e = p.substr(0, s);
    if (!e.empty() && e != ".") out.push_back(e);
    if (s == std::string_view::npos) break;
    p.remove_prefix(s + 1);
  }
  return out;
}

Status WithPath(std::string_view path, const Status& s) {
  return Status(s.err(),
                (path.empty() ? std::string(".") : std::string(path)) + ": " + s.message());
}

// Qid and iounit from any of the open/create replies.
Status OpenReply(const Message& m, Qid* q, uint32_t* iounit) {
  if (auto* r = std::get_if<Ropen>(&m.body)) {
    *q = r->qid, *iounit = r->iounit;
  } else if (auto* r = std::get_if<Rlopen>(&m.body)) {
    *q = r->qid, *iounit = r->iounit;
  } else if (auto* r = std::get_if<Rcreate>(&m.body)) {
    *q = r->qid, *iounit = r->iounit;
  } else if (auto* r = std::get_if<Rlcreate>(&m.body)) {
    *q = r->qid, *iounit = r->iounit;
  }
  return Status::Ok();
}

// One pipelined run of Treads or Twrites over [offset, offset+len). Shared
// by the waiting caller and the reply handlers (refs). The caller waits for
// every request's outcome, so the handlers may write into its buffer.
struct IoJob {
  Impl* impl = nullptr;
  uint32_t fid = 0;
  uint64_t offset = 0;
  uint8_t* rbuf = nullptr;        // reading into
  const uint8_t* wbuf = nullptr;  // writing from
  size_t len = 0;
  uint32_t chunk = 0;
  size_t nchunks = 0;
  int window = kWindow;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint32_t> got;      // bytes per chunk
  std::vector<uint8_t> finished;  // 1 when the chunk's reply came
  size_t next = 0;
  int outstanding = 0;
  bool stop = false;
  Status err;
  size_t err_chunk = SIZE_MAX;
  std::atomic<int> refs{1};

  void Unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  uint32_t ChunkLen(size_t i) const {
    return static_cast<uint32_t>(std::min<size_t>(chunk, len - i * chunk));
  }
  bool Done() const { return outstanding == 0 && (stop || next == nchunks); }

  // Sends requests until `window` are outstanding. REQUIRES: mu held.
  void IssueLocked() {
    while (!stop && outstanding < window && next < nchunks) {
      size_t i = next++;
      uint64_t off = offset + i * chunk;
      uint32_t n = ChunkLen(i);
      Body b;
      if (rbuf) {
        b = Tread{fid, off, n};
      } else {
        b = Twrite{fid, off, std::span<const uint8_t>(wbuf + i * chunk, n)};
      }
      refs.fetch_add(1, std::memory_order_relaxed);
      outstanding++;
      impl->Submit(b, [this, i](const Status& e, std::span<const uint8_t>, const Message* m) {
        OnReply(i, e, m);
      });
    }
  }

  void OnReply(size_t i, const Status& e, const Message* m) {
    bool done;
    {
      std::lock_guard<std::mutex> lk(mu);
      outstanding--;
      if (!e.ok()) {
        if (i < err_chunk) err = e, err_chunk = i;
        stop = true;
      } else {
        uint32_t want = ChunkLen(i), n;
        if (rbuf) {
          auto& d = std::get<Rread>(m->body).data;
          n = static_cast<uint32_t>(std::min<size_t>(d.size(), want));
          memcpy(rbuf + i * chunk, d.data(), n);
        } else {
          n = std::min(std::get<Rwrite>(m->body).count, want);
        }
        got[i] = n;
        finished[i] = 1;
        if (n < want) stop = true;  // EOF or a short write: the run ends here
      }
      IssueLocked();
      done = Done();
    }
    if (done) cv.notify_all();
    Unref();
  }

  // Bytes of the contiguous prefix; an error only when it is empty.
  Result<size_t> Outcome() const {
    size_t total = 0;
    for (size_t i = 0; i < nchunks; i++) {
      if (!finished[i]) {
        if (total == 0 && err_chunk == i) return err;
        break;
      }
      total += got[i];
      if (got[i] < ChunkLen(i)) break;
    }
    return total;
  }
};

}  // namespace

// ---- lifetime ---------------------------------------------------------------

Fid::Fid(Fid&& o) noexcept
    : client_(o.client_),
      num_(o.num_),
      qid_(o.qid_),
      iounit_(o.iounit_),
      name_(std::move(o.name_)) {
  o.client_ = nullptr;
  o.num_ = NOFID;
}

Fid& Fid::operator=(Fid&& o) noexcept {
  if (this != &o) {
    Release();
    client_ = o.client_;
    num_ = o.num_;
    qid_ = o.qid_;
    iounit_ = o.iounit_;
    name_ = std::move(o.name_);
    o.client_ = nullptr;
    o.num_ = NOFID;
  }
  return *this;
}

Fid::~Fid() { Release(); }

void Fid::Release() {
  if (!client_) return;
  Impl* impl = client_->impl_.get();
  uint32_t num = num_;
  client_ = nullptr;
  num_ = NOFID;
  // The number is reused only once the server has let go of it.
  impl->Submit(Tclunk{num}, [impl, num](const Status&, std::span<const uint8_t>, const Message*) {
    impl->FreeFid(num);
  });
}

// ---- walking and opening ----------------------------------------------------

Result<Fid> Fid::Walk(std::string_view path) const {
  if (!client_) return Invalid("walk");
  Impl* impl = client_->impl_.get();
  std::vector<std::string_view> names = SplitPath(path);
  uint32_t nf = impl->AllocFid();
  Qid q = qid_;
  size_t i = 0;
  bool created = false;
  do {
    Twalk tw;
    tw.fid = created ? nf : num_;
    tw.newfid = nf;
    size_t n = std::min<size_t>(names.size() - i, MAXWELEM);
    for (size_t k = 0; k < n; k++) tw.wname.push_back(names[i + k]);
    size_t nq = 0;
    Qid last;
    Status st = impl->SyncCall(tw, [&](const Message& m, std::span<const uint8_t>) {
      auto& r = std::get<Rwalk>(m.body);
      nq = r.wqid.size();
      if (nq > 0) last = r.wqid[nq - 1];
      return Status::Ok();
    });
    if (st.ok() && nq > n) st = Status(EPROTO, "Rwalk has more qids than Twalk had names");
    if (st.ok() && nq < n) {
      st = Status(ENOENT, std::string(path) + ": file does not exist");
    } else if (!st.ok()) {
      st = WithPath(path, st);
    }
    if (!st.ok()) {
      if (created) {
        Fid(client_, nf, q).Release();
      } else if (st.err() != ETIMEDOUT) {
        impl->FreeFid(nf);  // after a timeout the server may hold it: leak it
      }
      return st;
    }
    created = true;
    i += n;
    if (n > 0) q = last;
  } while (i < names.size());
  return Fid(client_, nf, q, names.empty() ? name_ : std::string(names.back()));
}

Status Fid::Open(uint8_t omode) {
  if (!client_) return Invalid("open");
  if (client_->dialect() == Dialect::k9P2000L) return OpenFlags(LinuxFlagsFromOmode(omode));
  Impl* impl = client_->impl_.get();
  return impl->SyncCall(Topen{num_, omode}, [&](const Message& m, std::span<const uint8_t>) {
    return OpenReply(m, &qid_, &iounit_);
  });
}

Status Fid::OpenFlags(uint32_t lflags) {
  if (!client_) return Invalid("open");
  if (client_->dialect() != Dialect::k9P2000L) return Open(OmodeFromLinuxFlags(lflags));
  Impl* impl = client_->impl_.get();
  return impl->SyncCall(Tlopen{num_, lflags}, [&](const Message& m, std::span<const uint8_t>) {
    return OpenReply(m, &qid_, &iounit_);
  });
}

Status Fid::Create(std::string_view name, uint32_t perm, uint8_t omode) {
  if (!client_) return Invalid("create");
  Impl* impl = client_->impl_.get();
  auto open_reply = [&](const Message& m, std::span<const uint8_t>) {
    return OpenReply(m, &qid_, &iounit_);
  };
  Status st;
  if (client_->dialect() != Dialect::k9P2000L) {
    st = impl->SyncCall(Tcreate{num_, name, perm, omode}, open_reply);
  } else if (perm & DMDIR) {
    // 9P2000.L has no open-creating mkdir: make it, step in, open it.
    st = impl->SyncCall(Tmkdir{num_, name, perm & 0777, static_cast<uint32_t>(getegid())}, {});
    Twalk tw;
    tw.fid = tw.newfid = num_;
    tw.wname.push_back(name);
    if (st.ok()) {
      st = impl->SyncCall(tw, [&](const Message& m, std::span<const uint8_t>) {
        auto& r = std::get<Rwalk>(m.body);
        if (r.wqid.size() != 1) return Status(ENOENT, "directory vanished after mkdir");
        qid_ = r.wqid[0];
        return Status::Ok();
      });
    }
    if (st.ok()) st = impl->SyncCall(Tlopen{num_, kLRdonly}, open_reply);
  } else {
    // O_EXCL: 9P2000 create rejects an existing name; keep that in .L.
    uint32_t flags = LinuxFlagsFromOmode(omode) | kLCreate | kLExcl;
    st = impl->SyncCall(Tlcreate{num_, name, flags, perm & 0777, static_cast<uint32_t>(getegid())},
                        open_reply);
  }
  if (!st.ok()) return WithPath(name, st);
  name_ = std::string(name);
  return st;
}

// ---- reading and writing ----------------------------------------------------

Result<size_t> Fid::Transfer(uint64_t offset, uint8_t* rbuf, const uint8_t* wbuf, size_t len) {
  Impl* impl = client_->impl_.get();
  uint32_t maxio = impl->msize() - IOHDRSZ;
  uint32_t chunk = (iounit_ != 0 && iounit_ < maxio) ? iounit_ : maxio;
  auto* job = new IoJob;
  job->impl = impl;
  job->fid = num_;
  job->offset = offset;
  job->rbuf = rbuf;
  job->wbuf = wbuf;
  job->len = len;
  job->chunk = chunk;
  job->nchunks = (len + chunk - 1) / chunk;
  // Appends land at the end whatever the offset: keep their order.
  if (wbuf && (qid_.type & QTAPPEND)) job->window = 1;
  job->got.assign(job->nchunks, 0);
  job->finished.assign(job->nchunks, 0);
  std::unique_lock<std::mutex> lk(job->mu);
  job->IssueLocked();
  // No timed wait here: with call_timeout set, the client fails each
  // request left unanswered that long (flushing it), so the run ends; a
  // late reply then finds no handler and never touches buf.
  job->cv.wait(lk, [job] { return job->Done(); });
  Result<size_t> r = job->Outcome();
  lk.unlock();
  job->Unref();
  return r;
}

Result<size_t> Fid::Read(uint64_t offset, std::span<uint8_t> buf) {
  if (!client_) return Invalid("read");
  size_t total = 0;
  while (total < buf.size()) {
    auto r = Transfer(offset + total, buf.data() + total, nullptr, buf.size() - total);
    if (!r.ok()) {
      if (total > 0) break;  // like read(2): report what arrived
      return r;
    }
    if (*r == 0) break;  // EOF
    total += *r;
  }
  return total;
}

Result<size_t> Fid::ReadOnce(uint64_t offset, std::span<uint8_t> buf) {
  if (!client_) return Invalid("read");
  Impl* impl = client_->impl_.get();
  uint32_t maxio = impl->msize() - IOHDRSZ;
  uint32_t chunk = (iounit_ != 0 && iounit_ < maxio) ? iounit_ : maxio;
  uint32_t n = static_cast<uint32_t>(std::min<size_t>(buf.size(), chunk));
  size_t got = 0;
  Status st =
      impl->SyncCall(Tread{num_, offset, n}, [&](const Message& m, std::span<const uint8_t>) {
        auto& d = std::get<Rread>(m.body).data;
        got = std::min<size_t>(d.size(), n);
        if (got > 0) memcpy(buf.data(), d.data(), got);  // an empty buf's data() may be null
        return Status::Ok();
      });
  if (!st.ok()) return st;
  return got;
}

Result<size_t> Fid::Write(uint64_t offset, std::span<const uint8_t> data) {
  if (!client_) return Invalid("write");
  size_t total = 0;
  while (total < data.size()) {
    auto r = Transfer(offset + total, nullptr, data.data() + total, data.size() - total);
    if (!r.ok()) return r;
    if (*r == 0)
      return Status(EIO,
                    "write: server accepted 0 bytes at offset " + std::to_string(offset + total));
    total += *r;
  }
  return total;
}

// ---- directories and attributes ---------------------------------------------

Result<std::vector<Dir>> Fid::ReadDir() {
  if (!client_) return Invalid("readdir");
  Impl* impl = client_->impl_.get();
  uint32_t maxio = impl->msize() - IOHDRSZ;
  uint32_t chunk = (iounit_ != 0 && iounit_ < maxio) ? iounit_ : maxio;
  bool dotl = client_->dialect() == Dialect::k9P2000L;
  std::vector<Dir> out;
  std::vector<uint8_t> data;
  auto copy = [&](const Message& m, std::span<const uint8_t>) {
    auto d = dotl ? std::get<Rreaddir>(m.body).data : std::get<Rread>(m.body).data;
    data.assign(d.begin(), d.end());
    return Status::Ok();
  };
  uint64_t off = 0;
  for (;;) {
    data.clear();
    Status st = dotl ? impl->SyncCall(Treaddir{num_, off, chunk}, copy)
                     : impl->SyncCall(Tread{num_, off, chunk}, copy);
    if (!st.ok()) return WithPath(name_, st);
    if (data.empty()) break;
    if (!dotl) {
      StatReader sr(data);
      ninep::Stat s;
      while (sr.Next(&s)) out.push_back(DirFromStat(s));
      if (!sr.error().ok()) return Status(EPROTO, "readdir: " + sr.error().message());
      off += data.size();
      continue;
    }
    DirentReader dr(data);
    Dirent d;
    uint64_t before = off;
    bool any = false;
    while (dr.Next(&d)) {
      any = true;
      off = d.offset;
      if (d.name == "." || d.name == "..") continue;
      Dir x;
      x.name = std::string(d.name);
      x.qid = d.qid;
      x.mode = static_cast<uint32_t>(d.qid.type) << 24;  // DMDIR etc. mirror the qid type
      out.push_back(std::move(x));
    }
    if (!dr.error().ok()) return Status(EPROTO, "readdir: " + dr.error().message());
    if (!any) break;
    if (off == before)
      return Status(EPROTO, "readdir: server repeated offset " + std::to_string(off));
  }
  return out;
}

Result<Dir> Fid::Stat() {
  if (!client_) return Invalid("stat");
  Impl* impl = client_->impl_.get();
  Dir d;
  Status st;
  if (client_->dialect() == Dialect::k9P2000L) {
    Rgetattr a;
    st = impl->SyncCall(Tgetattr{num_, P9_GETATTR_ALL},
                        [&](const Message& m, std::span<const uint8_t>) {
                          a = std::get<Rgetattr>(m.body);
                          return Status::Ok();
                        });
    if (st.ok()) d = DirFromGetattr(a, name_);
  } else {
    st = impl->SyncCall(Tstat{num_}, [&](const Message& m, std::span<const uint8_t>) {
      d = DirFromStat(std::get<Rstat>(m.body).stat);
      return Status::Ok();
    });
  }
  if (!st.ok()) return WithPath(name_, st);
  return d;
}

namespace {
// A decimal uid/gid string, or false.
bool ParseId(const std::string& s, uint32_t* out) {
  if (s.empty() || s.size() > 10) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > 0xFFFFFFFEu) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}
}  // namespace

Status Fid::Wstat(const Dir& d) {
  if (!client_) return Invalid("wstat");
  Impl* impl = client_->impl_.get();
  if (client_->dialect() != Dialect::k9P2000L) {
    Status st = impl->SyncCall(Twstat{num_, d.ToStat()}, {});
    if (st.ok() && !d.name.empty()) name_ = d.name;
    return st.ok() ? st : WithPath(name_, st);
  }
  if (!d.name.empty() && d.name != name_)
    return Status(
        EINVAL, "wstat " + name_ + ": 9P2000.L renames need the parent directory; send Trenameat");
  Tsetattr sa;
  sa.fid = num_;
  if (d.mode != ~0u) {
    sa.valid |= P9_SETATTR_MODE;
    sa.mode = UnixModeFromDM(d.mode);
  }
  if (d.length != ~0ull) {
    sa.valid |= P9_SETATTR_SIZE;
    sa.size = d.length;
  }
  if (d.atime != ~0u) {
    sa.valid |= P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET;
    sa.atime_sec = d.atime;
  }
  if (d.mtime != ~0u) {
    sa.valid |= P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
    sa.mtime_sec = d.mtime;
  }
  if (ParseId(d.uid, &sa.uid)) sa.valid |= P9_SETATTR_UID;
  if (ParseId(d.gid, &sa.gid)) sa.valid |= P9_SETATTR_GID;
  if (sa.valid == 0) return Status::Ok();
  Status st = impl->SyncCall(sa, {});
  return st.ok() ? st : WithPath(name_, st);
}

Status Fid::Remove() {
  if (!client_) return Invalid("remove");
  Impl* impl = client_->impl_.get();
  Status st = impl->SyncCall(Tremove{num_}, {});
  // Tremove frees the fid even when the remove fails.
  if (st.err() != ETIMEDOUT) impl->FreeFid(num_);
  std::string name = name_;
  client_ = nullptr;
  num_ = NOFID;
  return st.ok() ? st : WithPath(name, st);
}

Status Fid::Clunk() {
  if (!client_) return Invalid("clunk");
  Impl* impl = client_->impl_.get();
  Status st = impl->SyncCall(Tclunk{num_}, {});
  if (st.err() != ETIMEDOUT) impl->FreeFid(num_);
  client_ = nullptr;
  num_ = NOFID;
  return st;
}

}  // namespace ninep
