#include "gateway/app/gateway_config.h"

#include <algorithm>

#include "common/config/value_parsers.h"
#include "common/kafka/properties.h"

namespace wsgw::app {

void declare_options(config::OptionSet& o, GatewayConfig& c) {
  o.add("listen", "HOST:PORT of the plain HTTP/WebSocket listener (empty = none)", c.listen);
  o.add("tls-listen", "HOST:PORT of the TLS (https/wss) listener (empty = none)", c.tls_listen);
  o.add("tls-cert", "PEM certificate chain for --tls-listen", c.tls_cert);
  o.add("tls-key", "PEM private key for --tls-listen", c.tls_key).secret();
  o.add("threads", "I/O threads, each with its own event loop (0 = one per core)", c.threads);
  o.add_duration_ms("ping-interval",
                    "pingInterval announced to clients; the dynamic heartbeat never exceeds it",
                    c.ping_interval_ms);
  o.add_duration_ms("ping-timeout", "how long to wait for a pong (EIO4) or ping (EIO3)",
                    c.ping_timeout_ms);
  o.add_duration_ms("heartbeat-min-interval",
                    "first and fall-back ping interval of the dynamic heartbeat (<= ping-interval)",
                    c.heartbeat_min_interval_ms);
  o.add_duration_ms("heartbeat-step", "how much the ping interval grows after healthy pongs",
                    c.heartbeat_step_ms);
  o.add("heartbeat-healthy-pongs", "healthy pongs in a row before the interval grows",
        c.heartbeat_healthy_pongs);
  o.add_bytes("max-payload", "largest message or polling POST body a client may send",
              c.max_payload);
  o.add_bytes("max-queue-bytes", "per-connection send queue limit (then: slow_consumer)",
              c.max_queue_bytes);
  o.add_bytes("socket-send-buffer",
              "SO_SNDBUF of each client socket: bounds the kernel memory a slow reader holds "
              "(the kernel doubles it); 0 = the kernel's autotuning, up to tcp_wmem's maximum",
              c.socket_send_buffer);
  o.add("max-connections", "sessions this process accepts before answering 503 (0 = no limit)",
        c.max_connections);
  o.add_choice("auth", "client authentication", c.auth, {"none", "jwt"});
  o.add("jwt-secret", "HS256 secret for --auth jwt", c.jwt_secret).secret();
  o.add("cors-origins", "allowed browser origins, comma-separated (empty = any)", c.cors_origins);
  o.add("worker-id", "Snowflake worker id 0..1023 (unique per gateway node)", c.worker_id);
  o.add("metrics-listen",
        "HOST:PORT for /metrics /healthz /readyz (empty = on the client listeners)",
        c.metrics_listen);
  o.add_choice("log-level", "log level (changeable at run time: POST /admin/log-level?level=)",
               c.log_level, {"trace", "debug", "info", "warn", "error", "critical", "off"});
  o.add("conformance", "behave as the official Engine.IO/Socket.IO protocol test suites expect",
        c.conformance);
  o.add("path", "Socket.IO endpoint path", c.path);
  o.add("namespaces", "Socket.IO namespaces clients may connect to (* = any)", c.namespaces);
  o.add_duration_ms("connect-timeout", "time a client has to send its Socket.IO CONNECT",
                    c.connect_timeout_ms);
  o.add("max-client-events",
        "events a connection may send per second (all its namespaces; bursts up to this many); "
        "beyond, events are dropped and counted in wsgw_events_rate_limited_total (0 = no limit)",
        c.max_client_events);
  o.add_duration_ms("upgrade-timeout", "time a polling client has to finish a WebSocket upgrade",
                    c.upgrade_timeout_ms);
  o.add_duration_ms("http-timeout", "idle keep-alive / incomplete request timeout",
                    c.http_timeout_ms);
  o.add_duration_ms("shutdown-grace", "on SIGTERM: time to close sessions before exiting",
                    c.shutdown_grace_ms);
  o.add("kafka-brokers", "cluster mode: Kafka bootstrap servers (host:port,...)", c.kafka_brokers);
  o.add_repeated("kafka-option",
        "cluster mode: a librdkafka property KEY=VALUE for every Kafka client (repeatable; one per "
        "line in the environment variable; e.g. security.protocol=SASL_SSL, sasl.username=...)",
        c.kafka_options)
      .secret();
  o.add("redis", "cluster mode: redis://HOST:PORT for sessions, worker-id leases, node bus",
        c.redis);
  o.add("node-name", "cluster mode: this node's unique name (the pod name in Kubernetes)",
        c.node_name);
  o.add("downstream-partitions", "cluster mode: partitions of wsgw.downstream (same on every node)",
        c.downstream_partitions);
  o.add_duration_ms("touch-period",
                    "cluster mode: period of the batched flush of local sessions' last-seen times",
                    c.touch_period_ms);
  o.add_bytes("downstream-backlog",
              "cluster mode: downstream records read from Kafka but not yet applied by the workers, "
              "in bytes; beyond it the node stops reading until they catch up (Kafka keeps the rest)",
              c.downstream_backlog);
  o.add("create-topics",
        "cluster mode: create the wsgw.* topics at start when missing (false where the cluster "
        "cannot, e.g. the local demo's mock Kafka, which creates them itself)",
        c.create_topics);
}

bool validate(GatewayConfig& c, std::string& error) {
  config::HostPort hp;
  for (auto* addr : {&c.listen, &c.tls_listen, &c.metrics_listen}) {
    if (!addr->empty() && !config::parse_host_port(*addr, hp, error)) return false;
  }
  if (c.listen.empty() && c.tls_listen.empty()) {
    error = "nothing to listen on: give --listen and/or --tls-listen";
    return false;
  }
  if (!c.tls_listen.empty() && (c.tls_cert.empty() || c.tls_key.empty())) {
    error = "--tls-listen needs --tls-cert and --tls-key";
    return false;
  }
  if (c.auth == "jwt" && c.jwt_secret.empty()) {
    error = "--auth jwt needs --jwt-secret (or WSGW_JWT_SECRET)";
    return false;
  }
  if (c.worker_id > 1023) {
    error = "--worker-id must be 0..1023";
    return false;
  }
  if (c.ping_interval_ms == 0 || c.ping_timeout_ms == 0 || c.ping_interval_ms > UINT32_MAX ||
      c.ping_timeout_ms > UINT32_MAX) {
    error = "--ping-interval and --ping-timeout must be positive and below 49 days";
    return false;
  }
  if (c.path.empty() || c.path.front() != '/') {
    error = "--path must start with '/'";
    return false;
  }
  if (c.path.back() != '/') c.path += '/';
  c.heartbeat_min_interval_ms = std::min(c.heartbeat_min_interval_ms, c.ping_interval_ms);
  const bool cluster = !c.kafka_brokers.empty() || !c.redis.empty() || !c.node_name.empty();
  if (cluster && (c.kafka_brokers.empty() || c.redis.empty() || c.node_name.empty())) {
    error = "cluster mode needs --kafka-brokers, --redis and --node-name together";
    return false;
  }
  kafka::Properties kafka_properties;
  if (!kafka::parse_properties(c.kafka_options, kafka_properties, error)) {
    error = "--kafka-option: " + error;
    return false;
  }
  if (cluster && c.conformance) {
    error = "--conformance is a standalone mode; drop it in cluster mode";
    return false;
  }
  if (c.downstream_partitions == 0) {
    error = "--downstream-partitions must be positive";
    return false;
  }
  if (c.socket_send_buffer > (64u << 20)) {
    error = "--socket-send-buffer must be at most 64MiB";
    return false;
  }
  if (c.downstream_backlog < (64u << 10)) {
    error = "--downstream-backlog must be at least 64KiB";
    return false;
  }
  if (c.touch_period_ms == 0 || c.touch_period_ms > UINT32_MAX) {
    error = "--touch-period must be positive and below 49 days";
    return false;
  }
  if (c.max_payload == 0) {
    error = "--max-payload must be positive";
    return false;
  }
  return true;
}

}  // namespace wsgw::app
