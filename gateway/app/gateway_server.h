#pragma once
// Wires a ws-gateway process: workers (one io_context per core, each on its own thread),
// SO_REUSEPORT listeners on every worker, the admin listener, metrics, and graceful shutdown.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/auth/jwt.h"
#include "common/metrics/registry.h"
#include "common/util/snowflake.h"
#include "gateway/app/gateway_config.h"
#include "gateway/cluster/cluster_node.h"
#include "gateway/net/listener.h"
#include "gateway/net/server_context.h"
#include "gateway/net/tls.h"

namespace wsgw::app {

class GatewayServer {
 public:
  explicit GatewayServer(GatewayConfig cfg);
  ~GatewayServer();

  // Opens listeners and starts the worker threads. False with `error` on failure.
  bool start(std::string& error);
  // Blocks until SIGTERM/SIGINT (or request_stop) and a graceful drain. Returns the exit code.
  int wait();
  // Drain and stop (thread-safe, also what the signals do).
  void request_stop();
  // The address the first plain listener got (useful with port 0 in tests).
  net::Listener::tcp::endpoint plain_endpoint() const;

 private:
  void drain();
  bool start_cluster(uint16_t& worker_id, std::string& error);
  void dispatch(std::shared_ptr<const cluster::DownstreamCommand> cmd);

  GatewayConfig cfg_;
  metrics::Registry registry_;
  std::unique_ptr<session::GatewayMetrics> metrics_;
  std::unique_ptr<util::Snowflake> ids_;
  std::unique_ptr<auth::JwtVerifier> jwt_;
  std::unique_ptr<session::SocketIoApp> app_;
  cluster::ClusterNode* cluster_ = nullptr;  // app_ in cluster mode
  net::SslCtxPtr tls_;
  net::ServerContext ctx_;
  std::vector<std::shared_ptr<net::Listener>> client_listeners_;
  std::vector<std::shared_ptr<net::Listener>> admin_listeners_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_requested_{false};
};

}  // namespace wsgw::app
