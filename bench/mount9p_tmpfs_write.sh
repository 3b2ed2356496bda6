#!/bin/bash
# bench/mount9p_tmpfs_write.sh EXPORTFS MOUNT9P [PASSTHROUGH_LL OPTIONS...]:
# 512 MiB `dd bs=1M conv=fsync` into a /dev/shm directory three ways per
# round, three rounds: locally, through `mount9p -L` of an exportfs serving
# it, and through libfuse's own passthrough_ll over it (Debian's
# libfuse3-dev example, built here from /usr/share/doc): the FUSE floor,
# what any FUSE client costs with a local file behind it. Prints seconds
# and each path's share of the local rate. Kills what it starts by PID and
# unmounts what it mounts. (issue 12; figures in bench/RESULTS.md)
set -e
EX=$1; M9=$2; shift 2
W=$(mktemp -d /dev/shm/tmpfs-write.XXXX); M=$(mktemp -d /tmp/tmpfs-write.XXXX)
mkdir -p $W/e $W/l $M/m $M/p
trap 'fusermount3 -u $M/m 2>/dev/null || true; fusermount3 -u $M/p 2>/dev/null || true; kill $EP 2>/dev/null || true; rm -rf $W $M' EXIT
PT=/usr/share/doc/libfuse3-dev/examples
cc -D_GNU_SOURCE -O2 -w -I$PT $PT/passthrough_ll.c $(pkg-config --cflags --libs fuse3) -o $M/passthrough_ll
$EX -a 'tcp!127.0.0.1!0' -r $W/e > $M/addr & EP=$!
for i in $(seq 50); do [ -s $M/addr ] && break; sleep 0.1; done
A=$(head -1 $M/addr)
t() { local t0=$(date +%s.%N); "$@" 2>/dev/null; awk -v a=$t0 -v b=$(date +%s.%N) 'BEGIN{printf "%.3f", b-a}'; }
up() { for i in $(seq 100); do mountpoint -q $1 && return; sleep 0.05; done; echo "no mount at $1" >&2; exit 1; }
for r in 1 2 3; do
  L=$(t dd if=/dev/zero of=$W/l/x bs=1M count=512 conv=fsync); rm -f $W/l/x
  $M9 -f -L "$A" $M/m & MP=$!; up $M/m
  R=$(t dd if=/dev/zero of=$M/m/x bs=1M count=512 conv=fsync); rm -f $M/m/x
  fusermount3 -u $M/m; wait $MP || true
  $M/passthrough_ll -f -o source=$W/e -o timeout=1 "$@" $M/p 2>/dev/null & PP=$!; up $M/p
  F=$(t dd if=/dev/zero of=$M/p/x bs=1M count=512 conv=fsync); rm -f $M/p/x
  fusermount3 -u $M/p; wait $PP || true
  echo "local $L mount9p $R ($(awk -v a=$L -v b=$R 'BEGIN{printf "%.2f", a/b}')) fuse-floor $F ($(awk -v a=$L -v b=$F 'BEGIN{printf "%.2f", a/b}'))"
done
