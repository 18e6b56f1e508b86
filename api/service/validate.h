#pragma once
// Request validation for the wsgw.v1 API: every rule that proto/wsgw/v1/api.proto states in its
// comments is checked here, before a request costs a Redis lookup or a Kafka record. Each
// function returns OK or INVALID_ARGUMENT whose message names the offending field
// ("emit: except_sids[2]: ..."), so a caller can fix the request without reading server logs.
// Pure functions: no I/O, no allocation beyond the error message, safe on hostile input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <grpcpp/support/status.h>

namespace wsgw::v1 {
class EmitRequest;
class EmitWithAckRequest;
class JoinRoomRequest;
class LeaveRoomRequest;
class DisconnectSocketRequest;
class DisconnectUserRequest;
class ListRoomSocketsRequest;
class ListRoomUsersRequest;
class ListUserSocketsRequest;
class CountRoomsRequest;
class SubscribeRequest;
class AnswerAckRequest;
}  // namespace wsgw::v1

namespace wsgw::api {

// Bounds that are documented in api.proto. Only max_payload_bytes is a server option
// (--max-payload); the others are part of the API contract.
struct Limits {
  std::size_t max_payload_bytes = 1'000'000;  // args_json + all attachments of one request
};

inline constexpr std::size_t kMaxNameBytes = 256;        // namespace, room, uid, event, reason
inline constexpr std::size_t kMaxSidBytes = 64;
inline constexpr std::size_t kMaxTraceIdBytes = 128;
// socket.io-client decodes at most 10 attachments per packet by default (maxAttachments) and
// drops the connection on more: an emit with more would disconnect its stock recipients.
inline constexpr std::size_t kMaxAttachments = 10;
inline constexpr std::size_t kMaxExceptSids = 1000;
inline constexpr std::size_t kMaxRoomsPerRequest = 100;
inline constexpr std::size_t kMaxSubscribePatterns = 32;  // per list (namespaces, events)
inline constexpr std::size_t kMaxGroupBytes = 128;
inline constexpr std::size_t kMaxSubscriberBytes = 128;
inline constexpr std::size_t kMaxPageTokenBytes = 1024;
inline constexpr int64_t kMaxAckTimeoutSeconds = 300;

// "" -> "/" (the API's default namespace); anything else unchanged.
std::string_view effective_namespace(std::string_view nsp);

grpc::Status validate(const v1::EmitRequest& request, const Limits& limits);
grpc::Status validate(const v1::EmitWithAckRequest& request, const Limits& limits);
grpc::Status validate(const v1::JoinRoomRequest& request);
grpc::Status validate(const v1::LeaveRoomRequest& request);
grpc::Status validate(const v1::DisconnectSocketRequest& request);
grpc::Status validate(const v1::DisconnectUserRequest& request);
grpc::Status validate(const v1::ListRoomSocketsRequest& request);
grpc::Status validate(const v1::ListRoomUsersRequest& request);
grpc::Status validate(const v1::ListUserSocketsRequest& request);
grpc::Status validate(const v1::CountRoomsRequest& request);
grpc::Status validate(const v1::SubscribeRequest& request);
grpc::Status validate(const v1::AnswerAckRequest& request, const Limits& limits);

// Field-level checks, exposed for tests and for the service's own use. Each returns an empty
// string when `value` is acceptable, otherwise the reason (without the field name).
std::string_view check_namespace(std::string_view nsp);  // after effective_namespace()
std::string_view check_sid(std::string_view sid);
std::string_view check_name(std::string_view name);       // uid, room
std::string_view check_event_name(std::string_view event);
std::string_view check_trace_id(std::string_view trace_id);  // "" is fine (generated)
// A JSON array text (or "" for none) whose placeholders all refer to one of `attachments`.
std::string_view check_args_json(std::string_view args_json, std::size_t attachments);

}  // namespace wsgw::api
