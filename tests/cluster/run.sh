#!/usr/bin/env bash
# Cluster tests: ws-gateway nodes against a real Kafka broker and redis-server (tests/infra).
#   WSGW_GATEWAY_BIN=/path/to/ws-gateway (default build/gateway/app/ws-gateway)
set -euo pipefail
cd "$(dirname "$0")"
[ -d ../interop/node_modules ] || (cd ../interop && npm ci --no-audit --no-fund)
exec node --test --test-concurrency=1 --test-timeout=120000 ./*.test.mjs
