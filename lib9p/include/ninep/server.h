// server.h: the 9P server framework. A file server implements FileServer;
// Server runs it on a libuv loop for any number of connections, in both
// dialects.
//
// The one rule: every request a handler receives is answered exactly once,
// with Respond() or Fail(), now or later, from any thread. Answers from other
// threads are posted back to the loop. A request destroyed unanswered is
// answered EIO and logged as a bug. Handlers are called on the loop thread
// and must not block: blocking work goes to Server::Offload (a worker pool).
//
// The framework checks each request before the handler sees it (unknown
// fid, fid in use, open mode vs operation, count clamped to msize - IOHDRSZ,
// directory read offsets), keeps fid state (qid, open mode) up to date after
// the answer, and translates 9P2000.L into the same calls: a server written
// once for 9P2000 answers Tlopen, Tlcreate, Tgetattr, Tsetattr, Treaddir,
// Tmkdir, Trenameat, Tunlinkat and Tstatfs with no dialect code of its own.
// Servers that can do more (symlinks, xattrs, locks) override the optional
// 9P2000.L hooks. See man3/lib9p.3 and srv/ramfs for a whole server.
// Thread-safety: Server methods on the loop thread unless said otherwise;
// Request::Respond/Fail from any thread.
#ifndef NINEP_SERVER_H_
#define NINEP_SERVER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ninep/dir.h"
#include "ninep/status.h"
#include "ninep/task.h"
#include "ninep/tls.h"
#include "ninep/wire.h"

// libuv's loop, declared rather than included: only code that runs its
// own handles on the loop needs <uv.h> (C++ allows this typedef again).
struct uv_loop_s;
typedef struct uv_loop_s uv_loop_t;  // NOLINT(modernize-use-using): libuv's spelling

namespace ninep {

class Server;

// A fid as the server sees it. The framework owns the table; a request
// holds a reference, so a fid clunked during a request stays alive until
// that request is answered. `aux` is the file server's: it is released
// with the last reference (use RAII there for cleanup that must happen when
// the fid goes away).
struct SrvFid {
  uint32_t num = NOFID;
  Qid qid;
  int omode = -1;       // -1: not open; else the 9P2000 open mode
  uint32_t lflags = 0;  // Linux open flags when opened by Tlopen/Tlcreate
  std::string uname;    // from the attach that made this fid's tree
  uint32_t n_uname = NONUNAME;
  std::shared_ptr<void> aux;

  // The aux pointer as T (the file server knows what it stored).
  template <class T>
  T* Aux() const {
    return static_cast<T*>(aux.get());
  }
  // True when the qid is a directory's.
  bool IsDir() const { return (qid.type & QTDIR) != 0; }

  // Framework state for directory reads (9P2000 byte offset -> cookie).
  uint64_t dir_offset = 0;
  uint64_t dir_cookie = 0;
};
using FidRef = std::shared_ptr<SrvFid>;

namespace internal {
struct ReqState;
bool ReqFlushed(const ReqState* st);
void ReqOnFlush(ReqState* st, std::function<void()> fn);
const std::string& ReqUname(const ReqState* st);
const std::string& ReqPeer(const ReqState* st);
const std::string& ReqIdentity(const ReqState* st);
void ReportDoubleAnswer();
}  // namespace internal

// Base of every request: answered exactly once. Move-only.
template <class Out>
class Request {
 public:
  using OutType = Out;
  using Done = std::function<void(Result<Out>)>;
  Request(std::shared_ptr<internal::ReqState> st, Done done)
      : st_(std::move(st)), done_(std::move(done)) {}
  Request(Request&& o) noexcept : st_(std::move(o.st_)), done_(std::move(o.done_)) {
    o.done_ = nullptr;
  }
  Request& operator=(Request&& o) noexcept {
    if (this != &o) {
      if (done_) Fail(Status(EIO, "bug: request overwritten unanswered"));
      st_ = std::move(o.st_);
      done_ = std::move(o.done_);
      o.done_ = nullptr;
    }
    return *this;
  }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;
  ~Request() {
    if (done_) done_(Status(EIO, "bug: request dropped unanswered"));
  }

