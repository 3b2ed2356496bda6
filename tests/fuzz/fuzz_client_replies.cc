// fuzz_client_replies.cc: the fuzz_client_replies target (see
// fuzz_targets.h). The harness is the server: it holds one end of a
// socketpair whose other end a Client was made from (Client::FromFds), reads
// the client's requests and writes what the input says: the right answer
// built from input bytes, an error, a wrong type or tag, a frame cut short
// or lying about its size, an answer twice, raw bytes, or a hang-up.
// Meanwhile the input makes async calls (Client::Call), cancels them, and
// runs blocking Fid operations (walk, open, read, write, readdir, stat) on
// helper threads.
//
// Checked: every async call's callback runs exactly once, every blocking
// operation returns, the Client goes away cleanly; memory errors and leaks
// are ASan's and LeakSanitizer's to find.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "fuzz_input.h"
#include "fuzz_targets.h"
#include "ninep/client.h"
#include "ninep/wire.h"

namespace ninep::fuzz {
namespace {

constexpr int kMaxOps = 300;
constexpr int kMaxThreads = 4;
constexpr int kMaxCalls = 64;
constexpr size_t kMaxReqBytes = 4 << 20;  // what the harness keeps of the client's requests

void Fail(const std::string& what) { ReportFailure(what.c_str()); }

// One request read from the client.
struct Req {
  std::vector<uint8_t> frame;
  uint16_t tag = 0;
  uint8_t type = 0;
  bool answered = false;
};

class Peer {
 public:
  Peer(int fd, Dialect d) : fd_(fd), dialect_(d) {}
  ~Peer() { Hangup(); }

  // Reads what the client wrote; waits up to wait_ms for a first frame when
  // none is buffered.
  void Read(int wait_ms);
  void Write(std::span<const uint8_t> b);
  void WriteMsg(const Message& m, Dialect d);
  void Hangup() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  void ShutdownWrite() {
    if (fd_ >= 0) shutdown(fd_, SHUT_WR);
  }
  bool up() const { return fd_ >= 0; }
  std::vector<Req>& reqs() { return reqs_; }
  void set_dialect(Dialect d) { dialect_ = d; }
  Dialect dialect() const { return dialect_; }
  // The oldest unanswered request, skipping `skip` of them; null if none.
  Req* Unanswered(size_t skip);

