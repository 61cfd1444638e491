#!/usr/bin/env bash
# How well the answer table keeps what bench-compare's workloads ask (a benchmark, not a test):
# one release skydns on the file store with bench-compare's data for N services (default
# 100,000), its default answer table, and dnsperf running the workloads one after the other in
# bench-compare's order, each for SECONDS_PER_RUN (default 8) twice, as bench-compare does (a
# throughput run, then a latency run): the unsigned ones, SRV ×100 over TCP, then on a new
# skydns with an ECDSAP256SHA256 key the signed A and SRV ×10 (DO=1). Prints per run the
# queries per second, the server's CPU share, the answer table's hits and misses (from
# /metrics), its entries and bytes, and the server's RSS. skydns runs on core 0 and dnsperf on
# core 1; every packet stays on 127.0.0.1 (--no-rec).
#
#   bash scripts/bench-table-hits.sh [N]      SKYDNS_FLAGS="--answer-cache=16MiB" to compare
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-100000}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-8}"
SKYDNS_FLAGS="${SKYDNS_FLAGS:-}"

bash scripts/deps.sh build dnsperf bind9-dnsutils bind9-utils curl
cargo build --release --quiet --bin skydns --example bench_data
source scripts/bench-workdir.sh
target/release/examples/bench_data write "$work" "$N" 1
key="$(dnssec-keygen -q -K "$work" -a ECDSAP256SHA256 -n ZONE skydns.local)"
chmod 600 "$work/$key.private"

port=$((20000 + RANDOM % 10000))
metrics=$((port + 1))
# Starts skydns on the generated store with SKYDNS_FLAGS and extra flags.
start() {
  # shellcheck disable=SC2086 # SKYDNS_FLAGS holds separate flags
  taskset -c 0 target/release/skydns --file "$work/services.json" --no-rec \
    --addr "127.0.0.1:$port" --edns-payload 4096 --metrics-addr "127.0.0.1:$metrics" \
    --log stderr "$@" $SKYDNS_FLAGS 2>"$work/skydns.log" &
  pid=$!
  wait_for_skydns "$port"
}

counts() {
  curl -s "http://127.0.0.1:$metrics/metrics" | awk '
    /^skydns_cache_hits_total\{cache="answer"\}/ { h = $2 }
    /^skydns_cache_misses_total\{cache="answer"\}/ { m = $2 }
    /^skydns_cache_entries\{cache="answer"\}/ { e = $2 }
    /^skydns_cache_bytes\{cache="answer"\}/ { b = $2 }
    END { printf "%d %d %d %d\n", h, m, e, b }'
}
ticks() { sed -E 's/^.*\) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }'; }

# Runs one query file twice: LABEL FILE [dnsperf flags...].
workload() {
  local label=$1 file=$2 h0 m0 h1 m1 entries bytes c0 c1 t0 t1 qps
  shift 2
  for _ in 1 2; do
    read -r h0 m0 _ _ <<<"$(counts)"
    c0="$(ticks)"
    t0="$(date +%s.%N)"
    qps="$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$SECONDS_PER_RUN" \
      -c 10 -q 100 -t 2 "$@" 2>&1 | awk '/Queries per second/ { printf "%d", $4 }')"
    t1="$(date +%s.%N)"
    c1="$(ticks)"
    read -r h1 m1 entries bytes <<<"$(counts)"
    awk -v n="$label" -v q="$qps" -v c="$((c1 - c0))" -v t0="$t0" -v t1="$t1" \
      -v hz="$(getconf CLK_TCK)" -v h="$((h1 - h0))" -v m="$((m1 - m0))" -v e="$entries" \
      -v b="$bytes" -v rss="$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")" 'BEGIN {
      rate = (h + m > 0) ? h * 100 / (h + m) : 0
      printf "%-12s %8d %4.0f%% %9d %9d %7.1f%% %8d %8.1f %8.1f\n", n, q, \
        c / hz / (t1 - t0) * 100, h, m, rate, e, b / 1048576, rss / 1024
    }'
  done
}

echo "skydns $(git rev-parse --short HEAD), N=$N, flags: ${SKYDNS_FLAGS:-none}, $(date -u +%F)"
printf '%-12s %8s %5s %9s %9s %8s %8s %8s %8s\n' workload QPS CPU hits misses "hit %" entries \
  "MiB held" "RSS MiB"
start
for name in a srv wildcard nxdomain mixed; do
  workload "$name" "$work/q-$name"
done
workload "srv100 tcp" "$work/q-srv100" -m tcp
stop_skydns
start --dnssec "$work/$key"
workload "signed a" "$work/q-a" -D
workload "signed srv" "$work/q-srv" -D
