#pragma once
// One acceptor per worker on the same address (SO_REUSEPORT): the kernel spreads incoming
// connections over the workers, and every connection stays on the worker that accepted it.
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/net/connection.h"

namespace wsgw::net {

class Worker;

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  using tcp = boost::asio::ip::tcp;
  Listener(Worker& w, tcp::endpoint ep, bool tls, ListenerKind kind);
  // Binds and listens; returns false with `error` set.
  bool open(std::string& error);
  void start();
  void stop();  // posts the close to the worker's thread
  tcp::endpoint local_endpoint() const;

 private:
  void accept();
  Worker& worker_;
  tcp::endpoint endpoint_;
  tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  bool tls_;
  ListenerKind kind_;
};

bool resolve_endpoint(const std::string& host, uint16_t port, Listener::tcp::endpoint& out,
                      std::string& error);

}  // namespace wsgw::net
