#!/usr/bin/env bash
# bench/mount9p_bench.sh: mount9p throughput and metadata speed, one run.
#
# Starts bin/exportfs on 127.0.0.1 (port 0) over a temporary directory and
# mounts it with mount9p -L. In the same run it measures:
#   - sequential write of SIZE_MB through the mount (dd bs=1M conv=fsync),
#     and the same write directly to the local disk,
#   - the write again with the disk taken out: through a mount of a second
#     exportfs serving a tmpfs directory (/dev/shm), against a local tmpfs
#     write (skipped when /dev/shm lacks twice SIZE_MB),
#   - sequential read of that same file through a fresh mount (the FUSE page
#     cache empty, the server's warm), again on the same mount (warm), and
#     after `echo 3 > /proc/sys/vm/drop_caches` (cold from disk, root only),
#   - the same file read directly from the local disk, warm and cold,
#   - iperf3 over loopback (bounded by IPERF_SECONDS) as the ceiling,
#   - `find` + stat of every file of a FILES-file tree, through a fresh
#     mount and locally.
# Prints a markdown section (ratios included) and appends it, with the
# commands, to RESULTS (bench/RESULTS.md). Kills what it starts by PID and
# unmounts what it mounts, also on failure.
#
# Environment: BIN_DIR (default build-bench/bin), SIZE_MB (1024), FILES
# (10000), IPERF_SECONDS (3), RESULTS (bench/RESULTS.md; /dev/null to only
# print), MOUNT_OPTS (extra mount9p flags, e.g. "-o writeback").
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=${BIN_DIR:-build-bench/bin}
SIZE_MB=${SIZE_MB:-1024}
FILES=${FILES:-10000}
IPERF_SECONDS=${IPERF_SECONDS:-3}
RESULTS=${RESULTS:-bench/RESULTS.md}
MOUNT_OPTS=${MOUNT_OPTS:-}

BENCH=mount9p-bench
# shellcheck source=bench/lib.sh
source bench/lib.sh
[[ -x $BIN_DIR/mount9p ]] || die "$BIN_DIR/mount9p is not built"
[[ -x $BIN_DIR/exportfs ]] || die "$BIN_DIR/exportfs is not built"
command -v iperf3 >/dev/null || die "iperf3 is missing (apt-get install iperf3)"

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
MNT=$WORK/mnt
SHM=
bench_cleanup_hook() {
  if mountpoint -q "$MNT" 2>/dev/null; then
    "$BIN_DIR/mount9p" -u "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null || true
  fi
  [[ -n $SHM ]] && rm -rf "$SHM"
  return 0
}

ROOT=0
[[ $(id -u) == 0 ]] && ROOT=1
drop_caches() { ((ROOT)) && sync && echo 3 >/proc/sys/vm/drop_caches; }

# timed CMD...: runs CMD, sets SECS to its wall time.
timed() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@"
  t1=$(date +%s.%N)
  SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}
rate() { awk -v mb="$SIZE_MB" -v s="$1" 'BEGIN { printf "%.0f", mb * 1.048576 / s }'; }  # MB/s
# Reads file $1 from the page cache, then (as root) from disk after dropping
# the caches: sets WARM and COLD in MB/s (COLD n/a unless root).
read_warm_cold() {
  timed dd if="$1" of=/dev/null bs=1M status=none
  WARM=$(rate "$SECS")
  COLD=n/a
  if ((ROOT)); then
    drop_caches
    timed dd if="$1" of=/dev/null bs=1M status=none
    COLD=$(rate "$SECS")
  fi
}

EXPORT=$WORK/export
mkdir -p "$EXPORT" "$MNT"
start_ours exportfs -r "$EXPORT"
ADDR=$ADDR_OUT

