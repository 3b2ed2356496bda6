// tls_floor.cc: the machine's own price of TLS, no 9P around it. One
// process reads FILE from the page cache in 1 MiB preads and sends it over
// loopback TCP; a forked one receives it into a 1 MiB buffer and drops it.
// Plain: read/write. TLS: the same through OpenSSL's socket BIO with TLS
// 1.3 and ninefold's suite (AES-128-GCM), blocking: no event loop, no
// frames, no extra copy. The best of ROUNDS each, interleaved; prints MB/s
// and the ratio TLS/plain, the ceiling for bench/tls_bench.sh's ratio.
//
// usage: tls_floor FILE CERT KEY CA [ROUNDS]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace {

constexpr size_t kChunk = 1 << 20;
const char kSuites[] = "TLS_AES_128_GCM_SHA256";

[[noreturn]] void Die(const char* what) {
  fprintf(stderr, "tls_floor: %s: %s\n", what, errno ? strerror(errno) : "failed");
  ERR_print_errors_fp(stderr);
  exit(1);
}

SSL_CTX* Ctx(bool server, const char* cert, const char* key, const char* ca) {
  SSL_CTX* c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (c == nullptr) Die("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION);
  if (SSL_CTX_set_ciphersuites(c, kSuites) != 1) Die("ciphersuites");
  if (server) {
    if (SSL_CTX_use_certificate_chain_file(c, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1)
      Die("server certificate");
  } else {
    if (SSL_CTX_load_verify_locations(c, ca, nullptr) != 1) Die("CA");
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  }
  return c;
}

// Receives `total` bytes on fd (through ctx when not null); exits.
[[noreturn]] void Receive(int port, SSL_CTX* ctx, size_t total) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) Die("connect");
  SSL* ssl = nullptr;
  if (ctx != nullptr) {
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    // Many records per read(2), not two reads per record: OpenSSL's
    // fastest receive path.
    SSL_set_read_ahead(ssl, 1);
    SSL_set_default_read_buffer_len(ssl, 256 << 10);
    if (SSL_connect(ssl) != 1) Die("SSL_connect");
  }
  std::unique_ptr<char[]> buf(new char[kChunk]);
  size_t got = 0;
  while (got < total) {
    long n = ssl ? SSL_read(ssl, buf.get(), kChunk) : read(fd, buf.get(), kChunk);
    if (n <= 0) Die("receive");
    got += static_cast<size_t>(n);
  }
  _exit(0);
}

// Seconds to send the file once, plain or over TLS.
double Round(int file, size_t size, SSL_CTX* sctx, SSL_CTX* cctx) {
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(ls, 1) != 0 ||
      getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    Die("listen on 127.0.0.1");
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) Receive(ntohs(a.sin_port), cctx, size);
  int fd = accept(ls, nullptr, nullptr);
  if (fd < 0) Die("accept");
  close(ls);
  SSL* ssl = nullptr;
  if (sctx != nullptr) {
    ssl = SSL_new(sctx);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) Die("SSL_accept");
  }
  std::unique_ptr<char[]> buf(new char[kChunk]);
  auto t0 = std::chrono::steady_clock::now();
  for (size_t off = 0; off < size;) {
    ssize_t n = pread(file, buf.get(), std::min(kChunk, size - off), static_cast<off_t>(off));
    if (n <= 0) Die("pread");
    for (ssize_t done = 0; done < n;) {
      long w = ssl ? SSL_write(ssl, buf.get() + done, static_cast<int>(n - done))
                   : write(fd, buf.get() + done, static_cast<size_t>(n - done));
      if (w <= 0) Die("send");
      done += w;
    }
    off += static_cast<size_t>(n);
  }
  int st = 0;
  if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) Die("receiver");
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (ssl) SSL_free(ssl);
  close(fd);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: tls_floor FILE CERT KEY CA [ROUNDS]\n");
    return 2;
  }
  int rounds = argc > 5 ? atoi(argv[5]) : 3;
  int file = open(argv[1], O_RDONLY);
  struct stat st;
  if (file < 0 || fstat(file, &st) != 0) Die(argv[1]);
  size_t size = static_cast<size_t>(st.st_size);
  SSL_CTX* sctx = Ctx(true, argv[2], argv[3], argv[4]);
  SSL_CTX* cctx = Ctx(false, argv[2], argv[3], argv[4]);
  double plain = 1e9, tls = 1e9;
  for (int r = 0; r < rounds; r++) {
    plain = std::min(plain, Round(file, size, nullptr, nullptr));
    tls = std::min(tls, Round(file, size, sctx, cctx));
  }
  double mb = static_cast<double>(size) / (1 << 20);
  printf("plain %.0f MB/s, tls %.0f MB/s, tls/plain %.2f\n", mb / plain, mb / tls, plain / tls);
  return 0;
}
