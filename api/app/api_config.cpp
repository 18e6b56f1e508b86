#include "api/app/api_config.h"

#include "common/config/value_parsers.h"
#include "common/kafka/properties.h"
#include "common/redis/url.h"

namespace wsgw::api {

namespace {
// gRPC's own message size limit must stay an int; leave headroom for the envelope.
constexpr uint64_t kMaxPayloadLimit = 64ull << 20;
}  // namespace

void declare_options(config::OptionSet& o, ApiConfig& c) {
  o.add("grpc-listen", "HOST:PORT of the gRPC API (wsgw.v1, health, reflection)", c.grpc_listen);
  o.add("grpc-tls-cert",
        "PEM certificate chain: serve gRPC over TLS (with --grpc-tls-key; the files are re-read "
        "when they change, e.g. a rotated Kubernetes Secret)",
        c.grpc_tls_cert);
  o.add("grpc-tls-key", "PEM private key of --grpc-tls-cert", c.grpc_tls_key);
  o.add("grpc-tls-client-ca",
        "PEM CA certificate(s): require every gRPC client to present a certificate they signed "
        "(mutual TLS; needs --grpc-tls-cert)",
        c.grpc_tls_client_ca);
  o.add_duration_ms("grpc-tls-refresh",
                    "how often the --grpc-tls-* files are re-read (a renewed certificate is "
                    "served from then on; whole seconds)",
                    c.grpc_tls_refresh_ms);
  o.add("redis",
        "Redis URL, redis://[user:password@]host:port; with --kafka-brokers turns the cluster "
        "back-end on (without both, requests are validated and answered UNIMPLEMENTED)",
        c.redis)
      .secret();
  o.add("kafka-brokers", "Kafka bootstrap brokers, comma-separated host:port", c.kafka_brokers);
  o.add_repeated("kafka-option",
        "a librdkafka property KEY=VALUE for every Kafka client (repeatable; one per line in the "
        "environment variable; e.g. security.protocol=SASL_SSL, sasl.username=...)",
        c.kafka_options)
      .secret();
  o.add("node-name",
        "this replica's unique name (its ack-id lease); empty = the host name, i.e. the pod name",
        c.node_name);
  o.add("downstream-partitions",
        "partitions of wsgw.downstream and wsgw.acks: the same value as every gateway's",
        c.downstream_partitions);
  o.add_duration_ms("node-timeout",
                    "a gateway node silent for this long is dead: the reaper removes its sessions "
                    "and reports a node_lost disconnect for each",
                    c.node_timeout_ms);
  o.add_duration_ms("reaper-period", "how often to look for dead gateway nodes", c.reaper_period_ms);
  o.add("max-pending-acks", "EmitWithAck calls waiting at once; beyond: RESOURCE_EXHAUSTED",
        c.max_pending_acks);
  o.add("subscriber-queue",
        "events queued per Subscribe stream; a stream that falls further behind is ended with "
        "RESOURCE_EXHAUSTED",
        c.subscriber_queue);
  o.add("max-subscriptions", "Subscribe streams open at once on this replica; beyond: RESOURCE_EXHAUSTED",
        c.max_subscriptions);
  o.add("max-subscription-groups",
        "subscription groups (each a Kafka consumer and a thread; a stream without a group has "
        "its own) on this replica; beyond: RESOURCE_EXHAUSTED",
        c.max_subscription_groups);
  o.add("create-topics",
        "create the wsgw.* topics at start when missing (false where the cluster cannot, e.g. "
        "the local demo's mock Kafka, which creates them itself)",
        c.create_topics);
  o.add("metrics-listen", "HOST:PORT for /metrics /healthz /readyz (empty = none)",
        c.metrics_listen);
  o.add_choice("log-level", "log level", c.log_level,
               {"trace", "debug", "info", "warn", "error", "critical", "off"});
  o.add_bytes("max-payload", "largest args_json + attachments of one API request",
              c.max_payload);
  o.add_duration_ms("shutdown-grace", "on SIGTERM: time in-flight calls get before cancellation",
                    c.shutdown_grace_ms);
}

bool validate(const ApiConfig& c, std::string& error) {
  config::HostPort hp;
  if (c.grpc_listen.empty()) {
    error = "--grpc-listen must not be empty";
    return false;
  }
  if (!config::parse_host_port(c.grpc_listen, hp, error)) {
    error = "--grpc-listen: " + error;
    return false;
  }
  if (c.grpc_tls_cert.empty() != c.grpc_tls_key.empty()) {
    error = "--grpc-tls-cert and --grpc-tls-key go together";
    return false;
  }
  if (!c.grpc_tls_client_ca.empty() && c.grpc_tls_cert.empty()) {
    error = "--grpc-tls-client-ca needs --grpc-tls-cert and --grpc-tls-key (mutual TLS is TLS first)";
    return false;
  }
  if (c.grpc_tls_refresh_ms < 1000 || c.grpc_tls_refresh_ms > 24 * 3600 * 1000) {
    error = "--grpc-tls-refresh must be between 1s and 24h";
    return false;
  }
  if (!c.metrics_listen.empty() && !config::parse_host_port(c.metrics_listen, hp, error)) {
    error = "--metrics-listen: " + error;
    return false;
  }
  if (!c.redis.empty()) {
    redis::Url url;
    if (!redis::parse_url(c.redis, url, error)) {
      error = "--redis: " + error;
      return false;
    }
  }
  kafka::Properties kafka_properties;
  if (!kafka::parse_properties(c.kafka_options, kafka_properties, error)) {
    error = "--kafka-option: " + error;
    return false;
  }
  if (c.redis.empty() != c.kafka_brokers.empty()) {
    error = "--redis and --kafka-brokers go together (both: cluster back-end; neither: "
            "validation only)";
    return false;
  }
  if (c.downstream_partitions < 1 || c.downstream_partitions > 10000) {
    error = "--downstream-partitions must be between 1 and 10000";
    return false;
  }
  if (c.node_timeout_ms < 1000 || c.reaper_period_ms < 100 || c.reaper_period_ms > c.node_timeout_ms) {
    error = "--node-timeout must be at least 1s and --reaper-period between 100ms and it";
    return false;
  }
  if (c.max_pending_acks == 0 || c.subscriber_queue == 0 || c.max_subscriptions == 0 ||
      c.max_subscription_groups == 0) {
    error = "--max-pending-acks, --subscriber-queue, --max-subscriptions and "
            "--max-subscription-groups must be positive";
    return false;
  }
  if (c.max_payload == 0 || c.max_payload > kMaxPayloadLimit) {
    error = "--max-payload must be between 1 byte and 64MiB";
    return false;
  }
  return true;
}

std::string grpc_address(const std::string& host_port) {
  config::HostPort hp;
  std::string error;
  if (!config::parse_host_port(host_port, hp, error)) return host_port;
  if (hp.host.empty()) hp.host = "::";
  return config::format_host_port(hp);
}

}  // namespace wsgw::api
