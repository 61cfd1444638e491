#!/usr/bin/env bash
# Builds the skydns RPM from this tree: makes skydns-<version>.tar.gz of the files git knows
# (committed or not), then runs `rpmbuild -bb rpm/skydns.spec` in a temporary topdir.
#   bash rpm/build.sh [OUTDIR]      (default OUTDIR: target/rpm)
# cargo reuses this tree's target/ (or $CARGO_TARGET_DIR), so after `cargo build --release`
# only skydns itself is recompiled; SKYDNS_PREBUILT=target/release/skydns packages that binary
# (and the skydnsctl beside it) instead of compiling. Works with Fedora's rpmbuild and with
# Debian's rpm.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$(mkdir -p "${1:-$repo/target/rpm}" && cd "${1:-$repo/target/rpm}" && pwd)"
version="$(sed -n 's/^Version: *//p' "$repo/rpm/skydns.spec")"
top="$(mktemp -d)"
trap 'rm -rf "$top"' EXIT
mkdir -p "$top"/{SOURCES,BUILD,RPMS,SRPMS,SPECS}

(cd "$repo" && git ls-files --cached --others --exclude-standard -z |
  tar --null -T - --transform "s|^|skydns-$version/|" -czf "$top/SOURCES/skydns-$version.tar.gz")
cp "$repo/packaging/skydns.sysusers" "$top/SOURCES/"

# Debian's rpm has an empty package database: the BuildRequires are Debian packages there.
nodeps=()
rpm -q rpm >/dev/null 2>&1 || nodeps=(--nodeps)
prebuilt=()
[ -z "${SKYDNS_PREBUILT:-}" ] || prebuilt=(
  --define "skydns_prebuilt $(realpath "$SKYDNS_PREBUILT")"
  --define "skydnsctl_prebuilt $(realpath "$(dirname "$SKYDNS_PREBUILT")/skydnsctl")")

# The binary is built outside rpmbuild's BUILD tree (in target/), so no debuginfo package.
rpmbuild -bb "${nodeps[@]}" "${prebuilt[@]}" \
  --define "_topdir $top" \
  --define "cargo_target_dir ${CARGO_TARGET_DIR:-$repo/target}" \
  --define "debug_package %{nil}" \
  "$repo/rpm/skydns.spec"
find "$top/RPMS" -name '*.rpm' -exec cp {} "$out/" \;
ls "$out"/*.rpm
