#pragma once
// ws-gateway's configuration: every field is a flag, a YAML key (--config) and a WSGW_*
// environment variable (docs/configuration.md). Defaults suit a local run.
#include <cstdint>
#include <string>
#include <vector>

#include "common/config/option_set.h"

namespace wsgw::app {

struct GatewayConfig {
  std::string listen = "127.0.0.1:3000";
  std::string tls_listen;
  std::string tls_cert;
  std::string tls_key;
  uint32_t threads = 0;
  uint64_t ping_interval_ms = 25000;
  uint64_t ping_timeout_ms = 20000;
  uint64_t heartbeat_min_interval_ms = 10000;
  uint64_t heartbeat_step_ms = 5000;
  uint32_t heartbeat_healthy_pongs = 3;
  uint64_t max_payload = 1000000;
  uint64_t max_queue_bytes = 1 << 20;
  uint64_t socket_send_buffer = 256 << 10;  // SO_SNDBUF per client socket; 0 = kernel autotuning
  uint64_t max_connections = 0;
  std::string auth = "none";
  std::string jwt_secret;
  std::vector<std::string> cors_origins;
  uint32_t worker_id = 0;
  std::string metrics_listen;
  std::string log_level = "info";
  bool conformance = false;
  std::string path = "/socket.io/";
  std::vector<std::string> namespaces{"/"};
  uint64_t connect_timeout_ms = 45000;
  uint32_t max_client_events = 0;  // events per second per connection; 0 = no limit
  uint64_t upgrade_timeout_ms = 10000;
  uint64_t http_timeout_ms = 30000;
  uint64_t shutdown_grace_ms = 10000;
  // Cluster mode (all three, or none): docs/cluster.md.
  std::string kafka_brokers;
  std::vector<std::string> kafka_options;  // librdkafka KEY=VALUE
  std::string redis;
  std::string node_name;
  uint32_t downstream_partitions = 64;
  uint64_t touch_period_ms = 10000;
  uint64_t downstream_backlog = 64ull << 20;  // bytes of records handed to workers, not applied
  bool create_topics = true;  // false with a cluster that cannot (the local demo's mock Kafka)
};

// Declares every option of `cfg` on `opts`.
void declare_options(config::OptionSet& opts, GatewayConfig& cfg);

// Checks combinations the option parser cannot (e.g. --auth jwt needs --jwt-secret).
bool validate(GatewayConfig& cfg, std::string& error);

}  // namespace wsgw::app
