#pragma once
// The wsgw.v1.WsApiService implementation (callback API). Every RPC validates its request
// first (validate.h) and answers INVALID_ARGUMENT with the field at fault, then hands it to
// the cluster back-end (cluster_backend.h; Subscribe to subscription_hub.h), which finishes
// the call asynchronously. Without a back-end (ws-api started without --redis and
// --kafka-brokers) valid requests are answered UNIMPLEMENTED.
#include <string>
#include <string_view>

#include "api/service/cluster_backend.h"
#include "api/service/validate.h"
#include "wsgw/v1/api.grpc.pb.h"

namespace wsgw::metrics {
class Registry;
template <class M>
class Family;
class Counter;
}  // namespace wsgw::metrics

namespace wsgw::api {

class SubscriptionHub;

// "OK", "INVALID_ARGUMENT", ... as grpc-status names them (the metrics label).
std::string_view status_code_name(grpc::StatusCode code);

class ApiService final : public v1::WsApiService::CallbackService {
 public:
  // `registry`, `backend` and `hub` may be null (no metrics / validation-only mode);
  // otherwise they must outlive the service.
  ApiService(Limits limits, metrics::Registry* registry, ClusterBackend* backend = nullptr,
             SubscriptionHub* hub = nullptr);

  grpc::ServerUnaryReactor* Emit(grpc::CallbackServerContext* context,
                                 const v1::EmitRequest* request,
                                 v1::EmitResponse* response) override;
  grpc::ServerUnaryReactor* EmitWithAck(grpc::CallbackServerContext* context,
                                        const v1::EmitWithAckRequest* request,
                                        v1::EmitWithAckResponse* response) override;
  grpc::ServerUnaryReactor* JoinRoom(grpc::CallbackServerContext* context,
                                     const v1::JoinRoomRequest* request,
                                     v1::JoinRoomResponse* response) override;
  grpc::ServerUnaryReactor* LeaveRoom(grpc::CallbackServerContext* context,
                                      const v1::LeaveRoomRequest* request,
                                      v1::LeaveRoomResponse* response) override;
  grpc::ServerUnaryReactor* DisconnectSocket(grpc::CallbackServerContext* context,
                                             const v1::DisconnectSocketRequest* request,
                                             v1::DisconnectSocketResponse* response) override;
  grpc::ServerUnaryReactor* DisconnectUser(grpc::CallbackServerContext* context,
                                           const v1::DisconnectUserRequest* request,
                                           v1::DisconnectUserResponse* response) override;
  grpc::ServerUnaryReactor* ListRoomSockets(grpc::CallbackServerContext* context,
                                            const v1::ListRoomSocketsRequest* request,
                                            v1::ListRoomSocketsResponse* response) override;
  grpc::ServerUnaryReactor* ListRoomUsers(grpc::CallbackServerContext* context,
                                          const v1::ListRoomUsersRequest* request,
                                          v1::ListRoomUsersResponse* response) override;
  grpc::ServerUnaryReactor* ListUserSockets(grpc::CallbackServerContext* context,
                                            const v1::ListUserSocketsRequest* request,
                                            v1::ListUserSocketsResponse* response) override;
  grpc::ServerUnaryReactor* CountRooms(grpc::CallbackServerContext* context,
                                       const v1::CountRoomsRequest* request,
                                       v1::CountRoomsResponse* response) override;
  grpc::ServerWriteReactor<v1::ClientEvent>* Subscribe(
      grpc::CallbackServerContext* context, const v1::SubscribeRequest* request) override;
  grpc::ServerUnaryReactor* AnswerAck(grpc::CallbackServerContext* context,
                                      const v1::AnswerAckRequest* request,
                                      v1::AnswerAckResponse* response) override;

 private:
  // Counts the outcome and finishes the call with `status`.
  grpc::ServerUnaryReactor* finish(grpc::CallbackServerContext* context, std::string_view method,
                                   const grpc::Status& status);
  void count(std::string_view method, grpc::StatusCode code);
  // Counts the outcome and finishes `reactor`: the back-end's completion callback.
  ClusterBackend::Done complete(grpc::ServerUnaryReactor* reactor, std::string_view method);

  Limits limits_;
  ClusterBackend* backend_ = nullptr;
  SubscriptionHub* hub_ = nullptr;
  metrics::Family<metrics::Counter>* requests_ = nullptr;
};

}  // namespace wsgw::api
