#include "api/service/validate.h"

#include <string>

#include "common/codec/utf8.h"
#include "common/socketio/binary.h"
#include "common/socketio/json.h"
#include "common/socketio/packet.h"
#include "wsgw/v1/api.pb.h"

namespace wsgw::api {
namespace {

constexpr std::string_view kFine{};

// Control characters would end up in log lines, Kafka headers and Redis keys.
bool is_printable_utf8(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) return false;
  }
  return codec::is_valid_utf8(s);
}

bool is_printable_ascii(std::string_view s, bool allow_space) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u > 0x7E || u < 0x20 || (u == 0x20 && !allow_space)) return false;
  }
  return true;
}

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

grpc::Status invalid(std::string_view field, std::string_view why) {
  std::string message;
  message.reserve(field.size() + why.size() + 2);
  message.append(field).append(": ").append(why);
  return {grpc::StatusCode::INVALID_ARGUMENT, message};
}

std::string indexed(std::string_view field, std::size_t index) {
  return std::string(field) + "[" + std::to_string(index) + "]";
}

std::string too_many(std::size_t count, std::size_t max) {
  return std::to_string(count) + " entries, at most " + std::to_string(max) + " allowed";
}

// Each request's rules read top to bottom; the first problem found is the answer.
#define WSGW_RETURN_IF_ERROR(expr)         \
  do {                                     \
    grpc::Status status_ = (expr);         \
    if (!status_.ok()) return status_;     \
  } while (false)

grpc::Status field(std::string_view name, std::string_view why) {
  return why.empty() ? grpc::Status::OK : invalid(name, why);
}

grpc::Status namespace_field(std::string_view name, std::string_view nsp) {
  return field(name, check_namespace(effective_namespace(nsp)));
}

grpc::Status free_text(std::string_view name, std::string_view text) {
  if (text.size() > kMaxNameBytes) return invalid(name, "longer than 256 bytes");
  if (!is_printable_utf8(text)) return invalid(name, "must be printable UTF-8 (no control characters)");
  return grpc::Status::OK;
}

template <class Attachments>
grpc::Status payload(std::string_view args_json, const Attachments& attachments,
                     const Limits& limits) {
  if (static_cast<std::size_t>(attachments.size()) > kMaxAttachments) {
    return invalid("attachments", too_many(attachments.size(), kMaxAttachments));
  }
  std::size_t total = args_json.size();
  for (const auto& a : attachments) total += a.size();
  if (total > limits.max_payload_bytes) {
    return invalid("args_json", "args_json and attachments total " + std::to_string(total) +
                                    " bytes, over the server's limit of " +
                                    std::to_string(limits.max_payload_bytes));
  }
  return field("args_json", check_args_json(args_json, attachments.size()));
}

template <class Rooms>
grpc::Status room_list(const Rooms& rooms) {
  if (rooms.empty()) return invalid("rooms", "at least one room is required");
  if (static_cast<std::size_t>(rooms.size()) > kMaxRoomsPerRequest) {
    return invalid("rooms", too_many(rooms.size(), kMaxRoomsPerRequest));
  }
  for (int i = 0; i < rooms.size(); ++i) {
    if (auto why = check_name(rooms[i]); !why.empty()) return invalid(indexed("rooms", i), why);
  }
  return grpc::Status::OK;
}

grpc::Status page(std::string_view size_field, int32_t page_size, std::string_view page_token) {
  if (page_size < 0) return invalid(size_field, "must not be negative");
  if (page_token.size() > kMaxPageTokenBytes || !is_printable_ascii(page_token, false)) {
    return invalid("page_token", "not a token this API returned");
  }
  return grpc::Status::OK;
}

grpc::Status disconnect_options(std::string_view reason, std::string_view notify_event) {
  WSGW_RETURN_IF_ERROR(free_text("reason", reason));
  if (!notify_event.empty()) WSGW_RETURN_IF_ERROR(field("notify_event", check_event_name(notify_event)));
  return grpc::Status::OK;
}

template <class Request>
grpc::Status sid_or_uid_target(const Request& r) {
  switch (r.target_case()) {
    case Request::kSid:
      return field("sid", check_sid(r.sid()));
    case Request::kUid:
      return field("uid", check_name(r.uid()));
    case Request::TARGET_NOT_SET:
      break;
  }
  return invalid("target", "one of sid or uid must be set");
}

template <class Request>
grpc::Status room_membership(const Request& r) {
  WSGW_RETURN_IF_ERROR(sid_or_uid_target(r));
  WSGW_RETURN_IF_ERROR(namespace_field("namespace", r.namespace_()));
  WSGW_RETURN_IF_ERROR(room_list(r.rooms()));
  return field("trace_id", check_trace_id(r.trace_id()));
}

