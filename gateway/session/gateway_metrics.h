#pragma once
// The gateway's metrics, declared next to the component that owns them (docs/metrics.md lists
// them). Children are resolved once at start-up; the hot path only touches atomics.
#include <array>

#include "common/metrics/registry.h"
#include "gateway/session/disconnect.h"

namespace wsgw::session {

struct GatewayMetrics {
  explicit GatewayMetrics(metrics::Registry& r);

  metrics::Gauge& connections_websocket;
  metrics::Gauge& connections_polling;
  metrics::Counter& handshakes_websocket;
  metrics::Counter& handshakes_polling;
  metrics::Counter& upgrades;
  metrics::Counter& packets_in;
  metrics::Counter& packets_out;
  metrics::Counter& bytes_in;
  metrics::Counter& bytes_out;
  metrics::Counter& queue_drops_volatile;
  metrics::Histogram& heartbeat_rtt_seconds;
  metrics::Gauge& socketio_sockets;
  metrics::Counter& socketio_connect_errors;
  metrics::Counter& events_rate_limited;
  metrics::Counter& room_joins_refused;
  metrics::Counter& http_errors;
  metrics::Counter& tls_handshake_failures;
  std::array<metrics::Counter*, std::size(kDisconnectTable)> closes{};

  metrics::Counter& closes_for(Disconnect d);
};

}  // namespace wsgw::session
