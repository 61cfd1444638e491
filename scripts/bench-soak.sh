#!/usr/bin/env bash
# Soak (reliability test T19; a benchmark, not a test): skydns (release build, file store, with
# a DNSSEC key) under a mixed load for DURATION seconds: valid queries over UDP, over TCP and
# with DO (dnsperf, three instances) and random garbage datagrams (a small python sender),
# about QPS queries per second in all (70 / 10 / 10 / 10 %). Every 10 s it samples skydns' RSS,
# open descriptors and threads from /proc; it prints the samples, the growth after the warm-up
# (the first minute) and whether the log holds a panic; exits 1 on a panic or when RSS grew more
# than 10 % after the warm-up. Nothing leaves the machine (--no-rec).
#
# Usage: scripts/bench-soak.sh             DURATION=600 QPS=10000 scripts/bench-soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-600}
QPS=${QPS:-10000}
PORT=${PORT:-53855}
WARMUP=60

bash scripts/deps.sh dnsperf bind9-utils bind9-dnsutils python3 bc build
cargo build --release --quiet --bin skydns

work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cp examples/services.json "$work/services.json"
key=$(dnssec-keygen -q -K "$work" -a ECDSAP256SHA256 -n ZONE skydns.local)
chmod 644 "$work"/*.key
target/release/skydns --addr="127.0.0.1:$PORT" --file="$work/services.json" --no-rec \
  --dnssec="$work/$key" --log=stderr >"$work/skydns.log" 2>&1 &
skydns=$!
pids+=("$skydns")
for _ in $(seq 1 100); do
  dig @127.0.0.1 -p "$PORT" +tries=1 +time=1 +short skydns.local SOA 2>/dev/null | grep -q . && break
  sleep 0.1
done

cat >"$work/queries.txt" <<'EOF'
1.rails.production.east.skydns.local A
east.skydns.local SRV
rails.staging.east.skydns.local SRV
6.rails.staging.east.skydns.local AAAA
skydns.local NS
skydns.local SOA
nothere.skydns.local A
1.rails.production.east.skydns.local TXT
EOF

perf() { # $1: label; $2: share of QPS in percent; further arguments go to dnsperf
  local label=$1 share=$2
  shift 2
  dnsperf -s 127.0.0.1 -p "$PORT" -d "$work/queries.txt" -l "$DURATION" \
    -Q $((QPS * share / 100)) -c 2 -t 2 "$@" >"$work/dnsperf-$label.txt" 2>&1 &
  pids+=($!)
}
perf udp 70
perf tcp 10 -m tcp
perf dnssec 10 -D

python3 - "$PORT" "$DURATION" $((QPS / 10)) <<'EOF' &
import os, socket, sys, time
port, duration, rate = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setblocking(False)
end = time.monotonic() + duration
while time.monotonic() < end:
    started = time.monotonic()
    for _ in range(rate // 10):
        try:
            sock.sendto(os.urandom(12 + os.urandom(1)[0] % 60), ("127.0.0.1", port))
        except BlockingIOError:
            pass
    while True:
        try:
            sock.recv(4096)
        except BlockingIOError:
            break
    time.sleep(max(0.0, 0.1 - (time.monotonic() - started)))
EOF
pids+=($!)

sample() { # seconds RSS-KiB fds threads
  local rss fds threads
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$skydns/status")
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$skydns/status")
  fds=$(find "/proc/$skydns/fd" -mindepth 1 -maxdepth 1 | wc -l)
  echo "$1 $rss $fds $threads"
}
echo "skydns soak: $DURATION s, about $QPS queries/s (70% UDP, 10% TCP, 10% DO, 10% garbage)"
printf '%6s %10s %5s %8s\n' "t (s)" "RSS (KiB)" "fds" "threads"
samples="$work/samples.txt"
for t in $(seq 0 10 "$DURATION"); do
  sample "$t" | tee -a "$samples" | awk '{printf "%6s %10s %5s %8s\n", $1, $2, $3, $4}'
  [ "$t" -lt "$DURATION" ] && sleep 10
done

for label in udp tcp dnssec; do
  echo "dnsperf $label: $(grep -E 'Queries (sent|lost)' "$work/dnsperf-$label.txt" | tr -s ' ' | tr '\n' ' ')"
done
warm=$(awk -v w="$WARMUP" '$1 == w {print $2}' "$samples")
last=$(tail -n 1 "$samples" | awk '{print $2}')
growth=$(printf '%.1f' "$(echo "scale=3; ($last - $warm) * 100 / $warm" | bc)")
echo "RSS after ${WARMUP} s: $warm KiB; at the end: $last KiB; growth: $growth %"
status=0
if grep -q panicked "$work/skydns.log"; then
  echo "skydns panicked:"
  grep -A5 panicked "$work/skydns.log"
  status=1
fi
if [ "$(echo "$growth > 10" | bc)" = 1 ]; then status=1; fi
kill -0 "$skydns" 2>/dev/null || { echo "skydns is gone"; status=1; }
exit "$status"
