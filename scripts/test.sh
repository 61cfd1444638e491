#!/usr/bin/env bash
# Runs every test: formatting, lints, unit tests, the golden battery and the integration tests
# against the real binary (with real etcd, dig, unbound ... installed here when missing).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build                          # what the build needs (see scripts/deps.sh)
  bind9-dnsutils                 # dig
  etcd-server etcd-client        # a real etcd for the store tests
  unbound                        # upstream servers (forwarding), a validating resolver (DNSSEC)
  bind9-utils ldnsutils          # DNSSEC tests: dnssec-keygen, drill
  systemd                        # systemd-socket-activate for the socket activation test
  openssl                        # test CA and certificates for etcd TLS
  knot                           # the reference server of the differential test (knotd)
  debhelper dpkg-dev lintian scdoc man-db rpm git  # packaging: .deb, .rpm, man page
  procps                         # ps, in the packaging test
  systemd-container debootstrap  # a bookworm container: the .deb installed, the README on a clean machine
)
bash scripts/deps.sh "${PACKAGES[@]}"
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy rustfmt
fi

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
# Coverage-guided fuzzing, 60 s over all targets (skipped, after the stable corpus replay, when
# there is no nightly toolchain); see fuzz/README.md.
bash scripts/fuzz.sh 60
bash tests/packaging/readme-on-clean-bookworm.sh
bash tests/packaging/deb-in-nspawn.sh
