#!/usr/bin/env bash
# bench/ns_bench.sh: what a replacing `ns bind` costs, one run.
#
# Makes a FILES-file tree (100 files per directory) and a SIZE_MB file in a
# temporary directory, then inside `ns exec` measures, ROUNDS times with the
# cases interleaved (the best time counts):
#   - find + stat of every file of the tree, directly and through
#     `bind SRC VIEW` (a kernel bind mount),
#   - a sequential read of the big file (page cache warm), the same two ways.
# The union (bind -a/-b) figures are bench/union_bench.sh's.
# Prints a markdown section with the ratios and appends it, with the
# commands, to RESULTS (bench/RESULTS.md).
#
# Environment: BIN_DIR (default build-bench/bin), SIZE_MB (1024), FILES
# (10000), ROUNDS (3), RESULTS (bench/RESULTS.md; /dev/null to only print).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=${BIN_DIR:-build-bench/bin}
SIZE_MB=${SIZE_MB:-1024}
FILES=${FILES:-10000}
ROUNDS=${ROUNDS:-3}
RESULTS=${RESULTS:-bench/RESULTS.md}

BENCH=ns-bench
# shellcheck source=bench/lib.sh
source bench/lib.sh
[[ -x $BIN_DIR/ns ]] || die "$BIN_DIR/ns is not built"
NS=$(realpath "$BIN_DIR/ns")
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)

SRC=$WORK/src
VIEW=$WORK/view
mkdir -p "$SRC/tree" "$VIEW"
echo "ns_bench: $FILES-file tree, $SIZE_MB MiB file" >&2
DIRS=$(((FILES + 99) / 100))
for ((d = 0; d < DIRS; d++)); do
  mkdir -p "$SRC/tree/d$d"
  (cd "$SRC/tree/d$d" && for ((f = 0; f < 100 && d * 100 + f < FILES; f++)); do : >"f$f"; done)
done
dd if=/dev/zero of="$SRC/big" bs=1M count="$SIZE_MB" status=none

# The measurement, run inside the namespace: "FIND_SECONDS READ_SECONDS"
# for the tree and file under directory $1.
cat >"$WORK/measure.sh" <<'INNER'
set -eu
t() { date +%s.%N; }
cat "$1/big" >/dev/null                               # warm
a=$(t); (cd "$1/tree" && find . -printf '%s %m %u %TY\n' >/dev/null); b=$(t)
dd if="$1/big" of=/dev/null bs=1M status=none; c=$(t)
awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN { printf "%.4f %.4f\n", b - a, c - b }'
INNER

best() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a + 0 < b + 0) ? a : b }'; }
FD= RD= FB= RB=
for ((r = 0; r < ROUNDS; r++)); do
  echo "ns_bench: round $((r + 1)) of $ROUNDS" >&2
  read -r f rd < <("$NS" exec -- bash "$WORK/measure.sh" "$SRC")
  FD=$(best "$f" "$FD") RD=$(best "$rd" "$RD")
  read -r f rd < <("$NS" exec -e "bind $SRC $VIEW" -- bash "$WORK/measure.sh" "$VIEW")
  FB=$(best "$f" "$FB") RB=$(best "$rd" "$RB")
done
mbs() { awk -v s="$1" -v mb="$SIZE_MB" 'BEGIN { printf "%.0f", mb * 1.048576 / s }'; }

COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
SECTION="## $(date '+%Y-%m-%d %H:%M %Z'): ns, a replacing bind against direct access

Machine: $(nproc) cores ($CPU), Linux $(uname -r), load average at start
$LOAD; commit $COMMIT; run as uid $(id -u). Best of $ROUNDS rounds, the
cases interleaved; both cases run inside \`ns exec\`.

| case | direct | through \`bind SRC VIEW\` | bind / direct |
| --- | ---: | ---: | ---: |
| find + stat, $FILES files (s) | $FD | $FB | $(ratio "$FB" "$FD") |
| read $SIZE_MB MiB, page cache warm (MB/s) | $(mbs "$RD") | $(mbs "$RB") | $(ratio "$(mbs "$RB")" "$(mbs "$RD")") |

Goal (issue 10): a replacing bind costs nothing measurable (ratios 1.00
within the noise). It is a kernel bind mount, so nothing but the kernel's
path walk is in the way.

Commands:
- \`ns exec -- bash measure.sh SRC\` and \`ns exec -e 'bind SRC VIEW' -- bash measure.sh VIEW\`
- measure.sh: \`cd DIR/tree && find . -printf '%s %m %u %TY\\n'\`, then \`dd if=DIR/big of=/dev/null bs=1M\` (after one \`cat\` to warm it)
"
echo "$SECTION"
if [[ $RESULTS != /dev/null ]]; then
  printf '\n%s' "$SECTION" >>"$RESULTS"
  echo "ns_bench: appended to $RESULTS" >&2
fi
