// The ws-api gRPC server in process, over real loopback TCP: health checking, reflection,
// status codes of the service without its cluster back-end, the metrics endpoint and shutdown.
#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "api/app/api_server.h"
#include "api/app/metrics_http.h"
#include "common/metrics/registry.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "wsgw/v1/api.grpc.pb.h"

namespace wsgw::api {
namespace {

using grpc::StatusCode;
using HealthStatus = grpc::health::v1::HealthCheckResponse;

std::chrono::system_clock::time_point soon() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

class GrpcServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ApiConfig cfg;
    cfg.grpc_listen = "127.0.0.1:0";
    cfg.max_payload = 4096;
    server_ = std::make_unique<ApiServer>(cfg, &registry_);
    std::string error;
    ASSERT_TRUE(server_->start(error)) << error;
    ASSERT_GT(server_->port(), 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(server_->port()),
                                   grpc::InsecureChannelCredentials());
    api_ = v1::WsApiService::NewStub(channel_);
    health_ = grpc::health::v1::Health::NewStub(channel_);
  }

  void TearDown() override {
    if (server_) server_->shutdown(std::chrono::milliseconds(100));
  }

  grpc::Status check_health(const std::string& service, HealthStatus& response) {
    grpc::ClientContext ctx;
    ctx.set_deadline(soon());
    grpc::health::v1::HealthCheckRequest request;
    request.set_service(service);
    return health_->Check(&ctx, request, &response);
  }

  template <class Request, class Response>
  grpc::Status call(grpc::Status (v1::WsApiService::Stub::*method)(grpc::ClientContext*,
                                                                  const Request&, Response*),
                    const Request& request) {
    grpc::ClientContext ctx;
    ctx.set_deadline(soon());
    Response response;
    return (api_.get()->*method)(&ctx, request, &response);
  }

  metrics::Registry registry_;
  std::unique_ptr<ApiServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::WsApiService::Stub> api_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

TEST_F(GrpcServerTest, HealthCheckServing) {
  HealthStatus response;
  grpc::Status status = check_health("", response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), HealthStatus::SERVING);

  status = check_health(kServiceName, response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), HealthStatus::SERVING);

  status = check_health("no.such.Service", response);
  EXPECT_EQ(status.error_code(), StatusCode::NOT_FOUND);
}

TEST_F(GrpcServerTest, EmitBadRequestIsInvalidArgument) {
  v1::EmitRequest request;  // no target
  request.set_event("evt");
  grpc::Status status = call(&v1::WsApiService::Stub::Emit, request);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("target:", 0), 0u) << status.error_message();

  request.set_room("r");
  request.set_args_json("{\"not\":\"array\"}");
  status = call(&v1::WsApiService::Stub::Emit, request);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("args_json:", 0), 0u) << status.error_message();
}

TEST_F(GrpcServerTest, EmitGoodRequestIsUnimplementedWithoutTheClusterBackEnd) {
  v1::EmitRequest request;
  request.set_room("doc-1");
  request.set_namespace_("/custom");
  request.set_event("evt");
  request.set_args_json(R"([1,"a"])");
  const grpc::Status status = call(&v1::WsApiService::Stub::Emit, request);
  EXPECT_EQ(status.error_code(), StatusCode::UNIMPLEMENTED);
  EXPECT_NE(status.error_message().find("without its cluster back-end"), std::string::npos)
      << status.error_message();
}

