#!/usr/bin/env bash
# Runs the interop suite with Node's built-in test runner.
#   WSGW_TARGET=reference (default)  socket.io 4.8 reference server (lib/reference-server.mjs)
#   WSGW_TARGET=gateway              the ws-gateway binary: WSGW_GATEWAY_BIN=/path/to/ws-gateway
#                                    (default: <repo>/build/gateway/app/ws-gateway if it exists)
# Arguments, if any, replace the default "test/" (e.g. ./run.sh test/09-jwt.test.mjs).
# Server logs: tests/interop/.logs/<suite>.<target>.log
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null; then
  echo "run.sh: node (>= 20) is required" >&2
  exit 2
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  echo "run.sh: node >= 20 is required, found $(node --version)" >&2
  exit 2
fi

# Install exactly what package-lock.json pins, when missing or out of date.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

export WSGW_TARGET="${WSGW_TARGET:-reference}"
if [ "$WSGW_TARGET" = gateway ] && [ -z "${WSGW_GATEWAY_BIN:-}" ]; then
  default_bin="$(cd ../.. && pwd)/build/gateway/app/ws-gateway"
  if [ -x "$default_bin" ]; then
    export WSGW_GATEWAY_BIN="$default_bin"
  else
    echo "run.sh: WSGW_TARGET=gateway needs WSGW_GATEWAY_BIN=/path/to/ws-gateway" >&2
    exit 2
  fi
fi
echo "interop: target=$WSGW_TARGET${WSGW_GATEWAY_BIN:+ bin=$WSGW_GATEWAY_BIN}"

if [ "$#" -eq 0 ]; then set -- test/; fi
exec node --test --test-concurrency=1 --test-timeout="${WSGW_TEST_TIMEOUT_MS:-60000}" \
  --test-reporter="${WSGW_TEST_REPORTER:-spec}" "$@"
