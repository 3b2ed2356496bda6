// fs_io.cc: open files and directories: open, create, read, write,
// release, fsync, opendir, readdir. Reads and writes are asynchronous: the
// FUSE request is answered from the client's callback.
#include <errno.h>
#include <fcntl.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <optional>

#include "mount9p/fs.h"

namespace ninep::mount9p {
namespace {

// Linux open flags worth passing to a 9P2000.L server (creation flags are
// the kernel's business; O_LARGEFILE and the like mean nothing there).
constexpr uint32_t kServerFlags = O_ACCMODE | O_TRUNC | O_APPEND | O_DIRECTORY | O_SYNC | O_DSYNC;

// The payload of one Tread/Twrite: whole pages when it can be, so the parts
// of a FUSE request split on page boundaries.
uint32_t PageChunk(uint32_t n) { return n > 4096 ? n & ~4095u : n; }

uint32_t ModeOfQid(const Qid& q, uint32_t dmmode) {
  if (q.type & QTDIR) return S_IFDIR;
  if (q.type & QTSYMLINK) return S_IFLNK;
  uint32_t m = UnixModeFromDM(dmmode) & S_IFMT;
  return m != 0 ? m : S_IFREG;
}

}  // namespace

// One FUSE read or write in flight as one or more 9P calls.
struct Fs::IoOp {
  fuse_req_t req = nullptr;
  bool write = false;
  FidPtr fid;  // keeps the fid (and its connection) until the answer
  std::mutex mu;
  int pending = 0;  // calls not yet answered, plus one for the issuer
  bool interrupted = false;
  bool stopping = false;  // cancelled because the mount is going away
  std::vector<Client::CallId> ids;
  std::vector<uint32_t> want;                 // bytes asked of each part
  std::vector<std::optional<Reply>> replies;  // reads: the Rread frames
  std::vector<uint32_t> counts;               // writes: Rwrite counts
  std::vector<Status> errors;                 // per part
};

void Fs::OnInterrupt(fuse_req_t, void* data) {
  // Runs under libfuse's request lock, so the op cannot finish meanwhile
  // (FinishIo unregisters this first).
  auto* op = static_cast<IoOp*>(data);
  std::vector<Client::CallId> ids;
  {
    std::lock_guard<std::mutex> l(op->mu);
    op->interrupted = true;
    ids = op->ids;
  }
  for (auto id : ids) op->fid->client()->Cancel(id);
}

void Fs::CancelAll() {
  std::vector<std::pair<Client*, Client::CallId>> calls;
  {
    std::lock_guard<std::mutex> l(io_mu_);
    for (IoOp* op : live_io_) {
      std::lock_guard<std::mutex> ol(op->mu);
      op->interrupted = true;
      op->stopping = true;
      for (auto id : op->ids) calls.push_back({op->fid->client(), id});
    }
  }
  // Connections live as long as the Fs, so the clients are still there.
  for (auto& [c, id] : calls) c->Cancel(id);
}

void Fs::FinishIo(const std::shared_ptr<IoOp>& op) {
  fuse_req_interrupt_func(op->req, nullptr, nullptr);
  {
    std::lock_guard<std::mutex> l(io_mu_);
    live_io_.erase(op.get());
  }
  if (op->stopping) {
    // Not the caller's signal but the mount's end: EINTR would only make
    // programs retry (coreutils do) on a connection that is going away.
    for (auto& e : op->errors) {
      if (!e.ok()) e = Status(EIO, "mount stopping");
    }
  }
  // The parts up to the first failed or short one count; a failed first
  // part is the answer.
  if (!op->errors[0].ok()) {
    fuse_reply_err(op->req, ToErrno(op->errors[0]));
    inflight_--;
    return;
  }
  uint64_t total = 0;
  std::vector<iovec> iov;
  for (size_t i = 0; i < op->want.size() && op->errors[i].ok(); i++) {
    uint32_t got = op->write ? op->counts[i] : 0;
    if (!op->write) {
      auto* rr = std::get_if<Rread>(&op->replies[i]->msg.body);
      got = rr ? static_cast<uint32_t>(std::min<size_t>(rr->data.size(), op->want[i])) : 0;
      if (got > 0) iov.push_back({const_cast<uint8_t*>(rr->data.data()), got});
    }
    total += got;
    if (got < op->want[i]) break;  // a short read or write is the end
  }
  if (op->write) {
    fuse_reply_write(op->req, total);
  } else if (iov.empty()) {
    fuse_reply_buf(op->req, nullptr, 0);
  } else {
    fuse_reply_iov(op->req, iov.data(), static_cast<int>(iov.size()));
  }
  inflight_--;
}

void Fs::Read(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi) {
  auto h = GetHandle(fi->fh);
  FidPtr f = h ? HandleFid(*h) : nullptr;
  if (!f) return (void)fuse_reply_err(req, EBADF);
  if (size == 0) return (void)fuse_reply_buf(req, nullptr, 0);
  SplitIo(req, *h, std::move(f), size, off, nullptr);
}

void Fs::Write(fuse_req_t req, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  auto h = GetHandle(fi->fh);
  FidPtr f = h ? HandleFid(*h) : nullptr;
  if (!f) return (void)fuse_reply_err(req, EBADF);
  if (size == 0) return (void)fuse_reply_write(req, 0);
  h->wrote = true;
  SplitIo(req, *h, std::move(f), size, off, buf);
}

void Fs::SplitIo(fuse_req_t req, const Handle& h, FidPtr f, size_t size, off_t off,
                 const char* wbuf) {
  auto op = std::make_shared<IoOp>();
  op->req = req;
  op->write = wbuf != nullptr;
  op->fid = std::move(f);
  // A pipe-like file gets one call: a second Tread further on could consume
  // data the first would not return.
  size_t chunk = h.chunk;
  size_t parts = h.direct ? 1 : (size + chunk - 1) / chunk;
  for (size_t i = 0; i < parts; i++) {
    op->want.push_back(static_cast<uint32_t>(std::min(chunk, size - i * chunk)));
  }
  if (op->write) {
    op->counts.resize(parts);
  } else {
    op->replies.resize(parts);
  }
  op->errors.resize(parts);
  op->pending = static_cast<int>(parts) + 1;
  inflight_++;
  {
    std::lock_guard<std::mutex> l(io_mu_);
    live_io_.insert(op.get());
  }
  for (size_t i = 0; i < parts; i++) {
    const uint32_t fid = op->fid->fid.num();
    const uint64_t offset = static_cast<uint64_t>(off) + i * chunk;
    Body t;
    if (op->write) {
      // Call encodes at once, so the kernel's buffer need not outlive it.
      t = Twrite{fid, offset,
                 std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(wbuf) + i * chunk,
                                          op->want[i])};
    } else {
      t = Tread{fid, offset, op->want[i]};
    }
    auto id = op->fid->client()->Call(t, [this, op, i](Result<Reply> r) {
      bool last;
      {
        std::lock_guard<std::mutex> l(op->mu);
        if (!r.ok()) {
          op->errors[i] = r.status();
        } else if (!op->write) {
          op->replies[i] = std::move(*r);
        } else if (auto* w = std::get_if<Rwrite>(&r->msg.body)) {
          op->counts[i] = std::min(w->count, op->want[i]);
        } else {
          op->errors[i] = Status(EIO, "not an Rwrite");
        }
        last = --op->pending == 0;
      }
      if (last) FinishIo(op);
    });
    std::lock_guard<std::mutex> l(op->mu);
    op->ids.push_back(id);
  }
  fuse_req_interrupt_func(req, &Fs::OnInterrupt, op.get());
  bool last;
  {
    std::lock_guard<std::mutex> l(op->mu);
    last = --op->pending == 0;
  }
  if (last) FinishIo(op);
}

