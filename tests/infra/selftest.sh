#!/usr/bin/env bash
# Self-check of tests/infra: real Kafka + real redis on non-default ports in a temp dir.
# Produces/consumes a message with headers, checks auto-create, restarts Kafka and checks the
# message survived, does a redis SET/GET, then stops both and checks nothing is left running.
# Ends with "infra selftest: N passed, N failed"; exit status 0 only if nothing failed.
#
# env: WSGW_SELFTEST_KAFKA_PORT (19092; +1 is the controller), WSGW_SELFTEST_REDIS_PORT (16379),
#      WSGW_SELFTEST_KEEP=1 keeps the temp dir; plus everything kafka.sh / redis.sh read.
set -uo pipefail

INFRA_NAME=selftest
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"

KAFKA_PORT=${WSGW_SELFTEST_KAFKA_PORT:-19092}
REDIS_PORT=${WSGW_SELFTEST_REDIS_PORT:-16379}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wsgw-infra-selftest.XXXXXX")
KAFKA_DIR=$WORK/kafka
REDIS_DIR=$WORK/redis
BOOTSTRAP=127.0.0.1:$KAFKA_PORT

kafka() { "$SCRIPT_DIR/kafka.sh" "$1" --port "$KAFKA_PORT" --dir "$KAFKA_DIR" -- "${@:2}"; }
redis() { "$SCRIPT_DIR/redis.sh" "$1" --port "$REDIS_PORT" --dir "$REDIS_DIR" -- "${@:2}"; }

PASSED=0
FAILED=0
TIMINGS=()
pass() { PASSED=$((PASSED + 1)); printf 'PASS %s\n' "$1"; }
fail() { FAILED=$((FAILED + 1)); printf 'FAIL %s\n' "$1"; }
# timed LABEL CMD...: runs CMD, records its wall time, returns its status.
timed() {
  local label=$1 t0 rc
  shift
  t0=$(infra_now_ms)
  "$@"
  rc=$?
  TIMINGS+=("$(printf '%-28s %8ss%s' "$label" "$(infra_elapsed "$t0")" "$([ $rc = 0 ] || echo '  (failed)')")")
  return $rc
}

cleanup() {
  kafka stop >/dev/null 2>&1
  redis stop >/dev/null 2>&1
  if [ "${WSGW_SELFTEST_KEEP:-0}" = 1 ]; then
    infra_log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

T_ALL=$(infra_now_ms)
infra_log "work dir $WORK, kafka 127.0.0.1:$KAFKA_PORT, redis 127.0.0.1:$REDIS_PORT"

# --- redis ---------------------------------------------------------------------------------
redis_up() { redis start && redis wait; }
timed "redis start+wait" redis_up && pass "redis starts and answers PING" || fail "redis starts and answers PING"
redis cli SET wsgw:selftest "value with spaces" >/dev/null 2>&1
got=$(redis cli GET wsgw:selftest 2>/dev/null)
[ "$got" = "value with spaces" ] && pass "redis SET/GET round trip" || fail "redis SET/GET round trip (got '$got')"
bind=$(redis cli CONFIG GET bind 2>/dev/null | tail -n1)
[ "$bind" = 127.0.0.1 ] && pass "redis bound to 127.0.0.1 only" || fail "redis bind is '$bind'"

# --- kafka ---------------------------------------------------------------------------------
timed "kafka start (incl. fetch)" kafka start || fail "kafka start"
if timed "kafka wait" kafka wait; then pass "kafka starts and becomes ready"; else fail "kafka becomes ready"; fi

# Listening sockets on the Kafka ports, read from /proc (ss/iproute2 is not in minimal images).
# Prints one local address per listener, as hex: 0100007F is 127.0.0.1, and the v4-mapped
# ::ffff:127.0.0.1 (what the JVM binds) is 0000000000000000FFFF00000100007F.
kafka_listeners() {
  local ports_hex
  ports_hex=$(printf '%04X|%04X' "$KAFKA_PORT" $((KAFKA_PORT + 1)))
  awk -v ports="^($ports_hex)\$" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] ~ ports) print a[1] }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u
}
listeners=$(kafka_listeners)
if [ -n "$listeners" ] && ! grep -qvE '^(0100007F|0000000000000000FFFF00000100007F)$' <<<"$listeners"; then
  pass "kafka listens on 127.0.0.1 only"
