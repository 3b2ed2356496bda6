#!/usr/bin/env bash
# bench/store_ec_bench.sh: issue 13's erasure-coding figures, Reed-Solomon
# 4+2 against 3 replicas (the reference) in the same run, appended to
# bench/RESULTS.md:
#   - write MB/s of one SIZE_MB (default 1024) MiB file of random bytes
#     through `9p write`, with the CPU seconds storefs and its chunkds spent;
#   - bytes on disk per byte stored: the sum of the six chunkds' `bytes`
#     ctl lines (replica payload) over the file's size, and, beside it,
#     the blocks du counts under their chunks directories (with headers
#     and CRC tables);
#   - read MB/s of it back, warm (the chunk files still in the page cache),
#     checked with cmp;
#   - read MB/s after two of the six chunkds are killed (-9) and storefs's
#     ctl says alive 4: replicas read the surviving copy, 4+2 rebuilds the
#     lost fragments from parity; checked with cmp.
# Each run is a fresh `storefs --local 6` (six chunkd children on unix
# sockets); runs alternate replicas, ec, replicas, ec, ... ROUNDS times,
# since this 2-core machine is noisy. Floors, once: one copy of the file
# written with dd conv=fdatasync, what each mode puts on the disk written
# at once with dd (3 copies; 6 files of a quarter), and a page-cache read.
# Everything started is killed by PID (the chunkds our storefs started, by
# the PIDs pgrep -P gives, checked against their command line).
#
# Environment: BIN_DIR (default build-bench/bin), SIZE_MB (default 1024; a
# multiple of 32 keeps whole 4+2 stripes), ROUNDS (default 2), RESULTS
# (bench/RESULTS.md; /dev/null to only print).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=${BIN_DIR:-build-bench/bin}
SIZE_MB=${SIZE_MB:-1024}
ROUNDS=${ROUNDS:-2}
RESULTS=${RESULTS:-bench/RESULTS.md}
EC=4+2
BPB_GOAL=1.55  # issue 13: RS 4+2 stores at most 1.55 bytes per byte
# Death noticed fast. Repair keeps its default cap (64m): with two servers
# down, 3 replicas re-replicate onto the four left while the read runs,
# which is what such a store does; 4+2 has no sixth live server to
# rebuild onto, so nothing runs beside its read. (A lower cap would spare
# the replicas' read, but storefs finishes a throttled repair before it
# exits on SIGTERM: at 1m each stop took over 30 s.)
STORE_ARGS=(--local 6 --heartbeat 0.2 --dead-after 2)

BENCH=store-ec-bench
# shellcheck source=bench/lib.sh
source bench/lib.sh
for b in storefs chunkd 9p; do
  [[ -x $BIN_DIR/$b ]] || die "$BIN_DIR/$b is not built"
done
"$BIN_DIR/storefs" --help 2>&1 | grep -q -- '--ec K+M' ||
  die "$BIN_DIR/storefs has no --ec: rebuild it"
