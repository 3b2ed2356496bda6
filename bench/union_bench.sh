#!/usr/bin/env bash
# bench/union_bench.sh: ns's union directories against the same files read
# directly, in the same run (issue 10's goals): find + stat over a
# 10,000-file directory, and a 1 GiB sequential read, each directly and
# through a two-member union served by ns_union (bench/union_mount).
# Appends a section with the ratios to $RESULTS.
#
# Environment: BIN_DIR (default build-bench/bin), RESULTS (default
# bench/RESULTS.md; /dev/null to only print), FILES (default 10000),
# SIZE_MB (default 1024), ROUNDS (default 3; the best of each counts).
# Needs /dev/fuse and root (or fusermount3).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN_DIR=${BIN_DIR:-build-bench/bin}
RESULTS=${RESULTS:-bench/RESULTS.md}
FILES=${FILES:-10000}
SIZE_MB=${SIZE_MB:-1024}
ROUNDS=${ROUNDS:-3}
BENCH=union_bench
# shellcheck source=bench/lib.sh
source bench/lib.sh
[[ -x $BIN_DIR/union_mount ]] || die "$BIN_DIR/union_mount is not built"

LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
# Members: m1 holds the many files and the big one; m2, first in the
# union, holds a few (so every walk misses in m2 before finding in m1).
mkdir -p "$WORK/m1/many" "$WORK/m2" "$WORK/mnt"
(cd "$WORK/m1/many" && seq -f 'f%05g' 1 "$FILES" | xargs touch)
for i in $(seq 1 100); do : >"$WORK/m2/other$i"; done
dd if=/dev/zero of="$WORK/m1/big" bs=1M count="$SIZE_MB" status=none

coproc UM { exec "$BIN_DIR/union_mount" "$WORK/mnt" "$WORK/m2" "$WORK/m1"; }
PIDS+=("$UM_PID")
read -r line <&"${UM[0]}" || die "union_mount did not start"
[[ $line == ready ]] || die "union_mount: $line"
U=$WORK/mnt/1
bench_cleanup_hook() {
  local fd=${UM[1]:-}
  [[ -n $fd ]] && exec {fd}>&-  # end of its stdin: it stops and unmounts
  wait "$UM_PID" 2>/dev/null || true
}

now() { date +%s.%N; }
# best_of CMD...: the best elapsed seconds of ROUNDS runs (after one warm-up).
best_of() {
  local best=999999 t0 t1 d r
  "$@" >/dev/null
  for ((r = 0; r < ROUNDS; r++)); do
    t0=$(now)
    "$@" >/dev/null
    t1=$(now)
    d=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
    best=$(awk -v a="$d" -v b="$best" 'BEGIN { print (a < b) ? a : b }')
  done
  echo "$best"
}
findstat() { find "$1" -printf '%s %T@ %m\n'; }
readbig() { dd if="$1" of=/dev/null bs=1M status=none; }

[[ $(find "$U/many" -type f | wc -l) == "$FILES" ]] || die "the union does not show $FILES files"
echo "union_bench: find+stat" >&2
FD=$(best_of findstat "$WORK/m1/many")
FU=$(best_of findstat "$U/many")
FUR=$(best_of findstat "$U")  # the union directory itself: merged listing
FDR=$(best_of findstat "$WORK/m1")
echo "union_bench: ${SIZE_MB} MiB read" >&2
T0=$(now); readbig "$U/big"; T1=$(now)
RU_FIRST=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.4f", b - a }')
RD=$(best_of readbig "$WORK/m1/big")
RU=$(best_of readbig "$U/big")
mbs() { awk -v s="$1" -v m="$SIZE_MB" 'BEGIN { printf "%.0f", m / s }'; }

R_FIND=$(ratio "$FU" "$FD")
R_FINDR=$(ratio "$FUR" "$FDR")
R_READ=$(ratio "$(mbs "$RU")" "$(mbs "$RD")")
R_FIRST=$(ratio "$(mbs "$RU_FIRST")" "$(mbs "$RD")")
goal_find=$(awk -v r="$R_FIND" 'BEGIN { print (r <= 2) ? "met" : "NOT met" }')
goal_read=$(awk -v r="$R_READ" 'BEGIN { print (r >= 0.5) ? "met" : "NOT met" }')
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
SECTION="## $(date '+%Y-%m-%d %H:%M %Z'): union directories vs direct (bench/union_bench.sh)

Machine: $(nproc) cores, Linux $(uname -r), load average at start $LOAD;
commit $COMMIT. Union = [m2 (100 files), m1] served by ns_union
(\`union_mount MNT m2 m1\`); best of $ROUNDS runs after a warm-up.

| measure | direct | union | union / direct | goal |
| --- | ---: | ---: | ---: | --- |
| find+stat, $FILES files in a subdirectory, s | $FD | $FU | $R_FIND | <= 2x: $goal_find |
| find+stat, the union directory itself (merged), s | $FDR | $FUR | $R_FINDR | |
| ${SIZE_MB} MiB sequential read, warm, MB/s | $(mbs "$RD") | $(mbs "$RU") | $R_READ | >= 0.5: $goal_read |
| ${SIZE_MB} MiB read, first through the union, MB/s | $(mbs "$RD") | $(mbs "$RU_FIRST") | $R_FIRST | |

Commands: \`find DIR -printf '%s %T@ %m\\n'\`; \`dd if=FILE of=/dev/null bs=1M\`.
"
echo "$SECTION"
if [[ $RESULTS != /dev/null ]]; then
  printf '\n%s' "$SECTION" >>"$RESULTS"
  echo "union_bench: appended to $RESULTS" >&2
fi