template <class Patterns>
grpc::Status pattern_list(std::string_view name, const Patterns& patterns, bool is_namespace) {
  if (static_cast<std::size_t>(patterns.size()) > kMaxSubscribePatterns) {
    return invalid(name, too_many(patterns.size(), kMaxSubscribePatterns));
  }
  for (int i = 0; i < patterns.size(); ++i) {
    const std::string& p = patterns[i];
    if (p.empty()) return invalid(indexed(name, i), "must not be empty");
    WSGW_RETURN_IF_ERROR(free_text(indexed(name, i), p));
    // A namespace pattern without a leading '/' or '*' could never match anything.
    if (is_namespace && p.front() != '/' && p.front() != '*') {
      return invalid(indexed(name, i), "a namespace pattern starts with '/' or '*'");
    }
  }
  return grpc::Status::OK;
}

}  // namespace

std::string_view effective_namespace(std::string_view nsp) { return nsp.empty() ? "/" : nsp; }

std::string_view check_namespace(std::string_view nsp) {
  if (nsp.empty() || nsp.front() != '/') return "must start with '/'";
  if (nsp.size() > sio::kMaxNamespaceLength) return "longer than 256 bytes";
  // ',' ends the namespace in a Socket.IO packet header and '?' starts a v4 query.
  if (nsp.find_first_of(",?") != std::string_view::npos) return "must not contain ',' or '?'";
  if (!is_printable_utf8(nsp)) return "must be printable UTF-8 (no control characters)";
  return kFine;
}

std::string_view check_sid(std::string_view sid) {
  if (sid.empty()) return "must not be empty";
  if (sid.size() > kMaxSidBytes) return "longer than 64 characters";
  for (char c : sid) {
    if (!is_id_char(c)) return "must consist of A-Z a-z 0-9 '-' '_'";
  }
  return kFine;
}

std::string_view check_name(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > kMaxNameBytes) return "longer than 256 bytes";
  if (!is_printable_utf8(name)) return "must be printable UTF-8 (no control characters)";
  return kFine;
}

std::string_view check_event_name(std::string_view event) {
  if (auto why = check_name(event); !why.empty()) return why;
  if (sio::is_reserved_event_name(event)) return "is reserved by Socket.IO";
  return kFine;
}

std::string_view check_trace_id(std::string_view trace_id) {
  if (trace_id.size() > kMaxTraceIdBytes) return "longer than 128 bytes";
  if (!is_printable_ascii(trace_id, false)) return "must be printable ASCII without spaces";
  return kFine;
}

std::string_view check_args_json(std::string_view args_json, std::size_t attachments) {
  if (args_json.empty()) {
    return attachments == 0 ? kFine : "is empty, so nothing refers to the attachments";
  }
  if (!sio::json_valid(args_json)) {
    return "is not valid JSON (strict RFC 8259, nested at most 256 levels)";
  }
  std::size_t first = 0;
  while (is_json_space(args_json[first])) ++first;  // valid JSON is never all space
  if (args_json[first] != '[') return "must be a JSON array of the arguments";
  if (!sio::placeholders_valid(args_json, static_cast<uint32_t>(attachments))) {
    return attachments == 0 ? "holds a binary placeholder, but attachments is empty"
                            : "holds a placeholder whose num is not an index into attachments";
  }
  return kFine;
}

grpc::Status validate(const v1::EmitRequest& r, const Limits& limits) {
  switch (r.target_case()) {
    case v1::EmitRequest::kSid:
      WSGW_RETURN_IF_ERROR(field("sid", check_sid(r.sid())));
      break;
    case v1::EmitRequest::kUid:
      WSGW_RETURN_IF_ERROR(field("uid", check_name(r.uid())));
      break;
    case v1::EmitRequest::kRoom:
      WSGW_RETURN_IF_ERROR(field("room", check_name(r.room())));
      break;
    case v1::EmitRequest::kEveryone:
      break;
    case v1::EmitRequest::TARGET_NOT_SET:
      return invalid("target", "one of sid, uid, room or everyone must be set");
  }
  WSGW_RETURN_IF_ERROR(namespace_field("namespace", r.namespace_()));
  WSGW_RETURN_IF_ERROR(field("event", check_event_name(r.event())));
  WSGW_RETURN_IF_ERROR(payload(r.args_json(), r.attachments(), limits));
  if (static_cast<std::size_t>(r.except_sids_size()) > kMaxExceptSids) {
    return invalid("except_sids", too_many(r.except_sids_size(), kMaxExceptSids));
  }
  for (int i = 0; i < r.except_sids_size(); ++i) {
    if (auto why = check_sid(r.except_sids(i)); !why.empty()) {
      return invalid(indexed("except_sids", i), why);
    }
  }
  return field("trace_id", check_trace_id(r.trace_id()));
}

