#!/usr/bin/env bash
# bench/store_etcd_bench.sh: issue 13's figures (the store beyond one
# machine), each against a reference run in the same go, appended to
# bench/RESULTS.md:
#   - creates/s of empty files from 16 clients (store_meta_bench creates),
#     storefs with its metadata in etcd against storefs with the embedded
#     log (the reference), a fresh store for each run;
#   - stats/s of those files right after, on the same server
#     (store_meta_bench stats);
#   - the etcd floor: guarded puts straight to etcd from 16 threads through
#     the client storefs uses (store_meta_bench etcdfloor), what etcd itself
#     takes on this machine.
# The machine is small and noisy, so the cases run ROUNDS times, interleaved
# (embedded, etcd, floor; embedded, etcd, floor; ...), and every round's
# figures are printed. Debian's etcd runs on 127.0.0.1 with free ports and
# its data in the temporary directory; everything started is killed by PID.
#
# Environment: BIN_DIR (default build-bench/bin), N (files per client,
# default 1000: with fewer the embedded log's runs last a few tenths of a
# second, as short as the jitter here), ROUNDS (default 3), ETCD (default
# /usr/bin/etcd), ETCDCTL (default /usr/bin/etcdctl), RESULTS
# (bench/RESULTS.md; /dev/null to only print).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=${BIN_DIR:-build-bench/bin}
N=${N:-1000}
ROUNDS=${ROUNDS:-3}
ETCD=${ETCD:-/usr/bin/etcd}
ETCDCTL=${ETCDCTL:-/usr/bin/etcdctl}
RESULTS=${RESULTS:-bench/RESULTS.md}
CLIENTS=16
GOAL=2000  # issue 13: with etcd, at least 2,000 creates/s from 16 clients

BENCH=store-etcd-bench
# shellcheck source=bench/lib.sh
source bench/lib.sh
for b in storefs chunkd store_meta_bench; do
  [[ -x $BIN_DIR/$b ]] || die "$BIN_DIR/$b is not built"
done
[[ -x $ETCD && -x $ETCDCTL ]] || die "$ETCD or $ETCDCTL is missing (apt-get install etcd-server etcd-client)"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

