#pragma once
// Turns validated API requests into the Socket.IO packets that gateways send as they are:
// ws-api encodes a push once, and every gateway writes the same bytes to each target socket
// (ARCHITECTURE.md, "Push").
//
// `text` is the Socket.IO packet alone, e.g. 2/custom,["evt",1,"a"]. The Engine.IO message
// type in front ("4") is added by the gateway per transport (session::make_socketio_message),
// because Engine.IO v3 and v4 frame the binary attachments that follow differently.
// Attachments are sent as separate binary messages after the packet, in request order; they
// stay in the request and are not copied here.
//
// Every function expects a request that validate() accepted; on anything else the output is
// unspecified (but memory-safe).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wsgw::v1 {
class EmitRequest;
class EmitWithAckRequest;
class AnswerAckRequest;
}  // namespace wsgw::v1

namespace wsgw::api {

struct SocketIoPacket {
  std::string text;          // the Socket.IO packet
  uint32_t attachments = 0;  // binary messages that must follow it

  // "4" + text: the Engine.IO message as a WebSocket text frame or polling payload carries it.
  std::string engineio_text() const;
};

// The elements of a JSON array text without the brackets and surrounding whitespace:
// ` [1, "a"] ` -> `1, "a"`, `[]` -> ``, `` -> ``.
std::string_view array_elements(std::string_view args_json);

// EVENT, or BINARY_EVENT when attachments > 0, with an ack id when given.
SocketIoPacket build_event_packet(std::string_view nsp, std::string_view event,
                                  std::string_view args_json, std::size_t attachments,
                                  std::optional<uint64_t> ack_id = {});

SocketIoPacket build_emit_packet(const v1::EmitRequest& request);
// `ack_id` is chosen by ws-api (unique per socket while the ack is pending).
SocketIoPacket build_emit_packet(const v1::EmitWithAckRequest& request, uint64_t ack_id);
// ACK or BINARY_ACK answering the client's ack id.
SocketIoPacket build_ack_packet(const v1::AnswerAckRequest& request);
// The `notify_event` of a kick: event(reason) sent just before the DISCONNECT packet.
SocketIoPacket build_disconnect_notice(std::string_view nsp, std::string_view notify_event,
                                       std::string_view reason);

}  // namespace wsgw::api
