#include "gateway/session/wire.h"

#include "gateway/websocket/frame.h"

namespace wsgw::session {
namespace {

std::string frame_with_header(ws::Opcode op, std::string_view prefix, std::string_view data,
                              uint8_t& data_offset) {
  uint8_t header[10];
  size_t header_len = ws::encode_frame_header(header, op, prefix.size() + data.size());
  std::string frame;
  frame.reserve(header_len + prefix.size() + data.size());
  frame.append(reinterpret_cast<const char*>(header), header_len);
  frame.append(prefix);
  data_offset = static_cast<uint8_t>(frame.size());
  frame.append(data);
  return frame;
}

}  // namespace

WirePacket make_text_packet(eio::PacketType type, std::string_view data) {
  WirePacket p;
  p.type = type;
  const char type_char = static_cast<char>('0' + static_cast<int>(type));
  p.frame = frame_with_header(ws::Opcode::text, std::string_view(&type_char, 1), data, p.data_offset);
  return p;
}

WirePacket make_binary_packet(std::string_view bytes) {
  WirePacket p;
  p.binary = true;
  p.frame = frame_with_header(ws::Opcode::binary, {}, bytes, p.data_offset);
  uint8_t ignored = 0;
  const char v3_type = 4;  // Engine.IO v3 binary frames start with the packet type as a byte
  p.frame_v3 = frame_with_header(ws::Opcode::binary, std::string_view(&v3_type, 1), bytes, ignored);
  return p;
}

WirePacket make_ws_control(uint8_t opcode, std::string_view payload) {
  WirePacket p;
  p.ws_only = true;
  p.frame = frame_with_header(static_cast<ws::Opcode>(opcode), {}, payload, p.data_offset);
  return p;
}

WireMessagePtr make_message(std::vector<WirePacket> packets) {
  auto m = std::make_shared<WireMessage>();
  m->packets = std::move(packets);
  m->bytes = kMessageOverhead;
  for (const auto& p : m->packets) m->bytes += p.frame.size() + p.frame_v3.size();
  return m;
}

WireMessagePtr make_message(WirePacket packet) {
  std::vector<WirePacket> v;
  v.push_back(std::move(packet));
  return make_message(std::move(v));
}

WireMessagePtr make_socketio_message(std::string_view encoded_packet,
                                     std::span<const std::string> attachments) {
  std::vector<WirePacket> v;
  v.reserve(1 + attachments.size());
  v.push_back(make_text_packet(eio::PacketType::message, encoded_packet));
  for (const auto& a : attachments) v.push_back(make_binary_packet(a));
  return make_message(std::move(v));
}

}  // namespace wsgw::session
