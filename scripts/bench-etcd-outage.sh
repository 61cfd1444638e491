#!/usr/bin/env bash
# etcd outages under load (reliability test T7; a benchmark, not a test): SERVICES services in
# a fresh etcd on loopback, skydns (release build) mirroring them, and dnsperf asking for all
# of them at QPS queries per second in three windows of WINDOW seconds each: etcd running,
# etcd frozen with SIGSTOP, and etcd killed with SIGKILL. After each outage etcd comes back
# (SIGCONT, or a restart on the same data directory), a new service is put, and the time until
# skydns answers it is measured. Prints per window: queries sent, lost, answers other than
# NOERROR, latency, and skydns log lines per second; exits 1 if the outage windows lost a
# query or answered anything but NOERROR. Nothing leaves the machine (--no-rec).
#
# Usage: scripts/bench-etcd-outage.sh
#        SERVICES=1000 QPS=5000 WINDOW=30 scripts/bench-etcd-outage.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SERVICES=${SERVICES:-1000}
QPS=${QPS:-5000}
WINDOW=${WINDOW:-30}
PORT=${PORT:-53854}
ETCD_PORT=${ETCD_PORT:-23791}
PEER_PORT=${PEER_PORT:-23801}

bash scripts/deps.sh dnsperf etcd-server etcd-client bind9-dnsutils bc build
cargo build --release --quiet --bin skydns

work=$(mktemp -d)
chmod 755 "$work"
etcd_pid=""
skydns_pid=""
cleanup() {
  for p in "$skydns_pid" "$etcd_pid"; do
    if [ -n "$p" ]; then
      kill -CONT "$p" 2>/dev/null || true
      kill "$p" 2>/dev/null || true
    fi
  done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

endpoint="http://127.0.0.1:$ETCD_PORT"
start_etcd() {
  etcd --name bench --data-dir "$work/etcd" \
    --listen-client-urls "$endpoint" --advertise-client-urls "$endpoint" \
    --listen-peer-urls "http://127.0.0.1:$PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
    --initial-cluster "bench=http://127.0.0.1:$PEER_PORT" >>"$work/etcd.log" 2>&1 &
  etcd_pid=$!
  for _ in $(seq 1 100); do
    ETCDCTL_API=3 etcdctl --endpoints="$endpoint" endpoint health >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "etcd did not start:" >&2
  cat "$work/etcd.log" >&2
  exit 1
}
put() { ETCDCTL_API=3 etcdctl --endpoints="$endpoint" put "$1" "$2" >/dev/null; }

start_etcd
echo "loading $SERVICES services into etcd"
seq 1 "$SERVICES" | xargs -P 8 -I{} env ETCDCTL_API=3 etcdctl --endpoints="$endpoint" \
  put /skydns/local/skydns/bench/s{} '{"host": "10.1.0.1", "port": 80}' >/dev/null
seq 1 "$SERVICES" | sed 's/.*/s&.bench.skydns.local A/' >"$work/queries.txt"

target/release/skydns --addr="127.0.0.1:$PORT" --machines="$endpoint" --no-rec --log=stderr \
  >"$work/skydns.log" 2>&1 &
skydns_pid=$!

answers() { # $1: name; true when skydns answers it with an address
  dig @127.0.0.1 -p "$PORT" +tries=1 +time=1 +short "$1" A 2>/dev/null | grep -q '^10\.'
}
for _ in $(seq 1 200); do answers "s1.bench.skydns.local" && break; sleep 0.1; done

# Seconds from a put to the first answer that shows it (polled every 20 ms, at most 60 s).
visible_after() { # $1: service name (one label)
  put "/skydns/local/skydns/bench/$1" '{"host": "10.2.0.1"}'
  local start now
  start=$(date +%s.%N)
  for _ in $(seq 1 3000); do
    if answers "$1.bench.skydns.local"; then
      now=$(date +%s.%N)
      printf '%.3f\n' "$(echo "$now - $start" | bc)"
      return
    fi
    sleep 0.02
  done
  echo "never"
}

rows=()
failed=0
window() { # $1: label; $2: 1 if the window is an outage
  local out="$work/dnsperf-$RANDOM.txt" lines_before lines_after
  lines_before=$(wc -l <"$work/skydns.log")
  dnsperf -s 127.0.0.1 -p "$PORT" -d "$work/queries.txt" -l "$WINDOW" -Q "$QPS" -c 4 -T 2 -t 2 \
    >"$out" 2>&1
  lines_after=$(wc -l <"$work/skydns.log")
  local sent lost noerror other latency
  sent=$(awk '/Queries sent:/ {print $3}' "$out")
  lost=$(awk '/Queries lost:/ {print $3}' "$out")
  noerror=$(grep -oE 'NOERROR [0-9]+' "$out" | awk '{print $2}' || true)
  other=$((sent - lost - ${noerror:-0}))
  latency=$(grep -E 'Average Latency' "$out" | sed -E 's/.*: *//')
  rows+=("$(printf '%-16s %8s %6s %11s  %s  %.1f log lines/s' "$1" "$sent" "$lost" "$other" \
    "$latency" "$(echo "scale=2; ($lines_after - $lines_before) / $WINDOW" | bc)")")
  if [ "$2" = 1 ] && { [ "$lost" != 0 ] || [ "$other" != 0 ]; }; then failed=1; fi
}

window "etcd running" 0
kill -STOP "$etcd_pid"
window "etcd SIGSTOP" 1
kill -CONT "$etcd_pid"
after_stop=$(visible_after back1)
kill -9 "$etcd_pid"
wait "$etcd_pid" 2>/dev/null || true
window "etcd SIGKILL" 1
start_etcd
after_kill=$(visible_after back2)

echo "skydns: target/release/skydns on etcd ($SERVICES services); dnsperf -Q $QPS, $WINDOW s per window"
printf '%-16s %8s %6s %10s  %s\n' "window" "sent" "lost" "not NOERROR" "latency avg (min, max) s"
printf '%s\n' "${rows[@]}"
echo "new service answered after SIGCONT:  ${after_stop} s"
echo "new service answered after restart:  ${after_kill} s"
exit "$failed"
