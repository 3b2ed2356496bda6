// client.h: the 9P client. One connection, many outstanding tags; an async
// core (Call) and a blocking facade (Fid) for tools, FUSE and ns.
//
// The client runs its own libuv loop on a private thread. Call() and every
// Fid method may be used from any thread at once; callbacks run on the
// client's loop thread and must not block (they may call Call(), which then
// costs no thread switch at all and is batched with other writes of that
// loop turn). A blocking call writes its request from the calling thread
// when nothing is queued ahead of it, so its only thread switch is the
// wake-up by the reply. A dead connection fails every pending call with
// ECONNRESET and every later one with EPIPE, promptly: nothing waits
// forever. -D style tracing (ClientOptions::trace) prints "-> Tmsg ..." and
// "<- Rmsg ..." lines (FormatMessage) to stderr.
// Thread-safety: Client and Fid methods are thread-safe; a single Fid
// object must not be moved or destroyed while another thread uses it.
#ifndef NINEP_CLIENT_H_
#define NINEP_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ninep/buffer.h"
#include "ninep/dir.h"
#include "ninep/status.h"
#include "ninep/tls.h"
#include "ninep/wire.h"

namespace ninep {

// How to connect.
struct ClientOptions {
  Dialect dialect = Dialect::k9P2000;
  uint32_t msize = DEFMSIZE;  // asked for; the server may lower it
  bool trace = false;         // print every message to stderr (-D)
  // Bounds Connect and FromFds as a whole: the TCP or unix connect and the
  // Tversion exchange (name resolution is not bounded). Past it they fail
  // ETIMEDOUT. 0 = no bound but the kernel's own connect timeout.
  std::chrono::milliseconds connect_timeout{15000};
  // Bounds the wait for each call's reply, from every call: Call, CallSync,
  // Attach and every Fid method (a Read or Write split into several
  // requests bounds each request, not the whole transfer). A call
  // unanswered this long is flushed (Tflush) and fails ETIMEDOUT, so a
  // server that hangs without closing the connection cannot block callers
  // forever. 0 = none. Reads of pipe-like files that wait for data
  // legitimately fail too: leave it 0 for such servers.
  std::chrono::milliseconds call_timeout{0};
  // For tls! addresses: our certificate, the CAs we trust, or a PSK file;
  // left empty, $NINEP_CERT, $NINEP_KEY, $NINEP_CA and $NINEP_PSK.
  TlsOptions tls;
};

// A reply that owns its bytes: msg's views point into frame.
struct Reply {
  Buffer frame;
  Message msg;
};

class Client;
struct Attached;

// Who ConnectAny attaches as: Client::Attach's arguments.
struct AttachSpec {
  std::string uname;
  std::string aname;
  uint32_t n_uname = NONUNAME;
};

// A client-side fid. Move-only; the destructor clunks it (without waiting)
// unless it was clunked or removed already.
class Fid {
 public:
  Fid() = default;
  Fid(Fid&& o) noexcept;
  Fid& operator=(Fid&& o) noexcept;
  Fid(const Fid&) = delete;
  Fid& operator=(const Fid&) = delete;
  ~Fid();

  // True when this handle names a live fid.
  bool valid() const { return client_ != nullptr; }
  // The fid number on the wire.
  uint32_t num() const { return num_; }
  // The qid from attach/walk/open/create.
  const Qid& qid() const { return qid_; }
  // The iounit from open/create (0 until opened, or when the server gave 0).
  uint32_t iounit() const { return iounit_; }
  // The client this fid belongs to.
  Client* client() const { return client_; }

