#!/usr/bin/env bash
# tidy.sh: runs clang-tidy (checks in .clang-tidy) over every translation
# unit of ours in BUILD's compile_commands.json, JOBS at a time, and fails if
# any finding is an error (.clang-tidy makes every enabled check one). Run by
# `make tidy`, which configures BUILD first. The file list comes from the
# compilation database, so a new source file is checked once CMake builds it;
# headers are checked through the sources that include them.
#   usage: tidy.sh [BUILD [JOBS]]    (CLANG_TIDY=clang-tidy-14 by default)
#   TIDY_FILES='regex' narrows the run to the matching source paths.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build}
jobs=${2:-$(nproc 2>/dev/null || echo 2)}
tidy=${CLANG_TIDY:-clang-tidy-14}
db=$build/compile_commands.json

command -v "$tidy" >/dev/null || {
  echo "tidy: $tidy not found (make deps installs clang-tidy-14)" >&2
  exit 1
}
[[ -f $db ]] || {
  echo "tidy: $db missing; configure $build first (make tidy does)" >&2
  exit 1
}

# CMake writes one `"file": "/abs/path"` line per entry. Ours are the files
# under the source tree but outside any build directory (fuzz and bench
# builds may sit inside it).
mapfile -t files < <(grep -o '"file": *"[^"]*"' "$db" | sed 's/^"file": *"//; s/"$//' |
  grep "^$root/" | grep -v "^$root/build[^/]*/" | grep -E "${TIDY_FILES:-.}" | sort -u)
((${#files[@]})) || {
  echo "tidy: no sources of ours in $db" >&2
  exit 1
}

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "tidy: $tidy on ${#files[@]} files, $jobs at a time"
start=$SECONDS
# One output file per translation unit so parallel runs do not interleave.
# Headers of ours only: the filter leaves out system, gtest and libuv headers.
printf '%s\n' "${files[@]}" |
  xargs -d '\n' -P "$jobs" -n 1 bash -c '
    log=$3/${4//\//_}
    "$0" -p "$1" --quiet --use-color=false --header-filter="^$2/" "$4" \
      >"$log.log" 2>&1 || echo "$4" >"$log.failed"' \
    "$tidy" "$build" "$root" "$out" || true

# clang-tidy prints "N warnings generated" to stderr even in quiet mode, and
# a finding in a header once per source that includes it: print each once.
cat "$out"/*.log 2>/dev/null |
  grep -v -e '^[0-9]* warnings\? generated\.$' -e '^Suppressed [0-9]* warnings' \
    -e '^Use -header-filter=' |
  awk 'BEGIN { show = 1 } /: (warning|error): / { show = !seen[$0]++ } show' || true
failed=$(find "$out" -name '*.failed' | wc -l)
echo "tidy: ${#files[@]} files in $((SECONDS - start))s; $failed with errors"
((failed == 0))
