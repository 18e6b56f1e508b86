#pragma once
// ws-api's configuration: every field is a flag, a YAML key (--config) and a WSGW_*
// environment variable (see common/config/option_set.h). Defaults suit a local run.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/config/option_set.h"

namespace wsgw::api {

struct ApiConfig {
  std::string grpc_listen = "127.0.0.1:50051";
  // TLS for the gRPC port (empty: plaintext). With a client CA, every client must present a
  // certificate it signed (mutual TLS): the component services' authentication.
  std::string grpc_tls_cert;
  std::string grpc_tls_key;
  std::string grpc_tls_client_ca;
  uint64_t grpc_tls_refresh_ms = 60000;  // how often gRPC re-reads the three files
  std::string redis;                       // redis://[user:password@]host:port[/db]
  std::vector<std::string> kafka_brokers;  // host:port,...
  std::vector<std::string> kafka_options;  // librdkafka KEY=VALUE
  std::string metrics_listen;              // empty: no /metrics endpoint
  std::string log_level = "info";
  uint64_t max_payload = 1000000;
  uint64_t shutdown_grace_ms = 10000;
  // Cluster back-end (used when --redis and --kafka-brokers are both set).
  std::string node_name;  // default: the host name (the pod name in Kubernetes)
  int64_t downstream_partitions = 64;
  uint64_t node_timeout_ms = 10000;
  uint64_t reaper_period_ms = 2000;
  uint64_t max_pending_acks = 100000;
  uint64_t subscriber_queue = 1024;
  uint64_t max_subscriptions = 1000;
  uint64_t max_subscription_groups = 100;
  bool create_topics = true;
};


void declare_options(config::OptionSet& opts, ApiConfig& cfg);

// Checks what the option parser cannot (address syntax, URL scheme, ranges).
bool validate(const ApiConfig& cfg, std::string& error);

// "HOST:PORT" as gRPC wants it: IPv6 literals bracketed, an empty host as "[::]" (all
// interfaces). Expects an address validate() accepted.
std::string grpc_address(const std::string& host_port);

}  // namespace wsgw::api
