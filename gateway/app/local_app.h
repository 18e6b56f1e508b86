#pragma once
// The Socket.IO application of a gateway running alone (no cluster configured): it accepts
// the configured namespaces and counts client events. With no ws-api behind it, events have
// nowhere to go yet; the cluster mode replaces this with the Kafka upstream.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "common/metrics/registry.h"
#include "gateway/session/socketio_session.h"

namespace wsgw::app {

class LocalApp final : public session::SocketIoApp {
 public:
  LocalApp(std::vector<std::string> namespaces, metrics::Registry& registry);
  bool namespace_exists(std::string_view nsp) override;
  void on_connect(session::NamespaceSocket&, std::string_view) override {}
  void on_event(session::NamespaceSocket&, const sio::Packet&, std::string_view,
                std::string_view, std::span<const std::string>) override {
    counted();
  }
  void on_ack(session::NamespaceSocket&, const sio::Packet&, std::span<const std::string>) override {
    counted();
  }
  void on_disconnect(session::NamespaceSocket&, std::string_view) override {}

 private:
  // Counts the event or ack and moves the "last one" timestamp forward (workers race: max wins).
  void counted();

  std::vector<std::string> namespaces_;
  bool any_ = false;
  metrics::Counter& events_;
  metrics::Gauge& last_event_;
  std::atomic<int64_t> last_event_ms_{0};
};

}  // namespace wsgw::app
