#!/usr/bin/env bash
# Cluster tests against a real Kafka broker and redis-server (tests/infra):
#   gateway-cluster.test.mjs  ws-gateway nodes checked with Kafka's console tools (no ws-api)
#   api-*.test.mjs            ws-api + two gateways driven through the gRPC API from Node
#                             (api-routing, api-failover, api-conformance with the example component)
#   WSGW_GATEWAY_BIN=/path/to/ws-gateway (default build/gateway/app/ws-gateway)
#   WSGW_API_BIN=/path/to/ws-api         (default build/api/app/ws-api)
#   ./run.sh [test files...]             (default: all of them); logs in tests/cluster/.logs/
set -euo pipefail
cd "$(dirname "$0")"
for dir in ../interop . ../../api/example-component; do
  [ -d "$dir/node_modules" ] || (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
done
[ $# -gt 0 ] || set -- ./*.test.mjs
exec node --test --test-concurrency=1 --test-timeout=180000 "$@"
