#pragma once
// The one table of reasons a gateway session ends (docs/close-codes.md). Shared: the gateway
// closes sessions with these codes and names their disconnect records after them; ws-api maps
// the names in those records back to codes (SocketDisconnected.code) and reports node_lost. Each reason has a stable numeric code that is
// sent as the WebSocket close code (when the transport is a WebSocket), used as the `reason`
// label of wsgw_closes_total, and documented in docs/close-codes.md. Codes below 4000 are the
// RFC 6455 ones; 4000-4499 mean "reconnecting is fine", 4500-4999 "do not reconnect as is".
#include <cstdint>
#include <string_view>

namespace wsgw::protocol {

enum class Disconnect : uint16_t {
  client_close = 1000,      // client sent an Engine.IO close packet or a WebSocket close frame
  shutdown = 1001,          // server is draining (SIGTERM); reconnect elsewhere
  protocol_error = 1002,    // WebSocket framing violation
  invalid_payload = 1007,   // text frame that is not UTF-8
  message_too_big = 1009,   // message or POST body over maxPayload
  internal_error = 1011,
  transport_error = 4000,   // the socket failed or the peer vanished (no close frame can be sent)
  ping_timeout = 4001,      // no pong (EIO4) or ping (EIO3) within pingTimeout
  slow_consumer = 4002,     // send queue over its byte limit with nothing volatile left to drop
  transport_replaced = 4003,// polling transport retired after an upgrade, or a duplicate GET
  connect_timeout = 4004,   // no Socket.IO CONNECT within the connect timeout
  node_lost = 4005,         // reported by ws-api's reaper: the gateway node holding the socket died
  bad_packet = 4500,        // malformed Engine.IO or Socket.IO packet
  kicked = 4501,            // disconnected by the server API
  bad_request = 4502,       // HTTP misuse of a session: concurrent GETs, wrong transport
};

struct DisconnectInfo {
  Disconnect code;
  std::string_view name;   // metrics label and log text
  bool reconnect;          // may the client reconnect right away
};

constexpr DisconnectInfo kDisconnectTable[] = {
    {Disconnect::client_close, "client_close", true},
    {Disconnect::shutdown, "shutdown", true},
    {Disconnect::protocol_error, "protocol_error", false},
    {Disconnect::invalid_payload, "invalid_payload", false},
    {Disconnect::message_too_big, "message_too_big", false},
    {Disconnect::internal_error, "internal_error", true},
    {Disconnect::transport_error, "transport_error", true},
    {Disconnect::ping_timeout, "ping_timeout", true},
    {Disconnect::slow_consumer, "slow_consumer", true},
    {Disconnect::transport_replaced, "transport_replaced", true},
    {Disconnect::connect_timeout, "connect_timeout", true},
    {Disconnect::node_lost, "node_lost", true},
    {Disconnect::bad_packet, "bad_packet", false},
    {Disconnect::kicked, "kicked", false},
    {Disconnect::bad_request, "bad_request", false},
};

constexpr const DisconnectInfo& info(Disconnect d) {
  for (const auto& row : kDisconnectTable)
    if (row.code == d) return row;
  return kDisconnectTable[5];  // internal_error; unreachable for valid enum values
}
constexpr std::string_view name(Disconnect d) { return info(d).name; }

}  // namespace wsgw::protocol
