#pragma once
// A small HTTP endpoint for operators: GET /metrics (Prometheus text), /healthz (the process
// is up) and /readyz (the API is serving). One thread of its own; bounded: at most 64
// connections, 8 KiB of request header, 10 s per request, one request per connection.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/config/value_parsers.h"

namespace wsgw::metrics {
class Registry;
}  // namespace wsgw::metrics

namespace wsgw::api {

class MetricsHttpServer {
 public:
  using ReadyFn = std::function<bool()>;

  // `registry` must outlive the server; `ready` is called on the server's thread.
  MetricsHttpServer(metrics::Registry& registry, ReadyFn ready);
  ~MetricsHttpServer();  // stops
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  bool start(const config::HostPort& address, std::string& error);
  uint16_t port() const;
  // Closes the listener and every open connection, then joins the thread. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wsgw::api
