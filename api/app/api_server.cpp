#include "api/app/api_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include "api/app/grpc_tls.h"
#include "api/service/api_service.h"

namespace wsgw::api {
namespace {

// Room for the protobuf envelope around the payload that --max-payload bounds, so a request
// just over the payload limit gets our INVALID_ARGUMENT (naming the field) rather than gRPC's
// RESOURCE_EXHAUSTED.
constexpr int kEnvelopeAllowance = 64 * 1024;

}  // namespace

ApiServer::ApiServer(const ApiConfig& cfg, metrics::Registry* registry, ClusterBackend* backend,
                     SubscriptionHub* hub)
    : cfg_(cfg), registry_(registry), backend_(backend), hub_(hub) {}

ApiServer::~ApiServer() { shutdown(std::chrono::milliseconds(0)); }

bool ApiServer::start(std::string& error) {
  if (!check_tls_files(cfg_, error)) return false;
  Limits limits;
  limits.max_payload_bytes = cfg_.max_payload;
  service_ = std::make_unique<ApiService>(limits, registry_, backend_, hub_);

  // Both are process-wide switches that take effect for servers built afterwards.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  builder.AddListeningPort(grpc_address(cfg_.grpc_listen), grpc_server_credentials(cfg_), &port_);
  // gRPC sets SO_REUSEPORT by default: a second ws-api on the same port would then start and
  // silently share the traffic. Fail loudly instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.RegisterService(service_.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(cfg_.max_payload) + kEnvelopeAllowance);
  // Subscribe streams are long-lived and often idle: keepalive pings find dead peers, and
  // clients may ping an idle connection as often as every 10 s without being cut off.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);

  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    error = "cannot serve gRPC on " + cfg_.grpc_listen + " (address in use or not local?)";
    server_.reset();
    port_ = 0;
    return false;
  }
  server_->GetHealthCheckService()->SetServingStatus(true);
  server_->GetHealthCheckService()->SetServingStatus(kServiceName, true);
  serving_ = true;
  return true;
}

void ApiServer::shutdown(std::chrono::milliseconds grace) {
  if (!server_) return;
  serving_ = false;
  // Health watchers (Kubernetes probes, load balancers) see NOT_SERVING before the port goes.
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(std::chrono::system_clock::now() + grace);
  server_->Wait();
  server_.reset();
}

}  // namespace wsgw::api
