#!/usr/bin/env bash
# The local demo (deploy/run-local.sh + deploy/local/demo) in a real headless Chromium
# (Debian's /usr/bin/chromium, driven by the pinned playwright-core): presence, cursors,
# comments, a push through ws-api's gRPC Emit, and the fail-over of a page whose gateway is
# SIGKILLed. Needs a built tree (build/, or WSGW_BUILD_DIR): ws-gateway, ws-api, wsgw-dev-kafka.
#   WSGW_CHROMIUM=/path/to/chromium (default /usr/bin/chromium)
#   WSGW_DEMO_ARTIFACTS=DIR        screenshots (default tests/demo/artifacts/)
# Logs of the stack: tests/demo/.logs/state/.
set -euo pipefail
cd "$(dirname "$0")"
for dir in . ../../deploy/local/demo ../../api/example-component; do
  [ -d "$dir/node_modules" ] || (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
done
exec node --test --test-concurrency=1 --test-timeout=150000 "${@:-demo.test.mjs}"