# stop PID: kills one server we started, waits for it and forgets it, so
# the exit trap never signals a reaped (perhaps reused) pid.
stop() {
  local p keep=()
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# start_etcd: one etcd member on free client and peer ports (etcd cannot
# report a port it picked, so try a few); sets ETCD_PORT, ETCD_PID and
# ETCD_ARGS once it answers a health check.
start_etcd() {
  local cport pport pid i
  for _ in 1 2 3 4 5; do
    cport=$(free_port)
    pport=$(free_port)
    [[ $cport != "$pport" ]] || continue
    rm -rf "$WORK/etcd"
    ETCD_ARGS=(--name bench --data-dir "$WORK/etcd"
      --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport"
      --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport"
      --initial-cluster "bench=http://127.0.0.1:$pport" --max-txn-ops 4096
      --logger zap --log-outputs "$WORK/etcd.log")
    "$ETCD" "${ETCD_ARGS[@]}" 2>>"$WORK/etcd.stderr" &
    pid=$!
    for ((i = 0; i < 100; i++)); do
      if ETCDCTL_API=3 timeout 5 "$ETCDCTL" --endpoints "127.0.0.1:$cport" --dial-timeout 1s \
        endpoint health >/dev/null 2>&1; then
        PIDS+=("$pid")
        ETCD_PORT=$cport ETCD_PID=$pid
        return 0
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  die "etcd would not start: $(tail -n 3 "$WORK/etcd.log" "$WORK/etcd.stderr" 2>/dev/null)"
}

# field LINE: the last word of store_meta_bench's line (the rate).
field() { awk '{ print $NF }' <<<"$1"; }
# meta_bench MODE TARGET: one store_meta_bench run; its line, or death.
meta_bench() {
  local out
  out=$("$BIN_DIR/store_meta_bench" "$1" "$2" "$CLIENTS" "$N" 2>&1) ||
    die "store_meta_bench $1 $2 $CLIENTS $N failed: $out"
  echo "store_etcd_bench: $1 $2: $out" >&2
  echo "$out"
}
# store KIND R [ARGS...]: a fresh storefs (its own directory), creates then
# stats; sets C (creates/s) and S (stats/s), kills the storefs.
store() {
  local kind=$1 r=$2 line
  shift 2
  mkdir -p "$WORK/$kind$r"
  LABEL=storefs-$kind$r start_ours storefs "$@" -d "$WORK/$kind$r" --local 3
  line=$(meta_bench creates "$ADDR_OUT"); C=$(field "$line")
  line=$(meta_bench stats "$ADDR_OUT"); S=$(field "$line")
  stop "$OURS_PID"
  rm -rf "${WORK:?}/$kind$r"
}

start_etcd
ETCD_SPEC="etcd!127.0.0.1!$ETCD_PORT"
ETCD_VERSION=$("$ETCD" --version | awk '/^etcd Version/ { print $3 }')
echo "store_etcd_bench: etcd $ETCD_VERSION on 127.0.0.1:$ETCD_PORT; $ROUNDS rounds, $CLIENTS clients x $N files" >&2

declare -a CE CX SE SX FL
for ((r = 1; r <= ROUNDS; r++)); do
  store log "$r"
  CE[r]=$C SE[r]=$S
  # A fresh key prefix per run: creates makes c0..c15 and fails on old ones.
  store etcd "$r" --meta "$ETCD_SPEC" --meta-prefix "run$r/"
  CX[r]=$C SX[r]=$S
  FL[r]=$(field "$(meta_bench etcdfloor "$ETCD_SPEC")")
done

# Erasure coding (issue 13's second figure) is bench/store_ec_bench.sh: it
# needs no etcd, so run.sh runs it where etcd is not installed too.

stop "$ETCD_PID"

# row LABEL ARRAY-NAME [GOAL-CELL]: one table row, a cell per round.
row() {
  local -n a=$2
  local line="| $1 |" r
  for ((r = 1; r <= ROUNDS; r++)); do line+=" ${a[r]} |"; done
  echo "$line ${3:-} |"
}
declare -a RC RS RF
MET=0 MIN=${CX[1]} MAX=${CX[1]}
# shellcheck disable=SC2034  # RC, RS, RF are read through row's nameref
for ((r = 1; r <= ROUNDS; r++)); do
  RC[r]=$(ratio "${CX[r]}" "${CE[r]}")
  RS[r]=$(ratio "${SX[r]}" "${SE[r]}")
  RF[r]=$(ratio "${CX[r]}" "${FL[r]}")
  if ((CX[r] >= GOAL)); then MET=$((MET + 1)); fi
  if ((CX[r] < MIN)); then MIN=${CX[r]}; fi
  if ((CX[r] > MAX)); then MAX=${CX[r]}; fi
done
if ((MET == ROUNDS)); then VERDICT="met in every round"
elif ((MET == 0)); then VERDICT="not met in any round"
else VERDICT="met in $MET of $ROUNDS rounds"; fi

HEAD="| measure |" RULE="| --- |"
for ((r = 1; r <= ROUNDS; r++)); do HEAD+=" round $r |" RULE+=" ---: |"; done
HEAD+=" goal |" RULE+=" --- |"

ETCD_CMD="etcd ${ETCD_ARGS[*]}"
ETCD_CMD=${ETCD_CMD//$WORK/\$W}
provenance
SECTION=$(cat <<EOF2

## $(date -u '+%Y-%m-%d %H:%M') UTC: storefs with its metadata in etcd vs the embedded log, issue 13 (bench/store_etcd_bench.sh)

Machine: $(nproc) cores ($CPU), $(uname -sr), load average at start
$LOAD; commit $COMMIT$DIRTY. etcd $ETCD_VERSION (Debian), one member on
127.0.0.1, its data directory and the stores' directories on $FS.
$CLIENTS clients, $N files each; every create durable when answered. Each
round runs the embedded log, then etcd, then the etcd floor, each store
fresh; $ROUNDS rounds interleaved.

$HEAD
$RULE
$(row "creates/s, $CLIENTS clients, embedded log (reference)" CE)
$(row "creates/s, $CLIENTS clients, etcd" CX ">= $GOAL: $VERDICT ($MIN-$MAX)")
$(row "etcd / embedded, creates" RC)
$(row "stats/s, $CLIENTS clients, embedded log" SE)
$(row "stats/s, $CLIENTS clients, etcd" SX)
$(row "etcd / embedded, stats" RS)
$(row "floor: guarded etcd puts (txn/s), $CLIENTS threads" FL)
$(row "etcd creates/s / floor txn/s" RF)

Commands (in $BIN_DIR; \$W = the temporary directory, a fresh DIR per run):
- \`$ETCD_CMD\`
- \`storefs -a 'tcp!127.0.0.1!0' -d DIR --local 3\` (embedded log)
- \`storefs -a 'tcp!127.0.0.1!0' --meta '$ETCD_SPEC' --meta-prefix runR/ -d DIR --local 3\` (etcd, R the round)
- \`store_meta_bench creates ADDR $CLIENTS $N\`, then \`store_meta_bench stats ADDR $CLIENTS $N\` on the same server
- \`store_meta_bench etcdfloor '$ETCD_SPEC' $CLIENTS $N\`
EOF2
)
echo "$SECTION"
[[ $RESULTS == /dev/null ]] || echo "$SECTION" >>"$RESULTS"