std::future<Result<Dir>> Fs::StatLater(const FidPtr& f) {
  auto p = std::make_shared<std::promise<Result<Dir>>>();
  auto fut = p->get_future();
  f->client()->Call(StatBody(f->fid.num(), P9_GETATTR_ALL), [p, f](Result<Reply> r) {
    if (!r.ok()) return p->set_value(r.status());
    p->set_value(DirOfStatReply(r->msg, ""));
  });
  return fut;
}

Result<FidPtr> Fs::CloneOpen(const FidPtr& node, uint32_t lflags, bool dir) {
  auto c = WalkFrom(node, "");
  if (!c.ok()) return c.status();
  Status s;
  if (dotl()) {
    uint32_t fl = dir ? (O_RDONLY | O_DIRECTORY) : (lflags & kServerFlags);
    s = (*c)->fid.OpenFlags(fl);
  } else {
    s = (*c)->fid.Open(dir ? OREAD : OmodeFromLinuxFlags(lflags));
  }
  if (!s.ok()) return s;
  return *c;
}

void Fs::Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  std::string path;
  auto cf = CallerFid(req, ino, &path);
  if (!cf.ok()) return (void)fuse_reply_err(req, ToErrno(cf.status()));
  FidPtr nf = *cf;
  uint32_t flags = static_cast<uint32_t>(fi->flags);
  if (opts_.writeback) {
    // The kernel reads pages around partial writes and does appends itself.
    if ((flags & O_ACCMODE) == O_WRONLY) flags = (flags & ~O_ACCMODE) | O_RDWR;
    flags &= ~O_APPEND;
  }
  // The stat travels with the walk and open instead of after them.
  auto later = StatLater(nf);
  auto f = CloneOpen(nf, flags, false);
  if (!f.ok()) return (void)fuse_reply_err(req, ToErrno(f.status()));
  auto d = later.get();
  if (!d.ok()) return (void)fuse_reply_err(req, ToErrno(d.status()));
  auto h = std::make_shared<Handle>();
  h->ino = ino;
  h->path = path;
  h->lflags = flags;
  h->uid = fuse_req_ctx(req)->uid;
  uint32_t maxio = (*f)->client()->MaxIO();
  uint32_t iounit = (*f)->fid.iounit();
  h->chunk = PageChunk(iounit != 0 ? std::min(iounit, maxio) : maxio);
  const Qid& q = d->qid;
  bool direct = opts_.cache == CacheMode::kNone || (q.type & (QTAPPEND | QTEXCL)) ||
                (d->length == 0 && !(q.type & QTDIR));
  for (const auto& g : opts_.direct_globs) direct = direct || GlobMatches(g, path);
  h->direct = direct;
  h->fid = std::move(*f);
  h->opened = *d;
  bool unchanged = RecordSig(ino, *d);
  fi->direct_io = direct;
  fi->keep_cache = !direct && (unchanged || opts_.cache == CacheMode::kLoose);
  if (!direct && !unchanged && opts_.cache == CacheMode::kDefault && se_ != nullptr) {
    // Changed since we last looked: make the kernel fetch the size anew
    // rather than trust attributes cached before the change.
    fuse_lowlevel_notify_inval_inode(se_, ino, -1, 0);
  }
  fi->fh = AddHandle(h);
  if (fuse_reply_open(req, fi) != 0) {
    std::lock_guard<std::mutex> l(mu_);
    handles_.erase(fi->fh);
  }
}

