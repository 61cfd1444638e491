#!/usr/bin/env bash
# The packages, tested as an operator uses them: builds the .deb and the .rpm from this tree,
# checks their contents and the units on the host, then boots Debian bookworm with a real
# systemd as PID 1 (systemd-nspawn, private network: port 53 stays inside) and there installs
# the .deb, enables skydns.socket, registers a service in etcd, asks dig over UDP and TCP,
# probes /ready and /metrics with curl, registers services with skydnsctl (one for as long as
# a unit runs), reloads, restarts under a stream of queries, and removes and purges the
# package.
#
# The bookworm root (debootstrap --variant=minbase with systemd, etcd, dig and curl) is cached under
# $SKYDNS_TEST_CACHE (default /var/cache/skydns-test), keyed by a hash of its recipe; each run
# boots it under a throw-away overlay (--volatile=overlay), so the image stays as built.
# Needs root. Prints one PASS/FAIL line per check and exits non-zero when any check fails.
set -uo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${SKYDNS_TEST_CACHE:-/var/cache/skydns-test}"
work="$(mktemp -d /var/tmp/skydns-packaging.XXXXXX)"
suite=bookworm
image_packages="systemd,systemd-sysv,dbus,procps,etcd-server,etcd-client,bind9-dnsutils,iproute2,curl"
nspawn_pid=""
# shellcheck source=tests/packaging/lib.sh
source "$repo/tests/packaging/lib.sh"

cleanup() {
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill "$nspawn_pid" 2>/dev/null # SIGTERM: nspawn powers the container off
    for _ in $(seq 1 30); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$nspawn_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------- host: units and config --

exposure_at_most_2() {
  systemd-analyze security --offline=true --threshold=20 --no-pager \
    "$repo/systemd/skydns.service" | tail -n 1
}
check "systemd-analyze security --offline: exposure of skydns.service <= 2.0" exposure_at_most_2

cd "$repo" || exit 1
# dpkg-buildpackage compiles with Debian's build flags and SOURCE_DATE_EPOCH (ring's build
# script reads both): use them for every build here, so the release build is done once and
# reused by the .deb and the .rpm.
eval "$(dpkg-buildflags --export=sh)"
SOURCE_DATE_EPOCH="$(dpkg-parsechangelog -STimestamp)"
export SOURCE_DATE_EPOCH
check "cargo build --release --locked" cargo build --release --locked --quiet
# Every key of the shipped config is known (strict TOML); an empty file store stands in for
# etcd here (inside the container the check runs against etcd).
echo '{}' >"$work/empty-store.json"
check "the default skydns.toml passes skydns check-config (keys and values)" \
  target/release/skydns --config packaging/skydns.toml --file "$work/empty-store.json" check-config

man_clean() { # man_clean PAGE WORD: builds packaging/PAGE.scd; renders without warnings, shows WORD
  scdoc <"packaging/$1.scd" >"$work/$1" || return 1
  local warnings
  warnings="$(LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$work/$1" 2>&1 >/dev/null)"
  [ -z "$warnings" ] || { echo "$warnings"; return 1; }
  LC_ALL=C.UTF-8 man -l "$work/$1" | grep "$2" >/dev/null
}
check "man page skydns(8) builds from packaging/skydns.8.scd and renders without warnings" \
  man_clean skydns.8 SIGHUP
check "man page skydnsctl(1) builds from packaging/skydnsctl.1.scd and renders without warnings" \
  man_clean skydnsctl.1 "service put"

# ---------------------------------------------------------------------------- the .deb --

version="$(sed -n '1s/^skydns (\(.*\)).*/\1/p' debian/changelog)"
arch="$(dpkg --print-architecture)"
deb="$work/skydns_${version}_${arch}.deb"

build_deb() {
  # The release build above makes cargo's step here instant.
  DEB_BUILD_OPTIONS="nocheck noddebs" dpkg-buildpackage -us -uc -b || return 1
  local f
  for f in ../skydns_"${version}"_"${arch}".{deb,buildinfo,changes}; do
    mv "$f" "$work/" || return 1
  done
  debian/rules clean >/dev/null && [ -f "$deb" ]
}
check "dpkg-buildpackage -us -uc -b builds skydns_${version}_${arch}.deb" build_deb
[ -f "$deb" ] || finish packaging

