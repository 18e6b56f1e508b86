#include "api/app/api_config.h"

#include "common/config/value_parsers.h"

namespace wsgw::api {

namespace {
// gRPC's own message size limit must stay an int; leave headroom for the envelope.
constexpr uint64_t kMaxPayloadLimit = 64ull << 20;
}  // namespace

void declare_options(config::OptionSet& o, ApiConfig& c) {
  o.add("grpc-listen", "HOST:PORT of the gRPC API (wsgw.v1, health, reflection)", c.grpc_listen);
  o.add("redis", "Redis URL, redis://[user:password@]host:port[/db] (not used yet)", c.redis)
      .secret();
  o.add("kafka-brokers", "Kafka bootstrap brokers, comma-separated host:port (not used yet)",
        c.kafka_brokers);
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
  if (!c.metrics_listen.empty() && !config::parse_host_port(c.metrics_listen, hp, error)) {
    error = "--metrics-listen: " + error;
    return false;
  }
  if (!c.redis.empty() && c.redis.rfind("redis://", 0) != 0 && c.redis.rfind("rediss://", 0) != 0) {
    error = "--redis must be a redis:// or rediss:// URL";
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