  // Answers with success. Any thread. REQUIRES: not answered yet (a second
  // answer is logged as a bug and ignored).
  void Respond(Out out) { Answer(Result<Out>(std::move(out))); }
  // Answers with an error. Any thread. REQUIRES: not answered yet.
  void Fail(Status s) { Answer(Result<Out>(std::move(s))); }
  // True until Respond or Fail has been called.
  bool pending() const { return static_cast<bool>(done_); }
  // True once a Tflush (or Tversion, or the connection's end) asked that
  // this request stop; the handler should answer soon (any answer will do).
  bool Flushed() const { return internal::ReqFlushed(st_.get()); }
  // Registers fn to run (on the loop thread) when the request is flushed;
  // runs it at once if already flushed. For handlers that wait on events
  // (a blocking read of a pipe-like file). Any thread.
  void OnFlush(std::function<void()> fn) { internal::ReqOnFlush(st_.get(), std::move(fn)); }
  // The user name the connection attached as (for permission checks).
  const std::string& uname() const { return internal::ReqUname(st_.get()); }
  // The peer's dial string ("tcp!127.0.0.1!4711"), for audit logs.
  const std::string& peer() const { return internal::ReqPeer(st_.get()); }
  // The identity the peer proved with TLS (its certificate's or PSK's
  // user, the only uname it may attach as), "" when it proved none. A
  // server started as root acts as this user (cmdfs runs commands as it).
  const std::string& identity() const { return internal::ReqIdentity(st_.get()); }
  // The framework's per-request state; for the framework's own chaining.
  const std::shared_ptr<internal::ReqState>& state() const { return st_; }

 private:
  void Answer(Result<Out> r) {
    if (!done_) {
      internal::ReportDoubleAnswer();
      return;
    }
    auto d = std::move(done_);
    done_ = nullptr;
    d(std::move(r));
  }
  std::shared_ptr<internal::ReqState> st_;
  Done done_;
};

// An empty answer.
struct Empty {};
// The answer to open and create.
struct OpenOut {
  Qid qid;
  uint32_t iounit = 0;  // 0: the client uses msize - IOHDRSZ
};
// One directory entry for ReadDir: the file and the cookie to resume after it.
struct DirEntry {
  Dir dir;
  uint64_t next = 0;  // opaque, nonzero cookie: ReadDir from here resumes after this entry
};

// Tattach. Set fid->aux and answer the root's qid.
struct AttachReq : Request<Qid> {
  using Request::Request;
  FidRef fid;
  FidRef afid;  // null for NOFID
  std::string_view uname, aname;
  uint32_t n_uname = NONUNAME;
};
// Twalk of names.size() names (0..16) from fid. Set newfid->aux (newfid is a
// fresh SrvFid, never fid itself; the framework installs it, replacing fid
// when the client asked newfid == fid) and answer the qids walked. Answer
// fewer qids than names when a later name fails (the framework then creates
// no newfid); Fail when the first name fails. ".." from the root must stay
// at the root.
struct WalkReq : Request<std::vector<Qid>> {
  using Request::Request;
  FidRef fid, newfid;
  WalkArray<std::string_view> names;
};
// Topen / Tlopen: open fid. mode is the 9P2000 mode (mapped from lflags for
// Tlopen); lflags holds the Linux flags (mapped from mode for Topen).
struct OpenReq : Request<OpenOut> {
  using Request::Request;
  FidRef fid;
  uint8_t mode = 0;
  uint32_t lflags = 0;
};
// Tcreate / Tlcreate / Tmkdir: create `name` in the directory fid; fid then
// refers to the new file, opened with mode (set fid->aux). perm holds DM
// bits (DMDIR for a directory) and permission bits; gid is 9P2000.L's.
struct CreateReq : Request<OpenOut> {
  using Request::Request;
  FidRef fid;
  std::string_view name;
  uint32_t perm = 0;
  uint8_t mode = 0;
  uint32_t lflags = 0;
  uint32_t gid = NONUNAME;
};
// Tread of a file (not a directory). Write up to buf.size() bytes into buf
// (which lives in the reply frame, so nothing is copied) and answer how many.
// buf.size() is already clamped to msize - IOHDRSZ.
struct ReadReq : Request<uint32_t> {
  using Request::Request;
  FidRef fid;
  uint64_t offset = 0;
  std::span<uint8_t> buf;
};
// Tread of a directory (9P2000) or Treaddir (9P2000.L). Answer entries in
// order starting after `cookie` (0 = from the start); any number will do (an
// empty vector means the end): the framework packs the ones that fit in
// count bytes and resumes from the last packed entry's `next`.
struct ReadDirReq : Request<std::vector<DirEntry>> {
  using Request::Request;
  FidRef fid;
  uint64_t cookie = 0;
  uint32_t count = 0;  // bytes the client asked for (a hint)
};
// Twrite. Answer the bytes written.
struct WriteReq : Request<uint32_t> {
  using Request::Request;
  FidRef fid;
  uint64_t offset = 0;
  std::span<const uint8_t> data;
};
// Tclunk (and the implicit clunks of Tversion and a closed connection).
// The fid is already out of the table; the answer's error is reported to
// the client but the fid is gone either way.
struct ClunkReq : Request<Empty> {
  using Request::Request;
  FidRef fid;
};
// Tremove: remove the file. The fid is gone whatever the answer.
struct RemoveReq : Request<Empty> {
  using Request::Request;
  FidRef fid;
};
// Tstat / Tgetattr (by default): describe the file.
struct StatReq : Request<Dir> {
  using Request::Request;
  FidRef fid;
};
// Twstat / Tsetattr (by default): change what `d` does not leave unchanged
// (NullStat values: ~0 numbers, empty strings). A new name renames within
// the same directory. `setattr` holds the 9P2000.L request when it came as
// Tsetattr (valid == 0 otherwise), for uid/gid/ctime that Stat cannot say.
struct WstatReq : Request<Empty> {
  using Request::Request;
  FidRef fid;
  Stat d;
  Tsetattr setattr;
};
// Tflush of a request the handler still holds is delivered through
// Request::OnFlush; nothing to implement here.

// Optional 9P2000.L requests, carrying the decoded message. Fids named in the
// message are resolved: fid (the message's first fid) and fid2 (dfid,
// newdirfid or newfid). The views live until the answer.
template <class T, class Out>
struct DotlReq : Request<Out> {
  using Request<Out>::Request;
  T in;
  FidRef fid, fid2;
};
using GetattrReq = DotlReq<Tgetattr, Rgetattr>;
using StatfsReq = DotlReq<Tstatfs, Rstatfs>;
using SymlinkReq = DotlReq<Tsymlink, Qid>;
using MknodReq = DotlReq<Tmknod, Qid>;
using ReadlinkReq = DotlReq<Treadlink, std::string>;
using LinkReq = DotlReq<Tlink, Empty>;          // fid = dfid, fid2 = fid
using RenameReq = DotlReq<Trename, Empty>;      // fid = fid, fid2 = dfid
using RenameatReq = DotlReq<Trenameat, Empty>;  // fid = olddir, fid2 = newdir
using UnlinkatReq = DotlReq<Tunlinkat, Empty>;  // fid = dir
using MkdirReq = DotlReq<Tmkdir, Qid>;          // fid = dfid
using FsyncReq = DotlReq<Tfsync, Empty>;
using LockReq = DotlReq<Tlock, uint8_t>;  // answer a P9_LOCK_* status
using GetlockReq = DotlReq<Tgetlock, Rgetlock>;
using XattrwalkReq = DotlReq<Txattrwalk, uint64_t>;  // fid2 = newfid (fresh); answer size
using XattrcreateReq = DotlReq<Txattrcreate, Empty>;

// What a file server implements. Methods left alone get the default named
// beside them; a default that says "via X" is built by the framework from
// the server's other methods.
class FileServer {
 public:
  virtual ~FileServer() = default;

