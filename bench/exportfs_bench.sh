#!/usr/bin/env bash
# bench/exportfs_bench.sh: exportfs against Debian's diod, side by side in
# one run, both exporting the same directory on 127.0.0.1:
#   - sequential read of one file (1 GiB by default) with diodcat (its
#     default msize, 64 KiB) from each server;
#   - the same file with `9p read` at msize 1 MiB (bin/9p; exportfs_load's
#     reader when bin/9p is not built), against iperf3 over loopback as the
#     ceiling of any one TCP stream here;
#   - small-file operations: walk+getattr+clunk per second from exportfs_load
#     with 1 and 16 concurrent clients.
# Prints a markdown section with the figures, their ratios and the exact
# commands; appends it to $RESULTS (bench/RESULTS.md) unless RESULTS=/dev/null.
# Everything it starts it kills by PID on exit.
#
# Environment: BIN_DIR (default build-bench/bin), RESULTS, SIZE_MB (1024),
# ROUNDS (2: each read and small-operation case runs that many times,
# servers interleaved, best counts), OPS_SECONDS (5), OPS_COUNT (5000000),
# IPERF_SECONDS (5).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=${BIN_DIR:-build-bench/bin}
RESULTS=${RESULTS:-bench/RESULTS.md}
SIZE_MB=${SIZE_MB:-1024}
ROUNDS=${ROUNDS:-2}
OPS_SECONDS=${OPS_SECONDS:-5}
OPS_COUNT=${OPS_COUNT:-5000000}
IPERF_SECONDS=${IPERF_SECONDS:-5}
DIOD=/usr/sbin/diod
DIODCAT=/usr/sbin/diodcat

BENCH=exportfs-bench
# shellcheck source=bench/lib.sh
source bench/lib.sh
for b in exportfs exportfs_load; do
  [[ -x $BIN_DIR/$b ]] || die "$BIN_DIR/$b is not built"
