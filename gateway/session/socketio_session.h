#pragma once
// The Socket.IO layer over one Engine.IO session: namespaces, CONNECT with authentication,
// events, acks and binary attachments. It scans only packet type, namespace, ack id and event
// name; argument payloads stay opaque text handed to the SocketIoApp.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/auth/jwt.h"
#include "common/socketio/binary.h"
#include "common/socketio/packet.h"
#include "common/util/snowflake.h"
#include "gateway/session/engine_session.h"

namespace wsgw::session {

class SocketIoSession;

// One client's connection to one namespace ("socket" in Socket.IO terms).
class NamespaceSocket {
 public:
  NamespaceSocket(SocketIoSession& owner, uint64_t id, std::string nsp, std::string user_id,
                  std::vector<std::string> allowed_rooms)
      : owner_(owner), id_(id), nsp_(std::move(nsp)), user_id_(std::move(user_id)),
        allowed_rooms_(std::move(allowed_rooms)) {}

  uint64_t id() const { return id_; }
  std::string sid() const { return util::encode_id(id_); }
  const std::string& nsp() const { return nsp_; }
  const std::string& user_id() const { return user_id_; }
  // Rooms the JWT `rooms` claim allows; no claim means any room.
  bool may_join(std::string_view room) const;
  // Joins a local room (false when not allowed or already in it); leave() undoes it.
  bool join(std::string_view room);
  bool leave(std::string_view room);
  const std::vector<std::string>& rooms() const { return rooms_; }
  // False between the client's CONNECT and the app's confirmation, when the app confirms
  // later (SocketIoApp::confirms_connect_later): the client has not been told its sid yet.
  bool confirmed() const { return confirmed_; }
  // Wall-clock ms of the CONNECT, as the app stamped it (the cluster registers it in Redis and
  // registers it again after a Redis loss); 0 when the app keeps none.
  int64_t connected_at_ms() const { return connected_at_ms_; }
  void set_connected_at_ms(int64_t ms) { connected_at_ms_ = ms; }
  // Leaves every room and the worker's socket index (on disconnect).
  void unregister();
  SocketIoSession& owner() { return owner_; }

  // Send an already-encoded Socket.IO packet (with attachments) to this client.
  bool send_packet(std::string_view encoded, std::span<const std::string> attachments = {},
                   bool is_volatile = false);
  bool send(WireMessagePtr msg, bool is_volatile = false);

 private:
  SocketIoSession& owner_;
  uint64_t id_;
  std::string nsp_;
  std::string user_id_;
  std::vector<std::string> allowed_rooms_;
  std::vector<std::string> rooms_;
  int64_t connected_at_ms_ = 0;
  bool confirmed_ = true;
  friend class SocketIoSession;
};

// What the gateway does with Socket.IO traffic. Conformance mode echoes; cluster mode (later)
// produces to Kafka. Called on the session's worker thread.
class SocketIoApp {
 public:
  virtual ~SocketIoApp() = default;
  virtual bool namespace_exists(std::string_view nsp) = 0;
  // False (the default): the session answers CONNECT right away, before on_connect. True: the
  // socket is created unconfirmed and the app answers later with SocketIoSession::confirm —
  // the cluster does so once the socket is in Redis, so that a sid the client has been told is
  // addressable through ws-api at once.
  virtual bool confirms_connect_later() const { return false; }
  virtual void on_connect(NamespaceSocket& s, std::string_view auth_json) = 0;
  virtual void on_event(NamespaceSocket& s, const sio::Packet& p, std::string_view event_name,
                        std::string_view args, std::span<const std::string> attachments) = 0;
  virtual void on_ack(NamespaceSocket& s, const sio::Packet& p,
                      std::span<const std::string> attachments) = 0;
  virtual void on_disconnect(NamespaceSocket& s, std::string_view reason) = 0;
};

// Shared by all Socket.IO sessions of a server (read-only after start-up).
struct SocketIoContext {
  SocketIoApp* app = nullptr;
  const auth::JwtVerifier* jwt = nullptr;  // null = --auth none
  util::Snowflake* ids = nullptr;
  uint32_t connect_timeout_ms = 45000;
  uint32_t max_attachments = 10;
  // Client events per second per connection (token bucket, bursts up to the same number);
  // events beyond are dropped and counted. 0 = no limit. Acks to server emits are not limited.
  uint32_t max_events_per_second = 0;
};

class SocketIoSession final : public SessionHandler {
 public:
  // `handshake_token`: a JWT from the handshake request's Authorization header or `token` query.
  SocketIoSession(SocketIoContext& ctx, std::string handshake_token);
  ~SocketIoSession() override;

  void on_open(EngineSession& s) override;
  void on_message(EngineSession& s, eio::Packet&& p) override;
  void on_close(EngineSession& s, Disconnect why) override;

  EngineSession& engine() { return *engine_; }
  sio::ProtocolVersion protocol() const;
  NamespaceSocket* find(std::string_view nsp);
  // Server-side disconnect of one namespace socket (sends DISCONNECT to the client).
  void disconnect(NamespaceSocket& s, std::string_view reason);
  // Server-side close of the whole connection (socket.disconnect(true)): every namespace socket
  // is disconnected with `reason` (the client gets DISCONNECT for each), then the Engine.IO
  // session closes as kicked.
  void close_connection(std::string_view reason);
  // Sends the CONNECT answer of a socket created unconfirmed (no-op when already confirmed).
  void confirm(NamespaceSocket& s);

 private:
  void handle_connect(sio::Packet& p);
  void handle_packet(sio::Packet& p, std::span<const std::string> attachments);
  bool authenticate(std::string_view auth_json, std::string& user_id,
                    std::vector<std::string>& rooms, std::string& reason) const;
  void fail(Disconnect why);
  // Takes one event from the connection's budget (max_events_per_second); false: over it.
  bool take_event_token();

  SocketIoContext& ctx_;
  EngineSession* engine_ = nullptr;
  std::string handshake_token_;
  std::vector<std::unique_ptr<NamespaceSocket>> sockets_;
  std::unique_ptr<sio::BinaryAssembler> assembler_;  // only while attachments are arriving
  // Event budget (when limited): tokens left and when they were last refilled.
  float event_tokens_ = 0;
  uint32_t event_refill_ms_ = 0;  // the host's clock, truncated (wraps after 49 days: harmless)
  bool event_budget_started_ = false;
};

}  // namespace wsgw::session
