#!/usr/bin/env bash
# Single-node Apache Kafka 4.x (KRaft, broker+controller in one JVM) for wsgw's integration tests.
# Jars come from Maven Central through mvn (tests/infra/kafka/pom.xml); see tests/infra/README.md.
#
# usage: kafka.sh COMMAND [--port N] [--dir DIR] [--timeout S] [-- TOOL ARGS...]
#   fetch     download the jars into the cache (no-op when the cache is complete)
#   start     fetch, write config, format storage on first use, launch in the background
#   wait      block until the broker answers an admin request (fails fast if it died)
#   status    exit 0 if running, 3 if not
#   stop      SIGTERM, SIGKILL after WSGW_KAFKA_STOP_TIMEOUT (20 s)
#   kill      SIGKILL at once (crash simulation; the next start then takes ~8 s, not ~3 s)
#   restart   stop + start + wait (data is kept)
#   clean     stop and delete the broker's data and config in DIR
#   tool MAINCLASS ARGS...      run any class from the Kafka jars with the cached classpath
#   topics|console-producer|console-consumer ARGS...   shortcuts for the usual tools
set -euo pipefail

INFRA_NAME=kafka
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"

KAFKA_VERSION=${WSGW_KAFKA_VERSION:-4.3.1}
CACHE_ROOT=${WSGW_CACHE_DIR:-${HOME:-/tmp}/.cache/wsgw}
CACHE_DIR=$CACHE_ROOT/kafka-$KAFKA_VERSION
LIBS_DIR=$CACHE_DIR/libs
# Private Maven repository: keeps ~/.m2 untouched and makes "delete the cache" a true cold start.
MAVEN_REPO=$CACHE_ROOT/m2
POM=$SCRIPT_DIR/kafka/pom.xml
HEAP=${WSGW_KAFKA_HEAP:-512m}
STOP_TIMEOUT=${WSGW_KAFKA_STOP_TIMEOUT:-20}

PORT=${WSGW_KAFKA_PORT:-9092}
DIR=${WSGW_KAFKA_DIR:-}
WAIT_TIMEOUT=${WSGW_KAFKA_WAIT_TIMEOUT:-90}

