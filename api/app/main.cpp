// ws-api: the gRPC API daemon that component services call to reach Socket.IO clients.
// SKELETON: the API validates requests and answers UNIMPLEMENTED until the Kafka/Redis
// back-end exists (see api/service/api_service.h).
#include <pthread.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "api/app/api_config.h"
#include "api/app/api_server.h"
#include "api/app/metrics_http.h"
#include "common/config/option_set.h"
#include "common/metrics/registry.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  wsgw::api::ApiConfig cfg;
  wsgw::config::OptionSet opts("ws-api",
                               "wsgw API daemon: the gRPC API (wsgw.v1) that component services "
                               "call to push to Socket.IO clients and to receive their events");
  wsgw::api::declare_options(opts, cfg);
  auto r = opts.parse(argc, argv);
  if (r.help) {
    std::fputs(opts.help_text().c_str(), stdout);
    return 0;
  }
  std::string error;
  if (!r.ok || !wsgw::api::validate(cfg, error)) {
    std::fprintf(stderr, "ws-api: %s\n(see ws-api --help)\n", r.ok ? error.c_str() : r.error.c_str());
    return 2;
  }
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

  wsgw::api::ApiServer server(cfg, &registry);
  if (!server.start(error)) {
    spdlog::critical("{}", error);
    return 1;
  }
  spdlog::info("gRPC API (wsgw.v1.WsApiService, health, reflection) on {} (port {})",
               cfg.grpc_listen, server.port());
  spdlog::warn("skeleton build: requests are validated, then answered UNIMPLEMENTED "
               "(no Kafka/Redis back-end yet)");
  if (!cfg.redis.empty() || !cfg.kafka_brokers.empty()) {
    spdlog::warn("--redis and --kafka-brokers are accepted but not used by this build");
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
  server.shutdown(std::chrono::milliseconds(cfg.shutdown_grace_ms));
  metrics_http.stop();
  spdlog::info("stopped");
  return 0;
}
