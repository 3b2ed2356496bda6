// fuzz_server_session.cc: the fuzz_server_session target (see
// fuzz_targets.h). The harness is the client: it writes frames into one end
// of a socketpair whose other end a Server serves (Server::ServeFds), and
// runs the Server's loop itself, step by step on this thread, so nothing
// runs between inputs and each input starts from the same state: a fresh
// file server, a fresh Server per connection, exportfs's root rebuilt.
//
// Every reply is checked against what was sent (Session::OnReply). The
// tag bookkeeping follows the server's rules: a reply answers a tag that
// is outstanding with a request of the matching type (or is an error); a
// Tflush's Rflush ends the flushed tag (no answer may follow it); a
// Tversion's answer ends every tag sent before it.
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "exportfs/export_fs.h"
#include "fuzz_input.h"
#include "fuzz_targets.h"
#include "ninep/server.h"
#include "ninep/wire.h"

namespace ninep::fuzz {

// srv/ramfs's file server (fuzz_ramfs.cc).
std::unique_ptr<FileServer> NewRamfs();

namespace {

namespace fs = std::filesystem;

constexpr uint32_t kMaxMsize = 64 * 1024;  // small frames keep runs fast
constexpr int kMaxOps = 400;
constexpr auto kAnswerDeadline = std::chrono::seconds(5);

void Fail(const std::string& what) { ReportFailure(what.c_str()); }

bool IsError(uint8_t t) { return t == kRerror || t == kRlerror; }

// ---- exportfs's sandbox --------------------------------------------------

// The directory tree exportfs serves, with files beside its root that it
// must never change. When running as root the whole tree lives on a private
// tmpfs mounted nodev (in a mount namespace of this process), so a device
// node created through Tmknod cannot reach a real device, and its size is
// bounded.
struct Sandbox {
  std::string top, root;
  bool ok = false;
};

std::string Listing(const fs::path& dir) {
  std::string out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    struct stat st;
    if (lstat(it->path().c_str(), &st) != 0) continue;
    out += it->path().string() + " " + std::to_string(st.st_mode) + " " +
           std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + " " + std::to_string(st.st_uid) + "\n";
  }
  return out;
}

// Everything in top except root's contents.
std::string OutsideListing(const Sandbox& sb) {
  std::string out;
  for (const auto& e : fs::directory_iterator(sb.top)) {
    if (e.path() == sb.root) continue;
    struct stat st;
    if (lstat(e.path().c_str(), &st) != 0) continue;
    out += e.path().string() + " " + std::to_string(st.st_mode) + " " + std::to_string(st.st_size) +
           " " + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) +
           "\n";
    if (S_ISDIR(st.st_mode)) out += Listing(e.path());
  }
  std::ifstream in(sb.top + "/sentinel");
  out += std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return out;
}

void WriteFile(const std::string& p, std::string_view s) {
  std::ofstream(p, std::ios::binary) << s;
}

// Puts root back as every input expects it.
void ResetRoot(const Sandbox& sb) {
  std::error_code ec;
  chmod(sb.root.c_str(), 0755);
  for (const auto& e : fs::directory_iterator(sb.root, ec)) fs::remove_all(e.path(), ec);
  WriteFile(sb.root + "/a", "hello, world\n");
  fs::create_directory(sb.root + "/d", ec);
  WriteFile(sb.root + "/d/b", "bee\n");
  fs::create_directory_symlink("../outside", sb.root + "/escape", ec);
  fs::create_symlink(sb.top + "/sentinel", sb.root + "/abs", ec);
}