  // Required.
  virtual void Attach(AttachReq r) = 0;
  virtual void Walk(WalkReq r) = 0;
  virtual void Stat(StatReq r) = 0;

  // Default: succeeds (qid from fid, iounit 0) for OREAD on anything; other
  // modes fail EACCES unless overridden.
  virtual void Open(OpenReq r);
  virtual void Create(CreateReq r);    // default: EACCES
  virtual void Read(ReadReq r);        // default: EACCES
  virtual void ReadDir(ReadDirReq r);  // default: empty directory
  virtual void Write(WriteReq r);      // default: EACCES
  virtual void Clunk(ClunkReq r);      // default: OK
  virtual void Remove(RemoveReq r);    // default: EACCES
  virtual void Wstat(WstatReq r);      // default: EACCES
  // Tauth: default fails ENOENT "authentication not required" (diod's
  // clients read ENOENT as "no authentication needed").
  virtual void Auth(AttachReq r);

  // Optional 9P2000.L hooks.
  virtual void Getattr(GetattrReq r);      // default: via Stat
  virtual void Statfs(StatfsReq r);        // default: a synthetic answer
  virtual void Mkdir(MkdirReq r);          // default: via Walk(clone) + Create(DMDIR)
  virtual void Unlinkat(UnlinkatReq r);    // default: via Walk(name) + Remove
  virtual void Renameat(RenameatReq r);    // default: same dir via Walk + Wstat(name), else EXDEV
  virtual void Rename(RenameReq r);        // default: via Wstat(name) on fid
  virtual void Symlink(SymlinkReq r);      // default: EOPNOTSUPP
  virtual void Mknod(MknodReq r);          // default: EOPNOTSUPP
  virtual void Readlink(ReadlinkReq r);    // default: EINVAL
  virtual void Link(LinkReq r);            // default: EOPNOTSUPP
  virtual void Fsync(FsyncReq r);          // default: OK
  virtual void Lock(LockReq r);            // default: P9_LOCK_SUCCESS
  virtual void Getlock(GetlockReq r);      // default: unlocked
  virtual void Xattrwalk(XattrwalkReq r);  // default: EOPNOTSUPP
  virtual void Xattrcreate(XattrcreateReq r);  // default: EOPNOTSUPP

