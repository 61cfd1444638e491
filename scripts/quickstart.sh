#!/usr/bin/env bash
# Builds skydns and starts it on the embedded file store with the example services of the
# product description, on 127.0.0.1:5354 (UDP and TCP). Forwarding is off (no_rec in the example
# config), so nothing leaves the machine. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh build bind9-dnsutils
cargo build --release
echo "skydns on 127.0.0.1:5354; try: dig @127.0.0.1 -p 5354 east.skydns.local SRV"
exec ./target/release/skydns --file examples/services.json --addr 127.0.0.1:5354 \
  --local public.addresses.skydns.local --log stderr
