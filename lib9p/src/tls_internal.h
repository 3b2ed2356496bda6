// tls_internal.h: TLS 1.3 over in-memory buffers, for transport.cc. A TlsSession
// never touches a socket: the transport feeds it the bytes it read and
// sends the bytes it produced, so a handshake is driven by the libuv loop
// (server) or by a bounded poll loop (Dial) and never blocks a loop.
// Thread-safety: a TlsContext is immutable once made and may be shared; a
// TlsSession belongs to one thread.
#ifndef NINEP_SRC_TLS_INTERNAL_H_
#define NINEP_SRC_TLS_INTERNAL_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ninep/buffer.h"
#include "ninep/status.h"
#include "ninep/tls.h"

typedef struct ssl_ctx_st SSL_CTX;  // NOLINT(modernize-use-using): OpenSSL's spelling
typedef struct ssl_st SSL;          // NOLINT(modernize-use-using)
typedef struct bio_st BIO;          // NOLINT(modernize-use-using)

namespace ninep::internal {

// An SSL_CTX made from TlsOptions, for one side.
class TlsContext {
 public:
  // Loads every file now; errors name the file and OpenSSL's reason.
  static Result<std::shared_ptr<TlsContext>> ForServer(const TlsOptions& o);
  static Result<std::shared_ptr<TlsContext>> ForClient(const TlsOptions& o);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  bool server() const { return server_; }
  // Server: the key of a PSK identity, or null. A "" entry is the key
  // for any identity.
  const std::vector<uint8_t>* FindPsk(const std::string& identity) const;
  // Client: the identity and key to offer, when a PSK file was given.
  bool has_psk() const { return !psk_key_.empty(); }
  const std::string& psk_identity() const { return psk_identity_; }
  const std::vector<uint8_t>& psk_key() const { return psk_key_; }

 private:
  TlsContext() = default;
  SSL_CTX* ctx_ = nullptr;
  bool server_ = false;
  std::map<std::string, std::vector<uint8_t>> psks_;  // server
  std::string psk_identity_;                          // client
  std::vector<uint8_t> psk_key_;                      // client
};

// One TLS connection's state, over in-memory buffers.
class TlsSession {
 public:
  // A server session; its peer is named in errors.
  static std::unique_ptr<TlsSession> NewServer(std::shared_ptr<TlsContext> ctx);
  // A client session that checks the server's certificate names `host`
  // (an address or a name; "" for unix sockets: no name check).
  static Result<std::unique_ptr<TlsSession>> NewClient(std::shared_ptr<TlsContext> ctx,
                                                       const std::string& host);
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Bytes received from the peer, copied.
  void Feed(const uint8_t* p, size_t n);
  // Bytes received from the peer, read in place: the caller keeps them
  // unchanged until it calls Keep(), which copies what is still unread.
  // Saves a copy of every byte on the bulk path.
  void Lend(const uint8_t* p, size_t n);
  void Keep();
  // Advances the handshake: true when complete, false when it needs more
  // input; an error ("tls handshake: certificate verify failed: ...").
  Result<bool> Handshake();
  bool done() const { return done_; }
  // Decrypts into buf: the bytes produced (> 0), 0 when more input is
  // needed, or -1 with *err set (OK for the peer's close_notify).
  long Read(uint8_t* buf, size_t len, Status* err);
  // Encrypts data; the records wait in TakeOutput.
  Status Write(const uint8_t* p, size_t n);
  // Bytes to send to the peer (handshake messages, records, alerts).
  size_t PendingOutput() const;
  Buffer TakeOutput();
  // After the handshake: the peer's identity (certificate CN, else first
  // DNS SAN, else first email SAN; the PSK identity), "" when the peer did
  // not authenticate.
  const std::string& identity() const { return identity_; }
  // Client: true once the server sent a session ticket, which it does only
  // after accepting our certificate (so a refusal is seen at dial time).
  bool confirmed() const { return confirmed_; }
  void set_confirmed() { confirmed_ = true; }
  // Client: keeps plaintext read during TlsClientHandshake for Read.
  void Stash(const uint8_t* p, size_t n) { early_.append(reinterpret_cast<const char*>(p), n); }
  // Client: true when the server may still refuse our certificate (or
  // its absence) after the handshake: not a PSK session.
  bool AwaitsAcceptance() const;
  // Server PSK callback's note of the identity it accepted.
  void set_psk_identity(std::string id) { psk_identity_ = std::move(id); }
  TlsContext* context() const { return ctx_.get(); }

  // For the session's BIO: takes up to len received bytes (0: none yet).
  size_t Consume(uint8_t* out, size_t len);
  // For the session's BIO: appends bytes to send.
  void Produce(const uint8_t* p, size_t n);

 private:
  TlsSession() = default;
  void ReserveOutput(size_t more);
  // Appends to the owned input, after the bytes not yet consumed.
  void Own(const uint8_t* p, size_t n);
  Status SslError(const char* what, int ret);
  void NoteIdentity();

  std::shared_ptr<TlsContext> ctx_;
  SSL* ssl_ = nullptr;
  bool done_ = false;
  bool confirmed_ = false;
  std::string identity_;
  std::string psk_identity_;
  std::string early_;  // plaintext read while Dial waited for the ticket
  // Received, not yet consumed: owned bytes (older) then lent ones.
  std::vector<uint8_t> in_;
  size_t in_off_ = 0;
  const uint8_t* lent_ = nullptr;
  size_t lent_n_ = 0;
  // To send: records appended in place, handed out whole by TakeOutput.
  std::unique_ptr<uint8_t[]> out_;
  size_t out_cap_ = 0;
  size_t out_len_ = 0;
};

// Drives a client handshake on the connected, non-blocking socket fd
// until the server has accepted us or `deadline` passes. Bytes of the
// server read past the handshake stay in the session.
Status TlsClientHandshake(TlsSession* s, int fd, std::chrono::steady_clock::time_point deadline);

}  // namespace ninep::internal

#endif  // NINEP_SRC_TLS_INTERNAL_H_
