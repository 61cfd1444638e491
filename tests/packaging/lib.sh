# Shared by the container tests in this directory (sourced, not run): PASS/FAIL checks, polling,
# and cached Debian images made with debootstrap.
#
# The sourcing script sets `work` (a scratch directory) before calling these.

passed=0
failed=0

# check NAME COMMAND...: runs COMMAND, prints PASS or FAIL (with the end of its output).
check() {
  local name="$1"
  shift
  if "$@" >"$work/check.log" 2>&1; then
    echo "PASS: $name"
    passed=$((passed + 1))
  else
    echo "FAIL: $name"
    tail -n 25 "$work/check.log" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
}

# wait_for SECONDS COMMAND...: polls COMMAND every half second until it succeeds.
wait_for() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# finish TITLE: prints the tally and exits non-zero when any check failed.
finish() {
  echo "$1: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

# The first `URIs:` or `deb` line for Debian in the host's apt sources.
debian_mirror() {
  if [ -n "${SKYDNS_TEST_MIRROR:-}" ]; then echo "$SKYDNS_TEST_MIRROR"; return; fi
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '/^URIs:/ {print $2} /^deb / {print ($2 ~ /^\[/ ? $3 : $2)}' |
    grep -E '/debian/?$' | head -n 1
}

# build_image DIR SUITE PACKAGES [CUSTOMIZE]: debootstraps SUITE (minbase plus the comma
# separated PACKAGES) into DIR unless it exists, running CUSTOMIZE with the new root as its
# argument before the image is moved into place. Other images of the same name stem (older
# recipes) are removed.
build_image() {
  local image="$1" suite="$2" packages="$3" customize="${4:-}"
  [ -d "$image" ] && return 0
  mkdir -p "$(dirname "$image")" || return 1
  local tmp="$image.tmp.$$" mirror stem
  mirror="$(debian_mirror)"
  [ -n "$mirror" ] || { echo "no Debian mirror in the apt sources (set SKYDNS_TEST_MIRROR)"; return 1; }
  debootstrap --variant=minbase --include="$packages" "$suite" "$tmp" "$mirror" ||
    { rm -rf "$tmp"; return 1; }
  if [ -n "$customize" ]; then "$customize" "$tmp" || { rm -rf "$tmp"; return 1; }; fi
  rm -rf "$tmp/var/cache/apt/archives/"*.deb "$tmp/var/lib/apt/lists/"*
  mv "$tmp" "$image" || return 1
  stem="$(basename "$image")"
  stem="${stem%-*}"
  find "$(dirname "$image")" -mindepth 1 -maxdepth 1 -name "$stem-*" ! -name "$(basename "$image")" \
    ! -name '*.tmp.*' -exec rm -rf {} +
}

# Flags every systemd-nspawn run here needs: without systemd on the host there is no bus to
# ask for a scope, so the container stays in our own cgroup.
nspawn_common_flags() {
  echo --register=no
  [ "$(ps -p 1 -o comm=)" = systemd ] || echo --keep-unit
}
