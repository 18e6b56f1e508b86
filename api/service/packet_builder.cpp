#include "api/service/packet_builder.h"

#include "api/service/validate.h"
#include "common/socketio/json.h"
#include "common/socketio/packet.h"
#include "wsgw/v1/api.pb.h"

namespace wsgw::api {
namespace {

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_json_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_json_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string SocketIoPacket::engineio_text() const {
  std::string out;
  out.reserve(text.size() + 1);
  out += '4';
  out += text;
  return out;
}

std::string_view array_elements(std::string_view args_json) {
  std::string_view s = trim(args_json);
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') return {};
  return trim(s.substr(1, s.size() - 2));
}

SocketIoPacket build_event_packet(std::string_view nsp, std::string_view event,
                                  std::string_view args_json, std::size_t attachments,
                                  std::optional<uint64_t> ack_id) {
  const auto count = static_cast<uint32_t>(attachments);
  return {sio::encode_event(effective_namespace(nsp), event, array_elements(args_json), ack_id,
                            count),
          count};
}

SocketIoPacket build_emit_packet(const v1::EmitRequest& r) {
  return build_event_packet(r.namespace_(), r.event(), r.args_json(), r.attachments_size());
}

SocketIoPacket build_emit_packet(const v1::EmitWithAckRequest& r, uint64_t ack_id) {
  return build_event_packet(r.namespace_(), r.event(), r.args_json(), r.attachments_size(),
                            ack_id);
}

SocketIoPacket build_ack_packet(const v1::AnswerAckRequest& r) {
  const auto count = static_cast<uint32_t>(r.attachments_size());
  return {sio::encode_ack(effective_namespace(r.ack().namespace_()), r.ack().ack_id(),
                          array_elements(r.args_json()), count),
          count};
}

SocketIoPacket build_disconnect_notice(std::string_view nsp, std::string_view notify_event,
                                       std::string_view reason) {
  std::string reason_json = "\"";
  sio::json_escape_append(reason_json, reason);
  reason_json += '"';
  return {sio::encode_event(effective_namespace(nsp), notify_event, reason_json), 0};
}

}  // namespace wsgw::api
