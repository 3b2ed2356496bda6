// transport.h: dial strings, listeners and framed connections on libuv.
//
// A Conn carries whole 9P frames over a byte stream (TCP, a unix socket, or
// an inherited pair of fds such as stdin/stdout). It handles partial reads,
// many frames in one read, frames larger than one read, and backpressure:
// the owner pauses reading while too much work or output is queued.
// Thread-safety: a Conn and a Listener belong to the thread running their
// loop; every method must be called on that thread. TLS (tls!host!port,
// tls!unix!/path; ninep/tls.h) is the same interface over TLS 1.3.
#ifndef NINEP_TRANSPORT_H_
#define NINEP_TRANSPORT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ninep/buffer.h"
#include "ninep/status.h"
#include "ninep/tls.h"

// libuv's loop, declared rather than included: only code that runs its
// own handles on the loop needs <uv.h> (C++ allows this typedef again).
struct uv_loop_s;
typedef struct uv_loop_s uv_loop_t;  // NOLINT(modernize-use-using): libuv's spelling

namespace ninep {

inline constexpr uint16_t kDefaultPort = 564;

// A parsed Plan 9 dial string.
struct DialAddr {
  enum Kind { kTcp, kUnix } kind = kTcp;
  std::string host;  // tcp: name or numeric address; "*" (listen) = any
  uint16_t port = kDefaultPort;
  std::string path;  // unix: socket path
  bool tls = false;  // tls!...: TLS 1.3 over the tcp or unix stream
};

// Parses `tcp!host!port`, `tcp!host` (port 564), `unix!/path`, `host:port`,
// `[v6addr]:port`, a bare `host` (port 564), or a bare absolute path (unix).
// `net!` is taken as tcp; `tls!host!port` and `tls!unix!/path` are the same
// under TLS. Port may be a number or "9fs"/"564". Errors:
// EINVAL with the reason.
Result<DialAddr> ParseDial(std::string_view s);

// Formats an address as a dial string: `tcp!127.0.0.1!40123`, `unix!/p`.
std::string FormatDial(const DialAddr& a);

// Splits a client's address list, `addr[,addr...]` (servers that serve
// the same tree, tried in turn: Client::ConnectAny), into its dial
// strings, each checked with ParseDial. A comma always separates, so a
// unix socket path holding one cannot be named. Errors: EINVAL naming the
// bad entry; an empty entry (`a,,b`, a trailing comma) is one.
Result<std::vector<std::string>> ParseDialList(std::string_view s);

// One framed byte stream. Created by Dial, by a Listener, or from fds.
class Conn {
 public:
  // Called with each whole frame (size[4] included). The span is valid only
  // during the call, unless the callee takes the bytes with TakeFrame.
  using FrameFn = std::function<void(std::span<const uint8_t> frame)>;
  // Called once when the stream ends: OK for a clean EOF, else the error.
  // After it the Conn reads and writes nothing more; the owner may Close.
  using CloseFn = std::function<void(const Status&)>;

  virtual ~Conn() = default;