 private:
  int fd_;
  Dialect dialect_;
  std::vector<uint8_t> rbuf_;
  std::vector<Req> reqs_;
  size_t kept_ = 0;
};

void Peer::Read(int wait_ms) {
  if (fd_ < 0) return;
  // Polls until a whole frame is buffered or wait_ms pass; a signal (the
  // fuzzer's timer) does not cut the wait short.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  for (;;) {
    uint8_t buf[64 * 1024];
    ssize_t n = recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      rbuf_.insert(rbuf_.end(), buf, buf + n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (n < 0 && errno != EAGAIN)) break;  // the client closed
    bool have = rbuf_.size() >= 4 && rbuf_.size() >= PeekSize(rbuf_.data());
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (have || left <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    poll(&p, 1, static_cast<int>(left));
  }
  size_t off = 0;
  while (rbuf_.size() - off >= 4) {
    uint32_t size = PeekSize(rbuf_.data() + off);
    if (size < HDRSZ) {
      Fail("the client sent a frame of size " + std::to_string(size));
      rbuf_.clear();
      return;
    }
    if (rbuf_.size() - off < size) break;
    Req r;
    r.frame.assign(rbuf_.begin() + static_cast<std::ptrdiff_t>(off),
                   rbuf_.begin() + static_cast<std::ptrdiff_t>(off + size));
    r.type = r.frame[4];
    r.tag = static_cast<uint16_t>(r.frame[5] | (r.frame[6] << 8));
    Message m;
    if (!Decode(r.frame, dialect_, &m).ok() &&
        !Decode(r.frame, Dialect::k9P2000L, &m).ok())  // a 9P2000.L call in 9P2000
      Fail("the client sent a frame that does not decode");
    kept_ += size;
    if (kept_ < kMaxReqBytes) reqs_.push_back(std::move(r));
    off += size;
  }
  rbuf_.erase(rbuf_.begin(), rbuf_.begin() + static_cast<std::ptrdiff_t>(off));
}

void Peer::Write(std::span<const uint8_t> b) {
  size_t off = 0;
  while (fd_ >= 0 && off < b.size()) {
    ssize_t n = send(fd_, b.data() + off, b.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      // The client is not reading (it cannot block for long: its loop
      // thread only reads). Drain what it sent meanwhile and wait.
      Read(0);
      pollfd p{fd_, POLLOUT, 0};
      poll(&p, 1, 100);
      continue;
    }
    return;  // the client hung up
  }
}

void Peer::WriteMsg(const Message& m, Dialect d) {
  std::vector<uint8_t> f;
  if (Encode(m, d, &f).ok()) Write(f);
}

Req* Peer::Unanswered(size_t skip) {
  std::vector<Req*> u;
  for (auto& r : reqs_)
    if (!r.answered) u.push_back(&r);
  if (u.empty()) return nullptr;
  return u[skip % u.size()];
}

Qid QidFrom(FuzzIn& in) {
  Qid q;
  q.type = in.U8();
  q.version = in.U8();
  q.path = in.U8();
  return q;
}

// The answer to `req` of its own type, its fields from the input (counts
// may disagree with the request: that is the point).
Body RightAnswer(const Message& req, FuzzIn& in, std::string* strs, std::vector<uint8_t>* data) {
  auto str = [&](size_t i) -> std::string_view {
    strs[i] = std::string(in.Str(24));
    return strs[i];
  };
  auto bytes = [&](size_t max) -> std::span<const uint8_t> {
    size_t n = in.U16() % (max + 1);
    auto b = in.Bytes(n);
    data->assign(b.begin(), b.end());
    if (in.U8() & 1) data->resize(n);  // the full count even when the input ran out
    return *data;
  };
  switch (req.type()) {
    case kTversion:
      return Rversion{in.U32(), str(0)};
    case kTattach:
      return Rattach{QidFrom(in)};
    case kTauth:
      return Rauth{QidFrom(in)};
    case kTflush:
      return Rflush{};
    case kTwalk: {
      Rwalk w;
      size_t n = in.U8() % (MAXWELEM + 1);
      for (size_t i = 0; i < n; i++) w.wqid.push_back(QidFrom(in));
      return w;
    }
    case kTopen:
      return Ropen{QidFrom(in), in.U32()};
    case kTlopen:
      return Rlopen{QidFrom(in), in.U32()};
    case kTcreate:
      return Rcreate{QidFrom(in), in.U32()};
    case kTlcreate:
      return Rlcreate{QidFrom(in), in.U32()};
    case kTread: {
      // A directory read wants stat entries: sometimes give well-formed ones.
      if (in.U8() % 3 == 0) {
        data->clear();
        size_t n = in.U8() % 4;
        for (size_t i = 0; i < n; i++) {
          Stat s;
          s.qid = QidFrom(in);
          s.mode = in.U32();
          s.length = in.U64();
          s.name = str(i % 4);
          s.uid = "glenda";
          PutStat(s, data);
        }
        return Rread{*data};
      }
      return Rread{bytes(9000)};
    }
    case kTreaddir: {
      if (in.U8() % 3 == 0) {
        data->clear();
        size_t n = in.U8() % 4;
        for (size_t i = 0; i < n; i++) {
          Dirent d;
          d.qid = QidFrom(in);
          d.offset = in.U8();
          d.type = in.U8();
          d.name = str(i % 4);
          PutDirent(d, data);
        }
        return Rreaddir{*data};
      }
      return Rreaddir{bytes(9000)};
    }
    case kTwrite:
      return Rwrite{in.U8() & 1 ? in.U32()
                                : static_cast<uint32_t>(std::get<Twrite>(req.body).data.size())};
    case kTclunk:
      return Rclunk{};
    case kTremove:
      return Rremove{};
    case kTstat: {
      Stat s;
      s.qid = QidFrom(in);
      s.mode = in.U32();
      s.length = in.U64();
      s.name = str(0);
      s.uid = str(1);
      return Rstat{s};
    }
    case kTwstat:
      return Rwstat{};
    case kTgetattr: {
      Rgetattr a;
      a.valid = in.U64();
      a.qid = QidFrom(in);
      a.mode = in.U32();
      a.size = in.U64();
      return a;
    }
    case kTsetattr:
      return Rsetattr{};
    case kTmkdir:
      return Rmkdir{QidFrom(in)};
    default:
      return Rlerror{in.U8()};
  }
}

// An R-message of any type, for answers of the wrong type.
Body AnyAnswer(FuzzIn& in, std::string* strs, std::vector<uint8_t>* data) {
  static const uint8_t kTypes[] = {kTversion, kTattach, kTwalk,  kTopen,    kTread,
                                   kTwrite,   kTstat,   kTflush, kTreaddir, kTgetattr};
  Message fake;
  switch (kTypes[in.U8() % sizeof kTypes]) {
    case kTversion:
      fake.body = Tversion{};
      break;
    case kTattach:
      fake.body = Tattach{};
      break;
    case kTwalk:
      fake.body = Twalk{};
      break;
    case kTopen:
      fake.body = Topen{};
      break;
    case kTread:
      fake.body = Tread{};
      break;
    case kTwrite:
      fake.body = Twrite{};
      break;
    case kTstat:
      fake.body = Tstat{};
      break;
    case kTflush:
      fake.body = Tflush{};
      break;
    case kTreaddir:
      fake.body = Treaddir{};
      break;
    default:
      fake.body = Tgetattr{};
      break;
  }
  return RightAnswer(fake, in, strs, data);
}

// The harness's side of one input.
class Harness {
 public:
  Harness() = default;
  ~Harness();
  void Run(FuzzIn& in);

