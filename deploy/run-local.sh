#!/usr/bin/env bash
# Runs the whole wsgw stack on this machine: installs what is missing (deploy/setup-debian.sh),
# builds (build/), and starts
#   redis-server      loopback, in a temporary directory, no persistence (unless REDIS_URL is set)
#   wsgw-dev-kafka    librdkafka's mock cluster in a process of its own: no JVM (unless KAFKA_BROKERS)
#   ws-api            the gRPC API for component services
#   ws-gateway gw-1   plain http/ws on 127.0.0.1:3000
#   ws-gateway gw-2   https/wss on 127.0.0.1:3443 (self-signed certificate, generated once)
#   example component api/example-component: the Socket.IO protocol test suite's behaviours on / and /custom
#   demo component    deploy/local/demo: a shared-document page on http://127.0.0.1:8080/ (namespace /demo)
# then prints the URLs and runs until Ctrl-C or SIGTERM, which stop everything in order
# (components, gateways, ws-api, Kafka, Redis) and check that no process is left.
#
# Usage: deploy/run-local.sh [--no-setup] [--no-build]
# Environment:
#   KAFKA_BROKERS=host:port,...   use that Kafka instead of wsgw-dev-kafka (daemons then create the
#                                 topics; CREATE_TOPICS=false when they exist and cannot be created,
#                                 e.g. a wsgw-dev-kafka started by hand)
#   REDIS_URL=redis://host:port   use that Redis instead of starting redis-server
#   PORT (3000) TLS_PORT (3443) DEMO_PORT (8080) API_PORT (50051) API_METRICS_PORT (9200)
#   REDIS_PORT (default: a free port)   PARTITIONS (16: --downstream-partitions everywhere)
#   DEMO_PUSH_PERIOD (10s)   WSGW_BUILD_DIR (build)   WSGW_STATE_DIR (.cache/local: logs, pids, cert)
#   WSGW_SKIP_SETUP=1 / WSGW_SKIP_BUILD=1 (same as the flags)   WSGW_LOG_LEVEL (info)
# Logs: $WSGW_STATE_DIR/<name>.log; pids: $WSGW_STATE_DIR/<name>.pid. Each daemon runs in a
# process group of its own (setsid), so stopping a group also ends anything it spawned, and a
# Ctrl-C in the terminal reaches only this script, which then stops the daemons in order.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

skip_setup=${WSGW_SKIP_SETUP:-0}
skip_build=${WSGW_SKIP_BUILD:-0}
for arg in "$@"; do
  case $arg in
    --no-setup) skip_setup=1 ;;
    --no-build) skip_build=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-local: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

HOST=127.0.0.1
PORT=${PORT:-3000}
TLS_PORT=${TLS_PORT:-3443}
DEMO_PORT=${DEMO_PORT:-8080}
API_PORT=${API_PORT:-50051}
API_METRICS_PORT=${API_METRICS_PORT:-9200}
PARTITIONS=${PARTITIONS:-16}
LOG_LEVEL=${WSGW_LOG_LEVEL:-info}
build=${WSGW_BUILD_DIR:-$root/build}
state=${WSGW_STATE_DIR:-$root/.cache/local}
mkdir -p "$state"
state=$(cd "$state" && pwd)