else
  fail "kafka listeners (hex local addresses): '$(echo $listeners)'"
fi

timed "create topic" kafka topics --bootstrap-server "$BOOTSTRAP" --create --topic selftest \
  --partitions 1 --replication-factor 1 >/dev/null \
  && pass "create topic" || fail "create topic"

# Headers, key and value are tab separated; headers are comma separated key:value pairs.
MESSAGE=$'h1:v1,wsgw-node:n-1\tkey-1\t{"event":"hello","n":1}'
timed "produce 1 message" kafka console-producer --bootstrap-server "$BOOTSTRAP" --topic selftest \
  --reader-property parse.headers=true --reader-property parse.key=true <<<"$MESSAGE" \
  && pass "produce with headers" || fail "produce with headers"

consume_one() {
  timeout 60 "$SCRIPT_DIR/kafka.sh" console-consumer --port "$KAFKA_PORT" --dir "$KAFKA_DIR" -- \
    --bootstrap-server "$BOOTSTRAP" --topic selftest --from-beginning --max-messages 1 \
    --timeout-ms 30000 --formatter-property print.headers=true --formatter-property print.key=true \
    >"$WORK/consumed.txt" 2>"$WORK/consumer.err"
}
timed "consume 1 message" consume_one
got=$(cat "$WORK/consumed.txt")
[ "$got" = "$MESSAGE" ] && pass "consume returns headers, key and value" \
  || { fail "consume (got '$got')"; cat "$WORK/consumer.err" >&2; }

# Auto-creation with the broker's default partition count (what the gateway relies on).
timed "produce to auto-created" kafka console-producer --bootstrap-server "$BOOTSTRAP" \
  --topic selftest-auto <<<"auto" >/dev/null 2>"$WORK/auto.err"
partitions=$(kafka topics --bootstrap-server "$BOOTSTRAP" --describe --topic selftest-auto 2>/dev/null \
  | sed -n 's/.*PartitionCount: *\([0-9]*\).*/\1/p' | head -n1)
[ "$partitions" = 4 ] && pass "auto-created topic has 4 partitions" \
  || { fail "auto-created topic partitions '$partitions'"; cat "$WORK/auto.err" >&2; }

# --- restart keeps data ----------------------------------------------------------------------
timed "kafka restart" kafka restart && pass "kafka restart" || fail "kafka restart"
timed "consume after restart" consume_one
got=$(cat "$WORK/consumed.txt")
[ "$got" = "$MESSAGE" ] && pass "message survives a broker restart" \
  || { fail "after restart (got '$got')"; cat "$WORK/consumer.err" >&2; }

# --- stop everything, nothing left behind ----------------------------------------------------
kafka_pid=$(cat "$KAFKA_DIR/kafka.pid" 2>/dev/null)
redis_pid=$(cat "$REDIS_DIR/redis.pid" 2>/dev/null)
timed "kafka stop" kafka stop
timed "redis stop" redis stop
leftover=""
for pid in $kafka_pid $redis_pid; do infra_alive "$pid" && leftover="$leftover $pid"; done
for port in "$KAFKA_PORT" $((KAFKA_PORT + 1)) "$REDIS_PORT"; do
  infra_port_open "$port" && leftover="$leftover port:$port"
done
[ -z "$leftover" ] && pass "no processes or listening ports left" || fail "left behind:$leftover"
kafka status >/dev/null; [ $? = 3 ] && pass "kafka status reports stopped" || fail "kafka status after stop"

echo
echo "timings:"
printf '  %s\n' "${TIMINGS[@]}"
printf '  %-28s %8ss\n' "total" "$(infra_elapsed "$T_ALL")"
echo
echo "infra selftest: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