void Fs::Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                fuse_file_info* fi) {
  std::string ppath;
  FidPtr pf = NodeFid(parent, &ppath);
  if (!pf) return (void)fuse_reply_err(req, ESTALE);
  std::string path = ppath.empty() ? std::string(name) : ppath + "/" + name;
  uint32_t flags = static_cast<uint32_t>(fi->flags);
  if (opts_.writeback) {
    if ((flags & O_ACCMODE) == O_WRONLY) flags = (flags & ~O_ACCMODE) | O_RDWR;
    flags &= ~O_APPEND;
  }
  // Made through the caller's attach (so it is the caller's file); the
  // node's own fid is walked from the mounting user's below.
  auto upf = CallerFid(req, parent);
  if (!upf.ok()) return (void)fuse_reply_err(req, ToErrno(upf.status()));
  auto c = WalkFrom(*upf, "");
  if (!c.ok()) return (void)fuse_reply_err(req, ToErrno(c.status()));
  FidPtr f = *c;
  uint32_t iounit = 0;
  if (dotl()) {
    Tlcreate t;
    t.fid = f->fid.num();
    t.name = name;
    t.flags = (flags & kServerFlags) | O_CREAT | (flags & O_EXCL);
    t.mode = mode & 07777;
    t.gid = fuse_req_ctx(req)->gid;
    auto r = f->client()->CallSync(t);
    if (!r.ok()) return (void)fuse_reply_err(req, ToErrno(r.status()));
    if (auto* rc = std::get_if<Rlcreate>(&r->msg.body)) iounit = rc->iounit;
  } else {
    uint8_t omode = OmodeFromLinuxFlags(flags & O_ACCMODE);
    Status s = f->fid.Create(name, mode & 0777, omode);
    if (!s.ok() && s.err() == EEXIST && !(flags & O_EXCL)) {
      // Created meanwhile by someone else: open it as open(2) would.
      auto nf = WalkFrom(*upf, name);
      if (!nf.ok()) return (void)fuse_reply_err(req, ToErrno(nf.status()));
      auto of = CloneOpen(*nf, flags, false);
      if (!of.ok()) return (void)fuse_reply_err(req, ToErrno(of.status()));
      f = *of;
      s = Status::Ok();
    }
    if (!s.ok()) return (void)fuse_reply_err(req, ToErrno(s));
    iounit = f->fid.iounit();
  }
  auto later = StatLater(f);  // the new file, through the open fid
  auto node = WalkFrom(pf, name);
  if (!node.ok()) return (void)fuse_reply_err(req, ToErrno(node.status()));
  auto d = later.get();
  if (!d.ok()) return (void)fuse_reply_err(req, ToErrno(d.status()));

  fuse_entry_param e;
  std::memset(&e, 0, sizeof e);
  FillAttr(*d, &e.attr);
  e.ino = AddLookup(path, std::move(*node), d->qid);
  TrackCtime(e.ino, *d, &e.attr);
  e.attr_timeout = opts_.attr_timeout;
  e.entry_timeout = opts_.entry_timeout;
  RecordSig(e.ino, *d);

  auto h = std::make_shared<Handle>();
  h->ino = e.ino;
  h->path = path;
  h->lflags = flags;
  h->uid = fuse_req_ctx(req)->uid;
  uint32_t maxio = f->client()->MaxIO();
  h->chunk = PageChunk(iounit != 0 ? std::min(iounit, maxio) : maxio);
  // A file we just made is an ordinary file: cache it unless told not to.
  bool direct = opts_.cache == CacheMode::kNone;
  for (const auto& g : opts_.direct_globs) direct = direct || GlobMatches(g, path);
  h->direct = direct;
  h->fid = std::move(f);
  h->opened = *d;
  fi->direct_io = direct;
  fi->keep_cache = 0;
  fi->fh = AddHandle(h);
  if (fuse_reply_create(req, &e, fi) != 0) {
    {
      std::lock_guard<std::mutex> l(mu_);
      handles_.erase(fi->fh);
    }
    Forget(e.ino, 1);
  }
}

