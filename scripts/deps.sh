#!/usr/bin/env bash
# Installs the Debian packages named as arguments when any is missing (apt-get update first, since
# a fresh machine has no package lists). The word `build` stands for what building skydns needs:
#   build-essential   gcc, the linker and libc headers (ring compiles C)
#   protobuf-compiler protoc, which etcd-client's build script runs on etcd's .proto files
#   libprotobuf-dev   the well-known types those files import (google/protobuf/*.proto)
# Run by the other scripts; exits 1 when no Rust toolchain is on PATH.
set -euo pipefail

BUILD_PACKAGES=(build-essential protobuf-compiler libprotobuf-dev)

wanted=()
for arg in "$@"; do
  if [ "$arg" = build ]; then wanted+=("${BUILD_PACKAGES[@]}"); else wanted+=("$arg"); fi
done
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo is missing: install a Rust toolchain (1.88 or newer) first" >&2
  exit 1
fi
