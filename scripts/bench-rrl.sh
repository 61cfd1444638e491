#!/usr/bin/env bash
# Amplification with and without response rate limiting (a benchmark, not a test;
# reliability.md T6): a client on 127.0.0.1 sends QPS queries a second for SECONDS seconds
# (forged-source traffic, as a reflection attack would send it) for DNSKEY, the big TXT
# RRset (13 × 200 bytes, more than fits: TC), a TXT RRset that fits (5 × 200 bytes, the
# largest kind of answer) and ANY, all with DO and a 1232-byte EDNS buffer; then another
# client, 127.0.0.2, asks the same question 10 times a second for 3 seconds. Printed per
# question, for skydns without rate limiting and with --rrl 200 (slip 2): bytes received by
# the client per byte it sent, the full answers, the truncated replies (slips, or TC because
# the answer does not fit), the queries left without a reply, and how many of the second
# client's queries got a reply (a full answer, or TC which sends a real client to TCP). The
# release binary, a fresh ECDSA key, --no-rec; every packet stays on 127.0.0.1/127.0.0.2.
#
#   scripts/bench-rrl.sh [SECONDS] [QPS]      default 10 1000
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_RUN="${1:-10}"
QPS="${2:-1000}"

bash scripts/deps.sh build bind9-utils python3
cargo build --release --quiet --bin skydns

source scripts/bench-workdir.sh

python3 - "$work/store.json" <<'EOF'
import json, sys
store = {"/skydns/local/skydns/east/production/rails/1": {"host": "10.0.0.1", "port": 8080}}
for i in range(13):
    store[f"/skydns/local/skydns/big/t{i:02d}"] = {"text": chr(ord("a") + i) * 200}
for i in range(5):
    store[f"/skydns/local/skydns/large/t{i}"] = {"text": chr(ord("a") + i) * 200}
json.dump(store, open(sys.argv[1], "w"))
EOF
key="$(dnssec-keygen -q -K "$work" -a ECDSAP256SHA256 -n ZONE skydns.local)"
port=$((20000 + RANDOM % 10000))

run() { # run LABEL FLAGS...: one skydns, every question flooded in turn
  local label="$1"
  shift
  ./target/release/skydns --addr "127.0.0.1:$port" --file "$work/store.json" --no-rec \
    --dnssec "$work/$key" --log stderr "$@" 2>"$work/skydns.log" &
  pid=$!
  wait_for_skydns "$port"
  python3 - "$port" "$SECONDS_PER_RUN" "$QPS" "$label" <<'EOF'
import select, socket, struct, sys, time
port, seconds, qps, label = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def query(name, qtype, qid):
    header = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1)
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".") if l) + b"\0"
    opt = b"\0" + struct.pack(">HHIH", 41, 1232, 0x8000, 0)  # EDNS 1232, DO
    return header + wire + struct.pack(">HH", qtype, 1) + opt

def flood(source, name, qtype, rate, duration):
    """Paced queries from `source`; counts what comes back until 0.5 s after the last."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    t = dict(sent=0, bytes_in=0, replies=0, bytes_out=0, tc=0, answers=0)
    total, gap = int(rate * duration), 1.0 / rate
    start = time.perf_counter()
    end = None
    while True:
        now = time.perf_counter()
        if t["sent"] < total and now >= start + t["sent"] * gap:
            q = query(name, qtype, t["sent"] & 0xFFFF)
            sock.send(q)
            t["sent"] += 1
            t["bytes_in"] += len(q)
            continue
        if t["sent"] == total and end is None:
            end = now + 0.5
        if end is not None and now >= end:
            break
        wake = end if end is not None else start + t["sent"] * gap
        if select.select([sock], [], [], max(0.0, wake - now))[0]:
            while True:
                try:
                    r = sock.recv(65535)
                except BlockingIOError:
                    break
                t["replies"] += 1
                t["bytes_out"] += len(r)
                if r[2] & 0x02:
                    t["tc"] += 1
                elif struct.unpack(">H", r[6:8])[0] > 0:
                    t["answers"] += 1
    sock.close()
    return t

questions = [("DNSKEY +DO", "skydns.local", 48), ("big TXT +DO", "big.skydns.local", 16),
             ("1 KB TXT +DO", "large.skydns.local", 16),
             ("ANY +DO", "1.rails.production.east.skydns.local", 255)]
for title, name, qtype in questions:
    a = flood("127.0.0.1", name, qtype, qps, seconds)
    time.sleep(0.2)
    b = flood("127.0.0.2", name, qtype, 10, 3)
    print("%-13s %-6s %6d %9d %10d %6.2f %8d %7d %8d %8s" % (
        title, label, a["sent"], a["bytes_in"], a["bytes_out"], a["bytes_out"] / a["bytes_in"],
        a["answers"], a["tc"], a["sent"] - a["replies"], f"{b['replies']}/{b['sent']}"))
    time.sleep(1.5)
EOF
  stop_skydns
}

echo "skydns $(git rev-parse --short HEAD), $(date -u +%F), $(nproc) cores; $QPS queries/s for $SECONDS_PER_RUN s from 127.0.0.1, then 10/s for 3 s from 127.0.0.2"
printf "%-13s %-6s %6s %9s %10s %6s %8s %7s %8s %8s\n" question rrl sent "bytes in" "bytes out" out/in answers "TC" "no reply" "127.0.0.2"
run "off"
run "200/s" --rrl 200
