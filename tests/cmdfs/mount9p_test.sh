#!/bin/bash
# mount9p_test.sh: bin/cmdfs mounted with bin/mount9p and driven by shell
# scripts that use only sh, cat and echo, the Plan 9 way: the clone fd held
# open keeps the command directory alive while ctl and data are used.
set -u
BIN=${NINEP_BIN_DIR:?NINEP_BIN_DIR must name the bin directory of the build}
tmp=$(mktemp -d /tmp/cmdfs-mount-XXXXXX)
mnt=$tmp/cmd
mkdir "$mnt"
srv= m=
mounted() { grep -q " $mnt " /proc/self/mountinfo; }
cleanup() {
  if mounted; then fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null; fi
  if [ -n "$m" ]; then kill -TERM "$m" 2>/dev/null; wait "$m" 2>/dev/null; fi
  if [ -n "$srv" ]; then kill -TERM "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$BIN/cmdfs" -a 'tcp!127.0.0.1!0' >"$tmp/addr" &
srv=$!
for _ in $(seq 1000); do [ -s "$tmp/addr" ] && break; sleep 0.01; done
addr=$(head -n 1 "$tmp/addr")
[ -n "$addr" ] || fail "cmdfs printed no address"
"$BIN/mount9p" -f "$addr" "$mnt" &
m=$!
for _ in $(seq 1000); do mounted && break; sleep 0.01; done
mounted || fail "mount9p did not mount $mnt"

# 1. The example of the issue, then the wait record.
cat >"$tmp/uname.sh" <<'EOF'
exec 3<>$1/clone
read n <&3
echo exec uname -a >$1/$n/ctl
cat $1/$n/data
cat $1/$n/wait
EOF
out=$(sh "$tmp/uname.sh" "$mnt") || fail "uname script failed: $out"
want=$(uname -a)
[ "$(printf '%s\n' "$out" | head -n 1)" = "$want" ] || fail "uname output: $out"
printf '%s\n' "$out" | tail -n 1 | grep -Eqx "[0-9]+ [0-9]+ [0-9]+ [0-9]+ ''" ||
  fail "wait record: $out"

# 2. stdin: closing the writer gives sort its EOF.
cat >"$tmp/sort.sh" <<'EOF'
exec 3<>$1/clone
read n <&3
echo exec sort >$1/$n/ctl
{ echo pear; echo apple; echo fig; } >$1/$n/data
cat $1/$n/data
EOF
out=$(sh "$tmp/sort.sh" "$mnt") || fail "sort script failed: $out"
[ "$out" = "$(printf 'apple\nfig\npear')" ] || fail "sorted: $out"

# 3. A failed exec is the write's error; the directory survives it. (cat,
# not echo, does the write: dash's echo reports every write error as "I/O
# error", cat names the errno.)
cat >"$tmp/fail.sh" <<'EOF'
exec 3<>$1/clone
read n <&3
if echo exec /no/such/program | cat >$1/$n/ctl; then echo accepted; exit 1; fi
echo exec echo survived >$1/$n/ctl
cat $1/$n/data
EOF
out=$(sh "$tmp/fail.sh" "$mnt" 2>"$tmp/err") || fail "fail script: $out"
[ "$out" = survived ] || fail "after a failed exec: $out"
grep -q "No such file or directory" "$tmp/err" || fail "exec error text: $(cat "$tmp/err")"

# 4. The scripts have exited: their directories are gone from ps.
for _ in $(seq 500); do
  ps=$(cat "$mnt/ps")
  [ -z "$ps" ] && break
  sleep 0.01
done
[ -z "$ps" ] || fail "directories left: $ps"
echo PASS