MPID=
mount_it() {
  # -f in the background, so the bench knows the PID whose CPU it counts.
  # shellcheck disable=SC2086  # MOUNT_OPTS is words
  "$BIN_DIR/mount9p" -f -L $MOUNT_OPTS "$ADDR" "$MNT" 2>>"$WORK/mount9p.log" &
  MPID=$!
  for ((i = 0; i < 100; i++)); do
    mountpoint -q "$MNT" && return 0
    kill -0 "$MPID" 2>/dev/null || break
    sleep 0.1
  done
  die "mount9p did not mount: $(cat "$WORK/mount9p.log")"
}
unmount_it() {
  "$BIN_DIR/mount9p" -u "$MNT"
  wait "$MPID" 2>/dev/null || true
}

EPID=${PIDS[0]}  # the first exportfs, whose CPU the write and read count
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
machine() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8, $5 + $6 }' /proc/stat; }
HZ=$(getconf CLK_TCK)
# cpu_run LABEL CMD...: runs CMD (a dd) timed, and records the CPU seconds
# per GiB of mount9p, exportfs and the command, and how busy the machine
# was meanwhile, as CPU_<LABEL>.
declare -A CPU
cpu_run() {
  local label=$1 m0 e0 m1 e1 total0 idle0 total1 idle1
  shift
  m0=$(ticks "$MPID")
  e0=$(ticks "$EPID")
  read -r total0 idle0 < <(machine)
  timed /usr/bin/time -f '%U %S' -o "$WORK/time" "$@"
  read -r total1 idle1 < <(machine)
  m1=$(ticks "$MPID")
  e1=$(ticks "$EPID")
  CPU[$label]=$(awk -v m=$((m1 - m0)) -v e=$((e1 - e0)) -v hz="$HZ" -v mb="$SIZE_MB" \
    -v t="$(awk '{ print $1 + $2 }' "$WORK/time")" -v busy=$((total1 - total0 - (idle1 - idle0))) \
    -v all=$((total1 - total0)) -v n="$(nproc)" -v secs="$SECS" 'BEGIN {
      g = mb / 1024; ours = (m + e) / hz + t
      printf "exportfs %.2f, mount9p %.2f, dd %.2f CPU s/GiB; machine %.0f%% busy, others %.1f of %d cores",
        e / hz / g, m / hz / g, t / g, all ? 100 * busy / all : 0,
        (all ? n * busy / all : 0) - ours / secs, n }')
}

# ---- sequential I/O -------------------------------------------------------
F=big
mount_it
echo "mount9p_bench: write $SIZE_MB MiB" >&2
cpu_run write dd if=/dev/zero of="$MNT/$F" bs=1M count="$SIZE_MB" conv=fsync status=none
WRITE=$(rate "$SECS")
unmount_it
# The same write with FUSE's writeback cache (-o writeback), for reference.
SAVED_OPTS=$MOUNT_OPTS
MOUNT_OPTS="$MOUNT_OPTS -o writeback"
mount_it
timed dd if=/dev/zero of="$MNT/$F.wb" bs=1M count="$SIZE_MB" conv=fsync status=none
WRITE_WB=$(rate "$SECS")
rm -f "$MNT/$F.wb"
unmount_it
MOUNT_OPTS=$SAVED_OPTS
echo "mount9p_bench: local write" >&2
timed dd if=/dev/zero of="$EXPORT/$F.local" bs=1M count="$SIZE_MB" conv=fsync status=none
LOCAL_WRITE=$(rate "$SECS")
rm -f "$EXPORT/$F.local"

# The disk taken out: the same write to a tmpfs export, and locally.
WRITE_SHM=n/a
LOCAL_WRITE_SHM=n/a
if [[ -d /dev/shm ]] && (($(df --output=avail -k /dev/shm | tail -n1) > SIZE_MB * 2048)); then
  SHM=$(mktemp -d /dev/shm/mount9p-bench-XXXXXX)
  echo "mount9p_bench: write to a tmpfs export" >&2
  timed dd if=/dev/zero of="$SHM/local" bs=1M count="$SIZE_MB" conv=fsync status=none
  LOCAL_WRITE_SHM=$(rate "$SECS")
  rm -f "$SHM/local"
  LABEL=exportfs-shm start_ours exportfs -r "$SHM"
  SAVED_ADDR=$ADDR
  ADDR=$ADDR_OUT
  mount_it
  timed dd if=/dev/zero of="$MNT/$F" bs=1M count="$SIZE_MB" conv=fsync status=none
  WRITE_SHM=$(rate "$SECS")
  unmount_it
  ADDR=$SAVED_ADDR
  rm -rf "$SHM"
  SHM=
