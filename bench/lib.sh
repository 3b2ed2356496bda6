# bench/lib.sh: what the benchmark scripts share; sourced, never run.
#
# Set BENCH (the name errors start with) and BIN_DIR before sourcing. It
# gives:
#   die MSG            print "BENCH: MSG" and exit 1
#   WORK, PIDS         a temporary directory and the PIDs started; on exit
#                      bench_cleanup_hook runs (when the script defines
#                      one), then every PID is killed and WORK removed
#   free_port          a port no socket uses now
#   wait_listen P PID NAME   until something listens on port P (NAME's log
#                      is $WORK/NAME.log, shown if PID dies first)
#   start_ours NAME ARGS...  one of our servers on 127.0.0.1 port 0; sets
#                      ADDR_OUT (the address it printed) and OURS_PID; logs
#                      go to $WORK/LABEL.*, LABEL defaulting to NAME
#   ratio A B          A/B to two places, "-" when B is 0 or A not a number
#   provenance         sets COMMIT (short hash), DIRTY (" (with uncommitted
#                      changes)" or empty), CPU (the model name) and FS
#                      (WORK's filesystem type and device) for a section

die() { echo "$BENCH: $*" >&2; exit 1; }

WORK=$(mktemp -d "/tmp/$BENCH-XXXXXX")
PIDS=()
bench_cleanup() {
  if declare -F bench_cleanup_hook >/dev/null; then bench_cleanup_hook; fi
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  rm -rf "$WORK"
  return 0
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# A port no socket uses now: a listener, or connections in TIME-WAIT from
# the runs before (they can make the bind fail).
free_port() {
  local port
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    port=$((20000 + RANDOM % 40000))
    ss -Htan "sport = :$port" | grep -q . || { echo "$port"; return 0; }
  done
  die "no free port"
}

wait_listen() {  # PORT PID NAME
  local i
  for ((i = 0; i < 100; i++)); do
    ss -Htln "sport = :$1" | grep -q . && return 0
    kill -0 "$2" 2>/dev/null || die "$3 exited: $(tail -n 3 "$WORK/$3.log" 2>/dev/null)"
    sleep 0.1
  done
  die "$3 is not listening on $1"
}

start_ours() {  # NAME ARGS...
  local name=$1 label=${LABEL:-$1} i
  shift
  "$BIN_DIR/$name" -a 'tcp!127.0.0.1!0' "$@" >"$WORK/$label.addr" 2>"$WORK/$label.log" &
  OURS_PID=$!
  PIDS+=("$OURS_PID")
  for ((i = 0; i < 100; i++)); do
    if [[ -s $WORK/$label.addr ]]; then
      ADDR_OUT=$(head -n1 "$WORK/$label.addr")
      return 0
    fi
    kill -0 "$OURS_PID" 2>/dev/null || die "$name exited: $(cat "$WORK/$label.log")"
    sleep 0.1
  done
  die "$name printed no address in 10 s"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a ~ /^[0-9.]+$/) printf "%.2f", a / b; else print "-" }'; }

provenance() {
  COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  DIRTY=$(git diff --quiet HEAD 2>/dev/null || echo " (with uncommitted changes)")
  CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  FS=$(df -T "$WORK" | awk 'NR == 2 { print $2 " on " $1 }')
}