 private:
  bool Connect(FuzzIn& in);
  void Op(FuzzIn& in);
  void Call(FuzzIn& in);
  void Blocking(FuzzIn& in);
  void Reply(FuzzIn& in);
  // Answers everything with errors until every helper thread is done.
  void Finish();

  std::unique_ptr<Client> client_;
  std::unique_ptr<Peer> peer_;
  std::deque<std::atomic<int>> done_;  // completions per async call
  std::vector<Client::CallId> ids_;
  std::vector<std::thread> threads_;
  std::atomic<int> running_{0};
  bool desynced_ = false;  // bytes written that may leave a frame unfinished
  std::string wnames_[MAXWELEM];
  std::vector<uint8_t> wdata_;
};

Harness::~Harness() {
  // Blocking calls still waiting end with the connection; else the Client
  // goes first, with whatever async calls are pending.
  if (peer_ && running_.load() > 0) peer_->Hangup();
  for (auto& t : threads_) t.join();
  client_.reset();
  peer_.reset();
  int i = 0;
  for (auto& n : done_) {
    if (n.load() != 1)
      Fail("async call " + std::to_string(i) + " completed " + std::to_string(n.load()) + " times");
    i++;
  }
}

bool Harness::Connect(FuzzIn& in) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) abort();
  uint8_t cfg = in.U8();
  ClientOptions o;
  o.dialect = cfg & 1 ? Dialect::k9P2000L : Dialect::k9P2000;
  o.msize = MINMSIZE + in.U16() % 16384;
  o.trace = getenv("NINEP_FUZZ_TRACE") != nullptr;  // for reading a crash
  peer_ = std::make_unique<Peer>(sv[1], o.dialect);
  Result<std::unique_ptr<Client>> c = Status(EIO, "not connected");
  std::thread t([&] { c = Client::FromFds(sv[0], sv[0], o); });
  // Version: junk first if the input says so, then an answer that decides.
  for (bool decided = false; !decided && peer_->up();) {
    peer_->Read(peer_->Unanswered(0) ? 0 : 10000);  // a loaded machine can be slow
    Req* r = peer_->Unanswered(0);
    if (!r) {
      Fail("the client sent no Tversion");
      peer_->Hangup();
      break;
    }
    std::string strs[4];
    std::vector<uint8_t> data;
    Message m;
    m.tag = r->tag;
    uint8_t how = in.U8() % 8;
    decided = true;
    if (how <= 3) {
      m.body = Rversion{in.U8() & 1 ? in.U32() : o.msize,
                        o.dialect == Dialect::k9P2000L ? "9P2000.L" : "9P2000"};
    } else if (how == 4) {
      m.tag = static_cast<uint16_t>(r->tag ^ (1 + in.U8()));  // a stray answer first
      m.body = Rversion{o.msize, "9P2000"};
      decided = false;
    } else if (how == 5) {
      m.body = Rerror{in.Str(20)};
    } else if (how == 6) {
      m.body = AnyAnswer(in, strs, &data);
    } else {
      peer_->Hangup();
      break;
    }
    peer_->WriteMsg(m, o.dialect);
    if (decided) r->answered = true;
  }
  t.join();
  if (!c.ok()) return false;
  client_ = std::move(*c);
  peer_->set_dialect(client_->dialect());
  return true;
}

