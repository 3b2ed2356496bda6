#!/bin/bash
# bench/mount9p_findstat.sh EXPORTFS MOUNT9P [MOUNT9P FLAGS...]: find + stat
# of a 10,000-file tree (100 dirs x 100 empty files), locally and through a
# fresh `mount9p -L` of an exportfs serving it, five times, each with the
# CPU ticks exportfs and mount9p spent. Prints one line per run; kills what
# it starts by PID and unmounts what it mounts. (The full picture, with
# reads and writes, is bench/mount9p_bench.sh.)
# Each run also times the same find through libfuse's own passthrough_ll
# (Debian's libfuse3-dev example, built here from /usr/share/doc) over the
# tree with mount9p's cache timeouts: the cost of FUSE alone, with no 9P,
# which no FUSE client can go below on this machine.
set -e
EX=$1; M9=$2; shift 2
W=$(mktemp -d /tmp/mount9p-findstat.XXXX); mkdir -p $W/e/tree $W/m
for ((d=0; d<100; d++)); do mkdir -p $W/e/tree/d$d; (cd $W/e/tree/d$d && for ((f=0; f<100; f++)); do : > f$f; done); done
$EX -a 'tcp!127.0.0.1!0' -r $W/e > $W/addr & EP=$!
for i in $(seq 50); do [ -s $W/addr ] && break; sleep 0.1; done
A=$(head -1 $W/addr)
PT=/usr/share/doc/libfuse3-dev/examples
mkdir -p $W/p
cc -D_GNU_SOURCE -O2 -w -I$PT $PT/passthrough_ll.c $(pkg-config --cflags --libs fuse3) -o $W/passthrough_ll
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
t() { local t0=$(date +%s.%N); "$@" > /dev/null; local t1=$(date +%s.%N); awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.3f", b-a}'; }
for run in 1 2 3 4 5; do
L=$(t bash -c "cd $W/e/tree && find . -printf '%s %m %u %TY\n'")
$M9 -f -L "$@" "$A" $W/m & MP=$!
for i in $(seq 100); do mountpoint -q $W/m && break; sleep 0.05; done
e0=$(ticks $EP); m0=$(ticks $MP)
R=$(t bash -c "cd $W/m/tree && find . -printf '%s %m %u %TY\n'")
e1=$(ticks $EP); m1=$(ticks $MP)
fusermount3 -u $W/m; wait $MP || true
$W/passthrough_ll -f -o source=$W/e -o timeout=1 $W/p & PP=$!
for i in $(seq 100); do mountpoint -q $W/p && break; sleep 0.05; done
F=$(t bash -c "cd $W/p/tree && find . -printf '%s %m %u %TY\n'")
fusermount3 -u $W/p; wait $PP || true
echo "local $L mount $R ratio $(awk -v a=$R -v b=$L 'BEGIN{printf "%.2f", a/b}') fuse-floor $F ratio $(awk -v a=$F -v b=$L 'BEGIN{printf "%.2f", a/b}') cpu exportfs $((e1-e0)) mount9p $((m1-m0)) ticks"
done
kill $EP; rm -rf $W
