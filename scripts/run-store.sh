#!/usr/bin/env bash
# run-store.sh: the job behind `make run-store`. Runs a whole store on this
# machine in the foreground: bin/storefs with three chunkd children
# (--local 3) under STORE_DIR, serving STORE_ADDR, after printing the
# commands that reach it. Ctrl-C or SIGTERM stops storefs and its chunkds;
# the data stays in STORE_DIR for the next run.
#
# Environment: BIN_DIR (default build/bin), STORE_ADDR (default
# tcp!127.0.0.1!5641), STORE_DIR (default build/store), REPLICAS (3).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=${BIN_DIR:-build/bin}
STORE_ADDR=${STORE_ADDR:-tcp!127.0.0.1!5641}
STORE_DIR=${STORE_DIR:-build/store}
REPLICAS=${REPLICAS:-3}

for b in storefs chunkd 9p; do
  [[ -x "$BIN_DIR/$b" ]] || { echo "run-store: $BIN_DIR/$b: not built (make commands)" >&2; exit 1; }
done
mkdir -p "$STORE_DIR"
q() { printf "'%s'" "$1"; }
cat <<TXT
storefs: a store of 3 chunk servers in $STORE_DIR, served on $STORE_ADDR
  $BIN_DIR/9p -a $(q "$STORE_ADDR") ls -l /
  echo hello | $BIN_DIR/9p -a $(q "$STORE_ADDR") write /hello   # after: 9p ... create /hello
  $BIN_DIR/9p -a $(q "$STORE_ADDR") -A ctl read ctl             # health
  $BIN_DIR/mount9p -L $(q "$STORE_ADDR") /mnt/store              # as a file system
Ctrl-C stops it.
TXT
exec "$BIN_DIR/storefs" -a "$STORE_ADDR" -d "$STORE_DIR" --local 3 -r "$REPLICAS"
