#pragma once
// Everything the connections of a running gateway share, read-only after start-up
// (apart from atomics). Built by the app layer from the configuration.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <openssl/ssl.h>

#include "common/metrics/registry.h"
#include "gateway/net/session_directory.h"
#include "gateway/session/engine_session.h"
#include "gateway/session/gateway_metrics.h"
#include "gateway/session/socketio_session.h"

namespace wsgw::net {

class Worker;

struct HttpOptions {
  std::string socketio_path = "/socket.io/";
  std::string engineio_path;                  // raw Engine.IO endpoint, conformance mode only
  std::vector<std::string> cors_origins;      // empty = any origin
  bool serve_admin = true;                    // /metrics /healthz /readyz on the client listeners
  uint32_t request_timeout_ms = 30000;        // idle HTTP connection / incomplete request
  uint32_t tls_handshake_timeout_ms = 10000;
  size_t max_header_bytes = 8192;
  size_t max_sessions = 0;                    // 0 = no limit; beyond it handshakes get 503
  int socket_send_buffer = 0;                 // SO_SNDBUF of client sockets; 0 = kernel autotuning
};

// Makes the handler above Engine.IO for a new session of the raw endpoint (conformance echo).
using RawHandlerFactory = std::function<std::unique_ptr<session::SessionHandler>()>;

struct ServerContext {
  HttpOptions http;
  session::SessionConfig session_cfg;
  session::SocketIoContext sio;
  RawHandlerFactory raw_handler;
  metrics::Registry* registry = nullptr;
  session::GatewayMetrics* metrics = nullptr;
  util::Snowflake* ids = nullptr;
  SSL_CTX* tls = nullptr;
  SessionDirectory directory;
  std::vector<std::unique_ptr<Worker>> workers;
  std::atomic<bool> draining{false};
};

}  // namespace wsgw::net