Sandbox MakeSandbox() {
  Sandbox sb;
  char tmpl[] = "/tmp/ninep-fuzz-XXXXXX";
  if (!mkdtemp(tmpl)) return sb;
  sb.top = tmpl;
  if (geteuid() == 0) {
    // REQUIRES: no thread yet (unshare fails EINVAL once the fs is shared).
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) ||
        mount("tmpfs", sb.top.c_str(), "tmpfs", MS_NODEV | MS_NOSUID, "size=64m,mode=0755")) {
      fprintf(stderr, "fuzz_server_session: no nodev tmpfs for exportfs (%s); skipping exportfs\n",
              strerror(errno));
      return sb;
    }
  }
  sb.root = sb.top + "/root";
  mkdir(sb.root.c_str(), 0755);
  WriteFile(sb.top + "/sentinel", "must not change\n");
  mkdir((sb.top + "/outside").c_str(), 0755);
  WriteFile(sb.top + "/outside/f", "outside\n");
  sb.ok = true;
  return sb;
}

const Sandbox& GetSandbox() {
  static Sandbox* sb = [] {
    auto* s = new Sandbox(MakeSandbox());
    if (!s->top.empty()) {
      static std::string top = s->top;
      atexit([] {
        umount2(top.c_str(), MNT_DETACH);  // the tmpfs, when there is one
        std::error_code ec;
        fs::remove_all(top, ec);
      });
    }
    return s;
  }();
  return *sb;
}

// ---- one client session ----------------------------------------------------

// What an outstanding tag expects.
struct Expect {
  uint64_t seq = 0;     // send order
  uint8_t type = 0;     // the T type; 0: a frame the server cannot decode
  uint32_t count = 0;   // Tread/Treaddir count, Twalk nwname, Tversion msize
  uint16_t oldtag = 0;  // Tflush
};

class Session {
 public:
  // root: the aname that names the whole tree by its absolute path.
  Session(FileServer* fsrv, std::string root) : fs_(fsrv), root_(std::move(root)) {}
  ~Session() { Close(false); }

  // Runs one op of the input, then lets the server run and reads answers.
  void Op(FuzzIn& in);
  // Ends the connection: gracefully (half-close, read every answer until
  // the server hangs up) or abruptly (close at once). Then the Server goes.
  void Close(bool abrupt);

 private:
  void Connect();
  void DoOp(FuzzIn& in);
  uint16_t FreeTag(uint16_t want);
  uint32_t Fid(FuzzIn& in) {
    uint32_t v = in.U8() % 8;
    return v == 7 ? NOFID : v;
  }
  std::string_view Name(FuzzIn& in);
  uint64_t Offset(FuzzIn& in);
  void Send(Body b, FuzzIn& in, bool notag = false);
  void SendFrame(const std::vector<uint8_t>& f);
  void Pump(bool wait_all);
  void ReadReplies();
  void OnReply(std::span<const uint8_t> frame);
  void EndOlder(uint64_t seq);
  bool Dotl() const { return send_dialect_ == Dialect::k9P2000L; }

  FileServer* fs_;
  std::string root_;
  uv_timer_t tick_{};  // wakes a waiting loop turn so Pump can check its deadline
  std::unique_ptr<Server> srv_;
  int fd_ = -1;
  bool eof_ = false;
  std::vector<uint8_t> rbuf_;
  std::map<uint16_t, Expect> pending_;
  std::vector<uint16_t> sent_tags_;
  uint64_t seq_ = 0;
  Dialect send_dialect_ = Dialect::k9P2000;   // what the server will decode with
  Dialect reply_dialect_ = Dialect::k9P2000;  // what its answers are in
  std::string scratch_;                       // backs views of the message being sent
};

void Session::Connect() {
  ServerOptions o;
  o.max_msize = kMaxMsize;
  o.workers = 1;  // one worker: exportfs's answers come in a repeatable order
  o.trace = getenv("NINEP_FUZZ_TRACE") != nullptr;  // for reading a crash
  srv_ = std::make_unique<Server>(fs_, o);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) abort();
  if (Status s = srv_->ServeFds(sv[0], sv[0]); !s.ok()) {
    Fail("ServeFds: " + s.message());
    abort();
  }
  fd_ = sv[1];
  fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
  eof_ = false;
  rbuf_.clear();
  pending_.clear();
  sent_tags_.clear();
  send_dialect_ = reply_dialect_ = Dialect::k9P2000;
  uv_timer_init(srv_->loop(), &tick_);
  uv_timer_start(
      &tick_, [](uv_timer_t*) {}, 100, 100);
  uv_unref(reinterpret_cast<uv_handle_t*>(&tick_));
}

