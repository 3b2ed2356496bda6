#!/usr/bin/env bash
# bench/store_bench.sh: storefs figures, each against a reference run in the
# same go, appended to bench/RESULTS.md:
#   - sequential write and read of SIZE_MB (default 1024) MiB through bin/9p
#     to storefs with 1 and 3 replicas, against exportfs on a local directory
#   - creates/s of empty files with 16 clients (every create durable)
#   - time to restore 3 replicas of RESTORE_MB (default SIZE_MB/4) after a
#     chunkd of four is killed
#   - metadata memory per file and log replay, 1,000,000 files (generator)
#   - the machine's floors in the same run: three copies written to the
#     disk at once, exportfs read through one more socket hop
#     (relay_floor), creates against exportfs on tmpfs (nothing durable)
# Environment: BIN_DIR (default build/bin), SIZE_MB, RESTORE_MB, FILES
# (default 1000000), RESULTS (default bench/RESULTS.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN_DIR=${BIN_DIR:-build/bin}
SIZE_MB=${SIZE_MB:-1024}
RESTORE_MB=${RESTORE_MB:-$((SIZE_MB / 4))}
FILES=${FILES:-1000000}
RESULTS=${RESULTS:-bench/RESULTS.md}
BENCH=store-bench
# shellcheck source=bench/lib.sh
source bench/lib.sh
for b in storefs chunkd exportfs 9p store_meta_bench relay_floor; do
  [[ -x $BIN_DIR/$b ]] || die "$BIN_DIR/$b is not built"
done
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
now() { date +%s.%N; }
mbps() { awk -v mb="$1" -v s="$2" 'BEGIN { printf "%.0f", mb / s }'; }
rat() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }

