#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]: build the libFuzzer targets with
# clang-14 in build-fuzz/ and run each for SECONDS (default $FUZZ_SECONDS,
# else 60) on a copy of its committed corpus in .fuzz-corpus-work/ (so the
# corpus in git stays small; interesting new inputs stay in the copy).
#
# Exits 1 when a fuzzer finds a crash, leak, timeout or broken invariant;
# the input that did it is left in .fuzz-corpus-work/<target>-artifacts/.
# Prints each target's executions per second and coverage at the end.
# Environment: FUZZ_BUILD_DIR (default build-fuzz), JOBS (default 2),
# FUZZ_TARGETS (default: all six, "fuzz_decode fuzz_roundtrip
# fuzz_server_session fuzz_client_replies fuzz_chunkd fuzz_storewal").
set -euo pipefail
cd "$(dirname "$0")/../.."

SECS=${1:-${FUZZ_SECONDS:-60}}
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
WORK=.fuzz-corpus-work
TARGETS=${FUZZ_TARGETS:-fuzz_decode fuzz_roundtrip fuzz_server_session fuzz_client_replies fuzz_chunkd fuzz_storewal}

[[ $SECS =~ ^[0-9]+$ ]] || { echo "usage: tests/fuzz/run.sh [SECONDS]" >&2; exit 2; }
command -v clang++-14 >/dev/null || { echo "fuzz: clang++-14 is missing (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }

launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD" -DNINEP_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-14 \
  -DCMAKE_CXX_COMPILER=clang++-14 "${launcher[@]}" >/dev/null
# shellcheck disable=SC2086
cmake --build "$BUILD" -j "${JOBS:-2}" --target $TARGETS

status=0
summary=()
for t in $TARGETS; do
  corpus=$WORK/$t
  artifacts=$WORK/$t-artifacts
  rm -rf "$corpus" "$artifacts"
  mkdir -p "$corpus" "$artifacts"
  cp tests/fuzz/corpus/"$t"/* "$corpus"/
  log=$WORK/$t.log
  echo "fuzz: $t for ${SECS}s (log $log)" >&2
  rc=0
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$BUILD/bin/$t" -max_total_time="$SECS" -max_len=8192 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
  units=$(find "$corpus" -type f | wc -l)
  summary+=("$t: ${execs:-?} runs, ${rate:-?} exec/s, ${cov:-cov ?}, corpus $units files")
  if ((rc != 0)); then
    echo "fuzz: $t FAILED (exit $rc); inputs in $artifacts:" >&2
    ls -l "$artifacts" >&2 || true
    grep -E 'ERROR|invariant|SUMMARY' "$log" | head -20 >&2 || true
    status=1
  fi
done
printf '%s\n' "${summary[@]}"
exit $status