void Session::Close(bool abrupt) {
  if (!srv_) return;
  if (abrupt) {
    close(fd_);
    fd_ = -1;
  } else {
    shutdown(fd_, SHUT_WR);
    // Every answer the server wrote before it saw the end is still checked.
    auto deadline = std::chrono::steady_clock::now() + kAnswerDeadline;
    while (!eof_) {
      ReadReplies();
      if (eof_) break;
      if (std::chrono::steady_clock::now() > deadline) {
        Fail("the server did not hang up after the client's end of stream");
        break;
      }
      uv_run(srv_->loop(), UV_RUN_ONCE);
    }
  }
  // The connection ends (the Server stops with it: ServeFds); what is left
  // of its requests must not reach the wire.
  auto deadline = std::chrono::steady_clock::now() + kAnswerDeadline;
  while (srv_->stats().connections.load() != 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      Fail("the connection did not end after the client closed it");
      break;
    }
    uv_run(srv_->loop(), UV_RUN_ONCE);
  }
  uint64_t out = srv_->stats().bytes_out.load();
  uv_run(srv_->loop(), UV_RUN_NOWAIT);
  if (srv_->stats().bytes_out.load() != out) Fail("the server answered after the connection ended");
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_), nullptr);
  srv_.reset();
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

uint16_t Session::FreeTag(uint16_t want) {
  if (want == NOTAG) want = 0;
  while (pending_.count(want)) want = static_cast<uint16_t>((want + 1) % NOTAG);
  return want;
}

std::string_view Session::Name(FuzzIn& in) {
  uint8_t i = in.U8();
  if (i < kSrvNameCount) return kSrvNames[i];
  if (i == 0xFF) return root_;  // exportfs's diod-style absolute aname
  return in.Str(40);
}

uint64_t Session::Offset(FuzzIn& in) {
  uint8_t k = in.U8() % 4;
  if (k == 0) return 0;
  if (k == 1) return in.U16();
  if (k == 2) return (1ull << 30) + in.U8();  // just past ramfs's file size limit
  // Huge offsets, but nothing in (1 MiB, 1 GiB]: ramfs would allocate (and
  // zero) that much for one write, even of 0 bytes, taking seconds each.
  uint64_t v = in.U64();
  return v <= (1ull << 30) ? v % (1 << 20) : v;
}

void Session::Send(Body b, FuzzIn& in, bool notag) {
  Message m;
  uint16_t want = in.U16();  // read either way: later fields stay in place
  m.tag = notag && !pending_.count(NOTAG) ? NOTAG : FreeTag(want);
  m.body = std::move(b);
  std::vector<uint8_t> f;
  if (!Encode(m, Dialect::k9P2000L, &f).ok()) return;  // e.g. a string over 64 KiB
  SendFrame(f);
}

