#!/usr/bin/env bash
# What one query costs skydns when nothing is cached (a benchmark, not a test): the answer
# table is off (--answer-cache 0), so every query is decoded, decided and compiled, and
# callgrind counts the instructions spent in the handler (Handler::answer_now: everything from
# the received bytes to the reply, the socket calls left out). Instruction counts do not drift
# with the machine's load as timings do on a shared 2-core machine, so two commits can be
# compared to the percent. The store is bench-hostile's: 60,000 services in 600 regions of 100.
# Workloads, one pass each over UDP (NXDOMAIN, A) and TCP (SRV, so the whole answer is built):
#   NXDOMAIN   20,000 random names below r5.skydns.local, A
#   A          20,000 existing names rails.sN.rM.skydns.local, A
#   SRV x100   the 600 regions rM.skydns.local, SRV (100 records and their glue each)
#   SRV zone   *.skydns.local SRV with DO, signed (a DNSSEC key loaded), 20 times: the dearest
#              query of bench-hostile.sh, SRV records and their signature filling 64 KiB
# Every packet stays on 127.0.0.1 (--no-rec). Needs valgrind (installed when missing).
#
#   scripts/bench-miss-path.sh [BINARY]    default: target/release/skydns, built first
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh build valgrind dnsperf bind9-dnsutils bind9-utils python3
if [ $# -gt 0 ]; then
  binary="$(realpath "$1")"
else
  cargo build --release --quiet --bin skydns
  binary="$PWD/target/release/skydns"
fi

source scripts/bench-workdir.sh
mkdir -p "$work/out"
chmod 1777 "$work/out"

python3 - "$work" <<'EOF'
import json, random, sys
work = sys.argv[1]
store = {"/skydns/config": {"domain": "skydns.local.", "ttl": 60}}
for i in range(60000):
    ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    store[f"/skydns/local/skydns/r{i % 600}/s{i}/rails"] = {"host": ip, "port": 80}
json.dump(store, open(f"{work}/store.json", "w"))
rng = random.Random(1)
letters = "abcdefghijklmnopqrstuvwxyz"
with open(f"{work}/q-nxdomain", "w") as f:
    for _ in range(20000):
        f.write("".join(rng.choice(letters) for _ in range(10)) + ".r5.skydns.local A\n")
with open(f"{work}/q-a", "w") as f:
    for _ in range(20000):
        i = rng.randrange(60000)
        f.write(f"rails.s{i}.r{i % 600}.skydns.local A\n")
with open(f"{work}/q-srv", "w") as f:
    for region in range(600):
        f.write(f"r{region}.skydns.local SRV\n")
with open(f"{work}/q-zone", "w") as f:
    f.write("*.skydns.local SRV\n" * 20)
EOF
key="$work/$(dnssec-keygen -q -K "$work" -a ECDSAP256SHA256 -n ZONE skydns.local)"

port=$((20000 + RANDOM % 10000))
# Runs as nobody from the start when root (skydns would drop to it and could no longer write
# callgrind's output).
as_user=()
if [ "$(id -u)" = 0 ]; then
  as_user=(runuser -u nobody --)
  chown nobody "$key.key" "$key.private"
fi

# Asks the questions of FILE over TRANSPORT; prints how many were answered. dnsperf cannot take
# a 64 KiB reply over TCP, so the signed whole-zone questions go one by one through dig.
ask() { # ask FILE TRANSPORT [signed]
  if [ "${3:-}" = signed ]; then
    local answered=0 qname qtype
    while read -r qname qtype; do
      dig +tcp +dnssec +tries=1 +time=60 -p "$port" @127.0.0.1 "$qname" "$qtype" |
        grep -q "status: NOERROR" && answered=$((answered + 1))
    done <"$1"
    echo "$answered"
    return
  fi
  dnsperf -s 127.0.0.1 -p "$port" -m "$2" -d "$1" -n 1 -c 1 -q 20 2>&1 |
    sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p'
}

measure() { # measure NAME FILE TRANSPORT [signed]: prints instructions per query
  local name=$1 file=$2 mode=$3 out queries total signing=()
  if [ "${4:-}" = signed ]; then signing=(--dnssec "$key"); fi
  out="$work/out/$name.callgrind"
  "${as_user[@]}" valgrind --tool=callgrind --callgrind-out-file="$out" \
    --toggle-collect='*Handler*answer_now*' \
    "$binary" --addr "127.0.0.1:$port" --file "$work/store.json" --no-rec --answer-cache 0 \
    --metrics-addr "" --log stderr "${signing[@]}" 2>"$work/out/$name.log" &
  pid=$!
  wait_for_skydns "$port"
  queries="$(ask "$file" "$mode" "${4:-}")"
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
  total="$(callgrind_annotate "$out" 2>/dev/null | sed -n 's/^\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)"
  if [ -z "$queries" ] || [ "$queries" = 0 ] || [ -z "$total" ]; then
    echo "  $name: no figure (see $work/out/$name.log)" >&2
    return 1
  fi
  printf '  %-10s %6d queries  %12d instructions  %8d per query\n' "$name" "$queries" "$total" \
    "$((total / queries))"
}

echo "$("$binary" --version 2>/dev/null | head -n 1) ($binary), $(date -u +%F)"
echo "instructions in the handler per query, answer table off:"
measure NXDOMAIN "$work/q-nxdomain" udp
measure A "$work/q-a" udp
measure "SRV x100" "$work/q-srv" tcp
measure "SRV zone" "$work/q-zone" tcp signed
