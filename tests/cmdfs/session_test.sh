#!/bin/bash
# session_test.sh: one scripted run of bin/cmdfs through `9p session`, which
# keeps fids open from line to line (a command directory lives only while
# one of its files is open): exec with stdout, stderr and the wait record
# apart; stdin through data with EOF on close; a bad ctl message answered
# with its reason while the session goes on; the audit log's lines.
set -u
BIN=${NINEP_BIN_DIR:?NINEP_BIN_DIR must name the bin directory of the build}
tmp=$(mktemp -d /tmp/cmdfs-session-XXXXXX)
srv=
cleanup() {
  if [ -n "$srv" ]; then kill -TERM "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BIN/cmdfs" -a 'tcp!127.0.0.1!0' -l "$tmp/audit" >"$tmp/addr" &
srv=$!
for _ in $(seq 1000); do [ -s "$tmp/addr" ] && break; sleep 0.01; done
addr=$(head -n 1 "$tmp/addr")
case $addr in tcp!127.0.0.1!*) ;; *) fail "cmdfs printed no address: '$addr'";; esac

"$BIN/9p" -a "$addr" session >"$tmp/out" 2>"$tmp/err" <<'EOF'
open c /clone rw
let n c
echo dir $n
writeln c frobnicate
writeln c exec sh -c 'echo to-stdout; echo to-stderr >&2; exit 3'
open out /$n/data r
readall out
open err /$n/stderr r
readall err
open w /$n/wait r
read w
close c
open c2 /clone rw
let m c2
writeln c2 exec sort
open in /$m/data w
open sorted /$m/data r
writeln in pear
writeln in apple
writeln in fig
close in
readall sorted
open w2 /$m/wait r
read w2
EOF
rc=$?
out=$(cat "$tmp/out")
err=$(cat "$tmp/err")
[ "$rc" = 1 ] || fail "session exit status $rc, want 1 (one bad line); stderr: $err"
case $err in *"unknown ctl message: frobnicate"*) ;; *) fail "bad ctl not reported: $err";; esac
n=$(printf '%s\n' "$out" | sed -n 's/^dir //p')
[ -n "$n" ] || fail "no directory number in: $out"
printf '%s\n' "$out" | grep -qx 'to-stdout' || fail "stdout missing: $out"
printf '%s\n' "$out" | grep -qx 'to-stderr' || fail "stderr missing: $out"
printf '%s\n' "$out" | grep -Eqx "[0-9]+ [0-9]+ [0-9]+ [0-9]+ 'exit: 3'" || fail "wait record: $out"
printf '%s\n' "$out" | tr '\n' ' ' | grep -q 'apple fig pear' || fail "sort via data: $out"
printf '%s\n' "$out" | grep -Eqx "[0-9]+ [0-9]+ [0-9]+ [0-9]+ ''" || fail "sort's wait record: $out"

# The session has ended, so its directories are released.
for _ in $(seq 500); do
  ps=$("$BIN/9p" -a "$addr" read /ps) || fail "read /ps"
  [ -z "$ps" ] && break
  sleep 0.01
done
[ -z "$ps" ] || fail "directories left after the session: $ps"

grep -Eq "^[0-9T:-]+Z tcp!127\.0\.0\.1![0-9]+ [^ ]+ [0-9]+ 'exit: 3' sh -c 'echo to-stdout; echo to-stderr >&2; exit 3'$" "$tmp/audit" ||
  fail "audit log: $(cat "$tmp/audit")"
grep -Eq " [0-9]+ '' sort$" "$tmp/audit" || fail "audit log: $(cat "$tmp/audit")"
echo PASS
