#!/usr/bin/env bash
# Loads many keys made by BIND's dnssec-keygen (a benchmark-style check, not a CI test): about
# one ECDSA key in 256 has a private scalar shorter than the curve size, so 1000 keys meet a few
# of them. Each key is checked with `skydns check-config --dnssec`; prints how many loaded and
# how many had a short private key, and exits 1 if any key was refused.
#
#   scripts/keygen-loop.sh [COUNT] [ALGORITHM]     defaults: 1000 ECDSAP256SHA256
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${1:-1000}"
ALGORITHM="${2:-ECDSAP256SHA256}"

bash scripts/deps.sh build bind9-utils
cargo build --release --quiet --bin skydns

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo '{}' >"$work/store.json"
full_len=$([ "$ALGORITHM" = ECDSAP384SHA384 ] && echo 48 || echo 32)
loaded=0 refused=0 short=0
for _ in $(seq "$COUNT"); do
  key="$(dnssec-keygen -q -K "$work" -a "$ALGORITHM" -n ZONE skydns.local)"
  len="$(sed -n 's/^PrivateKey: //p' "$work/$key.private" | base64 -d | wc -c)"
  [ "$len" -lt "$full_len" ] && [ "$len" -gt 0 ] && short=$((short + 1))
  if ./target/release/skydns --file "$work/store.json" --no-rec --dnssec "$work/$key" \
    check-config >/dev/null 2>"$work/err"; then
    loaded=$((loaded + 1))
  else
    refused=$((refused + 1))
    echo "refused $key (private key of $len bytes): $(cat "$work/err")"
  fi
  rm -f "$work/$key".*
done
echo "$ALGORITHM: $loaded of $COUNT keys loaded, $refused refused, $short with a short private key"
[ "$refused" -eq 0 ]
