#include "api/app/grpc_tls.h"

#include <algorithm>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "common/util/openssl_error.h"

namespace wsgw::api {
namespace {

struct SslCtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

}  // namespace

bool check_tls_files(const ApiConfig& cfg, std::string& error) {
  if (cfg.grpc_tls_cert.empty()) return true;
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) {
    error = "cannot create a TLS context: " + util::openssl_error_text();
    return false;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cfg.grpc_tls_cert.c_str()) != 1) {
    error = "--grpc-tls-cert " + cfg.grpc_tls_cert + ": " + util::openssl_error_text();
    return false;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), cfg.grpc_tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = "--grpc-tls-key " + cfg.grpc_tls_key + ": " + util::openssl_error_text();
    return false;
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    error = "--grpc-tls-key " + cfg.grpc_tls_key + " does not match the certificate in " +
            cfg.grpc_tls_cert + ": " + util::openssl_error_text();
    return false;
  }
  if (!cfg.grpc_tls_client_ca.empty() &&
      SSL_CTX_load_verify_locations(ctx.get(), cfg.grpc_tls_client_ca.c_str(), nullptr) != 1) {
    error = "--grpc-tls-client-ca " + cfg.grpc_tls_client_ca + ": " + util::openssl_error_text();
    return false;
  }
  return true;
}

std::shared_ptr<grpc::ServerCredentials> grpc_server_credentials(const ApiConfig& cfg) {
  if (cfg.grpc_tls_cert.empty()) return grpc::InsecureServerCredentials();
  namespace gx = grpc::experimental;
  const bool mutual = !cfg.grpc_tls_client_ca.empty();
  const auto refresh_s = static_cast<unsigned>(std::max<uint64_t>(1, cfg.grpc_tls_refresh_ms / 1000));
  auto provider = mutual ? std::make_shared<gx::FileWatcherCertificateProvider>(
                               cfg.grpc_tls_key, cfg.grpc_tls_cert, cfg.grpc_tls_client_ca,
                               refresh_s)
                         : std::make_shared<gx::FileWatcherCertificateProvider>(
                               cfg.grpc_tls_key, cfg.grpc_tls_cert, refresh_s);
  gx::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (mutual) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  return gx::TlsServerCredentials(options);
}

}  // namespace wsgw::api
