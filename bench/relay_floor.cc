// relay_floor.cc: what one more hop costs on this machine, nothing else.
// storefs stands between its clients and the chunk servers, so every byte
// it serves crosses one more pair of sockets than exportfs's do. This relay
// is that hop and no more: no 9P, no checksums, no event loop. It listens
// on 127.0.0.1 (port 0: the address goes to stdout as a dial string),
// connects each client to UPSTREAM, and moves bytes both ways, either with
// read/write through a 1 MiB buffer (the copies any user-space server
// makes) or with splice through a pipe (the kernel moves pages; no server
// can do less). 9P through it against 9P straight to the same exportfs is
// the ceiling for storefs's read ratio (bench/store_bench.sh).
//
// usage: relay_floor copy|splice UPSTREAM_PORT CONNECTIONS
// Serves CONNECTIONS clients, one after another, then exits.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

int Die(const char* what) {
  fprintf(stderr, "relay_floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

// Moves bytes from `from` to `to` until from's end, then half-closes to.
void Pump(int from, int to, bool splice_mode) {
  if (splice_mode) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) Die("pipe");
    fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
    for (;;) {
      ssize_t n = splice(from, nullptr, p[1], nullptr, 1 << 20, SPLICE_F_MOVE);
      if (n <= 0) break;
      while (n > 0) {
        ssize_t m = splice(p[0], nullptr, to, nullptr, static_cast<size_t>(n), SPLICE_F_MOVE);
        if (m <= 0) {
          n = -1;
          break;
        }
        n -= m;
      }
      if (n < 0) break;
    }
    close(p[0]);
    close(p[1]);
  } else {
    std::vector<char> buf(1 << 20);
    for (;;) {
      ssize_t n = read(from, buf.data(), buf.size());
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t m = write(to, buf.data() + off, static_cast<size_t>(n - off));
        if (m <= 0) return;
        off += m;
      }
    }
  }
  shutdown(to, SHUT_WR);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 || (strcmp(argv[1], "copy") != 0 && strcmp(argv[1], "splice") != 0)) {
    fprintf(stderr, "usage: relay_floor copy|splice UPSTREAM_PORT CONNECTIONS\n");
    return 2;
  }
  bool splice_mode = strcmp(argv[1], "splice") == 0;
  int upstream = atoi(argv[2]), conns = atoi(argv[3]);
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (l < 0 || bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 16) != 0 ||
      getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    Die("listen");
  printf("tcp!127.0.0.1!%d\n", ntohs(a.sin_port));
  fflush(stdout);
  for (int i = 0; i < conns; i++) {
    int c = accept4(l, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) Die("accept");
    int u = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in ua{};
    ua.sin_family = AF_INET;
    ua.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ua.sin_port = htons(static_cast<uint16_t>(upstream));
    if (u < 0 || connect(u, reinterpret_cast<sockaddr*>(&ua), sizeof ua) != 0) Die("connect");
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::thread up([=] { Pump(c, u, splice_mode); });
    Pump(u, c, splice_mode);
    up.join();
    close(c);
    close(u);
  }
  return 0;
}