TEST_F(GrpcServerTest, PayloadLimits) {
  v1::EmitRequest request;
  request.mutable_everyone();
  request.set_event("big");
  // Over --max-payload (4096) but within gRPC's message limit: our own, named refusal.
  request.set_args_json("[\"" + std::string(5000, 'x') + "\"]");
  grpc::Status status = call(&v1::WsApiService::Stub::Emit, request);
  EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("args_json:", 0), 0u) << status.error_message();
  // Far beyond it: gRPC refuses the message before the service sees it.
  request.set_args_json("[\"" + std::string(200 * 1024, 'x') + "\"]");
  status = call(&v1::WsApiService::Stub::Emit, request);
  EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(GrpcServerTest, EveryUnaryRpcValidatesFirst) {
  using Stub = v1::WsApiService::Stub;
  EXPECT_EQ(call(&Stub::EmitWithAck, v1::EmitWithAckRequest{}).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call(&Stub::JoinRoom, v1::JoinRoomRequest{}).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call(&Stub::LeaveRoom, v1::LeaveRoomRequest{}).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call(&Stub::DisconnectSocket, v1::DisconnectSocketRequest{}).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call(&Stub::DisconnectUser, v1::DisconnectUserRequest{}).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call(&Stub::ListRoomSockets, v1::ListRoomSocketsRequest{}).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call(&Stub::ListRoomUsers, v1::ListRoomUsersRequest{}).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call(&Stub::ListUserSockets, v1::ListUserSocketsRequest{}).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call(&Stub::CountRooms, v1::CountRoomsRequest{}).error_code(),
            StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(call(&Stub::AnswerAck, v1::AnswerAckRequest{}).error_code(),
            StatusCode::INVALID_ARGUMENT);

  v1::DisconnectUserRequest kick;
  kick.set_uid("u1");
  kick.set_reason("bye");
  EXPECT_EQ(call(&Stub::DisconnectUser, kick).error_code(), StatusCode::UNIMPLEMENTED);
  v1::CountRoomsRequest count;
  count.add_rooms("lobby");
  EXPECT_EQ(call(&Stub::CountRooms, count).error_code(), StatusCode::UNIMPLEMENTED);
}

TEST_F(GrpcServerTest, SubscribeValidatesThenEnds) {
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(soon());
    v1::SubscribeRequest request;
    request.set_group("bad group");
    auto reader = api_->Subscribe(&ctx, request);
    v1::ClientEvent event;
    EXPECT_FALSE(reader->Read(&event));
    const grpc::Status status = reader->Finish();
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(status.error_message().rfind("group:", 0), 0u) << status.error_message();
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(soon());
    v1::SubscribeRequest request;
    request.set_group("comments");
    request.add_events("comment.*");
    auto reader = api_->Subscribe(&ctx, request);
    v1::ClientEvent event;
    EXPECT_FALSE(reader->Read(&event));
    EXPECT_EQ(reader->Finish().error_code(), StatusCode::UNIMPLEMENTED);
  }
}

// Server reflection (grpc.reflection.v1alpha), called without generated stubs: the request is
// ServerReflectionRequest{list_services: "*"} (field 7) encoded by hand.
TEST_F(GrpcServerTest, ReflectionListsTheService) {
  grpc::GenericStub stub(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(soon());
  auto wait = [&cq](intptr_t expected) {
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    EXPECT_EQ(reinterpret_cast<intptr_t>(tag), expected);
    return ok;
  };
  auto call = stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                               &cq);
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(wait(1));
  const std::string request_bytes("\x3a\x01*", 3);
  grpc::Slice slice(request_bytes.data(), request_bytes.size());
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(wait(2));
  call->WritesDone(reinterpret_cast<void*>(3));
  ASSERT_TRUE(wait(3));
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(4));
  ASSERT_TRUE(wait(4));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_NE(bytes.find(kServiceName), std::string::npos);
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  wait(5);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