// Writes one frame and records what its answer must be, judging the frame
// as the server will (in the dialect the last Tversion sent selects).
void Session::SendFrame(const std::vector<uint8_t>& f) {
  if (fd_ < 0 || eof_) return;
  Message m;
  Expect e;
  e.seq = ++seq_;
  uint16_t tag = static_cast<uint16_t>(f[5] | (f[6] << 8));
  if (f.size() > kMaxMsize) return;  // would end the connection (EMSGSIZE); see kSrvRaw
  if (Decode(f, send_dialect_, &m).ok()) {
    e.type = m.type();
    if (auto* v = std::get_if<Tversion>(&m.body)) {
      e.count = v->msize;
      if (v->msize >= MINMSIZE) {
        if (v->version.substr(0, 8) == "9P2000.L")
          send_dialect_ = Dialect::k9P2000L;
        else if (v->version.substr(0, 6) == "9P2000")
          send_dialect_ = Dialect::k9P2000;
      }
    } else if (auto* r = std::get_if<Tread>(&m.body)) {
      e.count = r->count;
    } else if (auto* rd = std::get_if<Treaddir>(&m.body)) {
      e.count = rd->count;
    } else if (auto* w = std::get_if<Twalk>(&m.body)) {
      e.count = w->wname.size();
    } else if (auto* fl = std::get_if<Tflush>(&m.body)) {
      e.oldtag = fl->oldtag;
    }
  }
  pending_[tag] = e;
  sent_tags_.push_back(tag);
  size_t off = 0;
  auto deadline = std::chrono::steady_clock::now() + kAnswerDeadline;
  while (off < f.size()) {
    ssize_t n = send(fd_, f.data() + off, f.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) {
      eof_ = true;  // the server hung up (it may, on a bad frame)
      return;
    }
    // The socket is full: let the server read (and drain its answers).
    ReadReplies();
    if (eof_) return;
    if (std::chrono::steady_clock::now() > deadline) {
      Fail("the server stopped reading its connection");
      return;
    }
    uv_run(srv_->loop(), UV_RUN_ONCE);
  }
}

void Session::ReadReplies() {
  uint8_t buf[64 * 1024];
  for (;;) {
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      eof_ = true;
      break;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    rbuf_.insert(rbuf_.end(), buf, buf + n);
  }
  size_t off = 0;
  while (rbuf_.size() - off >= 4) {
    uint32_t size = PeekSize(rbuf_.data() + off);
    if (size < HDRSZ || size > kMaxMsize) {
      Fail("the server sent a frame of size " + std::to_string(size));
      rbuf_.clear();
      return;
    }
    if (rbuf_.size() - off < size) break;
    OnReply(std::span<const uint8_t>(rbuf_.data() + off, size));
    off += size;
  }
  rbuf_.erase(rbuf_.begin(), rbuf_.begin() + static_cast<std::ptrdiff_t>(off));
  if (eof_ && !rbuf_.empty()) Fail("the server's stream ended inside a frame");
}

// Reads answers; with wait_all, runs the Server until every outstanding tag
// is answered (or the connection ended, which a bad frame may cause).
void Session::Pump(bool wait_all) {
  auto deadline = std::chrono::steady_clock::now() + kAnswerDeadline;
  for (;;) {
    ReadReplies();
    if (!wait_all || pending_.empty() || eof_) return;
    if (std::chrono::steady_clock::now() > deadline) {
      std::string tags;
      for (auto& [t, e] : pending_)
        tags += " " + std::to_string(t) + "(" + std::string(MsgTypeName(e.type)) + ")";
      Fail("requests unanswered for 5 s:" + tags);
      pending_.clear();
      return;
    }
    uv_run(srv_->loop(), UV_RUN_ONCE);
  }
}

void Session::EndOlder(uint64_t seq) {
  for (auto it = pending_.begin(); it != pending_.end();)
    it = it->second.seq < seq ? pending_.erase(it) : std::next(it);
}

