#pragma once
// Socket.IO packet codec: protocol v5 (socket.io 3/4 over Engine.IO v4) and v4 (socket.io-client
// 2.x over Engine.IO v3). Pure text in, text out: no sockets, no sessions, and the text handled
// here is the Socket.IO packet alone, without the Engine.IO "4" (message) type in front.
//
//   <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// The gateway never decodes application payloads: decode() reads type, namespace, ack id and
// attachment count, validates the payload's JSON syntax and its top-level shape (as the reference
// socket.io-parser 4.x does), and keeps the payload as the exact text received.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/socketio/json.h"

namespace wsgw::sio {

enum class ProtocolVersion : uint8_t { v4 = 4, v5 = 5 };

enum class PacketType : uint8_t {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,  // "ERROR" in v4
  binary_event = 5,
  binary_ack = 6,
};

constexpr bool is_binary(PacketType t) {
  return t == PacketType::binary_event || t == PacketType::binary_ack;
}

// A namespace longer than this (without a v4 query) is refused: no real application needs one,
// and the name is used as a map key and a metrics/header value.
inline constexpr std::size_t kMaxNamespaceLength = 256;

// Every member has an initialiser, so designated initialisation (Packet{.type = ...}) does not
// trip -Wmissing-field-initializers.
struct Packet {
  PacketType type = PacketType::connect;
  std::string nsp = "/";
  std::optional<uint64_t> id = {};
  uint32_t attachments = 0;  // binary types only
  std::string data = {};     // raw JSON text exactly as received (empty when absent)
  std::string query = {};    // v4 CONNECT only: "a=b" from a namespace "/chat?a=b"

  bool operator==(const Packet&) const = default;
};

enum class DecodeError {
  none,
  empty,
  unknown_type,          // first character is not 0..6
  bad_attachments,       // binary type without "<digits>-"
  too_many_attachments,  // more than the caller's limit
  bad_namespace,         // control character, invalid UTF-8, or too long
  bad_id,                // ack id does not fit in uint64
  bad_json,              // payload is not one valid JSON text
  bad_payload,           // valid JSON of the wrong shape for the type, or missing/forbidden
};

std::string_view to_string(DecodeError e);

// Decodes one Socket.IO packet. On any error the connection should be closed, as the reference
// server does. `out` is overwritten; on error its content is unspecified.
//
// Payload rules (both versions unless said):
//   CONNECT        v5: absent or an object. v4: absent; the namespace may carry "?query".
//   DISCONNECT     absent.
//   EVENT, BINARY_EVENT  a non-empty array whose first element is a number, or a string that is
//                  not a reserved name (connect, connect_error, disconnect, disconnecting,
//                  newListener, removeListener).
//   ACK, BINARY_ACK      an array.
//   CONNECT_ERROR  an object or a string.
// Stricter than socket.io-parser in three ways: an EVENT/ACK with no payload at all is refused
// (the spec calls it mandatory), so is JSON nested deeper than kMaxJsonDepth, and ack ids
// must fit in uint64 (JavaScript silently rounds beyond 2^53).
DecodeError decode(ProtocolVersion version, std::string_view text, Packet& out,
                   uint32_t max_attachments = 10);

// True for the names socket.io 4 refuses as incoming event names.
bool is_reserved_event_name(std::string_view name);

// The parts of a validated EVENT payload the gateway routes on.
struct EventView {
  std::string_view name;      // decoded event name (a number's text if numeric_name)
  std::string_view args;      // raw JSON of the elements after the name, trimmed; empty if none
  bool numeric_name = false;  // the first element was a JSON number (socket.io allows it)
};

// Scans `event_json_array` (a payload decode() accepted for EVENT/BINARY_EVENT). `name` points
// into the input unless the name has escapes; then it is decoded into `name_storage` and points
// there. Example: ["message",1,"2",{"3":[true]}] -> name "message", args 1,"2",{"3":[true]}.
// Returns false if the text is not such an array (never reads out of bounds on any input).
bool scan_event(std::string_view event_json_array, EventView& out, std::string& name_storage);

// Serialises `p`: type, "N-" for binary types, namespace (with "?query" if set) unless "/",
// ack id, data verbatim. decode(encode(p)) == p for every packet decode() produced.
std::string encode(const Packet& p);

// Builders. `args_json` is the JSON of the arguments without the enclosing brackets, e.g.
// `1,"two"`; it is copied verbatim (the gateway forwards payloads it never parsed).
// `attachments` > 0 makes a BINARY_EVENT / BINARY_ACK.
std::string encode_event(std::string_view nsp, std::string_view event_name,
                         std::string_view args_json, std::optional<uint64_t> ack_id = {},
                         uint32_t attachments = 0);
std::string encode_ack(std::string_view nsp, uint64_t id, std::string_view args_json,
                       uint32_t attachments = 0);
// v5: 0{"sid":"..."} or 0/admin,{"sid":"..."}.  v4: 0 or 0/admin, (no payload).
std::string encode_connect_ok(ProtocolVersion version, std::string_view nsp, std::string_view sid);
// v5: 4{"message":"...","data":<data_json>} ("data" only if data_json is non-empty).
// v4: 4"message", or 4<data_json> when data_json is set, as socket.io 2.x sends err.data in
//     place of err.message when a middleware provides it.
std::string encode_connect_error(ProtocolVersion version, std::string_view nsp,
                                 std::string_view message, std::string_view data_json = {});
std::string encode_disconnect(std::string_view nsp);

}  // namespace wsgw::sio

// decode() starts binary packets that BinaryAssembler completes; one include gives both.
#include "common/socketio/binary.h"
