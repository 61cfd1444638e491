# Sourced by the benchmarks that run one release skydns on the file store: a work directory
# that skydns can read after dropping root, and `$pid` (the skydns being measured, if any)
# stopped and the directory removed on exit. `stop_skydns` ends the current one.
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