done
for t in $DIOD $DIODCAT /usr/bin/iperf3; do [[ -x $t ]] || die "$t is missing (make deps)"; done

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# Seconds a command takes (its stdout to /dev/null).
seconds_of() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>>"$WORK/cmd.log" || die "failed: $*: $(tail -n 2 "$WORK/cmd.log")"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
# CPU seconds a process has used (user + system): a figure the machine's
# load skews far less than elapsed time.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a < b) ? a : b }'; }
mbps() { awk -v mb="$SIZE_MB" -v s="$1" 'BEGIN { printf "%.0f", mb * 1048576 / s / 1e6 }'; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b) ? a : b }'; }
kv() { sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" <<<"$2"; }

EXPORT=$WORK/export
mkdir -p "$EXPORT"
echo "exportfs_bench: making a ${SIZE_MB} MiB file" >&2
head -c "${SIZE_MB}M" /dev/urandom >"$EXPORT/big"
for ((i = 0; i < 100; i++)); do echo "small $i" >"$EXPORT/f$i"; done
cat "$EXPORT/big" >/dev/null  # both servers read from the page cache

start_ours exportfs -m 1m -r "$EXPORT"
EX_ADDR=$ADDR_OUT
EX_PID=$OURS_PID
EX_PORT=${EX_ADDR##*!}

DIOD_PORT=$(free_port)
"$DIOD" -f -n -l "127.0.0.1:$DIOD_PORT" -e "$EXPORT" -L stderr 2>"$WORK/diod.log" &
PIDS+=($!)
DIOD_PID=$!
wait_listen "$DIOD_PORT" $! diod
DIOD_ADDR="tcp!127.0.0.1!$DIOD_PORT"

IPERF_PORT=$(free_port)
iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT" >"$WORK/iperf3.log" 2>&1 &
PIDS+=($!)
wait_listen "$IPERF_PORT" $! iperf3

if [[ -x $BIN_DIR/9p ]]; then
  READER="9p"
  read_cmd() { echo "$BIN_DIR/9p -a $1 -A $EXPORT -L -m 1048576 read /big"; }
else
  READER="exportfs_load read (bin/9p not built)"
  read_cmd() { echo "$BIN_DIR/exportfs_load read -a $1 -A $EXPORT -m 1048576 -p big"; }
fi

# ---- Sequential reads, servers interleaved, best of ROUNDS -------------------
declare -A BEST=([cat_ex]=0 [cat_diod]=0 [read_ex]=0 [read_diod]=0)
declare -A CPU=([ex]="" [diod]="")
for ((r = 1; r <= ROUNDS; r++)); do
  for srv in ex diod; do
    if [[ $srv == ex ]]; then port=$EX_PORT addr=$EX_ADDR pid=$EX_PID; else port=$DIOD_PORT addr=$DIOD_ADDR pid=$DIOD_PID; fi
    echo "exportfs_bench: round $r: diodcat and $READER from $srv" >&2
    c0=$(cpu_of "$pid")
    s=$(seconds_of "$DIODCAT" -s "127.0.0.1:$port" -a "$EXPORT" big)
    c1=$(cpu_of "$pid")
    CPU[$srv]=$(min "$(awk -v a="$c0" -v b="$c1" -v mb="$SIZE_MB" 'BEGIN { printf "%.2f", (b - a) * 1024 / mb }')" "${CPU[$srv]}")
    BEST[cat_$srv]=$(max "${BEST[cat_$srv]}" "$(mbps "$s")")
    # shellcheck disable=SC2046  # the command is words by construction
    s=$(seconds_of $(read_cmd "$addr"))
    BEST[read_$srv]=$(max "${BEST[read_$srv]}" "$(mbps "$s")")
  done
done

echo "exportfs_bench: iperf3 for ${IPERF_SECONDS} s" >&2
IPERF_JSON=$(iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -t "$IPERF_SECONDS" -J) || die "iperf3 failed"
IPERF=$(python3 -c 'import json,sys; print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 8e6))' <<<"$IPERF_JSON")

# ---- Small operations, servers interleaved, best of ROUNDS ------------------------
# Also the server's CPU per chain (from /proc/PID/stat around the run): what
# a server spends per operation, which the round trip does not hide.
declare -A OPS=([ex1]=0 [diod1]=0 [ex16]=0 [diod16]=0)
declare -A OPSCPU=([ex1]="" [diod1]="" [ex16]="" [diod16]="")
for c in 1 16; do
  for ((r = 1; r <= ROUNDS; r++)); do
    for srv in ex diod; do
      if [[ $srv == ex ]]; then addr=$EX_ADDR pid=$EX_PID; else addr=$DIOD_ADDR pid=$DIOD_PID; fi
      echo "exportfs_bench: round $r: walk+getattr+clunk, $c clients, $srv" >&2
      c0=$(cpu_of "$pid")
      out=$("$BIN_DIR/exportfs_load" ops -a "$addr" -A "$EXPORT" -c "$c" -n "$OPS_COUNT" \
        -t "$OPS_SECONDS" -f 100) || die "exportfs_load ops failed against $srv"
      c1=$(cpu_of "$pid")
      OPS[$srv$c]=$(max "${OPS[$srv$c]}" "$(kv rate "$out")")
      OPSCPU[$srv$c]=$(min "$(awk -v a="$c0" -v b="$c1" -v n="$(kv ops "$out")" \
        'BEGIN { printf "%.0f", (n > 0) ? (b - a) * 1e6 / n : 0 }')" "${OPSCPU[$srv$c]}")
    done
  done
done

# ---- Report ----------------------------------------------------------------------
goal() { awk -v a="$1" -v g="$2" 'BEGIN { print (a >= g) ? "met" : "NOT met" }'; }
R_CAT=$(ratio "${BEST[cat_ex]}" "${BEST[cat_diod]}")
R_READ=$(ratio "${BEST[read_ex]}" "$IPERF")
R_OPS1=$(ratio "${OPS[ex1]}" "${OPS[diod1]}")
R_OPS16=$(ratio "${OPS[ex16]}" "${OPS[diod16]}")
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
q() { sed "s/\(tcp![^ ]*\)/'\1'/g" <<<"$*"; }

SECTION="## $(date '+%Y-%m-%d %H:%M %Z'): exportfs vs diod (bench/exportfs_bench.sh)

Machine: $(nproc) cores ($CPU), Linux $(uname -r), load average at start
$LOAD; commit $COMMIT. Both servers export the same directory from the page
cache; one ${SIZE_MB} MiB file of random bytes, 100 small files. Reads and
small operations: best of $ROUNDS, servers interleaved; each small-operation
run ${OPS_SECONDS} s or $OPS_COUNT chains.

| measure | exportfs | diod | exportfs / diod | goal |
| --- | ---: | ---: | ---: | --- |
| diodcat, default msize (64 KiB), MB/s | ${BEST[cat_ex]} | ${BEST[cat_diod]} | $R_CAT | >= 1.2x: $(goal "$R_CAT" 1.2) |
| server CPU s per GiB served to diodcat (lower is better) | ${CPU[ex]} | ${CPU[diod]} | $(ratio "${CPU[ex]}" "${CPU[diod]}") | |
| $READER, msize 1 MiB, MB/s | ${BEST[read_ex]} | ${BEST[read_diod]} | $(ratio "${BEST[read_ex]}" "${BEST[read_diod]}") | >= 75% of iperf3: $(goal "$R_READ" 0.75) ($(awk -v r="$R_READ" 'BEGIN { printf "%.0f%%", r * 100 }')) |
| walk+getattr+clunk /s, 1 client | ${OPS[ex1]} | ${OPS[diod1]} | $R_OPS1 | >= 2x: $(goal "$R_OPS1" 2) |
| walk+getattr+clunk /s, 16 clients | ${OPS[ex16]} | ${OPS[diod16]} | $R_OPS16 | >= 2x: $(goal "$R_OPS16" 2) |
| server CPU us per chain, 1 / 16 clients (lower is better) | ${OPSCPU[ex1]} / ${OPSCPU[ex16]} | ${OPSCPU[diod1]} / ${OPSCPU[diod16]} | $(ratio "${OPSCPU[ex1]}" "${OPSCPU[diod1]}") / $(ratio "${OPSCPU[ex16]}" "${OPSCPU[diod16]}") | |

iperf3 over loopback (one stream, ${IPERF_SECONDS} s): $IPERF MB/s. diod
caps msize below 1 MiB, so its \`9p read\` row runs at the msize it agreed.

Commands (\$EXPORT = the exported directory, in $BIN_DIR):
- \`exportfs -a 'tcp!127.0.0.1!0' -m 1m -r \$EXPORT\` (its default msize cap is 512 KiB)
- \`diod -f -n -l 127.0.0.1:PORT -e \$EXPORT -L stderr\`
- \`diodcat -s 127.0.0.1:PORT -a \$EXPORT big >/dev/null\`
- \`$(q "$(read_cmd 'tcp!127.0.0.1!PORT')" | sed "s|$EXPORT|\$EXPORT|g; s|$BIN_DIR/||") >/dev/null\`
- \`iperf3 -s -B 127.0.0.1 -p PORT\`; \`iperf3 -c 127.0.0.1 -p PORT -t $IPERF_SECONDS -J\`
- \`exportfs_load ops -a 'tcp!127.0.0.1!PORT' -A \$EXPORT -c {1,16} -n $OPS_COUNT -t $OPS_SECONDS -f 100\`
"
echo
echo "$SECTION"
if [[ $RESULTS != /dev/null ]]; then
  [[ -f $RESULTS ]] || printf '# ninefold benchmark results\n\nAppended by `make bench` (bench/run.sh), newest last.\n' >"$RESULTS"
  printf '\n%s' "$SECTION" >>"$RESULTS"
  echo "exportfs_bench: appended to $RESULTS" >&2
fi
