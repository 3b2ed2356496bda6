#!/bin/bash
# bench/mount9p_firstread.sh EXPORTFS MOUNT9P NINEP [SIZE_MB]: the first
# and second reads of a cached SIZE_MB (default 1024) file through fresh
# mounts (`mount9p -L`, `cat FILE > /dev/null`) of a freshly started
# exportfs, against `9p -L read` of the same file from the same server.
# Three rounds, a new exportfs each. Prints MB/s per read and the first
# mount's share of the second's. Kills what it starts by PID and unmounts
# what it mounts. (issue 12; figures in bench/RESULTS.md)
set -e
EX=$1; M9=$2; NP=$3; MB=${4:-1024}
W=$(mktemp -d /tmp/mount9p-firstread.XXXX); mkdir -p $W/e $W/m
EP=
trap 'fusermount3 -u $W/m 2>/dev/null || true; [ -n "$EP" ] && kill $EP 2>/dev/null; rm -rf $W' EXIT
head -c ${MB}M /dev/urandom > $W/e/big
cat $W/e/big > /dev/null  # cached: the figures are of the path, not the disk
rate() { local t0=$(date +%s.%N); "$@" > /dev/null; awk -v mb=$MB -v a=$t0 -v b=$(date +%s.%N) 'BEGIN{printf "%.0f", mb/(b-a)}'; }
mountread() {
  $M9 -f -L "$A" $W/m & local MP=$!
  for i in $(seq 100); do mountpoint -q $W/m && break; sleep 0.05; done
  rate cat $W/m/big
  fusermount3 -u $W/m; wait $MP || true
}
for round in 1 2 3; do
  rm -f $W/addr
  $EX -a 'tcp!127.0.0.1!0' -r $W/e > $W/addr & EP=$!
  for i in $(seq 50); do [ -s $W/addr ] && break; sleep 0.1; done
  A=$(head -1 $W/addr)
  M1=$(mountread); M2=$(mountread)
  R=$(rate $NP -a "$A" -L read big)
  echo "round $round first-mount $M1 second-mount $M2 first/second $(awk -v a=$M1 -v b=$M2 'BEGIN{printf "%.2f", a/b}') 9p-read $R first/9p $(awk -v a=$M1 -v b=$R 'BEGIN{printf "%.2f", a/b}')"
  kill $EP; wait $EP 2>/dev/null || true; EP=
done