deb_contents() {
  local listing f
  listing="$(dpkg-deb -c "$deb" | awk '{print $6}')"
  for f in ./usr/sbin/skydns ./lib/systemd/system/skydns.service ./lib/systemd/system/skydns.socket \
    ./usr/lib/sysusers.d/skydns.conf ./usr/lib/tmpfiles.d/skydns.conf \
    ./etc/skydns/skydns.toml ./etc/default/skydns ./usr/share/man/man8/skydns.8.gz \
    ./usr/bin/skydnsctl ./usr/share/man/man1/skydnsctl.1.gz \
    ./usr/share/bash-completion/completions/skydnsctl ./usr/share/zsh/vendor-completions/_skydnsctl; do
    grep -qx "$f" <<<"$listing" || { echo "missing from the .deb: $f"; return 1; }
  done
  dpkg-deb -f "$deb" Recommends | grep etcd-server >/dev/null || { echo "no Recommends: etcd-server"; return 1; }
  dpkg-deb -e "$deb" "$work/DEBIAN" &&
    grep -qx /etc/skydns/skydns.toml "$work/DEBIAN/conffiles" &&
    grep -qx /etc/default/skydns "$work/DEBIAN/conffiles"
}
check ".deb holds binaries, units, sysusers, tmpfiles, conffiles, man pages, completions; Recommends etcd-server" deb_contents
# A first upload closes no ITP bug: the one tag that cannot apply to this tree.
check "lintian: no error or warning" lintian --fail-on error,warning \
  --suppress-tags initial-upload-closes-no-bugs "$work/skydns_${version}_${arch}.changes"

# ---------------------------------------------------------------------------- the .rpm --

build_rpm() {
  SKYDNS_PREBUILT=target/release/skydns bash rpm/build.sh "$work/rpm" || return 1
  local rpmfile listing f
  rpmfile="$(ls "$work"/rpm/skydns-*.rpm)" || return 1
  listing="$(rpm -qlp "$rpmfile")"
  echo "$listing"
  for f in /usr/sbin/skydns /usr/lib/systemd/system/skydns.service /usr/lib/systemd/system/skydns.socket \
    /usr/lib/sysusers.d/skydns.conf /usr/lib/tmpfiles.d/skydns.conf /etc/skydns/skydns.toml \
    /etc/sysconfig/skydns /usr/share/man/man8/skydns.8 /usr/bin/skydnsctl /usr/share/man/man1/skydnsctl.1 \
    /usr/share/bash-completion/completions/skydnsctl /usr/share/zsh/site-functions/_skydnsctl; do
    grep -q "^$f" <<<"$listing" || { echo "missing from the .rpm: $f"; return 1; }
  done
  local scripts
  scripts="$(rpm -qp --scripts "$rpmfile")"
  grep -qx /etc/skydns/skydns.toml <<<"$(rpm -qp --configfiles "$rpmfile")" &&
    grep -q 'sysusers' <<<"$scripts" && grep -q 'try-restart skydns.service' <<<"$scripts"
}
check "rpm/build.sh builds the .rpm; rpm -qlp lists binaries, units, sysusers, tmpfiles, config, man pages, completions" build_rpm

# -------------------------------------------------------- the bookworm image (cached) --

image_key="$(printf '%s\n' "$suite" "$image_packages" "hosts+resolv+etcd-v1" | sha256sum | cut -c1-16)"
image="$cache/$suite-$image_key"

# The booted container has no network: name lookups must not leave it. skydns is its
# resolver, as the README suggests for a host.
customize_image() {
  local root="$1"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  rm -f "$root/etc/resolv.conf"
  echo "nameserver 127.0.0.1" >"$root/etc/resolv.conf"
  echo skydns-test >"$root/etc/hostname"
  cat >>"$root/etc/default/etcd" <<'EOT'
ETCD_LISTEN_CLIENT_URLS="http://127.0.0.1:2379"
ETCD_ADVERTISE_CLIENT_URLS="http://127.0.0.1:2379"
EOT
}
check "bookworm image with systemd, etcd, dig and curl ($image)" \
  build_image "$image" "$suite" "$image_packages" customize_image
[ -d "$image" ] || finish packaging

# ------------------------------------------------------------------ boot the container --

mapfile -t nspawn_flags < <(nspawn_common_flags)
nspawn_flags+=(--boot --volatile=overlay --private-network --resolv-conf=off
  --console=passive --machine="skydns-test-$$" --bind-ro="$work:/srv/pkg" -D "$image")
systemd-nspawn "${nspawn_flags[@]}" >"$work/nspawn.log" 2>&1 &
nspawn_pid=$!

