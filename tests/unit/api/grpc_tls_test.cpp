// ws-api's gRPC port over TLS and mutual TLS (--grpc-tls-*), with real gRPC clients over
// loopback TCP and certificates made by the `openssl` command for each test run: who gets
// in, who does not, start-up errors that name the bad file, and a certificate renewed on disk
// being served without a restart.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include <unistd.h>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "api/app/api_server.h"
#include "api/app/grpc_tls.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "wsgw/v1/api.grpc.pb.h"

namespace wsgw::api {
namespace {

namespace fs = std::filesystem;
using HealthStatus = grpc::health::v1::HealthCheckResponse;

// The name clients dial (as a Kubernetes Service name would be); the server certificates carry it.
constexpr const char* kServerName = "ws-api.wsgw.svc";

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A directory of certificates: two CAs ("ca", "other-ca"), server and client certificates
// signed by each. Made once for the whole suite (RSA key generation takes a while).
class Pki {
 public:
  Pki() {
    dir_ = fs::temp_directory_path() / ("wsgw-grpc-tls-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    ok_ = make_ca("ca") && make_ca("other-ca") && make_leaf("server", "ca", true) &&
          make_leaf("client", "ca", false) && make_leaf("other-server", "other-ca", true) &&
          make_leaf("other-client", "other-ca", false);
  }
  ~Pki() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  bool ok() const { return ok_; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string pem(const std::string& name) const { return read_file(dir_ / name); }

 private:
  bool run(const std::string& command) {
    return std::system((command + " >/dev/null 2>&1").c_str()) == 0;
  }
  bool make_ca(const std::string& name) {
    return run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" + name +
               " -keyout " + path(name + ".key") + " -out " + path(name + ".crt"));
  }
  bool make_leaf(const std::string& name, const std::string& ca, bool server) {
    const std::string ext = path(name + ".ext");
    std::ofstream(ext) << (server ? std::string("subjectAltName=DNS:") + kServerName + "\n"
                                        "extendedKeyUsage=serverAuth\n"
                                  : std::string("extendedKeyUsage=clientAuth\n"));
    return run("openssl req -newkey rsa:2048 -nodes -subj /CN=" + name + " -keyout " +
               path(name + ".key") + " -out " + path(name + ".csr")) &&
           run("openssl x509 -req -days 2 -in " + path(name + ".csr") + " -CA " +
               path(ca + ".crt") + " -CAkey " + path(ca + ".key") + " -CAcreateserial -extfile " +
               ext + " -out " + path(name + ".crt"));
  }

  fs::path dir_;
  bool ok_ = false;
};

class GrpcTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new Pki(); }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(pki_->ok()) << "the openssl command could not make the test certificates"; }
  void TearDown() override {
    if (server_) server_->shutdown(std::chrono::milliseconds(100));
  }

  ApiConfig tls_config(const std::string& server, bool mutual) {
    ApiConfig cfg;
    cfg.grpc_listen = "127.0.0.1:0";
    cfg.grpc_tls_cert = pki_->path(server + ".crt");
    cfg.grpc_tls_key = pki_->path(server + ".key");
    if (mutual) cfg.grpc_tls_client_ca = pki_->path("ca.crt");
    return cfg;
  }

  void start(const ApiConfig& cfg) {
    server_ = std::make_unique<ApiServer>(cfg, nullptr);
    std::string error;
    ASSERT_TRUE(server_->start(error)) << error;
  }

  // A new channel each time (a fresh TLS handshake). `ca` is what the client trusts; `client`
  // the certificate it presents ("" = none).
  std::shared_ptr<grpc::Channel> tls_channel(const std::string& ca, const std::string& client) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = pki_->pem(ca + ".crt");
    if (!client.empty()) {
      options.pem_private_key = pki_->pem(client + ".key");
      options.pem_cert_chain = pki_->pem(client + ".crt");
    }
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(kServerName);
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // no connection shared between channels
    return grpc::CreateCustomChannel(address(), grpc::SslCredentials(options), args);
  }

  std::shared_ptr<grpc::Channel> plaintext_channel() {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(server_->port()); }

  static grpc::Status health(const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest request;
    HealthStatus response;
    auto status = grpc::health::v1::Health::NewStub(channel)->Check(&ctx, request, &response);
    if (status.ok() && response.status() != HealthStatus::SERVING) {
      return {grpc::StatusCode::INTERNAL, "health is not SERVING"};
    }
    return status;
  }

  static Pki* pki_;
  std::unique_ptr<ApiServer> server_;
};

Pki* GrpcTlsTest::pki_ = nullptr;

