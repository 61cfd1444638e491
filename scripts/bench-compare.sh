#!/usr/bin/env bash
# skydns against Knot DNS on the same data (a benchmark, not a test; it prints figures).
#
# N services (examples/bench_data.rs, the generator of tests/common/generator.rs) go into a
# private etcd that skydns (release build, --no-rec) serves; Knot serves the equivalent zone.
# Each server is pinned to core 0 and dnsperf to core 1; for every workload the script prints
# queries per second, the server's CPU share during the run (utime+stime from /proc/PID/stat),
# QPS per fully used server core, p50/p99 latency in a second run at half of Knot's rate, the
# server's RSS, and skydns/Knot per core. Every packet stays on 127.0.0.1.
#
#   bash scripts/bench-compare.sh [N]        N (also from the environment) default 1000
#   SECONDS_PER_RUN=10  CLIENTS=10  OUTSTANDING=100  SEED=1   other settings (dnsperf -c, -q)
#   SKYDNS_FLAGS="--metrics-addr="   extra skydns flags (this one: without metrics, which are
#                                    on by default, on a free loopback port here)
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-${N:-1000}}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
CLIENTS="${CLIENTS:-10}"
OUTSTANDING="${OUTSTANDING:-100}"
SEED="${SEED:-1}"
SKYDNS_FLAGS="${SKYDNS_FLAGS:-}"
if ! [ "$N" -ge 100 ] 2>/dev/null; then
  echo "N must be a number of at least 100 (one group of 100 services)" >&2
  exit 2
fi

bash scripts/deps.sh build etcd-server etcd-client knot knot-dnsutils dnsperf bind9-dnsutils \
  bind9-utils iproute2
cargo build --release --quiet --bin skydns --example bench_data
SKYDNS=target/release/skydns
DATA=target/release/examples/bench_data
CLK_TCK="$(getconf CLK_TCK)"

work="$(mktemp -d /tmp/bench-compare.XXXXXX)"
chmod 755 "$work"
declare -A PIDS=()
stop() {
  local pid="${PIDS[$1]:-}"
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "PIDS[$1]"
  fi
}
cleanup() {
  local name
  for name in "${!PIDS[@]}"; do stop "$name"; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
  echo "bench-compare: $*" >&2
  exit 1
}

# COUNT distinct loopback ports that no TCP or UDP socket uses now.
free_ports() {
  local used picked=() p
  used=" $(ss -Htuan | awk '{n = split($5, a, ":"); printf "%s ", a[n]}') "
  while [ "${#picked[@]}" -lt "$1" ]; do
    p=$((20000 + RANDOM % 12000))
    if [[ "$used" != *" $p "* && " ${picked[*]} " != *" $p "* ]]; then picked+=("$p"); fi
  done
  echo "${picked[@]}"
}
read -r ETCD_PORT PEER_PORT SKY_PORT KNOT_PORT METRICS_PORT <<<"$(free_ports 5)"

# Waits until the server NAME (its pid in PIDS) answers the SOA on PORT authoritatively.
wait_soa() {
  local name=$1 port=$2 log=$3
  for _ in $(seq 600); do
    kill -0 "${PIDS[$name]}" 2>/dev/null || { cat "$log" >&2; die "$name exited"; }
    if dig @127.0.0.1 -p "$port" +norec +tries=1 +time=1 skydns.local SOA 2>/dev/null |
      grep -q 'status: NOERROR'; then
      return
    fi
    sleep 0.2
  done
  cat "$log" >&2
  die "$name did not answer within 120 s"
}

start_etcd() {
  taskset -c 1 etcd --name bench --data-dir "$work/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" \
    --initial-cluster "bench=http://127.0.0.1:$PEER_PORT" >"$work/etcd.log" 2>&1 &
  PIDS[etcd]=$!
  for _ in $(seq 100); do
    if ETCDCTL_API=3 etcdctl --endpoints "http://127.0.0.1:$ETCD_PORT" --dial-timeout=1s \
      endpoint health >/dev/null 2>&1; then
      return
    fi
    sleep 0.2
  done
  cat "$work/etcd.log" >&2
  die "etcd did not start"
}

# Both servers accept EDNS payloads up to 4096 bytes: with 1232, Knot's onlinesign answers
# SERVFAIL where a signed SRV answer's glue and signatures do not fit (skydns would drop the
# glue instead), and the two would not send the same reply.
UDP_PAYLOAD=4096

# skydns on the etcd, with extra flags (--dnssec KEY) and SKYDNS_FLAGS; its metrics listener
# (through the environment, so that SKYDNS_FLAGS may override it) on a free port.
start_skydns() {
  # shellcheck disable=SC2086 # SKYDNS_FLAGS holds separate flags
  PROMETHEUS_PORT="$METRICS_PORT" taskset -c 0 "$SKYDNS" --machines "http://127.0.0.1:$ETCD_PORT" \
    --no-rec --addr "127.0.0.1:$SKY_PORT" --edns-payload "$UDP_PAYLOAD" --log stderr "$@" \
    $SKYDNS_FLAGS 2>"$work/skydns.log" &
  PIDS[skydns]=$!
  wait_soa skydns "$SKY_PORT" "$work/skydns.log"
  check_pinned skydns
}

