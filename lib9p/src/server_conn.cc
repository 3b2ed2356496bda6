// server_conn.cc: one connection's session. Requests are checked here
// before the file server sees them, and fid state is updated here after the
// answer, always on the loop thread.
#include "server_conn.h"

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "wire_fields.h"

namespace ninep {

using internal::ReqState;

namespace {

// Fills the header of an Rread or Rreaddir of `count` data bytes at the
// front of a reply buffer: size[4] type[1] tag[2] count[4].
void PutCountHeader(uint8_t* p, uint8_t type, uint16_t tag, uint32_t count) {
  internal::StoreLE<uint32_t>(p, HDRSZ + 4 + count);
  p[4] = type;
  internal::StoreLE<uint16_t>(p + 5, tag);
  internal::StoreLE<uint32_t>(p + 7, count);
}

bool BadName(std::string_view n) {
  return n.empty() || n == "." || n == ".." || n.find('/') != std::string_view::npos ||
         n.find('\0') != std::string_view::npos;
}

uint32_t NowSec() { return static_cast<uint32_t>(time(nullptr)); }

// The answer buffer a request reserves before its handler runs (a read's
// data lands straight in it), charged to max_inflight_bytes with its frame.
size_t ReservedAnswer(const Message& m, uint32_t msize) {
  uint32_t count = 0;
  if (const auto* t = std::get_if<Tread>(&m.body)) count = t->count;
  if (const auto* t = std::get_if<Treaddir>(&m.body)) count = t->count;
  return count == 0 ? 0 : HDRSZ + 4 + std::min(count, msize - IOHDRSZ);
}

// A connection that ends with at least this many fids has freed enough
// that handing the heap back to the system is worth a malloc_trim.
constexpr size_t kTrimAfterFids = 1024;

}  // namespace

Connection::Connection(Server::Impl* srv, std::unique_ptr<Conn> c)
    : srv_(srv), conn_(std::move(c)), cs_(std::make_shared<internal::ConnShared>()) {
  cs_->peer = conn_->Peer();
  cs_->identity = conn_->Identity();
  cs_->owner = this;
  id_ = srv_->stats.connections_total.load();
  if (srv_->opts.trace)
    fprintf(stderr, "%sconnection %llu from %s\n", Prefix().c_str(),
            static_cast<unsigned long long>(id_), cs_->peer.c_str());
}

Connection::~Connection() {
  if (!closed_) {
    closed_ = true;
    Reset();
    conn_->Close();
  }
  cs_->owner = nullptr;
}

std::string Connection::Prefix() const {
  const std::string& p = srv_->opts.trace_prefix;
  return p.empty() ? p : p + " ";
}

void Connection::Start() {
  conn_->SetMaxFrame(srv_->opts.max_msize);
  conn_->OnDrain([this] { CheckPressure(); });
  conn_->Start([this](std::span<const uint8_t> f) { OnFrame(f); },
               [this](const Status& s) { OnClosed(s); });
}

void Connection::Shutdown() {
  if (closed_) return;
  closed_ = true;
  Reset();
  conn_->Close();
  srv_->Closed(this);
}

void Connection::OnClosed(const Status& s) {
  // A TLS client on a plain port is logged always: it is a set-up mistake.
  if ((srv_->opts.trace || s.err() == EPROTONOSUPPORT) && !s.ok())
    fprintf(stderr, "%s%s: %s\n", Prefix().c_str(), cs_->peer.c_str(), s.message().c_str());
  Shutdown();
}

void Connection::Reset() {
  auto tags = std::move(tags_);
  tags_.clear();
  inflight_ = 0;
  for (auto& [tag, st] : tags) {
    st->conn = nullptr;
    if (st->in.type() == kTflush) {
      // A Tflush waits in the table with no handler of its own.
      held_bytes_ -= st->held;
      st->held = 0;
    } else {
      // Its handler still works until it answers (AbandonedAnswered), so a
      // peer cannot pile up work by sending Tversion after Tversion.
      st->abandoned = true;
      abandoned_++;
    }
    srv_->stats.pending[st->in.type()]--;
  }
  for (auto& [tag, st] : tags) internal::FlushState(st.get());
  auto fids = std::move(fids_);
  fids_.clear();
  // Released after the last of these clunks, with the fids they hold.
  std::shared_ptr<void> trim;
  if (fids.size() >= kTrimAfterFids) trim = srv_->HeapTrimWhenReleased();
  for (auto& [num, ref] : fids) {
    FidRef f = std::move(ref);  // the clunk holds the last reference
    auto st = std::make_shared<ReqState>();
    st->srv = srv_;
    st->cs = cs_;
    st->keep = trim;
    if (f->omode != -1 && (f->omode & ORCLOSE)) {
      RemoveReq r(st, [](const Result<Empty>&) {});
      r.fid = f;
      srv_->fs->Remove(std::move(r));
    } else {
      ClunkReq r(st, [](const Result<Empty>&) {});
      r.fid = f;
      srv_->fs->Clunk(std::move(r));
    }
  }
  CheckPressure();
}

void Connection::CheckPressure() {
  if (closed_) return;
  const auto& o = srv_->opts;
  size_t q = conn_->QueuedBytes();
  size_t n = inflight_ + abandoned_;
  if (!paused_ &&
      (n >= o.max_inflight || held_bytes_ >= o.max_inflight_bytes || q >= o.max_queued_bytes)) {
    paused_ = true;
    srv_->stats.pauses++;
    conn_->PauseReading();
  } else if (paused_ && n < o.max_inflight / 2 + 1 && held_bytes_ < o.max_inflight_bytes / 2 + 1 &&
             q < o.max_queued_bytes / 2 + 1) {
    paused_ = false;
    conn_->ResumeReading();
  }
}

void Connection::Uncharge(ReqState* st) {
  held_bytes_ -= st->held;
  st->held = 0;
  if (inflight_) inflight_--;
}

void Connection::AbandonedAnswered(ReqState* st) {
  if (!st->abandoned) return;
  st->abandoned = false;
  abandoned_--;
  held_bytes_ -= st->held;
  st->held = 0;
  CheckPressure();
}

Status Connection::RoomForFid(uint32_t num, uint32_t replaces) const {
  if (num == replaces) return Status();
  if (fids_.count(num)) return Status(EBADF, "fid in use");
  if (fids_.size() >= srv_->opts.max_fids)
    return Status(EMFILE, "too many fids (the limit is " + std::to_string(srv_->opts.max_fids) +
                              " per connection)");
  return Status();
}

// ---- Answers ----------------------------------------------------------------

void Connection::SendBytes(Buffer bytes, const Message* for_trace) {
  if (closed_) return;
  if (srv_->opts.trace && for_trace)
    fprintf(stderr, "%s-%llu-> %s\n", Prefix().c_str(), static_cast<unsigned long long>(id_),
            FormatMessage(*for_trace).c_str());
  srv_->stats.bytes_out += bytes.size();
  conn_->Send(std::move(bytes));
}

void Connection::Send(const Message& m) {
  std::vector<uint8_t> out;
  out.reserve(EncodedSize(m, dialect_));
  Status s = Encode(m, dialect_, &out);
  // A client drops a frame larger than the msize it agreed to, and the
  // connection with it: answer an error instead.
  if (s.ok() && out.size() > msize_)
    s = Status(EMSGSIZE, std::string(MsgTypeName(m.type())) + " of " + std::to_string(out.size()) +
                             " bytes exceeds msize " + std::to_string(msize_));
  if (!s.ok()) {
    // A server answer that cannot be encoded (a huge name, say) becomes an
    // error rather than a broken frame.
    SendError(m.tag, s);
    return;
  }
  SendBytes(std::move(out), &m);
}

void Connection::SendError(uint16_t tag, const Status& s) {
  Message m;
  m.tag = tag;
  std::string text;
  if (dialect_ == Dialect::k9P2000L && versioned_) {
    m.body = Rlerror{static_cast<uint32_t>(s.err() ? s.err() : EIO)};
  } else {
    // The text is cut to fit the msize (and a sane length), on a UTF-8
    // character boundary.
    text = s.message();
    size_t room = std::min<size_t>(1024, msize_ - (HDRSZ + 2));
    if (text.size() > room) {
      while (room > 0 && (static_cast<uint8_t>(text[room]) & 0xC0) == 0x80) room--;
      text.resize(room);
    }
    m.body = Rerror{text};
  }
  std::vector<uint8_t> out;
  Status es = Encode(m, dialect_, &out);
  if (!es.ok()) {
    // Cannot happen (the text fits any frame), but if it did the request
    // could never be answered and the client would wait on its tag
    // forever: hang up instead, so every call of the client fails now.
    fprintf(stderr, "%sbug: cannot encode the error answer to tag %u (%s): %s; closing %s\n",
            Prefix().c_str(), tag, s.message().c_str(), es.message().c_str(), cs_->peer.c_str());
    Shutdown();
    return;
  }
  SendBytes(std::move(out), &m);
}

void Connection::AfterFinish(ReqState* st, bool failed) {
  uint8_t type = st->in.type();
  if (failed) srv_->stats.errors[type]++;
  srv_->stats.latency_us[type] += (NowNs() - st->start_ns) / 1000;
  auto it = tags_.find(st->in.tag);
  if (it != tags_.end() && it->second.get() == st) {
    Uncharge(st);
    tags_.erase(it);
    srv_->stats.pending[type]--;
  }
  st->conn = nullptr;
  // The Tflushes waiting on st, then those waiting on them (a Tflush of a
  // pending Tflush), each Rflush after the answer it follows.
  std::vector<uint16_t> flushes = st->flush_tags;
  for (size_t i = 0; i < flushes.size(); i++) {
    auto fit = tags_.find(flushes[i]);
    if (fit == tags_.end()) continue;  // reset meanwhile
    StatePtr fst = fit->second;
    fst->conn = nullptr;
    Uncharge(fst.get());
    srv_->stats.pending[fst->in.type()]--;
    tags_.erase(fit);
    Message m;
    m.tag = flushes[i];
    m.body = Rflush{};
    Send(m);
    flushes.insert(flushes.end(), fst->flush_tags.begin(), fst->flush_tags.end());
  }
  CheckPressure();
}

void Connection::Finish(ReqState* st, const Status& err, const Message* reply) {
  if (!err.ok()) {
    SendError(st->in.tag, err);
  } else {
    Send(*reply);
  }
  AfterFinish(st, !err.ok());
}

void Connection::FinishBytes(ReqState* st, Buffer bytes, const Message* trace_msg) {
  SendBytes(std::move(bytes), trace_msg);
  AfterFinish(st, false);
}

FidRef Connection::GetFid(const StatePtr& st, uint32_t num) {
  auto it = fids_.find(num);
  if (it == fids_.end()) {
    Finish(st.get(), Status(EBADF, "unknown fid"), nullptr);
    return nullptr;
  }
  return it->second;
}

// ---- Dispatch ---------------------------------------------------------------

void Connection::OnFrame(std::span<const uint8_t> frame) {
  auto st = std::make_shared<ReqState>();
  st->srv = srv_;
  st->cs = cs_;
  st->start_ns = NowNs();
  // Owned by the request, which outlives this call (a Twrite's data is a
  // view into it); a large frame moves over without a copy.
  st->frame = conn_->TakeFrame();
  srv_->stats.bytes_in += frame.size();
  Status s = Decode(st->frame, dialect_, &st->in);
  if (!s.ok()) {
    if (srv_->opts.trace)
      fprintf(stderr, "%s<-%llu- bad frame: %s\n", Prefix().c_str(),
              static_cast<unsigned long long>(id_), s.message().c_str());
    // The header is sound (the transport checked the size), so the tag can
    // carry the error; the session goes on.
    uint16_t tag = frame.size() >= 7 ? (frame[5] | (frame[6] << 8)) : NOTAG;
    SendError(tag, s);
    return;
  }
  if (srv_->opts.trace)
    fprintf(stderr, "%s<-%llu- %s\n", Prefix().c_str(), static_cast<unsigned long long>(id_),
            FormatMessage(st->in).c_str());
  Dispatch(st);
}

void Connection::Dispatch(const StatePtr& st) {
  const Message& m = st->in;
  uint8_t type = m.type();
  srv_->stats.count[type]++;
  if (type == kTversion) {
    Version(st, std::get<Tversion>(m.body));
    return;
  }
  if (!versioned_) {
    srv_->stats.errors[type]++;
    SendError(m.tag, Status(EPROTO, "version not negotiated"));
    return;
  }
  if (tags_.count(m.tag)) {
    srv_->stats.errors[type]++;
    SendError(m.tag, Status(EPROTO, "duplicate tag"));
    return;
  }
  tags_.emplace(m.tag, st);
  inflight_++;
  st->held = st->frame.size() + ReservedAnswer(m, msize_);
  held_bytes_ += st->held;
  srv_->stats.pending[type]++;
  st->conn = this;
  CheckPressure();
  if (Status s = CheckAccess(m); !s.ok()) return Finish(st.get(), s, nullptr);
  const bool L = dialect_ == Dialect::k9P2000L;
  switch (type) {
    case kTauth:
      return Attach(st, {}, true);
    case kTattach:
      return Attach(st, std::get<Tattach>(m.body), false);
    case kTflush:
      return Flush(st, std::get<Tflush>(m.body));
    case kTwalk:
      return Walk(st, std::get<Twalk>(m.body));
    case kTopen: {
      auto& t = std::get<Topen>(m.body);
      return Open(st, t.fid, t.mode, LinuxFlagsFromOmode(t.mode), false);
    }
    case kTlopen: {
      auto& t = std::get<Tlopen>(m.body);
      return Open(st, t.fid, OmodeFromLinuxFlags(t.flags), t.flags, true);
    }
    case kTcreate: {
      auto& t = std::get<Tcreate>(m.body);
      return Create(st, t.fid, t.name, t.perm, t.mode, LinuxFlagsFromOmode(t.mode), NONUNAME,
                    false);
    }
    case kTlcreate: {
      auto& t = std::get<Tlcreate>(m.body);
      return Create(st, t.fid, t.name, t.mode & 07777, OmodeFromLinuxFlags(t.flags), t.flags, t.gid,
                    true);
    }
    case kTread:
      return Read(st, std::get<Tread>(m.body));
    case kTwrite:
      return Write(st, std::get<Twrite>(m.body));
    case kTclunk:
      return Clunk(st, std::get<Tclunk>(m.body).fid, false);
    case kTremove:
      return Clunk(st, std::get<Tremove>(m.body).fid, true);
    case kTstat:
      return StatFid(st, std::get<Tstat>(m.body).fid, false, 0);
    case kTgetattr: {
      auto& t = std::get<Tgetattr>(m.body);
      return StatFid(st, t.fid, true, t.request_mask);
    }
    case kTwstat: {
      auto& t = std::get<Twstat>(m.body);
      return WstatFid(st, t.fid, t.stat, nullptr);
    }
    case kTsetattr: {
      auto& t = std::get<Tsetattr>(m.body);
      return WstatFid(st, t.fid, NullStat(), &t);
    }
    case kTreaddir: {
      auto& t = std::get<Treaddir>(m.body);
      FidRef f = GetFid(st, t.fid);
      if (!f) return;
      if (!f->IsDir()) return Finish(st.get(), Status(ENOTDIR, "not a directory"), nullptr);
      if (f->omode == -1) return Finish(st.get(), Status(EBADF, "fid not open"), nullptr);
      return ReadDir(st, f, t.offset, std::min(t.count, msize_ - IOHDRSZ), true, 0);
    }
    default:
      if (L) return Dotl(st);
      return Finish(st.get(),
                    Status(EPROTO, "unexpected message " + std::string(MsgTypeName(type))),
                    nullptr);
  }
}

void Connection::Version(const StatePtr& st, const Tversion& t) {
  Reset();
  Message m;
  m.tag = st->in.tag;
  if (t.msize < MINMSIZE) {
    versioned_ = false;
    SendError(m.tag, Status(EINVAL, "msize too small"));
    return;
  }
  msize_ = std::min(t.msize, srv_->opts.max_msize);
  std::string_view v = t.version;
  std::string_view answer;
  if (srv_->opts.dotl && v.substr(0, 8) == "9P2000.L") {
    dialect_ = Dialect::k9P2000L;
    answer = "9P2000.L";
  } else if (v.substr(0, 6) == "9P2000") {
    dialect_ = Dialect::k9P2000;
    answer = "9P2000";
  } else {
    answer = "unknown";
  }
  versioned_ = answer != "unknown";
  conn_->SetMaxFrame(msize_);
  m.body = Rversion{msize_, answer};
  Send(m);
}

void Connection::Attach(const StatePtr& st, const Tattach& t_in, bool auth) {
  Tattach t = t_in;
  if (auth) {
    auto& a = std::get<Tauth>(st->in.body);
    t.fid = a.afid;
    t.afid = NOFID;
    t.uname = a.uname;
    t.aname = a.aname;
    t.n_uname = a.n_uname;
  }
  if (Status s = RoomForFid(t.fid); !s.ok()) return Finish(st.get(), s, nullptr);
  FidRef afid;
  if (t.afid != NOFID) {
    afid = GetFid(st, t.afid);
    if (!afid) return;
  }
  auto nf = std::make_shared<SrvFid>();
  nf->num = t.fid;
  nf->uname = std::string(t.uname);
  nf->n_uname = t.n_uname;
  if (cs_->uname.empty()) cs_->uname = nf->uname;
  AttachReq r(st, OnLoop<Qid>(st, [this, st, nf, auth](Result<Qid> q) {
                if (!q.ok()) return Finish(st.get(), q.status(), nullptr);
                if (Status s = RoomForFid(nf->num); !s.ok()) return Finish(st.get(), s, nullptr);
                nf->qid = *q;
                if (auth) nf->omode = ORDWR;  // an afid is read and written unopened
                fids_[nf->num] = nf;
                Message m;
                m.tag = st->in.tag;
                if (auth) {
                  m.body = Rauth{*q};
                } else {
                  m.body = Rattach{*q};
                }
                Finish(st.get(), Status(), &m);
              }));
  r.fid = nf;
  r.afid = afid;
  r.uname = t.uname;
  r.aname = t.aname;
  r.n_uname = t.n_uname;
  if (auth) {
    srv_->fs->Auth(std::move(r));
  } else {
    srv_->fs->Attach(std::move(r));
  }
}

void Connection::Flush(const StatePtr& st, const Tflush& t) {
  auto it = tags_.find(t.oldtag);
  if (it == tags_.end() || it->second == st) {
    Message m;
    m.tag = st->in.tag;
    m.body = Rflush{};
    return Finish(st.get(), Status(), &m);
  }
  StatePtr old = it->second;
  old->flush_tags.push_back(st->in.tag);
  internal::FlushState(old.get());
}

void Connection::Walk(const StatePtr& st, const Twalk& t) {
  FidRef f = GetFid(st, t.fid);
  if (!f) return;
  // Plan 9 forbids walking from an open fid; Linux v9fs and diod allow it in
  // 9P2000.L (diodls -l walks from the directory it is reading).
  if (f->omode != -1 && dialect_ == Dialect::k9P2000)
    return Finish(st.get(), Status(EBUSY, "cannot clone open fid"), nullptr);
  if (t.wname.size() > 0 && !f->IsDir())
    return Finish(st.get(), Status(ENOTDIR, "walk in non-directory"), nullptr);
  if (Status s = RoomForFid(t.newfid, t.fid); !s.ok()) return Finish(st.get(), s, nullptr);
  for (auto n : t.wname) {
    if (n.empty() || n.find('/') != std::string_view::npos ||
        n.find('\0') != std::string_view::npos)
      return Finish(st.get(), Status(ENOENT, "bad name in walk"), nullptr);
  }
  auto nf = std::make_shared<SrvFid>();
  nf->num = t.newfid;
  nf->uname = f->uname;
  nf->n_uname = f->n_uname;
  nf->qid = f->qid;
  size_t n = t.wname.size();
  uint32_t fidnum = t.fid;
  WalkReq r(st,
            OnLoop<std::vector<Qid>>(st, [this, st, nf, n, fidnum](Result<std::vector<Qid>> res) {
              if (!res.ok()) return Finish(st.get(), res.status(), nullptr);
              auto& q = *res;
              if (q.size() > n)
                return Finish(st.get(), Status(EIO, "bug: walk answered too many qids"), nullptr);
              if (n > 0 && q.empty())
                return Finish(st.get(), Status(ENOENT, "file does not exist"), nullptr);
              Message m;
              m.tag = st->in.tag;
              Rwalk w;
              for (auto& x : q) w.wqid.push_back(x);
              if (q.size() == n) {
                if (n) nf->qid = q.back();
                if (Status s = RoomForFid(nf->num, fidnum); !s.ok())
                  return Finish(st.get(), s, nullptr);
                fids_[nf->num] = nf;
              }
              m.body = w;
              Finish(st.get(), Status(), &m);
            }));
  r.fid = f;
  r.newfid = nf;
  r.names = t.wname;
  srv_->fs->Walk(std::move(r));
}

// Open and create end alike: the fid is now open (its directory reads start
// afresh) and the reply of type `rtype` carries the qid and iounit.
void Connection::FinishOpen(const StatePtr& st, const FidRef& f, uint8_t mode, uint32_t lflags,
                            const Result<OpenOut>& o, uint8_t rtype) {
  if (!o.ok()) return Finish(st.get(), o.status(), nullptr);
  f->omode = mode;
  f->lflags = lflags;
  f->qid = o->qid;
  f->dir_offset = f->dir_cookie = 0;
  Message m;
  m.tag = st->in.tag;
  switch (rtype) {
    case kRlopen:
      m.body = Rlopen{o->qid, o->iounit};
      break;
    case kRopen:
      m.body = Ropen{o->qid, o->iounit};
      break;
    case kRlcreate:
      m.body = Rlcreate{o->qid, o->iounit};
      break;
    default:
      m.body = Rcreate{o->qid, o->iounit};
      break;
  }
  Finish(st.get(), Status(), &m);
}

void Connection::Open(const StatePtr& st, uint32_t fid, uint8_t mode, uint32_t lflags, bool dotl) {
  FidRef f = GetFid(st, fid);
  if (!f) return;
  if (f->omode != -1) return Finish(st.get(), Status(EBUSY, "fid already open"), nullptr);
  uint8_t acc = mode & 3;
  if (f->IsDir() && ((acc != OREAD && acc != OEXEC) || (mode & OTRUNC)))
    return Finish(st.get(), Status(EISDIR, "is a directory"), nullptr);
  OpenReq r(st, OnLoop<OpenOut>(st, [this, st, f, mode, lflags, dotl](const Result<OpenOut>& o) {
              FinishOpen(st, f, mode, lflags, o, dotl ? kRlopen : kRopen);
            }));
  r.fid = f;
  r.mode = mode;
  r.lflags = lflags;
  srv_->fs->Open(std::move(r));
}

void Connection::Create(const StatePtr& st, uint32_t fid, std::string_view name, uint32_t perm,
                        uint8_t mode, uint32_t lflags, uint32_t gid, bool dotl) {
  FidRef f = GetFid(st, fid);
  if (!f) return;
  if (f->omode != -1) return Finish(st.get(), Status(EBUSY, "fid already open"), nullptr);
  if (!f->IsDir()) return Finish(st.get(), Status(ENOTDIR, "create in non-directory"), nullptr);
  if (BadName(name)) return Finish(st.get(), Status(EINVAL, "illegal name"), nullptr);
  CreateReq r(st, OnLoop<OpenOut>(st, [this, st, f, mode, lflags, dotl](const Result<OpenOut>& o) {
                FinishOpen(st, f, mode, lflags, o, dotl ? kRlcreate : kRcreate);
              }));
  r.fid = f;
  r.name = name;
  r.perm = perm;
  r.mode = mode;
  r.lflags = lflags;
  r.gid = gid;
  srv_->fs->Create(std::move(r));
}

void Connection::Read(const StatePtr& st, const Tread& t) {
  FidRef f = GetFid(st, t.fid);
  if (!f) return;
  if (f->omode == -1 || (f->omode & 3) == OWRITE)
    return Finish(st.get(), Status(EBADF, "fid not open for reading"), nullptr);
  uint32_t count = std::min(t.count, msize_ - IOHDRSZ);
  if (f->IsDir()) {
    uint64_t cookie;
    if (t.offset == 0) {
      cookie = 0;
    } else if (t.offset == f->dir_offset) {
      cookie = f->dir_cookie;
    } else {
      return Finish(st.get(), Status(EINVAL, "bad offset in directory read"), nullptr);
    }
    return ReadDir(st, f, cookie, count, false, t.offset);
  }
  // Not zero-filled: the file server writes the bytes it reports.
  auto buf = std::make_shared<Buffer>(Buffer::Uninit(HDRSZ + 4 + count));
  ReadReq r(st, OnLoop<uint32_t>(st, [this, st, buf, count](Result<uint32_t> n) {
              if (!n.ok()) return Finish(st.get(), n.status(), nullptr);
              if (*n > count)
                return Finish(st.get(), Status(EIO, "bug: read answered too many bytes"), nullptr);
              PutCountHeader(buf->data(), kRread, st->in.tag, *n);
              buf->Shrink(HDRSZ + 4 + *n);
              Message tm;
              if (srv_->opts.trace) {
                tm.tag = st->in.tag;
                tm.body = Rread{std::span<const uint8_t>(buf->data() + 11, *n)};
              }
              FinishBytes(st.get(), std::move(*buf), srv_->opts.trace ? &tm : nullptr);
            }));
  r.fid = f;
  r.offset = t.offset;
  r.buf = std::span<uint8_t>(buf->data() + HDRSZ + 4, count);
  srv_->fs->Read(std::move(r));
}

void Connection::ReadDir(const StatePtr& st, const FidRef& f, uint64_t cookie, uint32_t count,
                         bool dotl, uint64_t offset) {
  ReadDirReq r(st, OnLoop<std::vector<DirEntry>>(st, [this, st, f, count, dotl,
                                                      offset](Result<std::vector<DirEntry>> res) {
                 if (!res.ok()) return Finish(st.get(), res.status(), nullptr);
                 Buffer out = Buffer::Uninit(HDRSZ + 4 + count);
                 uint8_t* base = out.data() + HDRSZ + 4;
                 size_t used = 0;
                 uint64_t last = 0;
                 size_t packed = 0;
                 for (auto& e : *res) {
                   if (dotl) {
                     Dirent d{e.dir.qid, e.next, DirentTypeFromQid(e.dir.qid), e.dir.name};
                     size_t sz = DirentSize(d.name);
                     if (used + sz > count) break;
                     PutDirentAt(d, base + used);
                     used += sz;
                   } else {
                     ninep::Stat s = e.dir.ToStat();
                     size_t sz = StatSize(s);
                     if (used + sz > count) break;
                     PutStatAt(s, base + used);
                     used += sz;
                   }
                   last = e.next;
                   packed++;
                 }
                 if (packed == 0 && !res->empty())
                   return Finish(st.get(), Status(EMSGSIZE, "directory entry too large for count"),
                                 nullptr);
                 if (!dotl && packed > 0) {
                   f->dir_offset = offset + used;
                   f->dir_cookie = last;
                 }
                 PutCountHeader(out.data(), dotl ? kRreaddir : kRread, st->in.tag,
                                static_cast<uint32_t>(used));
                 out.Shrink(HDRSZ + 4 + used);
                 Message tm;
                 if (srv_->opts.trace) {
                   tm.tag = st->in.tag;
                   auto data = std::span<const uint8_t>(out.data() + 11, used);
                   if (dotl) {
                     tm.body = Rreaddir{data};
                   } else {
                     tm.body = Rread{data};
                   }
                 }
                 FinishBytes(st.get(), std::move(out), srv_->opts.trace ? &tm : nullptr);
               }));
  r.fid = f;
  r.cookie = cookie;
  r.count = count;
  srv_->fs->ReadDir(std::move(r));
}

void Connection::Write(const StatePtr& st, const Twrite& t) {
  FidRef f = GetFid(st, t.fid);
  if (!f) return;
  uint8_t acc = f->omode & 3;
  if (f->omode == -1 || (acc != OWRITE && acc != ORDWR))
    return Finish(st.get(), Status(EBADF, "fid not open for writing"), nullptr);
  if (f->IsDir()) return Finish(st.get(), Status(EISDIR, "is a directory"), nullptr);
  size_t len = t.data.size();
  WriteReq r(st, OnLoop<uint32_t>(st, [this, st, len](Result<uint32_t> n) {
               if (!n.ok()) return Finish(st.get(), n.status(), nullptr);
               if (*n > len)
                 return Finish(st.get(), Status(EIO, "bug: write answered too many bytes"),
                               nullptr);
               Message m;
               m.tag = st->in.tag;
               m.body = Rwrite{*n};
               Finish(st.get(), Status(), &m);
             }));
  r.fid = f;
  r.offset = t.offset;
  r.data = t.data;
  srv_->fs->Write(std::move(r));
}

void Connection::Clunk(const StatePtr& st, uint32_t fid, bool remove) {
  FidRef f = GetFid(st, fid);
  if (!f) return;
  fids_.erase(fid);
  bool orclose = f->omode != -1 && (f->omode & ORCLOSE);
  auto done = OnLoop<Empty>(st, [this, st, remove](const Result<Empty>& e) {
    // Tclunk always succeeds for the client: the fid is gone either way.
    if (!e.ok() && remove) return Finish(st.get(), e.status(), nullptr);
    Message m;
    m.tag = st->in.tag;
    if (remove) {
      m.body = Rremove{};
    } else {
      m.body = Rclunk{};
    }
    Finish(st.get(), Status(), &m);
  });
  if (remove || orclose) {
    RemoveReq r(st, std::move(done));
    r.fid = f;
    srv_->fs->Remove(std::move(r));
  } else {
    ClunkReq r(st, std::move(done));
    r.fid = f;
    srv_->fs->Clunk(std::move(r));
  }
}

void Connection::StatFid(const StatePtr& st, uint32_t fid, bool getattr, uint64_t mask) {
  FidRef f = GetFid(st, fid);
  if (!f) return;
  if (getattr) {
    GetattrReq r(st, OnLoop<Rgetattr>(st, [this, st](Result<Rgetattr> a) {
                   if (!a.ok()) return Finish(st.get(), a.status(), nullptr);
                   Message m;
                   m.tag = st->in.tag;
                   m.body = *a;
                   Finish(st.get(), Status(), &m);
                 }));
    r.fid = f;
    r.in = Tgetattr{fid, mask};
    srv_->fs->Getattr(std::move(r));
    return;
  }
  StatReq r(st, OnLoop<Dir>(st, [this, st](Result<Dir> d) {
              if (!d.ok()) return Finish(st.get(), d.status(), nullptr);
              Message m;
              m.tag = st->in.tag;
              m.body = Rstat{d->ToStat()};
              Finish(st.get(), Status(), &m);
            }));
  r.fid = f;
  srv_->fs->Stat(std::move(r));
}

void Connection::WstatFid(const StatePtr& st, uint32_t fid, const ninep::Stat& d,
                          const Tsetattr* sa) {
  FidRef f = GetFid(st, fid);
  if (!f) return;
  WstatReq r(st, OnLoop<Empty>(st, [this, st, sa](const Result<Empty>& e) {
               if (!e.ok()) return Finish(st.get(), e.status(), nullptr);
               Message m;
               m.tag = st->in.tag;
               if (sa) {
                 m.body = Rsetattr{};
               } else {
                 m.body = Rwstat{};
               }
               Finish(st.get(), Status(), &m);
             }));
  r.fid = f;
  r.d = d;
  if (sa) {
    r.setattr = *sa;
    ninep::Stat& s = r.d;
    if (sa->valid & P9_SETATTR_MODE) {
      // Keep the bits a Unix mode cannot say (directory, append-only, exclusive).
      s.mode = (f->IsDir() ? DMDIR : 0) | ((f->qid.type & QTAPPEND) ? DMAPPEND : 0) |
               ((f->qid.type & QTEXCL) ? DMEXCL : 0) | (sa->mode & 0777);
    }
    if (sa->valid & P9_SETATTR_SIZE) s.length = sa->size;
    if (sa->valid & P9_SETATTR_MTIME)
      s.mtime =
          (sa->valid & P9_SETATTR_MTIME_SET) ? static_cast<uint32_t>(sa->mtime_sec) : NowSec();
    if (sa->valid & P9_SETATTR_ATIME)
      s.atime =
          (sa->valid & P9_SETATTR_ATIME_SET) ? static_cast<uint32_t>(sa->atime_sec) : NowSec();
    if (r.setattr.valid == 0) r.setattr.valid = P9_SETATTR_CTIME;  // mark "came as Tsetattr"
  } else if (d.mode != 0xFFFFFFFF && ((d.mode & DMDIR) != 0) != f->IsDir()) {
    r.Fail(Status(EINVAL, "cannot change the directory bit"));
    return;
  }
  srv_->fs->Wstat(std::move(r));
}

}  // namespace ninep
