#!/usr/bin/env bash
# bench/chunkd_bench.sh: chunkd's sequential write and read throughput
# against exportfs on the same disk, one run.
#
# Starts bin/chunkd and bin/exportfs on 127.0.0.1 (port 0), their
# directories side by side in one temporary directory (so on one disk), and
# moves SIZE_MB of random bytes through `9p -L` (msize 512 KiB):
#   - write: into one replica (/chunks/ID.1, every Twrite fdatasynced with
#     its CRCs) and into one exportfs file (not synced), and that exportfs
#     write followed by `sync -f` on the file, the durable reference;
#   - read: both back, from the page cache, best of ROUNDS, interleaved
#     (chunkd checks the CRC32C of every 64 KiB block it returns);
# with each server's CPU seconds per GiB (which the machine's load skews
# less than the rates). Prints a markdown section and appends it, with the
# commands, to RESULTS (bench/RESULTS.md). Kills what it starts by PID.
#
# Environment: BIN_DIR (default build-bench/bin), SIZE_MB (default 256),
# ROUNDS (default 3), RESULTS (bench/RESULTS.md; /dev/null to only print).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=${BIN_DIR:-build-bench/bin}
SIZE_MB=${SIZE_MB:-256}
ROUNDS=${ROUNDS:-3}
RESULTS=${RESULTS:-bench/RESULTS.md}

BENCH=chunkd-bench
# shellcheck source=bench/lib.sh
source bench/lib.sh
for b in chunkd exportfs 9p; do [[ -x $BIN_DIR/$b ]] || die "$BIN_DIR/$b is not built"; done

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
HZ=$(getconf CLK_TCK)
mkdir -p "$WORK/chunkd" "$WORK/export"
start_ours chunkd -d "$WORK/chunkd" --max-chunk "${SIZE_MB}m"
CADDR=$ADDR_OUT CPID=$OURS_PID
start_ours exportfs -r "$WORK/export"
EADDR=$ADDR_OUT EPID=$OURS_PID
NINEP=("$BIN_DIR/9p" -L)
ID=00000000000000b1

echo "chunkd_bench: $SIZE_MB MiB of random bytes" >&2
head -c "$((SIZE_MB << 20))" /dev/urandom >"$WORK/data"

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# timed PID CMD...: runs CMD; SECS its wall time, CPUG the CPU seconds per
# GiB the server PID spent meanwhile.
timed() {
  local pid=$1 t0 t1 c0 c1
  shift
  c0=$(ticks "$pid")
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  c1=$(ticks "$pid")
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  CPUG=$(awk -v c=$((c1 - c0)) -v hz="$HZ" -v mb="$SIZE_MB" 'BEGIN { printf "%.2f", c / hz / (mb / 1024) }')
}
rate() { awk -v mb="$SIZE_MB" -v s="$1" 'BEGIN { printf "%.0f", mb * 1.048576 / s }'; }  # MB/s
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a + 0 > b + 0) ? a : b }'; }

# ---- write ----------------------------------------------------------------
"${NINEP[@]}" -a "$CADDR" create "/chunks/$ID.1"
timed "$CPID" "${NINEP[@]}" -a "$CADDR" write "/chunks/$ID.1" <"$WORK/data"
C_W=$(rate "$SECS") C_WCPU=$CPUG
timed "$EPID" "${NINEP[@]}" -a "$EADDR" write /big <"$WORK/data"
E_W=$(rate "$SECS") E_WCPU=$CPUG
timed "$EPID" bash -c "'${NINEP[0]}' -L -a '$EADDR' write /big2 <'$WORK/data' && sync -f '$WORK/export/big2'"
E_WS=$(rate "$SECS")

# ---- read -----------------------------------------------------------------
C_R= E_R=
for ((r = 0; r < ROUNDS; r++)); do
  timed "$CPID" "${NINEP[@]}" -a "$CADDR" read "/chunks/$ID.1" >"$WORK/back"
  C_R=$(best "$(rate "$SECS")" "$C_R") C_RCPU=$CPUG
  timed "$EPID" "${NINEP[@]}" -a "$EADDR" read /big >/dev/null
  E_R=$(best "$(rate "$SECS")" "$E_R") E_RCPU=$CPUG
done
cmp -s "$WORK/data" "$WORK/back" || die "the replica read back differs from what was written"

COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
DIRTY=$(git diff --quiet 2>/dev/null || echo " (with uncommitted changes)")
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
FS=$(df -T "$WORK" | awk 'NR == 2 { print $2 " on " $1 }')
SECTION=$(cat <<EOF2

## $(date -u '+%Y-%m-%d %H:%M') UTC: chunkd vs exportfs, sequential I/O (bench/chunkd_bench.sh)

Machine: $(nproc) cores ($CPU), $(uname -sr), load average at start
$LOAD; commit $COMMIT$DIRTY. Both servers keep their files in one
directory on $FS; $SIZE_MB MiB of random bytes through \`9p -L\`
(msize 512 KiB). Reads from the page cache, best of $ROUNDS, interleaved.

| measure | chunkd | exportfs | chunkd / exportfs |
| --- | ---: | ---: | ---: |
| write, MB/s (chunkd: fdatasync per Twrite; exportfs: no sync) | $C_W | $E_W | $(ratio "$C_W" "$E_W") |
| write, MB/s (exportfs: then sync -f the file) | $C_W | $E_WS | $(ratio "$C_W" "$E_WS") |
| read, MB/s (chunkd: CRC32C of every block) | $C_R | $E_R | $(ratio "$C_R" "$E_R") |
| server CPU s per GiB written | $C_WCPU | $E_WCPU | $(ratio "$C_WCPU" "$E_WCPU") |
| server CPU s per GiB read | $C_RCPU | $E_RCPU | $(ratio "$C_RCPU" "$E_RCPU") |

Commands (in $BIN_DIR; \$W = the temporary directory):
- \`chunkd -a 'tcp!127.0.0.1!0' -d \$W/chunkd --max-chunk ${SIZE_MB}m\`; \`exportfs -a 'tcp!127.0.0.1!0' -r \$W/export\`
- \`9p -L -a ADDR create /chunks/$ID.1\`; \`9p -L -a ADDR write /chunks/$ID.1 < \$W/data\`; \`9p -L -a ADDR write /big < \$W/data\` (then \`sync -f\`)
- \`9p -L -a ADDR read /chunks/$ID.1 >\$W/back\` (compared with the data); \`9p -L -a ADDR read /big >/dev/null\`
EOF2
)
echo "$SECTION"
echo "$SECTION" >>"$RESULTS"