# Knot on the generated zone; with "signed", online signing (mod-onlinesign, its own
# ECDSAP256SHA256 key; onlinesign denies with NSEC "black lies", not NSEC3). One UDP worker:
# Knot pins its UDP workers to CPUs itself (worker i on CPU i), so a second one would run on
# dnsperf's core whatever taskset said.
start_knot() {
  local dir="$work/knot-$1" module="" signing=""
  mkdir -p "$dir"
  if [ "$1" = signed ]; then
    signing="policy:
  - id: ecdsa
    algorithm: ecdsap256sha256
mod-onlinesign:
  - id: sign
    policy: ecdsa"
    module="    module: mod-onlinesign/sign"
  fi
  cat >"$dir/knot.conf" <<EOF
server:
    rundir: "$dir"
    listen: 127.0.0.1@$KNOT_PORT
    udp-max-payload: $UDP_PAYLOAD
    udp-workers: 1
log:
  - target: stderr
    any: notice
database:
    storage: "$dir"
$signing
template:
  - id: default
    storage: "$dir"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: skydns.local
    file: "$work/skydns.local.zone"
$module
EOF
  taskset -c 0 knotd -c "$dir/knot.conf" 2>"$dir/knotd.log" &
  PIDS[knot]=$!
  wait_soa knot "$KNOT_PORT" "$dir/knotd.log"
  check_pinned knot
}