# start NAME CMD...: runs a server printing its address; sets ADDR.
start() {
  local out=$WORK/$1.addr
  shift
  "$@" >"$out" 2>>"$WORK/servers.log" &
  PIDS+=("$!")
  for _ in $(seq 100); do [[ -s $out ]] && break; sleep 0.1; done
  ADDR=$(head -1 "$out")
  [[ -n $ADDR ]] || die "$1 did not start"
}
# rw ADDR: writes then reads $WORK/big as /big; sets W and R (MB/s).
rw() {
  local t0 t1
  t0=$(now); "$BIN_DIR/9p" -a "$1" create /big; "$BIN_DIR/9p" -a "$1" write /big <"$WORK/big"; t1=$(now)
  W=$(mbps "$SIZE_MB" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
  sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  t0=$(now); "$BIN_DIR/9p" -a "$1" read /big >/dev/null; t1=$(now)
  R=$(mbps "$SIZE_MB" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
}

head -c "${SIZE_MB}M" /dev/urandom >"$WORK/big"
mkdir -p "$WORK/export"
start exportfs "$BIN_DIR/exportfs" -a 'tcp!127.0.0.1!0' -r "$WORK/export"
rw "$ADDR"; EW=$W; ER=$R
# Floors. Read: the same file through one more socket hop and nothing else
# (bench/relay_floor.cc), as storefs stands between the client and chunkd.
"$BIN_DIR/relay_floor" copy "${ADDR##*!}" 1 >"$WORK/relay.addr" &
PIDS+=("$!")
for _ in $(seq 100); do [[ -s $WORK/relay.addr ]] && break; sleep 0.1; done
sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
t0=$(now); "$BIN_DIR/9p" -a "$(head -1 "$WORK/relay.addr")" read /big >/dev/null; t1=$(now)
RF=$(mbps "$SIZE_MB" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
# Write: three copies of the file to this disk at once, one sync at the end.
t0=$(now)
DD=()
for i in 1 2 3; do
  dd if="$WORK/big" of="$WORK/copy$i" bs=1M conv=fdatasync status=none &
  DD+=("$!")
done
wait "${DD[@]}"
t1=$(now); rm -f "$WORK"/copy[123]
FW=$(mbps "$SIZE_MB" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
# Creates: the same client against exportfs on tmpfs, nothing durable.
mkdir -p /dev/shm/$BENCH.$$ && CDIR=/dev/shm/$BENCH.$$
start exportfsc "$BIN_DIR/exportfs" -a 'tcp!127.0.0.1!0' -r "$CDIR" --no-setuid
CE=$("$BIN_DIR/store_meta_bench" creates "$ADDR" 16 500 | awk '{print $NF}')
rm -rf "$CDIR"
mkdir -p "$WORK/s1" "$WORK/s3"
start storefs1 "$BIN_DIR/storefs" -a 'tcp!127.0.0.1!0' -d "$WORK/s1" --local 1 -r 1
rw "$ADDR"; W1=$W; R1=$R
start storefs3 "$BIN_DIR/storefs" -a 'tcp!127.0.0.1!0' -d "$WORK/s3" --local 3 -r 3
rw "$ADDR"; W3=$W; R3=$R
CREATES=$("$BIN_DIR/store_meta_bench" creates "$ADDR" 16 500 | awk '{print $NF}')
# The same store reading only through chunkd (no local reads): the relay cost.
mkdir -p "$WORK/s3n"
start storefs3n "$BIN_DIR/storefs" -a 'tcp!127.0.0.1!0' -d "$WORK/s3n" --local 3 -r 3 --no-local-reads
rw "$ADDR"; R3N=$R
rm -f "$WORK/big"

# Restore: four chunkd, one killed after RESTORE_MB are written.
CS=""
for i in 0 1 2 3; do
  mkdir -p "$WORK/r/c$i"
  "$BIN_DIR/chunkd" -a "unix!$WORK/r/c$i.sock" -d "$WORK/r/c$i" 2>>"$WORK/servers.log" &
  PIDS+=("$!"); CPID[$i]=$!
  CS="$CS${CS:+,}unix!$WORK/r/c$i.sock"
done
sleep 1
start storefsr "$BIN_DIR/storefs" -a 'tcp!127.0.0.1!0' -d "$WORK/r/meta" -c "$CS" \
  --heartbeat 0.5 --dead-after 2 --repair-bw 1024m
"$BIN_DIR/9p" -a "$ADDR" create /r
head -c "${RESTORE_MB}M" /dev/urandom | "$BIN_DIR/9p" -a "$ADDR" write /r
kill -9 "${CPID[0]}"
t0=$(now)
under() { "$BIN_DIR/9p" -a "$ADDR" -A ctl read ctl | awk '$1=="under-replicated"{u=$2} $1=="alive"{a=$2} END{print a" "u}'; }
until [[ $(under) == "3 0" ]]; do sleep 0.2; done
RESTORE=$(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}')

META=$("$BIN_DIR/store_meta_bench" meta "$WORK/meta" "$FILES")
PERFILE=$(echo "$META" | awk '/rss_bytes_per_file/{print $4}')
REPLAY=$(echo "$META" | awk '/replayed/{print $5}')

TABLE=$(cat <<TXT

## $(date -u '+%Y-%m-%d %H:%M UTC'): storefs vs exportfs (bench/store_bench.sh)

Machine: $(nproc) cores, $(uname -r), load average at start $LOAD; commit
$(git rev-parse --short HEAD). One ${SIZE_MB} MiB file of random bytes through
\`9p write\` / \`9p read\` (9P2000, msize 512 KiB), page cache dropped before
each read when allowed; storefs with --local chunkd on the same disk.

| measure | storefs | exportfs | ratio | goal |
| --- | ---: | ---: | ---: | --- |
| write MB/s, 1 replica | $W1 | $EW | $(rat "$W1" "$EW") | |
| write MB/s, 3 replicas | $W3 | $EW | $(rat "$W3" "$EW") | >= 0.33 |
| read MB/s, 1 replica | $R1 | $ER | $(rat "$R1" "$ER") | |
| read MB/s, 3 replicas | $R3 | $ER | $(rat "$R3" "$ER") | >= 0.80 |
| read MB/s, 3 replicas, --no-local-reads (every read through chunkd) | $R3N | $ER | $(rat "$R3N" "$ER") | |
| floor: write MB/s of 3 copies to this disk at once, one fdatasync each at the end | $FW | $EW | $(rat "$FW" "$EW") | |
| floor: read MB/s of exportfs through one more socket hop (relay_floor copy) | $RF | $ER | $(rat "$RF" "$ER") | |
| creates/s, 16 clients, each durable | $CREATES | | | >= 10000 |
| floor: creates/s, same client, exportfs on tmpfs, nothing durable | $CE | | | |
| s to restore 3 replicas of ${RESTORE_MB} MiB after a chunkd of 4 dies (dead after 2 s, repair 1 GiB/s cap) | $RESTORE | | | |
| metadata bytes per file, $FILES files | $PERFILE | | | |
| s to replay a log of $FILES records | $REPLAY | | | < 5 |

Commands: \`exportfs -a 'tcp!127.0.0.1!0' -r DIR\`; \`storefs -a 'tcp!127.0.0.1!0' -d DIR --local {1,3} -r {1,3} [--no-local-reads]\`;
\`9p -a ADDR write /big < big\`, \`9p -a ADDR read /big\`; \`store_meta_bench creates ADDR 16 500\`;
\`store_meta_bench meta DIR $FILES\`; restore: 4 \`chunkd\`, \`storefs -c ... --heartbeat 0.5 --dead-after 2 --repair-bw 1024m\`,
kill -9 of one chunkd, time until ctl says alive 3 and under-replicated 0.
Floors: \`dd if=big of=copyN bs=1M conv=fdatasync\` three at once; \`relay_floor copy PORT 1\`
in front of the same exportfs, page cache dropped first; \`exportfs -r /dev/shm/DIR --no-setuid\`
with \`store_meta_bench creates ADDR 16 500\`.
TXT
)
echo "$TABLE"
[[ $RESULTS == /dev/null ]] || echo "$TABLE" >>"$RESULTS"
