// Property fuzzing of ws-api's request path: whatever validate() accepts, the packet builder
// turns into a Socket.IO packet that the gateway's own decoder accepts with the same
// namespace, event name, ack id and attachment count, and neither step crashes on any input.
// (Kept beside the api unit tests; the fuzz/ tree belongs to another module's owner.)
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/stubs/logging.h>

#include "api/service/packet_builder.h"
#include "api/service/validate.h"
#include "common/socketio/packet.h"
#include "wsgw/v1/api.pb.h"

namespace {

using namespace wsgw;

void require(bool condition) {
  if (!condition) std::abort();
}

void check_round_trip(const api::SocketIoPacket& built, bool is_ack, std::string_view nsp,
                      std::string_view event, std::size_t attachments,
                      std::optional<uint64_t> id) {
  require(built.attachments == attachments);
  sio::Packet decoded;
  require(sio::decode(sio::ProtocolVersion::v5, built.text, decoded,
                      static_cast<uint32_t>(api::kMaxAttachments)) == sio::DecodeError::none);
  require(decoded.nsp == api::effective_namespace(nsp));
  require(decoded.attachments == attachments);
  require(decoded.id == id);
  if (is_ack) {
    require(decoded.type == (attachments ? sio::PacketType::binary_ack : sio::PacketType::ack));
    return;
  }
  require(decoded.type == (attachments ? sio::PacketType::binary_event : sio::PacketType::event));
  sio::EventView view;
  std::string storage;
  require(sio::scan_event(decoded.data, view, storage));
  require(view.name == event);
}

// Splits at NUL bytes: "a\0b\0c" -> a, b, c (missing parts are empty).
std::string_view next_part(std::string_view& rest) {
  const std::size_t end = rest.find('\0');
  std::string_view part = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Parsing refuses invalid UTF-8 in string fields by design; do not log every such input.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  api::Limits limits;
  limits.max_payload_bytes = 64 * 1024;

  switch (mode % 4) {
    case 0: {  // raw parts: namespace, event, args_json, then attachments
      v1::EmitRequest r;
      r.mutable_everyone();
      r.set_namespace_(std::string(next_part(rest)));
      r.set_event(std::string(next_part(rest)));
      r.set_args_json(std::string(next_part(rest)));
      while (!rest.empty() && r.attachments_size() < 70) r.add_attachments(std::string(next_part(rest)));
      if (api::validate(r, limits).ok()) {
        check_round_trip(api::build_emit_packet(r), false, r.namespace_(), r.event(),
                         r.attachments_size(), std::nullopt);
      }
      break;
    }
    case 1: {  // a serialized EmitRequest
      v1::EmitRequest r;
      if (!r.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) break;
      if (api::validate(r, limits).ok()) {
        check_round_trip(api::build_emit_packet(r), false, r.namespace_(), r.event(),
                         r.attachments_size(), std::nullopt);
      }
      break;
    }
    case 2: {  // a serialized EmitWithAckRequest
      v1::EmitWithAckRequest r;
      if (!r.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) break;
      if (api::validate(r, limits).ok()) {
        const uint64_t ack_id = size;  // any value
        check_round_trip(api::build_emit_packet(r, ack_id), false, r.namespace_(), r.event(),
                         r.attachments_size(), ack_id);
      }
      break;
    }
    case 3: {  // a serialized AnswerAckRequest
      v1::AnswerAckRequest r;
      if (!r.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) break;
      if (api::validate(r, limits).ok()) {
        check_round_trip(api::build_ack_packet(r), true, r.ack().namespace_(), {},
                         r.attachments_size(), r.ack().ack_id());
      }
      break;
    }
  }
  return 0;
}