fi

mount_it
echo "mount9p_bench: read, fresh mount" >&2
cpu_run read dd if="$MNT/$F" of=/dev/null bs=1M status=none
READ_FRESH=$(rate "$SECS")
read_warm_cold "$MNT/$F"
READ_WARM=$WARM READ_DISK=$COLD
unmount_it

echo "mount9p_bench: local reads" >&2
cat "$EXPORT/$F" >/dev/null
read_warm_cold "$EXPORT/$F"
LOCAL_WARM=$WARM LOCAL_COLD=$COLD

# ---- iperf3 ceiling ----------------------------------------------------------
echo "mount9p_bench: iperf3" >&2
IPORT=$(free_port)
iperf3 -s -1 -B 127.0.0.1 -p "$IPORT" >"$WORK/iperf3.log" 2>&1 &
PIDS+=($!)
wait_listen "$IPORT" $! iperf3
IPERF_BPS=$(iperf3 -c 127.0.0.1 -p "$IPORT" -t "$IPERF_SECONDS" -f m 2>/dev/null |
  awk '/receiver/ { for (i = 1; i <= NF; i++) if ($(i) == "Mbits/sec") print $(i - 1) }')
IPERF=$(awk -v m="${IPERF_BPS:-0}" 'BEGIN { printf "%.0f", m / 8 }')  # MB/s

# ---- find + stat over a tree ---------------------------------------------------
echo "mount9p_bench: $FILES-file tree" >&2
TREE=$EXPORT/tree
DIRS=$(((FILES + 99) / 100))
for ((d = 0; d < DIRS; d++)); do
  mkdir -p "$TREE/d$d"
  (cd "$TREE/d$d" && for ((f = 0; f < 100 && d * 100 + f < FILES; f++)); do : >"f$f"; done)
done
FINDSTAT=(find . -printf '%s %m %u %TY\n')
timed bash -c "cd '$TREE' && ${FINDSTAT[*]@Q} >/dev/null"
FIND_LOCAL=$SECS
mount_it
timed bash -c "cd '$MNT/tree' && ${FINDSTAT[*]@Q} >/dev/null"
FIND_MOUNT=$SECS
N=$(cd "$MNT/tree" && find . | wc -l)
unmount_it

# ---- report ---------------------------------------------------------------------
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
goal() { awk -v a="$1" -v g="$2" 'BEGIN { print (a + 0 >= g) ? "met" : "not met" }'; }
SECTION="## $(date '+%Y-%m-%d %H:%M %Z'): mount9p over exportfs (9P2000.L, 127.0.0.1)

Machine: $(nproc) cores ($CPU), Linux $(uname -r), load average at start
$LOAD; commit $COMMIT; mount9p -L $MOUNT_OPTS (default msize 512 KiB).
One run; MB/s = 10^6 bytes per second; $SIZE_MB MiB file.

