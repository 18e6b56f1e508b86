#pragma once
// Outbound packets in their on-the-wire form, built once and shared by reference count.
// A broadcast to 100k sockets is one WireMessage: every WebSocket transport writes the same
// `frame` bytes; polling transports read `data()` and batch it into their payload format.
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/engineio/codec.h"

namespace wsgw::session {

struct WirePacket {
  eio::PacketType type = eio::PacketType::message;
  bool binary = false;
  bool ws_only = false;       // a raw WebSocket control frame (pong, close): never sent by polling
  uint8_t data_offset = 0;    // where the Engine.IO packet data starts inside `frame`
  std::string frame;          // complete unmasked WebSocket frame (Engine.IO v4 layout)
  std::string frame_v3;       // binary packets only: the Engine.IO v3 layout (type byte first)

  std::string_view data() const { return std::string_view(frame).substr(data_offset); }
  std::string_view ws_bytes(eio::Version v) const {
    return binary && v == eio::Version::v3 ? std::string_view(frame_v3) : std::string_view(frame);
  }
  eio::Packet to_packet() const { return eio::Packet{type, binary, std::string(data())}; }
};

// What a queued message costs besides its frames: the shared message, its packet vector and
// the queue entry. Counted so that a flood of tiny messages (pongs) cannot hold 50 times the
// queue's byte limit in bookkeeping.
inline constexpr size_t kMessageOverhead = 128;

struct WireMessage {
  std::vector<WirePacket> packets;
  size_t bytes = 0;  // what this message costs a send queue: frames + kMessageOverhead
};
using WireMessagePtr = std::shared_ptr<const WireMessage>;

WirePacket make_text_packet(eio::PacketType type, std::string_view data);
WirePacket make_binary_packet(std::string_view bytes);
WirePacket make_ws_control(uint8_t opcode, std::string_view payload);
WireMessagePtr make_message(std::vector<WirePacket> packets);
WireMessagePtr make_message(WirePacket packet);
// A Socket.IO packet (already encoded text) plus its binary attachments, as Engine.IO messages.
WireMessagePtr make_socketio_message(std::string_view encoded_packet,
                                     std::span<const std::string> attachments = {});

}  // namespace wsgw::session