  // Walks a slash-separated relative path ("", "a/b", "../c") from this fid
  // to a new fid, 16 names per Twalk. A walk that stops short fails with
  // ENOENT ("path: file does not exist") and creates nothing.
  Result<Fid> Walk(std::string_view path) const;
  // Opens with a 9P2000 mode (OREAD, OWRITE|OTRUNC, ...); in 9P2000.L sends
  // Tlopen with the matching Linux flags.
  Status Open(uint8_t omode);
  // Opens with Linux flags (9P2000.L only; in 9P2000 the flags are mapped).
  Status OpenFlags(uint32_t lflags);
  // Creates `name` in this directory fid, which becomes the open new file
  // (Tcreate or Tlcreate; perm may carry DMDIR in 9P2000; in 9P2000.L a
  // DMDIR perm sends Tmkdir and then walks this fid to the new directory).
  Status Create(std::string_view name, uint32_t perm, uint8_t omode);
  // Reads up to buf.size() bytes at offset, splitting at iounit/msize; stops
  // early only at EOF. Returns the bytes read.
  Result<size_t> Read(uint64_t offset, std::span<uint8_t> buf);
  // One Tread of at most min(count, iounit) bytes (for pipe-like files).
  Result<size_t> ReadOnce(uint64_t offset, std::span<uint8_t> buf);
  // Writes all of data at offset, splitting at iounit/msize.
  Result<size_t> Write(uint64_t offset, std::span<const uint8_t> data);
  // Reads a whole directory (REQUIRES: opened for reading): stat entries in
  // 9P2000, Treaddir entries (then Tgetattr of nothing: names, qids and types
  // only, l.valid = 0) in 9P2000.L.
  Result<std::vector<Dir>> ReadDir();
  // The file's attributes (Tstat, or Tgetattr ALL in 9P2000.L). In 9P2000.L
  // the server sends no name: Dir.name is the last element this fid was
  // walked or created with ("/" for an attach root, ".." if walked so).
  Result<Dir> Stat();
  // Changes attributes. In 9P2000 sends Twstat of `d` (NullStat-style
  // "leave unchanged" values are honoured); in 9P2000.L maps mode, length,
  // mtime/atime (and numeric uid/gid) to Tsetattr; a new name fails EINVAL
  // there, since renaming needs the parent directory (send Trenameat or
  // Trename with Client::Call).
  Status Wstat(const Dir& d);
  // Removes the file and frees the fid (even when the remove fails).
  Status Remove();
  // Clunks now and waits; the handle becomes invalid.
  Status Clunk();

 private:
  friend class Client;
  Fid(Client* c, uint32_t num, Qid q, std::string name = {})
      : client_(c), num_(num), qid_(q), name_(std::move(name)) {}
  void Release();
  // Read/Write's loop: pipelined Treads or Twrites of one maximal run.
  Result<size_t> Transfer(uint64_t offset, uint8_t* rbuf, const uint8_t* wbuf, size_t len);
  Client* client_ = nullptr;
  uint32_t num_ = NOFID;
  Qid qid_;
  uint32_t iounit_ = 0;
  std::string name_;  // last walked element (9P2000.L Stat has no name)
};

// A 9P connection.
class Client {
 public:
  // Called once with the outcome of a Call, on the client's loop thread. An
  // Rerror/Rlerror reply arrives as an error Status (the errno from Rlerror,
  // or TextToErrno of Rerror's text, with that text as message).
  using Callback = std::function<void(Result<Reply>)>;
  // Identifies a call for Cancel.
  using CallId = uint64_t;

  // Dials `addr` (a dial string), negotiates version and msize. Fails with
  // the reason ("dial tcp!...: Connection refused", "version: server
  // speaks 9P2000 only").
  static Result<std::unique_ptr<Client>> Connect(std::string_view addr, const ClientOptions& opts);
  // Same over an already connected pair of fds (the client takes them).
  static Result<std::unique_ptr<Client>> FromFds(int rfd, int wfd, const ClientOptions& opts);
  // Dials a list of servers that serve the same tree, `addr[,addr...]`
  // (ParseDialList), and on each negotiates and attaches as `who`: from
  // the address at index `first` (modulo the list's length) on, wrapping
  // around, the first to get through all three answers. A failing step
  // moves on to the next address; connect_timeout bounds each address
  // alone. A single address fails as Connect does, or "attach ANAME: why".
  // When every one of several fails, the error names each address with its
  // reason ("dial tcp!h!1: Connection refused; h:2: attach /x: permission
  // denied", joined by "; ") and carries the last one's errno. A malformed
  // entry fails EINVAL before anything is dialled. Blocks the caller.
  static Result<Attached> ConnectAny(std::string_view addrs, const ClientOptions& opts,
                                     const AttachSpec& who, size_t first = 0);

