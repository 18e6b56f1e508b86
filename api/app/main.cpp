// ws-api: the gRPC API daemon that component services call to reach Socket.IO clients.
// With --redis and --kafka-brokers it runs the cluster back-end (api/service/cluster_backend.h,
// subscription_hub.h); without them it only validates requests (answering UNIMPLEMENTED).
#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <algorithm>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api/app/api_config.h"
#include "api/app/api_server.h"
#include "api/app/metrics_http.h"
#include "api/service/cluster_backend.h"
#include "api/service/subscription_hub.h"
#include "common/kafka/properties.h"
#include "common/redis/url.h"
#include "common/config/option_set.h"
#include "common/metrics/registry.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  wsgw::api::ApiConfig cfg;
  wsgw::config::OptionSet opts("ws-api",
                               "wsgw API daemon: the gRPC API (wsgw.v1) that component services "
                               "call to push to Socket.IO clients and to receive their events");
  wsgw::api::declare_options(opts, cfg);
  if (auto exit_code = opts.parse_command_line(
          argc, argv, [&](std::string& error) { return wsgw::api::validate(cfg, error); })) {
    return *exit_code;
  }
  std::string error;
  auto logger = spdlog::stderr_color_mt("ws-api");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::debug("effective configuration:\n{}", opts.dump_effective());

  // Block the termination signals before any thread starts (gRPC's pollers, the metrics
  // thread inherit the mask), so that only sigwait() below ever receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  wsgw::metrics::Registry registry;
  wsgw::metrics::register_process_metrics(registry);

  std::unique_ptr<wsgw::api::ClusterBackend> backend;
  std::unique_ptr<wsgw::api::SubscriptionHub> hub;
  if (!cfg.redis.empty()) {
    if (cfg.node_name.empty()) {
      char host[256] = {};
      gethostname(host, sizeof host - 1);
      cfg.node_name = host;
    }
    wsgw::redis::Url redis_url;
    wsgw::redis::parse_url(cfg.redis, redis_url, error);  // validated above
    std::string brokers;
    for (const auto& broker : cfg.kafka_brokers) {
      if (!brokers.empty()) brokers += ',';
      brokers += broker;
    }
    wsgw::api::BackendOptions bo;
    bo.node_name = cfg.node_name;
    bo.kafka_brokers = brokers;
    wsgw::kafka::parse_properties(cfg.kafka_options, bo.kafka_extra, error);  // validated above
    bo.redis_host = redis_url.host;
    bo.redis_port = redis_url.port;
    bo.redis_username = redis_url.username;
    bo.redis_password = redis_url.password;
    bo.downstream_partitions = static_cast<int32_t>(cfg.downstream_partitions);
    bo.node_timeout = std::chrono::milliseconds(cfg.node_timeout_ms);
    bo.reaper_period = std::chrono::milliseconds(cfg.reaper_period_ms);
    bo.max_pending_acks = cfg.max_pending_acks;
    bo.create_topics = cfg.create_topics;
    backend = std::make_unique<wsgw::api::ClusterBackend>(bo, &registry);
    if (!backend->start(error)) {
      spdlog::critical("cluster back-end: {}", error);
      return 1;
    }
    wsgw::api::SubscriptionHubOptions ho;
    ho.brokers = brokers;
    ho.kafka_extra = bo.kafka_extra;
    ho.api_node = cfg.node_name;
    ho.stream_queue = cfg.subscriber_queue;
    ho.max_streams = cfg.max_subscriptions;
    ho.max_groups = cfg.max_subscription_groups;
    hub = std::make_unique<wsgw::api::SubscriptionHub>(ho, &registry);
  }

  wsgw::api::ApiServer server(cfg, &registry, backend.get(), hub.get());
  if (!server.start(error)) {
    spdlog::critical("{}", error);
    return 1;
  }
  spdlog::info("gRPC API (wsgw.v1.WsApiService, health, reflection) on {} (port {}, {})",
               cfg.grpc_listen, server.port(),
               cfg.grpc_tls_cert.empty()          ? "plaintext"
               : cfg.grpc_tls_client_ca.empty() ? "TLS"
                                                 : "mutual TLS: client certificates required");
  if (!backend) {
    spdlog::warn("no --redis/--kafka-brokers: requests are validated, then answered "
                 "UNIMPLEMENTED");
  }

  wsgw::api::MetricsHttpServer metrics_http(registry, [&server] { return server.serving(); });
  if (!cfg.metrics_listen.empty()) {
    wsgw::config::HostPort address;
    wsgw::config::parse_host_port(cfg.metrics_listen, address, error);  // validated above
    if (!metrics_http.start(address, error)) {
      spdlog::critical("{}", error);
      server.shutdown(std::chrono::milliseconds(0));
      return 1;
    }
    spdlog::info("/metrics /healthz /readyz on {} (port {})", cfg.metrics_listen,
                 metrics_http.port());
  }

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("{}: shutting down (grace {} ms)", strsignal(signal_number), cfg.shutdown_grace_ms);
  // Subscribers first (they resubscribe to another replica), then the back-end: waiting
  // EmitWithAck calls end with UNAVAILABLE and new calls are refused, so the server's grace
  // only has short calls left to wait for.
  if (hub) hub->stop();
  if (backend) backend->stop(std::chrono::milliseconds(std::min<uint64_t>(cfg.shutdown_grace_ms, 5000)));
  server.shutdown(std::chrono::milliseconds(cfg.shutdown_grace_ms));
  metrics_http.stop();
  spdlog::info("stopped");
  return 0;
}