[ $# -ge 1 ] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
COMMAND=$1
shift
infra_parse_args "$@"
TOOL_ARGS=("${INFRA_ARGS[@]}")
CONTROLLER_PORT=$((PORT + 1))
DIR=$(realpath -m "${DIR:-${TMPDIR:-/tmp}/wsgw-kafka-$PORT}")
PID_FILE=$DIR/kafka.pid
CONFIG=$DIR/server.properties
# Appears verbatim in the broker's command line; identifies "our" JVM behind a pid.
PROCESS_MARKER="kafka.Kafka $CONFIG"

# ---------------------------------------------------------------------------------------------
# Tooling: java >= 17 and mvn, installed from Debian when missing.

java_major() { "$1" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }

find_java() {
  local candidate major
  for candidate in "${WSGW_JAVA:-}" "$(command -v java || true)" /usr/lib/jvm/*/bin/java; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    major=$(java_major "$candidate")
    if [ -n "$major" ] && [ "$major" -ge 17 ]; then printf '%s\n' "$candidate"; return 0; fi
  done
  return 1
}

ensure_java() {
  [ -n "${JAVA:-}" ] && return 0
  if ! JAVA=$(find_java); then
    infra_apt_install openjdk-17-jre-headless
    JAVA=$(find_java) || infra_die "no java >= 17 found even after installing openjdk-17-jre-headless"
  fi
}

ensure_mvn() {
  command -v mvn >/dev/null 2>&1 || infra_apt_install maven
}

# ---------------------------------------------------------------------------------------------
# Jars.

# The cache is complete when the stamp matches this version and this pom's content.
cache_stamp() { printf '%s %s\n' "$KAFKA_VERSION" "$(sha256sum "$POM" | cut -d' ' -f1)"; }

cache_complete() {
  [ -f "$CACHE_DIR/libs.complete" ] && [ "$(cat "$CACHE_DIR/libs.complete")" = "$(cache_stamp)" ] \
    && compgen -G "$LIBS_DIR/kafka_2.13-*.jar" >/dev/null
}

run_mvn() {
  # -B/-Dstyle.color: no progress bars or ANSI noise in CI logs.
  mvn -B -q -Dstyle.color=never -f "$POM" -Dmaven.repo.local="$MAVEN_REPO" \
    -Dkafka.version="$KAFKA_VERSION" "$@" \
    dependency:copy-dependencies -DoutputDirectory="$LIBS_DIR.partial" -DincludeScope=runtime \
    >>"$CACHE_DIR/mvn.log" 2>&1
}

fetch() {
  ensure_java
  cache_complete && return 0
  mkdir -p "$CACHE_DIR"
  # Two test runs starting at once must not both write the cache.
  exec 9>"$CACHE_DIR/.lock"
  flock 9
  if cache_complete; then exec 9>&-; return 0; fi
  ensure_mvn
  local t0
  t0=$(infra_now_ms)
  rm -rf "$LIBS_DIR.partial"
  : >"$CACHE_DIR/mvn.log"
  # Offline first: the private repository often already holds everything (e.g. pom edited).
  if [ -d "$MAVEN_REPO/org/apache/kafka/kafka_2.13/$KAFKA_VERSION" ] && run_mvn -o; then
    infra_log "fetch: jars for Kafka $KAFKA_VERSION taken from local Maven repo in $(infra_elapsed "$t0")s"
  else
    rm -rf "$LIBS_DIR.partial"
    run_mvn || { cat "$CACHE_DIR/mvn.log" >&2; infra_die "mvn could not fetch Kafka $KAFKA_VERSION (log above)"; }
    infra_log "fetch: downloaded Kafka $KAFKA_VERSION jars from Maven Central in $(infra_elapsed "$t0")s"
  fi
  rm -rf "$LIBS_DIR"
  mv "$LIBS_DIR.partial" "$LIBS_DIR"
  cache_stamp >"$CACHE_DIR/libs.complete"
  infra_log "fetch: $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars, $(du -sm "$LIBS_DIR" | cut -f1) MB in $LIBS_DIR"
  # Closing the descriptor releases the lock; the broker must not inherit it.
  exec 9>&-
}

# Short-lived tool JVMs: favour start-up time over peak throughput.
TOOL_JVM_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true)

run_tool() {
  local main_class=$1
  shift
  fetch
  "$JAVA" "${TOOL_JVM_OPTS[@]}" -cp "$LIBS_DIR/*" "$main_class" "$@"
}

# ---------------------------------------------------------------------------------------------
# Broker.

# Kafka cluster ids are 16 random bytes in URL-safe base64 without padding (22 chars). Doing it
# here saves a JVM start (StorageTool random-uuid). Like Kafka, avoid a leading '-' so the id
# never looks like a command-line option.
new_cluster_id() {
  local id
  while :; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    case $id in -*) ;; *) printf '%s\n' "$id"; return ;; esac
  done
}

write_config() {
  mkdir -p "$DIR/data"
  # Optional second client listener with SASL/PLAIN (user "wsgw", password "wsgw-secret"), for
  # tests of the daemons' --kafka-option: WSGW_KAFKA_SASL_PORT=N.
  local SASL_LISTENER="" SASL_ADVERTISED="" SASL_CONFIG=""
  if [ -n "${WSGW_KAFKA_SASL_PORT:-}" ]; then
    SASL_LISTENER=",SASL_PLAINTEXT://127.0.0.1:$WSGW_KAFKA_SASL_PORT"
    SASL_ADVERTISED=$SASL_LISTENER
    SASL_CONFIG="sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_wsgw=\"wsgw-secret\";"
  fi
  cat >"$CONFIG" <<EOF
# Generated by tests/infra/kafka.sh; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT$SASL_LISTENER
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT$SASL_ADVERTISED
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT
$SASL_CONFIG
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DIR/data

auto.create.topics.enable=true
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
# Internal topics default to replication factor 3, impossible on one node.
offsets.topic.replication.factor=1
# 50 partitions by default; fewer makes the first consumer group come up faster.
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=8
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Consumers in tests should get partitions immediately, not after 3 s.
group.initial.rebalance.delay.ms=0
# After a SIGKILL the restarted broker cannot register until the old incarnation's session
# expires (default 9 s, making a crash-restart take ~13 s). Still generous for a busy CI box.
broker.session.timeout.ms=5000
broker.heartbeat.interval.ms=1000
EOF
  cat >"$DIR/log4j2.properties" <<EOF
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = $DIR/server.log
appender.file.filePattern = $DIR/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
# The state-change and request loggers are very chatty at INFO.
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
EOF
  # Used by the readiness probe: fail an attempt quickly instead of the admin client's 60 s.
  cat >"$DIR/probe.properties" <<EOF
request.timeout.ms=3000
default.api.timeout.ms=5000
EOF
}

format_storage_if_needed() {
  [ -f "$DIR/data/meta.properties" ] && return 0
  local t0 cluster_id
  t0=$(infra_now_ms)
  cluster_id=$(new_cluster_id)
  printf '%s\n' "$cluster_id" >"$DIR/cluster.id"
  "$JAVA" "${TOOL_JVM_OPTS[@]}" -Dlog4j2.configurationFile="$DIR/log4j2.properties" \
    -cp "$LIBS_DIR/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$CONFIG" \
    >"$DIR/format.log" 2>&1 || { cat "$DIR/format.log" >&2; infra_die "storage format failed"; }
  infra_log "format: storage formatted (cluster id $cluster_id) in $(infra_elapsed "$t0")s"
}

running_pid() { infra_live_pid "$PID_FILE" "$PROCESS_MARKER"; }

cmd_start() {
  local t0 pid
  t0=$(infra_now_ms)
  if pid=$(running_pid); then
    infra_log "already running (pid $pid, port $PORT, dir $DIR)"
    return 0
  fi
  rm -f "$PID_FILE"
  infra_port_open "$PORT" && infra_die "port $PORT is already in use by another process"
  infra_port_open "$CONTROLLER_PORT" && infra_die "controller port $CONTROLLER_PORT is already in use"
  fetch
  write_config
  format_storage_if_needed
  # setsid: the broker must outlive the shell that started it and not get the caller's Ctrl-C;
  # it is stopped explicitly through the pid file. The inner shell records its own pid, which
  # exec hands over to the JVM, so the pid file is right whether or not setsid forks.
  # shellcheck disable=SC2016
  setsid bash -c "$INFRA_CLOSE_INHERITED_FDS"'; echo $$ >"$1"; shift; exec "$@"' kafka-launcher "$PID_FILE" \
    "$JAVA" "-Xmx$HEAP" "-Xms$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$DIR/log4j2.properties" -Dkafka.logs.dir="$DIR" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$CONFIG" \
    </dev/null >"$DIR/stdout.log" 2>&1 &
  local i
  for i in $(seq 1 50); do
    pid=$(running_pid) && break
    sleep 0.1
  done
  [ -n "${pid:-}" ] || { tail -n 30 "$DIR/stdout.log" >&2 || true; infra_die "broker did not start"; }
  infra_log "start: launched pid $pid on 127.0.0.1:$PORT (controller $CONTROLLER_PORT), dir $DIR, $(infra_elapsed "$t0")s"
}

broker_died() {
  infra_log "broker is not running; last lines of $DIR/stdout.log and server.log:"
  tail -n 20 "$DIR/stdout.log" >&2 2>/dev/null || true
  grep -E ' (ERROR|FATAL) ' "$DIR/server.log" 2>/dev/null | tail -n 20 >&2 || true
  exit 1
}

cmd_wait() {
  local t0 deadline port_open_at=""
  t0=$(infra_now_ms)
  deadline=$((t0 + WAIT_TIMEOUT * 1000))
  fetch
  while :; do
    running_pid >/dev/null || broker_died
    if infra_port_open "$PORT"; then
      [ -n "$port_open_at" ] || port_open_at=$(infra_elapsed "$t0")
      # Listing topics goes through the broker's metadata path: once it answers, the broker is
      # registered and unfenced, and produce/consume/auto-create work.
      if timeout 20 "$JAVA" "${TOOL_JVM_OPTS[@]}" -cp "$LIBS_DIR/*" org.apache.kafka.tools.TopicCommand \
          --bootstrap-server "127.0.0.1:$PORT" --command-config "$DIR/probe.properties" --list \
          >"$DIR/probe.log" 2>&1; then
        infra_log "wait: ready after $(infra_elapsed "$t0")s (port open after ${port_open_at}s)"
        return 0
      fi
    fi
    [ "$(infra_now_ms)" -lt "$deadline" ] || {
      cat "$DIR/probe.log" >&2 2>/dev/null || true
      infra_die "not ready after ${WAIT_TIMEOUT}s (see $DIR/server.log)"
    }
    sleep 0.5
  done
}

cmd_stop() {
  local pid t0
  if ! pid=$(running_pid); then
    rm -f "$PID_FILE"
    infra_log "stop: not running (dir $DIR)"
    return 0
  fi
  t0=$(infra_now_ms)
  infra_terminate "$pid" "$STOP_TIMEOUT"
  infra_wait_ports_closed 10 "$PORT" "$CONTROLLER_PORT" || true
  rm -f "$PID_FILE"
  infra_log "stop: pid $pid stopped in $(infra_elapsed "$t0")s"
}

# Simulated crash for failure tests: SIGKILL, no controlled shutdown.
cmd_kill() {
  local pid
  if ! pid=$(running_pid); then
    infra_log "kill: not running (dir $DIR)"
    return 0
  fi
  kill -KILL "$pid" 2>/dev/null || true
  infra_terminate "$pid" 5
  infra_wait_ports_closed 10 "$PORT" "$CONTROLLER_PORT" || true
  rm -f "$PID_FILE"
  infra_log "kill: pid $pid killed"
}

cmd_status() {
  local pid
  if pid=$(running_pid); then
    if infra_port_open "$PORT"; then
      echo "kafka running: pid $pid, 127.0.0.1:$PORT, dir $DIR"
    else
      echo "kafka starting: pid $pid, port $PORT not open yet, dir $DIR"
    fi
    return 0
  fi
  echo "kafka stopped (dir $DIR)"
  return 3
}

cmd_clean() {
  cmd_stop
  rm -rf "$DIR/data"
  rm -f "$CONFIG" "$DIR"/log4j2.properties "$DIR"/probe.properties "$DIR"/probe.log \
    "$DIR"/cluster.id "$DIR"/format.log "$DIR"/stdout.log "$DIR"/server.log "$DIR"/server.log.*
  rmdir "$DIR" 2>/dev/null || true
  infra_log "clean: removed broker state in $DIR"
}

case $COMMAND in
  fetch) fetch ;;
  start) cmd_start ;;
  wait) cmd_wait ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  kill) cmd_kill ;;
  restart)
    t_restart=$(infra_now_ms)
    cmd_stop; cmd_start; cmd_wait
    infra_log "restart: total $(infra_elapsed "$t_restart")s" ;;
  clean) cmd_clean ;;
  tool)
    [ ${#TOOL_ARGS[@]} -ge 1 ] || infra_die "tool needs a main class"
    run_tool "${TOOL_ARGS[@]}" ;;
  topics) run_tool org.apache.kafka.tools.TopicCommand "${TOOL_ARGS[@]}" ;;
  console-producer) run_tool org.apache.kafka.tools.ConsoleProducer "${TOOL_ARGS[@]}" ;;
  console-consumer) run_tool org.apache.kafka.tools.consumer.ConsoleConsumer "${TOOL_ARGS[@]}" ;;
  *) infra_die "unknown command '$COMMAND' (start|stop|kill|status|wait|restart|fetch|clean|tool|topics|console-producer|console-consumer)" ;;
esac
