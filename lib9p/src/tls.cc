// tls.cc: TLS 1.3 contexts and sessions over a BIO of our own (OpenSSL),
// the identity a peer proves, and the blocking client handshake of Dial.
//
// Why not a socket BIO: the socket belongs to libuv. The transport reads
// ciphertext into its own buffer and lends it here; whatever OpenSSL wants
// to send (handshake messages, records, alerts) waits in the session for
// the transport to send. So a peer that stalls halfway through a handshake
// holds nothing but its own connection's memory.
#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tls_internal.h"

namespace ninep {

namespace internal {
namespace {

// The TLS 1.3 suites in our order of preference. AES-128-GCM first: it is
// the suite every TLS 1.3 peer must implement, 128-bit keys are beyond
// brute force, and with AES-NI it runs 1.6x faster than AES-256-GCM
// (`openssl speed -evp` on 16 KiB: 4.4 against 2.7 GB/s here), which bulk
// reads pay on both ends. The server picks by this order, not the client's.
const char kCipherSuites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

// TLS_AES_128_GCM_SHA256: the suite a PSK session is bound to. A server
// takes a PSK only when its hash is that of the suite chosen, the first of
// kCipherSuites (with SHA-384 here the handshake would fall back to
// certificates and fail).
const unsigned char kPskCipher[] = {0x13, 0x01};

// OpenSSL's reason for the last failure, "" when it queued none.
std::string LastSslReason() {
  unsigned long e = 0, last = 0;
  while ((e = ERR_get_error()) != 0) last = e;
  if (last == 0) return "";
  const char* r = ERR_reason_error_string(last);
  if (r != nullptr) return r;
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

// "what FILE: why" for a file the options name, checked before OpenSSL
// (whose errors do not say which file).
Status CheckReadable(const char* flag, const std::string& path) {
  FILE* f = fopen(path.c_str(), "r");
  if (f == nullptr) return Status(errno, std::string(flag) + " " + path + ": " + strerror(errno));
  fclose(f);
  return Status::Ok();
}

Status SslFileError(const char* flag, const std::string& path) {
  std::string why = LastSslReason();
  return Status(EINVAL, std::string(flag) + " " + path + ": " + (why.empty() ? "unusable" : why));
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads a PSK file: lines "KEY" or "USER KEY" (KEY: >= 32 hex digits),
// blank lines and '#' comments skipped.
Result<std::map<std::string, std::vector<uint8_t>>> ReadPskFile(const std::string& path) {
  if (Status s = CheckReadable("--psk", path); !s.ok()) return s;
  std::ifstream in(path);
  std::map<std::string, std::vector<uint8_t>> out;
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    lineno++;
    std::istringstream ws(line);
    std::vector<std::string> words;
    for (std::string w; ws >> w;) words.push_back(w);
    if (words.empty() || words[0][0] == '#') continue;
    auto bad = [&](const std::string& why) {
      return Status(EINVAL, "--psk " + path + ":" + std::to_string(lineno) + ": " + why);
    };
    if (words.size() > 2) return bad("want KEY or USER KEY");
    const std::string& hex = words.back();
    if (hex.size() < 32 || hex.size() % 2 != 0)
      return bad(
          "the key must be an even number of hex digits, at least 32 (openssl rand -hex 32)");
    std::vector<uint8_t> key;
    for (size_t i = 0; i < hex.size(); i += 2) {
      int hi = HexVal(hex[i]), lo = HexVal(hex[i + 1]);
      if (hi < 0 || lo < 0) return bad("the key is not hex");
      key.push_back(static_cast<uint8_t>(hi * 16 + lo));
    }
    out[words.size() == 2 ? words[0] : ""] = std::move(key);
  }
  if (out.empty()) return Status(EINVAL, "--psk " + path + ": no key in the file");
  return out;
}

// The user a client is without a PSK identity of its own (as the
// command-line layer's DefaultUser, which this layer cannot call).
std::string LocalUser() {
  const char* u = getenv("USER");
  if (u != nullptr && *u != '\0') return u;
  struct passwd* pw = getpwuid(getuid());
  if (pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  return "none";
}

TlsSession* SessionOf(SSL* ssl) { return static_cast<TlsSession*>(SSL_get_app_data(ssl)); }

// A PSK session for key, as both sides must build it.
SSL_SESSION* PskSession(SSL* ssl, const std::vector<uint8_t>& key) {
  const SSL_CIPHER* c = SSL_CIPHER_find(ssl, kPskCipher);
  if (c == nullptr) return nullptr;
  SSL_SESSION* s = SSL_SESSION_new();
  if (s == nullptr) return nullptr;
  if (!SSL_SESSION_set1_master_key(s, key.data(), key.size()) || !SSL_SESSION_set_cipher(s, c) ||
      !SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION)) {
    SSL_SESSION_free(s);
    return nullptr;
  }
  return s;
}

int PskFind(SSL* ssl, const unsigned char* id, size_t idlen, SSL_SESSION** sess) {
  *sess = nullptr;
  TlsSession* ts = SessionOf(ssl);
  std::string ident(reinterpret_cast<const char*>(id), idlen);
  const std::vector<uint8_t>* key = ts->context()->FindPsk(ident);
  if (key == nullptr) return 1;  // unknown identity: no PSK (certificates, if any)
  *sess = PskSession(ssl, *key);
  if (*sess == nullptr) return 0;
  ts->set_psk_identity(ident);
  return 1;
}

int PskUse(SSL* ssl, const EVP_MD* md, const unsigned char** id, size_t* idlen,
           SSL_SESSION** sess) {
  *sess = nullptr;
  *id = nullptr;
  *idlen = 0;
  TlsContext* ctx = SessionOf(ssl)->context();
  const SSL_CIPHER* c = SSL_CIPHER_find(ssl, kPskCipher);
  if (c == nullptr) return 0;
  // After a HelloRetryRequest the suite is fixed; a PSK of another hash
  // cannot be offered.
  if (md != nullptr && md != SSL_CIPHER_get_handshake_digest(c)) return 1;
  *sess = PskSession(ssl, ctx->psk_key());
  if (*sess == nullptr) return 0;
  *id = reinterpret_cast<const unsigned char*>(ctx->psk_identity().data());
  *idlen = ctx->psk_identity().size();
  return 1;
}

// Client: a session ticket means the server finished its side, client
// certificate checked.
int OnNewSession(SSL* ssl, SSL_SESSION*) {
  SessionOf(ssl)->set_confirmed();
  return 0;  // not kept: we never resume
}

SSL_CTX* NewCtx(bool server) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  if (SSL_CTX_set_ciphersuites(ctx, kCipherSuites) != 1) {
    SSL_CTX_free(ctx);
    return nullptr;
  }
  if (server) SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
  // (Not SSL_MODE_RELEASE_BUFFERS: freeing and reallocating the record
  // buffers per record costs bulk transfers more than idle memory saves.)
  return ctx;
}

Status LoadCertKey(SSL_CTX* ctx, const TlsOptions& o) {
  if (o.cert.empty() != o.key.empty())
    return Status(EINVAL, o.cert.empty() ? "--key needs --cert" : "--cert needs --key");
  if (o.cert.empty()) return Status::Ok();
  if (Status s = CheckReadable("--cert", o.cert); !s.ok()) return s;
  if (Status s = CheckReadable("--key", o.key); !s.ok()) return s;
  if (SSL_CTX_use_certificate_chain_file(ctx, o.cert.c_str()) != 1)
    return SslFileError("--cert", o.cert);
  if (SSL_CTX_use_PrivateKey_file(ctx, o.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return SslFileError("--key", o.key);
  if (SSL_CTX_check_private_key(ctx) != 1)
    return Status(EINVAL, "--key " + o.key + ": does not match --cert " + o.cert);
  return Status::Ok();
}

Status LoadCa(SSL_CTX* ctx, const std::string& ca) {
  if (Status s = CheckReadable("--ca", ca); !s.ok()) return s;
  if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1) return SslFileError("--ca", ca);
  return Status::Ok();
}

}  // namespace

// ---- TlsContext -------------------------------------------------------------

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Result<std::shared_ptr<TlsContext>> TlsContext::ForServer(const TlsOptions& o) {
  std::shared_ptr<TlsContext> t(new TlsContext);
  t->server_ = true;
  ERR_clear_error();
  t->ctx_ = NewCtx(true);
  if (t->ctx_ == nullptr) return Status(ENOMEM, "tls: " + LastSslReason());
  if (o.cert.empty() && o.psk.empty())
    return Status(EINVAL, "tls needs a certificate (--cert and --key) or a pre-shared key (--psk)");
  if (Status s = LoadCertKey(t->ctx_, o); !s.ok()) return s;
  if (!o.ca.empty()) {
    if (Status s = LoadCa(t->ctx_, o.ca); !s.ok()) return s;
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.ca.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(t->ctx_, names);
    SSL_CTX_set_verify(t->ctx_, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  if (!o.crl.empty()) {
    if (o.ca.empty()) return Status(EINVAL, "--crl needs --ca");
    if (Status s = CheckReadable("--crl", o.crl); !s.ok()) return s;
    X509_STORE* store = SSL_CTX_get_cert_store(t->ctx_);
    X509_LOOKUP* lu = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    if (lu == nullptr || X509_load_crl_file(lu, o.crl.c_str(), X509_FILETYPE_PEM) <= 0)
      return SslFileError("--crl", o.crl);
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  if (!o.psk.empty()) {
    auto keys = ReadPskFile(o.psk);
    if (!keys.ok()) return keys.status();
    t->psks_ = std::move(*keys);
    SSL_CTX_set_psk_find_session_callback(t->ctx_, PskFind);
  }
  return t;
}

Result<std::shared_ptr<TlsContext>> TlsContext::ForClient(const TlsOptions& o) {
  std::shared_ptr<TlsContext> t(new TlsContext);
  ERR_clear_error();
  t->ctx_ = NewCtx(false);
  if (t->ctx_ == nullptr) return Status(ENOMEM, "tls: " + LastSslReason());
  if (Status s = LoadCertKey(t->ctx_, o); !s.ok()) return s;
  if (!o.ca.empty()) {
    if (Status s = LoadCa(t->ctx_, o.ca); !s.ok()) return s;
  } else {
    SSL_CTX_set_default_verify_paths(t->ctx_);
  }
  SSL_CTX_set_verify(t->ctx_, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_session_cache_mode(t->ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(t->ctx_, OnNewSession);
  if (!o.psk.empty()) {
    auto keys = ReadPskFile(o.psk);
    if (!keys.ok()) return keys.status();
    auto it = keys->begin();  // the first line by name order; one line is usual
    t->psk_identity_ = !it->first.empty()        ? it->first
                       : !o.psk_identity.empty() ? o.psk_identity
                                                 : LocalUser();
    t->psk_key_ = it->second;
    SSL_CTX_set_psk_use_session_callback(t->ctx_, PskUse);
  }
  return t;
}

const std::vector<uint8_t>* TlsContext::FindPsk(const std::string& identity) const {
  auto it = psks_.find(identity);
  if (it == psks_.end()) it = psks_.find("");
  return it == psks_.end() ? nullptr : &it->second;
}

// ---- TlsSession -------------------------------------------------------------

namespace {

// The session's BIO. Not OpenSSL's memory BIO: that copies every byte in
// and again out, and grows by reallocating and wiping; this one reads the
// transport's buffer in place and writes records straight into the
// buffer the transport sends.
int BioWrite(BIO* b, const char* p, size_t n, size_t* done) {
  static_cast<TlsSession*>(BIO_get_data(b))->Produce(reinterpret_cast<const uint8_t*>(p), n);
  *done = n;
  return 1;
}

int BioRead(BIO* b, char* out, size_t len, size_t* done) {
  BIO_clear_retry_flags(b);
  *done = static_cast<TlsSession*>(BIO_get_data(b))->Consume(reinterpret_cast<uint8_t*>(out), len);
  if (*done > 0) return 1;
  BIO_set_retry_read(b);  // empty means "more later", not EOF
  return 0;
}

long BioCtrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int BioCreate(BIO* b) {
  BIO_set_init(b, 1);
  return 1;
}

const BIO_METHOD* SessionBioMethod() {
  static BIO_METHOD* m = [] {
    BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ninep session");
    if (bm == nullptr) return bm;
    BIO_meth_set_write_ex(bm, BioWrite);
    BIO_meth_set_read_ex(bm, BioRead);
    BIO_meth_set_ctrl(bm, BioCtrl);
    BIO_meth_set_create(bm, BioCreate);
    return bm;
  }();
  return m;
}

SSL* NewSsl(SSL_CTX* ctx, TlsSession* owner) {
  const BIO_METHOD* m = SessionBioMethod();
  if (m == nullptr) return nullptr;
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr) return nullptr;
  BIO* bio = BIO_new(m);
  if (bio == nullptr) {
    SSL_free(ssl);
    return nullptr;
  }
  BIO_set_data(bio, owner);
  SSL_set_bio(ssl, bio, bio);  // one BIO both ways: the SSL holds one reference
  SSL_set_app_data(ssl, owner);
  return ssl;
}

}  // namespace

std::unique_ptr<TlsSession> TlsSession::NewServer(std::shared_ptr<TlsContext> ctx) {
  std::unique_ptr<TlsSession> s(new TlsSession);
  s->ctx_ = std::move(ctx);
  s->ssl_ = NewSsl(s->ctx_->ctx(), s.get());
  if (s->ssl_ == nullptr) return nullptr;
  SSL_set_accept_state(s->ssl_);
  return s;
}

Result<std::unique_ptr<TlsSession>> TlsSession::NewClient(std::shared_ptr<TlsContext> ctx,
                                                          const std::string& host) {
  std::unique_ptr<TlsSession> s(new TlsSession);
  s->ctx_ = std::move(ctx);
  ERR_clear_error();
  s->ssl_ = NewSsl(s->ctx_->ctx(), s.get());
  if (s->ssl_ == nullptr) return Status(ENOMEM, "tls: " + LastSslReason());
  SSL_set_connect_state(s->ssl_);
  if (!host.empty()) {
    // The server's certificate must name what we dialled: an address as
    // an IP subjectAltName, a name as a DNS one (and it goes out as SNI).
    X509_VERIFY_PARAM* p = SSL_get0_param(s->ssl_);
    in6_addr a6;
    in_addr a4;
    bool ip =
        inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(p, host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(p, host.c_str(), 0);
      SSL_set_tlsext_host_name(s->ssl_, host.c_str());
    }
  }
  return s;
}

TlsSession::~TlsSession() { SSL_free(ssl_); }

void TlsSession::Own(const uint8_t* p, size_t n) {
  if (in_off_ > 0) {  // drop what OpenSSL has taken before growing
    in_.erase(in_.begin(), in_.begin() + static_cast<long>(in_off_));
    in_off_ = 0;
  }
  in_.insert(in_.end(), p, p + n);
}

void TlsSession::Feed(const uint8_t* p, size_t n) {
  Keep();  // lent bytes came first
  Own(p, n);
}

void TlsSession::Lend(const uint8_t* p, size_t n) {
  Keep();
  lent_ = p;
  lent_n_ = n;
}

void TlsSession::Keep() {
  if (lent_n_ == 0) return;
  Own(lent_, lent_n_);
  lent_ = nullptr;
  lent_n_ = 0;
}

size_t TlsSession::Consume(uint8_t* out, size_t len) {
  size_t done = 0;
  if (in_off_ < in_.size()) {
    done = std::min(len, in_.size() - in_off_);
    memcpy(out, in_.data() + in_off_, done);
    in_off_ += done;
    if (in_off_ == in_.size()) {
      in_.clear();
      in_off_ = 0;
    }
  }
  if (done < len && lent_n_ > 0) {
    size_t n = std::min(len - done, lent_n_);
    memcpy(out + done, lent_, n);
    lent_ += n;
    lent_n_ -= n;
    done += n;
  }
  return done;
}

void TlsSession::ReserveOutput(size_t more) {
  if (out_cap_ - out_len_ >= more) return;
  size_t cap = std::max({out_len_ + more, out_cap_ * 2, size_t{16384}});
  std::unique_ptr<uint8_t[]> nb(new uint8_t[cap]);
  if (out_len_ > 0) memcpy(nb.get(), out_.get(), out_len_);
  out_ = std::move(nb);
  out_cap_ = cap;
}

void TlsSession::Produce(const uint8_t* p, size_t n) {
  ReserveOutput(n);
  memcpy(out_.get() + out_len_, p, n);
  out_len_ += n;
}

Status TlsSession::SslError(const char* what, int ret) {
  int e = SSL_get_error(ssl_, ret);
  std::string why = LastSslReason();
  long vr = SSL_get_verify_result(ssl_);
  if (vr != X509_V_OK) {
    std::string v = X509_verify_cert_error_string(vr);
    why = why.empty() ? v : why + ": " + v;
  }
  if (why.empty()) why = e == SSL_ERROR_SYSCALL ? "unexpected end of stream" : "protocol error";
  return Status(ECONNREFUSED, std::string(what) + ": " + why);
}

Result<bool> TlsSession::Handshake() {
  if (done_) return true;
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) {
    done_ = true;
    NoteIdentity();
    return true;
  }
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return false;
  return SslError("tls handshake", r);
}

void TlsSession::NoteIdentity() {
  if (SSL_session_reused(ssl_) && !psk_identity_.empty()) {
    identity_ = psk_identity_;
    return;
  }
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return;
  char buf[256];
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  if (n > 0) {
    identity_.assign(buf, static_cast<size_t>(n));
  } else {
    auto* sans =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    for (int want : {GEN_DNS, GEN_EMAIL}) {
      for (int i = 0; sans && identity_.empty() && i < sk_GENERAL_NAME_num(sans); i++) {
        const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
        if (g->type != want) continue;
        const ASN1_STRING* str = want == GEN_DNS ? g->d.dNSName : g->d.rfc822Name;
        std::string v(reinterpret_cast<const char*>(ASN1_STRING_get0_data(str)),
                      static_cast<size_t>(ASN1_STRING_length(str)));
        // An email address names its user by the local part.
        if (want == GEN_EMAIL) v = v.substr(0, v.find('@'));
        identity_ = v;
      }
    }
    GENERAL_NAMES_free(sans);
  }
  X509_free(cert);
}

long TlsSession::Read(uint8_t* buf, size_t len, Status* err) {
  if (!early_.empty()) {
    size_t n = std::min(len, early_.size());
    memcpy(buf, early_.data(), n);
    early_.erase(0, n);
    return static_cast<long>(n);
  }
  // Nothing received and nothing buffered: SSL_read could only say
  // "want read", at the price of a call and its error-queue upkeep per
  // message.
  if (in_off_ == in_.size() && lent_n_ == 0 && done_ && SSL_has_pending(ssl_) == 0) return 0;
  ERR_clear_error();
  int r = SSL_read(ssl_, buf, static_cast<int>(std::min<size_t>(len, INT_MAX)));
  if (r > 0) return r;
  int e = SSL_get_error(ssl_, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return 0;
  *err = e == SSL_ERROR_ZERO_RETURN ? Status::Ok() : SslError("tls", r);
  return -1;
}

Status TlsSession::Write(const uint8_t* p, size_t n) {
  // Room for every record at once: the plaintext plus, per record of at
  // most 16 KiB, its header, content type byte and tag.
  ReserveOutput(n + (n / 16384 + 1) * 64);
  while (n > 0) {
    ERR_clear_error();
    int chunk = static_cast<int>(std::min<size_t>(n, 1 << 30));
    int r = SSL_write(ssl_, p, chunk);
    if (r <= 0) return SslError("tls write", r);
    p += r;
    n -= static_cast<size_t>(r);
  }
  return Status::Ok();
}

bool TlsSession::AwaitsAcceptance() const {
  // A server that wants a certificate we lack also refuses only then.
  return !SSL_session_reused(ssl_);
}

size_t TlsSession::PendingOutput() const { return out_len_; }

Buffer TlsSession::TakeOutput() {
  if (out_len_ == 0) return Buffer();
  Buffer b(std::move(out_), out_len_);
  out_cap_ = out_len_ = 0;
  return b;
}

// ---- the client's blocking handshake ----------------------------------------

namespace {

using Clock = std::chrono::steady_clock;

int PollMs(Clock::time_point deadline) {
  if (deadline == Clock::time_point::max()) return -1;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, INT32_MAX));
}

Status SendAll(TlsSession* s, int fd, Clock::time_point deadline) {
  while (s->PendingOutput() > 0) {
    Buffer b = s->TakeOutput();
    size_t off = 0;
    while (off < b.size()) {
      ssize_t n = send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN)
        return Status(errno, std::string("tls handshake: ") + strerror(errno));
      pollfd p{fd, POLLOUT, 0};
      int r = poll(&p, 1, PollMs(deadline));
      if (r == 0) return Status(ETIMEDOUT, "tls handshake: timed out");
    }
  }
  return Status::Ok();
}

}  // namespace

Status TlsClientHandshake(TlsSession* s, int fd, Clock::time_point deadline) {
  // A server that sends no ticket (not ours) is not waited for past this.
  constexpr auto kConfirmWait = std::chrono::seconds(2);
  Clock::time_point confirm_by = Clock::time_point::max();
  uint8_t buf[16384];
  for (;;) {
    if (!s->done()) {
      Result<bool> h = s->Handshake();
      Status ws = SendAll(s, fd, deadline);
      if (!h.ok()) return h.status();
      if (!ws.ok()) return ws;
      if (*h) {
        // The server checks our certificate (or its absence) only after
        // our Finished; its session ticket says it accepted. A PSK was
        // checked inside the handshake.
        confirm_by = std::min(deadline, Clock::now() + kConfirmWait);
      }
    }
    if (s->done()) {
      for (;;) {
        Status err;
        long n = s->Read(buf, sizeof buf, &err);
        if (n > 0) {
          s->Stash(buf, static_cast<size_t>(n));
          continue;
        }
        if (n == 0) break;
        if (err.ok()) return Status(ECONNRESET, "tls: the server closed the connection");
        return Status(ECONNREFUSED, "tls: the server refused us: " + err.message().substr(5));
      }
      if (Status ws = SendAll(s, fd, deadline); !ws.ok()) return ws;
      if (s->confirmed() || !s->AwaitsAcceptance() || Clock::now() >= confirm_by)
        return Status::Ok();
    }
    pollfd p{fd, POLLIN, 0};
    int r = poll(&p, 1, PollMs(s->done() ? confirm_by : deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      if (s->done()) return Status::Ok();
      return Status(ETIMEDOUT, "tls handshake: timed out");
    }
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0) {
      return Status(ECONNRESET, s->done()
                                    ? "tls: the server closed the connection after the handshake"
                                    : "tls handshake: the server closed the connection "
                                      "(is it a plain 9P port? dial tcp! for plain 9P)");
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return Status(errno, std::string("tls handshake: ") + strerror(errno));
    }
    s->Feed(buf, static_cast<size_t>(n));
  }
}

}  // namespace internal
}  // namespace ninep
