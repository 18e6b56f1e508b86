#pragma once
// TLS and mutual TLS for ws-api's gRPC port (--grpc-tls-cert/-key/-client-ca).
//
// gRPC reads the PEM files itself and re-reads them every --grpc-tls-refresh (a minute), so a rotated certificate
// (a Kubernetes Secret updated by cert-manager) is served without a restart. gRPC would also
// start with files it cannot use and fail every handshake afterwards; check_tls_files() is the
// start-up check that turns that into a clear error instead.
#include <memory>
#include <string>

#include "api/app/api_config.h"

namespace grpc {
class ServerCredentials;
}  // namespace grpc

namespace wsgw::api {

// With TLS configured: whether the certificate chain and key load and match, and the client CA
// file holds at least one certificate. False with `error` naming the file and OpenSSL's reason.
// Without TLS configured: true.
bool check_tls_files(const ApiConfig& cfg, std::string& error);

// Plaintext without --grpc-tls-cert; TLS (mutual with --grpc-tls-client-ca) otherwise.
std::shared_ptr<grpc::ServerCredentials> grpc_server_credentials(const ApiConfig& cfg);

}  // namespace wsgw::api
