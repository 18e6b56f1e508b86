#!/usr/bin/env bash
# Starts wsgw locally on this machine: installs what is missing, builds, and runs ws-gateway on
# a plain and a TLS listener (self-signed certificate generated on first run).
# Ctrl-C stops everything. Today this is the gateway alone, in conformance mode (it echoes
# `message` as `message-back` and acks `message-with-ack`), so a stock socket.io-client can talk
# to it; ws-api, Redis and Kafka join this script with the cluster work.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
PORT=${PORT:-3000}
TLS_PORT=${TLS_PORT:-3443}
state=${WSGW_STATE_DIR:-$root/.cache/local}
mkdir -p "$state"

deploy/setup-debian.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target ws-gateway

if [ ! -f "$state/tls.crt" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$state/tls.key" -out "$state/tls.crt" 2>/dev/null
fi

build/gateway/app/ws-gateway --listen "127.0.0.1:$PORT" --tls-listen "127.0.0.1:$TLS_PORT" \
  --tls-cert "$state/tls.crt" --tls-key "$state/tls.key" --conformance &
gw=$!
trap 'kill -TERM $gw 2>/dev/null; wait $gw 2>/dev/null' EXIT INT TERM
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
cat <<EOT

wsgw is running (Ctrl-C to stop)
  Socket.IO (ws/polling):  http://127.0.0.1:$PORT/socket.io/
  Socket.IO over TLS:      https://127.0.0.1:$TLS_PORT/socket.io/   (self-signed: $state/tls.crt)
  metrics / health:        http://127.0.0.1:$PORT/metrics  /healthz  /readyz
  broadcast to everyone:   curl -X POST 'http://127.0.0.1:$PORT/admin/broadcast?event=news' -d '[{"hello":"world"}]'
EOT
wait $gw
