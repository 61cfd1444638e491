#!/usr/bin/env bash
# Benchmark of the etcd store (not a test): for each N, load N services into a fresh etcd on a
# loopback port, start skydns on it, and print the load time, skydns' RSS, the in-process cost
# of one snapshot update, and the time from an etcd put to the first DNS answer showing it
# (median and p99). Needs etcd (Debian etcd-server). With LOAD_QPS set, dnsperf asks for the
# services at that rate while the puts are timed (and the RSS after the puts has the answer
# table warm).
#   scripts/bench-etcd.sh [N,N,...] [PUTS]      default: 1000,10000,100000 and 200 puts
#   LOAD_QPS=20000 scripts/bench-etcd.sh 100000
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES="${1:-1000,10000,100000}"
PUTS="${2:-200}"
bash scripts/deps.sh etcd-server dnsperf build
cargo build --release --quiet --bin skydns --example etcd_bench
./target/release/examples/etcd_bench ./target/release/skydns "$SIZES" "$PUTS"
