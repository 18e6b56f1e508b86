#include "gateway/session/gateway_metrics.h"

namespace wsgw::session {

GatewayMetrics::GatewayMetrics(metrics::Registry& r)
    : connections_websocket(r.gauge("wsgw_connections", "Open Engine.IO sessions by transport",
                                    {"transport"}).with({"websocket"})),
      connections_polling(r.gauge("wsgw_connections", "Open Engine.IO sessions by transport",
                                  {"transport"}).with({"polling"})),
      handshakes_websocket(r.counter("wsgw_handshakes_total", "Engine.IO handshakes by transport",
                                     {"transport"}).with({"websocket"})),
      handshakes_polling(r.counter("wsgw_handshakes_total", "Engine.IO handshakes by transport",
                                   {"transport"}).with({"polling"})),
      upgrades(r.counter("wsgw_upgrades_total", "Polling sessions upgraded to WebSocket").with({})),
      packets_in(r.counter("wsgw_packets_in_total", "Engine.IO packets received").with({})),
      packets_out(r.counter("wsgw_packets_out_total", "Engine.IO packets queued to clients").with({})),
      bytes_in(r.counter("wsgw_bytes_in_total", "Bytes read from client sockets").with({})),
      bytes_out(r.counter("wsgw_bytes_out_total", "Bytes written to client sockets").with({})),
      queue_drops_volatile(r.counter("wsgw_queue_drops_total",
                                     "Messages dropped by a full send queue (volatile policy)")
                               .with({})),
      heartbeat_rtt_seconds(
          r.histogram("wsgw_heartbeat_rtt_seconds", "Ping to pong round trip (EIO4 clients)", {},
                      {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10})
              .with({})),
      socketio_sockets(r.gauge("wsgw_socketio_sockets", "Connected Socket.IO namespace sockets")
                           .with({})),
      socketio_connect_errors(r.counter("wsgw_socketio_connect_errors_total",
                                        "Socket.IO CONNECT requests refused (auth, namespace)")
                                  .with({})),
      events_rate_limited(r.counter("wsgw_events_rate_limited_total",
                                    "Client events dropped: the connection was over "
                                    "--max-client-events").with({})),
      room_joins_refused(r.counter("wsgw_room_joins_refused_total",
                                   "Joins refused: the socket was in 1000 rooms already").with({})),
      http_errors(r.counter("wsgw_http_errors_total",
                            "HTTP requests answered with an Engine.IO error").with({})),
      tls_handshake_failures(
          r.counter("wsgw_tls_handshake_failures_total", "TLS handshakes that failed").with({})) {
  auto& fam = r.counter("wsgw_closes_total", "Sessions closed, by reason (docs/close-codes.md)",
                        {"reason"});
  for (size_t i = 0; i < std::size(kDisconnectTable); ++i)
    closes[i] = &fam.with({kDisconnectTable[i].name});
}

metrics::Counter& GatewayMetrics::closes_for(Disconnect d) {
  for (size_t i = 0; i < std::size(kDisconnectTable); ++i)
    if (kDisconnectTable[i].code == d) return *closes[i];
  return *closes[5];
}

}  // namespace wsgw::session