say() { echo "run-local: $*"; }
die() { echo "run-local: $*" >&2; exit 1; }
port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- setup and build --------------------------------------------------------------------------
if [ "$skip_setup" != 1 ]; then deploy/setup-debian.sh; fi
if [ "$skip_build" != 1 ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" --target ws-gateway ws-api wsgw-dev-kafka
fi
gateway_bin=$build/gateway/app/ws-gateway
api_bin=$build/api/app/ws-api
kafka_bin=$build/deploy/local/wsgw-dev-kafka
for bin in "$gateway_bin" "$api_bin" "$kafka_bin"; do
  [ -x "$bin" ] || die "$bin is missing (run without --no-build, or set WSGW_BUILD_DIR)"
done
for dir in api/example-component deploy/local/demo; do
  [ -d "$dir/node_modules" ] || (say "npm ci in $dir"; cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
done
[ -n "${REDIS_URL:-}" ] || command -v redis-server >/dev/null || die "redis-server not found (run without --no-setup)"

# A previous run that was killed without its cleanup (kill -9) may have left daemons behind:
# stop those whose pid file this state dir holds, if that pid is still the same process (same
# start time: a pid reused by an unrelated process is left alone).
start_time() { sed -E 's/^.*\) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
for pidfile in "$state"/*.pid; do
  [ -f "$pidfile" ] || continue
  read -r old_pid old_start <"$pidfile" || true
  if [ -n "${old_pid:-}" ] && [ -n "${old_start:-}" ] && [ "$(start_time "$old_pid")" = "$old_start" ]; then
    say "stopping $(basename "$pidfile" .pid) (pid $old_pid) left over from a previous run"
    kill -KILL -- "-$old_pid" 2>/dev/null || kill -KILL "$old_pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
done

for p in "$PORT" "$TLS_PORT" "$DEMO_PORT" "$API_PORT" "$API_METRICS_PORT"; do
  port_in_use "$p" && die "port $p is in use (another run-local.sh? set PORT/TLS_PORT/DEMO_PORT/API_PORT/API_METRICS_PORT)"
done

if [ ! -f "$state/tls.crt" ] || [ ! -f "$state/tls.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$state/tls.key" -out "$state/tls.crt" 2>/dev/null
fi

# --- process handling -------------------------------------------------------------------------
names=()
pids=()
redis_dir=""
stopping=0

# start NAME COMMAND ARGS...: runs COMMAND in a session (and process group) of its own, output
# in $state/NAME.log; the pid file holds "pid start-time" (see the leftover check above).
start() {
  local name=$1; shift
  echo "# $(date -Is) $*" >"$state/$name.log"
  setsid "$@" </dev/null >>"$state/$name.log" 2>&1 &
  local pid=$!
  names+=("$name"); pids+=("$pid")
  echo "$pid $(start_time "$pid")" >"$state/$name.pid"
}
pid_of() { local i; for i in "${!names[@]}"; do if [ "${names[$i]}" = "$1" ]; then echo "${pids[$i]}"; fi; done; }
# alive PID: running (a zombie child that has not been waited for does not count).
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]; }

# stop_group SECONDS NAME...: SIGTERM to each named process group, SIGKILL to what is left after
# SECONDS, then reap.
stop_group() {
  local seconds=$1; shift
  local name pid list=() i any
  for name in "$@"; do pid=$(pid_of "$name"); [ -n "$pid" ] && list+=("$pid"); done
  ((${#list[@]})) || return 0
  for pid in "${list[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for ((i = 0; i < seconds * 10; i++)); do
    any=0
    for pid in "${list[@]}"; do alive "$pid" && any=1; done
    ((any)) || break
    sleep 0.1
  done
  for pid in "${list[@]}"; do
    if alive "$pid"; then say "pid $pid did not stop within ${seconds}s: SIGKILL"; fi
    kill -KILL -- "-$pid" 2>/dev/null || true  # also anything it spawned
    wait "$pid" 2>/dev/null || true
  done
}

cleanup() {
  local rc=$?
  ((stopping)) && return
  stopping=1
  set +e  # stop everything, whatever fails on the way
  trap '' INT TERM
  echo
  say "stopping"
  stop_group 5 demo-component example-component
  stop_group 8 gw-1 gw-2
  stop_group 8 ws-api
  stop_group 5 kafka redis
  local left=() pid
  for pid in "${pids[@]}"; do
    left+=($(pgrep -g "$pid" 2>/dev/null || true) $(pgrep -s "$pid" 2>/dev/null || true))
  done
  if ((${#left[@]})); then
    say "processes still running: ${left[*]}"
    rc=1
  else
    say "all stopped, no process left"
  fi
  rm -f "$state"/*.pid
  [ -n "$redis_dir" ] && rm -rf "$redis_dir"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 0' INT TERM   # runs cleanup through the EXIT trap

# wait_for WHAT NAME SECONDS COMMAND...: polls COMMAND until it succeeds; fails when NAME died.
wait_for() {
  local what=$1 name=$2 seconds=$3; shift 3
  local pid i
  pid=$(pid_of "$name")
  for ((i = 0; i < seconds * 10; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    if ! alive "$pid"; then
      tail -n 30 "$state/$name.log" >&2
      die "$name exited before $what (log: $state/$name.log)"
    fi
    sleep 0.1
  done
  tail -n 30 "$state/$name.log" >&2
  die "$what: not within ${seconds}s (log: $state/$name.log)"
}

# --- Redis and Kafka --------------------------------------------------------------------------
if [ -n "${REDIS_URL:-}" ]; then
  redis_url=$REDIS_URL
  say "using Redis at $redis_url"
else
  REDIS_PORT=${REDIS_PORT:-$(free_port)}
  redis_dir=$(mktemp -d "${TMPDIR:-/tmp}/wsgw-redis.XXXXXX")
  start redis redis-server --bind "$HOST" --port "$REDIS_PORT" --dir "$redis_dir" \
    --save '' --appendonly no --daemonize no --protected-mode yes
  redis_url=redis://$HOST:$REDIS_PORT
  wait_for "redis answering PING" redis 10 redis-cli -h "$HOST" -p "$REDIS_PORT" ping
fi

if [ -n "${KAFKA_BROKERS:-}" ]; then
  brokers=$KAFKA_BROKERS
  create_topics=${CREATE_TOPICS:-true}
  say "using Kafka at $brokers (--create-topics=$create_topics)"
else
  rm -f "$state/kafka.address"
  start kafka "$kafka_bin" --partitions "$PARTITIONS" --address-file "$state/kafka.address"
  wait_for "wsgw-dev-kafka's address" kafka 15 test -s "$state/kafka.address"
  brokers=$(head -n1 "$state/kafka.address")
  create_topics=false  # the mock cannot create topics; wsgw-dev-kafka made them
fi

# --- ws-api and the gateways ------------------------------------------------------------------
cluster_flags=(--kafka-brokers "$brokers" --redis "$redis_url" --downstream-partitions "$PARTITIONS"
  --create-topics="$create_topics" --log-level "$LOG_LEVEL")

start ws-api "$api_bin" --grpc-listen "$HOST:$API_PORT" --metrics-listen "$HOST:$API_METRICS_PORT" \
  --node-name api-1 --shutdown-grace 3s "${cluster_flags[@]}"

demo_origins=http://$HOST:$DEMO_PORT,http://localhost:$DEMO_PORT
gateway_flags=(--threads 2 --namespaces /,/custom,/demo --cors-origins "$demo_origins"
  --shutdown-grace 3s "${cluster_flags[@]}")
start gw-1 "$gateway_bin" --node-name gw-1 --listen "$HOST:$PORT" "${gateway_flags[@]}"
start gw-2 "$gateway_bin" --node-name gw-2 --listen "" --tls-listen "$HOST:$TLS_PORT" \
  --tls-cert "$state/tls.crt" --tls-key "$state/tls.key" "${gateway_flags[@]}"

wait_for "ws-api ready" ws-api 30 curl -fs "http://$HOST:$API_METRICS_PORT/readyz"
wait_for "gw-1 ready" gw-1 30 curl -fs "http://$HOST:$PORT/readyz"
wait_for "gw-2 ready" gw-2 30 curl -fsk "https://$HOST:$TLS_PORT/readyz"

# --- components -------------------------------------------------------------------------------
start example-component node api/example-component/component.mjs --addr "$HOST:$API_PORT"
start demo-component node deploy/local/demo/server.mjs --addr "$HOST:$API_PORT" \
  --http "$HOST:$DEMO_PORT" --gateways "http://$HOST:$PORT,https://$HOST:$TLS_PORT" \
  --push-period "${DEMO_PUSH_PERIOD:-10s}"
wait_for "example component subscribed" example-component 30 grep -q 'subscribed group=' "$state/example-component.log"
wait_for "demo component subscribed" demo-component 30 grep -q 'subscribed group=' "$state/demo-component.log"
wait_for "demo page served" demo-component 10 curl -fs "http://$HOST:$DEMO_PORT/healthz"
# ws-api starts a new group's stream as soon as Kafka assigned its partitions and resolves the
# "latest" offsets a moment later (docs/cluster.md, Subscribe): give it that moment before
# clients connect, so their first events are not missed.
sleep 1

cat <<EOT

wsgw local stack is running (Ctrl-C to stop; logs in $state/)
  demo page:              http://$HOST:$DEMO_PORT/   (open it in two tabs; ?user=NAME&doc=ID&gw=0|1)
                          for wss, accept the self-signed certificate once: https://$HOST:$TLS_PORT/readyz
  gateway gw-1 (plain):   http://$HOST:$PORT/socket.io/   metrics http://$HOST:$PORT/metrics
  gateway gw-2 (TLS):     https://$HOST:$TLS_PORT/socket.io/   (certificate $state/tls.crt)
  ws-api (gRPC):          $HOST:$API_PORT   metrics http://$HOST:$API_METRICS_PORT/metrics
  Kafka:                  $brokers$([ -z "${KAFKA_BROKERS:-}" ] && echo "   (wsgw-dev-kafka: in-memory mock, $PARTITIONS partitions)")
  Redis:                  $redis_url
  namespaces:             /demo (demo component), / and /custom (example component: message -> message-back)
  fail-over:              kill -9 \$(cut -d' ' -f1 $state/gw-1.pid)   (pages on gw-1 move to gw-2)
wsgw local stack is ready
EOT

# Run until a signal; report daemons that end by themselves (e.g. a gateway killed to watch the
# fail-over) and keep the rest running.
reported=()
while :; do
  wait -n 2>/dev/null || true
  any=0
  for i in "${!pids[@]}"; do
    if alive "${pids[$i]}"; then any=1; continue; fi
    [[ " ${reported[*]} " == *" ${names[$i]} "* ]] && continue
    reported+=("${names[$i]}")
    say "${names[$i]} (pid ${pids[$i]}) has exited; see $state/${names[$i]}.log"
  done
  ((any)) || { say "every process has exited"; exit 1; }
done
