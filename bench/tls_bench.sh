#!/usr/bin/env bash
# bench/tls_bench.sh: what TLS costs, one run, TLS against plain TCP.
#
# Makes certificates (tests/tls/mkcerts.sh) and starts two bin/exportfs on
# 127.0.0.1 port 0 over one temporary directory holding a SIZE_MB file:
# one plain (tcp!), one with mutual TLS 1.3 (tls!, --ca). In the same run:
#   - bulk: `9p -m 1m read` of the whole file to /dev/null, ROUNDS times
#     per server, interleaved; the best of each counts (MB/s);
#   - floor: bench/tls_floor sends the same file over loopback through
#     OpenSSL alone (no 9P, no event loop), plain and TLS: the ratio TLS
#     costs on this machine whatever the server does;
#   - round trip: rtt_bench -L (Tgetattr on the root fid) at depth 1 and 64
#     on each server, ROUNDS times interleaved: median calls per second and
#     median p50.
# Prints a markdown section with the ratios (TLS/plain) and appends it,
# with the exact commands, to RESULTS (bench/RESULTS.md).
# Kernel TLS is not tried when the kernel lacks the tls ULP
# (/proc/sys/net/ipv4/tcp_available_ulp); the section says which.
#
# Environment: BIN_DIR (default build-bench/bin), SIZE_MB (1024), ROUNDS
# (3), SECONDS_PER_CASE (5), RESULTS (bench/RESULTS.md; /dev/null to only
# print).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN_DIR=${BIN_DIR:-build-bench/bin}
SIZE_MB=${SIZE_MB:-1024}
ROUNDS=${ROUNDS:-3}
SECONDS_PER_CASE=${SECONDS_PER_CASE:-5}
RESULTS=${RESULTS:-bench/RESULTS.md}

BENCH=tls-bench
# shellcheck source=bench/lib.sh
source bench/lib.sh
for b in exportfs 9p rtt_bench tls_floor; do
  [[ -x $BIN_DIR/$b ]] || die "$BIN_DIR/$b is not built"
done

PKI=$WORK/pki
bash tests/tls/mkcerts.sh "$PKI" || die "mkcerts.sh failed"
mkdir "$WORK/data"
# A real file, not a hole: the server reads it from the page cache.
head -c $((SIZE_MB << 20)) /dev/urandom >"$WORK/data/big"

LABEL=plain start_ours exportfs -r "$WORK/data" -m 1m
PLAIN=$ADDR_OUT
"$BIN_DIR/exportfs" -a 'tls!127.0.0.1!0' -r "$WORK/data" -m 1m --cert "$PKI/server.pem" \
  --key "$PKI/server.key" --ca "$PKI/ca.pem" >"$WORK/tls.addr" 2>"$WORK/tls.log" &
PIDS+=("$!")
for ((i = 0; i < 100; i++)); do [[ -s $WORK/tls.addr ]] && break; sleep 0.1; done
TLS=$(head -n1 "$WORK/tls.addr")
[[ $TLS == tls!* ]] || die "exportfs over TLS printed no address: $(cat "$WORK/tls.log")"
export NINEP_CERT=$PKI/root.pem NINEP_KEY=$PKI/root.key NINEP_CA=$PKI/ca.pem

# MB/s of one `9p read` of the file from ADDR.
read_rate() {
  local t0 t1
  t0=$(date +%s.%N)
  "$BIN_DIR/9p" -a "$1" -u root -m 1m read big >/dev/null || die "9p read from $1 failed"
  t1=$(date +%s.%N)
  awk -v s="$SIZE_MB" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", s / (b - a) }'
}
best_plain=0 best_tls=0
for ((r = 0; r < ROUNDS; r++)); do
  p=$(read_rate "$PLAIN")
  t=$(read_rate "$TLS")
  ((p > best_plain)) && best_plain=$p
  ((t > best_tls)) && best_tls=$t
done

# The floor: the same file over loopback through OpenSSL alone (no 9P,
# no event loop), plain against TLS, in the same run.
floor=$("$BIN_DIR/tls_floor" "$WORK/data/big" "$PKI/server.pem" "$PKI/server.key" \
  "$PKI/ca.pem" "$ROUNDS") || die "tls_floor failed"
