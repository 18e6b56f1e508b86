#pragma once
// An Engine.IO session: a transport-agnostic state machine (STYLE.md). WebSocket and
// long-polling are thin links under it (links.h); Socket.IO (or the raw echo of conformance
// mode) is a handler above it. Lives on one worker thread for life and is only touched there.
//
// Memory matters here (one per connected client): no strings beyond what the client needs,
// the id is kept as a number and encoded on demand, one timer node for every deadline.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/timer_wheel.h"
#include "gateway/engineio/codec.h"
#include "gateway/session/disconnect.h"
#include "gateway/session/heartbeat.h"
#include "gateway/session/links.h"
#include "gateway/session/send_queue.h"
#include "gateway/session/wire.h"

namespace wsgw::session {

class EngineSession;
class LocalIndex;
struct GatewayMetrics;

// Settings shared by every session of a server.
struct SessionConfig {
  HeartbeatParams heartbeat;
  uint64_t max_payload = 1000000;
  size_t max_queue_bytes = 1 << 20;
  uint32_t upgrade_timeout_ms = 10000;
};

// What a session needs from the thread it lives on.
class SessionHost {
 public:
  virtual uint64_t now_ms() = 0;
  virtual util::TimerWheel& timers() = 0;
  // Run `fn` on this thread after the current handler returns.
  virtual void defer(std::function<void()> fn) = 0;
  // Run `fn` on this thread; callable from ANY thread (e.g. a Redis reply).
  virtual void post(std::function<void()> fn) = 0;
  // The session closed: drop it from the tables and destroy it later (never in this call stack).
  virtual void session_closed(EngineSession& s, Disconnect why) = 0;
  virtual const SessionConfig& session_config() = 0;
  virtual GatewayMetrics* metrics() = 0;  // may be null in tests
  // Shared, pre-built heartbeat message (one allocation per worker, not per ping).
  virtual const WireMessagePtr& ping_message() = 0;
  // This thread's sockets by id, user and room (null where unsupported).
  virtual LocalIndex* local_index() { return nullptr; }

 protected:
  ~SessionHost() = default;
};

// The layer above Engine.IO (Socket.IO, or the raw echo endpoint).
class SessionHandler {
 public:
  virtual ~SessionHandler() = default;
  virtual void on_open(EngineSession& s) = 0;
  virtual void on_message(EngineSession& s, eio::Packet&& p) = 0;
  virtual void on_close(EngineSession& s, Disconnect why) = 0;
};

class EngineSession final : public util::TimerNode {
 public:
  enum class Kind : uint8_t { polling, websocket };
  enum class PollError : uint8_t { none, duplicate_get, not_polling, closed };
  enum class PostError : uint8_t { none, bad_payload, not_polling, closed };

  EngineSession(SessionHost& host, uint64_t id, eio::Version version, Kind kind,
                bool supports_binary);
  ~EngineSession() override;
  EngineSession(const EngineSession&) = delete;
  EngineSession& operator=(const EngineSession&) = delete;

  void set_handler(std::unique_ptr<SessionHandler> h) { handler_ = std::move(h); }
  SessionHandler* handler() const { return handler_.get(); }

  uint64_t id() const { return id_; }
  std::string sid() const;
  eio::Version version() const { return version_; }
  Kind kind() const { return kind_; }
  bool closed() const { return closed_; }
  SessionHost& host() { return host_; }
  uint64_t last_seen_ms() const { return last_seen_ms_; }

  // Opening. A direct WebSocket gets the open packet as its first frame; a polling handshake
  // returns the whole first response body (open packet plus anything the handler queued).
  void start_websocket(WsLink& link);
  std::string start_polling(bool& is_binary);

  // Long-polling.
  PollError poll_get(PollLink& link);
  void poll_link_lost(PollLink& link);
  PostError poll_post(std::string_view body, bool is_binary);

  // WebSocket: frames from the active link or from a link probing for an upgrade.
  void ws_text(WsLink& link, std::string_view text);
  void ws_binary(WsLink& link, std::string_view bytes);
  void ws_link_lost(WsLink& link, Disconnect why);
  bool begin_probe(WsLink& link);
  WsLink* ws() const { return ws_; }
  SendQueue& queue() { return queue_; }
  // The active WebSocket link has started writing the first `n` queue entries.
  void set_pinned(size_t n) { pinned_ = n; }

  // Outbound. Returns false when the message was dropped (volatile overflow or closed).
  bool send(WireMessagePtr msg, bool is_volatile = false);
  void close(Disconnect why);

  // Absolute deadline (ms) by which the layer above must be established, 0 = none.
  void set_handshake_deadline(uint64_t deadline_ms);
  // Checks deadlines lazily, e.g. before serving a request that races a timer tick.
  bool expire_if_due(uint64_t now_ms);

  std::string open_packet_json() const;

 private:
  void on_timer(uint64_t now_ms) override;
  void reschedule();
  void touch() { last_seen_ms_ = host_.now_ms(); }
  void on_packet(eio::Packet&& p);
  void on_probe_packet(WsLink& link, eio::Packet&& p);
  void complete_upgrade();
  void schedule_poll_flush();
  void flush_poll();
  void answer_poll(std::string body, bool is_binary);
  std::string noop_payload() const;
  void take_queued_packets(std::vector<eio::Packet>& out);
  void transport_ready();
  bool frame_bad(std::string_view why);

  SessionHost& host_;
  std::unique_ptr<SessionHandler> handler_;
  WsLink* ws_ = nullptr;       // active WebSocket link (kind_ == websocket)
  WsLink* probe_ = nullptr;    // a WebSocket link probing an upgrade from polling
  PollLink* poll_ = nullptr;   // held long-polling GET
  SendQueue queue_;
  uint64_t id_;
  uint64_t last_seen_ms_ = 0;
  uint64_t next_ping_ms_ = 0;        // EIO4: when to send the next ping
  uint64_t pong_deadline_ms_ = 0;    // EIO4: waiting for a pong until then (0 = not waiting)
  uint64_t ping_sent_ms_ = 0;
  uint64_t client_ping_deadline_ms_ = 0;  // EIO3: the client must ping before this
  uint64_t handshake_deadline_ms_ = 0;
  uint64_t upgrade_deadline_ms_ = 0;
  uint32_t pinned_ = 0;
  Heartbeat heartbeat_;
  eio::Version version_;
  Kind kind_;
  bool supports_binary_;
  bool closed_ = false;
  bool poll_flush_scheduled_ = false;
  bool ws_flush_scheduled_ = false;  // a WebSocket write is deferred to after this turn
  bool overflowed_ = false;          // the queue overflowed: closing after this turn
  bool probe_confirmed_ = false;  // the probe answered "2probe": GETs must not be held
};

}  // namespace wsgw::session