| case | MB/s | vs local warm | vs iperf3 |
| --- | ---: | ---: | ---: |
| write through mount9p (dd bs=1M conv=fsync) | $WRITE | $(ratio "$WRITE" "$LOCAL_WARM") | $(ratio "$WRITE" "$IPERF") |
| write with -o writeback (FUSE writeback cache) | $WRITE_WB | $(ratio "$WRITE_WB" "$LOCAL_WARM") | $(ratio "$WRITE_WB" "$IPERF") |
| local write to the same disk (dd conv=fsync) | $LOCAL_WRITE | $(ratio "$LOCAL_WRITE" "$LOCAL_WARM") | $(ratio "$LOCAL_WRITE" "$IPERF") |
| write through mount9p to a tmpfs export | $WRITE_SHM | $(ratio "$WRITE_SHM" "$LOCAL_WARM") | $(ratio "$WRITE_SHM" "$IPERF") |
| local write to tmpfs | $LOCAL_WRITE_SHM | $(ratio "$LOCAL_WRITE_SHM" "$LOCAL_WARM") | $(ratio "$LOCAL_WRITE_SHM" "$IPERF") |
| read, fresh mount (FUSE cache cold, server cache warm) | $READ_FRESH | $(ratio "$READ_FRESH" "$LOCAL_WARM") | $(ratio "$READ_FRESH" "$IPERF") |
| read again, same mount (page cache warm) | $READ_WARM | $(ratio "$READ_WARM" "$LOCAL_WARM") | $(ratio "$READ_WARM" "$IPERF") |
| read after drop_caches (cold from disk) | $READ_DISK | $(ratio "$READ_DISK" "$LOCAL_COLD") (vs local cold) | $(ratio "$READ_DISK" "$IPERF") |
| local read, page cache warm | $LOCAL_WARM | 1.00 | $(ratio "$LOCAL_WARM" "$IPERF") |
| local read after drop_caches | $LOCAL_COLD | | |
| iperf3 over loopback, ${IPERF_SECONDS} s | $IPERF | | 1.00 |

find + stat of $N entries ($FILES files): local ${FIND_LOCAL} s, through a
fresh mount ${FIND_MOUNT} s ($(ratio "$FIND_MOUNT" "$FIND_LOCAL")x the local time).

Where the time goes (CPU seconds per GiB moved, and what else ran):
- write: ${CPU[write]}
- fresh-mount read: ${CPU[read]}

Goals (issue 4): cold read >= 1500 MB/s and >= 35% of iperf3:
$(goal "$READ_FRESH" 1500) ($READ_FRESH MB/s), $(goal "$(ratio "$READ_FRESH" "$IPERF")" 0.35)
($(ratio "$READ_FRESH" "$IPERF") of iperf3); write >= 1000 MB/s: $(goal "$WRITE" 1000) ($WRITE MB/s,
$(ratio "$WRITE" "$LOCAL_WRITE") of the local disk's write; to tmpfs $WRITE_SHM MB/s,
$(ratio "$WRITE_SHM" "$LOCAL_WRITE_SHM") of a local tmpfs write).

Commands:
- \`exportfs -a 'tcp!127.0.0.1!0' -r EXPORT\` -> $ADDR
- \`mount9p -f -L $MOUNT_OPTS '$ADDR' MNT &\`; \`mount9p -u MNT\` between cases
- \`dd if=/dev/zero of=MNT/big bs=1M count=$SIZE_MB conv=fsync\` (then again on a mount with \`-o writeback\`, then locally to EXPORT, to /dev/shm, and through a mount of an exportfs serving /dev/shm)
- \`dd if=MNT/big of=/dev/null bs=1M\` (fresh mount, then again, then after \`echo 3 > /proc/sys/vm/drop_caches\`)
- \`dd if=EXPORT/big of=/dev/null bs=1M\` (warm, then after drop_caches)
- \`iperf3 -s -1 -B 127.0.0.1 -p PORT\`; \`iperf3 -c 127.0.0.1 -p PORT -t $IPERF_SECONDS\`
- \`cd TREE && find . -printf '%s %m %u %TY\\\\n'\` (local, then through a fresh mount)
"
echo "$SECTION"
if [[ $RESULTS != /dev/null ]]; then
  [[ -f $RESULTS ]] || printf '# ninefold benchmark results\n\nAppended by `make bench` (bench/run.sh), newest last.\n' >"$RESULTS"
  printf '\n%s' "$SECTION" >>"$RESULTS"
  echo "mount9p_bench: appended to $RESULTS" >&2
fi