((SIZE_MB > 0 && SIZE_MB % 32 == 0)) || die "SIZE_MB must be a positive multiple of 32"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
TCK=$(getconf CLK_TCK)
SIZE=$((SIZE_MB * 1048576))

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
mbps() { awk -v mb="$1" -v s="$2" 'BEGIN { printf "%.0f", mb / s }'; }
# ticks PID...: user+system clock ticks the processes used so far.
ticks() {
  local p t=0 s
  for p in "$@"; do
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    s=${s##*) }  # fields after the command name
    t=$((t + $(awk '{ print $12 + $13 }' <<<"$s")))
  done
  echo "$t"
}
cpus() { awk -v t="$1" -v h="$TCK" 'BEGIN { printf "%.1f", t / h }'; }
ctl() { "$BIN_DIR/9p" -a "$1" -A ctl read ctl; }
# (awk reads to the end: quitting early could fail 9p's write, and pipefail)
ctl_field() { ctl "$1" | awk -v k="$2" '$1 == k && v == "" { v = $2 } END { print v }'; }

# Chunkds our storefs started: killed by the exit trap should storefs die
# without stopping them. A PID counts only while its command line still
# names our directory, so a reused PID is never signalled.
CHUNKDS=()
ours() { grep -qF "$WORK/" "/proc/$1/cmdline" 2>/dev/null; }
bench_cleanup_hook() {
  local p
  for p in "${CHUNKDS[@]}"; do if ours "$p"; then kill "$p" 2>/dev/null || true; fi; done
}
# stop PID: stops one storefs we started (it stops its chunkds), waits for
# it, forgets it, and waits (bounded) for its chunkds to be gone.
stop() {
  local p keep=()
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
  for p in "${CHUNKDS[@]}"; do
    for _ in $(seq 50); do ours "$p" || break; sleep 0.1; done
    if ours "$p"; then echo "$BENCH: chunkd $p outlived storefs; killing it" >&2; kill "$p" 2>/dev/null || true; fi
  done
  CHUNKDS=()
}

# run MODE ROUND: one fresh store; sets W R D (MB/s), BPB DU (bytes per
# byte), CS CC (CPU s of storefs, chunkds during the write), NW (write
# requests the six chunkds took, each durable when answered), LS (storefs's
# metadata log syncs), DEAD (s until
# ctl said alive 4), FO (failovers during the degraded read), RR (replicas
# re-made by the end of that read).
run() {
  local mode=$1 r=$2 dir=$WORK/$1$2 args=("${STORE_ARGS[@]}") A sp t0 c0 k0 i p c sum=0 du=0 alive kill=()
  [[ $mode == ec ]] && args+=(--ec "$EC")
  mkdir -p "$dir"
  LABEL=storefs-$mode$r start_ours storefs -d "$dir" "${args[@]}"
  sp=$OURS_PID A=$ADDR_OUT
  # The six chunkds: ctl answers once each is up.
  for ((i = 0; i < 6; i++)); do
    for _ in $(seq 100); do
      "$BIN_DIR/9p" -a "unix!$dir/chunkd.$i/sock" read ctl >/dev/null 2>&1 && break
      sleep 0.1
    done
  done
  for _ in $(seq 100); do [[ $(ctl_field "$A" alive) == 6 ]] && break; sleep 0.1; done
  [[ $(ctl_field "$A" alive) == 6 ]] || die "$mode$r: storefs never saw six chunkds: $(ctl "$A")"
  mapfile -t CHUNKDS < <(pgrep -P "$sp")
  ((${#CHUNKDS[@]} == 6)) || die "$mode$r: storefs $sp has ${#CHUNKDS[@]} children, not 6"

  c0=$(ticks "$sp") k0=$(ticks "${CHUNKDS[@]}")
  t0=$(now)
  "$BIN_DIR/9p" -a "$A" create /big
  "$BIN_DIR/9p" -a "$A" write /big <"$WORK/big"
  W=$(mbps "$SIZE_MB" "$(since "$t0")")
  CS=$(cpus $(($(ticks "$sp") - c0))) CC=$(cpus $(($(ticks "${CHUNKDS[@]}") - k0)))
  [[ $(ctl_field "$A" bytes) == "$SIZE" ]] || die "$mode$r: ctl bytes is not $SIZE"

  NW=0 LS=$(ctl_field "$A" log-syncs)
  for ((i = 0; i < 6; i++)); do
    c=$("$BIN_DIR/9p" -a "unix!$dir/chunkd.$i/sock" read ctl)
    sum=$((sum + $(awk '$1 == "bytes" { print $2 }' <<<"$c")))
    NW=$((NW + $(awk '$1 == "writes" { print $2 }' <<<"$c")))
    du=$((du + $(du -s -B1 "$dir/chunkd.$i/chunks" | cut -f1)))
  done
  BPB=$(awk -v a="$sum" -v s="$SIZE" 'BEGIN { printf "%.3f", a / s }')
  DU=$(awk -v a="$du" -v s="$SIZE" 'BEGIN { printf "%.3f", a / s }')

  t0=$(now)
  "$BIN_DIR/9p" -a "$A" read /big >/dev/null
  R=$(mbps "$SIZE_MB" "$(since "$t0")")
  "$BIN_DIR/9p" -a "$A" read /big | cmp -s - "$WORK/big" || die "$mode$r: read back differs"

  # Kill chunkd.0 and chunkd.1 (the same two servers in every run).
  for p in "${CHUNKDS[@]}"; do
    if grep -qF "$dir/chunkd.0/sock" "/proc/$p/cmdline" 2>/dev/null ||
      grep -qF "$dir/chunkd.1/sock" "/proc/$p/cmdline" 2>/dev/null; then kill+=("$p"); fi
  done
  ((${#kill[@]} == 2)) || die "$mode$r: chunkd.0 and chunkd.1 not found among ${CHUNKDS[*]}"
  kill -9 "${kill[@]}"
  t0=$(now)
  for _ in $(seq 150); do
    alive=$(ctl_field "$A" alive)
    [[ $alive == 4 ]] && break
    sleep 0.1
  done
  [[ $alive == 4 ]] || die "$mode$r: storefs says alive $alive 15 s after two chunkds died"
  DEAD=$(since "$t0")
  [[ $(ctl_field "$A" unavailable) == 0 ]] || die "$mode$r: chunks unavailable with two down"
  i=$(ctl_field "$A" failovers)
  t0=$(now)
  "$BIN_DIR/9p" -a "$A" read /big >/dev/null
  D=$(mbps "$SIZE_MB" "$(since "$t0")")
  FO=$(($(ctl_field "$A" failovers) - i))
  RR=$(ctl_field "$A" rereplicated)
  "$BIN_DIR/9p" -a "$A" read /big | cmp -s - "$WORK/big" || die "$mode$r: read with two down differs"

  stop "$sp"
  rm -rf "$dir"
  echo "$BENCH: round $r $mode: write $W MB/s (cpu storefs $CS s, chunkds $CC s), $BPB bytes/byte (du $DU)," \
    "$NW chunkd writes, $LS log syncs, read $R MB/s, dead noticed in $DEAD s, read with two down $D MB/s ($FO failovers, $RR re-replicated)" >&2
}

# ---- The file and the floors ---------------------------------------------
head -c "${SIZE_MB}M" /dev/urandom >"$WORK/big"
# floor_write N MB: N files of MB MiB each (slices of the file) written at
# once with dd, each with one fdatasync at the end; prints MB/s of the
# stored file (SIZE_MB over the time), so it compares with the write rates.
floor_write() {
  local n=$1 mb=$2 t0 i dd=()
  sync
  t0=$(now)
  for ((i = 0; i < n; i++)); do
    dd if="$WORK/big" of="$WORK/copy$i" bs=1M count="$mb" skip=$(((i * mb) % SIZE_MB)) \
      conv=fdatasync status=none &
    dd+=("$!")
  done
  wait "${dd[@]}"
  mbps "$SIZE_MB" "$(since "$t0")"
  rm -f "$WORK"/copy*
}
F1=$(floor_write 1 "$SIZE_MB")
F3=$(floor_write 3 "$SIZE_MB")
F6=$(floor_write 6 $((SIZE_MB / 4)))
t0=$(now); cat "$WORK/big" >/dev/null; FR=$(mbps "$SIZE_MB" "$(since "$t0")")
echo "$BENCH: floors: dd 1 copy $F1, 3 copies $F3, 6 quarters $F6, page-cache read $FR MB/s" >&2

declare -a PW PR PD PB PU PCS PCC PNW PLS PT PF PRR EW ER ED EB EU ECS ECC ENW ELS ET EF
# shellcheck disable=SC2034  # most are read only through row's nameref
for ((r = 1; r <= ROUNDS; r++)); do
  run replicas "$r"
  PW[r]=$W PR[r]=$R PD[r]=$D PB[r]=$BPB PU[r]=$DU PCS[r]=$CS PCC[r]=$CC PNW[r]=$NW PLS[r]=$LS PT[r]=$DEAD PF[r]=$FO PRR[r]=$RR
  run ec "$r"
  EW[r]=$W ER[r]=$R ED[r]=$D EB[r]=$BPB EU[r]=$DU ECS[r]=$CS ECC[r]=$CC ENW[r]=$NW ELS[r]=$LS ET[r]=$DEAD EF[r]=$FO
done
rm -f "$WORK/big"

# ---- The table -------------------------------------------------------------
# row LABEL ARRAY-NAME [GOAL-CELL]: one table row, a cell per round.
row() {
  local -n a=$2
  local line="| $1 |" r
  for ((r = 1; r <= ROUNDS; r++)); do line+=" ${a[r]} |"; done
  echo "$line ${3:-} |"
}
# verdict MET: "met in every round" and so on.
verdict() {
  if (($1 == ROUNDS)); then echo "met in every round"
  elif (($1 == 0)); then echo "not met in any round"
  else echo "met in $1 of $ROUNDS rounds"; fi
}
declare -a XW XR XD
BMET=0 WMET=0
# shellcheck disable=SC2034  # XW, XR, XD are read through row's nameref
for ((r = 1; r <= ROUNDS; r++)); do
  XW[r]=$(ratio "${EW[r]}" "${PW[r]}")
  XR[r]=$(ratio "${ER[r]}" "${PR[r]}")
  XD[r]=$(ratio "${ED[r]}" "${PD[r]}")
  if awk -v b="${EB[r]}" -v g="$BPB_GOAL" 'BEGIN { exit !(b <= g) }'; then BMET=$((BMET + 1)); fi
  if ((EW[r] >= PW[r])); then WMET=$((WMET + 1)); fi
done

HEAD="| measure |" RULE="| --- |"
for ((r = 1; r <= ROUNDS; r++)); do HEAD+=" round $r |" RULE+=" ---: |"; done
HEAD+=" goal |" RULE+=" --- |"

provenance
SECTION=$(cat <<EOF2

## $(date -u '+%Y-%m-%d %H:%M') UTC: storefs erasure coding (RS $EC) vs 3 replicas, issue 13 (bench/store_ec_bench.sh)

Machine: $(nproc) cores ($CPU), $(uname -sr), load average at start
$LOAD; commit $COMMIT$DIRTY; binaries in $BIN_DIR. One ${SIZE_MB} MiB
file of random bytes through \`9p write\` / \`9p read\` (9P2000, 8 MiB of
requests in flight), each run a fresh storefs with six --local chunkds on
$FS (8 MiB chunks); $ROUNDS rounds, each 3 replicas then $EC. Reads are
warm (the chunk files just written, in the page cache) and checked with
cmp. "Two down": chunkd.0 and chunkd.1 killed with -9, read once ctl says
alive 4 (no chunk unavailable in any run); for 3 replicas the repair
(default cap, 64 MB/s) copies under-replicated chunks onto the four left
during that read, while 4+2 has no sixth live server to rebuild onto.
Bytes per byte: the sum of the
six chunkds' \`bytes\` ctl lines (replica payload) over the file's size;
"du" counts the blocks under their chunks directories (headers and CRC
tables too).

$HEAD
$RULE
$(row "write MB/s, 3 replicas (reference)" PW)
$(row "write MB/s, $EC" EW)
$(row "ec / replicas, write" XW ">= 1.00: $(verdict "$WMET")")
$(row "read MB/s, 3 replicas" PR)
$(row "read MB/s, $EC" ER)
$(row "ec / replicas, read" XR)
$(row "read MB/s with two down, 3 replicas" PD)
$(row "read MB/s with two down, $EC (rebuilt from parity)" ED)
$(row "ec / replicas, read with two down" XD)
$(row "bytes on disk per byte, 3 replicas (ctl bytes)" PB)
$(row "bytes on disk per byte, $EC (ctl bytes)" EB "<= $BPB_GOAL: $(verdict "$BMET")")
$(row "bytes on disk per byte, 3 replicas (du)" PU)
$(row "bytes on disk per byte, $EC (du)" EU)
$(row "CPU s during the write, storefs, 3 replicas" PCS)
$(row "CPU s during the write, storefs, $EC" ECS)
$(row "CPU s during the write, six chunkds, 3 replicas" PCC)
$(row "CPU s during the write, six chunkds, $EC" ECC)
$(row "chunkd write requests (sum of six, each durable when answered), 3 replicas" PNW)
$(row "chunkd write requests (sum of six, each durable when answered), $EC" ENW)
$(row "storefs metadata log syncs, 3 replicas" PLS)
$(row "storefs metadata log syncs, $EC" ELS)
$(row "s from kill -9 to ctl alive 4, 3 replicas" PT)
$(row "s from kill -9 to ctl alive 4, $EC" ET)
$(row "failovers counted during the read with two down, 3 replicas" PF)
$(row "failovers counted during the read with two down, $EC" EF)
$(row "replicas re-made (repair) by the end of the read with two down, 3 replicas" PRR)

Floors (once, before the rounds; MB/s of the ${SIZE_MB} MiB stored, so
they compare with the write rates): one copy written with dd
conv=fdatasync $F1; what 3 replicas put on the disk, 3 copies written at
once, $F3; what $EC puts there, 6 files of a quarter at once, $F6; the
file read from the page cache (cat) $FR.

Commands (in $BIN_DIR; DIR a fresh directory per run, ADDR what storefs printed):
- \`storefs -a 'tcp!127.0.0.1!0' -d DIR ${STORE_ARGS[*]}\` (3 replicas, the default)
- \`storefs -a 'tcp!127.0.0.1!0' -d DIR ${STORE_ARGS[*]} --ec $EC\`
- \`9p -a ADDR create /big; 9p -a ADDR write /big < big\` (timed together); \`9p -a ADDR read /big > /dev/null\` (timed), then \`9p -a ADDR read /big | cmp - big\`
- \`9p -a 'unix!DIR/chunkd.I/sock' read ctl\` (bytes), \`du -s -B1 DIR/chunkd.I/chunks\`
- \`kill -9\` of the chunkd children (\`pgrep -P\` storefs) serving DIR/chunkd.0 and DIR/chunkd.1; \`9p -a ADDR -A ctl read ctl\` every 0.1 s until \`alive 4\`
- floors: \`dd if=big of=copyN bs=1M count=C skip=S conv=fdatasync\` N at once; \`cat big > /dev/null\`
EOF2
)
echo "$SECTION"
[[ $RESULTS == /dev/null ]] || echo "$SECTION" >>"$RESULTS"