void Fs::Release(fuse_req_t req, fuse_file_info* fi) {
  std::shared_ptr<Handle> h;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = handles_.find(fi->fh);
    if (it != handles_.end()) {
      h = std::move(it->second);
      handles_.erase(it);
    }
  }
  // After our own writes the page cache matches the file: remember how it
  // looks now so the next open keeps the cache.
  if (h && h->wrote && !h->dir && h->fid) RefreshSigAsync(h->ino, h->fid);
  fuse_reply_err(req, 0);
  // h's fid is released here; its Tclunk goes out without waiting.
}

void Fs::Fsync(fuse_req_t req, int datasync, fuse_file_info* fi) {
  auto h = GetHandle(fi->fh);
  FidPtr f = h ? HandleFid(*h) : nullptr;
  if (!f) return (void)fuse_reply_err(req, EBADF);
  Status s;
  if (dotl()) {
    Tfsync t;
    t.fid = f->fid.num();
    t.datasync = datasync ? 1 : 0;
    auto r = f->client()->CallSync(t);
    if (!r.ok()) s = r.status();
  } else {
    // Plan 9's sync: a wstat that changes nothing.
    s = f->fid.Wstat(DirFromStat(NullStat()));
  }
  if (!s.ok() && (s.err() == EOPNOTSUPP || s.err() == ENOSYS || s.err() == EPERM)) {
    s = Status::Ok();  // the server has no notion of sync; writes are done
  }
  fuse_reply_err(req, s.ok() ? 0 : ToErrno(s));
}

