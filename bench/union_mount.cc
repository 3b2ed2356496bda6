// union_mount.cc: for bench/union_bench.sh: serves one union of the
// directories named on the command line at MOUNTPOINT/1 until stdin ends.
//
//   union_mount MOUNTPOINT [-c] DIR...   (-c: the next DIR takes creates)
//
// Prints "ready" once the union answers; on end of stdin stops the server
// (which unmounts) and exits with its status.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "ns/union/union.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: union_mount MOUNTPOINT [-c] DIR...\n");
    return 2;
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return 1;
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    close(sv[0]);
    _exit(nsunion::ServeMain(sv[1], argv[1]));
  }
  close(sv[1]);
  nsunion::Client c(sv[0]);
  auto id = c.NewUnion();
  if (!id.ok()) {
    std::fprintf(stderr, "union_mount: %s\n", id.status().message().c_str());
    return 1;
  }
  bool create = false;
  for (int i = 2; i < argc; i++) {
    if (std::strcmp(argv[i], "-c") == 0) {
      create = true;
      continue;
    }
    int fd = open(argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      std::perror(argv[i]);
      return 1;
    }
    auto s = c.Add(*id, nsunion::Member{fd, create, argv[i]}, false);
    close(fd);
    if (!s.ok()) {
      std::fprintf(stderr, "union_mount: %s: %s\n", argv[i], s.message().c_str());
      return 1;
    }
    create = false;
  }
  std::printf("ready\n");
  std::fflush(stdout);
  char buf[64];
  while (read(0, buf, sizeof buf) > 0) {
  }
  c.Stop().IgnoreError();  // a server already gone has unmounted
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