  // Called once on the loop thread when the Server starts, so the file
  // server can reach Offload and Loop. The pointer stays valid for the
  // FileServer's life on that Server.
  virtual void Started(Server* srv) { (void)srv; }
};

// Per-message counters, for observability files (exportfs's ctl tree).
struct ServerStats {
  std::atomic<uint64_t> connections{0};  // open now
  std::atomic<uint64_t> connections_total{0};
  std::atomic<uint64_t> bytes_in{0}, bytes_out{0};
  std::atomic<uint64_t> pauses{0};             // times a connection stopped reading (backpressure)
  std::atomic<uint64_t> refused{0};            // connections closed at once: max_conns reached
  std::atomic<uint64_t> count[256] = {};       // T-messages by type
  std::atomic<uint64_t> errors[256] = {};      // answered with an error, by T type
  std::atomic<uint64_t> latency_us[256] = {};  // summed request latency, by T type
  std::atomic<uint64_t> pending[256] = {};     // received and not yet answered, by T type
};

// Server options.
struct ServerOptions {
  uint32_t max_msize = DEFMSIZE;  // largest msize we agree to
  bool trace = false;             // -D: one line per message on stderr
  bool dotl = true;               // accept 9P2000.L
  std::string trace_prefix;       // e.g. program name
  // Limits on what one peer can make the server hold. Each is far above
  // what a real client uses (Linux v9fs, diod's tools, mount9p holding a fid
  // per cached inode); see "Limits" in lib9p(3).
  //
  // Fids per connection: a Tattach, Tauth, Twalk or Txattrwalk that would
  // add one more fails EMFILE "too many fids"; the session goes on, and
  // clunked fids make room again.
  size_t max_fids = 1 << 20;
  // Connections served at once: one more is closed as soon as it is
  // accepted, with one line on stderr.
  size_t max_conns = 1024;
  // Backpressure (the peer waits, nothing fails): stop reading a connection
  // while this many of its requests are being handled (those a Tversion
  // abandoned included, until their handler answers), while their
  // frames and reserved Tread answers hold this many bytes, or while this
  // many bytes of answers wait to be written.
  size_t max_inflight = 4096;
  size_t max_inflight_bytes = 16 << 20;
  size_t max_queued_bytes = 16 << 20;
  // Worker threads for Offload (blocking disk or process work).
  int workers = 16;
  // TLS for tls! listen addresses (certificate, CA, CRL, PSK files).
  TlsOptions tls;
  // Who may attach (empty: anyone) and who may only read: for them
  // Twrite, Tcreate, Tremove, Twstat, an open for writing and their
  // 9P2000.L kin fail EROFS, whatever the file server would do. With TLS
  // client authentication a Tattach must also name the proved identity.
  std::vector<std::string> allow, readonly;
};

// Serves one FileServer on one loop.
class Server {
 public:
  // `fs` must outlive the Server. The loop is created and owned here.
  Server(FileServer* fs, ServerOptions opts);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Listens on a dial string; returns the bound address ("tcp!127.0.0.1!40123").
  // May be called several times before Run.
  Result<std::string> Listen(std::string_view addr);
  // Serves one connection over rfd/wfd (stdin/stdout with -s); the loop
  // stops when it ends if nothing else is being served.
  Status ServeFds(int rfd, int wfd);
  // Runs the loop until Stop or until nothing is left to serve.
  void Run();
  // Stops Run: closes listeners and connections. Any thread; signal-safe
  // enough for use from a signal handler thread via uv_async.
  void Stop();

  // Runs fn on a worker thread (never the loop thread). Any thread.
  void Offload(Task fn);
  // Runs fn on the loop thread soon. Any thread.
  void Post(Task fn);
  // The loop, for timers and process handles of the file server (include
  // <uv.h> to use it).
  uv_loop_t* loop();
  // Live counters.
  const ServerStats& stats() const;
  // The options in force.
  const ServerOptions& options() const;

  // The framework's internals (lib9p/src/server_internal.h).
  struct Impl;

 private:
  friend void StopOnSignals(Server* srv);
  std::unique_ptr<Impl> impl_;
};

// Installs SIGINT/SIGTERM/SIGHUP handling that calls srv->Stop(), and
// ignores SIGPIPE. Server mains get it through ninep/server_cmdline.h.
void StopOnSignals(Server* srv);

}  // namespace ninep

#endif  // NINEP_SERVER_H_
