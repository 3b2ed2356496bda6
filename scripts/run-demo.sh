#!/usr/bin/env bash
# run-demo.sh: the main job behind `make run`. Serves a file tree over 9P on
# ADDR (default tcp!127.0.0.1!5640) in the foreground, after printing the
# commands that reach it. Ctrl-C or SIGTERM stops it.
#
# With bin/exportfs built: exports ROOT, or a small demo tree made under
# DEMO_DIR. Before exportfs exists: runs the in-memory bin/ramfs instead.
#
# Environment: BIN_DIR (default build/bin), ADDR, ROOT, DEMO_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=${BIN_DIR:-build/bin}
ADDR=${ADDR:-tcp!127.0.0.1!5640}
ROOT=${ROOT:-}
DEMO_DIR=${DEMO_DIR:-build/demo}

# make_demo DIR: a few files and directories to look at; rewritten each run
# so the demo starts the same every time (only DEMO_DIR, never ROOT).
make_demo() {
  local d=$1
  rm -rf "$d"
  mkdir -p "$d/docs" "$d/src/lib" "$d/empty"
  cat >"$d/README" <<'TXT'
This tree is served by ninefold's exportfs (make run).
Try: 9p ls -l /   9p read /README   echo hi | 9p write /docs/new
TXT
  printf 'hello, 9P\n' >"$d/hello.txt"
  printf 'Plan 9 from Bell Labs\n9P2000 and 9P2000.L\n' >"$d/docs/notes.txt"
  printf 'int main(void) { return 0; }\n' >"$d/src/main.c"
  printf '# empty library\n' >"$d/src/lib/README"
  seq 1 1000 >"$d/docs/numbers"
  ln -sf ../hello.txt "$d/docs/hello-link"
}

# Quotes a dial string for the printed commands: `!` is special to
# interactive bash.
q() { printf "'%s'" "$1"; }

if [[ -x "$BIN_DIR/exportfs" ]]; then
  if [[ -z "$ROOT" ]]; then
    make_demo "$DEMO_DIR"
    ROOT=$DEMO_DIR
  fi
  [[ -d "$ROOT" ]] || { echo "run-demo: ROOT=$ROOT: not a directory" >&2; exit 1; }
  ROOT=$(cd "$ROOT" && pwd)
  cat <<EOF
ninefold: exportfs serving $ROOT on $ADDR (Ctrl-C stops it)
reach it with:
  bin/9p -a $(q "$ADDR") ls -l /
  bin/9p -a $(q "$ADDR") read /hello.txt
  mkdir -p /mnt/9 && bin/mount9p $(q "$ADDR") /mnt/9     # FUSE; fusermount3 -u /mnt/9
EOF
  exec "$BIN_DIR/exportfs" -a "$ADDR" -r "$ROOT"
fi

if [[ -x "$BIN_DIR/ramfs" ]]; then
  cat <<EOF
ninefold: bin/exportfs is not built yet; serving an empty in-memory ramfs
on $ADDR instead (Ctrl-C stops it)
reach it with:
  bin/9p -a $(q "$ADDR") ls -l /
  mkdir -p /mnt/9 && bin/mount9p $(q "$ADDR") /mnt/9     # FUSE; fusermount3 -u /mnt/9
EOF
  exec "$BIN_DIR/ramfs" -a "$ADDR"
fi

echo "run-demo: neither $BIN_DIR/exportfs nor $BIN_DIR/ramfs is built" >&2
exit 1
