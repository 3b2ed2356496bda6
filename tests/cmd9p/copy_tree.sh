#!/bin/bash
# copy_tree.sh: copy a tree of 1,000 files into a 9P server and back out
# with nothing but bin/9p, bash and coreutils, then compare sha256sum lists.
# The copy in speaks 9P2000, the copy out 9P2000.L, so each dialect reads
# what the other wrote. The server is bin/exportfs when it is built (and
# then the exported directory is checked too), else bin/ramfs.
# Needs: NINEP_BIN_DIR (set by ctest). COPY_TREE_PER_DIR (default 100)
# sets the files in each of the nine directories: make tsan-test sets 10,
# since 2,000 starts of a TSan-built 9p take longer than any timeout.
# Exit 0 passes.
set -euo pipefail
shopt -s nullglob globstar

bin=${NINEP_BIN_DIR:?NINEP_BIN_DIR must name the build bin directory}
work=$(mktemp -d /tmp/ninep-copytree-XXXXXX)
srvpid=
cleanup() {
  if [ -n "$srvpid" ]; then kill "$srvpid" 2>/dev/null || true; wait "$srvpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "copy_tree: $*" >&2; exit 1; }

mkdir "$work/src" "$work/out" "$work/export"
mkfifo "$work/addr"
if [ -x "$bin/exportfs" ]; then
  server=exportfs
  "$bin/exportfs" -a 'tcp!127.0.0.1!0' -r "$work/export" >"$work/addr" &
else
  server=ramfs
  "$bin/ramfs" -a 'tcp!127.0.0.1!0' >"$work/addr" &
fi
srvpid=$!
exec 3<"$work/addr"
read -r -t 10 addr <&3 || fail "$server printed no address"
echo "copy_tree: $server at $addr"

# The tree: nine directories of 100 files, one nested two deep with 50,
# and one with a space in its name with 50 (names with spaces too). Sizes
# vary from empty to 1 MiB.
n=0
mkfile() {
  local size=$(( (n * 7919) % 9000 ))
  if [ $((n % 250)) -eq 7 ]; then size=1048576; fi
  if [ $((n % 333)) -eq 0 ]; then size=0; fi
  head -c "$size" /dev/urandom >"$1"
  n=$((n + 1))
}
per_dir=${COPY_TREE_PER_DIR:-100}
total=$((9 * per_dir + 100))
for d in $(seq 0 8); do
  mkdir "$work/src/d$d"
  for f in $(seq -w 0 $((per_dir - 1))); do mkfile "$work/src/d$d/f$f"; done
done
mkdir -p "$work/src/d0/nested/deeper" "$work/src/with space"
for f in $(seq -w 0 49); do mkfile "$work/src/d0/nested/deeper/g$f"; done
for f in $(seq -w 0 49); do mkfile "$work/src/with space/file $f"; done
[ "$n" -eq "$total" ] || fail "made $n files, not $total"

p9() { "$bin/9p" -a "$addr" "$@"; }

# In, in 9P2000: mkdir for directories; write creates each file.
copy_in() {
  local dir=$1 remote=$2 p name
  for p in "$dir"/*; do
    name=${p##*/}
    if [ -d "$p" ]; then
      p9 mkdir "$remote/$name"
      copy_in "$p" "$remote/$name"
    else
      p9 write "$remote/$name" <"$p"
    fi
  done
}
SECONDS=0; copy_in "$work/src" ""; echo "copy_tree: in: ${SECONDS}s"

# Out, in 9P2000.L: one ls -l per directory gives kinds and names (the
# name is what follows the three words of the date, spaces and all).
copy_out() {
  local remote=$1 dir=$2 mode type dev uid gid len mon day time name
  p9 -L ls -l "$remote/" >"$dir.list"
  while read -r mode type dev uid gid len mon day time name; do
    if [ "${mode:0:1}" = d ]; then
      mkdir "$dir/$name"
      copy_out "$remote/$name" "$dir/$name"
    else
      p9 -L read "$remote/$name" >"$dir/$name"
    fi
  done <"$dir.list"
  rm "$dir.list"
}
SECONDS=0; copy_out "" "$work/out"; echo "copy_tree: out: ${SECONDS}s"

sums() {
  local f files=()
  cd "$1"
  for f in **; do [ -f "$f" ] && files+=("$f"); done
  [ "${#files[@]}" -eq "$total" ] || fail "$1 holds ${#files[@]} files, not $total"
  sha256sum -- "${files[@]}" | sort -k2
}
want=$(sums "$work/src")
got=$(sums "$work/out")
[ "$want" = "$got" ] || fail "checksums differ after the round trip"
if [ "$server" = exportfs ]; then
  [ "$want" = "$(sums "$work/export")" ] || fail "checksums differ in the exported directory"
fi
echo "copy_tree: $total files in and out through $server: checksums match"