floor_plain=$(echo "$floor" | awk '{ print $2 }')
floor_tls=$(echo "$floor" | awk '{ print $5 }')

# rtt_bench output field F of case CASE depth D: the median over the runs.
field() { echo "$1" | awk -v c="$2" -v d="$3" -v f="$4" '
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    if (v["case"] == c && v["depth"] == d) print v[f] }' | sort -g |
  awk '{ x[NR] = $1 } END { if (NR) print x[int((NR + 1) / 2)] }'; }
RTT_ARGS="-L -u root -n 200000 -t $SECONDS_PER_CASE -d 1 -d 64"
# ROUNDS runs per server, interleaved: a burst of load on this shared
# machine then spoils one run of each, and the median sets it aside.
rtt_plain="" rtt_tls=""
for ((r = 0; r < ROUNDS; r++)); do
  # shellcheck disable=SC2086
  rtt_plain+=$("$BIN_DIR/rtt_bench" -a "$PLAIN" $RTT_ARGS)$'\n' || die "rtt_bench plain failed"
  # shellcheck disable=SC2086
  rtt_tls+=$("$BIN_DIR/rtt_bench" -a "$TLS" $RTT_ARGS)$'\n' || die "rtt_bench tls failed"
done

ulp=$(cat /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null || echo "?")
if [[ " $ulp " == *" tls "* ]]; then
  ktls="the kernel has the tls ULP, but TLS records are made in user space on the event loop, so kTLS is not used"
else
  ktls="kernel TLS not measured: this kernel has no tls ULP (tcp_available_ulp: $ulp)"
fi

r1p=$(field "$rtt_plain" async 1 rate) r1t=$(field "$rtt_tls" async 1 rate)
p1p=$(field "$rtt_plain" async 1 p50_us) p1t=$(field "$rtt_tls" async 1 p50_us)
r64p=$(field "$rtt_plain" async 64 rate) r64t=$(field "$rtt_tls" async 64 rate)
section=$(cat <<EOF

## TLS against plain TCP ($(date -u +%Y-%m-%d), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))

Same run, two bin/exportfs on one directory: \`-a tcp!127.0.0.1!0\` and
\`-a tls!127.0.0.1!0 --cert --key --ca\` (mutual TLS 1.3, OpenSSL
$(openssl version | cut -d' ' -f2)). Client certificates from tests/tls/mkcerts.sh.

| case | plain | TLS | TLS / plain | goal |
| --- | --- | --- | --- | --- |
| 9p read ${SIZE_MB} MiB, msize 1 MiB, best of $ROUNDS (MB/s) | $best_plain | $best_tls | $(ratio "$best_tls" "$best_plain") | >= 0.60 |
| floor: the file sent through OpenSSL alone, no 9P, best of $ROUNDS (MB/s) | $floor_plain | $floor_tls | $(ratio "$floor_tls" "$floor_plain") | |
| Tgetattr depth 1, median of $ROUNDS (calls/s) | $r1p | $r1t | $(ratio "$r1t" "$r1p") | |
| Tgetattr depth 1 p50 round trip, median of $ROUNDS (us) | $p1p | $p1t | $(ratio "$p1t" "$p1p") | <= 1.20 |
| Tgetattr depth 64, median of $ROUNDS (calls/s) | $r64p | $r64t | $(ratio "$r64t" "$r64p") | |

Commands: \`9p -a ADDR -u root -m 1m read big >/dev/null\` (timed),
\`rtt_bench -a ADDR $RTT_ARGS\`, with NINEP_CERT, NINEP_KEY, NINEP_CA set
for the TLS cases; \`tls_floor FILE CERT KEY CA $ROUNDS\` (bench/tls_floor.cc: one
process preads the file in 1 MiB pieces and writes it to loopback TCP,
plainly or with SSL_write over OpenSSL's socket BIO, TLS 1.3 AES-128-GCM;
a forked one receives it, read-ahead on); \`bash bench/tls_bench.sh\`
(SIZE_MB=$SIZE_MB).
Kernel TLS: $ktls.
EOF
)
echo "$section"
echo "$section" >>"$RESULTS"