// kind[1] then the call's fields.
void Harness::Call(FuzzIn& in) {
  if (done_.size() >= kMaxCalls) return;
  uint8_t kind = in.U8() % 12;
  uint32_t fid = in.U8() % 4;
  Body b;
  switch (kind) {
    case 0:
      b = Tattach{fid, NOFID, "glenda", "", NONUNAME};
      break;
    case 1: {
      Twalk w{fid, in.U8() % 4u, {}};
      size_t n = in.U8() % (MAXWELEM + 1);
      for (size_t i = 0; i < n; i++) w.wname.push_back("a");
      b = w;
      break;
    }
    case 2:
      b = Topen{fid, OREAD};
      break;
    case 3:
      b = Tlopen{fid, 0};
      break;
    case 4:
      b = Tread{fid, in.U8(), in.U16()};
      break;
    case 5: {
      wdata_.assign(in.U16() % 20000, 'w');  // past 16 KiB the data is not copied
      b = Twrite{fid, 0, wdata_};
      break;
    }
    case 6:
      b = Tclunk{fid};
      break;
    case 7:
      b = Tstat{fid};
      break;
    case 8:
      b = Tgetattr{fid, P9_GETATTR_ALL};
      break;
    case 9:
      b = Treaddir{fid, 0, in.U16()};
      break;
    case 10:
      b = Tversion{8192, "9P2000"};
      break;
    default:
      b = Tflush{in.U16()};
      break;
  }
  std::atomic<int>* n = &done_.emplace_back(0);
  Client::CallId id = client_->Call(b, [n](Result<ninep::Reply> r) {
    if (n->fetch_add(1) != 0) Fail("an async call completed twice");
    if (r.ok()) {
      // Touch the reply so ASan sees any view into a freed frame.
      volatile size_t sum = FormatMessage(r->msg).size();
      (void)sum;
    }
  });
  ids_.push_back(id);
}

// kind[1] path-length[1] size[2]: a blocking Fid sequence on a helper thread.
void Harness::Blocking(FuzzIn& in) {
  if (running_.load() >= kMaxThreads) return;
  uint8_t kind = in.U8() % 8;
  size_t depth = in.U8() % 40;  // over 16 names: several Twalks
  size_t size = in.U16();
  Client* c = client_.get();
  running_++;
  threads_.emplace_back([this, c, kind, depth, size] {
    auto root = c->Attach("glenda", "");
    if (root.ok()) {
      std::string path;
      for (size_t i = 0; i < depth; i++) path += i ? "/d" : "d";
      auto f = root->Walk(path);
      if (f.ok()) {
        std::vector<uint8_t> buf(size);
        switch (kind) {
          case 0:
            if (f->Open(OREAD).ok()) {
              auto d = f->ReadDir();
              if (d.ok())
                for (auto& e : *d) (void)e.name.size();
            }
            break;
          case 1:
            if (f->Open(OREAD).ok()) (void)f->Read(0, buf);
            break;
          case 2:
            if (f->Open(OWRITE).ok()) (void)f->Write(0, buf);
            break;
          case 3:
            (void)f->Stat();
            break;
          case 4:
            (void)f->Create("new", 0644, ORDWR);
            break;
          case 5:
            (void)f->Remove();
            break;
          case 6: {
            Dir d;
            d.mode = 0600;
            d.length = size;
            (void)f->Wstat(d);
            break;
          }
          default:
            if (f->Open(OREAD).ok()) (void)f->ReadOnce(0, buf);
            (void)f->Clunk();
            break;
        }
      }
    }
    running_--;
  });
}

