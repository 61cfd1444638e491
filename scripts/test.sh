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

# A run from a clean checkout gains nothing from incremental compilation, which would double
# the build's size on disk; each stage prints the free space, as a failed run's log needs it.
export CARGO_INCREMENTAL=0
disk() { echo "test.sh: $1: $(df -h --output=avail . | tail -n 1 | tr -d ' ') free on disk"; }
disk "start"

cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
disk "after cargo test"
# Coverage-guided fuzzing, 60 s over all targets (skipped, after the stable corpus replay, when
# there is no nightly toolchain); see fuzz/README.md.
bash scripts/fuzz.sh 60
disk "after fuzzing"
# The fuzz build (about 1 GiB) is only a cache: on a machine short of space it makes room for
# the two release builds the container tests make.
if (( $(df --output=avail -k . | tail -n 1) < 6 * 1024 * 1024 )); then
  rm -rf fuzz/target
  disk "fuzz/target removed"
fi
bash tests/packaging/readme-on-clean-bookworm.sh
disk "after the clean-machine test"
bash tests/packaging/deb-in-nspawn.sh
