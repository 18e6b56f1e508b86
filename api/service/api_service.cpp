#include "api/service/api_service.h"

#include "api/service/packet_builder.h"
#include "api/service/subscription_hub.h"
#include "common/metrics/registry.h"

namespace wsgw::api {
namespace {

// What ws-api answers, once a request has passed validation, when it runs without the
// cluster back-end (no --redis / --kafka-brokers): a validation-only mode for client tests.
grpc::Status not_yet() {
  return {grpc::StatusCode::UNIMPLEMENTED,
          "ws-api runs without its cluster back-end (start it with --redis and "
          "--kafka-brokers): the request is valid, but nothing can be sent"};
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

ApiService::ApiService(Limits limits, metrics::Registry* registry, ClusterBackend* backend,
                       SubscriptionHub* hub)
    : limits_(limits), backend_(backend), hub_(hub) {
  if (registry != nullptr) {
    requests_ = &registry->counter("wsgw_api_requests_total",
                                   "gRPC requests handled by ws-api, by method and status code",
                                   {"method", "code"});
  }
}

void ApiService::count(std::string_view method, grpc::StatusCode code) {
  if (requests_ != nullptr) requests_->with({method, status_code_name(code)}).inc();
}

ClusterBackend::Done ApiService::complete(grpc::ServerUnaryReactor* reactor,
                                          std::string_view method) {
  return [this, reactor, method](grpc::Status status) {
    count(method, status.error_code());
    reactor->Finish(status);
  };
}

grpc::ServerUnaryReactor* ApiService::finish(grpc::CallbackServerContext* context,
                                             std::string_view method, const grpc::Status& status) {
  count(method, status.error_code());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* ApiService::Emit(grpc::CallbackServerContext* context,
    const v1::EmitRequest* request, v1::EmitResponse* response) {
  if (auto status = validate(*request, limits_); !status.ok()) return finish(context, "Emit", status);
  if (backend_ == nullptr) return finish(context, "Emit", not_yet());
  auto* reactor = context->DefaultReactor();
  backend_->emit(*request, *response, complete(reactor, "Emit"));
  return reactor;
}

grpc::ServerUnaryReactor* ApiService::EmitWithAck(grpc::CallbackServerContext* context,
    const v1::EmitWithAckRequest* request, v1::EmitWithAckResponse* response) {
  if (auto status = validate(*request, limits_); !status.ok()) return finish(context, "EmitWithAck", status);
  if (backend_ == nullptr) return finish(context, "EmitWithAck", not_yet());
  auto* reactor = context->DefaultReactor();
  backend_->emit_with_ack(*request, *response, complete(reactor, "EmitWithAck"));
  return reactor;
}

grpc::ServerUnaryReactor* ApiService::JoinRoom(grpc::CallbackServerContext* context,
    const v1::JoinRoomRequest* request, v1::JoinRoomResponse* response) {
  if (auto status = validate(*request); !status.ok()) return finish(context, "JoinRoom", status);
  if (backend_ == nullptr) return finish(context, "JoinRoom", not_yet());
  auto* reactor = context->DefaultReactor();
  backend_->join_room(*request, *response, complete(reactor, "JoinRoom"));
  return reactor;
}

grpc::ServerUnaryReactor* ApiService::LeaveRoom(grpc::CallbackServerContext* context,
    const v1::LeaveRoomRequest* request, v1::LeaveRoomResponse* response) {
  if (auto status = validate(*request); !status.ok()) return finish(context, "LeaveRoom", status);
  if (backend_ == nullptr) return finish(context, "LeaveRoom", not_yet());
  auto* reactor = context->DefaultReactor();
  backend_->leave_room(*request, *response, complete(reactor, "LeaveRoom"));
  return reactor;
}

grpc::ServerUnaryReactor* ApiService::DisconnectSocket(grpc::CallbackServerContext* context,
    const v1::DisconnectSocketRequest* request, v1::DisconnectSocketResponse* response) {
  if (auto status = validate(*request); !status.ok()) return finish(context, "DisconnectSocket", status);
  if (backend_ == nullptr) return finish(context, "DisconnectSocket", not_yet());
  auto* reactor = context->DefaultReactor();
  backend_->disconnect_socket(*request, *response, complete(reactor, "DisconnectSocket"));
  return reactor;
}

grpc::ServerUnaryReactor* ApiService::DisconnectUser(grpc::CallbackServerContext* context,
    const v1::DisconnectUserRequest* request, v1::DisconnectUserResponse* response) {
  if (auto status = validate(*request); !status.ok()) return finish(context, "DisconnectUser", status);
  if (backend_ == nullptr) return finish(context, "DisconnectUser", not_yet());
  auto* reactor = context->DefaultReactor();
  backend_->disconnect_user(*request, *response, complete(reactor, "DisconnectUser"));
  return reactor;
}

grpc::ServerUnaryReactor* ApiService::ListRoomSockets(grpc::CallbackServerContext* context,
    const v1::ListRoomSocketsRequest* request, v1::ListRoomSocketsResponse* response) {
  if (auto status = validate(*request); !status.ok()) return finish(context, "ListRoomSockets", status);
  if (backend_ == nullptr) return finish(context, "ListRoomSockets", not_yet());
  auto* reactor = context->DefaultReactor();
  backend_->list_room_sockets(*request, *response, complete(reactor, "ListRoomSockets"));
  return reactor;
}

grpc::ServerUnaryReactor* ApiService::ListRoomUsers(grpc::CallbackServerContext* context,
    const v1::ListRoomUsersRequest* request, v1::ListRoomUsersResponse* response) {
  if (auto status = validate(*request); !status.ok()) return finish(context, "ListRoomUsers", status);
  if (backend_ == nullptr) return finish(context, "ListRoomUsers", not_yet());
  auto* reactor = context->DefaultReactor();
  backend_->list_room_users(*request, *response, complete(reactor, "ListRoomUsers"));
  return reactor;
}

grpc::ServerUnaryReactor* ApiService::ListUserSockets(grpc::CallbackServerContext* context,
    const v1::ListUserSocketsRequest* request, v1::ListUserSocketsResponse* response) {
  if (auto status = validate(*request); !status.ok()) return finish(context, "ListUserSockets", status);
  if (backend_ == nullptr) return finish(context, "ListUserSockets", not_yet());
  auto* reactor = context->DefaultReactor();
  backend_->list_user_sockets(*request, *response, complete(reactor, "ListUserSockets"));
  return reactor;
}

grpc::ServerUnaryReactor* ApiService::CountRooms(grpc::CallbackServerContext* context,
    const v1::CountRoomsRequest* request, v1::CountRoomsResponse* response) {
  if (auto status = validate(*request); !status.ok()) return finish(context, "CountRooms", status);
  if (backend_ == nullptr) return finish(context, "CountRooms", not_yet());
  auto* reactor = context->DefaultReactor();
  backend_->count_rooms(*request, *response, complete(reactor, "CountRooms"));
  return reactor;
}

grpc::ServerUnaryReactor* ApiService::AnswerAck(grpc::CallbackServerContext* context,
    const v1::AnswerAckRequest* request, v1::AnswerAckResponse* response) {
  if (auto status = validate(*request, limits_); !status.ok()) return finish(context, "AnswerAck", status);
  if (backend_ == nullptr) return finish(context, "AnswerAck", not_yet());
  (void)response;
  auto* reactor = context->DefaultReactor();
  backend_->answer_ack(*request, complete(reactor, "AnswerAck"));
  return reactor;
}

grpc::ServerWriteReactor<v1::ClientEvent>* ApiService::Subscribe(
    grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) {
  grpc::Status status = validate(*request);
  if (status.ok() && hub_ == nullptr) status = not_yet();
  count("Subscribe", status.error_code());
  if (!status.ok()) return new FinishedStream(status);
  return hub_->subscribe(context, *request);
}

}  // namespace wsgw::api
