#!/usr/bin/env bash
# Online-signing throughput: unsigned answers per second beside signed ones (signature cache on,
# and off with --scache=0), measured in one run on loopback with dnsperf against the release
# binary on the file store. Nothing leaves the machine (--no-rec).
#
#   scripts/bench-dnssec.sh [SECONDS] [ALGORITHM]      defaults: 10 ECDSAP256SHA256
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-10}"
ALGORITHM="${2:-ECDSAP256SHA256}"

bash scripts/deps.sh dnsperf bind9-utils bind9-dnsutils build
cargo build --release --quiet

source scripts/bench-workdir.sh

cat > "$work/services.json" <<'EOF'
{
  "/skydns/config": {"domain": "skydns.local.", "ttl": 3600, "min_ttl": 60},
  "/skydns/local/skydns/dns/ns/ns1": {"host": "127.0.0.1"},
  "/skydns/local/skydns/east/production/rails/1": {"host": "10.0.0.1", "port": 8080},
  "/skydns/local/skydns/east/production/rails/2": {"host": "10.0.0.2", "port": 8080},
  "/skydns/local/skydns/east/staging/web/6": {"host": "2003::8:1", "port": 80},
  "/skydns/local/skydns/txt/info": {"text": "hello dnssec"},
  "/skydns/local/skydns/mail/mx1": {"host": "10.0.3.1", "mail": true}
}
EOF
# A mix of positive answers, a referral-free NXDOMAIN and a NODATA.
cat > "$work/queries" <<'EOF'
rails.production.east.skydns.local A
rails.production.east.skydns.local SRV
web.staging.east.skydns.local AAAA
info.txt.skydns.local TXT
mail.skydns.local MX
skydns.local SOA
nothere.skydns.local A
info.txt.skydns.local A
EOF
key="$(dnssec-keygen -q -K "$work" -a "$ALGORITHM" -n ZONE skydns.local)"
port=$((20000 + RANDOM % 20000))

# Starts skydns with extra flags and waits until it answers.
start() {
  ./target/release/skydns --addr "127.0.0.1:$port" --file "$work/services.json" --no-rec \
    --dnssec "$work/$key" --log stderr "$@" 2>"$work/skydns.log" &
  pid=$!
  for _ in $(seq 100); do
    dig @127.0.0.1 -p "$port" +tries=1 +time=1 +short skydns.local SOA >/dev/null 2>&1 && return
    sleep 0.1
  done
  echo "skydns did not start:" >&2; cat "$work/skydns.log" >&2; exit 1
}

# Queries per second of one dnsperf run (extra dnsperf flags as arguments).
qps() {
  dnsperf -s 127.0.0.1 -p "$port" -d "$work/queries" -l "$SECONDS_PER_RUN" -c 4 -q 200 "$@" \
    | awk '/Queries per second/ {print $4}'
}

start
unsigned="$(qps -e)"
signed="$(qps -D)"
stop_skydns
start --scache=0
uncached="$(qps -D)"
stop_skydns

echo "skydns online signing, $ALGORITHM, ${SECONDS_PER_RUN}s per run, loopback, $(nproc) cores"
printf '  unsigned (EDNS, DO=0)          %10.0f answers/s\n' "$unsigned"
printf '  signed   (DO=1, scache 10000)  %10.0f answers/s\n' "$signed"
printf '  signed   (DO=1, scache 0)      %10.0f answers/s\n' "$uncached"
