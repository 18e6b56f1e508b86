#include "api/app/metrics_http.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "common/metrics/registry.h"

namespace wsgw::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr int kMaxConnections = 64;
constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr auto kRequestTimeout = std::chrono::seconds(10);

struct Shared {
  metrics::Registry& registry;
  MetricsHttpServer::ReadyFn ready;
  std::atomic<int> connections{0};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Shared& shared) : stream_(std::move(socket)), shared_(shared) {
    ++shared_.connections;
  }
  ~Session() { --shared_.connections; }

  void run() {
    parser_.header_limit(kMaxHeaderBytes);
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->respond();
                     });
  }

 private:
  void respond() {
    const auto& req = parser_.get();
    std::string_view target(req.target().data(), req.target().size());
    target = target.substr(0, target.find('?'));
    response_.version(req.version());
    response_.keep_alive(false);
    response_.set(http::field::content_type, "text/plain; charset=utf-8");
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      response_.result(http::status::method_not_allowed);
      response_.set(http::field::allow, "GET, HEAD");
      response_.body() = "method not allowed\n";
    } else if (target == "/metrics") {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, std::string(metrics::kContentType));
      response_.body() = shared_.registry.render();
    } else if (target == "/healthz") {
      response_.result(http::status::ok);
      response_.body() = "ok\n";
    } else if (target == "/readyz") {
      const bool ready = shared_.ready && shared_.ready();
      response_.result(ready ? http::status::ok : http::status::service_unavailable);
      response_.body() = ready ? "ready\n" : "not ready\n";
    } else {
      response_.result(http::status::not_found);
      response_.body() = "not found\n";
    }
    response_.prepare_payload();
    if (req.method() == http::verb::head) response_.body().clear();  // length stays set
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code, std::size_t) {
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                      });
  }

  beast::tcp_stream stream_;
  Shared& shared_;
  beast::flat_buffer buffer_{kMaxHeaderBytes};
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

// Member order matters: `shared` is declared first so that it outlives the io_context, whose
// destruction frees the sessions still queued in it (and they touch `shared` as they go).
struct MetricsHttpServer::Impl {
  explicit Impl(metrics::Registry& registry, ReadyFn ready) : shared{registry, std::move(ready)} {}

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec && shared.connections.load() < kMaxConnections) {
        std::make_shared<Session>(std::move(socket), shared)->run();
      }  // else: the socket closes as it goes out of scope
      accept();
    });
  }

  Shared shared;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
};

MetricsHttpServer::MetricsHttpServer(metrics::Registry& registry, ReadyFn ready)
    : impl_(std::make_unique<Impl>(registry, std::move(ready))) {}

MetricsHttpServer::~MetricsHttpServer() { stop(); }

bool MetricsHttpServer::start(const config::HostPort& address, std::string& error) {
  beast::error_code ec;
  const auto ip = address.host.empty() ? asio::ip::address(asio::ip::address_v6::any())
                                       : asio::ip::make_address(address.host, ec);
  if (ec) {
    error = "metrics listener: bad address " + address.host + ": " + ec.message();
    return false;
  }
  const tcp::endpoint endpoint(ip, address.port);
  auto& acceptor = impl_->acceptor;
  if (acceptor.open(endpoint.protocol(), ec); !ec) {
    acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (address.host.empty()) acceptor.set_option(asio::ip::v6_only(false), ec);
    ec = {};
    if (acceptor.bind(endpoint, ec); !ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    error = "metrics listener on " + config::format_host_port(address) + ": " + ec.message();
    acceptor.close(ec);
    return false;
  }
  impl_->accept();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
  return true;
}

uint16_t MetricsHttpServer::port() const {
  beast::error_code ec;
  const auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void MetricsHttpServer::stop() {
  if (!impl_->thread.joinable()) return;
  impl_->ioc.stop();
  impl_->thread.join();
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace wsgw::api