# The container's PID 1: the descendant of nspawn that runs systemd in another PID namespace.
container_init() {
  local pid child
  local -a queue=("$nspawn_pid")
  while [ ${#queue[@]} -gt 0 ]; do
    pid="${queue[0]}"
    queue=("${queue[@]:1}")
    if [ "$pid" != "$nspawn_pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd ] &&
      [ "$(readlink "/proc/$pid/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]; then
      echo "$pid"
      return 0
    fi
    for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do queue+=("$child"); done
  done
  return 1
}
leader=""
find_leader() { leader="$(container_init)"; }
system_running() { [ "$(in_ct systemctl is-system-running --wait 2>/dev/null)" = running ]; }
booted() {
  wait_for 30 find_leader || { cat "$work/nspawn.log"; return 1; }
  wait_for 120 system_running || { in_ct systemctl --failed --no-pager; return 1; }
}
# in_ct COMMAND...: runs COMMAND inside the container, in all its namespaces.
in_ct() {
  nsenter -t "$leader" -a -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"
}
check "bookworm boots with systemd as PID 1 (systemctl is-system-running: running)" booted
[ -n "$leader" ] || finish packaging

sh_ct() { in_ct sh -c "$1"; }
dig_ct() { in_ct dig +tries=1 +timeout=3 "$@"; }

install_deb() {
  in_ct dpkg -i "/srv/pkg/$(basename "$deb")" 2>&1 | tee "$work/dpkg-i.log"
  [ "${PIPESTATUS[0]}" = 0 ] && ! grep -q 'configuration has a problem' "$work/dpkg-i.log"
}
check "dpkg -i skydns_${version}_${arch}.deb (postinst check-config: no warning)" install_deb
check "skydns check-config --config /etc/skydns/skydns.toml, against etcd" \
  in_ct skydns --config /etc/skydns/skydns.toml check-config

account_and_modes() {
  grep -q ':/usr/sbin/nologin$' <<<"$(in_ct getent passwd skydns)" &&
    [ "$(in_ct stat -c '%a %U %G' /etc/skydns)" = "750 root skydns" ] &&
    [ "$(in_ct stat -c '%a %U %G' /etc/skydns/skydns.toml)" = "640 root skydns" ]
}
check "postinst created the user skydns; /etc/skydns is 0750 and skydns.toml 0640 root:skydns" account_and_modes

# Installing enables and starts the socket only; the socket starts the service.
socket_not_service() {
  [ "$(in_ct systemctl is-enabled skydns.socket)" = enabled ] &&
    [ "$(in_ct systemctl is-active skydns.socket)" = active ] &&
    [ "$(in_ct systemctl is-active skydns.service)" = inactive ]
}
check "postinst enabled and started skydns.socket, not skydns.service" socket_not_service

check "systemd-analyze verify skydns.socket skydns.service: clean" \
  sh_ct 'out=$(systemd-analyze verify --man=no skydns.socket skydns.service 2>&1); echo "$out"; [ -z "$out" ]'

# Never forward to any resolver from a test: skydns answers only for its own domain here.
sh_ct 'sed -i "s/^SKYDNS_OPTS=.*/SKYDNS_OPTS=\"--no-rec\"/" /etc/default/skydns'

check "systemctl enable --now skydns.socket" \
  sh_ct 'systemctl enable --now skydns.socket && systemctl is-active skydns.socket && systemctl is-enabled skydns.socket'

check "etcd runs in the container (its own unit); a service is registered with etcdctl" \
  sh_ct 'systemctl is-active etcd && etcdctl put /skydns/local/skydns/test/web/1 "{\"host\":\"10.1.2.3\",\"port\":8080}"'

answers() { # answers SERVER DIG-OPTIONS...: the A record of web.test.skydns.local that way
  local server="$1" out
  shift
  out="$(dig_ct "@$server" "$@" web.test.skydns.local A)"
  grep -qE '^web\.test\.skydns\.local\.\s+[0-9]+\s+IN\s+A\s+10\.1\.2\.3$' <<<"$out" && return 0
  grep -E 'status:|timed out|error' <<<"$out" | head -n 1
  return 1
}
# The first query waits in the socket while systemd starts skydns: it must get the answer,
# not a SERVFAIL from a daemon that has not loaded its data yet.
check "the first query, which starts skydns through the socket, is answered (UDP)" \
  answers 127.0.0.1 +notcp +timeout=30
check "dig @127.0.0.1 over UDP answers the service registered in etcd" \
  wait_for 30 answers 127.0.0.1 +notcp
check "dig @127.0.0.1 +tcp answers" answers 127.0.0.1 +tcp
answers_on_ipv6() { answers ::1 +notcp && answers ::1 +tcp; }
check "dig @::1 over UDP and TCP answers" answers_on_ipv6
check "SRV answer carries the registered port" sh_ct \
  'dig +tries=1 +timeout=3 @127.0.0.1 +short web.test.skydns.local SRV | grep -q " 8080 "'

# The metrics listener, as an operator (or a load balancer) probes it: on loopback only.
ready_ok() { [ "$(in_ct curl -fsS --max-time 3 http://127.0.0.1:9153/ready)" = OK ]; }
check "curl -fsS 127.0.0.1:9153/ready answers OK" wait_for 15 ready_ok
metrics_shown() {
  local text
  text="$(in_ct curl -fsS --max-time 3 http://127.0.0.1:9153/metrics)" || return 1
  grep -E '^skydns_dns_requests_total\{proto="udp",family="1",type="A"\} [1-9]' <<<"$text" &&
    grep -E '^skydns_backend_sync_state\{state="synced"\} 1$' <<<"$text"
}
check "curl 127.0.0.1:9153/metrics: the A queries above are counted, the store is synced" \
  metrics_shown
loopback_only() {
  local listening
  listening="$(in_ct ss -Hltn 'sport = :9153' | awk '{print $4}')"
  echo "listening: $listening"
  [ "$listening" = 127.0.0.1:9153 ]
}
check "the metrics listener listens on 127.0.0.1:9153 only" loopback_only

# skydnsctl, as an operator uses it: against the container's etcd, with its defaults.
a_is() { # a_is NAME IP: dig answers NAME's A record with IP
  local out
  out="$(dig_ct @127.0.0.1 +notcp "$1" A)"
  grep -qE "^${1//./\\.}\.\s+[0-9]+\s+IN\s+A\s+${2//./\\.}$" <<<"$out" && return 0
  grep -E 'status:|timed out|error' <<<"$out" | head -n 1
  return 1
}
nxdomain() { dig_ct @127.0.0.1 +notcp "$1" A | grep -q 'status: NXDOMAIN'; }
ctl_put() {
  in_ct skydnsctl service put api.test.skydns.local --host 10.1.2.4 --port 9090 || return 1
  wait_for 10 a_is api.test.skydns.local 10.1.2.4 || return 1
  sh_ct 'dig +tries=1 +timeout=3 @127.0.0.1 +short api.test.skydns.local SRV | grep -q " 9090 "' ||
    { echo "no SRV with port 9090"; return 1; }
  in_ct skydnsctl service ls test.skydns.local | tee /dev/stderr |
    grep -qE '^api\.test\.skydns\.local\.\s+10\.1\.2\.4\s+9090\s'
}
check "skydnsctl service put: dig answers the service (A, SRV); service ls lists it" ctl_put
registered_in_journal() {
  in_ct journalctl -u skydnsctl-lease --no-pager | grep -q 'registered leased.test.skydns.local'
}
ctl_lease() {
  in_ct systemd-run --unit=skydnsctl-lease --collect \
    /usr/bin/skydnsctl service put leased.test.skydns.local --host 10.1.2.5 --lease 5s || return 1
  wait_for 10 a_is leased.test.skydns.local 10.1.2.5 || return 1
  wait_for 10 registered_in_journal || { echo "no 'registered' line in the unit's journal"; return 1; }
  in_ct systemctl stop skydnsctl-lease || return 1
  wait_for 2 nxdomain leased.test.skydns.local || { echo "still answered after the unit stopped"; return 1; }
}
check "skydnsctl service put --lease in a unit: answered while it runs, NXDOMAIN once stopped" ctl_lease
ctl_rm() { in_ct skydnsctl service rm api.test.skydns.local && wait_for 10 nxdomain api.test.skydns.local; }
check "skydnsctl service rm: the service is gone (NXDOMAIN)" ctl_rm

main_pid() { in_ct systemctl show -p MainPID --value skydns.service; }

unprivileged() {
  local pid uid status
  pid="$(main_pid)"
  [ -n "$pid" ] && [ "$pid" != 0 ] || { echo "skydns.service has no main process"; return 1; }
  uid="$(in_ct id -u skydns)"
  status="$(in_ct cat "/proc/$pid/status")"
  echo "$status" | grep -E '^(Uid|Gid|Cap|NoNewPrivs)'
  grep -qE "^Uid:\s+$uid\s+$uid\s+$uid\s+$uid$" <<<"$status" &&
    [ "$(grep -cE '^Cap(Inh|Prm|Eff|Bnd|Amb):\s+0+$' <<<"$status")" = 5 ] &&
    grep -qE '^NoNewPrivs:\s+1$' <<<"$status"
}
check "the daemon runs as skydns with no capability (Uid, CapPrm/Eff/Bnd/Amb = 0)" unprivileged
check "systemd-analyze security skydns.service (as installed): exposure <= 2.0" \
  in_ct systemd-analyze security --threshold=20 --no-pager skydns.service

ttl_is() { [ "$(dig_ct @127.0.0.1 +noall +answer web.test.skydns.local A | awk '{print $2}')" = "$1" ]; }
reload_applies() {
  local before after
  before="$(main_pid)"
  in_ct etcdctl put /skydns/config '{"ttl":123}' >/dev/null || return 1
  in_ct systemctl reload skydns.service || return 1
  wait_for 15 ttl_is 123 || { echo "TTL after reload: not 123"; return 1; }
  after="$(main_pid)"
  [ "$before" = "$after" ] || { echo "reload restarted the daemon ($before -> $after)"; return 1; }
  local status
  status="$(in_ct systemctl status --no-pager -n 30 skydns.service)"
  echo "$status"
  grep -q 'Reloaded' <<<"$status"
}
check "default TTL is 3600 before the reload" ttl_is 3600
check "systemctl reload skydns applies /skydns/config (ttl 123) in the same process; status shows it" \
  reload_applies

no_query_lost() {
  # 60 queries (UDP and TCP alternating) spread over ~1.5 s while the daemon restarts: the
  # kernel queues them on the sockets systemd holds, and the new daemon answers them all.
  sh_ct '
    old=$(systemctl show -p MainPID --value skydns.service)
    mkdir -p /tmp/q && rm -f /tmp/q/*
    for i in $(seq 1 60); do
      if [ $((i % 2)) = 0 ]; then t=+tcp; else t=+notcp; fi
      dig +tries=1 +timeout=20 $t @127.0.0.1 web.test.skydns.local A >/tmp/q/$i 2>&1 &
      sleep 0.025
      [ $i = 5 ] && systemctl restart --no-block skydns.service
    done
    wait
    systemctl is-active skydns.service
    new=$(systemctl show -p MainPID --value skydns.service)
    ok=$(grep -lE "^web\.test\.skydns\.local\.\s+[0-9]+\s+IN\s+A\s+10\.1\.2\.3$" /tmp/q/* | wc -l)
    echo "main PID $old -> $new, answered $ok of 60"
    for f in /tmp/q/*; do
      grep -qE "IN\s+A\s+10\.1\.2\.3$" "$f" ||
        echo "query $(basename "$f"): $(grep -hE "status:|timed out|error" "$f" | head -n 1)"
    done
    [ "$old" != "$new" ] && [ "$ok" = 60 ]'
}
check "systemctl restart skydns under a stream of queries loses none of them" no_query_lost

socket_since() { in_ct systemctl show -p ActiveEnterTimestampMonotonic --value skydns.socket; }
upgrade_keeps_socket() {
  local pid_before socket_before
  pid_before="$(main_pid)"
  socket_before="$(socket_since)"
  in_ct dpkg -i "/srv/pkg/$(basename "$deb")" >/dev/null || return 1
  [ "$(socket_since)" = "$socket_before" ] || { echo "the socket was restarted"; return 1; }
  wait_for 30 answers 127.0.0.1 +notcp || return 1
  [ "$(main_pid)" != "$pid_before" ] || { echo "the daemon was not restarted"; return 1; }
}
check "reinstalling (the upgrade path) restarts the daemon and keeps the socket listening" \
  upgrade_keeps_socket

removed() {
  in_ct dpkg -r skydns || return 1
  sh_ct '! ls /lib/systemd/system/skydns.* 2>/dev/null && ! test -e /usr/sbin/skydns && ! test -e /usr/bin/skydnsctl' || return 1
  sh_ct '! ss -Hlnu "sport = :53" | grep -q . && ! ss -Hlnt "sport = :53" | grep -q .' ||
    { echo "port 53 still open after removal"; return 1; }
  ! in_ct pgrep -u skydns >/dev/null
}
check "dpkg -r skydns stops the daemon and the sockets and removes the units" removed

purged() {
  in_ct dpkg -P skydns || return 1
  local leftovers
  leftovers="$(in_ct find /etc /lib/systemd /usr/lib/systemd /usr/lib/sysusers.d /usr/lib/tmpfiles.d \
    /var/lib /usr/sbin /usr/bin /usr/share/man /usr/share/bash-completion /usr/share/zsh \
    -name '*skydns*' 2>/dev/null)"
  [ -z "$leftovers" ] || { echo "left behind: $leftovers"; return 1; }
  ! in_ct getent passwd skydns && ! in_ct getent group skydns &&
    [ -z "$(in_ct systemctl list-unit-files --no-legend 'skydns*')" ]
}
check "dpkg -P skydns leaves no unit, user, group or file behind" purged

finish packaging