grpc::Status validate(const v1::EmitWithAckRequest& r, const Limits& limits) {
  WSGW_RETURN_IF_ERROR(field("sid", check_sid(r.sid())));
  WSGW_RETURN_IF_ERROR(namespace_field("namespace", r.namespace_()));
  WSGW_RETURN_IF_ERROR(field("event", check_event_name(r.event())));
  WSGW_RETURN_IF_ERROR(payload(r.args_json(), r.attachments(), limits));
  if (r.has_timeout()) {
    const int64_t seconds = r.timeout().seconds();
    const int32_t nanos = r.timeout().nanos();
    if (nanos <= -1'000'000'000 || nanos >= 1'000'000'000 || (seconds > 0 && nanos < 0) ||
        (seconds < 0 && nanos > 0)) {
      return invalid("timeout", "is not a normalised Duration");
    }
    if (seconds < 0 || (seconds == 0 && nanos <= 0)) return invalid("timeout", "must be positive");
    if (seconds > kMaxAckTimeoutSeconds || (seconds == kMaxAckTimeoutSeconds && nanos > 0)) {
      return invalid("timeout", "longer than 5 minutes");
    }
  }
  return field("trace_id", check_trace_id(r.trace_id()));
}

grpc::Status validate(const v1::JoinRoomRequest& r) { return room_membership(r); }

grpc::Status validate(const v1::LeaveRoomRequest& r) { return room_membership(r); }

grpc::Status validate(const v1::DisconnectSocketRequest& r) {
  WSGW_RETURN_IF_ERROR(field("sid", check_sid(r.sid())));
  WSGW_RETURN_IF_ERROR(disconnect_options(r.reason(), r.notify_event()));
  return field("trace_id", check_trace_id(r.trace_id()));
}

grpc::Status validate(const v1::DisconnectUserRequest& r) {
  WSGW_RETURN_IF_ERROR(field("uid", check_name(r.uid())));
  WSGW_RETURN_IF_ERROR(namespace_field("namespace", r.namespace_()));
  WSGW_RETURN_IF_ERROR(disconnect_options(r.reason(), r.notify_event()));
  return field("trace_id", check_trace_id(r.trace_id()));
}

grpc::Status validate(const v1::ListRoomSocketsRequest& r) {
  WSGW_RETURN_IF_ERROR(namespace_field("namespace", r.namespace_()));
  WSGW_RETURN_IF_ERROR(field("room", check_name(r.room())));
  return page("page_size", r.page_size(), r.page_token());
}

grpc::Status validate(const v1::ListRoomUsersRequest& r) {
  WSGW_RETURN_IF_ERROR(namespace_field("namespace", r.namespace_()));
  WSGW_RETURN_IF_ERROR(field("room", check_name(r.room())));
  return page("page_size", r.page_size(), r.page_token());
}

grpc::Status validate(const v1::ListUserSocketsRequest& r) {
  WSGW_RETURN_IF_ERROR(field("uid", check_name(r.uid())));
  if (r.all_namespaces()) {
    if (!r.namespace_().empty()) return invalid("namespace", "must be empty with all_namespaces");
  } else {
    WSGW_RETURN_IF_ERROR(namespace_field("namespace", r.namespace_()));
  }
  if (r.limit() < 0) return invalid("limit", "must not be negative");
  return grpc::Status::OK;
}

grpc::Status validate(const v1::CountRoomsRequest& r) {
  WSGW_RETURN_IF_ERROR(namespace_field("namespace", r.namespace_()));
  return room_list(r.rooms());
}

grpc::Status validate(const v1::SubscribeRequest& r) {
  const std::string& group = r.group();
  if (group.size() > kMaxGroupBytes) return invalid("group", "longer than 128 bytes");
  for (char c : group) {
    if (!is_id_char(c) && c != '.') return invalid("group", "must consist of A-Z a-z 0-9 '.' '-' '_'");
  }
  WSGW_RETURN_IF_ERROR(pattern_list("namespaces", r.namespaces(), true));
  WSGW_RETURN_IF_ERROR(pattern_list("events", r.events(), false));
  for (int i = 0; i < r.kinds_size(); ++i) {
    const int kind = r.kinds(i);
    if (kind == v1::CLIENT_EVENT_KIND_UNSPECIFIED || !v1::ClientEventKind_IsValid(kind)) {
      return invalid(indexed("kinds", i), "unknown kind " + std::to_string(kind));
    }
  }
  if (r.subscriber().size() > kMaxSubscriberBytes || !is_printable_ascii(r.subscriber(), true)) {
    return invalid("subscriber", "must be at most 128 bytes of printable ASCII");
  }
  return grpc::Status::OK;
}

grpc::Status validate(const v1::AnswerAckRequest& r, const Limits& limits) {
  if (!r.has_ack()) return invalid("ack", "must be set (copy SocketEvent.ack)");
  WSGW_RETURN_IF_ERROR(field("ack.sid", check_sid(r.ack().sid())));
  WSGW_RETURN_IF_ERROR(namespace_field("ack.namespace", r.ack().namespace_()));
  if (!r.ack().node().empty()) WSGW_RETURN_IF_ERROR(field("ack.node", check_name(r.ack().node())));
  WSGW_RETURN_IF_ERROR(payload(r.args_json(), r.attachments(), limits));
  return field("trace_id", check_trace_id(r.trace_id()));
}

#undef WSGW_RETURN_IF_ERROR

}  // namespace wsgw::api