TEST_F(GrpcTlsTest, TlsClientsReachTheServiceAndPlaintextOnesDoNot) {
  start(tls_config("server", false));
  auto channel = tls_channel("ca", "");
  grpc::Status status = health(channel);
  ASSERT_TRUE(status.ok()) << status.error_message();

  // The wsgw.v1 service itself answers over TLS (validation runs: an empty Emit is refused).
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::EmitRequest request;
  v1::EmitResponse response;
  status = v1::WsApiService::NewStub(channel)->Emit(&ctx, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();

  EXPECT_EQ(health(plaintext_channel()).error_code(), grpc::StatusCode::UNAVAILABLE);
  // A client that trusts another CA refuses the server.
  EXPECT_EQ(health(tls_channel("other-ca", "")).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GrpcTlsTest, MutualTlsLetsInOnlyClientsWithACertificateFromTheClientCa) {
  start(tls_config("server", true));
  grpc::Status status = health(tls_channel("ca", "client"));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(health(tls_channel("ca", "")).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "a client without a certificate got in";
  EXPECT_EQ(health(tls_channel("ca", "other-client")).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "a client with a certificate from another CA got in";
  EXPECT_EQ(health(plaintext_channel()).error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(GrpcTlsTest, StartFailsNamingTheFileThatCannotBeUsed) {
  struct Case {
    const char* what;
    ApiConfig cfg;
    std::string named;
  };
  ApiConfig missing = tls_config("server", false);
  missing.grpc_tls_cert = pki_->path("no-such.crt");
  ApiConfig mismatch = tls_config("server", false);
  mismatch.grpc_tls_key = pki_->path("client.key");
  ApiConfig key_is_a_cert = tls_config("server", false);
  key_is_a_cert.grpc_tls_key = pki_->path("server.crt");
  ApiConfig bad_ca = tls_config("server", true);
  bad_ca.grpc_tls_client_ca = pki_->path("server.ext");  // text, no certificate
  for (const Case& c : {Case{"missing certificate", missing, "no-such.crt"},
                        Case{"key of another certificate", mismatch, "client.key"},
                        Case{"certificate given as the key", key_is_a_cert, "--grpc-tls-key"},
                        Case{"client CA without a certificate", bad_ca, "--grpc-tls-client-ca"}}) {
    ApiServer server(c.cfg, nullptr);
    std::string error;
    EXPECT_FALSE(server.start(error)) << c.what;
    EXPECT_NE(error.find(c.named), std::string::npos) << c.what << ": " << error;
    EXPECT_EQ(server.port(), 0) << c.what;
  }
}

TEST_F(GrpcTlsTest, ARenewedCertificateIsServedWithoutARestart) {
  // The files the server reads, first with the certificate of "ca", then replaced on disk by
  // one of "other-ca" (as a renewed Kubernetes Secret is).
  const fs::path dir = fs::temp_directory_path() / ("wsgw-grpc-tls-rotate-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto install = [&](const std::string& name) {
    fs::copy_file(pki_->path(name + ".crt"), dir / "tls.crt.new", fs::copy_options::overwrite_existing);
    fs::copy_file(pki_->path(name + ".key"), dir / "tls.key.new", fs::copy_options::overwrite_existing);
    fs::rename(dir / "tls.crt.new", dir / "tls.crt");
    fs::rename(dir / "tls.key.new", dir / "tls.key");
  };
  install("server");
  ApiConfig cfg;
  cfg.grpc_listen = "127.0.0.1:0";
  cfg.grpc_tls_cert = (dir / "tls.crt").string();
  cfg.grpc_tls_key = (dir / "tls.key").string();
  cfg.grpc_tls_refresh_ms = 1000;
  start(cfg);
  grpc::Status status = health(tls_channel("ca", ""));
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(health(tls_channel("other-ca", "")).error_code(), grpc::StatusCode::UNAVAILABLE);

  install("other-server");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!health(tls_channel("other-ca", "")).ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  status = health(tls_channel("other-ca", ""));
  EXPECT_TRUE(status.ok()) << "the renewed certificate was not served within 10 s: " << status.error_message();
  EXPECT_EQ(health(tls_channel("ca", "")).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "the old certificate is still served";
  std::error_code ec;
  fs::remove_all(dir, ec);
}

TEST(GrpcTlsConfig, OptionsThatDoNotGoTogetherAreRefused) {
  std::string error;
  ApiConfig cert_only;
  cert_only.grpc_tls_cert = "tls.crt";
  EXPECT_FALSE(validate(cert_only, error));
  EXPECT_NE(error.find("--grpc-tls-key"), std::string::npos) << error;

  ApiConfig ca_only;
  ca_only.grpc_tls_client_ca = "ca.crt";
  EXPECT_FALSE(validate(ca_only, error));
  EXPECT_NE(error.find("--grpc-tls-client-ca"), std::string::npos) << error;

  ApiConfig fast;
  fast.grpc_tls_refresh_ms = 10;
  EXPECT_FALSE(validate(fast, error));

  ApiConfig plain;
  EXPECT_TRUE(check_tls_files(plain, error)) << "no TLS configured: nothing to check";
}

}  // namespace
}  // namespace wsgw::api
