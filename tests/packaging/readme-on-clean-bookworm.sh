#!/usr/bin/env bash
# The README's quick start on a clean Debian 12, as a new user meets it: a minimal bookworm
# (debootstrap --variant=minbase plus gcc, nothing else) gets this host's Rust toolchain
# bound in read-only and a copy of this checkout, and runs exactly `bash scripts/quickstart.sh`
# there. The check passes when dig, inside the container, gets the SRV records of
# east.skydns.local from the skydns that command built and started; it fails when anything
# the script did not install was needed. A second check compares what apt installed with the
# build dependencies the README names.
#
# The container shares the host's network (the package registries must be reachable; the
# quick start itself forwards nothing: its example config has no_rec). The host's CA bundle
# is bound in and named by SSL_CERT_FILE and CARGO_HTTP_CAINFO, as a machine with
# ca-certificates would have it. The image is cached under $SKYDNS_TEST_CACHE (default
# /var/cache/skydns-test); each run uses a throw-away overlay. Needs root.
set -uo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${SKYDNS_TEST_CACHE:-/var/cache/skydns-test}"
work="$(mktemp -d /var/tmp/skydns-clean.XXXXXX)"
suite=bookworm
image_packages="gcc"
quickstart_port=5354
# shellcheck source=tests/packaging/lib.sh
source "$repo/tests/packaging/lib.sh"
trap 'rm -rf "$work"' EXIT

image_key="$(printf '%s\n' "$suite" "$image_packages" "clean-v1" | sha256sum | cut -c1-16)"
image="$cache/clean-$suite-$image_key"
check "clean bookworm image: minbase and gcc ($image)" build_image "$image" "$suite" "$image_packages"
[ -d "$image" ] || finish "clean machine"

# The toolchain as this host has it: rustup's home and its proxies, or a plain sysroot.
toolchain_flags=()
if command -v rustup >/dev/null 2>&1; then
  toolchain_flags+=(--bind-ro="$(rustup show home):/opt/rustup" --setenv=RUSTUP_HOME=/opt/rustup
    --setenv=RUSTUP_TOOLCHAIN="$(rustup show active-toolchain | cut -d' ' -f1)"
    --bind-ro="$(dirname "$(command -v cargo)"):/opt/rust-bin")
else
  toolchain_flags+=(--bind-ro="$(dirname "$(dirname "$(command -v cargo)")"):/opt/rust"
    --bind-ro="$(dirname "$(command -v cargo)"):/opt/rust-bin")
fi
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca_bundle" ] || ca_bundle="${SSL_CERT_FILE:-}"

# A copy of the checkout as git knows it (tracked and new files; no target/).
mkdir -p "$work/src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
  xargs -0 -I{} sh -c 'test -e "$1" && printf "%s\0" "$1"' _ {} |
  tar --null -T - -cf -) | tar -xf - -C "$work/src"

cat >"$work/inside.sh" <<EOF
#!/bin/bash
# Runs in the container: the quick start in the background, dig until it answers.
cd /src
apt-mark showmanual | sort >/out/manual-before
bash scripts/quickstart.sh >/out/quickstart.log 2>&1 &
quickstart=\$!
deadline=\$((SECONDS + 2400))
status=1
while [ \$SECONDS -lt \$deadline ]; do
  if ! kill -0 \$quickstart 2>/dev/null; then echo "scripts/quickstart.sh exited"; break; fi
  if command -v dig >/dev/null &&
    dig @127.0.0.1 -p $quickstart_port +tries=1 +time=1 east.skydns.local SRV >/out/dig.txt 2>&1 &&
    grep -q 'status: NOERROR' /out/dig.txt && grep -qE '\sSRV\s' /out/dig.txt; then
    status=0
    break
  fi
  sleep 2
done
kill \$quickstart 2>/dev/null # quickstart.sh execs skydns: this stops it
wait
apt-mark showmanual | sort >/out/manual-after
exit \$status
EOF
mkdir -p "$work/out"

port_free() {
  ! ss -Hlnu "sport = :$quickstart_port" | grep -q . ||
    { echo "port $quickstart_port is taken on this host: the quick start cannot listen"; return 1; }
}

quickstart_answers() {
  port_free || return 1
  local flags
  mapfile -t flags < <(nspawn_common_flags)
  timeout 2700 systemd-nspawn "${flags[@]}" -q --volatile=overlay --resolv-conf=copy-host \
    --machine="skydns-clean-$$" -D "$image" \
    --bind="$work/src:/src" --bind="$work/out:/out" --bind-ro="$work/inside.sh:/inside.sh" \
    --bind-ro="$ca_bundle:/etc/ssl/host-ca.crt" \
    --setenv=SSL_CERT_FILE=/etc/ssl/host-ca.crt --setenv=CARGO_HTTP_CAINFO=/etc/ssl/host-ca.crt \
    --setenv=PATH=/opt/rust-bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --setenv=CARGO_HOME=/root/.cargo --setenv=HOME=/root \
    "${toolchain_flags[@]}" /bin/bash /inside.sh
  local rc=$?
  cat "$work/out/dig.txt" 2>/dev/null
  if [ $rc -ne 0 ]; then
    echo "--- end of scripts/quickstart.sh's output:"
    tail -n 40 "$work/out/quickstart.log" 2>/dev/null
  fi
  return $rc
}
check "on a clean bookworm, bash scripts/quickstart.sh builds and answers east.skydns.local SRV" \
  quickstart_answers

# Every package the quick start installed is named in the README.
readme_lists_them() {
  local installed pkg missing=0
  installed="$(comm -13 "$work/out/manual-before" "$work/out/manual-after")"
  [ -n "$installed" ] || { echo "the quick start installed nothing: was the image clean?"; return 1; }
  echo "installed by the quick start: $(echo $installed)"
  for pkg in $installed; do
    grep -q "\`$pkg\`" "$repo/README.md" || { echo "README does not name \`$pkg\`"; missing=1; }
  done
  return $missing
}
check "the README names every package the quick start installed" readme_lists_them

finish "clean machine"
