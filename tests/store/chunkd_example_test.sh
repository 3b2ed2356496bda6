#!/bin/bash
# chunkd_example_test.sh: runs the EXAMPLES of chunkd(1) as written (its
# paths moved into a temporary directory, bin/ first on PATH), so the man
# page cannot rot: a replica created, written and read back, its version
# raised, the old version refused as stale, a scrub, and /ctl's keys.
set -u
BIN=${NINEP_BIN_DIR:?NINEP_BIN_DIR must name the bin directory of the build}
SRC=${NINEP_SOURCE_DIR:?NINEP_SOURCE_DIR must name the source tree}
tmp=$(mktemp -d /tmp/chunkd-example-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
for b in chunkd 9p; do [ -x "$BIN/$b" ] || fail "$BIN/$b is not built"; done

# The first example block of the EXAMPLES section, without .EX/.EE.
sed -n '/^\.SH EXAMPLES/,/^\.SH FILES/p' "$SRC/man/man1/chunkd.1" |
  sed -n '/^\.EX/,/^\.EE/p' | sed '/^\.EX/d; /^\.EE/q' | sed '/^\.EE/d' |
  sed "s#/tmp/chunks#$tmp/chunks#g; s#/tmp/chunkd.addr#$tmp/addr#g" >"$tmp/example.sh"
grep -q 'chunkd -d' "$tmp/example.sh" || fail "no example found in chunkd(1)"

# The example starts chunkd in the background: stop it (by its PID, the
# only job the script starts) however the example ends; bound the waits.
PATH="$BIN:$PATH" timeout 60 bash -c "trap 'kill \$! 2>/dev/null; wait' EXIT; . '$tmp/example.sh'" \
  >"$tmp/out" 2>"$tmp/err"

grep -qx 'hello' "$tmp/out" || fail "the replica did not read back: $(cat "$tmp/out" "$tmp/err")"
grep -q 'stale file handle' "$tmp/err" || fail "the old version was not refused: $(cat "$tmp/err")"
for k in chunks bytes free bad reads writes scrubs; do
  grep -q "^$k [0-9]" "$tmp/out" || fail "/ctl lacks $k: $(cat "$tmp/out")"
done
grep -qx 'chunks 1' "$tmp/out" || fail "expected one replica: $(cat "$tmp/out")"
grep -qx 'scrubs 1' "$tmp/out" || fail "the scrub did not run: $(cat "$tmp/out")"
echo "chunkd_example_test: ok"
