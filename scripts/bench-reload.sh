#!/usr/bin/env bash
# SIGHUP reloads under load (reliability test T8): dnsperf sends 20k queries per second for 30 s
# to skydns on the file store on loopback while the store's /skydns/config changes and skydns
# gets a `kill -HUP` every second (configs cycle: new ttl, new upstreams, a broken value).
# Prints queries sent/lost, SERVFAIL count, latency and how many reloads were applied or
# rejected; exits 1 unless 0 queries were lost and 0 SERVFAIL were returned.
#
# Usage: scripts/bench-reload.sh            (builds and runs target/release/skydns)
#        SKYDNS_BIN=path/to/skydns QPS=20000 SECONDS_RUN=30 scripts/bench-reload.sh
set -euo pipefail
cd "$(dirname "$0")/.."

QPS=${QPS:-20000}
SECONDS_RUN=${SECONDS_RUN:-30}
PORT=${PORT:-53853}

bash scripts/deps.sh dnsperf bind9-dnsutils build
if [ -z "${SKYDNS_BIN:-}" ]; then
  cargo build --release --quiet
  SKYDNS_BIN=target/release/skydns
fi

work=$(mktemp -d)
chmod 755 "$work" # readable after skydns drops root
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

store="$work/store.json"
write_store() { # $1: the JSON value of /skydns/config
  {
    echo "{\"/skydns/config\": $1,"
    for i in $(seq 1 20); do
      echo "\"/skydns/local/skydns/svc/s$i\": {\"host\": \"10.0.0.$i\", \"port\": 80$i},"
    done
    echo '"/skydns/local/skydns/web": {"host": "10.1.0.1"}}'
  } >"$store.tmp"
  mv "$store.tmp" "$store"
}
configs=(
  '{"ttl": 60, "nameservers": ["127.0.0.1:1"]}'
  '{"ttl": 120, "nameservers": ["127.0.0.2:1", "127.0.0.3:1"]}'
  '{"ttl": "x"}'
)
write_store "${configs[0]}"

queries="$work/queries.txt"
{
  echo "web.skydns.local A"
  echo "svc.skydns.local SRV"
  for i in $(seq 1 20); do echo "s$i.svc.skydns.local A"; done
  echo "nothere.skydns.local A"
} >"$queries"

"$SKYDNS_BIN" --addr="127.0.0.1:$PORT" --file="$store" --log=stderr >"$work/skydns.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  dig @127.0.0.1 -p "$PORT" +tries=1 +time=1 +short web.skydns.local A 2>/dev/null | grep -q 10.1.0.1 && break
  sleep 0.1
done

dnsperf -s 127.0.0.1 -p "$PORT" -d "$queries" -l "$SECONDS_RUN" -Q "$QPS" -c 4 -T 2 -t 2 \
  >"$work/dnsperf.txt" 2>&1 &
perf=$!
for i in $(seq 1 "$SECONDS_RUN"); do
  write_store "${configs[$((i % 3))]}"
  sleep 0.6 # the file store polls every 500 ms
  kill -HUP "$pid"
  sleep 0.4
done
wait "$perf"

sent=$(awk '/Queries sent:/ {print $3}' "$work/dnsperf.txt")
lost=$(awk '/Queries lost:/ {print $3}' "$work/dnsperf.txt")
servfail=$(grep -oE 'SERVFAIL [0-9]+' "$work/dnsperf.txt" | awk '{print $2}' || true)
servfail=${servfail:-0}
qps=$(awk '/Queries per second:/ {print $4}' "$work/dnsperf.txt")
latency=$(grep -E 'Average Latency' "$work/dnsperf.txt" | sed 's/^ *//')
applied=$(grep -cE 'reload #[0-9]+ applied' "$work/skydns.log" || true)
failed=$(grep -c 'failed, still serving the previous configuration' "$work/skydns.log" || true)

echo "skydns: $SKYDNS_BIN; dnsperf -Q $QPS for $SECONDS_RUN s; kill -HUP every second"
echo "queries sent:      $sent"
echo "queries lost:      $lost"
echo "SERVFAIL:          $servfail"
echo "answered per sec:  $qps"
echo "latency:           $latency"
echo "reloads applied:   $applied"
echo "reloads rejected:  $failed (broken ttl, old config kept)"
if [ "$lost" != "0" ] || [ "$servfail" != "0" ]; then
  cat "$work/dnsperf.txt"
  exit 1
fi
