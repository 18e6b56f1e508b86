#include "gateway/app/conformance.h"

namespace wsgw::app {

bool ConformanceApp::namespace_exists(std::string_view nsp) { return nsp == "/" || nsp == "/custom"; }

void ConformanceApp::on_connect(session::NamespaceSocket& s, std::string_view auth_json) {
  s.send_packet(sio::encode_event(s.nsp(), "auth", auth_json.empty() ? "{}" : auth_json));
}

void ConformanceApp::on_event(session::NamespaceSocket& s, const sio::Packet& p,
                              std::string_view event_name, std::string_view args,
                              std::span<const std::string> attachments) {
  const auto count = static_cast<uint32_t>(attachments.size());
  if (event_name == "message") {
    s.send_packet(sio::encode_event(s.nsp(), "message-back", args, std::nullopt, count),
                  attachments);
  } else if (event_name == "message-with-ack" && p.id) {
    s.send_packet(sio::encode_ack(s.nsp(), *p.id, args, count), attachments);
  }
}

namespace {
class EchoHandler final : public session::SessionHandler {
 public:
  void on_open(session::EngineSession&) override {}
  void on_message(session::EngineSession& s, eio::Packet&& p) override {
    s.send(p.binary ? session::make_message(session::make_binary_packet(p.data))
                    : session::make_message(session::make_text_packet(eio::PacketType::message, p.data)));
  }
  void on_close(session::EngineSession&, session::Disconnect) override {}
};
}  // namespace

std::unique_ptr<session::SessionHandler> make_echo_handler() { return std::make_unique<EchoHandler>(); }

}  // namespace wsgw::app
