# lib.sh: what the two lib9p(3) example tests share; sourced, not run,
# after setting test_name. Sets src and build from the environment ctest
# gives (NINEP_SOURCE_DIR, NINEP_BUILD_DIR), makes the scratch folder $work,
# and on exit stops the server $srvpid and removes $work.
set -euo pipefail
src=${NINEP_SOURCE_DIR:?} build=${NINEP_BUILD_DIR:?}
work=$(mktemp -d /tmp/ninep-"$test_name"-XXXXXX)
srvpid=
trap 'stop_server; rm -rf "$work"' EXIT

fail() { echo "$test_name: $*" >&2; exit 1; }

# extract_examples MANPAGE DIR: write each program that the page marks with
# a `.\" example: NAME` comment before its .EX block to DIR/NAME, with the
# roff escapes the page uses (\e, \&, \-) turned back into C++. Prints the
# names; fails when there are fewer than three (a lost marker is rot too).
extract_examples() {
  local page=$1 dir=$2
  awk -v dir="$dir" '
    /^\.\\" example: / { name = $3; next }
    name != "" && /^\.EX/ { file = dir "/" name; printf "" > file; inblock = 1; next }
    inblock && /^\.EE/ { close(file); print name; inblock = 0; name = ""; next }
    inblock {
      line = $0
      gsub(/\\&/, "", line)
      gsub(/\\-/, "-", line)
      gsub(/\\e/, "\\\\", line)
      print line > file
    }' "$page" >"$dir/names"
  [ "$(wc -l <"$dir/names")" -ge 3 ] || fail "fewer than 3 marked examples in $page"
  cat "$dir/names"
}

# run_hello_and_cat9 DIR: start DIR/hello on a port the kernel picks, read
# the address it prints, and read /hello through DIR/cat9.
run_hello_and_cat9() {
  local dir=$1 addr got
  mkfifo "$work/addr"
  "$dir/hello" 'tcp!127.0.0.1!0' >"$work/addr" &
  srvpid=$!
  read -r -t 60 addr <"$work/addr" || fail "hello printed no address"
  [[ $addr == tcp!127.0.0.1!* ]] || fail "hello printed '$addr', not its bound address"
  got=$("$dir/cat9" "$addr" /hello) || fail "cat9 $addr /hello failed"
  [ "$got" = "hello, world" ] || fail "cat9 read '$got', not 'hello, world'"
  kill "$srvpid"
  wait "$srvpid" 2>/dev/null || true
  srvpid=
}

stop_server() {
  if [ -n "${srvpid:-}" ]; then kill "$srvpid" 2>/dev/null || true; wait "$srvpid" 2>/dev/null || true; fi
}
