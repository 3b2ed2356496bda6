#!/usr/bin/env bash
# bench/exportfs_firstread.sh: does a freshly started exportfs read as fast
# the first time as later? Starts bin/exportfs on 127.0.0.1 port 0 over a
# directory holding one file (1 GiB by default, in the page cache), reads it
# with `9p read` at msize 1 MiB twice (first and second read of the same
# server), for ROUNDS fresh servers; prints the rates and the ratio
# first/second (1.0 = no first-time cost) as a markdown section, appended to
# $RESULTS (bench/RESULTS.md) unless RESULTS=/dev/null. Kills what it starts
# by PID.
#
# Environment: BIN_DIR (default build-bench/bin), RESULTS, SIZE_MB (1024),
# ROUNDS (3).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=${BIN_DIR:-build-bench/bin}
RESULTS=${RESULTS:-bench/RESULTS.md}
SIZE_MB=${SIZE_MB:-1024}
ROUNDS=${ROUNDS:-3}
for b in exportfs 9p; do
  [[ -x $BIN_DIR/$b ]] || { echo "exportfs_firstread: $BIN_DIR/$b not built" >&2; exit 1; }
done

dir=$(mktemp -d)
pid=
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
head -c "${SIZE_MB}M" /dev/zero > "$dir/big"
cat "$dir/big" > /dev/null

# Seconds (fractional) a `9p read` of the file takes.
read_secs() {
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN_DIR/9p" -a "$1" -m 1m read big > /dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}

first_sum=0 second_sum=0
rows=""
for ((r = 1; r <= ROUNDS; r++)); do
  "$BIN_DIR/exportfs" -a 'tcp!127.0.0.1!0' -r "$dir" > "$dir/addr" &
  pid=$!
  for _ in $(seq 100); do [[ -s $dir/addr ]] && break; sleep 0.05; done
  addr=$(head -1 "$dir/addr")
  s1=$(read_secs "$addr")
  s2=$(read_secs "$addr")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  g1=$(echo "$SIZE_MB / 1024 * 1.073741824 / $s1" | bc -l)
  g2=$(echo "$SIZE_MB / 1024 * 1.073741824 / $s2" | bc -l)
  rows+=$(printf '| %d | %.2f | %.2f | %.2f |' "$r" "$g1" "$g2" "$(echo "$g1 / $g2" | bc -l)")$'\n'
  first_sum=$(echo "$first_sum + $g1" | bc -l)
  second_sum=$(echo "$second_sum + $g2" | bc -l)
done

out=$(cat <<MD

## exportfs first read vs second read ($(date -u +%Y-%m-%d), $(nproc) cores)

\`$BIN_DIR/9p -a ADDR -m 1m read big\` of a ${SIZE_MB} MiB cached file, twice per
freshly started \`$BIN_DIR/exportfs -a 'tcp!127.0.0.1!0' -r DIR\` (bench/exportfs_firstread.sh).

| server | first GB/s | second GB/s | first/second |
| --- | --- | --- | --- |
${rows}| mean | $(printf '%.2f' "$(echo "$first_sum / $ROUNDS" | bc -l)") | $(printf '%.2f' "$(echo "$second_sum / $ROUNDS" | bc -l)") | $(printf '%.2f' "$(echo "$first_sum / $second_sum" | bc -l)") |
MD
)
echo "$out"
[[ $RESULTS == /dev/null ]] || echo "$out" >> "$RESULTS"
