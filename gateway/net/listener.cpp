#include "gateway/net/listener.h"

#include <sys/socket.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "gateway/net/worker.h"

namespace wsgw::net {

bool resolve_endpoint(const std::string& host, uint16_t port, Listener::tcp::endpoint& out,
                      std::string& error) {
  boost::system::error_code ec;
  std::string h = host.empty() ? "0.0.0.0" : host == "localhost" ? "127.0.0.1" : host;
  auto addr = boost::asio::ip::make_address(h, ec);
  if (ec) {
    error = "not an IP address: " + host;
    return false;
  }
  out = {addr, port};
  return true;
}

Listener::Listener(Worker& w, tcp::endpoint ep, bool tls, ListenerKind kind)
    : worker_(w), endpoint_(ep), acceptor_(w.io()), backoff_(w.io()), tls_(tls), kind_(kind) {}

bool Listener::open(std::string& error) {
  boost::system::error_code ec;
  acceptor_.open(endpoint_.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) {
    int one = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      ec.assign(errno, boost::system::system_category());
  }
  if (!ec) acceptor_.bind(endpoint_, ec);
  if (!ec) acceptor_.listen(4096, ec);
  if (ec) {
    error = "cannot listen on " + endpoint_.address().to_string() + ":" +
            std::to_string(endpoint_.port()) + ": " + ec.message();
    return false;
  }
  acceptor_.non_blocking(true, ec);
  return true;
}

Listener::tcp::endpoint Listener::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Listener::start() { accept(); }

void Listener::accept() {
  acceptor_.async_accept(worker_.io(), [self = shared_from_this()](
                                           const boost::system::error_code& ec, tcp::socket s) {
    if (ec == boost::asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors or similar: back off instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      self->backoff_.expires_after(std::chrono::milliseconds(100));
      self->backoff_.async_wait([self](const boost::system::error_code& e) {
        if (!e) self->accept();
      });
      return;
    }
    Connection::start(self->worker_, std::move(s), self->tls_, self->kind_);
    self->accept();
  });
}

void Listener::stop() {
  boost::asio::post(worker_.io(), [self = shared_from_this()] {
    boost::system::error_code ec;
    self->acceptor_.close(ec);
    self->backoff_.cancel();
  });
}

}  // namespace wsgw::net