# Aborts unless every thread of server NAME may run on core 0 only.
check_pinned() {
  local t
  for t in /proc/"${PIDS[$1]}"/task/*; do
    grep -q '^Cpus_allowed_list:[[:space:]]*0$' "$t/status" ||
      die "a thread of $1 ($t) may run outside core 0: $(grep Cpus_allowed_list "$t/status")"
  done
}

# A server's answer as comparable text: the status, then the answer records without TTLs,
# owners lowercased, sorted; RRSIGs only counted.
answer_text() {
  local port=$1 name=$2 type=$3
  shift 3
  dig @127.0.0.1 -p "$port" +norec +tries=1 +time=3 +noall +comments +answer "$@" "$name" "$type" |
    awk '/status:/ { s = $6; sub(",", "", s); print "status " s; next }
         /^;/ || NF < 5 { next }
         $4 == "RRSIG" { sigs++; next }
         { $1 = tolower($1); $2 = ""; print }
         END { if (sigs) print "signed" }' | sort
}

# Aborts unless skydns and Knot give the same answer to the first question of a query file.
check_same() {
  local file=$1 name type sky knot
  shift
  read -r name type <"$file"
  sky="$(answer_text "$SKY_PORT" "$name" "$type" "$@")"
  knot="$(answer_text "$KNOT_PORT" "$name" "$type" "$@")"
  if [ "$sky" != "$knot" ]; then
    printf 'skydns:\n%s\nKnot:\n%s\n' "$sky" "$knot" >&2
    die "skydns and Knot answer '$name $type' ($*) differently: the comparison would be unfair"
  fi
  if [[ "$*" == *+dnssec* && "$sky" != *signed* ]]; then
    die "'$name $type' with DO came back unsigned"
  fi
}

cpu_ticks() { sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# One throughput run of dnsperf against PORT (server PID) with FILE and extra dnsperf flags;
# prints "QPS CPU_SHARE LOST".
throughput() {
  local port=$1 pid=$2 file=$3 c0 c1 t0 t1 out
  shift 3
  c0="$(cpu_ticks "$pid")"
  t0="$(date +%s.%N)"
  out="$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$SECONDS_PER_RUN" \
    -c "$CLIENTS" -q "$OUTSTANDING" -t 2 "$@" 2>&1 || true)"
  t1="$(date +%s.%N)"
  c1="$(cpu_ticks "$pid")"
  awk -v out="$out" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$CLK_TCK" 'BEGIN {
    n = split(out, lines, "\n")
    for (i = 1; i <= n; i++) {
      split(lines[i], f, " ")
      if (lines[i] ~ /Queries per second/) qps = f[4]
      if (lines[i] ~ /Queries lost/) lost = f[3]
    }
    printf "%.0f %.3f %s\n", qps, (c1 - c0) / hz / (t1 - t0), lost
  }'
}

# p50 and p99 latency (ms) of a dnsperf run at RATE queries per second; prints "P50 P99 LOST".
latency() {
  local port=$1 file=$2 rate=$3 lat="$work/latency"
  shift 3
  taskset -c 1 dnsperf -s 127.0.0.1 -p "$port" -d "$file" -l "$SECONDS_PER_RUN" \
    -c "$CLIENTS" -q "$OUTSTANDING" -t 2 -Q "$rate" -v "$@" 2>/dev/null >"$lat.raw" || true
  awk '/^> / && $NF ~ /^[0-9.]+$/ { print $NF }' "$lat.raw" | sort -g >"$lat"
  awk -v sent="$(grep -c '^> ' "$lat.raw")" '{ v[NR] = $1 } END {
    if (NR == 0) { print "- - " sent; exit }
    printf "%.3f %.3f %d\n", v[int(NR * 0.50) + 1] * 1000, v[int(NR * 0.99) + 1] * 1000, sent - NR
  }' "$lat"
}

ROWS=()
# Runs one workload against both servers: LABEL FILE [dnsperf flags...].
workload() {
  local label=$1 file=$2 kq kc kl sq sc sl rate kp50 kp99 klost sp50 sp99 slost
  shift 2
  echo "  $label ..." >&2
  read -r kq kc kl <<<"$(throughput "$KNOT_PORT" "${PIDS[knot]}" "$file" "$@")"
  read -r sq sc sl <<<"$(throughput "$SKY_PORT" "${PIDS[skydns]}" "$file" "$@")"
  rate=$((kq / 2))
  read -r kp50 kp99 klost <<<"$(latency "$KNOT_PORT" "$file" "$rate" "$@")"
  read -r sp50 sp99 slost <<<"$(latency "$SKY_PORT" "$file" "$rate" "$@")"
  ROWS+=("$(awk -v l="$label" -v sq="$sq" -v sc="$sc" -v kq="$kq" -v kc="$kc" \
    -v sp="$sp50 / $sp99" -v kp="$kp50 / $kp99" -v rate="$rate" \
    -v lost="$sl/$kl, $slost/$klost" \
    -v srss="$(rss_mib "${PIDS[skydns]}")" -v krss="$(rss_mib "${PIDS[knot]}")" 'BEGIN {
      spc = sc > 0 ? sq / sc : 0; kpc = kc > 0 ? kq / kc : 0; ratio = kpc > 0 ? spc / kpc : 0
      printf "| %s | %d | %.0f %% | %d | %d | %.0f %% | %d | **%.2f** | %s | %s | %d | %s / %s | %s |", \
        l, sq, sc * 100, spc, kq, kc * 100, kpc, ratio, sp, kp, rate, srss, krss, lost
    }')")
}

start_etcd
"$DATA" load "http://127.0.0.1:$ETCD_PORT" "$N" "$SEED"
SUMMARY="$("$DATA" write "$work" "$N" "$SEED")"
echo "$SUMMARY"
start_skydns
start_knot plain

echo "checking that both servers give the same answers ..." >&2
check_same "$work/q-a"
check_same "$work/q-srv"
check_same "$work/q-wildcard"
check_same "$work/q-nxdomain"
check_same "$work/q-mixed"
check_same "$work/q-srv100" +tcp

echo "running (${SECONDS_PER_RUN}s per run, 4 runs per workload) ..." >&2
workload "A, exact name" "$work/q-a"
workload "SRV, 10 services" "$work/q-srv"
workload "SRV, wildcard \`*.svcK\`" "$work/q-wildcard"
workload "NXDOMAIN" "$work/q-nxdomain"
workload "mixed 60/20/10/10" "$work/q-mixed"
workload "SRV, 100 services, TCP" "$work/q-srv100" -m tcp

stop skydns
stop knot
key="$(dnssec-keygen -q -K "$work" -a ECDSAP256SHA256 -n ZONE skydns.local)"
chmod 600 "$work/$key.private"
start_skydns --dnssec "$work/$key"
start_knot signed
check_same "$work/q-a" +dnssec +bufsize="$UDP_PAYLOAD"
check_same "$work/q-srv" +dnssec +bufsize="$UDP_PAYLOAD"
workload "A, DO=1 signed" "$work/q-a" -D
workload "SRV ×10, DO=1 signed" "$work/q-srv" -D

cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
knot_version="$(knotd --version | awk '{ print $NF }')"
echo
echo "skydns $(git describe --always --dirty 2>/dev/null || echo '?') against Knot $knot_version," \
  "$(date +%Y-%m-%d), $(nproc) cores ($cpu); N=$N: $SUMMARY;" \
  "skydns flags: ${SKYDNS_FLAGS:-none} (metrics on 127.0.0.1:$METRICS_PORT unless turned off);" \
  "${SECONDS_PER_RUN} s per run, dnsperf -c $CLIENTS -q $OUTSTANDING; servers on core 0, dnsperf on core 1"
echo
echo "| workload | skydns QPS | CPU | QPS/core | Knot QPS | CPU | QPS/core | skydns/Knot per core | skydns p50 / p99 ms | Knot p50 / p99 ms | at QPS | RSS MiB skydns / Knot | lost s/k, at QPS s/k |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${ROWS[@]}"