// A string field with invalid UTF-8 is not a valid proto3 message: gRPC refuses it before the
// service runs. gRPC C++'s callback server reports a request that does not parse as
// UNIMPLEMENTED with an empty message (server_callback_handlers.h), which api.proto documents.
// Sent without generated stubs, which would refuse to build such a message.
TEST_F(GrpcServerTest, UnparsableRequestNeverReachesTheService) {
  grpc::GenericStub stub(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(soon());
  const std::string request_bytes("\x1a\x02\xc3\x28", 4);  // EmitRequest.room = C3 28
  grpc::Slice slice(request_bytes.data(), request_bytes.size());
  grpc::ByteBuffer request(&slice, 1);
  auto call = stub.PrepareUnaryCall(&ctx, "/wsgw.v1.WsApiService/Emit", request, &cq);
  call->StartCall();
  grpc::ByteBuffer response;
  grpc::Status status;
  call->Finish(&response, &status, reinterpret_cast<void*>(1));
  void* tag = nullptr;
  bool ok = false;
  ASSERT_TRUE(cq.Next(&tag, &ok));
  EXPECT_EQ(status.error_code(), StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(status.error_message(), "");  // ours always says why
  EXPECT_EQ(registry_.render().find("wsgw_api_requests_total{"), std::string::npos);
}

TEST_F(GrpcServerTest, MetricsCountRequestsByMethodAndCode) {
  v1::EmitRequest request;
  call(&v1::WsApiService::Stub::Emit, request);
  call(&v1::WsApiService::Stub::Emit, request);
  const std::string text = registry_.render();
  EXPECT_NE(text.find(R"(wsgw_api_requests_total{method="Emit",code="INVALID_ARGUMENT"} 2)"),
            std::string::npos)
      << text;
}

TEST_F(GrpcServerTest, SecondServerOnTheSamePortFails) {
  ApiConfig cfg;
  cfg.grpc_listen = "127.0.0.1:" + std::to_string(server_->port());
  ApiServer second(cfg, nullptr);
  std::string error;
  EXPECT_FALSE(second.start(error));
  EXPECT_NE(error.find(cfg.grpc_listen), std::string::npos) << error;
  EXPECT_EQ(second.port(), 0);
}

TEST_F(GrpcServerTest, ShutdownStopsServing) {
  EXPECT_TRUE(server_->serving());
  server_->shutdown(std::chrono::milliseconds(100));
  EXPECT_FALSE(server_->serving());
  server_->shutdown(std::chrono::milliseconds(100));  // idempotent
  HealthStatus response;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  grpc::health::v1::HealthCheckRequest request;
  EXPECT_FALSE(health_->Check(&ctx, request, &response).ok());
}

// ---- /metrics, /healthz, /readyz

std::string http_get(uint16_t port, const std::string& target, const std::string& method = "GET") {
  namespace asio = boost::asio;
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  socket.connect({asio::ip::make_address("127.0.0.1"), port});
  const std::string request = method + " " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(socket, asio::buffer(request));
  std::string response;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(response), ec);  // until the server closes
  return response;
}

TEST_F(GrpcServerTest, MetricsEndpoint) {
  metrics::register_process_metrics(registry_);  // as main() does
  MetricsHttpServer http(registry_, [this] { return server_->serving(); });
  std::string error;
  ASSERT_TRUE(http.start({"127.0.0.1", 0}, error)) << error;
  ASSERT_GT(http.port(), 0);

  call(&v1::WsApiService::Stub::Emit, v1::EmitRequest{});
  std::string r = http_get(http.port(), "/metrics");
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u) << r;
  EXPECT_NE(r.find("wsgw_api_requests_total{"), std::string::npos) << r;
  EXPECT_NE(r.find("process_resident_memory_bytes"), std::string::npos);

  EXPECT_EQ(http_get(http.port(), "/healthz").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(http_get(http.port(), "/readyz?verbose").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(http_get(http.port(), "/nope").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(http_get(http.port(), "/metrics", "DELETE").rfind("HTTP/1.1 405", 0), 0u);
  r = http_get(http.port(), "/healthz", "HEAD");
  EXPECT_EQ(r.rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(r.find("ok\n"), std::string::npos);  // no body for HEAD

  // A request header over the 8 KiB bound gets no answer, and the endpoint lives on.
  r = http_get(http.port(), "/metrics?" + std::string(9000, 'q'));
  EXPECT_EQ(r.find("200"), std::string::npos);

  server_->shutdown(std::chrono::milliseconds(100));
  EXPECT_EQ(http_get(http.port(), "/readyz").rfind("HTTP/1.1 503", 0), 0u);
  http.stop();
  http.stop();
}

}  // namespace
}  // namespace wsgw::api
