#!/usr/bin/env bash
# bench/run.sh: the end-to-end benchmarks behind `make bench`.
#
# Starts bin/ramfs (and bin/exportfs when built) on 127.0.0.1 port 0 and
# Debian's diod on a free port, exporting the same temporary directory; runs
# codec_bench (when built) and rtt_bench against each server in the same run;
# prints a table with the ratios against diod and appends it, with the date,
# the machine and the exact commands, to bench/RESULTS.md. Everything it
# starts it kills by PID on exit.
#
# Then the other parts' benchmarks run, each appending its own section:
# bench/mount9p_bench.sh (FUSE throughput), bench/mount9p_posix_bench.sh
# (issue 12's find+stat, first read and tmpfs write), bench/exportfs_bench.sh
# (exportfs vs diod), bench/tls_bench.sh (TLS against plain TCP),
# bench/chunkd_bench.sh (chunkd vs exportfs), bench/store_bench.sh,
# bench/store_etcd_bench.sh (storefs's metadata in etcd against the
# embedded log, when Debian's etcd is installed), bench/store_ec_bench.sh
# (Reed-Solomon 4+2 against 3 replicas), bench/union_bench.sh and
# bench/ns_bench.sh (a replacing bind), when their binaries are built.
#
# Environment: BUILD_DIR (default build-bench), CALLS (default 200000),
# SECONDS_PER_CASE (default 10), ROUNDS (default 1: with more, each case
# runs that many times, servers interleaved, and the best rate counts),
# RESULTS (default bench/RESULTS.md; RESULTS=/dev/null to only print),
# RTT_ONLY=1 (skip the part benchmarks that follow the round trips).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-build-bench}
BIN_DIR=$BUILD_DIR/bin
CALLS=${CALLS:-200000}
SECONDS_PER_CASE=${SECONDS_PER_CASE:-10}
ROUNDS=${ROUNDS:-1}
RESULTS=${RESULTS:-bench/RESULTS.md}
DIOD=${DIOD:-/usr/sbin/diod}
DIODLOAD=${DIODLOAD:-/usr/sbin/diodload}

BENCH=ninefold-bench
# shellcheck source=bench/lib.sh
source bench/lib.sh
[[ -x $BIN_DIR/rtt_bench ]] || die "$BIN_DIR/rtt_bench is not built (make bench builds it)"
[[ -x $BIN_DIR/ramfs ]] || die "$BIN_DIR/ramfs is not built"
[[ -x $DIOD ]] || die "$DIOD is missing (apt-get install diod)"

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)  # others' work skews figures: say so
# start_diod: diod exporting $EXPORT (and its ctl tree, for diodload) on a
# free port; sets DIOD_PORT. diod cannot pick a port itself, so try a few.
start_diod() {
  local try port pid i
  for try in 1 2 3 4 5; do
    port=$(free_port)
    "$DIOD" -f -n -l "127.0.0.1:$port" -e "$EXPORT" -e ctl -L stderr 2>>"$WORK/diod.log" &
    pid=$!
    for ((i = 0; i < 50; i++)); do
      if ss -Htln "sport = :$port" | grep -q .; then
        PIDS+=("$pid")
        DIOD_PORT=$port
        DIOD_CMD="diod -f -n -l 127.0.0.1:$port -e $EXPORT -e ctl"
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  die "diod would not start: $(tail -n 3 "$WORK/diod.log")"
}

# The exported tree: a few files, so the servers are not serving an empty dir.
EXPORT=$WORK/export
mkdir -p "$EXPORT/d"
for i in 1 2 3 4 5 6 7 8; do echo "file $i" >"$EXPORT/d/f$i"; done

start_ours ramfs
RAMFS_ADDR=$ADDR_OUT
EXPORTFS_ADDR=
if [[ -x $BIN_DIR/exportfs ]]; then
  start_ours exportfs -r "$EXPORT"
  EXPORTFS_ADDR=$ADDR_OUT
fi
start_diod
DIOD_ADDR="tcp!127.0.0.1!$DIOD_PORT"

# The cases: label|rtt_bench arguments. Ours first; diod is the reference.
CASES=(
  "ramfs 9P2000 Tstat|-a $RAMFS_ADDR"
  "ramfs 9P2000.L Tgetattr|-a $RAMFS_ADDR -L"
)
[[ -n $EXPORTFS_ADDR ]] && CASES+=("exportfs 9P2000.L Tgetattr|-a $EXPORTFS_ADDR -L")
CASES+=("diod 9P2000.L Tgetattr|-a $DIOD_ADDR -L -A $EXPORT")

