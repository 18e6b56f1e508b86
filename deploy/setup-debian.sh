#!/usr/bin/env bash
# Installs everything wsgw needs to build, test and run on a fresh Debian 12 machine.
# Idempotent: already-installed packages are skipped, npm installs only when the lock changed.
# Usage: deploy/setup-debian.sh            (build + test dependencies)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates openssl
  libboost-dev libssl-dev libspdlog-dev libfmt-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  rapidjson-dev libsimdjson-dev libmsgpack-cxx-dev
  librdkafka-dev libhiredis-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  clang libclang-rt-14-dev
  redis-server python3 valgrind
  prometheus python3-venv curl
  chromium
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js >= 20 with npm: keep one that is already there (e.g. NodeSource's nodejs, which
# bundles npm and conflicts with Debian's npm package); otherwise take Debian's.
if ! command -v node >/dev/null || ! command -v npm >/dev/null ||
   [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 18 ]; then
  missing+=(nodejs npm)
fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages into local folders: real socket.io clients for the interop tests, the Node
# Socket.IO server the benchmarks compare against, gRPC for the example component and the
# cluster tests that drive ws-api from Node, the local demo (deploy/local/demo) and its
# headless-Chromium test (tests/demo: playwright-core drives Debian's chromium).
for dir in tests/interop bench/node api/example-component tests/cluster deploy/local/demo tests/demo; do
  [ -f "$here/$dir/package-lock.json" ] || continue
  stamp="$here/$dir/node_modules/.wsgw-lock-stamp"
  if [ ! -f "$stamp" ] || ! cmp -s "$here/$dir/package-lock.json" "$stamp"; then
    echo "setup: npm ci in $dir"
    (cd "$here/$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$here/$dir/package-lock.json" "$stamp"
  fi
done
echo "setup: ok"