void Fs::Opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  std::string path;
  auto nf = CallerFid(req, ino, &path);
  if (!nf.ok()) return (void)fuse_reply_err(req, ToErrno(nf.status()));
  auto f = CloneOpen(*nf, O_RDONLY, true);
  if (!f.ok()) return (void)fuse_reply_err(req, ToErrno(f.status()));
  auto h = std::make_shared<Handle>();
  h->ino = ino;
  h->path = path;
  h->uid = fuse_req_ctx(req)->uid;
  h->dir = true;
  h->fid = std::move(*f);
  fi->fh = AddHandle(h);
  if (fuse_reply_open(req, fi) != 0) {
    std::lock_guard<std::mutex> l(mu_);
    handles_.erase(fi->fh);
  }
}

Status Fs::LoadDir(Handle& h, const FidPtr& f) {
  auto list = f->fid.ReadDir();
  if (!list.ok()) return list.status();
  Qid self;
  NodeFid(h.ino, nullptr, &self);
  h.items.clear();
  h.ahead.clear();
  h.items.push_back({".", self.path, S_IFDIR, std::nullopt});
  h.items.push_back({"..", 1, S_IFDIR, std::nullopt});  // glibc hides d_ino 0
  for (Dir& d : *list) {
    if (d.name.empty() || d.name == "." || d.name == "..") continue;
    uint64_t ino = d.qid.path;
    uint32_t mode = ModeOfQid(d.qid, d.mode);
    std::string name = d.name;
    // A 9P2000 listing holds whole stat entries: readdirplus needs no more.
    std::optional<Dir> full;
    if (!dotl()) full = std::move(d);
    h.items.push_back({std::move(name), ino, mode, std::move(full)});
  }
  h.loaded = true;
  return Status::Ok();
}

int Fs::OpenListing(uint64_t fh, off_t off, std::shared_ptr<Handle>* h,
                    std::unique_lock<std::mutex>* lock) {
  *h = GetHandle(fh);
  FidPtr f = *h ? HandleFid(**h) : nullptr;
  if (!f) return EBADF;
  *lock = std::unique_lock<std::mutex>((*h)->dmu);
  if (off == 0 || !(*h)->loaded) {
    // Read the whole listing at the start (and on rewinddir); the kernel's
    // offsets are then indexes into it.
    Status s = LoadDir(**h, f);
    if (!s.ok()) return ToErrno(s);
  }
  return 0;
}

void Fs::Readdir(fuse_req_t req, size_t size, off_t off, fuse_file_info* fi) {
  std::shared_ptr<Handle> h;
  std::unique_lock<std::mutex> l;
  if (int e = OpenListing(fi->fh, off, &h, &l)) return (void)fuse_reply_err(req, e);
  std::vector<char> buf(size);
  size_t pos = 0;
  for (size_t i = static_cast<size_t>(off); i < h->items.size(); i++) {
    const DirItem& it = h->items[i];
    struct stat st;
    std::memset(&st, 0, sizeof st);
    st.st_ino = it.ino;
    st.st_mode = it.mode;
    size_t need = fuse_add_direntry(req, buf.data() + pos, size - pos, it.name.c_str(), &st,
                                    static_cast<off_t>(i + 1));
    if (need > size - pos) break;
    pos += need;
  }
  fuse_reply_buf(req, buf.data(), pos);
}

}  // namespace ninep::mount9p
