// Fuzzing of ws-api's upstream record reader (api/service/records.h): anything that can be
// produced to wsgw.upstream must be refused with an error or turned into a ClientEvent that
// follows api.proto's rules, without crashing or unbounded allocation.
//
// Input: header lines "name:value" (split at the first ':'), then an empty line, then the
// record value as raw bytes. Without an empty line everything is headers and the value is empty.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/stubs/logging.h>

#include "api/service/records.h"
#include "api/service/validate.h"
#include "common/kafka/headers.h"
#include "wsgw/v1/api.pb.h"

namespace {

using namespace wsgw;

void require(bool condition) {
  if (!condition) std::abort();
}

void split_record(std::string_view input, std::vector<kafka::Header>& headers, std::string_view& value) {
  const std::size_t blank = input.find("\n\n");
  std::string_view head = input.substr(0, blank);
  value = blank == std::string_view::npos ? std::string_view{} : input.substr(blank + 2);
  while (!head.empty()) {
    const std::size_t end = head.find('\n');
    const std::string_view line = head.substr(0, end);
    head = end == std::string_view::npos ? std::string_view{} : head.substr(end + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      headers.push_back({line, {}});
    } else {
      headers.push_back({line.substr(0, colon), line.substr(colon + 1)});
    }
  }
}

void check_accepted(api::UpstreamOp op, const v1::ClientEvent& event) {
  require(api::check_sid(event.sid()).empty());
  require(api::check_namespace(event.namespace_()).empty());
  require(event.uid().empty() || api::check_name(event.uid()).empty());
  require(api::check_name(event.metadata().node()).empty());
  require(api::check_trace_id(event.metadata().trace_id()).empty());
  switch (op) {
    case api::UpstreamOp::connect: {
      require(event.kind_case() == v1::ClientEvent::kConnected);
      const v1::SocketInfo& socket = event.connected().socket();
      require(socket.sid() == event.sid() && socket.namespace_() == event.namespace_());
      require(socket.uid() == event.uid() && socket.node() == event.metadata().node());
      require(!socket.auth_json().empty());
      require(static_cast<std::size_t>(socket.rooms_size()) <= api::kMaxConnectRooms);
      break;
    }
    case api::UpstreamOp::disconnect:
      require(event.kind_case() == v1::ClientEvent::kDisconnected);
      require(api::check_name(event.disconnected().reason()).empty());
      break;
    case api::UpstreamOp::event:
    case api::UpstreamOp::ack: {
      require(event.kind_case() == v1::ClientEvent::kEvent);
      const v1::SocketEvent& socket_event = event.event();
      const auto attachments = static_cast<std::size_t>(socket_event.attachments_size());
      require(attachments <= api::kMaxUpstreamAttachments);
      require(api::check_args_json(socket_event.args_json(), attachments).empty());
      require(!socket_event.args_json().empty());
      if (op == api::UpstreamOp::event) {
        require(api::check_event_name(socket_event.name()).empty());
      } else {
        require(socket_event.name().empty() && socket_event.has_ack());
      }
      if (socket_event.has_ack()) {
        require(socket_event.ack().sid() == event.sid());
        require(socket_event.ack().node() == event.metadata().node());
      }
      break;
    }
  }
  // Every string field is valid UTF-8: a proto3 parser refuses the message otherwise, and so
  // would a subscriber's.
  std::string wire;
  require(event.SerializeToString(&wire));
  v1::ClientEvent reparsed;
  require(reparsed.ParseFromString(wire));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Serialization logs invalid UTF-8; a finding shows up as the reparse failing instead.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<kafka::Header> headers;
  std::string_view value;
  split_record(input, headers, value);

  api::UpstreamOp op = api::UpstreamOp::connect;
  v1::ClientEvent event;
  std::string error;
  if (api::parse_upstream(headers, value, op, event, error)) {
    require(error.empty());
    check_accepted(op, event);
  } else {
    require(!error.empty());
  }
  return 0;
}