void Session::OnReply(std::span<const uint8_t> frame) {
  Message m;
  Status s = Decode(frame, reply_dialect_, &m);
  const uint8_t rt = frame[4];
  const uint16_t tag = static_cast<uint16_t>(frame[5] | (frame[6] << 8));
  if (!s.ok()) return Fail("an answer does not decode: " + s.message());
  const std::string what = FormatMessage(m);
  if (rt != kRlerror && rt % 2 == 0) return Fail("the server sent a T-message: " + what);
  if (rt == kRlerror && reply_dialect_ != Dialect::k9P2000L)
    return Fail("Rlerror in a 9P2000 session: " + what);
  auto it = pending_.find(tag);
  if (it == pending_.end()) return Fail("an answer to a tag not outstanding: " + what);
  const Expect e = it->second;
  pending_.erase(it);
  if (IsError(rt)) {
    if (e.type == kTversion) EndOlder(e.seq);  // the session was reset before the check
    return;
  }
  if (e.type == 0) return Fail("a frame that does not decode was answered with " + what);
  if (rt != e.type + 1)
    return Fail("answer of the wrong type to " + std::string(MsgTypeName(e.type)) + ": " + what);
  if (auto* v = std::get_if<Rversion>(&m.body)) {
    if (v->msize > e.count || v->msize > kMaxMsize) Fail("Rversion raised msize: " + what);
    if (v->version == "9P2000.L")
      reply_dialect_ = Dialect::k9P2000L;
    else if (v->version == "9P2000")
      reply_dialect_ = Dialect::k9P2000;
    else if (v->version != "unknown")
      Fail("Rversion of a version not asked for: " + what);
    EndOlder(e.seq);
  } else if (auto* r = std::get_if<Rread>(&m.body)) {
    if (r->data.size() > e.count) Fail("Rread longer than asked: " + what);
  } else if (auto* rd = std::get_if<Rreaddir>(&m.body)) {
    if (rd->data.size() > e.count) Fail("Rreaddir longer than asked: " + what);
    DirentReader dr(rd->data);
    Dirent d;
    while (dr.Next(&d)) {
    }
    if (!dr.error().ok()) Fail("Rreaddir with malformed entries: " + what);
  } else if (auto* w = std::get_if<Rwalk>(&m.body)) {
    if (w->wqid.size() > e.count || (e.count > 0 && w->wqid.size() == 0))
      Fail("Rwalk with a wrong number of qids: " + what);
  } else if (std::holds_alternative<Rflush>(m.body)) {
    auto old = pending_.find(e.oldtag);
    if (old != pending_.end() && old->second.seq < e.seq) pending_.erase(old);
  }
}

void Session::Op(FuzzIn& in) {
  if (!srv_) Connect();
  DoOp(in);
  if (!srv_) return;
  uv_run(srv_->loop(), UV_RUN_NOWAIT);
  Pump(false);
}

