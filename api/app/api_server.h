#pragma once
// The ws-api gRPC server: wsgw.v1.WsApiService, the standard health service
// (grpc.health.v1.Health) and server reflection, on one listening port.
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "api/app/api_config.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace wsgw::metrics {
class Registry;
}  // namespace wsgw::metrics

namespace wsgw::api {

class ApiService;
class ClusterBackend;
class SubscriptionHub;

// The service name health checks ask about, besides "" (the whole server).
inline constexpr const char* kServiceName = "wsgw.v1.WsApiService";

class ApiServer {
 public:
  // `registry`, `backend` and `hub` may be null (without a back-end the API only validates);
  // otherwise they must outlive the server.
  ApiServer(const ApiConfig& cfg, metrics::Registry* registry, ClusterBackend* backend = nullptr,
            SubscriptionHub* hub = nullptr);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds and starts serving. False with `error` set when the address cannot be bound.
  bool start(std::string& error);

  // The bound port (useful with port 0); 0 before start().
  int port() const { return port_; }

  // Whether health checks answer SERVING.
  bool serving() const { return serving_.load(std::memory_order_relaxed); }

  // Health checks turn NOT_SERVING, new calls are refused, in-flight calls get `grace` to
  // finish and are then cancelled. Returns when the server has stopped. Idempotent.
  void shutdown(std::chrono::milliseconds grace);

 private:
  ApiConfig cfg_;
  metrics::Registry* registry_;
  ClusterBackend* backend_;
  SubscriptionHub* hub_;
  std::unique_ptr<ApiService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::atomic<bool> serving_{false};  // read by the metrics thread (/readyz)
};

}  // namespace wsgw::api