  // Starts reading. REQUIRES: called once.
  virtual void Start(FrameFn on_frame, CloseFn on_close) = 0;
  // Frames larger than this end the connection with EMSGSIZE (default
  // 8 MiB until set; set it to the negotiated msize).
  virtual void SetMaxFrame(uint32_t max) = 0;
  // Queues one whole frame for writing; takes ownership of the bytes.
  // Frames queued during one loop turn go out together in one writev
  // before the loop next waits. Frames sent after the stream ended (or
  // after Close) are dropped.
  virtual void Send(Buffer frame) = 0;
  // Inside a FrameFn: the frame being delivered, as an owned Buffer. A
  // large frame that filled a read buffer of its own is taken without a
  // copy (same address as the span); others are copied, so decode views
  // from the Buffer, not the span. REQUIRES: at most once per frame.
  virtual Buffer TakeFrame() = 0;
  // Bytes queued for writing and not yet accepted by the kernel.
  virtual size_t QueuedBytes() const = 0;
  // Called when QueuedBytes() drops to 0 after having been above 0.
  virtual void OnDrain(std::function<void()> fn) = 0;
  // Stops and resumes delivering frames (backpressure).
  virtual void PauseReading() = 0;
  virtual void ResumeReading() = 0;
  // Closes the stream after queued writes are flushed: the flush goes on
  // while the peer keeps reading and is abandoned after five seconds in which
  // it took nothing (a dead or stuck peer). The close callback is not called
  // for a Close the owner asked for. The Conn may be destroyed right after
  // Close returns: the handle's memory lives until libuv's close callback.
  virtual void Close() = 0;
  // The peer, as a dial string ("tcp!127.0.0.1!5555", "unix", "fd").
  virtual std::string Peer() const = 0;
  // The fd frames are written to, or -1 when the transport cannot allow
  // writes that bypass it (TLS). A client may write whole frames to it from
  // another thread, non-blocking, but only while QueuedBytes() is 0 and it
  // has itself stopped calling Send until OnDrain: the bytes then go out in
  // order. The fd is closed when the Conn ends (after the close callback or
  // Close), so the writer must stop first.
  virtual int WriteFd() const { return -1; }
  // The identity the peer proved with TLS (ninep/tls.h: certificate CN or
  // SAN, or PSK identity); "" when it proved none (plain 9P, or TLS
  // without client authentication).
  virtual std::string Identity() const { return ""; }
  // True when the stream is TLS.
  virtual bool Secure() const { return false; }
};

// Connects (blocking the calling thread for the connect only, at most
// `timeout` over every address the name resolves to; 0 = the kernel's own
// bound; name resolution is not bounded) and returns a Conn bound to
// `loop`. Past the timeout it fails ETIMEDOUT. Names resolve to IPv4 or IPv6; TCP
// gets TCP_NODELAY. Errors carry the dial string: "dial tcp!h!1:
// Connection refused".
// Dial, ConnFromFds and Listen set SIGPIPE to ignored if it was left at its
// default, so a peer that hangs up gives EPIPE instead of killing us.
// A tls! address also runs the TLS handshake within the timeout, with
// `tls` (empty: TlsOptionsFromEnv()); a server that refuses our
// certificate fails it here ("tls: the server refused us: ...").
Result<std::unique_ptr<Conn>> Dial(uv_loop_t* loop, const DialAddr& addr,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(15),
                                   const TlsOptions& tls = TlsOptions());

// A Conn reading from rfd and writing to wfd (they may be equal), such as
// stdin/stdout for servers run by inetd, ssh or a test harness. Each fd must
// be a pipe or a socket (a regular file, directory or terminal fails EINVAL
// with the reason). On success the Conn owns the fds (and makes them
// non-blocking); on failure the caller still does.
Result<std::unique_ptr<Conn>> ConnFromFds(uv_loop_t* loop, int rfd, int wfd);

// A listening socket; hands each accepted connection to a callback.
class Listener {
 public:
  using AcceptFn = std::function<void(std::unique_ptr<Conn>)>;
  virtual ~Listener() = default;
  // The bound address as a dial string; for port 0 the port chosen.
  virtual std::string BoundAddress() const = 0;
  // Stops accepting; the Listener may be destroyed right after.
  virtual void Close() = 0;
};

// Binds and listens on `addr` (tcp "*" = all IPv4 addresses, port 0 = any
// free port; unix: removes a stale socket file first, but refuses a file
// that is not a socket or a socket someone still listens on; Close removes
// the socket file). Each accepted Conn goes to on_accept, on the loop.
// A tls! address loads `tls` now (errors name the file) and hands
// on_accept only connections whose handshake succeeded; a failed or
// stalled (10 s) handshake is closed and reported to `log` as one line.
Result<std::unique_ptr<Listener>> Listen(uv_loop_t* loop, const DialAddr& addr,
                                         Listener::AcceptFn on_accept,
                                         const TlsOptions& tls = TlsOptions(),
                                         std::function<void(const std::string&)> log = nullptr);

}  // namespace ninep

#endif  // NINEP_TRANSPORT_H_