COMMANDS=()
declare -A BEST  # "label|case|depth" -> best rate; "label|p50" etc.
for ((round = 1; round <= ROUNDS; round++)); do
  for c in "${CASES[@]}"; do
    label=${c%%|*}
    args=${c#*|}
    cmd="rtt_bench $args -n $CALLS -t $SECONDS_PER_CASE -d 1 -d 64 -s"
    # Dial strings quoted as a shell user must type them.
    ((round == 1)) && COMMANDS+=("$(sed "s/\(tcp![^ ]*\)/'\1'/g" <<<"$cmd")")
    echo "bench: $label: $cmd" >&2
    # shellcheck disable=SC2086  # args are words by construction
    out=$("$BIN_DIR/rtt_bench" $args -n "$CALLS" -t "$SECONDS_PER_CASE" -d 1 -d 64 -s) ||
      die "$label: rtt_bench failed"
    echo "$out" | sed "s/^/  /" >&2
    while read -r line; do
      declare -A kv=()
      for f in $line; do kv[${f%%=*}]=${f#*=}; done
      key="$label|${kv[case]}|${kv[depth]}"
      old=${BEST[$key]:-0}
      if awk -v a="${kv[rate]}" -v b="$old" 'BEGIN { exit !(a > b) }'; then
        BEST[$key]=${kv[rate]}
        BEST[$key|p50]=${kv[p50_us]}
        BEST[$key|p99]=${kv[p99_us]}
      fi
      unset kv
    done <<<"$out"
  done
done

# diodload -g: diod's own 16-thread getattr load on ctl:null, for reference
# against the figures above; and against exportfs, which serves the same
# ctl tree, when it is built.
DIODLOAD_LINES=()
run_diodload() {  # LABEL HOST:PORT
  local r
  r=$(timeout 30 "$DIODLOAD" -s "$2" -g -r 5 2>&1 | grep -o '[0-9]* ops/s' | head -n1) || true
  DIODLOAD_LINES+=("| $1 | \`diodload -s $2 -g -r 5\` | ${r:-failed} |")
}
if [[ -x $DIODLOAD ]]; then
  run_diodload diod "127.0.0.1:$DIOD_PORT"
  if [[ -n $EXPORTFS_ADDR ]]; then
    IFS='!' read -r _ h p <<<"$EXPORTFS_ADDR"
    run_diodload exportfs "$h:$p"
  fi
fi

CODEC=
if [[ -x $BIN_DIR/codec_bench ]]; then
  echo "bench: codec_bench" >&2
  CODEC=$("$BIN_DIR/codec_bench" --benchmark_color=false 2>&1) || die "codec_bench failed"
  echo "$CODEC" >&2
fi

# ---- The table ----------------------------------------------------------
D1=${BEST[diod 9P2000.L Tgetattr|async|1]:-0}
D64=${BEST[diod 9P2000.L Tgetattr|async|64]:-0}
TABLE="| server | dialect, request | 1 in flight /s | 64 in flight /s | sync 1 /s | p50 µs at 1 | p99 µs at 64 | vs diod at 1 | vs diod at 64 |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for c in "${CASES[@]}"; do
  label=${c%%|*}
  read -r srv dia req <<<"$label"
  a1=${BEST[$label|async|1]:-0}
  a64=${BEST[$label|async|64]:-0}
  s1=${BEST[$label|sync|1]:-0}
  TABLE+=$'\n'"| $srv | $dia $req | $a1 | $a64 | $s1 | ${BEST[$label|async|1|p50]:-} | ${BEST[$label|async|64|p99]:-} | $(ratio "$a1" "$D1") | $(ratio "$a64" "$D64") |"
done

goal() {  # LABEL: the issue's goals for one of our servers
  local a1=${BEST[$1|async|1]:-0} a64=${BEST[$1|async|64]:-0}
  local g1 g64
  g1=$(awk -v a="$a1" 'BEGIN { print (a >= 40000) ? "met" : "not met" }')
  g64=$(awk -v a="$a64" -v d="$D64" 'BEGIN { print (d > 0 && a >= 2 * d) ? "met" : "not met" }')
  echo "- $1: >= 40,000/s at 1 in flight: $g1 ($a1/s); >= 2x diod at 64: $g64 ($(ratio "$a64" "$D64")x)"
}
GOALS=$(goal "ramfs 9P2000 Tstat"; goal "ramfs 9P2000.L Tgetattr")
[[ -n $EXPORTFS_ADDR ]] && GOALS+=$'\n'$(goal "exportfs 9P2000.L Tgetattr")

SERVERS="- \`ramfs -a 'tcp!127.0.0.1!0'\` -> $RAMFS_ADDR"
if [[ -n $EXPORTFS_ADDR ]]; then
  SERVERS+=$'\n'"- \`exportfs -a 'tcp!127.0.0.1!0' -r $EXPORT\` -> $EXPORTFS_ADDR"
fi
DIOD_VERSION=$(dpkg-query -W -f='${Version}' diod 2>/dev/null || echo '?')
SERVERS+=$'\n'"- \`$DIOD_CMD\` (diod $DIOD_VERSION, 16 worker threads by default)"

BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null)
BUILD_TYPE=${BUILD_TYPE:-unknown}

# At 1 in flight the mean rate hides what one round trip costs when the
# machine is busy (a few calls wait milliseconds for a core): give the rate
# a median round trip implies next to it.
MEDIANS=
for c in "${CASES[@]}"; do
  label=${c%%|*}
  p50=${BEST[$label|async|1|p50]:-0}
  MEDIANS+=$(awk -v l="$label" -v p="$p50" \
    'BEGIN { if (p > 0) printf "- %s: median %.1f us at 1 in flight, i.e. %.0f/s\n", l, p, 1e6 / p }')$'\n'
done

provenance
SECTION="## $(date '+%Y-%m-%d %H:%M %Z'): stat round trips on one connection

Machine: $(nproc) cores ($CPU), Linux $(uname -r), load average at start
$LOAD; commit $COMMIT$DIRTY; $BUILD_TYPE build in $BUILD_DIR.
Each case is bounded by $CALLS calls or ${SECONDS_PER_CASE} s; best of $ROUNDS
round(s). \"1 in flight\" and \"64 in flight\" drive the async Call API (each
reply's callback sends the next request); \"sync 1\" is the blocking CallSync
facade, one call after another.

$TABLE

Goals (issue 2):
$GOALS

Rate implied by the median round trip at 1 in flight (what an idle machine
approaches; compare the load average above):
$MEDIANS
Servers:
$SERVERS

Commands (in $BIN_DIR):
$(for c in "${COMMANDS[@]}"; do echo "- \`$c\`"; done)
"
if ((${#DIODLOAD_LINES[@]})); then
  SECTION+="
diod's own load generator (16 threads, getattr of ctl:null, 5 s):

| server | command | result |
| --- | --- | --- |
$(printf '%s\n' "${DIODLOAD_LINES[@]}")
"
fi
if [[ -n $CODEC ]]; then
  SECTION+="
Codec (\`codec_bench\`):

\`\`\`
$CODEC
\`\`\`
"
fi

echo
echo "$SECTION"
if [[ $RESULTS != /dev/null ]]; then
  [[ -f $RESULTS ]] || printf '# ninefold benchmark results\n\nAppended by `make bench` (bench/run.sh), newest last.\n' >"$RESULTS"
  printf '\n%s' "$SECTION" >>"$RESULTS"
  echo "bench: appended to $RESULTS" >&2
fi

# The round-trip servers are done: stop them before the part benchmarks.
bench_cleanup
[[ ${RTT_ONLY:-0} == 1 ]] && exit 0

# mount9p through FUSE over exportfs: its own section in $RESULTS.
if [[ -x $BIN_DIR/mount9p && -x $BIN_DIR/exportfs ]]; then
  BIN_DIR=$BIN_DIR RESULTS=$RESULTS bash bench/mount9p_bench.sh
  # issue 12: find+stat, first/second fresh-mount read, tmpfs write, with floors
  [[ -x $BIN_DIR/9p ]] && BIN_DIR=$BIN_DIR RESULTS=$RESULTS bash bench/mount9p_posix_bench.sh
fi
if [[ -x $BIN_DIR/exportfs ]]; then BIN_DIR=$BIN_DIR RESULTS=$RESULTS bash bench/exportfs_bench.sh; fi  # exportfs vs diod
if [[ -x $BIN_DIR/exportfs && -x $BIN_DIR/9p ]]; then  # a fresh server's first read vs its second
  BIN_DIR=$BIN_DIR RESULTS=$RESULTS bash bench/exportfs_firstread.sh
fi
if [[ -x $BIN_DIR/exportfs && -x $BIN_DIR/9p ]]; then  # TLS vs plain TCP
  BIN_DIR=$BIN_DIR RESULTS=$RESULTS bash bench/tls_bench.sh
fi
if [[ -x $BIN_DIR/chunkd && -x $BIN_DIR/exportfs ]]; then  # chunkd vs exportfs on one disk
  BIN_DIR=$BIN_DIR RESULTS=$RESULTS bash bench/chunkd_bench.sh
fi
if [[ -x $BIN_DIR/storefs ]]; then BIN_DIR=$BIN_DIR RESULTS=$RESULTS bash bench/store_bench.sh; fi  # storefs vs exportfs
if [[ -x $BIN_DIR/storefs && -x $BIN_DIR/store_meta_bench && -x /usr/bin/etcd ]]; then  # issue 13: metadata in etcd vs the embedded log
  BIN_DIR=$BIN_DIR RESULTS=$RESULTS bash bench/store_etcd_bench.sh
fi
if [[ -x $BIN_DIR/storefs && -x $BIN_DIR/chunkd && -x $BIN_DIR/9p ]]; then  # issue 13: RS 4+2 vs 3 replicas
  BIN_DIR=$BIN_DIR RESULTS=$RESULTS bash bench/store_ec_bench.sh
fi
# ns's union directories vs direct access: its own section in $RESULTS.
if [[ -x $BIN_DIR/union_mount ]]; then BIN_DIR=$BIN_DIR RESULTS=$RESULTS bash bench/union_bench.sh; fi

# ns: a replacing bind against direct access (the unions: union_bench.sh).
if [[ -x $BIN_DIR/ns ]]; then BIN_DIR=$BIN_DIR RESULTS=$RESULTS bash bench/ns_bench.sh; fi
