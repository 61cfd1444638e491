# Sourced by the benchmarks that run one release skydns on the file store: a work directory
# that skydns can read after dropping root, and `$pid` (the skydns being measured, if any)
# stopped and the directory removed on exit. `stop_skydns` ends the current one;
# `wait_for_skydns PORT` waits until it answers.
work="$(mktemp -d)"
chmod 755 "$work"
pid=""
stop_skydns() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  pid=""
}
cleanup() {
  stop_skydns
  rm -rf "$work"
}
trap cleanup EXIT

# Waits until skydns answers the SOA of skydns.local on 127.0.0.1:PORT (at most 5 minutes:
# under valgrind a large store loads slowly).
wait_for_skydns() {
  for _ in $(seq 1500); do
    dig @127.0.0.1 -p "$1" +tries=1 +time=1 skydns.local SOA 2>/dev/null |
      grep -q "status: NOERROR" && return 0
    sleep 0.2
  done
  echo "skydns did not answer on 127.0.0.1:$1 within 5 minutes" >&2
  return 1
}