// One op from the input. Fields are read in the order written beside each
// case; fids are small numbers (U8 % 8, 7 = NOFID) so that ops meet.
void Session::DoOp(FuzzIn& in) {
  const uint8_t op = in.U8() % kSrvOps;
  switch (op) {
    case kSrvVersion: {  // sel[1] msize[4] (version string[s] when sel%4 == 3) tag[2]
      uint8_t sel = in.U8();
      uint32_t msize = in.U32();
      static constexpr std::string_view kV[] = {"9P2000.L", "9P2000", "9P2000.u"};
      std::string_view v = sel % 4 < 3 ? kV[sel % 4] : in.Str(16);
      return Send(Tversion{msize, v}, in, sel & 4);
    }
    case kSrvAttach: {  // flags[1] fid afid uname[s] aname(name) [n_uname[4]] tag[2]
      uint8_t fl = in.U8();
      uint32_t fid = Fid(in);
      uint32_t afid = fl & 2 ? Fid(in) : NOFID;
      std::string_view uname = in.Str(16);
      std::string_view aname = Name(in);
      uint32_t n_uname = fl & 4 ? in.U32() : NONUNAME;
      if (fl & 1) return Send(Tauth{fid, uname, aname, n_uname}, in);
      return Send(Tattach{fid, afid, uname, aname, n_uname}, in);
    }
    case kSrvWalk: {  // fid newfid n[1] names tag[2]
      Twalk w;
      w.fid = Fid(in);
      w.newfid = Fid(in);
      size_t n = in.U8() % (MAXWELEM + 1);
      for (size_t i = 0; i < n; i++) w.wname.push_back(Name(in));
      return Send(w, in);
    }
    case kSrvOpen: {  // fid mode[1] flags[4] tag[2]: Tlopen in 9P2000.L, else Topen
      uint32_t fid = Fid(in);
      uint8_t mode = in.U8();
      uint32_t flags = in.U32();
      if (Dotl()) return Send(Tlopen{fid, flags}, in);
      return Send(Topen{fid, mode}, in);
    }
    case kSrvCreate: {  // fid name perm[4] mode[1] tag[2]: Tlcreate or Tcreate
      uint32_t fid = Fid(in);
      std::string_view name = Name(in);
      uint32_t perm = in.U32();
      uint8_t mode = in.U8();
      // No device files: they are never a server's to make here.
      perm &= ~(DMDEVICE);
      if (Dotl()) return Send(Tlcreate{fid, name, perm, perm & 07777, NONUNAME}, in);
      return Send(Tcreate{fid, name, perm, mode}, in);
    }
    case kSrvRead: {  // fid offset count[2] tag[2]
      uint32_t fid = Fid(in);
      uint64_t off = Offset(in);
      uint32_t count = in.U16();
      if (count == 0xFFFF) count = 0xFFFFFFFF;
      return Send(Tread{fid, off, count}, in);
    }
    case kSrvWrite: {  // fid offset len[2] data tag[2]
      uint32_t fid = Fid(in);
      uint64_t off = Offset(in);
      auto data = in.Bytes(in.U16() % 4097);
      return Send(Twrite{fid, off, data}, in);
    }
    case kSrvClunk:  // fid tag[2]
      return Send(Tclunk{Fid(in)}, in);
    case kSrvRemove:  // fid tag[2]
      return Send(Tremove{Fid(in)}, in);
    case kSrvStat: {  // fid mask[1] tag[2]: Tgetattr in 9P2000.L, else Tstat
      uint32_t fid = Fid(in);
      uint64_t mask = in.U8() & 1 ? P9_GETATTR_ALL : P9_GETATTR_BASIC;
      if (Dotl()) return Send(Tgetattr{fid, mask}, in);
      return Send(Tstat{fid}, in);
    }
    case kSrvReaddir: {  // fid offset count[2] tag[2]
      uint32_t fid = Fid(in);
      uint64_t off = in.U8() & 1 ? in.U64() : in.U8();
      return Send(Treaddir{fid, off, in.U16()}, in);
    }
    case kSrvFlush: {  // which[1] ([oldtag[2]] when which == 255) tag[2]
      uint8_t which = in.U8();
      uint16_t old = which == 255 || sent_tags_.empty()
                         ? in.U16()
                         : sent_tags_[sent_tags_.size() - 1 - which % sent_tags_.size()];
      return Send(Tflush{old}, in);
    }
    case kSrvWstat: {  // fid valid[1] mode[4] size offset name tag[2]
      uint32_t fid = Fid(in);
      uint8_t valid = in.U8();
      uint32_t mode = in.U32() & 07777;
      uint64_t size = Offset(in);
      std::string_view name = Name(in);
      if (Dotl()) {
        Tsetattr t;
        t.fid = fid;
        t.valid = valid & (P9_SETATTR_MODE | P9_SETATTR_SIZE | P9_SETATTR_ATIME | P9_SETATTR_MTIME |
                           P9_SETATTR_CTIME);
        t.mode = mode;
        t.size = size;
        return Send(t, in);
      }
      Stat st = NullStat();
      if (valid & 1) st.mode = mode | (valid & 0x80 ? DMDIR : 0);
      if (valid & 2) st.length = size;
      if (valid & 4) st.name = name;
      if (valid & 8) st.mtime = 0;
      return Send(Twstat{fid, st}, in);
    }
    case kSrvDotl: {  // kind[1] fid fid2 name name2 mode[4] tag[2]
      uint8_t kind = in.U8() % 9;
      uint32_t fid = Fid(in), fid2 = Fid(in);
      std::string_view name = Name(in), name2 = Name(in);
      uint32_t mode = in.U32() & 07777;
      switch (kind) {
        case 0:
          return Send(Tmkdir{fid, name, mode, NONUNAME}, in);
        case 1:
          return Send(Tunlinkat{fid, name, mode & 1 ? 0x200u : 0u}, in);
        case 2:
          return Send(Trenameat{fid, name, fid2, name2}, in);
        case 3:
          return Send(Trename{fid, fid2, name}, in);
        case 4: {
          static constexpr std::string_view kT[] = {"../sentinel", "/etc/passwd", "a", "..",
                                                    "../outside/f"};
          return Send(Tsymlink{fid, name, kT[mode % 5], NONUNAME}, in);
        }
        case 5:
          return Send(Tlink{fid, fid2, name}, in);
        case 6:
          return Send(Treadlink{fid}, in);
        case 7:
          // Regular files and FIFOs only: a device node is refused by the
          // nodev sandbox anyway, but must never be made outside it.
          return Send(Tmknod{fid, name, (mode & 0777) | (mode & 0x1000 ? S_IFIFO : S_IFREG), 0, 0,
                             NONUNAME},
                      in);
        default:
          return Send(Tstatfs{fid}, in);
      }
    }
    case kSrvRaw: {  // type[1] len[2] body tag[2]: a frame with a true size field
      uint8_t type = in.U8();
      auto body = in.Bytes(in.U16() % 512);
      std::vector<uint8_t> f(HDRSZ);
      uint32_t size = static_cast<uint32_t>(HDRSZ + body.size());
      for (int i = 0; i < 4; i++) f[i] = static_cast<uint8_t>(size >> (8 * i));
      f[4] = type;
      uint16_t tag = FreeTag(in.U16());
      f[5] = static_cast<uint8_t>(tag);
      f[6] = static_cast<uint8_t>(tag >> 8);
      f.insert(f.end(), body.begin(), body.end());
      // Device files are held to the same rule as in kSrvDotl and kSrvCreate.
      Message m;
      if (Decode(f, send_dialect_, &m).ok()) {
        if (auto* mk = std::get_if<Tmknod>(&m.body)) {
          uint32_t t = mk->mode & S_IFMT;
          if (t != 0 && t != S_IFREG && t != S_IFIFO) return;
        }
        if (auto* c = std::get_if<Tcreate>(&m.body); c && (c->perm & DMDEVICE)) return;
      }
      return SendFrame(f);
    }
    case kSrvSync:
      return Pump(true);
    case kSrvClose:  // how[1]
      return Close(in.U8() & 1);
  }
}

void RunOne(FileServer* fsrv, const std::string& root, const uint8_t* data, size_t size) {
  Session s(fsrv, root);
  FuzzIn in(data, size);
  for (int i = 0; i < kMaxOps && !in.empty(); i++) s.Op(in);
  s.Close(false);
}

}  // namespace

int FuzzServerSession(const uint8_t* data, size_t size) {
  const Sandbox& sb = GetSandbox();
  {
    std::unique_ptr<FileServer> ram = NewRamfs();
    RunOne(ram.get(), "/", data, size);
  }
  if (!sb.ok) return 0;
  ResetRoot(sb);
  const std::string before = OutsideListing(sb);
  {
    auto ex = exportfs::ExportFs::Open({sb.root, false});
    if (!ex.ok()) {
      Fail("exportfs: " + ex.status().message());
      return 0;
    }
    RunOne(ex->get(), sb.root, data, size);
  }
  if (OutsideListing(sb) != before) Fail("exportfs changed something outside its root");
  return 0;
}

// Makes the sandbox while the process has one thread (LLVMFuzzerInitialize
// and the replay test call it first).
void FuzzServerSessionInit() { GetSandbox(); }

}  // namespace ninep::fuzz
