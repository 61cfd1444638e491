#!/usr/bin/env bash
# The CPU time one query costs skydns at most (a benchmark, not a test): 60,000 services in
# the file store (600 regions of 100), a DNSSEC key loaded, and the queries built to cost the
# most (names of 120+ labels, `*` and `any` in every position, labels found nowhere and
# everywhere, the apex and wildcards over the whole store) asked for A, SRV, ANY and SOA,
# with and without DO, over UDP and TCP. Each is asked REPEAT times with the answer table
# off (--answer-cache 0: every query is a miss, compiled from scratch) and then with it on;
# the CPU time is the sum of skydns' threads' run time (/proc/PID/task/*/schedstat, in ns)
# before and after, divided by REPEAT. Prints the ten dearest queries of each kind and the
# largest figure. Every packet stays on 127.0.0.1 (--no-rec).
#
#   scripts/bench-hostile.sh [REPEAT]      default 200
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT="${1:-200}"

bash scripts/deps.sh build bind9-utils python3
cargo build --release --quiet --bin skydns

source scripts/bench-workdir.sh

python3 - "$work/store.json" <<'EOF'
import json, sys
store = {"/skydns/config": {"domain": "skydns.local.", "ttl": 60}}
for i in range(60000):
    ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
    store[f"/skydns/local/skydns/r{i % 600}/s{i}/rails"] = {"host": ip, "port": 80}
json.dump(store, open(sys.argv[1], "w"))
EOF
key="$(dnssec-keygen -q -K "$work" -a ECDSAP256SHA256 -n ZONE skydns.local)"
port=$((20000 + RANDOM % 10000))

run() { # run CACHE: measures every query with --answer-cache CACHE ("" keeps the default)
  ./target/release/skydns --addr "127.0.0.1:$port" --file "$work/store.json" --no-rec \
    --dnssec "$work/$key" ${1:+--answer-cache "$1"} --log stderr 2>"$work/skydns.log" &
  pid=$!
  wait_for_skydns "$port"
  python3 - "$pid" "$port" "$REPEAT" "$1" <<'EOF'
import glob, socket, struct, sys
pid, port, repeat, cache = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def cpu_ns():
    total = 0
    for task in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            total += int(open(task).read().split()[0])
        except (OSError, ValueError):
            pass
    return total

def query(name, qtype, dnssec, qid):
    header = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1)
    labels = [l for l in name.split(".") if l]
    wire = b"".join(bytes([len(l)]) + l.encode() for l in labels) + b"\0"
    opt = b"\0" + struct.pack(">HHIH", 41, 1232, 0x8000 if dnssec else 0, 0)
    return header + wire + struct.pack(">HH", qtype, 1) + opt

def ask_all(message, tcp):
    if tcp:
        conn = socket.create_connection(("127.0.0.1", port), timeout=5)
        for _ in range(repeat):
            conn.sendall(struct.pack(">H", len(message)) + message)
            size = struct.unpack(">H", conn.recv(2, socket.MSG_WAITALL))[0]
            conn.recv(size, socket.MSG_WAITALL)
        conn.close()
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(5)
        for _ in range(repeat):
            sock.sendto(message, ("127.0.0.1", port))
            sock.recv(65535)

zone = "skydns.local"
rep = lambda label, n: ".".join([label] * n)
names = [
    f"{rep('z', 119)}.*.{zone}", f"{rep('rails', 39)}.*.{zone}", f"{rep('*', 120)}.{zone}",
    f"{rep('any', 60)}.{zone}", f"x.{rep('*', 119)}.{zone}", f"{rep('a', 120)}.{zone}",
    f"rails.*.*.{zone}", f"rails.any.any.{zone}", f"*.*.{zone}", f"*.{zone}", zone,
    f"nothere.rails.*.*.{zone}", rep("a", 127),
]
types = {"A": 1, "SRV": 33, "ANY": 255, "SOA": 6}
results = []
for name in names:
    for tname, qtype in types.items():
        for dnssec in (False, True):
            for tcp in (False, True):
                message = query(name, qtype, dnssec, 4242)
                before = cpu_ns()
                ask_all(message, tcp)
                per_query = (cpu_ns() - before) / repeat / 1000
                shown = name if len(name) < 40 else name[:18] + "…" + name[-18:]
                results.append((per_query, shown, tname, "DO" if dnssec else "  ", "tcp" if tcp else "udp"))
results.sort(reverse=True)
label = "answer table off (every query a miss)" if cache == "0" else f"answer table {cache or 'of the default size'}"
print(f"\n{label}: CPU per query, the ten dearest of {len(results)} kinds, {repeat} each")
for r in results[:10]:
    print("  %8.1f µs  %-40s %-4s %s %s" % r)
print(f"  largest: {results[0][0]:.1f} µs per query")
EOF
  stop_skydns
}

echo "skydns $(git rev-parse --short HEAD), $(date -u +%F), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
run 0
run ""
