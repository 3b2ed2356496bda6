#!/usr/bin/env python3
# bench/fidmem.py: how much memory one connection's fids cost exportfs, and
# how much of it the process hands back when the connection ends.
#
# usage: bench/fidmem.py [-b EXPORTFS] [-n FIDS] [-x ARG]...
#
# Starts EXPORTFS (default bin/exportfs) on a temporary directory at
# tcp!127.0.0.1!0 (each -x ARG is passed on, e.g. -x --max-fids=300000),
# then with a raw 9P2000.L client attaches and walks FIDS (default 200000)
# new fids, each a clone of the root (clones share the root's O_PATH fd, so
# RLIMIT_NOFILE does not stop the walk), 1000 in flight at a time. Prints
# exportfs's VmRSS before the connection, at its peak (all fids live), and
# after the connection closed (once RSS has not moved for a second), in MiB.
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def frame(mtype, tag, body):
    return struct.pack("<IBH", 7 + len(body), mtype, tag) + body


def s9(s):
    b = s.encode()
    return struct.pack("<H", len(b)) + b


class Raw:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def recv(self):
        while True:
            if len(self.buf) >= 4:
                size = struct.unpack_from("<I", self.buf)[0]
                if len(self.buf) >= size:
                    f, self.buf = self.buf[:size], self.buf[size:]
                    return f[4], struct.unpack_from("<H", f, 5)[0], f[7:]
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise SystemExit("fidmem: exportfs closed the connection")
            self.buf += chunk


def main():
    args = sys.argv[1:]
    binary, nfids, extra = "bin/exportfs", 200000, []
    while args:
        a = args.pop(0)
        if a == "-b":
            binary = args.pop(0)
        elif a == "-n":
            nfids = int(args.pop(0))
        elif a == "-x":
            extra.append(args.pop(0))
        else:
            raise SystemExit(__doc__ or "usage: fidmem.py [-b EXPORTFS] [-n FIDS] [-x ARG]...")
    root = tempfile.mkdtemp(prefix="fidmem-")
    srv = subprocess.Popen([binary, "-a", "tcp!127.0.0.1!0", "-r", root] + extra,
                           stdout=subprocess.PIPE, text=True)
    try:
        addr = srv.stdout.readline().strip()  # tcp!127.0.0.1!PORT
        port = int(addr.rsplit("!", 1)[1])
        before = rss_kib(srv.pid)
        c = Raw("127.0.0.1", port)
        c.send(frame(100, 0xFFFF, struct.pack("<I", 65536) + s9("9P2000.L")))
        t, _, _ = c.recv()
        assert t == 101, f"Tversion answered {t}"
        c.send(frame(104, 1, struct.pack("<II", 0, 0xFFFFFFFF) + s9("bench") + s9("") +
                     struct.pack("<I", os.getuid())))
        t, _, body = c.recv()
        assert t == 105, f"Tattach answered {t}: {body!r}"
        batch, fid, errors = 1000, 1, 0
        while fid <= nfids:
            n = min(batch, nfids - fid + 1)
            c.send(b"".join(frame(110, 2 + i, struct.pack("<IIH", 0, fid + i, 0))
                            for i in range(n)))
            for _ in range(n):
                t, _, body = c.recv()
                if t != 111:
                    errors += 1
            fid += n
        peak = rss_kib(srv.pid)
        c.sock.close()
        after, last, still = rss_kib(srv.pid), -1, time.monotonic()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            time.sleep(0.1)
            after = rss_kib(srv.pid)
            if after != last:
                last, still = after, time.monotonic()
            elif time.monotonic() - still >= 1.0:
                break
        mib = lambda k: f"{k / 1024:.1f}"
        print(f"fids {nfids - errors} walked ({errors} refused); exportfs VmRSS MiB: "
              f"before {mib(before)}, peak {mib(peak)}, after close {mib(after)}")
    finally:
        srv.terminate()
        srv.wait()
        os.rmdir(root)


if __name__ == "__main__":
    main()
