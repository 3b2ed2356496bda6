#!/bin/bash
# bench/mount9p_posix_bench.sh: issue 12's three figures in one run, each
# with its floor, appended to $RESULTS as one section: find + stat of
# 10,000 files (local, fresh mount, libfuse's passthrough_ll), the first and
# second fresh-mount reads of a cached 1 GiB file against `9p read`, and a
# tmpfs write (local, mount, passthrough_ll). BIN_DIR names the binaries.
set -euo pipefail
BIN_DIR=${BIN_DIR:-build-bench/bin}
RESULTS=${RESULTS:-bench/RESULTS.md}
SIZE_MB=${SIZE_MB:-1024}
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
FIND=$(bash bench/mount9p_findstat.sh "$BIN_DIR/exportfs" "$BIN_DIR/mount9p" | grep '^local')
READ=$(bash bench/mount9p_firstread.sh "$BIN_DIR/exportfs" "$BIN_DIR/mount9p" "$BIN_DIR/9p" "$SIZE_MB")
WRITE=$(bash bench/mount9p_tmpfs_write.sh "$BIN_DIR/exportfs" "$BIN_DIR/mount9p")
TABLE=$(cat <<TXT

## $(date -u '+%Y-%m-%d %H:%M UTC'): mount9p -L over exportfs, issue 12's figures (bench/mount9p_posix_bench.sh)

Machine: $(nproc) cores, $(uname -r), load average at start $LOAD; commit
$(git rev-parse --short HEAD). Floors: libfuse's passthrough_ll (Debian's
libfuse3-dev example) over the same local directory, FUSE with no 9P.

find + stat of 10,000 files, seconds (\`bench/mount9p_findstat.sh\`; goal: mount at most 2x local):
\`\`\`
$FIND
\`\`\`
Cached ${SIZE_MB} MiB file, MB/s, a new exportfs per round (\`bench/mount9p_firstread.sh\`; goal: first mount as fast as later ones):
\`\`\`
$READ
\`\`\`
512 MiB \`dd conv=fsync\` into tmpfs, seconds and share of local (\`bench/mount9p_tmpfs_write.sh\`; goal: mount at least 0.6):
\`\`\`
$WRITE
\`\`\`
TXT
)
echo "$TABLE"
[[ $RESULTS == /dev/null ]] || echo "$TABLE" >>"$RESULTS"