// which[1] how[1] then the answer's fields.
void Harness::Reply(FuzzIn& in) {
  // Wait a little for a request only when none is waiting: a helper
  // thread's next call may be on its way.
  bool idle = peer_->Unanswered(0) == nullptr;
  peer_->Read(idle && (running_.load() > 0 || client_->Outstanding() > 0) ? 20 : 0);
  uint8_t which = in.U8();
  uint8_t how = in.U8() % 10;
  Req* r = peer_->Unanswered(which);
  if (!r) return;
  Message req;
  if (!Decode(r->frame, peer_->dialect(), &req).ok() &&
      !Decode(r->frame, Dialect::k9P2000L, &req).ok())
    return;
  std::string strs[4];
  std::vector<uint8_t> data;
  Message m;
  m.tag = r->tag;
  m.body = RightAnswer(req, in, strs, &data);
  Dialect d = peer_->dialect();
  std::vector<uint8_t> f;
  switch (how) {
    case 0:
    case 1:
    case 2:  // the right answer (most of the time, so sessions progress)
      r->answered = true;
      return peer_->WriteMsg(m, d);
    case 3:
      r->answered = true;
      m.body = Rerror{in.Str(30)};
      return peer_->WriteMsg(m, d);
    case 4:
      r->answered = true;
      m.body = Rlerror{in.U32()};
      return peer_->WriteMsg(m, d);
    case 5:  // the wrong type
      r->answered = true;
      m.body = AnyAnswer(in, strs, &data);
      return peer_->WriteMsg(m, d);
    case 6:  // the wrong tag
      m.tag = in.U16();
      return peer_->WriteMsg(m, d);
    case 7: {  // cut short, with a size field that agrees (or not)
      if (!Encode(m, d, &f).ok() || f.size() <= HDRSZ) return;
      size_t cut = 1 + in.U8() % (f.size() - HDRSZ);
      f.resize(f.size() - cut);
      if (in.U8() & 1)
        for (int i = 0; i < 4; i++) f[i] = static_cast<uint8_t>(f.size() >> (8 * i));
      else
        desynced_ = true;
      r->answered = true;
      return peer_->Write(f);
    }
    case 8: {  // a size field far past msize
      if (!Encode(m, d, &f).ok()) return;
      uint32_t big = 0x7FFFFFF0u + in.U8();
      for (int i = 0; i < 4; i++) f[i] = static_cast<uint8_t>(big >> (8 * i));
      desynced_ = true;
      return peer_->Write(f);
    }
    default:  // twice
      r->answered = true;
      peer_->WriteMsg(m, d);
      return peer_->WriteMsg(m, d);
  }
}

void Harness::Op(FuzzIn& in) {
  switch (in.U8() % kCliOps) {
    case kCliCall:
      return Call(in);
    case kCliBlocking:
      return Blocking(in);
    case kCliCancel:  // which[1]
      if (!ids_.empty()) client_->Cancel(ids_[in.U8() % ids_.size()]);
      return;
    case kCliReply:
      return Reply(in);
    case kCliRaw: {  // len[1] bytes
      auto b = in.Bytes(in.U8());
      desynced_ = true;
      return peer_->Write(b);
    }
    case kCliClose:  // how[1]: shut down writing only, or close
      if (in.U8() & 1) {
        peer_->Hangup();
      } else if (peer_->up()) {
        peer_->ShutdownWrite();  // the client sees the end; its last requests still come
      }
      return;
  }
}

void Harness::Finish() {
  // Fail what is left with errors, so the helper threads end with the
  // connection still up (the Client is then destroyed with calls pending).
  // After bytes that leave a frame unfinished the client cannot read an
  // answer any more, and it rightly waits: the hang-up ends it.
  if (desynced_) peer_->Hangup();
  // A thread whose answer went astray (a wrong tag) waits for it: when
  // nothing moves for a while, hang up.
  using Clock = std::chrono::steady_clock;
  auto still = Clock::now();
  size_t seen = peer_->reqs().size();
  int running = running_.load();
  while (running_.load() > 0 && peer_->up()) {
    peer_->Read(5);
    if (peer_->reqs().size() != seen || running_.load() != running) {
      seen = peer_->reqs().size();
      running = running_.load();
      still = Clock::now();
    } else if (Clock::now() - still > std::chrono::milliseconds(100)) {
      peer_->Hangup();
      break;
    }
    for (auto& r : peer_->reqs()) {
      if (r.answered) continue;
      r.answered = true;
      Message m;
      m.tag = r.tag;
      if (r.type == kTflush) {
        m.body = Rflush{};
      } else if (peer_->dialect() == Dialect::k9P2000L) {
        m.body = Rlerror{EIO};
      } else {
        m.body = Rerror{"i/o error"};
      }
      peer_->WriteMsg(m, peer_->dialect());
    }
  }
}

void Harness::Run(FuzzIn& in) {
  if (!Connect(in)) return;
  for (int i = 0; i < kMaxOps && !in.empty() && peer_->up(); i++) Op(in);
  Finish();
}

}  // namespace

int FuzzClientReplies(const uint8_t* data, size_t size) {
  FuzzIn in(data, size);
  Harness h;
  h.Run(in);
  return 0;
}

}  // namespace ninep::fuzz
