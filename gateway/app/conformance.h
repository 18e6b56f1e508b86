#pragma once
// Conformance mode (--conformance): the behaviour the official Engine.IO and Socket.IO protocol
// test suites expect from a server, so they (and our interop tests) can run against the gateway.
//  - /engine.io/: a raw Engine.IO endpoint echoing every message, text and binary;
//  - /socket.io/: namespaces "/" and "/custom"; on connect emit "auth" with the handshake auth;
//    "message" -> emit "message-back" with the same arguments (binary included);
//    "message-with-ack" -> ack with the same arguments.
#include <memory>

#include "gateway/session/socketio_session.h"

namespace wsgw::app {

class ConformanceApp final : public session::SocketIoApp {
 public:
  bool namespace_exists(std::string_view nsp) override;
  void on_connect(session::NamespaceSocket& s, std::string_view auth_json) override;
  void on_event(session::NamespaceSocket& s, const sio::Packet& p, std::string_view event_name,
                std::string_view args, std::span<const std::string> attachments) override;
  void on_ack(session::NamespaceSocket&, const sio::Packet&, std::span<const std::string>) override {}
  void on_disconnect(session::NamespaceSocket&, std::string_view) override {}
};

// The raw Engine.IO echo of /engine.io/.
std::unique_ptr<session::SessionHandler> make_echo_handler();

}  // namespace wsgw::app
