#include "api/service/api_service.h"

#include "api/service/packet_builder.h"
#include "common/metrics/registry.h"

namespace wsgw::api {
namespace {

// What the skeleton answers once a request has passed validation.
grpc::Status not_yet(std::string_view what) {
  std::string message = "ws-api skeleton: request is valid, but ";
  message += what;
  message += " needs the cluster back-end (Kafka/Redis), which this build does not have";
  return {grpc::StatusCode::UNIMPLEMENTED, message};
}

// A stream that ends at once with `status`: the reactor owns itself and goes when gRPC is
// done with it.
class FinishedStream final : public grpc::ServerWriteReactor<v1::ClientEvent> {
 public:
  explicit FinishedStream(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

std::string_view status_code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return "OK";
    case grpc::StatusCode::CANCELLED: return "CANCELLED";
    case grpc::StatusCode::UNKNOWN: return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT: return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND: return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS: return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED: return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION: return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED: return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE: return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED: return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL: return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE: return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS: return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED: return "UNAUTHENTICATED";
    default: return "UNKNOWN";
  }
}

ApiService::ApiService(Limits limits, metrics::Registry* registry) : limits_(limits) {
  if (registry != nullptr) {
    requests_ = &registry->counter("wsgw_api_requests_total",
                                   "gRPC requests handled by ws-api, by method and status code",
                                   {"method", "code"});
  }
}

void ApiService::count(std::string_view method, grpc::StatusCode code) {
  // Off the hot path for now (every call is refused); with the back-end in place the
  // children get resolved once per method and cached.
  if (requests_ != nullptr) requests_->with({method, status_code_name(code)}).inc();
}

grpc::ServerUnaryReactor* ApiService::finish(grpc::CallbackServerContext* context,
                                             std::string_view method, const grpc::Status& status) {
  count(method, status.error_code());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* ApiService::Emit(grpc::CallbackServerContext* context,
                                           const v1::EmitRequest* request, v1::EmitResponse*) {
  if (auto status = validate(*request, limits_); !status.ok()) return finish(context, "Emit", status);
  // Encoded here already so every valid request proves it can be sent; the back-end will put
  // these bytes on wsgw.downstream.
  const SocketIoPacket packet = build_emit_packet(*request);
  (void)packet;
  return finish(context, "Emit", not_yet("resolving the target and producing to wsgw.downstream"));
}

grpc::ServerUnaryReactor* ApiService::EmitWithAck(grpc::CallbackServerContext* context,
                                                  const v1::EmitWithAckRequest* request,
                                                  v1::EmitWithAckResponse*) {
  if (auto status = validate(*request, limits_); !status.ok()) {
    return finish(context, "EmitWithAck", status);
  }
  return finish(context, "EmitWithAck", not_yet("waiting for a client ack via wsgw.upstream"));
}

grpc::ServerUnaryReactor* ApiService::JoinRoom(grpc::CallbackServerContext* context,
                                               const v1::JoinRoomRequest* request,
                                               v1::JoinRoomResponse*) {
  if (auto status = validate(*request); !status.ok()) return finish(context, "JoinRoom", status);
  return finish(context, "JoinRoom", not_yet("sending a join command to the socket's gateway"));
}

grpc::ServerUnaryReactor* ApiService::LeaveRoom(grpc::CallbackServerContext* context,
                                                const v1::LeaveRoomRequest* request,
                                                v1::LeaveRoomResponse*) {
  if (auto status = validate(*request); !status.ok()) return finish(context, "LeaveRoom", status);
  return finish(context, "LeaveRoom", not_yet("sending a leave command to the socket's gateway"));
}

grpc::ServerUnaryReactor* ApiService::DisconnectSocket(grpc::CallbackServerContext* context,
                                                       const v1::DisconnectSocketRequest* request,
                                                       v1::DisconnectSocketResponse*) {
  if (auto status = validate(*request); !status.ok()) {
    return finish(context, "DisconnectSocket", status);
  }
  return finish(context, "DisconnectSocket", not_yet("sending a kick to the socket's gateway"));
}

grpc::ServerUnaryReactor* ApiService::DisconnectUser(grpc::CallbackServerContext* context,
                                                     const v1::DisconnectUserRequest* request,
                                                     v1::DisconnectUserResponse*) {
  if (auto status = validate(*request); !status.ok()) {
    return finish(context, "DisconnectUser", status);
  }
  return finish(context, "DisconnectUser", not_yet("kicking the user's sockets"));
}

grpc::ServerUnaryReactor* ApiService::ListRoomSockets(grpc::CallbackServerContext* context,
                                                      const v1::ListRoomSocketsRequest* request,
                                                      v1::ListRoomSocketsResponse*) {
  if (auto status = validate(*request); !status.ok()) {
    return finish(context, "ListRoomSockets", status);
  }
  return finish(context, "ListRoomSockets", not_yet("reading presence from Redis"));
}

grpc::ServerUnaryReactor* ApiService::ListRoomUsers(grpc::CallbackServerContext* context,
                                                    const v1::ListRoomUsersRequest* request,
                                                    v1::ListRoomUsersResponse*) {
  if (auto status = validate(*request); !status.ok()) {
    return finish(context, "ListRoomUsers", status);
  }
  return finish(context, "ListRoomUsers", not_yet("reading presence from Redis"));
}

grpc::ServerUnaryReactor* ApiService::ListUserSockets(grpc::CallbackServerContext* context,
                                                      const v1::ListUserSocketsRequest* request,
                                                      v1::ListUserSocketsResponse*) {
  if (auto status = validate(*request); !status.ok()) {
    return finish(context, "ListUserSockets", status);
  }
  return finish(context, "ListUserSockets", not_yet("reading presence from Redis"));
}

grpc::ServerUnaryReactor* ApiService::CountRooms(grpc::CallbackServerContext* context,
                                                 const v1::CountRoomsRequest* request,
                                                 v1::CountRoomsResponse*) {
  if (auto status = validate(*request); !status.ok()) return finish(context, "CountRooms", status);
  return finish(context, "CountRooms", not_yet("reading presence from Redis"));
}

grpc::ServerWriteReactor<v1::ClientEvent>* ApiService::Subscribe(
    grpc::CallbackServerContext*, const v1::SubscribeRequest* request) {
  grpc::Status status = validate(*request);
  if (status.ok()) status = not_yet("streaming client events from wsgw.upstream");
  count("Subscribe", status.error_code());
  return new FinishedStream(status);
}

grpc::ServerUnaryReactor* ApiService::AnswerAck(grpc::CallbackServerContext* context,
                                                const v1::AnswerAckRequest* request,
                                                v1::AnswerAckResponse*) {
  if (auto status = validate(*request, limits_); !status.ok()) {
    return finish(context, "AnswerAck", status);
  }
  return finish(context, "AnswerAck", not_yet("sending the ack to the socket's gateway"));
}

}  // namespace wsgw::api