  // Fails every pending call, closes the connection and joins the thread.
  // REQUIRES: not called from a callback. Fids must be gone first.
  ~Client();

  // Sends a T-message (any thread). Views in `t` need only live until Call
  // returns (it encodes at once). The tag is chosen by the client; fids in
  // `t` are the caller's (see AllocFid). cb runs exactly once.
  CallId Call(const Body& t, Callback cb);
  // Blocking Call; timeout 0 uses ClientOptions::call_timeout (0 = none).
  Result<Reply> CallSync(const Body& t, std::chrono::milliseconds timeout = {});
  // Sends Tflush for a pending call. Its callback then gets ECANCELED
  // (unless the reply won the race, which then stands).
  void Cancel(CallId id);

  // Attaches and returns the root fid (n_uname NONUNAME in 9P2000.L unless
  // given).
  Result<Fid> Attach(std::string_view uname, std::string_view aname, uint32_t n_uname = NONUNAME);

  // Reserves a fid number not in use; FreeFid returns it (after Tclunk).
  uint32_t AllocFid();
  void FreeFid(uint32_t fid);
  // Wraps a fid number the caller walked itself into a handle.
  Fid Adopt(uint32_t fid, Qid qid);

  // The negotiated dialect and msize, and the largest read/write payload.
  Dialect dialect() const { return dialect_; }
  uint32_t msize() const { return msize_; }
  uint32_t MaxIO() const { return msize_ - IOHDRSZ; }
  // False once the connection has died.
  bool alive() const;
  // Requests sent and not yet answered (Tflush and a flushed request
  // whose Rflush is still due count too).
  size_t Outstanding() const;
  // Waits until no request is outstanding, so a caller may hang up without
  // the server answering into a closed socket (a Fid's destructor clunks
  // without waiting). Returns OK once Outstanding() is 0 with the
  // connection alive; the connection's error (EPIPE, naming why it died)
  // if it is dead, at once or as soon as it dies (its pending calls have
  // then all failed); ETIMEDOUT if `timeout` (0 = none) passes first;
  // EDEADLK on the client's loop thread, where it would wait forever.
  // Calls made meanwhile by other threads or callbacks are waited for too.
  Status WaitIdle(std::chrono::milliseconds timeout = {});

  // The implementation (internal to lib9p; opaque here).
  class Impl;

 private:
  friend class Fid;
  explicit Client(std::unique_ptr<Impl> impl);
  static Result<std::unique_ptr<Client>> Finish(std::unique_ptr<Impl> impl,
                                                std::chrono::steady_clock::time_point deadline);
  std::unique_ptr<Impl> impl_;
  Dialect dialect_ = Dialect::k9P2000;
  uint32_t msize_ = 0;
};

// A connection ConnectAny made: the client, the root fid attached on it,
// and which address of the list answered. Move-only; the root is always
// released before its client, on destruction and on assignment.
struct Attached {
  Attached(std::unique_ptr<Client> c, Fid r, size_t i, std::string a)
      : client(std::move(c)), root(std::move(r)), index(i), addr(std::move(a)) {}
  Attached(Attached&&) noexcept = default;
  // Releases this root, then takes o's client and root (a defaulted
  // assignment would free the old client while its root still used it).
  Attached& operator=(Attached&& o) noexcept {
    if (this == &o) return *this;
    root = Fid();
    client = std::move(o.client);
    root = std::move(o.root);
    index = o.index;
    addr = std::move(o.addr);
    return *this;
  }
  ~Attached() = default;  // root, declared after client, goes first

  std::unique_ptr<Client> client;
  Fid root;
  size_t index = 0;  // the answering address's place in the list
  std::string addr;  // the answering address, as the list spelled it
};

}  // namespace ninep

#endif  // NINEP_CLIENT_H_
